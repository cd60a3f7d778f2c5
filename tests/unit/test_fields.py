"""The field vocabulary (plugins/module_utils/fields.py, issue 23): each field type refuses
what the kernel, ip or keepalived would read otherwise, naming the field; patterns match
whole strings; the constant lists are defined once; the models use the vocabulary."""
import math

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.lvs.cluster.plugins.module_utils import (
    cluster_model, fields, ipvs_checks, ipvs_model, routing, sysctl,
)
from ansible_collections.lvs.cluster.plugins.module_utils.host import vip as vipmodel

F = "lvs_cluster.services[1].port"


def refused(check, value, *args, **kw):
    with pytest.raises(fields.FieldError) as e:
        check("lvs_cluster.x[1].y", value, *args, **kw)
    assert e.value.path == "lvs_cluster.x[1].y" and str(e.value).startswith("lvs_cluster.x[1].y: "), str(e.value)
    return e.value.reason


# ---------------------------------------------------------------- numbers

@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 1e308 * 10, "nan", "inf",
                                   "1e400", "٣", True, None, [1], " 8 0", "0x50"])
def test_a_number_refuses_nan_infinity_and_non_numbers_naming_the_field(value):
    refused(fields.number, value, 0, 65535)
    refused(fields.number, value, 0, None, integer=False)


def test_nan_and_infinity_in_the_cluster_model_name_the_field():
    """Issue 23 class 2: NaN/inf came back as bare ValueError/OverflowError."""
    base = {"services": [{"vip": "192.0.2.100", "port": 80, "realservers": [{"address": "192.0.2.21"}]}]}
    for key, value in (("port", float("nan")), ("port", float("inf")), ("delay_loop", float("nan")),
                       ("delay_loop", float("-inf")), ("persistence", float("inf"))):
        svc = dict(base["services"][0], **{key: value})
        with pytest.raises(cluster_model.ClusterModelError) as e:
            cluster_model.cluster_model({"services": [svc]})
        assert e.value.path == "lvs_cluster.services[0].%s" % key, str(e.value)


@given(st.integers(min_value=-2 ** 70, max_value=2 ** 70))
def test_integers_in_bounds_pass_and_others_are_refused(n):
    if 1 <= n <= 65535:
        assert fields.port(F, n) == n and fields.port(F, str(n)) == n
    else:
        with pytest.raises(fields.FieldError):
            fields.port(F, n)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_never_escape_as_another_exception(x):
    try:
        got = fields.duration(F, x)
    except fields.FieldError as e:
        assert e.path == F
    else:
        assert math.isfinite(got) and got >= 0


# ---------------------------------------------------------------- interface names

@pytest.mark.parametrize("name", ["eth0", "lo", "eth0.100", "bond0.4094", "veth-a_b", "x" * 15, "tunl0", "gre0"])
def test_interface_names_by_the_kernel_rules(name):
    assert fields.ifname("i", name) == name


@pytest.mark.parametrize("name", ["", ".", "..", "x" * 16, "a/b", "eth0:1", "a b", "eth0\n", "eth0\t", "\neth0",
                                  "eth0\r", "é" * 8, "dev", "table", "via", "default", "all", None, 5])
def test_interface_names_refused(name):
    refused(fields.ifname, name)


@pytest.mark.parametrize("name", ["eth0\n", "eth0:1", "table", "x" * 16])
def test_one_interface_rule_in_every_validator(name):
    """Issue 23: the cluster model accepted eth0:1 that both module validators refused; a
    trailing newline passed the host validators' $-anchored patterns."""
    for check in (lambda v: ipvs_model.check_ifname("interface", v),
                  lambda v: vipmodel.validate({"address": ["192.0.2.100"], "interface": v, "state": "present"}),
                  lambda v: routing.normalize_rule({"iif": v}, 0),
                  lambda v: cluster_model.validate({"interface": v}, cluster_model.SYNC_DAEMON_SPEC
                                                   | {"instance": dict(type="word")}, "p")):
        with pytest.raises(fields.FieldError):
            check(name)
    assert sysctl.validate_interfaces([name], conf_dir="/nonexistent").startswith("interfaces: invalid")


def test_an_alias_label_is_a_label_not_a_device():
    assert fields.address_label("l", "eth0:vip") == "eth0:vip"
    assert fields.address_label("l", "eth0") == "eth0"
    for bad in ("eth0:", "eth0:a b", "eth0:1:2", "eth0:" + "x" * 11, ":1"):
        refused(fields.address_label, bad)


