"""pytest-testinfra backend for lab hosts: commands run through nsenter.

testinfra has no nsenter backend, and its ansible backend starts one ad-hoc
``ansible`` process per command (seconds each in the lab kernel). This one
costs one nsenter (about 0.1 s). Host specs: ``lvslab://HOST`` or, with
``--connection=lvslab``, a host name, a group name of the lab inventory or
``all``.
"""
import subprocess
import time

import testinfra
from testinfra.backend import BACKENDS, base

import lvslab


class LvslabBackend(base.BaseBackend):
    NAME = "lvslab"

    def __init__(self, hostname, *args, **kwargs):
        super().__init__(hostname, **kwargs)
        self.lab_host = hostname

    @classmethod
    def get_hosts(cls, host, **kwargs):
        state = lvslab.load_state()
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
        cmd = self.get_command(command, *args)
        argv = lvslab.exec_argv(self.lab_host, ["/bin/sh", "-c", cmd])
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        return self.result(p.returncode, self.encode(cmd), p.stdout, p.stderr)


def register():
    BACKENDS[LvslabBackend.NAME] = "lvslab_testinfra.LvslabBackend"


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
