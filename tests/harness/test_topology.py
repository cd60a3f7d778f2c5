"""The topology loader's address rule, on the machine (no lab kernel): documentation
ranges and link-local only, IPv4 and IPv6."""
import pytest

from lab.core import LabError
from lab.topology import validate_topology


def topology(*addresses, gateway=None):
    host = {"groups": ["lvs_clients"],
            "interfaces": {"eth0": {"segment": "lan", "addresses": list(addresses)}}}
    if gateway:
        host["gateway"] = gateway
    return {"segments": {"lan": {}}, "hosts": {"client": host}}


@pytest.mark.parametrize("addresses", [
    ["192.0.2.10/24"], ["198.51.100.1/24", "203.0.113.5/24"],
    ["2001:db8::10/64"], ["2001:db8:1::10/48", "fe80::10/64"], ["192.0.2.10/24", "2001:db8::10/64"],
])
def test_documentation_and_link_local_addresses_are_accepted(addresses):
    validate_topology(topology(*addresses))


@pytest.mark.parametrize("address", ["10.0.0.1/24", "192.0.2.10/16", "2001:db9::1/64", "2001:db8::1/16",
                                     "fd00::1/64", "not-an-address"])
def test_other_addresses_are_refused(address):
    with pytest.raises(LabError, match="outside the documentation ranges"):
        validate_topology(topology(address))


def test_gateway_outside_the_ranges_is_refused():
    validate_topology(topology("2001:db8::10/64", gateway="2001:db8::1"))
    with pytest.raises(LabError, match="gateway 2001:db9::1"):
        validate_topology(topology("2001:db8::10/64", gateway="2001:db9::1"))
