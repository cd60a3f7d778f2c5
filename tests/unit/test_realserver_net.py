"""Pure logic of the real-server modules: rt_tables, validation, sysctl
rendering, state files and the boot script's commands."""
import json

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import persist, routing, sysctl

RT = """#
# reserved values
#
255\tlocal
254\tmain
253\tdefault
0\tunspec
#1\tinr.ruhep
100  lvs_nat   # trailing comment
0x65 hexed
garbage line
"""


def test_parse_rt_tables():
    e = routing.parse_rt_tables(RT, "rt")
    assert (100, "lvs_nat", "rt") in e and (101, "hexed", "rt") in e
    assert (255, "local", "rt") in e
    assert not any(n == "inr.ruhep" for _num, n, _kind in e)
    assert len(e) == 6


def test_validate_table_clashes():
    e = routing.parse_rt_tables(RT, "/etc/iproute2/rt_tables")
    routing.validate_table("lvs_nat", 100, e)  # same entry elsewhere: fine
    routing.validate_table("fresh", 200, e)
    with pytest.raises(routing.ValidationError, match=r"^table_id: 100 is already table 'lvs_nat'"):
        routing.validate_table("other", 100, e)
    with pytest.raises(routing.ValidationError, match=r"^name: table 'lvs_nat' is already number 100"):
        routing.validate_table("lvs_nat", 7, e)
    for bad in (0, 253, 254, 255, 2 ** 32):
        with pytest.raises(routing.ValidationError, match="^table_id"):
            routing.validate_table("x", bad, [])
    for bad in ("main", "1abc", "a b", ""):
        with pytest.raises(routing.ValidationError, match="^name"):
            routing.validate_table(bad, 5, [])
    with pytest.raises(routing.ValidationError, match="^table_id: required"):
        routing.validate_table("x", None, [])


def test_normalize_rule():
    r = routing.normalize_rule({"from": "192.0.2.21", "fwmark": "0x10/0xff", "priority": 5}, 0)
    assert r == {"from": "192.0.2.21/32", "to": None, "fwmark": 16, "fwmask": 255,
                 "iif": None, "priority": 5, "family": 4}
    assert routing.normalize_rule({"to": "2001:db8::/32"}, 0)["family"] == 6
    assert routing.normalize_rule({"from": "all", "iif": "eth1"}, 0)["from"] is None
    for spec, field in (({"priority": 0}, "rules[3].priority"), ({"priority": 32767}, "rules[3].priority"),
                        ({"from": "10.0.0.1/8"}, "rules[3].from"), ({"to": "x"}, "rules[3].to"),
                        ({"fwmark": "1/2/3"}, "rules[3].fwmark"), ({"fwmark": str(2 ** 32)}, "rules[3].fwmark"),
                        ({"from": "10.0.0.0/8", "to": "2001:db8::/32"}, "rules[3]:")):
        with pytest.raises(routing.ValidationError) as exc:
            routing.normalize_rule(spec, 3)
        assert str(exc.value).startswith(field), str(exc.value)
    assert routing.rule_text(r) == "5: from 192.0.2.21/32 fwmark 0x10/0xff"


def test_normalize_route():
    def exists(d):
        return d == "eth0"

    r = routing.normalize_route({"gateway": "192.0.2.11", "dev": "eth0"}, 0, exists)
    assert r == {"dest": "default", "gateway": "192.0.2.11", "dev": "eth0", "metric": None, "family": 4}
    assert routing.route_text(r) == "default via 192.0.2.11 dev eth0"
    assert routing.normalize_route({"dest": "198.51.100.0/24", "dev": "eth0"}, 0, exists)["dest"] == "198.51.100.0/24"
    assert routing.normalize_route({"gateway": "2001:db8::1"}, 0, exists)["family"] == 6
    for spec, field in (({}, "routes[1]: give"), ({"gateway": "1.2.3"}, "routes[1].gateway"),
                        ({"dev": "eth9"}, "routes[1].dev"), ({"dest": "10.1.0.0/8", "dev": "eth0"}, "routes[1].dest"),
                        ({"dest": "10.0.0.0/8", "gateway": "2001:db8::1"}, "routes[1].gateway"),
                        ({"dev": "eth0", "metric": -1}, "routes[1].metric")):
        with pytest.raises(routing.ValidationError) as exc:
            routing.normalize_route(spec, 1, exists)
        assert str(exc.value).startswith(field), str(exc.value)


def test_rule_matches():
    want = routing.normalize_rule({"from": "192.0.2.21", "fwmark": "5"}, 0)
    have = dict(want, priority=32000, fwmask=0xFFFFFFFF)
    assert routing.rule_matches(want, have)
    assert not routing.rule_matches(dict(want, priority=10), have)
    assert not routing.rule_matches(want, dict(have, fwmark=None, fwmask=None))
    assert not routing.rule_matches(want, dict(have, iif="eth0"))


def test_parse_interface_address():
    assert str(routing.parse_interface_address("192.0.2.100", "address[0]")) == "192.0.2.100/32"
    assert str(routing.parse_interface_address("2001:db8::1", "address[0]")) == "2001:db8::1/128"
    with pytest.raises(routing.ValidationError, match=r"^address\[2\]"):
        routing.parse_interface_address("192.0.2.300", "address[2]")


