"""Strict input and edit semantics of the IPVS model (issue 14), pure."""
import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_checks
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as m

S = dict(address="192.0.2.100", port=80)


def svc(**kw):
    return m.normalize_service(dict(S, **kw))


def fails(fn, field, words=""):
    with pytest.raises(m.IPVSValidationError) as err:
        fn()
    assert str(err.value).startswith(field + ":"), str(err.value)
    assert words in str(err.value), str(err.value)
    return str(err.value)


@pytest.mark.parametrize("value,ok", [(80, 80), ("80", 80), (80.0, 80), (" 80 ", 80),
                                      (80.9, None), ("80.9", None), (True, None), (False, None),
                                      ("80x", None), (None, None), ([80], None), ("", None)])
def test_check_int(value, ok):
    if ok is None:
        fails(lambda: m.check_int("f", value), "f")
    else:
        assert m.check_int("f", value) == ok


@pytest.mark.parametrize("value", ["no", "yes", "false", 0, 1, "", [], "maybe"])
def test_booleans_are_booleans(value):
    fails(lambda: svc(protocol="udp", one_packet=value), "service.one_packet", "not a boolean")


def test_one_packet_true_false_and_default():
    assert svc(protocol="udp", one_packet=True)["one_packet"] is True
    assert svc(protocol="udp", one_packet=False)["one_packet"] is False
    assert svc(protocol="udp")["one_packet"] is False


@pytest.mark.parametrize("kw,field,words", [
    (dict(port=80.9), "service.port", "not an integer"),
    (dict(port=0), "service.port", "needs persistence"),
    (dict(port=True), "service.port", "boolean"),
    (dict(persistence=60, netmask="0.0.0.255"), "service.netmask", "host mask"),
    (dict(persistence=60, netmask="255.0.255.0"), "service.netmask", "not an IPv4 netmask"),
    (dict(persistence=60, netmask="33"), "service.netmask", "out of range"),
    (dict(persistence=60, netmask="abc"), "service.netmask", "not an IPv4 netmask"),
    (dict(sched_flags="sh-port"), "service.sched_flags", "flag of the sh scheduler"),
    (dict(sched_flags=[1]), "service.sched_flags", "unknown flag 1"),
    (dict(sched_flags={"sh-port": 1}), "service.sched_flags", "must be a list"),
    (dict(destinations={"address": "192.0.2.21"}), "service.destinations", "must be a list"),
    (dict(destinations=["192.0.2.21"]), "service.destinations[0]", "dictionary"),
    (dict(family="ipv6"), "service.family", "does not match"),
    (dict(persistence="60s"), "service.persistence", "not an integer"),
])
def test_service_refusals_name_the_field(kw, field, words):
    fails(lambda: svc(**kw), field, words)


def test_port_zero_with_persistence_and_sched_flags_string():
    assert svc(port=0, persistence=60)["port"] == 0
    assert svc(scheduler="sh", sched_flags="sh-port,sh-fallback")["sched_flags"] == ["sh-fallback", "sh-port"]


@pytest.mark.parametrize("netmask,want", [("255.255.255.0", "255.255.255.0"), ("24", "255.255.255.0"),
                                          (24, "255.255.255.0"), ("0.0.0.0", "0.0.0.0"),
                                          ("255.255.255.255", "255.255.255.255")])
def test_ipv4_netmasks(netmask, want):
    assert svc(persistence=60, netmask=netmask)["netmask"] == want


def test_ipv6_netmask_as_mask_or_prefix():
    v6 = dict(address="2001:db8::1", port=80, persistence=60)
    assert m.normalize_service(dict(v6, netmask="ffff:ffff:ffff:ffff::"))["netmask"] == 64
    assert m.normalize_service(dict(v6, netmask=64))["netmask"] == 64
    fails(lambda: m.normalize_service(dict(v6, netmask="ffff:0:ffff::")), "service.netmask", "not an IPv6 netmask")
    fails(lambda: m.normalize_service(dict(v6, netmask="255.255.255.0")), "service.netmask", "prefix length")
    fails(lambda: m.normalize_service(dict(v6, netmask="::")), "service.netmask", "1..128")


def test_families_per_forwarding_method():
    v4, v6 = svc(), m.normalize_service(dict(address="2001:db8::1", port=80))
    # the kernel allows mixed families only for tunnels
    assert m.normalize_dest(dict(address="2001:db8::21", forward="tun"), v4)["address"] == "2001:db8::21"
    assert m.normalize_dest(dict(address="192.0.2.21", forward="tun"), v6)["address"] == "192.0.2.21"
    fails(lambda: m.normalize_dest(dict(address="192.0.2.21"), v6), "destination.address", "forward: tunnel")
    fails(lambda: m.normalize_dest(dict(address="192.0.2.21", forward="nat"), v6), "destination.address")
    fails(lambda: m.normalize_dest(dict(address="2001:db8::21"), v4), "destination.address")
    fw6 = m.normalize_service(dict(fwmark=3, family="ipv6"))
    fails(lambda: m.normalize_dest(dict(address="192.0.2.21"), fw6), "destination.address")


@pytest.mark.parametrize("address", ["224.0.0.9", "0.0.0.0", "255.255.255.255", "::", "ff02::1", "fe80::1"])
def test_real_servers_are_unicast(address):
    s = svc() if "." in address else m.normalize_service(dict(address="2001:db8::1", port=80))
    fails(lambda: m.normalize_dest(dict(address=address), s), "destination.address", "unicast")


