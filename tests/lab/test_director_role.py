"""Role lvs.cluster.lvs_director in the lab (DR topology, sysv init): a `mode: dr`
cluster with one service in NAT mode (issue 13), on dir1 without VRRP, and
lvs.cluster.realserver_linux on rs2, its NAT real server.

- the director gets net.ipv4.ip_forward=1 from the NAT service alone (the cluster
  mode is dr), and the NAT service carries requests from the client: rs2's
  replies go back through dir1 (the role's policy route, lvs_cluster.nat_gateway),
  which forwards and de-NATs them; with ip_forward set to 0 by hand they stop;
- lvs_cluster.ipvs.timeouts are set, and after a reboot of dir1 set again by the
  boot hook lvs-cluster-net (rcS, before ipvsadm and keepalived in rc2);
- lvs_cluster.ipvs.conn_tab_bits: ip_vs is shared by every lab host (one lab
  kernel), so it is unloaded first; dir1's boot then loads it (kmod, the role's
  modules-load.d file) with the role's modprobe.d option, read back from
  /sys/module/ip_vs/parameters and ipvsadm's table size.
At the end dir1 and rs2 are put back (module absent states, files removed,
ip_vs reloaded with the kernel's default size, dir1 rebooted).
"""
import os
import re
import subprocess
import time

import pytest
import yaml
from lab.testinfra_backend import wait_for

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(REPO, "tests", "lab", "playbooks", "director_role.yml")
NAT_VIP, DR_VIP = "192.0.2.102", "192.0.2.100"
TIMEOUTS = "Timeout (tcp tcpfin udp): 1800 30 90"
BITS = 16
CLUSTER = {
    "mode": "dr",
    "nat_gateway": "192.0.2.11",  # dir1's address: the NAT real server's replies go back through it
    "ipvs": {"timeouts": {"tcp": 1800, "tcp_fin": 30, "udp": 90}, "conn_tab_bits": BITS},
    "services": [
        {"name": "web", "vip": DR_VIP, "port": 80, "realservers": [{"host": "rs1", "address": "192.0.2.21"}]},
        {"name": "nat-web", "vip": NAT_VIP, "port": 8080, "mode": "nat", "scheduler": "rr",
         "realservers": [{"host": "rs2", "address": "192.0.2.22", "port": 80}]},
    ],
}
CURL = "curl -s -m 4 http://%s:8080/" % NAT_VIP


