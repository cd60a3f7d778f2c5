"""LVS-TUN MSS: the cluster model's computed MSS, source_advmss's validation and table copy, its boot replay."""
import json

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import persist, routing
from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import (
    ClusterModelError, cluster_model, tun_mss,
)
from ansible_collections.lvs.cluster.plugins.module_utils.host import advmss


def tun_cluster(**tun):
    cluster = {
        "mode": "tun",
        "services": [
            {"vip": "192.0.2.100", "port": 80, "realservers": [
                {"host": "rs1", "address": "192.0.2.21"},
                {"host": "rs2", "address": "192.0.2.22", "tun_type": "gue", "tun_port": 6080}]},
            {"vip": "192.0.2.100", "port": 443, "realservers": [
                {"host": "rs1", "address": "192.0.2.21", "tun_type": "gre", "tun_flags": ["csum"]}]},
            {"vip": "192.0.2.101", "port": 53, "protocol": "udp", "realservers": [
                {"host": "rs1", "address": "192.0.2.21"}]},
            {"vip": "192.0.2.102", "port": 80, "mode": "dr", "realservers": [
                {"host": "rs1", "address": "192.0.2.21"}]},
        ],
    }
    if tun:
        cluster["tun"] = tun
    return cluster


@pytest.mark.parametrize("tun_type,flags,rs_family,vip_family,expected", [
    ("ipip", (), 4, 4, 1440),     # 1500 - 20 outer - 20 IP - 20 TCP (kube-router #630: 1440 works, 1441 fails)
    (None, (), 4, 4, 1440),       # IPVS's default tunnel is ipip
    ("gue", (), 4, 4, 1428),      # + UDP 8 + GUE 4
    ("gue", ("remcsum",), 4, 4, 1420),
    ("gre", (), 4, 4, 1436),
    ("gre", ("csum",), 4, 4, 1432),
    ("ipip", (), 6, 6, 1400),     # outer and inner IPv6 headers are 40
    ("ipip", (), 6, 4, 1420),
])
def test_mss_is_the_path_mtu_less_every_header(tun_type, flags, rs_family, vip_family, expected):
    assert tun_mss(1500, rs_family, vip_family, tun_type, flags) == expected


def test_model_gives_each_real_server_the_smallest_mss_per_tun_tcp_vip():
    model = cluster_model(tun_cluster())
    assert model["tun"] == {"path_mtu": 1500, "clamp_mss": True}
    # rs1: ipip on :80 (1440) and gre with csum on :443 (1432): one MSS per VIP, the smallest;
    # the UDP service and the DR VIP get none
    assert model["realservers"]["rs1"]["tun_mss"] == [{"address": "192.0.2.100", "mss": 1432}]
    assert model["realservers"]["rs2"]["tun_mss"] == [{"address": "192.0.2.100", "mss": 1428}]


def test_model_path_mtu_override_and_off():
    assert cluster_model(tun_cluster(path_mtu=9000))["realservers"]["rs2"]["tun_mss"][0]["mss"] == 8928
    assert cluster_model(tun_cluster(mss=1300))["realservers"]["rs1"]["tun_mss"] == [
        {"address": "192.0.2.100", "mss": 1300}]
    model = cluster_model(tun_cluster(clamp_mss=False))
    assert model["realservers"]["rs1"]["tun_mss"] == [] and model["realservers"]["rs2"]["tun_mss"] == []


@pytest.mark.parametrize("tun,field", [
    ({"path_mtu": 500}, "lvs_cluster.tun.path_mtu"),
    ({"mss": 40}, "lvs_cluster.tun.mss"),
    ({"mtu": 1500}, "lvs_cluster.tun.mtu"),
    ({"clamp_mss": "maybe"}, "lvs_cluster.tun.clamp_mss"),
])
def test_model_tun_errors_name_the_field(tun, field):
    with pytest.raises(ClusterModelError) as err:
        cluster_model(tun_cluster(**tun))
    assert str(err.value).startswith(field + ":"), str(err.value)


def params(**kw):
    p = dict(sources=[{"address": "192.0.2.100", "mss": 1440}], table_id=101, priority=1010, state="present")
    p.update(kw)
    return p


