"""The NAT recipe shape through lvs.cluster.site (issue 25): one director whose own address is
the VIP (dir1's 192.0.2.11/24), a real server (rs2) whose replies are routed back through it.
The director's address keeps its prefix and subnet route, and the client is answered.
An inventory of dir1 and rs2 alone (the lab's connection); both are put back at the end."""
import os
import subprocess

import pytest
import yaml
from lab.testinfra_backend import wait_for

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VIP = "192.0.2.11"  # dir1's eth0 address (192.0.2.11/24)
CURL = "curl -s -m 4 http://%s:8080/" % VIP
CLUSTER = {"mode": "nat", "nat_gateway": VIP, "services": [
    {"name": "web", "vip": VIP, "port": 8080, "scheduler": "rr",
     "realservers": [{"host": "rs2", "address": "192.0.2.22", "port": 80}]}]}
SYSCTLS = ("net.ipv4.ip_forward net.ipv4.conf.all.send_redirects net.ipv4.conf.default.send_redirects "
           "net.ipv4.conf.eth0.send_redirects")


def state(lab, host):
    return lab.out(host, "ip -o addr; ip route; ip rule; ls /etc/lvs-cluster 2>&1; true")


@pytest.fixture(scope="module")
def converged(lab):
    out_dir = os.environ["LVSLAB_OUT"]
    with open(os.environ["LVSLAB_INVENTORY"]) as f:
        hostvars = yaml.safe_load(f)["all"]["hosts"]
    inventory = os.path.join(out_dir, "nat-own-address.yml")
    with open(inventory, "w") as f:
        yaml.safe_dump({"all": {"hosts": {h: hostvars[h] for h in ("dir1", "rs2")}, "children": {
            "lvs_directors": {"hosts": {"dir1": None}}, "lvs_realservers_linux": {"hosts": {"rs2": None}}}}}, f)
    vars_file = os.path.join(out_dir, "nat-own-address-vars.yml")
    with open(vars_file, "w") as f:
        yaml.safe_dump({"lvs_cluster": CLUSTER, "realserver_linux_test_web": True}, f)
    before = {h: state(lab, h) for h in ("dir1", "rs2")}
    sysctls = lab.out("dir1", "sysctl " + SYSCTLS)
    argv = ["ansible-playbook", "-i", inventory, os.path.join(REPO, "playbooks", "site.yml"), "-e", "@" + vars_file]
    p = subprocess.run(argv, capture_output=True, text=True, cwd=REPO,
                       env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
    with open(os.path.join(out_dir, "nat-own-address-run.log"), "w") as f:
        f.write("$ %s\n# rc=%d\n%s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    yield p.returncode, p.stdout + p.stderr
    lab.module("rs2", "policy_route", name="lvs_nat", state="absent")
    lab.run("rs2", "service lvs-test-web stop; update-rc.d -f lvs-test-web remove; "
                   "rm -rf /etc/init.d/lvs-test-web /srv/lvs-test-www", check=False)
    lab.module("dir1", "ipvs_global", persist=True)  # no timeout stated: the boot file goes
    lab.run("dir1", "ipvsadm -C; rm -f /etc/modules-load.d/lvs-cluster.conf /etc/sysctl.d/90-lvs-director.conf "
                    "/etc/ipvsadm.rules; sed -i 's/^AUTO=.*/AUTO=\"false\"/' /etc/default/ipvsadm")
    for line in sysctls.splitlines():
        lab.run("dir1", "sysctl -q -w '%s'" % line.replace(" = ", "="))
    assert lab.out("dir1", "sysctl " + SYSCTLS) == sysctls
    for host in ("dir1", "rs2"):
        assert state(lab, host) == before[host], host


def test_the_directors_own_address_as_vip_answers_and_keeps_its_prefix(lab, converged):
    rc, out = converged
    assert rc == 0, out[-5000:]
    assert "inet 192.0.2.11/24" in lab.out("dir1", "ip -o addr show dev eth0")
    assert "192.0.2.11/32" not in lab.out("dir1", "ip -o addr")
    assert "192.0.2.0/24 dev eth0" in lab.out("dir1", "ip route")
    assert "TCP  %s:8080 rr" % VIP in lab.out("dir1", "ipvsadm -Ln")
    assert wait_for(lambda: lab.run("client", CURL, check=False).stdout == "rs2\n", timeout=15), \
        lab.run("client", "curl -sv -m 4 http://%s:8080/" % VIP, check=False)
