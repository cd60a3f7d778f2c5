"""The collection's systemd paths on Debian's own units (issue 15).

Topology lab/topologies/dr-systemd.yml: dir1, dir2, rs1 and solo boot Debian
12's systemd as PID 1 (`init: systemd`), client and rs2 the sysv-style init.
The cluster is inventories/lab-dr (VIP 192.0.2.100, dir1 priority 150) plus
tests/systemd/playbooks/site.yml's solo director without keepalived and a
policy route on rs1. In order:

- the hosts run systemd as PID 1 in their own cgroup tree; Ansible sees
  `service_mgr: systemd` on them (and not on the sysv hosts);
- converge: keepalived runs under its Debian unit with the role's
  Restart=on-failure drop-in; a second converge reports changed=0;
- a configuration change (a real server's weight) reloads: MainPID kept, the
  VIP never leaves dir1 under a client request loop;
- an options change (DAEMON_ARGS) restarts: a new MainPID with the option;
- keepalived SIGKILLed on the master comes back through Restart=on-failure
  (the time with two VIP holders and the client-visible outage are printed
  and written to $LVSLAB_OUT/systemd-sigkill.json, not asserted);
- after a reboot the units bring back: rs1's VIP, ARP sysctls and policy rule
  (lvs-cluster-net.service, systemd-sysctl), solo's IPVS table (Debian's
  ipvsadm unit through systemd's sysv generator), solo's IPVS timeouts
  (lvs_cluster.ipvs.timeouts, set by lvs-cluster-net.service before
  ipvsadm.service), dir1's keepalived and VIP.
"""
import json
import os
import re
import subprocess
import time

import pytest
import yaml

from lab import failover as fo

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

SITE = os.path.join(REPO, "tests", "systemd", "playbooks", "site.yml")
INVENTORY = os.path.join(REPO, "inventories", "lab-dr")
SYSTEMD_HOSTS = ("dir1", "dir2", "rs1", "solo")
SYSV_HOSTS = ("client", "rs2")
DIRECTORS = ("dir1", "dir2")
VIP = "192.0.2.100"
CLUSTER = fo.cluster("dr")


class Plays:
    """ansible-playbook runs against the lab inventory and inventories/lab-dr; logs in $LVSLAB_OUT."""

    def __init__(self):
        self.out_dir = os.environ["LVSLAB_OUT"]
        self.n = 0

    def run(self, playbook, extra_vars=None, tag="site"):
        self.n += 1
        argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], "-i", INVENTORY, playbook]
        if extra_vars is not None:
            path = os.path.join(self.out_dir, "systemd-vars-%d.json" % self.n)
            with open(path, "w") as f:
                json.dump(extra_vars, f)
            argv += ["-e", "@" + path]
        log = os.path.join(self.out_dir, "systemd-%d-%s.log" % (self.n, tag))
        t0 = time.time()
        p = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, stdin=subprocess.DEVNULL,
                           env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
        out = p.stdout + p.stderr
        with open(log, "w") as f:
            f.write("$ %s\n# %.1f s, rc=%d\n%s" % (" ".join(argv), time.time() - t0, p.returncode, out))
        print("%s: %.1f s, rc %d (%s)" % (tag, time.time() - t0, p.returncode, log))
        return p.returncode, out


def recap(out, host):
    m = re.search(r"^%s\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)" % host, out, re.M)
    assert m, "no recap for %s:\n%s" % (host, out[-3000:])
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups())))


def unit(lab, host, name, *props):
    """systemctl show of a unit on a host: {property: value}."""
    out = lab.out(host, "systemctl show %s %s" % (" ".join("-p " + p for p in props), name))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def keepalived_vars(weight_rs2=100, daemon_args=None):
    """The inventory's cluster with rs2's weight changed (a configuration change) and/or
    DAEMON_ARGS set (an options change), for lab/playbooks/keepalived.yml."""
    with open(os.path.join(INVENTORY, "group_vars", "all.yml")) as f:
        cluster = yaml.safe_load(f)["lvs_cluster"]
    for rs in cluster["services"][0]["realservers"]:
        if rs["host"] == "rs2":
            rs["weight"] = weight_rs2
    out = {"lvs_cluster": cluster}
    if daemon_args is not None:
        out["keepalived_daemon_args"] = daemon_args
    return out


@pytest.fixture(scope="module")
def plays():
    return Plays()


