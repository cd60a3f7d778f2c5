"""LVS-NAT (seed 001) built by lvs.cluster.site: port mapping, policy routing, sync group."""
from lab import failover as lf
from lab.testinfra_backend import host, wait_for

WAN_VIP = "203.0.113.100"
LAN_VIP = "192.0.2.254"


def vips(name):
    return [v for v in (WAN_VIP, LAN_VIP) if v + "/" in host(name).check_output("ip -o -4 addr show")]


def test_master_holds_both_vips_backup_none():
    assert wait_for(lambda: vips("dir1") == [WAN_VIP, LAN_VIP])
    assert vips("dir2") == []


def test_connection_sync_daemons_on_the_lan():
    assert lf.sync_daemons("dir1")[0].startswith("master sync daemon (mcast=eth1")
    assert lf.sync_daemons("dir2")[0].startswith("backup sync daemon (mcast=eth1")


def test_directors_forward_and_map_ports():
    for name in ("dir1", "dir2"):
        d = host(name)
        assert d.check_output("sysctl -n net.ipv4.ip_forward") == "1"
        rules = d.check_output("ipvsadm -S -n")
        assert "-a -t %s:80 -r 192.0.2.21:8001 -m -w 1" % WAN_VIP in rules
        assert "-a -t %s:80 -r 192.0.2.22:8002 -m -w 1" % WAN_VIP in rules


def test_real_servers_reply_through_the_lan_vip_only_from_their_service_address():
    rs1 = host("rs1")
    assert "from 192.0.2.21 lookup lvs_nat" in rs1.check_output("ip rule show")
    assert "default via %s dev eth0" % LAN_VIP in rs1.check_output("ip route show table lvs_nat")
    # Other traffic keeps the main table (no default route there in this lab).
    assert "default" not in rs1.check_output("ip route show table main")


def test_client_reaches_both_real_servers_through_the_wan_vip():
    client = host("client")
    answers = [client.check_output("curl -s --max-time 5 http://%s/" % WAN_VIP) for _ in range(4)]
    assert sorted(set(answers)) == ["rs1", "rs2"], answers


def test_lan_failure_moves_both_vips_together_under_load():
    # Seed 001's `ifdown eth1` test, under the client's request loop
    # (lab/failover/): the sync group moves the WAN VIP with the LAN VIP.
    res = lf.run_fault(lf.cluster("nat"), "cut")
    print(res["fault_window"], res.get("vip_move_s"))
    assert res["holders_during_fault"] == {WAN_VIP: ["dir2"], LAN_VIP: ["dir2"]}
    assert sorted(res["ipvs_on_backup"]) == ["192.0.2.21", "192.0.2.22"]
    # Requests succeed again through dir2, and again once dir1 is back (it preempts).
    assert res["fault_window"]["last_ok"] and res["restore_window"]["last_ok"]
    assert res["holders_after"] == {WAN_VIP: ["dir1"], LAN_VIP: ["dir1"]}
    assert vips("dir1") == [WAN_VIP, LAN_VIP] and vips("dir2") == []
