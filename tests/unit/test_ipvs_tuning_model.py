"""lvs_cluster.ipvs.sysctl and the scheduler flags in the cluster model (issue 17):
defaults, conn_reuse_mode by kernel version, the mh-fallback rule, field-path errors,
and the flags written into keepalived.conf."""
import pytest

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import (
    ClusterModelError, cluster_model, director_sysctls, ipvs_services,
)
from ansible_collections.lvs.cluster.plugins.module_utils.keepalived_conf import keepalived_conf


def cluster(scheduler="rr", sched_flags=None, sysctl=None, weight=100, inhibit=None):
    svc = {"vip": "192.0.2.100", "port": 80, "scheduler": scheduler,
           "realservers": [{"address": "192.0.2.21", "weight": weight},
                           {"address": "192.0.2.22", "inhibit_on_failure": inhibit}]}
    if sched_flags is not None:
        svc["sched_flags"] = sched_flags
    out = {"services": [svc]}
    if sysctl is not None:
        out["ipvs"] = {"sysctl": sysctl}
    return out


def test_defaults_without_the_block():
    model = cluster_model(cluster())
    assert model["director"]["ipvs_sysctl"] == {
        "conn_reuse_mode": "auto", "expire_nodest_conn": True, "expire_quiescent_template": True,
        "sloppy_tcp": False, "sloppy_sctp": False, "backup_only": False}
    assert "ipvs" not in model  # the given block stays as given (timeouts, conn_tab_bits)


@pytest.mark.parametrize("release,mode", [
    ("6.1.0-27-amd64", "1"), ("5.9.0", "1"), ("5.10.0-8-amd64", "1"), ("10.0", "1"),
    ("5.8.18-100.fc31.x86_64", "0"), ("4.19.0-6-amd64", "0"), ("4.1.0", "0"),
    ("3.10.0-1160.el7.x86_64", None),  # no conn_reuse_mode in that kernel: not set
])
def test_conn_reuse_mode_auto_by_kernel_version(release, mode):
    got = director_sysctls(cluster_model(cluster()), release)
    assert got.get("net.ipv4.vs.conn_reuse_mode") == mode
    assert got["net.ipv4.vs.expire_quiescent_template"] == "1" and got["net.ipv4.vs.sloppy_tcp"] == "0"


@pytest.mark.parametrize("given", [0, "2", 1])
def test_conn_reuse_mode_given_wins_on_any_kernel(given):
    model = cluster_model(cluster(sysctl={"conn_reuse_mode": given}))
    for release in ("6.1.0", "4.19.0", "garbage"):
        assert director_sysctls(model, release)["net.ipv4.vs.conn_reuse_mode"] == str(given)


def test_sysctl_values_given():
    model = cluster_model(cluster(sysctl={"sloppy_tcp": True, "sloppy_sctp": "yes", "backup_only": True,
                                          "expire_nodest_conn": False, "expire_quiescent_template": "no"}))
    assert director_sysctls(model, "6.1.0") == {
        "net.ipv4.vs.backup_only": "1", "net.ipv4.vs.conn_reuse_mode": "1", "net.ipv4.vs.expire_nodest_conn": "0",
        "net.ipv4.vs.expire_quiescent_template": "0", "net.ipv4.vs.sloppy_sctp": "1", "net.ipv4.vs.sloppy_tcp": "1"}


def test_auto_with_an_unknown_kernel_names_the_field():
    with pytest.raises(ClusterModelError) as e:
        director_sysctls(cluster_model(cluster()), "")
    assert e.value.path == "lvs_cluster.ipvs.sysctl.conn_reuse_mode" and "give 0, 1 or 2" in e.value.reason


