"""Issue 14 on the lab's real kernel: edit semantics, all-or-nothing with a step the
kernel refuses in the middle, exclusive VIPs, per-task arp_sysctl state.

    lab/bin/lvslab run -t lab/topologies/dr.yml -- python -m pytest -q tests/lab/test_modules_trust.py
"""
import re

import pytest

DIRECTOR = "dir1"
RS = "rs1"

GUE_TABLE = """-A -t 192.0.2.101:80 -s wrr
-a -t 192.0.2.101:80 -r 192.0.2.22:80 -i -w 100 --tun-type gue --tun-port 6080 --tun-csum -x 50 -y 10
"""


def ipvs(lab):
    """Rules, thresholds and tunnel settings, in one command."""
    return lab.out(DIRECTOR, "ipvsadm -S -n; ipvsadm -L -n --thresholds")


def host_state(lab, host=RS):
    return lab.out(host, "ip -j addr; ip -o link; ip rule; ip -6 rule; ip route show table all; "
                         "ip -6 route show table all; "
                         "find /etc/lvs-cluster /var/lib/lvs-cluster /etc/iproute2/rt_tables.d /etc/sysctl.d "
                         "-type f 2>/dev/null | sort | xargs -r md5sum")


@pytest.fixture
def director(lab):
    lab.run(DIRECTOR, "modprobe ip_vs && ipvsadm -C && ipvsadm -R", input=GUE_TABLE)
    yield
    lab.run(DIRECTOR, "ipvsadm -C")


def playbook_args(**kw):
    # What playbooks/rolling_maintenance.yml hands ipvs_dest for a TUN real server.
    args = dict(protocol="tcp", service_address="192.0.2.101", service_port=80, address="192.0.2.22",
                port=80, forward="tunnel")
    args.update(kw)
    return args


def test_drain_keeps_gue_encapsulation_and_thresholds(lab, director):
    before = ipvs(lab)
    assert "--tun-type gue --tun-port 6080 --tun-csum" in before, before
    res = lab.module(DIRECTOR, "ipvs_dest", **playbook_args(state="drained"))
    assert res["changed"] is True and not res.get("failed"), res
    d = res["destination"]
    assert (d["weight"], d["tun_type"], d["tun_port"], d["tun_flags"], d["upper_threshold"],
            d["lower_threshold"]) == (0, "gue", 6080, "csum", 50, 10), d
    after = ipvs(lab)
    assert "-a -t 192.0.2.101:80 -r 192.0.2.22:80 -i -w 0 --tun-type gue --tun-port 6080 --tun-csum" in after, after
    thresholds = [line for line in after.splitlines() if line.strip().startswith("->") and "192.0.2.22" in line]
    assert re.search(r"\s50\s+10(\s|$)", thresholds[-1]), after
    # restore the weight as the playbook does: GUE and thresholds still there
    res = lab.module(DIRECTOR, "ipvs_dest", **playbook_args(weight=100))
    assert res["changed"] is True, res
    assert ipvs(lab) == before


def test_a_task_with_only_the_address_keeps_the_weight(lab, director):
    before = ipvs(lab)
    res = lab.module(DIRECTOR, "ipvs_dest", service_address="192.0.2.101", service_port=80, address="192.0.2.22")
    assert res["changed"] is False and res["destination"]["weight"] == 100, res
    res = lab.module(DIRECTOR, "ipvs_service", address="192.0.2.101", port=80,
                     destinations=[{"address": "192.0.2.22"}])
    assert res["changed"] is False, res
    assert res["service"]["scheduler"] == "wrr"
    assert ipvs(lab) == before


def test_service_step_refused_mid_way_is_undone(lab, director):
    """Edit .22, add .23, then add 192.0.2.255 (dir1's subnet broadcast: only the
    kernel knows, EINVAL): the two steps done are undone, the table is as it was."""
    before = ipvs(lab)
    res = lab.module(DIRECTOR, "ipvs_service", address="192.0.2.101", port=80,
                     destinations=[{"address": "192.0.2.22", "weight": 5},
                                   {"address": "192.0.2.23", "forward": "tun"},
                                   {"address": "192.0.2.255", "forward": "tun"}])
    assert res.get("failed") is True, res
    assert res["failed_step"].startswith("add-dest -t 192.0.2.101:80 -r 192.0.2.255:80"), res
    assert res["steps_done"] == ["edit-dest -t 192.0.2.101:80 -r 192.0.2.22:80",
                                 "add-dest -t 192.0.2.101:80 -r 192.0.2.23:80"], res
    assert res["steps_undone"] == list(reversed(res["steps_done"])), res
    assert res["changed"] is False
    assert ipvs(lab) == before


