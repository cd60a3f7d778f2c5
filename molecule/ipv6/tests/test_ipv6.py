"""LVS-DR over IPv6 only (inventories/lab-ipv6), checked from the hosts and with real traffic.

VRRP version 3 with the link-local VIP first; the IPv6 VIP on the real servers'
lo; only the master answers neighbour solicitations for the VIP (proved with
lab/clients/ndisc_probe.py, with the ARP sysctls of the real servers at 0, and
with a control that shows the probe sees a real server that does answer);
requests through the VIP reach both real servers; a master power-off moves
the VIPs to the backup under a client request loop and requests continue.
"""
import json
import os
import subprocess

from lab import failover as lf
from lab.core import REPO
from lab.failover.clients import CLIENTS
from lab.testinfra_backend import host, wait_for

CLUSTER = lf.cluster("ipv6")
VIP, PORT = CLUSTER.service
LINK_LOCAL_VIP = CLUSTER.vips[0]
REALSERVERS = CLUSTER.realservers  # host -> address
NDISC_PROBE = os.path.join(CLIENTS, "ndisc_probe.py")
OUT = os.environ["LVSLAB_OUT"]


def mac(name):
    return host(name).check_output("cat /sys/class/net/eth0/address")


def addresses(name, dev):
    return host(name).check_output("ip -o -6 addr show dev %s" % dev)


def solicit(target, dest="-", wait=2.0):
    """The neighbour advertisements for target the client receives (ndisc_probe.py in the client)."""
    # lab hosts see the machine's files (read-only), as the request loop's script
    out = host("client").check_output("/usr/bin/python3 %s eth0 %s %s %s" % (NDISC_PROBE, target, dest, wait))
    return json.loads(out)


def answering_macs(target, dest="-"):
    return sorted(set(a["lladdr"] for a in solicit(target, dest)["answers"]))


def test_the_master_holds_the_link_local_vip_first_and_the_vip():
    conf = host("dir1").check_output("cat /etc/keepalived/keepalived.conf")
    block = conf[conf.index("vrrp_instance VI_WEB6"):]
    assert "version 3" in block
    vips = block[block.index("virtual_ipaddress {"):].splitlines()[1:3]
    assert [line.split()[0] for line in vips] == ["fe80::61:1/64", "2001:db8::100/128"], vips
    assert wait_for(lambda: VIP in addresses("dir1", "eth0"), timeout=30)
    assert " %s/64 scope link" % LINK_LOCAL_VIP in addresses("dir1", "eth0")
    dir2 = addresses("dir2", "eth0")
    assert VIP not in dir2 and LINK_LOCAL_VIP not in dir2


def test_keepalived_programs_the_ipv6_service_on_both_directors():
    for name in ("dir1", "dir2"):
        rules = host(name).check_output("ipvsadm -S -n")
        assert "-A -t [%s]:%d -s rr" % (VIP, PORT) in rules, rules
        for address in REALSERVERS.values():
            assert "-a -t [%s]:%d -r [%s]:%d -g -w 100" % (VIP, PORT, address, PORT) in rules, rules


def test_real_servers_carry_the_vip_on_lo_only():
    for name in REALSERVERS:
        assert " %s/128 scope global" % VIP in addresses(name, "lo")
        assert VIP not in addresses(name, "eth0")


def test_requests_through_the_vip_reach_both_real_servers():
    client = host("client")
    answers = [client.check_output("curl -s -g --max-time 5 http://[%s]:%d/" % (VIP, PORT)) for _ in range(4)]
    assert sorted(set(answers)) == sorted(REALSERVERS), answers