@given(st.text(max_size=20))
def test_no_accepted_interface_name_holds_a_character_ip_or_the_kernel_reads_otherwise(text):
    try:
        fields.ifname("i", text)
    except fields.FieldError:
        return
    assert 0 < len(text.encode()) <= 15 and text not in (".", "..") and text not in fields.IP_KEYWORDS
    assert not any(c.isspace() or c in "/:%\0" for c in text)


def test_table_names_match_whole_strings():
    assert fields.table_name("name", "lvs_t2") == "lvs_t2"
    for bad in ("lvs_t2\n", "bad name", "1abc", "table", "x" * 65, "../x"):
        refused(fields.table_name, bad)
    with pytest.raises(routing.ValidationError):
        routing.validate_table("lvs_t2\n", 102, [])


# ---------------------------------------------------------------- addresses

@pytest.mark.parametrize("value", ["fe80::1%eth0", "2001:db8::1%1", "192.0.2.1%lo"])
def test_zone_ids_are_refused_where_no_field_takes_one(value):
    assert "zone" in refused(fields.ip, value)
    assert fields.ip("f", value, zone=True) if "::" in value else True
    with pytest.raises(fields.FieldError):
        fields.vip("v", value)
    with pytest.raises(ipvs_model.IPVSValidationError):
        ipvs_model.parse_address("service.address", value)
    with pytest.raises(routing.ValidationError):
        routing.parse_address(value, "routes[0].gateway")
    with pytest.raises(vipmodel.ValidationError):
        vipmodel.parse_vip(value, "address[0]", False)


def test_two_services_differing_only_in_a_zone_cannot_exist():
    svc = {"realservers": [{"address": "192.0.2.21"}], "port": 80}
    with pytest.raises(cluster_model.ClusterModelError) as e:
        cluster_model.cluster_model({"services": [dict(svc, vip="2001:db8::5"), dict(svc, vip="2001:db8::5%eth0")]})
    assert e.value.path == "lvs_cluster.services[1].vip", str(e.value)


# ---------------------------------------------------------------- text

@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\u2028b", "a\u2029b", "a\x85b", "a#b", "a!b", "a{b", 'a"b',
                                   "a\\b", "a\x00b"])
def test_text_refuses_what_ends_or_bends_a_line(value):
    refused(fields.string, value)
    refused(fields.word, value)


def test_a_word_pattern_matches_the_whole_word():
    assert fields.word("w", "abc", "[a-z]+") == "abc"
    refused(fields.word, "abc1", "[a-z]+")


def test_a_secret_is_never_shown():
    reason = refused(fields.secret, "pa ss#word")
    assert "pa ss" not in reason and "value not shown" in reason


def test_paths_are_absolute_without_dotdot():
    assert fields.path_name("p", "/etc/keepalived/x.sh") == "/etc/keepalived/x.sh"
    for bad in ("relative", "/etc/../shadow", "/a/..", "/a\n"):
        refused(fields.path_name, bad)


# ---------------------------------------------------------------- one definition

def test_each_constant_list_is_defined_once():
    assert ipvs_model.SCHEDULERS is fields.SCHEDULERS
    assert ipvs_model.SCHED_FLAGS is fields.SCHED_FLAGS
    assert ipvs_model.TUN_TYPES is fields.TUN_TYPES and ipvs_model.TUN_FLAGS is fields.TUN_FLAGS
    assert cluster_model.SCHED_FLAGS == dict((k, v[0]) for k, v in fields.SCHED_FLAGS.items())
    assert cluster_model.TUN_FLAGS == tuple(fields.TUN_FLAGS)
    assert cluster_model.SERVICE_SPEC["scheduler"]["choices"] is fields.SCHEDULERS
    assert cluster_model.REALSERVER_SPEC["tun_type"]["choices"] == tuple(fields.TUN_TYPES)
    assert not hasattr(ipvs_checks, "_SCHEDULERS")
    from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_netlink
    assert not hasattr(ipvs_netlink, "available_schedulers")  # one: ipvs_checks'


def test_one_error_type():
    for error in (cluster_model.ClusterModelError, ipvs_model.IPVSValidationError, routing.ValidationError,
                  vipmodel.ValidationError):
        assert error is fields.FieldError
    e = fields.FieldError("services[1].port: is wrong")
    assert (e.path, e.reason, str(e)) == ("services[1].port", "is wrong", "services[1].port: is wrong")


@settings(max_examples=200)
@given(st.text(max_size=40))
def test_every_check_fails_only_with_a_field_error(text):
    for check in (fields.word, fields.string, fields.line, fields.ifname, fields.address_label, fields.table_name,
                  fields.ip, fields.vip, fields.port, fields.weight, fields.duration, fields.path_name,
                  fields.secret):
        try:
            check("f", text)
        except fields.FieldError as e:
            assert e.path == "f"