@pytest.mark.parametrize("sysctl,path,reason", [
    ({"conn_reuse_mode": 3}, "lvs_cluster.ipvs.sysctl.conn_reuse_mode", "must be one of auto, 0, 1, 2"),
    ({"conn_reuse_mode": "on"}, "lvs_cluster.ipvs.sysctl.conn_reuse_mode", "must be one of"),
    ({"sloppy_tcp": 2}, "lvs_cluster.ipvs.sysctl.sloppy_tcp", "must be true or false"),
    ({"expire_quiescent_templates": True}, "lvs_cluster.ipvs.sysctl.expire_quiescent_templates",
     "did you mean 'expire_quiescent_template'?"),
    ("yes", "lvs_cluster.ipvs.sysctl", "must be a dict"),
])
def test_sysctl_errors_name_the_field(sysctl, path, reason):
    with pytest.raises(ClusterModelError) as e:
        cluster_model(cluster(sysctl=sysctl))
    assert e.value.path == path and reason in e.value.reason, str(e.value)


# ---------------------------------------------------------------- scheduler flags, mh-fallback

def test_mh_gets_mh_fallback_by_default_and_ipvs_table_receives_it():
    model = cluster_model(cluster("mh"))
    assert model["services"][0]["sched_flags"] == ["mh-fallback"]
    assert ipvs_services(model)[0]["sched_flags"] == ["mh-fallback"]
    assert "sched_flags" not in ipvs_services(cluster_model(cluster("rr")))[0]


def test_given_flags_are_checked_and_canonical():
    s = cluster_model(cluster("mh", "mh-port, mh-fallback"))["services"][0]
    assert s["sched_flags"] == ["mh-fallback", "mh-port"]
    s = cluster_model(cluster("sh", ["sh-port"]))["services"][0]
    assert s["sched_flags"] == ["sh-port"]
    # an mh service whose real servers never reach weight 0 may go without the fallback
    assert cluster_model(cluster("mh", []))["services"][0]["sched_flags"] == []


@pytest.mark.parametrize("args,path,reason", [
    (dict(scheduler="mh", sched_flags=["mh-port"], weight=0), "lvs_cluster.services[0].sched_flags",
     "needs mh-fallback: realservers[0] has weight: 0"),
    (dict(scheduler="mh", sched_flags=[], inhibit=True), "lvs_cluster.services[0].sched_flags",
     "needs mh-fallback: realservers[1] has inhibit_on_failure"),
    (dict(scheduler="rr", sched_flags=["mh-fallback"]), "lvs_cluster.services[0].sched_flags[0]",
     "mh-fallback is a flag of the mh scheduler, not of rr"),
    (dict(scheduler="mh", sched_flags=["mh-fallback", "fallback"]), "lvs_cluster.services[0].sched_flags[1]",
     "must be one of mh-fallback, mh-port, sh-fallback, sh-port"),
    (dict(scheduler="mh", sched_flags={"mh-fallback": True}), "lvs_cluster.services[0].sched_flags",
     "must be a list of flags"),
])
def test_sched_flag_errors_name_the_field(args, path, reason):
    with pytest.raises(ClusterModelError) as e:
        cluster_model(cluster(**args))
    assert e.value.path == path and reason in e.value.reason, str(e.value)


def test_drained_mh_service_is_fine_with_the_default_flag():
    model = cluster_model(cluster("mh", weight=0, inhibit=True))
    assert model["services"][0]["sched_flags"] == ["mh-fallback"]


def test_keepalived_conf_writes_the_flags():
    c = cluster("mh", ["mh-fallback", "mh-port"])
    c["vrrp"] = {"instances": [{"name": "VI", "interface": "eth0", "virtual_router_id": 51,
                                "vips": ["192.0.2.100/32"]}]}
    text = keepalived_conf(lvs_cluster=c, virtual_servers=c["services"])
    block = text[text.index("virtual_server 192.0.2.100 80"):]
    assert "    lb_algo mh\n    mh-fallback\n    mh-port\n" in block
    rr = cluster_with_vrrp_rr()
    assert "mh-" not in keepalived_conf(lvs_cluster=rr, virtual_servers=rr["services"])


def cluster_with_vrrp_rr():
    c = cluster("rr")
    c["vrrp"] = {"instances": [{"name": "VI", "interface": "eth0", "virtual_router_id": 51,
                                "vips": ["192.0.2.100/32"]}]}
    return c
