"""Pure IPVS logic: validation, planning, ipvsadm-save rendering, /proc parsing."""
import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as m


def svc(**kw):
    spec = dict(address="192.0.2.100", port=80, protocol="tcp")
    spec.update(kw)
    return m.normalize_service(spec)


def dest(s, **kw):
    return m.normalize_dest(kw, s)


@pytest.mark.parametrize("spec,field,words", [
    (dict(address="192.0.2.256", port=80), "service.address", "is not an IP address"),
    (dict(address="192.0.2.1", port=65536), "service.port", "out of range"),
    (dict(address="192.0.2.1"), "service.port", "required"),
    (dict(port=80), "service.address", "required"),
    (dict(address="192.0.2.1", port=80, scheduler="fastest"), "service.scheduler", "unknown scheduler"),
    (dict(address="192.0.2.1", port=80, scheduler="wlc", sched_flags=["sh-port"]), "service.sched_flags", "sh scheduler"),
    (dict(address="192.0.2.1", port=80, scheduler="sh", sched_flags=["mh-port"]), "service.sched_flags", "mh scheduler"),
    (dict(fwmark=1, address="192.0.2.1"), "service.fwmark", "no address"),
    (dict(fwmark=0), "service.fwmark", "out of range"),
    (dict(address="192.0.2.1", port=80, netmask="255.255.255.0"), "service.netmask", "needs persistence"),
    (dict(address="192.0.2.1", port=80, persistence=5, netmask="255.0.255.0"), "service.netmask", "not an IPv4 netmask"),
    (dict(address="2001:db8::1", port=80, persistence=5, netmask=129), "service.netmask", "out of range"),
    (dict(address="192.0.2.1", port=80, protocol="icmp"), "service.protocol", "must be one of"),
    (dict(address="192.0.2.1", port=80, one_packet=True), "service.one_packet", "UDP"),
])
def test_service_validation_names_the_field(spec, field, words):
    with pytest.raises(m.IPVSValidationError) as err:
        m.normalize_service(spec)
    assert str(err.value).startswith(field + ":") and words in str(err.value)


def test_service_defaults_and_canonical_form():
    s = svc(persistence=True, netmask="24")
    assert s["scheduler"] == "wlc" and s["persistence"] == 300 and s["netmask"] == "255.255.255.0"
    assert svc(address="2001:DB8::0001")["address"] == "2001:db8::1"
    assert svc(address="2001:db8::1")["netmask"] == 128
    f = m.normalize_service(dict(fwmark=5, scheduler="sh", sched_flags=["sh-port", "sh-fallback"]))
    assert f["sched_flags"] == ["sh-fallback", "sh-port"] and f["protocol"] is None


@pytest.mark.parametrize("spec,field,words", [
    (dict(address="192.0.2.21", port=8080, forward="dr"), "destination.port", "cannot map ports"),
    (dict(address="192.0.2.21", port=8080, forward="tun"), "destination.port", "cannot map ports"),
    (dict(address="192.0.2.21", weight=65536), "destination.weight", "out of range"),
    (dict(address="192.0.2.21", weight=-1), "destination.weight", "out of range"),
    (dict(address="192.0.2.21", forward="bridge"), "destination.forward", "must be masq"),
    (dict(address="192.0.2.21", forward="tun", tun_type="gue"), "destination.tun_port", "needs tun_port"),
    (dict(address="192.0.2.21", forward="tun", tun_type="ipip", tun_port=1), "destination.tun_port", "only a GUE"),
    (dict(address="192.0.2.21", forward="dr", tun_type="gre"), "destination.tun_type", "forward: tunnel"),
    (dict(address="192.0.2.21", forward="tun", tun_type="gre", tun_flags="remcsum"), "destination.tun_flags", "GUE"),
    (dict(address="2001:db8::1"), "destination.address", "IPv6 real server"),
    (dict(address="192.0.2.21", upper_threshold=5, lower_threshold=6), "destination.lower_threshold", "above"),
])
def test_dest_validation_names_the_field(spec, field, words):
    with pytest.raises(m.IPVSValidationError) as err:
        m.normalize_dest(spec, svc())
    assert str(err.value).startswith(field + ":") and words in str(err.value)


def test_nat_maps_ports_and_aliases():
    d = dest(svc(), address="192.0.2.21", port=8001, forward="nat")
    assert d["forward"] == "masq" and d["port"] == 8001
    assert dest(svc(), address="192.0.2.21")["port"] == 80
    assert dest(svc(), address="192.0.2.21", forward="tun")["tun_type"] == "ipip"