def test_only_the_master_answers_neighbour_solicitations_for_the_vip():
    """Linux answers a solicitation only for an address on the interface it arrived on
    (ndisc_recv_ns: ipv6_get_ifaddr(..., dev, strict)); a VIP on lo is silent on eth0
    without any sysctl: arp_ignore/arp_announce are IPv4's and set to 0 here to show it."""
    master = mac("dir1")
    # The VIP's solicited-node group, as the client's kernel asks: the master alone answers.
    assert answering_macs(VIP) == [master]
    for name, address in sorted(REALSERVERS.items()):
        rs = host(name)
        arp = "net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0 " \
              "net.ipv4.conf.eth0.arp_ignore=0 net.ipv4.conf.lo.arp_ignore=0"
        before = rs.check_output("sysctl -n net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce "
                                 "net.ipv4.conf.eth0.arp_ignore net.ipv4.conf.lo.arp_ignore").split()
        rs.check_output("sysctl -q -w %s" % arp)
        try:
            # Sent to the real server itself (unicast: only it can answer, and Linux leaves
            # the link-layer option out of such answers): it has the VIP on lo and is silent...
            assert solicit(VIP, address)["answers"] == [], name
            assert answering_macs(VIP) == [master], name
            # ...while it answers for its own eth0 address (the probe sees answers).
            assert [a["from"] for a in solicit(address, address)["answers"]] == [address], name
            # Control: with the VIP on its eth0 (as a wrong set-up would put it) the real
            # server answers both probes, so the checks above would fail if it answered.
            rs.check_output("ip addr add %s/128 dev eth0 nodad" % VIP)
            try:
                assert [a["from"] for a in solicit(VIP, address)["answers"]] == [VIP], name
                assert answering_macs(VIP) == sorted([master, mac(name)]), name
            finally:
                rs.check_output("ip addr del %s/128 dev eth0" % VIP)
        finally:
            rs.check_output("sysctl -q -w net.ipv4.conf.all.arp_ignore=%s net.ipv4.conf.all.arp_announce=%s "
                            "net.ipv4.conf.eth0.arp_ignore=%s net.ipv4.conf.lo.arp_ignore=%s" % tuple(before))
    # The client's own resolution: its neighbour entry for the VIP is the master's MAC.
    client = host("client")
    client.run("ip -6 neigh flush dev eth0")
    assert client.check_output("curl -s -g --max-time 5 http://[%s]:%d/" % (VIP, PORT)) in REALSERVERS
    assert "lladdr %s" % master in client.check_output("ip -6 neigh show %s" % VIP)


def test_status_playbook_shows_the_ipv6_cluster():
    out = os.path.join(OUT, "lvs-status-ipv6.json")  # the controller writes only there
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], "-i", CLUSTER.inventory,
            "lvs.cluster.status", "-e", "lvs_status_json=" + out]
    res = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "VRRP VI_WEB6: MASTER %s,%s" % (LINK_LOCAL_VIP, VIP) in res.stdout
    assert "[%s]:%d" % (VIP, PORT) in res.stdout and "-> [2001:db8::21]:80" in res.stdout
    with open(out) as f:
        status = json.load(f)
    assert [v["state"] for v in status["directors"]["dir1"]["vrrp"]] == ["MASTER"]
    assert [v["state"] for v in status["directors"]["dir2"]["vrrp"]] == ["BACKUP"]
    dir1_destinations = status["directors"]["dir1"]["services"][0]["destinations"]
    assert {d["address"] for d in dir1_destinations} == set(REALSERVERS.values())


def test_master_poweroff_moves_the_vips_and_requests_continue():
    res = lf.run_fault(CLUSTER, "poweroff")
    with open(os.path.join(OUT, "ipv6-failover-poweroff.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k != "vip_transitions"}))
    fw, rw = res["fault_window"], res["restore_window"]
    # Both VIPs (link-local first, then the service's) moved to the backup, whose table was complete.
    assert res["holders_during_fault"] == {v: [CLUSTER.backup] for v in CLUSTER.vips}, res["holders_during_fault"]
    assert sorted(res["ipvs_on_backup"]) == sorted(REALSERVERS.values())
    # Requests were answered through the backup, and again once the master was back.
    assert fw["requests"] > 0 and rw["requests"] > 0
    assert fw["failed"] == 0 or fw["recovered"] is not None, fw
    assert fw["last_ok"] and rw["last_ok"], (fw, rw)
    assert set(fw["served_by"]) == set(REALSERVERS), fw
    # Once restored, one holder: the master (it preempts).
    assert res["holders_after"] == {v: [CLUSTER.master] for v in CLUSTER.vips}, res["holders_after"]
    assert sorted(res["ipvs_after"]) == sorted(REALSERVERS.values())