@pytest.fixture(scope="module")
def converged(lab, plays):
    rc, out = plays.run(SITE, tag="converge")
    assert rc == 0, out[-6000:]
    return out


def test_systemd_is_pid1_in_its_own_cgroup(lab):
    ids = set()
    for host in SYSTEMD_HOSTS:
        assert lab.out(host, "cat /proc/1/comm").strip() == "systemd", host
        assert lab.out(host, "systemctl is-system-running").strip() == "running", \
            lab.out(host, "systemctl --failed --no-pager; true")
        # The host's cgroup is the root of systemd's cgroup namespace: systemd sees itself
        # in /init.scope; from the lab kernel that is /lab/HOST/init.scope.
        assert unit(lab, host, "init.scope", "ControlGroup")["ControlGroup"] == "/init.scope", host
        assert lab.out(host, "cat /proc/1/cgroup").strip() == "0::/lab/%s/init.scope" % host
        assert lab.out(host, "stat -f -c %T /tmp").strip() == "tmpfs"
        assert lab.out(host, "stat -f -c %T /run").strip() == "tmpfs"
        assert lab.run(host, "touch /sys/lvslab-probe", check=False).returncode != 0, "sysfs is writable"
        ids.add(lab.out(host, "cat /etc/machine-id").strip())
    assert len(ids) == len(SYSTEMD_HOSTS), "machine-ids are not unique"
    for host in SYSV_HOSTS:
        assert lab.out(host, "cat /proc/1/comm").strip() != "systemd", host
    # In the lab kernel: one cgroup per systemd host, the lab's controllers enabled.
    tree = lab.kernel("ls /sys/fs/cgroup/lab; cat /sys/fs/cgroup/lab/cgroup.subtree_control").stdout
    for host in SYSTEMD_HOSTS:
        assert host in tree.split()
    assert set("cpu io memory pids".split()) <= set(tree.split())