@pytest.mark.parametrize("kw,field", [
    (dict(sources=[]), "sources"),
    (dict(sources=[{"address": "nope", "mss": 1440}]), "sources[0].address"),
    (dict(sources=[{"address": "0.0.0.0", "mss": 1440}]), "sources[0].address"),
    (dict(sources=[{"address": "192.0.2.100", "mss": 40}]), "sources[0].mss"),
    (dict(sources=[{"address": "192.0.2.100", "mss": 1440}, {"address": "192.0.2.100", "mss": 1400}]),
     "sources[1].address"),
    (dict(table_id=254), "table_id"),
    (dict(table_id=100), "table_id"),   # named in rt_tables: someone else's
    (dict(table_id=True), "table_id"),
    (dict(priority=32766), "priority"),
])
def test_advmss_validation_names_the_field(kw, field):
    with pytest.raises(routing.ValidationError) as err:
        advmss.validate(params(**kw), [(100, "lvs_nat", "/etc/iproute2/rt_tables.d/lvs_nat.conf")])
    assert str(err.value).startswith(field + ":"), str(err.value)


def test_advmss_request_one_mss_per_family_and_absent():
    req = advmss.validate(params(sources=[{"address": "192.0.2.100", "mss": 1440},
                                          {"address": "192.0.2.101", "mss": 1428},
                                          {"address": "2001:db8::100", "mss": 1400}]), [])
    assert req["mss"] == {4: 1428, 6: 1400}
    assert [routing.rule_text(r) for r in req["rules"]] == [
        "1010: from 192.0.2.100/32", "1010: from 192.0.2.101/32", "1010: from 2001:db8::100/128"]
    gone = advmss.validate(params(state="absent", sources=[]), [])
    assert gone["rules"] == [] and gone["mss"] == {} and advmss.state_data(gone) is None


MAIN = [
    {"dest": "192.0.2.0/24", "gateway": None, "dev": "eth0", "metric": 0, "family": 4, "scope": 253, "type": 1},
    {"dest": "default", "gateway": "192.0.2.1", "dev": "eth0", "metric": 100, "family": 4, "scope": 0, "type": 1},
    {"dest": "198.51.100.0/24", "gateway": None, "dev": None, "metric": 0, "family": 4, "scope": 0, "type": 1},
    {"dest": "203.0.113.0/24", "gateway": None, "dev": None, "metric": 0, "family": 4, "scope": 0, "type": 6},
]


def test_mirror_copies_unicast_main_routes_with_advmss():
    table = advmss.mirror(MAIN, {4: 1440})
    assert [advmss.route_text(r) for r in table] == [
        "192.0.2.0/24 dev eth0 scope link advmss 1440",
        "default via 192.0.2.1 dev eth0 metric 100 advmss 1440"]  # multipath and prohibit are not copied
    assert advmss.mirror(MAIN, {6: 1400}) == []


def test_route_steps_only_what_differs():
    want = advmss.mirror(MAIN, {4: 1440})
    assert advmss.route_steps(None, 101, want, want) == []
    stale = [dict(want[0], advmss=1460), {"dest": "10.0.0.0/8", "gateway": "192.0.2.1", "dev": "eth0",
                                          "metric": 0, "family": 4, "scope": 0, "advmss": 1440}]
    texts = [s.text for s in advmss.route_steps(None, 101, want, stale)]
    assert texts == ["del route 10.0.0.0/8 via 192.0.2.1 dev eth0 advmss 1440 table 101",
                     "replace route 192.0.2.0/24 dev eth0 scope link advmss 1440 table 101",
                     "replace route default via 192.0.2.1 dev eth0 metric 100 advmss 1440 table 101"]


def boot_script():
    ns = {"__name__": "lvs_cluster_net"}
    exec(compile(persist.BOOT_SCRIPT, "lvs-cluster-net", "exec"), ns)
    return ns


def test_boot_replay_copies_the_main_table_with_advmss():
    req = advmss.validate(params(), [])
    state = json.loads(persist.render_state("source_advmss", "101", advmss.state_data(req)))
    main = {4: [{"dst": "192.0.2.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link",
                 "prefsrc": "192.0.2.21", "flags": []},
                {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0", "flags": []},
                {"dst": "203.0.113.0/24", "type": "unreachable", "flags": []}]}
    cmds = [" ".join(a) for a, _t, _c in boot_script()["commands"](state, lambda family: main.get(family, []))]
    assert cmds == [
        "ip -4 route replace 192.0.2.0/24 dev eth0 scope link advmss 1440 proto static table 101",
        "ip -4 route replace default via 192.0.2.1 dev eth0 advmss 1440 proto static table 101",
        "ip -4 rule del from 192.0.2.100/32 priority 1010 table 101",
        "ip -4 rule add from 192.0.2.100/32 priority 1010 table 101",
    ]
    assert boot_script()["ORDER"]["source_advmss"] > boot_script()["ORDER"]["vip"]
