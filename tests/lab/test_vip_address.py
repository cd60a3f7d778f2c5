"""lvs.cluster.vip_address on a lab real server: read back with ip addr."""
import pytest

HOST = "rs2"


def lo(lab):
    return lab.out(HOST, "ip -o addr show dev lo")


def exists(lab, path):
    return lab.run(HOST, "test -e %s" % path, check=False).returncode == 0


@pytest.fixture
def clean(lab):
    lab.module(HOST, "vip_address", address=["192.0.2.100", "192.0.2.101"], state="absent")
    before = lo(lab)
    yield before
    lab.module(HOST, "vip_address", address=["192.0.2.100", "192.0.2.101"], state="absent")
    lab.module(HOST, "vip_address", address=["192.0.2.102"], interface="tunl0", state="absent")
    lab.module(HOST, "vip_address", address=["192.0.2.104"], interface="gre0", state="absent")
    lab.module(HOST, "gue_port", port=[6080, 6081], state="absent")
    lab.module(HOST, "vip_address", address=["192.0.2.103"], interface="lvs0", state="absent")
    lab.module(HOST, "arp_sysctl", state="absent")
    assert lo(lab) == before
    assert not exists(lab, "/etc/lvs-cluster")


def test_check_mode_changes_nothing(lab, clean):
    res = lab.module(HOST, "vip_address", check=True, address=["192.0.2.100"])
    assert res["changed"] is True and res["added"] == ["192.0.2.100/32"], res
    assert lo(lab) == clean
    assert not exists(lab, "/etc/lvs-cluster")


def test_vip_on_lo_twice_reboot_absent(lab, clean):
    res = lab.module(HOST, "vip_address", address=["192.0.2.100"])
    assert res["changed"] is True and res["interface_type"] == "loopback", res
    assert "inet 192.0.2.100/32" in lo(lab)
    assert "192.0.2.100/32" in res["diff"]["after"] and "192.0.2.100" not in res["diff"]["before"]
    assert lab.module(HOST, "vip_address", address=["192.0.2.100/32"])["changed"] is False
    # a second task adds another VIP to the same device
    assert lab.module(HOST, "vip_address", address=["192.0.2.101"])["changed"] is True
    lab.lab("reboot", HOST)
    after = lo(lab)
    assert "inet 192.0.2.100/32" in after and "inet 192.0.2.101/32" in after, after
    assert lab.module(HOST, "vip_address", address=["192.0.2.100"])["changed"] is False
    gone = lab.module(HOST, "vip_address", address=["192.0.2.100", "192.0.2.101"], state="absent")
    assert gone["changed"] is True and sorted(gone["removed"]) == ["192.0.2.100/32", "192.0.2.101/32"]
    assert "192.0.2.10" not in lo(lab)
    assert not exists(lab, "/etc/init.d/lvs-cluster-net")


def test_bad_address_fails_naming_it_and_changes_nothing(lab, clean):
    res = lab.module(HOST, "vip_address", address=["192.0.2.100", "192.0.2.999"])
    assert res.get("failed") is True and res["msg"].startswith("address[1]"), res
    assert "192.0.2.999" in res["msg"]
    assert lo(lab) == clean
    res = lab.module(HOST, "vip_address", address=["192.0.2.100"], interface="eth0", interface_type="loopback")
    assert res.get("failed") is True and "interface_type" in res["msg"], res
    res = lab.module(HOST, "vip_address", address=["192.0.2.100"], interface="nosuch0", interface_type="existing")
    assert res.get("failed") is True and "nosuch0" in res["msg"], res
    assert lo(lab) == clean
    assert not exists(lab, "/etc/lvs-cluster")


