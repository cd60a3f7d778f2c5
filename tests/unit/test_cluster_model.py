"""plugins/module_utils/cluster_model.py: the schema of lvs_cluster, its cross-field rules and canonical form.

Each malformed description must be refused with an error that starts with the
path of the faulty field; each valid one must come out with every default
resolved.
"""
import copy
import os

import pytest
import yaml

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import (
    ClusterModelError, check_directors, cluster_model, ipvs_services,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def base():
    """A valid DR cluster with one VRRP instance and two services."""
    return {
        "mode": "dr",
        "vrrp": {
            "instances": [{"name": "VI_WEB", "interface": "eth0", "virtual_router_id": 51,
                           "authentication": {"type": "PASS", "pass": "lab-only"},
                           "vips": ["192.0.2.100/32", "192.0.2.101/32"]}],
            "sync_daemon": {"interface": "eth0", "instance": "VI_WEB"},
        },
        "services": [
            {"name": "web", "vip": "192.0.2.100", "port": 80, "scheduler": "rr",
             "check": {"type": "HTTP_GET", "path": "/", "status_code": 200},
             "realservers": [{"host": "rs1", "address": "192.0.2.21", "port": 80, "weight": 100},
                             {"host": "rs2", "address": "192.0.2.22", "port": 80}]},
            {"name": "api", "vip": "192.0.2.101", "port": 8080, "mode": "nat",
             "realservers": [{"host": "rs1", "address": "192.0.2.21", "port": 9000}]},
        ],
    }


def svc(i=0):
    return lambda c: c["services"][i]


def rs(i=0, j=0):
    return lambda c: c["services"][i]["realservers"][j]


def inst(i=0):
    return lambda c: c["vrrp"]["instances"][i]


def setkey(where, key, value):
    def change(c):
        where(c)[key] = value
    return change


def delkey(where, key):
    def change(c):
        del where(c)[key]
    return change


def replace(key, value):
    def change(c):
        c[key] = value
    return change


def add_instance(**kw):
    def change(c):
        new = {"name": "VI_2", "interface": "eth0", "virtual_router_id": 52, "vips": ["192.0.2.102/32"]}
        new.update(kw)
        c["vrrp"]["instances"].append(new)
    return change


def add_rs(i, entry):
    def change(c):
        c["services"][i]["realservers"].append(entry)
    return change


def add_service(entry):
    def change(c):
        c["services"].append(entry)
    return change


S = "lvs_cluster.services"
I = "lvs_cluster.vrrp.instances"

# (id, change of base(), field path, fragment of the reason)
MALFORMED = [
    # ---------------------------------------------------------------- types and shapes
    ("cluster-not-dict", lambda c: c.clear() or c.update({"services": None}) or None, None, None),
    ("services-dict", replace("services", {"web": {"vip": "192.0.2.100"}}), S, "must be a list, not a dict"),
    ("services-string", replace("services", "web"), S, "must be a list, not a string"),
    ("service-string", replace("services", ["192.0.2.100:80"]), S + "[0]", "must be a dict, not a string"),
    ("vrrp-list", replace("vrrp", []), "lvs_cluster.vrrp", "must be a dict, not a list"),
    ("instances-dict", lambda c: c["vrrp"].update(instances={"name": "x"}), I, "must be a list"),
    ("realservers-dict", setkey(svc(), "realservers", {"rs1": "192.0.2.21"}), S + "[0].realservers",
     "must be a list"),
    ("realserver-string", setkey(svc(), "realservers", ["192.0.2.21"]), S + "[0].realservers[0]",
     "must be a dict, not a string"),
    ("check-list", setkey(svc(), "check", ["TCP_CHECK"]), S + "[0].check", "must be a dict, not a list"),
    # ---------------------------------------------------------------- unknown and misspelt keys
    ("schedular", setkey(svc(), "schedular", "rr"), S + "[0].schedular", "did you mean 'scheduler'?"),
    ("persistance", setkey(svc(), "persistance", 300), S + "[0].persistance", "did you mean 'persistence'?"),
    ("wieght", setkey(rs(), "wieght", 5), S + "[0].realservers[0].wieght", "did you mean 'weight'?"),
    ("adress", lambda c: c["services"][0]["realservers"].append({"adress": "192.0.2.23"}),
     S + "[0].realservers[2].adress", "did you mean 'address'?"),
    ("protocl", setkey(svc(), "protocl", "tcp"), S + "[0].protocl", "did you mean 'protocol'?"),
    ("mod", replace("mdoe", "nat"), "lvs_cluster.mdoe", "did you mean 'mode'?"),
    ("realserver-key", setkey(svc(), "realserver", []), S + "[0].realserver", "did you mean 'realservers'?"),
    ("virtual_router", setkey(inst(), "virtual_router", 5), I + "[0].virtual_router",
     "did you mean 'virtual_router_id'?"),
    ("interfce", setkey(inst(), "interfce", "eth0"), I + "[0].interfce", "did you mean 'interface'?"),
    ("check-conect_port", lambda c: c["services"][0]["check"].update(conect_port=80),
     S + "[0].check.conect_port", "did you mean 'connect_port'?"),
    ("unknown-no-hint", setkey(svc(), "zzzzzz", 1), S + "[0].zzzzzz", "valid keys:"),
    ("alias-and-name", setkey(svc(), "lb_algo", "wrr"), S + "[0].lb_algo", "given twice"),
    ("smtp_alter", lambda c: c["vrrp"].update(sync_groups=[{"name": "G", "group": ["VI_WEB"], "smtp_alter": True}]),
     "lvs_cluster.vrrp.sync_groups[0].smtp_alter", "did you mean 'smtp_alert'?"),  # seed 001's typo
    # ---------------------------------------------------------------- legacy keepalived recipes
    ("nb_get_retry", lambda c: c["services"][0]["check"].update(nb_get_retry=3),
     S + "[0].check.nb_get_retry", "use retry"),
    ("nb_get_retry-rs", setkey(rs(), "check", {"type": "TCP_CHECK", "nb_get_retry": 3}),
     S + "[0].realservers[0].check.nb_get_retry", "use retry"),
    # ---------------------------------------------------------------- required keys
    ("rs-no-address", delkey(rs(0, 1), "address"), S + "[0].realservers[1].address", "is required"),
    ("instance-no-name", delkey(inst(), "name"), I + "[0].name", "is required"),
    ("instance-no-interface", delkey(inst(), "interface"), I + "[0].interface", "is required"),
    ("instance-no-vrid", delkey(inst(), "virtual_router_id"), I + "[0].virtual_router_id", "is required"),
    ("service-no-vip", delkey(svc(), "vip"), S + "[0].vip", "is required (or fwmark, or group)"),
    ("service-no-port", delkey(svc(), "port"), S + "[0].port", "is required with vip"),
    ("auth-no-pass", setkey(inst(), "authentication", {"type": "PASS"}), I + "[0].authentication.pass",
     "is required"),
    ("sync-daemon-no-interface", lambda c: c["vrrp"]["sync_daemon"].pop("interface"),
     "lvs_cluster.vrrp.sync_daemon.interface", "is required"),
    # ---------------------------------------------------------------- choices and ranges
    ("mode-bad", replace("mode", "direct"), "lvs_cluster.mode", "must be nat, dr or tun"),
    ("service-mode-bad", setkey(svc(), "mode", "masq"), S + "[0].mode", "must be nat, dr or tun"),
    ("protocol-bad", setkey(svc(), "protocol", "icmp"), S + "[0].protocol", "must be one of tcp, udp, sctp"),
    ("check-type-bad", lambda c: c["services"][0]["check"].update(type="HTTP_GETT"), S + "[0].check.type",
     "did you mean 'HTTP_GET'?"),
    ("vrid-0", setkey(inst(), "virtual_router_id", 0), I + "[0].virtual_router_id", "between 1 and 255"),
    ("vrid-256", setkey(inst(), "virtual_router_id", 256), I + "[0].virtual_router_id", "between 1 and 255"),
    ("vrid-text", setkey(inst(), "virtual_router_id", "51\nnotify_master /bin/sh"), I + "[0].virtual_router_id",
     "must be a number"),
    ("vrid-bool", setkey(inst(), "virtual_router_id", True), I + "[0].virtual_router_id", "must be a number"),
    ("port-big", setkey(svc(), "port", 70000), S + "[0].port", "between 0 and 65535"),
    ("port-text", setkey(svc(), "port", "http"), S + "[0].port", "must be a number"),
    ("weight-negative", setkey(rs(), "weight", -1), S + "[0].realservers[0].weight", "between 0 and 65535"),
    ("weight-float", setkey(rs(), "weight", 1.5), S + "[0].realservers[0].weight", "whole number"),
    ("weight-newline", setkey(rs(), "weight", "1\n}\nvrrp_script x {"), S + "[0].realservers[0].weight",
     "must be a number"),
    ("persistence-negative", setkey(svc(), "persistence", -5), S + "[0].persistence", "between 0"),
    ("priority-300", setkey(inst(), "priority", 300), I + "[0].priority", "between 1 and 255"),
    ("version-4", setkey(inst(), "version", 4), I + "[0].version", "must be one of 2, 3"),
    ("bool-text", setkey(svc(), "alpha", "maybe"), S + "[0].alpha", "must be true or false"),
    ("fwmark-0", lambda c: c["services"].append({"fwmark": 0, "realservers": []}), S + "[2].fwmark",
     "between 1 and"),
    # ---------------------------------------------------------------- addresses
    ("vip-not-ip", setkey(svc(), "vip", "web.example.org"), S + "[0].vip", "is not an IP address"),
    ("vip-extra-words", setkey(inst(), "vips", ["192.0.2.100/32 dev eth1 label eth1:x"]), I + "[0].vips[0]",
     "address[/prefix] only"),
    ("vip-prefix-33", setkey(inst(), "vips", ["192.0.2.100/33"]), I + "[0].vips[0]", "between 0 and 32"),
    ("vip-dict-bad-dev", setkey(inst(), "vips", [{"address": "192.0.2.100/32", "dev": "eth0 label x"}]),
     I + "[0].vips[0].dev", "not a valid interface name"),
    ("vip-dict-long-label", setkey(inst(), "vips", [{"address": "192.0.2.100/32", "label": "eth0:" + "x" * 20}]),
     I + "[0].vips[0].label", "is not an address label"),
    ("rs-address-bad", setkey(rs(), "address", "192.0.2.300"), S + "[0].realservers[0].address",
     "is not an IP address"),
    ("rs-address-hostname", setkey(rs(), "address", "rs1"), S + "[0].realservers[0].address", "is not an IP"),
    ("unicast-peer-bad", setkey(inst(), "unicast_peers", ["192.0.2.12", "dir2"]), I + "[0].unicast_peers[1]",
     "is not an IP address"),
    ("nat-gateway-bad", replace("nat_gateway", "gw"), "lvs_cluster.nat_gateway", "is not an IP address"),
    # ---------------------------------------------------------------- cross-field rules
    ("duplicate-rs", add_rs(0, {"address": "192.0.2.21", "port": 80}), S + "[0].realservers[2]",
     "duplicate real server 192.0.2.21 port 80 (also realservers[0])"),
    ("duplicate-rs-default-port", add_rs(0, {"address": "192.0.2.22"}), S + "[0].realservers[2]",
     "duplicate real server 192.0.2.22 port 80"),
    ("dr-port-change", setkey(rs(0, 0), "port", 8080), S + "[0].realservers[0].port",
     "a DR real server keeps the service's port 80, not 8080"),
    ("tun-port-change", lambda c: c["services"][0].update(mode="tun") or c["services"][0]["realservers"][1]
     .update(port=81), S + "[0].realservers[1].port", "a TUN real server keeps the service's port 80, not 81"),
    ("vip-on-no-instance", add_service({"vip": "192.0.2.150", "port": 80, "realservers": []}), S + "[2].vip",
     "192.0.2.150 is on no VRRP instance"),
    ("duplicate-vrid", add_instance(virtual_router_id=51), I + "[1].virtual_router_id",
     "VRID 51 is already used on eth0"),
    ("duplicate-instance-name", add_instance(name="VI_WEB", interface="eth1"), I + "[1].name",
     "duplicate instance name VI_WEB"),
    ("auth-pass-9", setkey(inst(), "authentication", {"pass": "123456789"}), I + "[0].authentication.pass",
     "only the first 8"),
    ("auth-with-v3", setkey(inst(), "version", 3), I + "[0].authentication", "version 3 has no authentication"),
    ("subsecond-v2", setkey(inst(), "advert_int", 0.5), I + "[0].advert_int", "need version: 3"),
    ("nat-ipv6-rs-ipv4-vip", setkey(rs(1, 0), "address", "2001:db8::21"), S + "[1].realservers[0].address",
     "forwards across address families only with tun"),
    ("dr-ipv6-rs", setkey(rs(0, 1), "address", "2001:db8::22"), S + "[0].realservers[1].address",
     "not dr"),
    # ---------------------------------------------------------------- IPv6 instances (keepalived #1354)
    ("ipv6-first-vip-global", add_instance(interface="eth1", version=3, vips=["2001:db8::100/128"]),
     I + "[1].vips[0]", "the first VIP of an IPv6 instance must be link-local (fe80::/10), not 2001:db8::100"),
    ("ipv6-without-version", add_instance(interface="eth1", vips=["fe80::34:1/64", "2001:db8::100/128"]),
     I + "[1].version", "an IPv6 instance runs VRRP version 3"),
    ("ipv6-version-2", add_instance(interface="eth1", version=2, vips=["fe80::34:1/64"]),
     I + "[1].version", "set version: 3, not 2"),
    ("ipv6-mixed-families", add_instance(interface="eth1", version=3, vips=["fe80::34:1/64", "192.0.2.150/32"]),
     I + "[1].vips[1]", "192.0.2.150 is IPv4 but the instance's first VIP fe80::34:1 is IPv6"),
    ("ipv4-then-ipv6", lambda c: c["vrrp"]["instances"][0]["vips"].append({"address": "fe80::1/64"}),
     I + "[0].vips[2]", "keepalived runs an instance in one address family"),
    ("ipv6-unicast-peer-ipv4", add_instance(interface="eth1", version=3, vips=["fe80::34:1/64"],
                                            unicast_peers=["192.0.2.12"]),
     I + "[1].unicast_peers[0]", "192.0.2.12 is not IPv6"),
    ("ipv6-unicast-src-ipv4", add_instance(interface="eth1", version=3, vips=["fe80::34:1/64"],
                                           unicast_src_ip="192.0.2.11"),
     I + "[1].unicast_src_ip", "192.0.2.11 is not IPv6"),
    ("fwmark-and-vip", setkey(svc(), "fwmark", 1), S + "[0].fwmark", "either fwmark or vip"),
    ("fwmark-with-port", add_service({"fwmark": 3, "port": 80, "realservers": []}), S + "[2].port",
     "a fwmark service has no port"),
    ("group-and-vip", setkey(svc(), "group", "VSG"), S + "[0].group", "only one"),
    ("group-unknown", add_service({"group": "VSG", "port": 80, "realservers": []}), S + "[2].group",
     "no virtual_server_group is named VSG"),
    ("tun-flags-on-dr", setkey(rs(), "tun_type", "gue"), S + "[0].realservers[0].tun_type",
     "applies to tun services only"),
    ("duplicate-service", add_service({"vip": "192.0.2.100", "port": 80, "realservers": []}), S + "[2]",
     "duplicate service 192.0.2.100:80"),
    ("sync-group-unknown-member", lambda c: c["vrrp"].update(sync_groups=[{"name": "G", "group": ["VI_X"]}]),
     "lvs_cluster.vrrp.sync_groups[0].group[0]", "no VRRP instance is named VI_X"),
    ("sync-daemon-unknown-instance", lambda c: c["vrrp"]["sync_daemon"].update(instance="VI_X"),
     "lvs_cluster.vrrp.sync_daemon.instance", "no VRRP instance is named VI_X"),
    # ---------------------------------------------------------------- hostile values in the description
    ("name-newline", setkey(svc(), "name", "web\nnotify_master /bin/sh"), S + "[0].name", "must not contain"),
    ("name-hash", setkey(svc(), "name", "web#x"), S + "[0].name", "must not contain '#'"),
    ("instance-name-brace", setkey(inst(), "name", "VI_WEB {"), I + "[0].name", "must not contain '{'"),
    ("auth-pass-hash", setkey(inst(), "authentication", {"pass": "ab#cdefg"}), I + "[0].authentication.pass",
     "contains a character keepalived reads as configuration"),
    ("auth-pass-newline", setkey(inst(), "authentication", {"pass": "ab\nnotify_master \"/bin/sh\""}),
     I + "[0].authentication.pass", "(value not shown)"),
    ("notify-quote", setkey(inst(), "notify_master", '/bin/true" \nnotify_backup "/bin/sh'),
     I + "[0].notify_master", "must not contain"),
    ("notify-bang", setkey(inst(), "notify_master", "/bin/echo hi!"), I + "[0].notify_master",
     "must not contain '!'"),
    ("scheduler-long", setkey(svc(), "scheduler", "r" * 5000), S + "[0].scheduler", "5000 characters long"),
    ("extra-newline", setkey(svc(), "extra", ["quorum 1\nnotify_up /bin/sh"]), S + "[0].extra[0]",
     "must be one line"),
    ("extra-opens-block", setkey(svc(), "extra", ["}"]), S + "[0].extra[0]", "must not open or close a block"),
    ("host-space", setkey(rs(), "host", "rs1 rs2"), S + "[0].realservers[0].host", "must be one word"),
    ("digest-not-md5", lambda c: c["services"][0]["check"].update(digest="abc"), S + "[0].check.digest",
     "an MD5 digest"),
]


def test_at_least_60_malformed_descriptions():
    assert len([m for m in MALFORMED if m[2]]) >= 60


@pytest.mark.parametrize("change,path,reason", [m[1:] for m in MALFORMED if m[2]],
                         ids=[m[0] for m in MALFORMED if m[2]])
def test_malformed_description_names_the_field(change, path, reason):
    cluster = base()
    cluster_model(copy.deepcopy(cluster))  # the base is valid
    change(cluster)
    with pytest.raises(ClusterModelError) as e:
        cluster_model(cluster)
    assert e.value.path == path, str(e.value)
    assert str(e.value).startswith(path + ": ")
    assert reason in e.value.reason, str(e.value)


def test_cluster_must_be_a_dict():
    with pytest.raises(ClusterModelError, match=r"^lvs_cluster: must be a dict, not a list"):
        cluster_model([])


def test_two_directors_without_vrrp():
    cluster = base()
    del cluster["vrrp"]
    cluster_model(cluster, directors=["dir1"])  # one director carries the VIPs itself
    with pytest.raises(ClusterModelError) as e:
        cluster_model(cluster, directors=["dir1", "dir2"])
    assert e.value.path == "lvs_cluster.vrrp"
    assert "each of them would carry 192.0.2.100, 192.0.2.101" in e.value.reason


def test_directors_rule_on_the_translated_model():
    """lvs_director applies the rule to the fact lvs_cluster_model (check_directors), not by translating again."""
    cluster = base()
    del cluster["vrrp"]
    model = cluster_model(cluster)
    assert check_directors(model, ["dir1"]) is model
    with pytest.raises(ClusterModelError) as e:
        check_directors(model, ["dir1", "dir2"])
    assert e.value.path == "lvs_cluster.vrrp" and "dir1, dir2" in e.value.reason
    assert check_directors(cluster_model(base()), ["dir1", "dir2"])  # with VRRP: one carries them at a time


def test_model_carries_the_ipvs_table_and_the_hidden_vips():
    """The roles read these from the model instead of running a filter at each read."""
    cluster = base()
    cluster["services"].append({"name": "tunnelled", "vip": "198.51.100.7", "port": 80, "mode": "tun",
                                "realservers": [{"host": "rs1", "address": "203.0.113.4"}]})
    cluster["vrrp"]["instances"][0]["vips"].append("198.51.100.7")
    model = cluster_model(cluster)
    assert model["director"]["ipvs_services"] == ipvs_services(model)
    assert [s["destinations"][0]["forward"] for s in model["director"]["ipvs_services"]] == ["route", "masq", "tunnel"]
    rs1 = model["realservers"]["rs1"]["vips"]
    assert (rs1["dr"], rs1["tun"], rs1["dr_tun"]) == (["192.0.2.100"], ["198.51.100.7"], ["192.0.2.100", "198.51.100.7"])


def test_same_vrid_allowed_with_unicast_and_on_other_interfaces():
    cluster = base()
    cluster["vrrp"]["instances"].append({"name": "VI_2", "interface": "eth1", "virtual_router_id": 51})
    cluster["vrrp"]["instances"].append({"name": "VI_3", "interface": "eth0", "virtual_router_id": 51,
                                         "version": 3, "vips": ["fe80::51:1/64", "2001:db8::100/128"]})
    # IPv6 VRRP is another router
    cluster_model(cluster)


def test_canonical_form_resolves_every_default():
    model = cluster_model(base())
    web, api = model["services"]
    assert (web["mode"], web["forward"], web["address"], web["family"]) == ("dr", "route", "192.0.2.100", 4)
    assert (web["protocol"], web["scheduler"], web["delay_loop"]) == ("tcp", "rr", 6)
    assert web["realservers"][1]["weight"] == 1 and web["realservers"][1]["port"] == 80
    assert web["realservers"][1]["checks"] == [{"type": "HTTP_GET", "path": "/", "status_code": 200}]
    assert web["realservers"][0]["inhibit_on_failure"] is False
    assert (api["mode"], api["forward"], api["scheduler"]) == ("nat", "masq", "wlc")
    assert model["vrrp"]["instances"][0]["advert_int"] == 1
    assert model["vrrp"]["instances"][0]["addresses"] == ["192.0.2.100", "192.0.2.101"]


def test_nat_service_in_a_dr_cluster_forwards():
    """Before the model, lvs_director looked only at lvs_cluster.mode: no ip_forward here."""
    model = cluster_model(base())
    assert model["mode"] == "dr"
    assert model["director"]["ip_forward"] is True
    assert model["director"]["modes"] == ["dr", "nat"]
    only_dr = base()
    del only_dr["services"][1]
    assert cluster_model(only_dr)["director"]["ip_forward"] is False
    nat = {"mode": "nat", "services": [{"vip": "203.0.113.1", "port": 80, "realservers": []}]}
    assert cluster_model(nat)["director"]["ip_forward"] is True


def test_realserver_view_by_mode():
    model = cluster_model(base())
    rs1 = model["realservers"]["rs1"]
    assert rs1["vips"] == {"dr": ["192.0.2.100"], "tun": [], "nat": ["192.0.2.101"], "dr_tun": ["192.0.2.100"]}
    assert [s["name"] for s in rs1["services"]] == ["web", "api"]
    assert rs1["services"][1]["realserver"]["port"] == 9000
    assert model["realservers"]["rs2"]["vips"]["dr"] == ["192.0.2.100"]


def test_vip_prefix_dropped_and_aliases_resolved():
    cluster = {"services": [{"ip": "192.0.2.100/32", "port": 80, "lb_algo": "sh", "lb_kind": "NAT",
                             "persistence_timeout": 60, "real_servers": [{"ip": "192.0.2.21", "port": 8080}]}]}
    model = cluster_model(cluster)
    s = model["services"][0]
    assert (s["vip"], s["address"], s["scheduler"], s["mode"], s["persistence"]) == \
        ("192.0.2.100/32", "192.0.2.100", "sh", "nat", 60)
    assert ipvs_services(model) == [{
        "scheduler": "sh", "protocol": "tcp", "address": "192.0.2.100", "port": 80, "persistence": 60,
        "destinations": [{"address": "192.0.2.21", "forward": "masq", "weight": 1, "port": 8080}]}]


@pytest.mark.parametrize("cluster,path", [
    # IPv6 VIP over an IPv4 GUE tunnel: the kernel takes it, no role prepares the real server
    ({"mode": "tun", "services": [{"vip": "2001:db8::100", "port": 80, "realservers": [
        {"address": "192.0.2.21", "tun_type": "gue", "tun_port": 6080}]}]}, "lvs_cluster.services[0].vip"),
    ({"mode": "tun", "services": [{"vip": "2001:db8::100", "port": 80, "realservers": [
        {"address": "2001:db8::21"}]}]}, "lvs_cluster.services[0].vip"),
    ({"services": [{"vip": "2001:db8::100", "port": 80, "mode": "nat", "realservers": [
        {"address": "2001:db8::21"}]}]}, "lvs_cluster.services[0].vip"),
    # an IPv4 VIP tunnelled to an IPv6 real server (ipip in IPv6 needs ip6tnl on the real server)
    ({"mode": "tun", "services": [{"vip": "192.0.2.100", "port": 80, "realservers": [
        {"address": "192.0.2.21"}, {"address": "2001:db8::21"}]}]}, "lvs_cluster.services[0].realservers[1].address"),
    # a fwmark service has no VIP: its IPv6 real servers are refused by themselves
    ({"mode": "nat", "services": [{"fwmark": 7, "realservers": [{"address": "2001:db8::21"}]}]},
     "lvs_cluster.services[0].realservers[0].address"),
])
def test_ipv6_is_refused_outside_dr_naming_the_field(cluster, path):
    with pytest.raises(ClusterModelError) as e:
        cluster_model(cluster)
    assert e.value.path == path and "IPv6 services in DR mode only" in e.value.reason, str(e.value)


def test_ipv6_dr_and_ipv4_tun_stay_accepted():
    dr = cluster_model({"mode": "dr", "services": [{"vip": "2001:db8::100", "port": 80, "realservers": [
        {"address": "2001:db8::21"}]}]})["services"][0]
    assert dr["family"] == 6 and dr["realservers"][0]["forward"] == "route"
    tun = cluster_model({"mode": "tun", "services": [{"vip": "192.0.2.100", "port": 80, "realservers": [
        {"address": "192.0.2.21", "tun_type": "gue", "tun_port": 6080}]}]})["services"][0]
    assert ipvs_services({"services": [tun]})[0]["destinations"][0]["tun_type"] == "gue"


# ---------------------------------------------------------------- the completed model

@pytest.mark.parametrize("change,path,reason", [
    (replace("ipvs", {"timeouts": {"tcp": 0}}), "lvs_cluster.ipvs.timeouts.tcp", "between 1 and"),
    (replace("ipvs", {"timeouts": {"tpc": 900}}), "lvs_cluster.ipvs.timeouts.tpc", "did you mean 'tcp'?"),
    (replace("ipvs", {"conn_tab_bits": 21}), "lvs_cluster.ipvs.conn_tab_bits", "between 8 and 20"),
    (lambda c: c["vrrp"].update(scripts=[{"name": "chk"}]), "lvs_cluster.vrrp.scripts[0].script", "is required"),
    (lambda c: c["vrrp"].update(scripts=[{"name": "chk", "script": "/bin/true"}]) or
     c["vrrp"]["instances"][0].update(track_scripts=["chk_other"]),
     "lvs_cluster.vrrp.instances[0].track_scripts[0]", "no script in lvs_cluster.vrrp.scripts is named chk_other"),
    (lambda c: c["vrrp"].update(track_files=[{"name": "tf", "file": "/run/m"}]) or
     c["vrrp"]["instances"][0].update(track_files=["tf2"]),
     "lvs_cluster.vrrp.instances[0].track_files[0]", "no entry of lvs_cluster.vrrp.track_files is named tf2"),
    (lambda c: c["vrrp"].update(track_files=[{"name": "tf"}]), "lvs_cluster.vrrp.track_files[0].file", "is required"),
    (setkey(svc(), "check", {"type": "SMTP_CHECK", "hosts": [{"connect_port": 25}]}),
     "lvs_cluster.services[0].check.hosts[0].connect_ip", "is required"),
])
def test_completed_model_rules(change, path, reason):
    cluster = base()
    change(cluster)
    with pytest.raises(ClusterModelError) as e:
        cluster_model(cluster)
    assert e.value.path == path and reason in e.value.reason, str(e.value)


def test_ipvs_settings_and_scripts_in_the_model():
    cluster = base()
    cluster["ipvs"] = {"timeouts": {"tcp": "7200", "tcp_fin": 60, "udp": 60}, "conn_tab_bits": 20}
    cluster["vrrp"]["scripts"] = [{"name": "chk", "script": "/usr/bin/killall -0 nginx", "interval": 2}]
    cluster["vrrp"]["instances"][0]["track_scripts"] = [{"name": "chk", "weight": -20}]
    model = cluster_model(cluster)
    assert model["ipvs"] == {"timeouts": {"tcp": 7200, "tcp_fin": 60, "udp": 60}, "conn_tab_bits": 20}
    assert model["vrrp"]["scripts"][0]["interval"] == 2


@pytest.mark.parametrize("password", ["ab#cdefg", "s3cr3t PW", "pw\nnotify", "Zq9verylongpw", "x" * 5000])
def test_a_refused_password_is_not_shown(password):
    cluster = base()
    cluster["vrrp"]["instances"][0]["authentication"] = {"pass": password}
    with pytest.raises(ClusterModelError) as e:
        cluster_model(cluster)
    assert e.value.path == "lvs_cluster.vrrp.instances[0].authentication.pass"
    assert password not in str(e.value) and password[:4] not in str(e.value)


def test_a_numeric_password_is_a_word():
    cluster = base()
    cluster["vrrp"]["instances"][0]["authentication"] = {"pass": 12345678}
    assert cluster_model(cluster)["vrrp"]["instances"][0]["authentication"]["pass"] == "12345678"


def test_ipv6_dr_cluster_of_the_example_inventory():
    """inventories/lab-ipv6: VRRPv3, the link-local VIP first; IPv6 VIP on the real servers."""
    with open(os.path.join(REPO, "inventories", "lab-ipv6", "group_vars", "all.yml")) as f:
        model = cluster_model(yaml.safe_load(f)["lvs_cluster"])
    inst = model["vrrp"]["instances"][0]
    assert (inst["version"], inst["addresses"]) == (3, ["fe80::61:1", "2001:db8::100"])
    svc = model["services"][0]
    assert (svc["address"], svc["family"], svc["forward"]) == ("2001:db8::100", 6, "route")
    assert model["realservers"]["rs1"]["vips"]["dr"] == ["2001:db8::100"]
    assert model["director"]["vips"] == ["2001:db8::100"]  # the link-local VIP carries no service
    assert ipvs_services(model)[0]["destinations"][0] == {"address": "2001:db8::21", "forward": "route",
                                                          "weight": 100, "port": 80}


@pytest.mark.parametrize("vips", [
    ["fe80::61:1/64", "2001:db8::100/128"],
    [{"address": "fe80::61:1/64"}, {"address": "2001:db8::100/128", "dev": "eth0"}],
    ["fe80::61:1"],  # a VRRPv3 instance with only its link-local address
])
def test_ipv6_instance_with_link_local_first_is_accepted(vips):
    instance = {"name": "V6", "interface": "eth0", "virtual_router_id": 61, "version": 3, "vips": vips}
    cluster = {"vrrp": {"instances": [instance]}}
    assert cluster_model(cluster)["vrrp"]["instances"][0]["addresses"][0] == "fe80::61:1"