@pytest.mark.parametrize("kw,field", [(dict(weight=False), "destination.weight"),
                                      (dict(weight=1.9), "destination.weight"),
                                      (dict(upper_threshold=True), "destination.upper_threshold"),
                                      (dict(tun_port=6080.5, forward="tun", tun_type="gue"), "destination.tun_port")])
def test_dest_integers_are_integers(kw, field):
    fails(lambda: m.normalize_dest(dict(address="192.0.2.21", **kw), svc()), field)


def test_dest_must_be_a_dict():
    fails(lambda: m.normalize_dest("192.0.2.21", svc()), "destination", "dictionary")


GUE = dict(address="192.0.2.22", port=80, forward="tunnel", weight=100, upper_threshold=50,
           lower_threshold=10, tun_type="gue", tun_port=6080, tun_flags="csum")


def test_merge_dest_keeps_what_the_task_does_not_give():
    drained = m.normalize_dest(m.merge_dest(dict(address="192.0.2.22", forward="tunnel", weight=0), GUE), svc())
    assert drained == dict(GUE, weight=0)
    same = m.normalize_dest(m.merge_dest(dict(address="192.0.2.22"), GUE), svc())
    assert same == GUE


def test_merge_dest_drops_options_of_another_method():
    dr = m.normalize_dest(m.merge_dest(dict(address="192.0.2.22", forward="dr"), GUE), svc())
    assert dr["forward"] == "route" and dr["tun_type"] is None and dr["upper_threshold"] == 50
    ipip = m.normalize_dest(m.merge_dest(dict(address="192.0.2.22", tun_type="ipip"), GUE), svc())
    assert ipip["tun_type"] == "ipip" and ipip["tun_port"] is None and ipip["tun_flags"] is None


def test_merge_dest_new_real_server_gets_defaults():
    d = m.normalize_dest(m.merge_dest(dict(address="192.0.2.23"), None), svc())
    assert (d["weight"], d["forward"], d["upper_threshold"]) == (1, "route", 0)


def test_merge_service_keeps_kernel_values():
    cur = svc(scheduler="sh", sched_flags=["sh-port"], persistence=60, netmask="255.255.255.0")
    spec = dict(S, scheduler=None, sched_flags=None, persistence=None, netmask=None, one_packet=None)
    assert m.normalize_service(m.merge_service(spec, cur)) == cur
    rr = m.normalize_service(m.merge_service(dict(spec, scheduler="rr"), cur))
    assert rr["scheduler"] == "rr" and rr["sched_flags"] == [] and rr["persistence"] == 60
    off = m.normalize_service(m.merge_service(dict(spec, persistence=0), cur))
    assert off["persistence"] == 0 and off["netmask"] == "255.255.255.255"
    assert m.normalize_service(m.merge_service(spec, None)) == svc()


def test_dest_spec_key():
    assert m.dest_spec_key(dict(address="192.0.2.21"), svc()) == ("192.0.2.21", 80)
    assert m.dest_spec_key(dict(address="2001:DB8::1", port="8080"), svc()) == ("2001:db8::1", 8080)


@pytest.mark.parametrize("name", ["", ".", "..", "../../../etc", "a/b", "eth0:1", "a b", "x" * 16, None, 5])
def test_check_ifname_refuses(name):
    fails(lambda: m.check_ifname("iface", name), "iface", "not a valid interface name")


def test_available_schedulers(tmp_path):
    moddir = tmp_path / "lib" / "modules" / "6.1.0"
    (moddir / "kernel").mkdir(parents=True)
    (moddir / "modules.dep").write_text("kernel/net/netfilter/ipvs/ip_vs_rr.ko: kernel/net/netfilter/ipvs/ip_vs.ko\n"
                                        "kernel/net/netfilter/ipvs/ip_vs_mh.ko.xz: \n")
    (moddir / "modules.builtin").write_text("kernel/net/netfilter/ipvs/ip_vs_wlc.ko\n")
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "modules").write_text("ip_vs_sh 16384 0 - Live 0x0\nip_vs 1 2 - Live\n")
    got = ipvs_checks.available_schedulers("6.1.0", root=str(tmp_path))
    assert {"rr", "mh", "wlc", "sh"} <= got and "twos" not in got
    assert "twos" in ipvs_checks.check_scheduler("service.scheduler", "twos", got)
    assert ipvs_checks.check_scheduler("service.scheduler", "rr", got) is None
    assert ipvs_checks.available_schedulers("9.9.9", root=str(tmp_path)) is None
    assert ipvs_checks.check_scheduler("s", "twos", None) is None


def test_ipvs_service_undo_of_each_step():
    from ansible_collections.lvs.cluster.plugins.modules import ipvs_service
    s = svc()
    d21 = m.normalize_dest(dict(address="192.0.2.21", weight=100), s)
    d22 = m.normalize_dest(dict(address="192.0.2.22"), s)
    table = [(s, [d21])]
    undo = ipvs_service._undo
    assert undo(("add-dest", s, d22), table) == [("delete-dest", s, d22)]
    assert undo(("edit-dest", s, dict(d21, weight=0)), table) == [("edit-dest", s, d21)]
    assert undo(("delete-dest", s, d21), table) == [("add-dest", s, d21)]
    assert undo(("edit-service", dict(s, scheduler="rr"), None), table) == [("edit-service", s, None)]
    assert undo(("delete-service", s, None), table) == [("add-service", s, None), ("add-dest", s, d21)]
    new = svc(address="192.0.2.110")
    assert undo(("add-service", new, None), table) == [("delete-service", new, None)]