def test_policy_route_step_refused_mid_way_is_undone(lab):
    before = host_state(lab)
    res = lab.module(RS, "policy_route", name="lvs_t3", table_id=103,
                     routes=[{"gateway": "192.0.2.11", "dev": "eth0"},
                             {"dest": "198.51.100.0/24", "gateway": "203.0.113.1"}],
                     rules=[{"from": "192.0.2.21/32", "priority": 1003}])
    assert res.get("failed") is True, res
    assert res["steps_done"] == ["add route default via 192.0.2.11 dev eth0 table 103"], res
    assert res["steps_undone"] == res["steps_done"]
    assert "add rule 1003: from 192.0.2.21/32 table 103" in res["steps_not_run"], res
    assert res["changed"] is False
    assert host_state(lab) == before


def test_vip_step_refused_mid_way_is_undone(lab):
    """IPv6 is disabled on bad0: the IPv4 VIP added before the refused IPv6 one is removed again."""
    lab.run(RS, "ip link add bad0 type dummy && sysctl -qw net.ipv6.conf.bad0.disable_ipv6=1 && ip link set bad0 up")
    try:
        before = host_state(lab)
        res = lab.module(RS, "vip_address", address=["192.0.2.150", "2001:db8::150"], interface="bad0")
        assert res.get("failed") is True, res
        assert res["steps_done"] == ["ip link set bad0 up", "ip addr add 192.0.2.150/32 dev bad0"], res
        assert res["failed_step"] == "ip addr add 2001:db8::150/128 dev bad0", res
        assert res["steps_undone"] == list(reversed(res["steps_done"]))
        assert host_state(lab) == before
    finally:
        lab.run(RS, "ip link del bad0")


def test_misspelt_interface_creates_nothing(lab):
    before = host_state(lab)
    res = lab.module(RS, "vip_address", address=["192.0.2.150"], interface="eht0")
    assert res.get("failed") is True and "eht0" in res["msg"] and "interface_type: dummy" in res["msg"], res
    assert host_state(lab) == before
    assert lab.run(RS, "ip link show eht0", check=False).returncode != 0


def test_exclusive_removes_managed_vips_that_left_the_list(lab):
    lab.run(RS, "ip addr add 192.0.2.162/32 dev lo")  # not managed by the module: stays
    try:
        assert lab.module(RS, "vip_address", address=["192.0.2.160", "192.0.2.161"])["changed"]
        res = lab.module(RS, "vip_address", address=["192.0.2.160"], exclusive=True)
        assert res["changed"] is True and res["removed"] == ["192.0.2.161/32"], res
        lo = lab.out(RS, "ip -o addr show dev lo; cat /etc/lvs-cluster/vip-lo.json")
        assert "192.0.2.160/32" in lo and "192.0.2.161" not in lo and "192.0.2.162/32" in lo, lo
        assert lab.module(RS, "vip_address", address=["192.0.2.160"], exclusive=True)["changed"] is False
    finally:
        lab.module(RS, "vip_address", address=["192.0.2.160", "192.0.2.161"], state="absent")
        lab.run(RS, "ip addr del 192.0.2.162/32 dev lo")


def test_two_arp_sysctl_tasks_do_not_undo_each_other(lab):
    a = dict(interfaces=["all", "lo"])
    b = dict(interfaces=["eth0"], rp_filter=0, name="/etc/sysctl.d/91-lvs-eth0.conf")
    try:
        assert lab.module(RS, "arp_sysctl", **a)["changed"]
        assert lab.module(RS, "arp_sysctl", **b)["changed"]
        again_a = lab.module(RS, "arp_sysctl", **a)
        again_b = lab.module(RS, "arp_sysctl", **b)
        assert again_a["changed"] is False and again_b["changed"] is False, (again_a, again_b)
        vals = lab.out(RS, "sysctl -n net.ipv4.conf.eth0.arp_ignore net.ipv4.conf.lo.arp_ignore "
                           "net.ipv4.conf.eth0.rp_filter").split()
        assert vals == ["1", "1", "0"], vals
    finally:
        lab.module(RS, "arp_sysctl", state="absent", name=b["name"])
        lab.module(RS, "arp_sysctl", state="absent")