def test_ansible_sees_service_mgr_systemd(lab, converged):
    p = subprocess.run(["ansible", "-i", os.environ["LVSLAB_INVENTORY"], "all", "-m", "ansible.builtin.setup",
                        "-a", "gather_subset=!all,!min,service_mgr"],
                       capture_output=True, text=True, cwd=REPO, stdin=subprocess.DEVNULL,
                       env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                                ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json"))
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    found = {host: res["ansible_facts"].get("ansible_service_mgr")
             for host, res in json.loads(p.stdout)["plays"][0]["tasks"][0]["hosts"].items()}
    print("service_mgr:", found)
    for host in SYSTEMD_HOSTS:
        assert found.get(host) == "systemd", (host, found)
    for host in SYSV_HOSTS:
        assert found.get(host) not in (None, "systemd"), (host, found)


def test_converge_runs_keepalived_under_systemd(lab, converged):
    for host in DIRECTORS:
        assert recap(converged, host)["failed"] == 0
        k = unit(lab, host, "keepalived", "ActiveState", "Restart", "DropInPaths", "UnitFileState", "MainPID")
        assert k["ActiveState"] == "active", (host, k)
        assert k["Restart"] == "on-failure", (host, k)
        assert "lvs-cluster-restart.conf" in k["DropInPaths"], (host, k)
        assert k["UnitFileState"] == "enabled", (host, k)
        assert k["MainPID"] in lab.out(host, "pidof keepalived").split(), (host, k)
    fo.wait_steady(CLUSTER, timeout=90)
    # The collection's boot unit on the systemd real server, Debian's ipvsadm on solo.
    n = unit(lab, "rs1", "lvs-cluster-net", "ActiveState", "UnitFileState")
    assert n["UnitFileState"] == "enabled", n
    assert "AUTO=\"true\"" in lab.out("solo", "cat /etc/default/ipvsadm")
    assert "192.0.2.101:80" in lab.out("solo", "ipvsadm -Ln")


def test_second_converge_reports_no_change(lab, plays, converged):
    rc, out = plays.run(SITE, tag="converge-again")
    assert rc == 0, out[-6000:]
    for host in SYSTEMD_HOSTS + ("rs2",):
        assert recap(out, host)["changed"] == 0, (host, out[-6000:])


def test_configuration_change_reloads_keepalived(lab, plays, converged):
    before = {h: unit(lab, h, "keepalived", "MainPID", "ExecMainStartTimestampMonotonic") for h in DIRECTORS}
    fo.wait_steady(CLUSTER)
    loop = fo.RequestLoop(CLUSTER, timeout=0.5)
    sampler = fo.Sampler(CLUSTER)
    sampler.start()
    try:
        loop.wait_started()
        t0 = fo.now()
        rc, out = plays.run(fo.KEEPALIVED_PLAY, keepalived_vars(weight_rs2=40), tag="reload")
        assert rc == 0, out[-6000:]
        fo.wait_for(lambda: (fo.ipvs_weights(CLUSTER, "dir1") or {}).get("192.0.2.22") == 40, 30,
                    "rs2's new weight in dir1's IPVS table")
        time.sleep(2)
    finally:
        reqs = loop.stop()
        sampler.stop()
    assert "RUNNING HANDLER [lvs.cluster.keepalived : Reload keepalived]" in out, out[-4000:]
    assert "RUNNING HANDLER [lvs.cluster.keepalived : Restart keepalived]" not in out
    for h in DIRECTORS:
        after = unit(lab, h, "keepalived", "MainPID", "ExecMainStartTimestampMonotonic")
        assert after == before[h], (h, before[h], after)
    # The VIP never left dir1 (sampled every 50 ms through the run).
    moves = [(round(t - t0, 2), hs) for t, hs in sampler.events if hs.get(VIP) != ["dir1"]]
    assert not moves, moves
    res = fo.analyse(reqs, t0, fo.now())
    print("reload under the client loop: %d/%d requests failed, outage %s s"
          % (res["failed"], res["requests"], res["outage_s"]))


def test_options_change_restarts_keepalived(lab, plays, converged):
    before = {h: unit(lab, h, "keepalived", "MainPID")["MainPID"] for h in DIRECTORS}
    rc, out = plays.run(fo.KEEPALIVED_PLAY, keepalived_vars(weight_rs2=40, daemon_args="--log-detail"),
                        tag="restart")
    assert rc == 0, out[-6000:]
    assert "RUNNING HANDLER [lvs.cluster.keepalived : Restart keepalived]" in out, out[-4000:]
    for h in DIRECTORS:
        k = unit(lab, h, "keepalived", "MainPID", "ActiveState")
        assert k["ActiveState"] == "active" and k["MainPID"] not in ("0", before[h]), (h, before[h], k)
        cmdline = lab.out(h, "tr '\\0' ' ' < /proc/%s/cmdline" % k["MainPID"])
        assert "--log-detail" in cmdline, cmdline
    fo.wait_steady(CLUSTER, timeout=90)


def test_sigkilled_master_keepalived_comes_back_through_restart_on_failure(lab, converged):
    """Restart=on-failure (RestartSec=1) after SIGKILL of the master's keepalived: measured, not timed."""
    k0 = unit(lab, "dir1", "keepalived", "MainPID", "NRestarts")
    fo.wait_steady(CLUSTER)
    loop = fo.RequestLoop(CLUSTER, timeout=0.2)
    sampler = fo.Sampler(CLUSTER)
    sampler.start()
    res = {"fault": "kill", "init": "systemd", "setting": "v2-1s", "request_timeout_s": 0.2}
    try:
        loop.wait_started()
        time.sleep(2.0)  # baseline
        t_fault = fo.now()
        res["action"] = fo.fault_kill(CLUSTER)
        # systemd starts a new keepalived (no restore step of ours).
        def restarted():
            k = unit(lab, "dir1", "keepalived", "MainPID", "ActiveState")
            return k["ActiveState"] == "active" and k["MainPID"] not in ("0", k0["MainPID"])
        fo.wait_for(restarted, 60, "systemd to restart keepalived on dir1", interval=0.2)
        fo.wait_steady(CLUSTER, timeout=60)
        time.sleep(2.0)
    finally:
        reqs = loop.stop()
        sampler.stop()
    t_end = fo.now()
    k1 = unit(lab, "dir1", "keepalived", "MainPID", "NRestarts", "ExecMainStartTimestampMonotonic")
    offset = float(lab.out("dir1", "python3 -c 'import time; print(time.time() - time.monotonic())'"))
    res["keepalived_back_s"] = round(int(k1["ExecMainStartTimestampMonotonic"]) / 1e6 + offset - t_fault, 3)
    # Time with two holders of the VIP, from the 50 ms samples.
    events = [(t, hs) for t, hs in sampler.events]
    two = 0.0
    first_two = None
    for i, (t, hs) in enumerate(events):
        t_next = events[i + 1][0] if i + 1 < len(events) else t_end
        if any(len(v) > 1 for v in hs.values()) and t >= t_fault:
            two += t_next - t
            first_two = first_two if first_two is not None else t
    res["two_holders_s"] = round(two, 3)
    res["two_holders_from_s"] = None if first_two is None else round(first_two - t_fault, 3)
    res["vip_transitions"] = [(round(t - t_fault, 3), hs) for t, hs in events]
    res["fault_window"] = fo.analyse(reqs, t_fault, t_end)
    res["baseline"] = fo.analyse(reqs, 0, t_fault)
    res["holders_after"] = {VIP: [h for h in DIRECTORS if " %s/" % VIP in lab.out(h, "ip -o -4 addr show")]}
    res["nrestarts"] = (k0["NRestarts"], k1["NRestarts"])
    with open(os.path.join(os.environ["LVSLAB_OUT"], "systemd-sigkill.json"), "w") as f:
        json.dump(res, f, indent=1)
    fw = res["fault_window"]
    print("systemd SIGKILL of dir1's keepalived: back (new MainPID started) after %s s; two VIP holders "
          "for %s s (from %s s); client outage %s s, failed %d/%d (baseline failed %d/%d)"
          % (res["keepalived_back_s"], res["two_holders_s"], res["two_holders_from_s"], fw["outage_s"],
             fw["failed"], fw["requests"], res["baseline"]["failed"], res["baseline"]["requests"]))
    assert int(k1["NRestarts"]) == int(k0["NRestarts"]) + 1, (k0, k1)
    assert k1["MainPID"] not in ("0", k0["MainPID"])
    # After recovery: one holder, the master.
    assert res["holders_after"] == {VIP: ["dir1"]}, res["holders_after"]


REBOOT_CHECKS = {
    "rs1": ("ip -o -4 addr show dev lo | grep -o '192.0.2.100/32'; "
            "sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce "
            "net.ipv4.conf.eth0.arp_ignore net.ipv4.conf.eth0.arp_announce; "
            "ip rule show | grep 198.51.100.0/24; ip route show table 201"),
    "solo": "ipvsadm -Sn; ip -o -4 addr show dev eth0 | grep -o '192.0.2.101/32'",
}


def test_reboot_brings_back_vips_sysctls_rules_and_ipvs_table(lab, converged):
    before = {h: lab.out(h, cmd) for h, cmd in REBOOT_CHECKS.items()}
    assert "192.0.2.100/32" in before["rs1"] and "arp_ignore = 1" in before["rs1"]
    assert "198.51.100.0/24" in before["rs1"] and "via 192.0.2.11" in before["rs1"]
    assert "192.0.2.101:80" in before["solo"] and "192.0.2.101/32" in before["solo"]
    for h in REBOOT_CHECKS:
        lab.lab("reboot", h)
    for h, cmd in REBOOT_CHECKS.items():
        assert lab.out(h, cmd) == before[h], h
    assert unit(lab, "rs1", "lvs-cluster-net", "ActiveState", "Result") == \
        {"ActiveState": "active", "Result": "success"}
    assert unit(lab, "solo", "ipvsadm", "ActiveState")["ActiveState"] == "active"
    REBOOTED["solo timeouts"] = lab.out("solo", "ipvsadm -L --timeout")


REBOOTED = {}


def test_reboot_brings_back_ipvs_timeouts(lab, converged):
    """lvs_cluster.ipvs.timeouts: ipvsadm-save does not write them; lvs-cluster-net.service sets them."""
    if "solo timeouts" not in REBOOTED:  # run alone
        lab.lab("reboot", "solo")
        REBOOTED["solo timeouts"] = lab.out("solo", "ipvsadm -L --timeout")
    assert "Timeout (tcp tcpfin udp): 900 60 120" in REBOOTED["solo timeouts"]
    net = unit(lab, "solo", "lvs-cluster-net", "ActiveState", "Result", "Before")
    assert (net["ActiveState"], net["Result"]) == ("active", "success"), net
    assert {"keepalived.service", "ipvsadm.service"} <= set(net["Before"].split()), net


def test_rebooted_master_gets_keepalived_and_the_vip_back(lab, converged):
    lab.lab("reboot", "dir1")
    k = unit(lab, "dir1", "keepalived", "ActiveState", "Restart", "MainPID")
    assert k["ActiveState"] == "active" and k["Restart"] == "on-failure", k
    fo.wait_steady(CLUSTER, timeout=90)
    assert [h for h in DIRECTORS if " %s/" % VIP in lab.out(h, "ip -o -4 addr show")] == ["dir1"]
