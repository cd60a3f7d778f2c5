"""TUN real servers that decapsulate IPIP, GUE and GRE: what the cluster model derives per real server
(VIPs on tunl0 / gre0, GUE ports), its tunnel rules, the director side (keepalived's lvs_method,
ipvs_table's flags), and the gue_port module's model and boot replay."""
import json

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import fou_netlink, persist
from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import ClusterModelError, cluster_model
from ansible_collections.lvs.cluster.plugins.module_utils.keepalived_conf import keepalived_conf
from ansible_collections.lvs.cluster.plugins.module_utils.host import boot_replay, gue


def cluster(*extra_rs):
    return {
        "mode": "tun",
        "services": [
            {"vip": "192.0.2.100", "port": 80, "realservers": [
                {"host": "rs1", "address": "192.0.2.21"},
                {"host": "rs2", "address": "192.0.2.22", "tun_type": "ipip"}]},
            {"vip": "192.0.2.100", "port": 8080, "realservers": [
                {"host": "rs1", "address": "192.0.2.21", "tun_type": "gue", "tun_port": 6080},
                {"host": "rs2", "address": "192.0.2.22", "tun_type": "gue", "tun_port": 6081,
                 "tun_flags": ["remcsum"]}]},
            {"vip": "192.0.2.101", "port": 8081, "realservers": [
                {"host": "rs1", "address": "192.0.2.21", "tun_type": "gre", "tun_flags": ["csum"]}]
                + list(extra_rs)},
            {"fwmark": 7, "realservers": [
                {"host": "rs2", "address": "192.0.2.22", "tun_type": "gue", "tun_port": 6080}]},
            {"vip": "192.0.2.102", "port": 80, "mode": "dr", "realservers": [
                {"host": "rs1", "address": "192.0.2.21"}]},
        ],
    }


def test_each_real_server_gets_its_tunnel_devices_vips_and_gue_ports():
    rs = cluster_model(cluster())["realservers"]
    # IPIP and GUE end on tunl0 (the fou port hands the inner IPIP packet on), GRE on gre0
    assert rs["rs1"]["tunnels"] == {"tunl0": ["192.0.2.100"], "gre0": ["192.0.2.101"], "gue_ports": [6080]}
    # a fwmark service has no VIP to carry, but its GUE port is opened
    assert rs["rs2"]["tunnels"] == {"tunl0": ["192.0.2.100"], "gre0": [], "gue_ports": [6081, 6080]}
    assert rs["rs1"]["vips"]["tun"] == ["192.0.2.100", "192.0.2.101"]  # every TUN VIP, as before


def test_a_dr_only_real_server_has_no_tunnels():
    c = cluster()
    c["services"][4]["realservers"].append({"host": "rs3", "address": "192.0.2.23"})
    assert cluster_model(c)["realservers"]["rs3"]["tunnels"] == {"tunl0": [], "gre0": [], "gue_ports": []}


@pytest.mark.parametrize("rs,field,words", [
    ({"tun_type": "gue"}, "tun_port", "is required with tun_type gue"),
    ({"tun_type": "gre", "tun_port": 6080}, "tun_port", "only a gue tunnel has a port"),
    ({"tun_port": 6080}, "tun_port", "not ipip"),
    ({"tun_flags": ["csum"]}, "tun_flags", "not ipip"),
    ({"tun_type": "gre", "tun_flags": ["remcsum"]}, "tun_flags", "remcsum is for gue"),
    ({"tun_type": "gre", "tun_flags": ["csum", "nocsum"]}, "tun_flags", "not several"),
    ({"tun_type": "gre", "tun_flags": ["fast"]}, "tun_flags", "must be one of"),
])
def test_tunnel_rules_name_the_field(rs, field, words):
    entry = dict({"host": "rs3", "address": "192.0.2.23"}, **rs)
    with pytest.raises(ClusterModelError) as err:
        cluster_model(cluster(entry))
    assert "lvs_cluster.services[2].realservers[1].%s" % field in str(err.value)
    assert words in str(err.value)


def test_directors_get_the_tunnel_of_each_real_server():
    model = cluster_model(cluster())
    dests = [d for svc in model["director"]["ipvs_services"] for d in svc["destinations"]]
    assert {"address": "192.0.2.22", "forward": "tunnel", "weight": 1, "port": 8080, "tun_type": "gue",
            "tun_port": 6081, "tun_flags": "remcsum"} in dests
    assert {"address": "192.0.2.21", "forward": "tunnel", "weight": 1, "port": 8081, "tun_type": "gre",
            "tun_flags": "csum"} in dests
    # the keepalived role renders lvs_cluster.services as given (keepalived_virtual_servers)
    text = keepalived_conf(virtual_servers=cluster()["services"], lvs_mode="tun", host="dir1")
    assert "        lvs_method TUN type gue port 6080\n" in text
    assert "        lvs_method TUN type gue port 6081 remcsum\n" in text
    assert "        lvs_method TUN type gre csum\n" in text
    assert "        lvs_method TUN type ipip\n" in text  # given: written; not given: the service's lb_kind TUN
    assert text.count("lvs_method") == 5


# ---------------------------------------------------------------- gue_port (module_utils/host/gue.py)


def gue_req(**kw):
    params = dict(port=[6080], state="present", exclusive=False)
    params.update(kw)
    return gue.validate(params)


