"""Lab tests run inside the lab kernel, with a topology up:

    lvslab run -t lab/topologies/dr.yml -- pytest tests/lab

Commands reach lab hosts through nsenter (lvslab.exec_argv), the same way
Ansible's nsenter connection does.
"""
import os
import subprocess
import sys

import pytest

LAB = os.path.join(os.path.dirname(__file__), "..", "..", "lab")
sys.path.insert(0, os.path.abspath(LAB))

import lvslab  # noqa: E402
import lvslab_testinfra  # noqa: E402

lvslab_testinfra.register()


def pytest_collection_modifyitems(config, items):
    if os.environ.get("LVSLAB_INSIDE") != "1":
        raise pytest.UsageError("tests/lab runs inside the lab kernel: "
                                "lab/bin/lvslab run -t lab/topologies/dr.yml -- pytest tests/lab")


class Lab:
    """The running topology, seen from the lab kernel's controller."""

    def __init__(self):
        self.state = lvslab.load_state()
        self.hosts = self.state["topology"]["hosts"]

    def run(self, host, cmd, check=True, input=None):
        argv = lvslab.exec_argv(host, ["/bin/sh", "-c", cmd])
        p = subprocess.run(argv, input=input, capture_output=True, text=True, check=False)
        if check and p.returncode != 0:
            raise AssertionError("%s: %r exited %d\nstdout: %s\nstderr: %s"
                                 % (host, cmd, p.returncode, p.stdout, p.stderr))
        return p

    def out(self, host, cmd):
        return self.run(host, cmd).stdout

    def lab(self, *args):
        """Run an lvslab sub-command in-process (no new Python start)."""
        assert lvslab.main(list(args)) == 0, "lvslab %s failed" % " ".join(args)

    def address(self, host, iface="eth0"):
        return self.hosts[host]["interfaces"][iface]["addresses"][0].split("/")[0]


@pytest.fixture(scope="session")
def lab():
    return Lab()