def test_arp_sysctl_takes_over_the_state_file_of_earlier_versions(lab):
    """The single /var/lib/lvs-cluster/arp_sysctl.json of earlier versions: its originals
    move into the task's state in /etc/lvs-cluster, and absent restores them."""
    lab.run(RS, "sysctl -qw net.ipv4.conf.lo.arp_ignore=1 net.ipv4.conf.lo.arp_announce=2 && "
                "mkdir -p /var/lib/lvs-cluster && printf '%s' '{\"file\": \"/etc/sysctl.d/90-lvs-arp.conf\", "
                "\"originals\": {\"net.ipv4.conf.lo.arp_announce\": \"0\", \"net.ipv4.conf.lo.arp_ignore\": \"0\"}}' "
                "> /var/lib/lvs-cluster/arp_sysctl.json")
    res = lab.module(RS, "arp_sysctl", interfaces=["lo"])
    assert res["changed"] is True and res["changes"] == {}, res
    assert res["originals"] == {"net.ipv4.conf.lo.arp_announce": "0", "net.ipv4.conf.lo.arp_ignore": "0"}
    files = lab.out(RS, "ls /var/lib/lvs-cluster; cat /etc/lvs-cluster/sysctl-90-lvs-arp.conf.json")
    assert "arp_sysctl.json" not in files and '"originals"' in files, files
    assert lab.module(RS, "arp_sysctl", interfaces=["lo"])["changed"] is False
    gone = lab.module(RS, "arp_sysctl", state="absent")
    assert gone["restored"] == {"net.ipv4.conf.lo.arp_announce": "0", "net.ipv4.conf.lo.arp_ignore": "0"}, gone
    assert lab.out(RS, "sysctl -n net.ipv4.conf.lo.arp_ignore net.ipv4.conf.lo.arp_announce").split() == ["0", "0"]


def test_rolling_maintenance_playbook_keeps_gue_and_thresholds(lab, tmp_path):
    """playbooks/rolling_maintenance.yml drains rs2 (a GUE real server with thresholds) on
    both directors, runs the maintenance tasks (which record dir1's table), and restores
    the weight: during the drain only the weight is 0, afterwards the table is as before."""
    import json
    import os
    import subprocess
    import time
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for host in ("dir1", "dir2"):
        lab.run(host, "modprobe ip_vs && ipvsadm -C && ipvsadm -R", input=GUE_TABLE)
    lab.run("rs2", "mkdir -p /srv/www && echo rs2 > /srv/www/index.html && "
                   "(busybox httpd -f -p 80 -h /srv/www </dev/null >/dev/null 2>&1 & echo $! > /tmp/rm-httpd.pid)")
    before = ipvs(lab)
    cluster = {"lvs_cluster": {"mode": "tun", "services": [{
        "name": "web", "vip": "192.0.2.101", "protocol": "tcp", "port": 80, "scheduler": "wrr",
        "realservers": [{"host": "rs2", "address": "192.0.2.22", "port": 80, "weight": 100}]}]},
        # the directors' tables are set by hand above: no director carries the VIP (lvs.cluster.check_cluster)
        "lvs_director_cluster_directors": [],
        "lvs_maintenance_hosts": "rs2",
        "lvs_maintenance_tasks": os.path.join(repo, "tests", "lab", "playbooks", "record_drained_table.yml")}
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(cluster))
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"],
            os.path.join(repo, "playbooks", "rolling_maintenance.yml"), "-e", "@%s" % vars_file]
    t0 = time.time()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, cwd=repo,
                           env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
        print("rolling_maintenance: %.1f s, rc %d" % (time.time() - t0, p.returncode))
        assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
        drained = lab.out("dir1", "cat /tmp/lvs-drained.rules")
        assert "-a -t 192.0.2.101:80 -r 192.0.2.22:80 -i -w 0 --tun-type gue --tun-port 6080 --tun-csum" in drained, drained
        line = [ln for ln in drained.splitlines() if ln.strip().startswith("->") and "192.0.2.22" in ln][0]
        assert re.search(r"\s50\s+10(\s|$)", line), drained
        assert ipvs(lab) == before
        assert lab.out("dir2", "ipvsadm -S -n") in before
    finally:
        lab.run("rs2", "kill $(cat /tmp/rm-httpd.pid); rm -rf /srv/www /tmp/rm-httpd.pid", check=False)
        lab.run("dir1", "rm -f /tmp/lvs-drained.rules; ipvsadm -C", check=False)
        lab.run("dir2", "ipvsadm -C", check=False)
