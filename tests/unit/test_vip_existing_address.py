"""vip_address leaves an address the host already has as it is (issue 25: a NAT director's
public address 203.0.113.11/24 used as the VIP was rewritten to /32, its subnet route gone)."""
from ansible_collections.lvs.cluster.plugins.module_utils.host import vip


def req(addresses, **kw):
    params = dict(address=addresses, interface="eth0", interface_type="existing", host_route=False,
                  exclusive=True, state="present")
    params.update(kw)
    return vip.validate(params)


def test_the_interface_address_that_is_the_vip_is_kept_with_its_prefix():
    pl = vip.plan(req(["203.0.113.11"]), "existing", True, ["203.0.113.11/24", "fe80::1/64"], {})
    assert pl["kept"] == ["203.0.113.11/24"]
    assert pl["add"] == [] and pl["delete"] == [] and pl["managed"] == [] and not pl["kernel_change"]
    assert pl["after"] == ["203.0.113.11/24", "fe80::1/64"] and pl["data"] is None


def test_a_subnet_address_of_another_device_is_kept_a_host_address_there_is_not():
    pl = vip.plan(req(["203.0.113.11", "192.0.2.100"]), "existing", True, [], {},
                  ["203.0.113.11/24", "192.0.2.100/32"])
    assert pl["kept"] == ["203.0.113.11/24"] and pl["add"] == ["192.0.2.100/32"]


def test_a_vip_the_task_manages_is_still_replaced_when_its_prefix_changes():
    old = {"addresses": [{"address": "192.0.2.100/32"}]}
    pl = vip.plan(req(["192.0.2.100/32"]), "existing", True, ["192.0.2.100/24"], old)
    assert pl["kept"] == [] and pl["add"] == ["192.0.2.100/32"] and pl["delete"] == ["192.0.2.100/24"]