def test_plan_service_add_edit_purge_and_noop():
    s = svc()
    d1, d2, d3 = (dest(s, address="192.0.2.%d" % i) for i in (21, 22, 23))
    assert [a[0] for a in m.plan_service(None, [], s, [d1, d2], False)] == ["add-service", "add-dest", "add-dest"]
    assert m.plan_service(s, [d1, d2], s, [d1, d2], True) == []
    s2 = svc(scheduler="rr")
    heavier = dict(d1, weight=5)
    plan = m.plan_service(s, [d1, d2, d3], s2, [heavier, d2], True)
    assert [(a[0], a[2] and a[2]["address"]) for a in plan] == [
        ("edit-service", None), ("delete-dest", "192.0.2.23"), ("edit-dest", "192.0.2.21")]
    assert m.plan_service(s, [d1, d3], s, [d1], False) == []
    assert m.plan_service(s, [d1], s, None, True) == []


def test_simulate_matches_plan():
    s = svc()
    d1 = dest(s, address="192.0.2.21")
    table = [(s, [d1])]
    other = svc(port=443)
    actions = m.plan_table(table, [(other, [d1])], purge=True)
    after = m.simulate(table, actions)
    assert [m.service_key(x) for x, _dests in after] == [m.service_key(other)]
    assert m.plan_table(after, [(other, [d1])], purge=True) == []


def test_rules_render_like_ipvsadm_save_in_ipvsadm_order():
    web = svc(persistence=60, netmask="255.255.255.0")
    dns = m.normalize_service(dict(protocol="udp", address="192.0.2.100", port=53, scheduler="rr", one_packet=True))
    v6 = m.normalize_service(dict(address="2001:db8::100", port=443, persistence=30, netmask=64))
    mark = m.normalize_service(dict(fwmark=7, scheduler="mh", sched_flags=["mh-fallback"]))
    low = svc(address="10.0.0.1")
    table = [
        (mark, []),
        (v6, [dest(v6, address="2001:db8::21", weight=3)]),
        (web, [dest(web, address="192.0.2.22", weight=2, upper_threshold=9),
               dest(web, address="192.0.2.21", forward="tun", tun_type="gue", tun_port=6080)]),
        (dns, [dest(dns, address="192.0.2.21", port=5353, forward="masq")]),
        (low, []),
    ]
    assert m.format_rules(table) == (
        # 192.0.2.100 - 10.0.0.1 overflows a C int in libipvs' comparison.
        "-A -t 192.0.2.100:80 -s wlc -p 60 -M 255.255.255.0\n"
        "-a -t 192.0.2.100:80 -r 192.0.2.21:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum\n"
        "-a -t 192.0.2.100:80 -r 192.0.2.22:80 -g -w 2 -x 9\n"
        "-A -t 10.0.0.1:80 -s wlc\n"
        "-A -u 192.0.2.100:53 -s rr -o\n"
        "-a -u 192.0.2.100:53 -r 192.0.2.21:5353 -m -w 1\n"
        "-A -t [2001:db8::100]:443 -s wlc -p 30 -M 64\n"
        "-a -t [2001:db8::100]:443 -r [2001:db8::21]:443 -g -w 3\n"
        "-A -f 7 -s mh -b mh-fallback\n"
    )


def test_duplicates_are_rejected():
    s = svc()
    with pytest.raises(m.IPVSValidationError, match="destinations: .* listed twice"):
        m.check_unique([dest(s, address="192.0.2.21"), dest(s, address="192.0.2.21")], m.dest_key, "destinations")


def test_parse_conn_table():
    text = ("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
            "TCP C000020A 9C40 C0000264 0050 C0000215 0050 ESTABLISHED     899\n"
            "TCP 2001:0db8:0000:0000:0000:0000:0000:000a 9C40 2001:0db8:0000:0000:0000:0000:0000:0064 01BB "
            "2001:0db8:0000:0000:0000:0000:0000:0021 01BB TIME_WAIT        50\n")
    conns = m.parse_conn_table(text)
    assert conns[0] == {"protocol": "tcp", "client": "192.0.2.10:40000", "virtual": "192.0.2.100:80",
                        "destination": "192.0.2.21:80", "state": "ESTABLISHED", "expires": 899}
    assert conns[1]["virtual"] == "[2001:db8::64]:443" and conns[1]["state"] == "TIME_WAIT"