def play(lab):
    out_dir = os.environ["LVSLAB_OUT"]
    vars_file = os.path.join(out_dir, "director-vars.yml")
    with open(vars_file, "w") as f:
        yaml.safe_dump({"lvs_cluster": CLUSTER, "lvs_director_cluster_directors": ["dir1"],
                        "realserver_linux_test_web": True}, f)
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], PLAYBOOK, "-e", "@" + vars_file]
    t0 = time.time()
    p = subprocess.run(argv, capture_output=True, text=True, cwd=REPO,
                       env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
    with open(os.path.join(out_dir, "director-run.log"), "w") as f:
        f.write("$ %s\n# %.1f s, rc=%d\n%s%s" % (" ".join(argv), time.time() - t0, p.returncode, p.stdout, p.stderr))
    print("director role run: %.1f s, rc %d" % (time.time() - t0, p.returncode))
    return p.returncode, p.stdout + p.stderr


def unload_ip_vs(lab):
    """Unload ip_vs and its schedulers from the lab kernel: no IPVS service or sync daemon may be left
    in any lab host (each is a network namespace of the one kernel that has the module)."""
    for host in lab.hosts:
        lab.run(host, "[ -e /proc/net/ip_vs ] || exit 0; ipvsadm -C; ipvsadm --stop-daemon master; "
                      "ipvsadm --stop-daemon backup; true", check=False)
    lab.kernel("mods=$(awk '$1 ~ /^ip_vs_/ {print $1}' /proc/modules); "
               "[ -z \"$mods\" ] || modprobe -r $mods; ! [ -e /sys/module/ip_vs ] || modprobe -r ip_vs")
    assert lab.kernel("test -e /sys/module/ip_vs", check=False).returncode != 0


@pytest.fixture(scope="module")
def converged(lab):
    rc, out = play(lab)
    yield rc, out
    # Put dir1 and rs2 back as the other tests expect them.
    lab.module("rs2", "policy_route", name="lvs_nat", state="absent")
    lab.run("rs2", "service lvs-test-web stop; update-rc.d -f lvs-test-web remove; "
                   "rm -rf /etc/init.d/lvs-test-web /srv/lvs-test-www", check=False)
    lab.module("dir1", "ipvs_global", persist=True)  # no timeout stated: the boot file goes
    lab.module("dir1", "vip_address", address=[DR_VIP, NAT_VIP], interface="eth0", state="absent")
    lab.run("dir1", "rm -f /etc/modprobe.d/lvs-cluster-ip_vs.conf /etc/modules-load.d/lvs-cluster.conf "
                    "/etc/sysctl.d/90-lvs-director.conf /etc/ipvsadm.rules; "
                    "sed -i 's/^AUTO=.*/AUTO=\"false\"/' /etc/default/ipvsadm")
    assert lab.run("dir1", "test -e /etc/lvs-cluster", check=False).returncode != 0
    assert lab.run("rs2", "test -e /etc/lvs-cluster", check=False).returncode != 0
    unload_ip_vs(lab)
    lab.kernel("modprobe ip_vs")  # the lab kernel's own modprobe.d: the default size
    lab.lab("reboot", "dir1")


def test_nat_service_in_a_dr_cluster_forwards(lab, converged):
    rc, out = converged
    assert rc == 0, out[-5000:]
    assert lab.out("dir1", "sysctl -n net.ipv4.ip_forward").strip() == "1"
    assert "net.ipv4.ip_forward" in lab.out("dir1", "cat /etc/sysctl.d/90-lvs-director.conf")
    ipvs = lab.out("dir1", "ipvsadm -Ln")
    assert "TCP  %s:8080 rr" % NAT_VIP in ipvs and re.search(r"192\.0\.2\.22:80\s+Masq\b", ipvs), ipvs
    assert re.search(r"192\.0\.2\.21:80\s+Route\b", ipvs), ipvs
    # rs2's replies take the policy route to dir1, which forwards and de-NATs them.
    assert "from 192.0.2.22 lookup lvs_nat" in lab.out("rs2", "ip rule show")
    assert wait_for(lambda: lab.run("client", CURL, check=False).stdout == "rs2\n", timeout=15), \
        lab.run("client", "curl -sv -m 4 http://%s:8080/" % NAT_VIP, check=False)
    # Without forwarding on the director the replies are dropped there.
    lab.run("dir1", "sysctl -q -w net.ipv4.ip_forward=0")
    try:
        blocked = lab.run("client", CURL, check=False)
    finally:
        lab.run("dir1", "sysctl -q -w net.ipv4.ip_forward=1")
    assert blocked.returncode != 0 and blocked.stdout == "", blocked
    assert lab.run("client", CURL, check=False).stdout == "rs2\n"


def test_timeouts_and_conn_tab_bits_after_a_reboot(lab, converged):
    assert converged[0] == 0
    assert TIMEOUTS in lab.out("dir1", "ipvsadm -L --timeout")
    assert lab.out("dir1", "cat /etc/modprobe.d/lvs-cluster-ip_vs.conf").splitlines()[-1] == \
        "options ip_vs conn_tab_bits=%d" % BITS
    # ip_vs was loaded before the role wrote its option; the option applies when ip_vs next loads.
    unload_ip_vs(lab)
    lab.lab("reboot", "dir1")
    assert TIMEOUTS in lab.out("dir1", "ipvsadm -L --timeout")
    assert lab.out("dir1", "cat /sys/module/ip_vs/parameters/conn_tab_bits").strip() == str(BITS)
    assert "(size=%d)" % 2 ** BITS in lab.out("dir1", "ipvsadm -Ln | head -1")
    # the rest of the director is back too: forwarding, VIPs, the saved table, the NAT service
    assert lab.out("dir1", "sysctl -n net.ipv4.ip_forward").strip() == "1"
    assert "TCP  %s:8080 rr" % NAT_VIP in lab.out("dir1", "ipvsadm -Ln")
    assert wait_for(lambda: lab.run("client", CURL, check=False).stdout == "rs2\n", timeout=30)
