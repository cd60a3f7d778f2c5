"""pytest-testinfra backend for lab hosts: commands run through the lab broker.

testinfra's ansible backend starts one ad-hoc ``ansible`` process per command;
this one is one request to the lab broker (lab.client), run in the host by
the agent in the lab kernel (under 0.1 s). Host specs: ``lvslab://HOST`` or,
with ``--connection=lvslab``, a host name, a group name of the lab inventory
or ``all``.
"""
import time

import testinfra
from testinfra.backend import BACKENDS, base

from lab import client
from lab.hosts import load_state


class LvslabBackend(base.BaseBackend):
    """testinfra backend `lvslab://HOST`: each command one request to the lab broker."""

    NAME = "lvslab"

    def __init__(self, hostname, *args, **kwargs):
        super().__init__(hostname, **kwargs)
        self.lab_host = hostname

    @classmethod
    def get_hosts(cls, host, **kwargs):
        """Lab hosts for a host spec: a host, a group of the topology, or all."""
        state = load_state()
        hosts = state["topology"]["hosts"]
        if host in (None, "", "all"):
            return list(hosts)
        if host in hosts:
            return [host]
        members = [n for n, h in hosts.items() if host in (h.get("groups") or [])]
        if not members:
            raise RuntimeError("no lab host or group named %r" % host)
        return members

    def run(self, command, *args, **kwargs):
        """Run a command in the lab host through the broker; testinfra's CommandResult."""
        cmd = self.get_command(command, *args)
        rc, out, err, error = client.run(["/bin/sh", "-c", cmd], host=self.lab_host)
        if error:
            err += ("lvslab: %s\n" % error).encode()
        return self.result(rc, self.encode(cmd), out, err)


def register():
    """Make `lvslab://HOST` and `--connection=lvslab` known to testinfra (from a conftest.py)."""
    BACKENDS[LvslabBackend.NAME] = "lab.testinfra_backend.LvslabBackend"


def host(name):
    """A testinfra host for a lab host (register() first)."""
    return testinfra.get_host("lvslab://" + name)


def wait_for(predicate, timeout=15.0, step=0.2):
    """Poll predicate until it is true or timeout seconds pass; its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
