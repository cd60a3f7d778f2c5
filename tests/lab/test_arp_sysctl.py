"""lvs.cluster.arp_sysctl on lab hosts: kernel values read back with sysctl -n."""
import pytest

HOST = "rs1"
CONF = "/etc/sysctl.d/90-lvs-arp.conf"
SAVED = "/etc/lvs-cluster/sysctl-90-lvs-arp.conf.json"
KEYS = ["net.ipv4.conf.%s.%s" % (i, p) for i in ("all", "lo", "eth0")
        for p in ("arp_ignore", "arp_announce")]


def sysctls(lab, host, keys=KEYS):
    out = lab.out(host, "sysctl -n %s" % " ".join(keys)).split()
    return dict(zip(keys, out))


def exists(lab, host, path):
    return lab.run(host, "test -e %s" % path, check=False).returncode == 0


@pytest.fixture
def clean(lab):
    """Every test starts and ends with the module's settings removed."""
    lab.module(HOST, "arp_sysctl", state="absent")
    before = sysctls(lab, HOST)
    yield before
    res = lab.module(HOST, "arp_sysctl", state="absent")
    assert not res.get("failed"), res
    assert sysctls(lab, HOST) == before
    assert not exists(lab, HOST, CONF) and not exists(lab, HOST, SAVED)


def test_check_mode_changes_nothing(lab, clean):
    res = lab.module(HOST, "arp_sysctl", check=True, interfaces=["all", "lo", "eth0"])
    assert res["changed"] is True, res
    assert res["changes"]["net.ipv4.conf.all.arp_ignore"] == {"before": "0", "after": "1"}
    assert sysctls(lab, HOST) == clean
    assert not exists(lab, HOST, CONF)
    assert not exists(lab, HOST, SAVED)
    assert not exists(lab, HOST, "/etc/lvs-cluster")


def test_apply_twice_changed_once_and_absent_restores(lab, clean):
    assert set(clean.values()) == {"0"}
    res = lab.module(HOST, "arp_sysctl", interfaces=["all", "lo", "eth0"])
    assert res["changed"] is True and not res.get("failed"), res
    got = sysctls(lab, HOST)
    for k in KEYS:
        assert got[k] == ("1" if k.endswith("arp_ignore") else "2"), (k, got)
    conf = lab.out(HOST, "cat %s" % CONF)
    assert "net.ipv4.conf.all.arp_ignore = 1" in conf
    assert "-net.ipv4.conf.eth0.arp_announce = 2" in conf
    # diff: kernel before/after and the file
    assert "net.ipv4.conf.lo.arp_ignore = 0" in res["diff"][0]["before"]
    assert "net.ipv4.conf.lo.arp_ignore = 1" in res["diff"][0]["after"]
    assert res["diff"][1]["before"] == "" and "arp_ignore" in res["diff"][1]["after"]
    again = lab.module(HOST, "arp_sysctl", interfaces=["all", "lo", "eth0"])
    assert again["changed"] is False, again
    assert again["changes"] == {}
    # boot hook installed
    assert exists(lab, HOST, "/etc/init.d/lvs-cluster-net")
    assert lab.out(HOST, "ls /etc/rcS.d /etc/rc2.d").count("lvs-cluster-net") >= 1
    # absent restores the original values and reports them
    gone = lab.module(HOST, "arp_sysctl", state="absent")
    assert gone["changed"] is True, gone
    assert gone["restored"]["net.ipv4.conf.all.arp_ignore"] == "0"
    assert sysctls(lab, HOST) == clean
    assert not exists(lab, HOST, CONF)
    assert not exists(lab, HOST, "/etc/init.d/lvs-cluster-net")
    assert "lvs-cluster-net" not in lab.out(HOST, "ls /etc/rcS.d /etc/rc2.d")
    assert lab.module(HOST, "arp_sysctl", state="absent")["changed"] is False


def test_dropped_interface_is_restored(lab, clean):
    lab.module(HOST, "arp_sysctl", interfaces=["lo", "eth0"])
    res = lab.module(HOST, "arp_sysctl", interfaces=["lo"])
    assert res["changed"] is True
    assert res["restored"] == {"net.ipv4.conf.eth0.arp_ignore": "0",
                               "net.ipv4.conf.eth0.arp_announce": "0"}
    got = sysctls(lab, HOST)
    assert got["net.ipv4.conf.eth0.arp_ignore"] == "0"
    assert got["net.ipv4.conf.lo.arp_ignore"] == "1"


