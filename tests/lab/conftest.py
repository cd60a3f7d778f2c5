"""Lab tests run on the machine while a lab kernel runs a topology:

    lvslab run -t lab/topologies/dr.yml -- pytest tests/lab

Commands reach lab hosts through the lab broker (lab.client), the same way
Ansible's lvslab connection does; what must be seen from the lab kernel itself
runs there (lab.kernel).
"""
import json
import os
import site
import subprocess

import pytest

from lab import cli, client, hosts, testinfra_backend

testinfra_backend.register()


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("LVSLAB_SOCKET"):
        raise pytest.UsageError("tests/lab needs a running lab: "
                                "lab/bin/lvslab run -t lab/topologies/dr.yml -- pytest tests/lab")


REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "module_runner.py")


class ModuleRunner:
    """One Python process in a lab host that executes collection modules."""

    def __init__(self, host):
        self.host = host
        self.pid = hosts.host_pid(host)
        paths = [os.path.join(REPO, ".lab", "collections")] + site.getsitepackages()
        argv = hosts.exec_argv(host, ["/usr/bin/python3", "-u", RUNNER] + paths)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def call(self, module, args, check=False, diff=True):
        req = {"module": module, "args": args, "check": check, "diff": diff}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("module runner on %s died" % self.host)
        out = json.loads(line)["output"]
        try:
            return json.loads(out[out.index("{"):])
        except ValueError:
            raise AssertionError("%s printed no JSON: %r" % (module, out))

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


class Lab:
    """The running topology, seen from the lab kernel's controller."""

    def __init__(self):
        self.state = hosts.load_state()
        self.hosts = self.state["topology"]["hosts"]
        self.runners = {}

    def module(self, host, module, check=False, diff=True, **args):
        """Execute a collection module on a lab host; returns its result dict."""
        runner = self.runners.get(host)
        if runner is None or runner.pid != hosts.host_pid(host) or runner.proc.poll() is not None:
            runner = self.runners[host] = ModuleRunner(host)
        return runner.call(module, args, check=check, diff=diff)

    def close(self):
        for runner in self.runners.values():
            runner.close()

    def run(self, host, cmd, check=True, input=None, kind="host"):
        rc, out, err, error = client.run(["/bin/sh", "-c", cmd], host=host, input=input, kind=kind)
        p = subprocess.CompletedProcess(cmd, rc, out.decode("utf-8", "replace"),
                                        err.decode("utf-8", "replace") + ("lvslab: %s\n" % error if error else ""))
        if check and p.returncode != 0:
            raise AssertionError("%s: %r exited %d\nstdout: %s\nstderr: %s"
                                 % (host, cmd, p.returncode, p.stdout, p.stderr))
        return p

    def kernel(self, cmd, check=True):
        """A shell command in the lab kernel itself (outside every lab host)."""
        return self.run(None, cmd, check=check, kind="kernel")

    def out(self, host, cmd):
        return self.run(host, cmd).stdout

    def lab(self, *args):
        """Run an lvslab sub-command (forwarded to the lab kernel)."""
        assert cli.main(list(args)) == 0, "lvslab %s failed" % " ".join(args)

    def ipvs_rules(self, host):
        """The host's IPVS table as ipvsadm saves it (an independent reader of the kernel)."""
        return self.out(host, "ipvsadm -S -n")

    def address(self, host, iface="eth0"):
        return self.hosts[host]["interfaces"][iface]["addresses"][0].split("/")[0]


@pytest.fixture(scope="session")
def lab():
    lab = Lab()
    yield lab
    lab.close()


@pytest.fixture
def empty_ipvs_table(lab):
    """dir1's IPVS table empty before and after the test (modules under test start from nothing)."""
    lab.run("dir1", "modprobe ip_vs && ipvsadm -C")
    yield
    lab.run("dir1", "ipvsadm -C")