def kport(port, family=4, kind="gue", bound=()):
    return {"port": port, "family": family, "type": kind, "bound": list(bound)}


@pytest.mark.parametrize("kw,field,words", [
    (dict(port=[]), "port", "at least one"),
    (dict(port=[6080, "6080"]), "port[1]", "listed twice"),
    (dict(port=[0]), "port[0]", "1..65535"),
    (dict(port=[6080, 70000]), "port[1]", "1..65535"),
    (dict(port=["http"]), "port[0]", "not a port number"),
    (dict(port=[True]), "port[0]", "not a port number"),
    (dict(exclusive=True, state="absent"), "exclusive", "present"),
])
def test_gue_port_validation_names_the_field(kw, field, words):
    with pytest.raises(gue.ValidationError) as err:
        gue_req(**kw)
    assert str(err.value).startswith(field + ":") and words in str(err.value), str(err.value)


@pytest.mark.parametrize("other", [kport(6080, kind="direct"), kport(6080, family=6),
                                   kport(6080, bound=["local"])])
def test_gue_port_refuses_a_port_that_is_another_kind_of_fou_port(other):
    with pytest.raises(gue.ValidationError) as err:
        gue.check_kernel(gue_req(port=[5555, 6080]), [other])
    assert str(err.value).startswith("port[1]: UDP port 6080 is already a FOU port of another kind")
    gue.check_kernel(gue_req(port=[6080], state="absent"), [other])  # absent: nothing to refuse


def test_gue_port_plan():
    # new port: added and managed
    pl = gue.plan(gue_req(port=[6080]), [kport(7000, kind="direct")], {})
    assert (pl["add"], pl["delete"], pl["data"], pl["after"]) == ([6080], [], {"family": 4, "ports": [6080]}, [6080])
    # already open and managed: nothing to do
    pl = gue.plan(gue_req(port=[6080]), [kport(6080)], {"ports": [6080]})
    assert not pl["kernel_change"] and pl["data"] == {"family": 4, "ports": [6080]}
    # not exclusive: the ports managed before stay; exclusive: the ones not listed are closed
    assert gue.plan(gue_req(port=[6081]), [kport(6080)], {"ports": [6080]})["managed"] == [6080, 6081]
    pl = gue.plan(gue_req(port=[6081], exclusive=True), [kport(6080), kport(5000)], {"ports": [6080]})
    assert (pl["add"], pl["delete"], pl["managed"], pl["after"]) == ([6081], [6080], [6081], [5000, 6081])
    # absent: closed, forgotten; the last one leaves no state file
    pl = gue.plan(gue_req(state="absent"), [kport(6080)], {"ports": [6080]})
    assert (pl["delete"], pl["data"], pl["after"]) == ([6080], None, [])
    assert not gue.plan(gue_req(state="absent"), [], {})["kernel_change"]


def test_fou_messages_follow_the_kernel_uapi():
    # FOU_ATTR_PORT be16 6080 (0x17c0), FOU_ATTR_AF u8 AF_INET, FOU_ATTR_TYPE u8 FOU_ENCAP_GUE (2)
    expected = (b"\x06\x00\x01\x00\x17\xc0\x00\x00"
                b"\x05\x00\x02\x00\x02\x00\x00\x00"
                b"\x05\x00\x04\x00\x02\x00\x00\x00")
    assert fou_netlink.port_attrs(6080) == expected
    assert fou_netlink.parse_port({1: b"\x17\xc0", 2: b"\x02", 4: b"\x02"}) == kport(6080)
    # as the kernel dumps a port of `ip fou add port 6080 gue`: the unset bindings as zeros
    assert fou_netlink.parse_port({1: b"\x17\xc0", 2: b"\x02", 3: b"\x00", 4: b"\x02", 6: b"\0" * 4, 8: b"\0" * 4,
                                   10: b"\0\0", 11: b"\0" * 4}) == kport(6080)
    assert fou_netlink.parse_port({1: b"\x00\x35", 2: b"\x0a", 3: b"\x04", 4: b"\x01", 6: b"\xc0\x00\x02\x15"}) == \
        {"port": 53, "family": 6, "type": "direct", "bound": ["local"]}


def test_boot_replay_opens_the_gue_ports_and_loads_ip_gre():
    state = persist.render_state("gue_port", gue.STATE_NAME, {"family": 4, "ports": [6080, 6081]})
    steps = boot_replay.commands(json.loads(state))
    assert [(" ".join(a), tol) for a, tol, _c in steps] == [
        ("modprobe fou", True),
        ("ip fou del port 6080", True), ("ip fou add port 6080 gue", False),
        ("ip fou del port 6081", True), ("ip fou add port 6081 gue", False)]
    assert steps[0][2] == ("missing", "/sys/module/fou")
    vip = {"kind": "vip", "interface": "gre0", "type": "gre",
           "addresses": [{"address": "192.0.2.100/32", "family": 4}]}
    steps = boot_replay.commands(vip)
    assert [" ".join(a) for a, _t, _c in steps] == [
        "modprobe ip_gre", "ip link set gre0 up", "ip -4 addr replace 192.0.2.100/32 dev gre0"]
    assert steps[0][2] == ("missing", "/sys/class/net/gre0")
    assert persist.state_path("gue_port", gue.STATE_NAME) == "/etc/lvs-cluster/gue_port-ipv4.json"
