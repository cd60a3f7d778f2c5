"""lvs.cluster.cluster_check: the rules that need the inventory (issue 25), by field path."""
import pytest

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import ClusterModelError, cluster_model
from ansible_collections.lvs.cluster.plugins.module_utils.cluster_check import inventory_errors

CLUSTER = {"mode": "dr", "services": [{"vip": "192.0.2.100", "port": 80, "realservers": [
    {"host": "rs1", "address": "192.0.2.21"}, {"host": "rs9", "address": "192.0.2.29"}]}]}


def test_a_real_server_host_outside_the_inventory_groups():
    err = inventory_errors(cluster_model(CLUSTER), ["dir1"], ["rs1", "rs2"])
    assert err.path == "lvs_cluster.services[0].realservers[1].host" and "rs9" in err.reason
    assert inventory_errors(cluster_model(CLUSTER), ["dir1"], ["rs1", "rs9"]) is None


def test_two_directors_without_vrrp_is_refused_at_the_vrrp_field():
    with pytest.raises(ClusterModelError) as e:
        cluster_model(CLUSTER, directors=["dir1", "dir2"])
    assert str(e.value).startswith("lvs_cluster.vrrp: is required with 2 directors")