def test_bad_interface_fails_and_changes_nothing(lab, clean):
    res = lab.module(HOST, "arp_sysctl", interfaces=["lo", "nosuch0"])
    assert res.get("failed") is True, res
    assert "nosuch0" in res["msg"] and "interfaces" in res["msg"]
    assert sysctls(lab, HOST) == clean
    assert not exists(lab, HOST, CONF)
    bad = lab.module(HOST, "arp_sysctl", interfaces=["lo"], arp_announce=5)
    assert bad.get("failed") is True and "arp_announce" in bad["msg"], bad
    assert sysctls(lab, HOST) == clean


def test_rp_filter_and_send_redirects(lab, clean):
    keys = ["net.ipv4.conf.all.rp_filter", "net.ipv4.conf.eth0.send_redirects"]
    before = sysctls(lab, HOST, keys)
    res = lab.module(HOST, "arp_sysctl", interfaces=["all", "eth0"], rp_filter=2,
                     send_redirects=False)
    assert res["changed"] is True, res
    assert sysctls(lab, HOST, keys) == {keys[0]: "2", keys[1]: "0"}
    lab.module(HOST, "arp_sysctl", state="absent")
    assert sysctls(lab, HOST, keys) == before


def test_reboot_restores_settings_including_late_interfaces(lab, clean):
    """Per-interface keys of a dummy created by vip_address come back at boot
    (sysctl --system skips them: '-' prefix; the boot hook sets them)."""
    vip = lab.module(HOST, "vip_address", address=["198.51.100.77"], interface="lvsdum0", interface_type="dummy")
    assert vip["changed"] is True and not vip.get("failed"), vip
    res = lab.module(HOST, "arp_sysctl", interfaces=["all", "lo", "eth0", "lvsdum0"], rp_filter=0)
    assert res["changed"] is True and not res.get("failed"), res
    keys = KEYS + ["net.ipv4.conf.lvsdum0.arp_ignore", "net.ipv4.conf.lvsdum0.rp_filter",
                   "net.ipv4.conf.all.rp_filter"]
    want = sysctls(lab, HOST, keys)
    lab.lab("reboot", HOST)
    assert sysctls(lab, HOST, keys) == want
    assert "lvs-cluster-net" in lab.out(HOST, "cat /var/log/lvslab-boot.log")
    assert lab.module(HOST, "arp_sysctl", interfaces=["all", "lo", "eth0", "lvsdum0"],
                      rp_filter=0)["changed"] is False
    lab.module(HOST, "arp_sysctl", state="absent")
    gone = lab.module(HOST, "vip_address", address=["198.51.100.77"], interface="lvsdum0", state="absent")
    assert gone["changed"] is True, gone
    assert lab.run(HOST, "ip link show lvsdum0", check=False).returncode != 0


def test_dr_real_server_does_not_answer_arp_for_vip(lab, clean):
    """VIP 192.0.2.100/32 on rs1's lo: without the ARP sysctls rs1 answers the
    client's ARP for it (the DR failure mode); with them it stays silent."""
    rs1_mac = lab.out(HOST, "cat /sys/class/net/eth0/address").strip()
    res = lab.module(HOST, "vip_address", address=["192.0.2.100"])
    assert not res.get("failed"), res
    try:
        lab.run("client", "ip neigh flush dev eth0")
        control = lab.run("client", "arping -c 2 -w 3 -I eth0 192.0.2.100", check=False)
        assert control.returncode == 0 and rs1_mac in control.stdout.lower(), control.stdout
        assert lab.module(HOST, "arp_sysctl", interfaces=["all", "lo", "eth0"])["changed"]
        lab.run("client", "ip neigh flush dev eth0")
        probe = lab.run("client", "arping -c 2 -w 3 -I eth0 192.0.2.100", check=False)
        assert probe.returncode != 0, probe.stdout
        assert rs1_mac not in probe.stdout.lower()
        assert rs1_mac not in lab.out("client", "ip neigh show 192.0.2.100").lower()
        # rs1 still answers for its own address
        own = lab.run("client", "arping -c 1 -w 3 -I eth0 192.0.2.21", check=False)
        assert own.returncode == 0 and rs1_mac in own.stdout.lower(), own.stdout
    finally:
        lab.module(HOST, "vip_address", address=["192.0.2.100"], state="absent")
        lab.run("client", "ip neigh flush dev eth0")
