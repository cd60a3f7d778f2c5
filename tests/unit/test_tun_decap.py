"""TUN real servers that decapsulate IPIP, GUE and GRE: what the cluster model derives per real server
(VIPs on tunl0 / gre0, GUE ports), its tunnel rules, the director side (keepalived's lvs_method,
ipvs_table's flags), and the gue_port module's model and boot replay."""
import pytest

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import ClusterModelError, cluster_model
from ansible_collections.lvs.cluster.plugins.module_utils.keepalived_conf import keepalived_conf
from ansible_collections.lvs.cluster.plugins.module_utils.host import boot_replay


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