def test_sysctl_keys_and_conf():
    assert sysctl.key_name("eth0", "arp_ignore") == "net.ipv4.conf.eth0.arp_ignore"
    assert sysctl.key_name("eth0.100", "rp_filter") == "net/ipv4/conf/eth0.100/rp_filter"
    assert sysctl.split_key("net/ipv4/conf/eth0.100/rp_filter") == ("eth0.100", "rp_filter")
    s = sysctl.desired_settings(["all", "lo", "all"], {"arp_ignore": 1, "arp_announce": 2,
                                                       "rp_filter": None, "send_redirects": False})
    assert s == [("net.ipv4.conf.all.arp_ignore", "1"), ("net.ipv4.conf.all.arp_announce", "2"),
                 ("net.ipv4.conf.all.send_redirects", "0"), ("net.ipv4.conf.lo.arp_ignore", "1"),
                 ("net.ipv4.conf.lo.arp_announce", "2"), ("net.ipv4.conf.lo.send_redirects", "0")]
    conf = sysctl.render_conf(s)
    assert "\nnet.ipv4.conf.all.arp_ignore = 1\n" in conf
    assert "\n-net.ipv4.conf.lo.arp_ignore = 1\n" in conf
    with pytest.raises(ValueError, match="arp_announce"):
        sysctl.desired_settings(["lo"], {"arp_announce": 3})


def test_validate_interfaces(tmp_path):
    (tmp_path / "eth0").mkdir()
    assert sysctl.validate_interfaces(["all", "default", "eth0"], str(tmp_path)) is None
    assert "nosuch0" in sysctl.validate_interfaces(["eth0", "nosuch0"], str(tmp_path))
    assert sysctl.validate_interfaces(["a/b"], str(tmp_path)).startswith("interfaces: invalid")
    assert sysctl.validate_interfaces([], str(tmp_path)).startswith("interfaces")


def boot_script():
    ns = {"__name__": "lvs_cluster_net"}
    exec(compile(persist.BOOT_SCRIPT, "lvs-cluster-net", "exec"), ns)
    return ns


def test_state_file_and_boot_commands():
    text = persist.render_state("policy_route", "lvs_nat", {
        "table": {"name": "lvs_nat", "id": 100},
        "routes": [routing.normalize_route({"gateway": "192.0.2.11", "dev": "eth0"}, 0, lambda d: True)],
        "rules": [routing.normalize_rule({"from": "192.0.2.21", "priority": 1000}, 0),
                  routing.normalize_rule({"fwmark": "0x10/0xff"}, 1)]})
    state = json.loads(text)
    assert state["kind"] == "policy_route" and state["version"] == 1
    cmds = [" ".join(a) for a, _tol, _c in boot_script()["commands"](state)]
    assert cmds == [
        "ip -4 route replace default via 192.0.2.11 dev eth0 proto static table 100",
        "ip -4 rule del from 192.0.2.21/32 priority 1000 table 100",
        "ip -4 rule add from 192.0.2.21/32 priority 1000 table 100",
        "ip -4 rule del fwmark 0x10/0xff table 100",
        "ip -4 rule add fwmark 0x10/0xff table 100",
    ]
    vip = {"kind": "vip", "interface": "tunl0", "type": "ipip",
           "addresses": [{"address": "192.0.2.100/32", "family": 4, "host_route": True}]}
    steps = boot_script()["commands"](vip)
    assert [" ".join(a) for a, _t, _c in steps] == [
        "modprobe ipip", "ip link set tunl0 up", "ip -4 addr replace 192.0.2.100/32 dev tunl0",
        "ip -4 route replace 192.0.2.100/32 dev tunl0 proto static scope link"]
    assert steps[0][2] == ("missing", "/sys/class/net/tunl0")
    sc = {"kind": "sysctl", "settings": {"net.ipv4.conf.tunl0.rp_filter": "0",
                                         "net/ipv4/conf/eth0.5/arp_ignore": "1"}}
    steps = boot_script()["commands"](sc)
    assert steps[0] == (["sysctl", "-q", "-w", "net.ipv4.conf.tunl0.rp_filter=0"], False,
                        ("exists", "/proc/sys/net/ipv4/conf/tunl0/rp_filter"))
    assert steps[1][2] == ("exists", "/proc/sys/net/ipv4/conf/eth0.5/arp_ignore")


def test_ipvs_timeouts_boot_commands():
    """ipvs_global persist=true: what the task states, 0 (left as is) for the rest."""
    state = json.loads(persist.render_state("ipvs", "timeouts", {"timeouts": {"tcp": 7200, "udp": 60}}))
    assert persist.state_path("ipvs", "timeouts") == "/etc/lvs-cluster/ipvs-timeouts.json"
    steps = boot_script()["commands"](state)
    assert steps == [(["modprobe", "ip_vs"], True, ("missing", "/proc/net/ip_vs")),
                     (["ipvsadm", "--set", "7200", "0", "60"], False, None)]
    assert boot_script()["commands"]({"kind": "ipvs", "timeouts": {}}) == []


def test_boot_order(tmp_path):
    for name, kind in (("a", "policy_route"), ("b", "sysctl"), ("c", "vip"), ("0", "ipvs")):
        (tmp_path / ("%s.json" % name)).write_text(json.dumps({"kind": kind}))
    (tmp_path / "broken.json").write_text("{")
    order = [s["kind"] for _p, s in boot_script()["load_states"](str(tmp_path))]
    assert order == ["vip", "sysctl", "policy_route", "ipvs"]


def test_state_path_and_hook_texts():
    assert persist.state_path("vip", "eth0.5") == "/etc/lvs-cluster/vip-eth0.5.json"
    assert persist.state_path("vip", "a/b") == "/etc/lvs-cluster/vip-a_b.json"
    assert "Default-Start:     S" in persist.INIT_SCRIPT
    assert "/usr/local/sbin/lvs-cluster-net apply" in persist.INIT_SCRIPT
    assert "ExecStart=/usr/local/sbin/lvs-cluster-net apply" in persist.UNIT
    assert "WantedBy=multi-user.target" in persist.UNIT