def test_tun_vip_on_tunl0_with_relaxed_rp_filter_survives_reboot(lab, clean):
    res = lab.module(HOST, "vip_address", address=["192.0.2.102"], interface="tunl0")
    assert res["changed"] is True and res["interface_type"] == "ipip" and not res.get("failed"), res
    assert "inet 192.0.2.102/32" in lab.out(HOST, "ip -o addr show dev tunl0")
    sc = lab.module(HOST, "arp_sysctl", interfaces=["all", "tunl0", "eth0"], rp_filter=0)
    assert not sc.get("failed"), sc
    keys = "net.ipv4.conf.tunl0.rp_filter net.ipv4.conf.all.rp_filter net.ipv4.conf.tunl0.arp_ignore"
    want = lab.out(HOST, "sysctl -n %s" % keys).split()
    assert want == ["0", "0", "1"]
    lab.lab("reboot", HOST)
    assert "inet 192.0.2.102/32" in lab.out(HOST, "ip -o addr show dev tunl0")
    assert "UP" in lab.out(HOST, "ip -o link show dev tunl0")
    assert lab.out(HOST, "sysctl -n %s" % keys).split() == want
    show = lab.out(HOST, "/usr/local/sbin/lvs-cluster-net show")
    assert show.index("ip -4 addr replace 192.0.2.102/32 dev tunl0") < show.index("tunl0.rp_filter")


def test_dummy_device_with_host_route(lab, clean):
    res = lab.module(HOST, "vip_address", address=["192.0.2.103"], interface="lvs0", interface_type="dummy", host_route=True)
    assert res["changed"] is True and res["interface_type"] == "dummy", res
    assert "inet 192.0.2.103/32" in lab.out(HOST, "ip -o addr show dev lvs0")
    route = lab.out(HOST, "ip route show 192.0.2.103")
    assert route.startswith("192.0.2.103 dev lvs0 ") and "scope link" in route, route
    assert lab.module(HOST, "vip_address", address=["192.0.2.103"], interface="lvs0",
                      host_route=True)["changed"] is False
    gone = lab.module(HOST, "vip_address", address=["192.0.2.103"], interface="lvs0",
                      host_route=True, state="absent")
    assert gone["changed"] is True
    assert lab.run(HOST, "ip link show lvs0", check=False).returncode != 0


def fou_ports(lab):
    """`ip fou show` (iproute2, an independent reader); empty while the fou module is not loaded."""
    return lab.run(HOST, "ip fou show", check=False).stdout


def test_gre_vip_on_gre0_and_gue_port_survive_reboot(lab, clean):
    # GUE: check mode opens nothing; then open, again (no change), reboot, close
    res = lab.module(HOST, "gue_port", check=True, port=[6080])
    assert res["changed"] is True and res["added"] == [6080], res
    assert "port 6080" not in fou_ports(lab) and not exists(lab, "/etc/lvs-cluster")
    res = lab.module(HOST, "gue_port", port=[6080, "6081"])
    assert res["changed"] is True and res["added"] == [6080, 6081] and res["diff"]["after"] == "6080\n6081\n", res
    assert "port 6080 gue" in fou_ports(lab) and "port 6081 gue" in fou_ports(lab)
    assert lab.module(HOST, "gue_port", port=[6081, 6080])["changed"] is False
    bad = lab.module(HOST, "gue_port", port=[6082, 70000])
    assert bad.get("failed") is True and bad["msg"].startswith("port[1]:"), bad
    # GRE: the VIP on gre0 (modprobe ip_gre), up
    res = lab.module(HOST, "vip_address", address=["192.0.2.104"], interface="gre0", interface_type="gre")
    assert res["changed"] is True and res["interface_type"] == "gre" and not res.get("failed"), res
    assert lab.module(HOST, "vip_address", address=["192.0.2.104"], interface="gre0")["changed"] is False
    bad = lab.module(HOST, "vip_address", address=["192.0.2.104"], interface="tunl0", interface_type="gre")
    assert bad.get("failed") is True and bad["msg"].startswith("interface_type: gre means the fallback device gre0")
    lab.lab("reboot", HOST)
    assert "inet 192.0.2.104/32" in lab.out(HOST, "ip -o addr show dev gre0")
    assert ",UP" in lab.out(HOST, "ip -o link show dev gre0")
    assert "port 6080 gue" in fou_ports(lab) and "port 6081 gue" in fou_ports(lab)
    # exclusive closes the managed port the task no longer lists
    res = lab.module(HOST, "gue_port", port=[6080], exclusive=True)
    assert res["changed"] is True and res["removed"] == [6081], res
    assert "port 6081" not in fou_ports(lab) and "port 6080 gue" in fou_ports(lab)
    gone = lab.module(HOST, "gue_port", port=[6080], state="absent")
    assert gone["changed"] is True and gone["removed"] == [6080] and "port 6080" not in fou_ports(lab)
