#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vip_address
short_description: Put LVS VIPs on a real server's lo, dummy or tunl0 device, persistently
version_added: "0.1.0"
description:
  - Adds (or removes) virtual IP addresses on a non-ARPing device of an LVS real server, the way
    DR and TUN need it; a /32 (IPv4) or /128 (IPv6) prefix when none is given.
  - "O(interface_type=loopback): C(lo) (DR). O(interface_type=dummy): a dummy device, created when
    missing (DR, keeps VIPs apart from C(lo)). O(interface_type=ipip): C(tunl0), after loading the
    C(ipip) kernel module (TUN); pair it with M(lvs.cluster.arp_sysctl) and O(lvs.cluster.arp_sysctl#module:rp_filter=0)
    on C(tunl0) and C(all). O(interface_type=auto) picks by name: C(lo), C(tunl0), an existing
    device as it is, otherwise a new dummy."
  - Do not forget the ARP side (M(lvs.cluster.arp_sysctl)); without it a DR real server answers ARP
    for the VIP and steals the director's traffic.
  - The kernel is changed through netlink (pyroute2), in the network namespace the module runs in.
  - "Persistence: the module writes the declarative state file C(/etc/lvs-cluster/vip-<interface>.json)
    (interface, type, addresses) and installs the collection's boot hook, shared by
    M(lvs.cluster.arp_sysctl) and M(lvs.cluster.policy_route): the script
    C(/usr/local/sbin/lvs-cluster-net) (C(apply) replays every C(/etc/lvs-cluster/*.json) with C(ip)
    and C(sysctl): VIP devices and addresses first, then per-interface sysctls, then policy routes;
    C(show) prints the commands), the LSB init script C(/etc/init.d/lvs-cluster-net) enabled with
    C(update-rc.d) (runlevel S, after C($network)) and the systemd unit C(lvs-cluster-net.service)
    (oneshot, enabled in C(multi-user.target)). The hook is removed with the last state file."
  - Inputs are validated before anything changes; a bad address fails naming it.
author: lvs.cluster developers (!UNKNOWN)
requirements:
  - pyroute2 (0.7 or later)
options:
  address:
    description: VIPs, C(address) or C(address/prefix).
    type: list
    elements: str
    required: true
    aliases: [addresses, vip]
  interface:
    description: Device to carry the VIPs.
    type: str
    default: lo
  interface_type:
    description: How the device is obtained (see the description).
    type: str
    choices: [auto, loopback, dummy, ipip, existing]
    default: auto
  host_route:
    description:
      - Also add a host route C(VIP/32 dev <interface> scope link) in the main table, as hand-made
        recipes do with C(route add -host VIP dev lo:0). Not needed on Linux for the VIP to be local.
    type: bool
    default: false
  state:
    description: C(present) adds the addresses, C(absent) removes them (and a dummy the module created, once empty).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode and diff mode.
  - Addresses not listed are left alone; several tasks may add VIPs to one device.
seealso:
  - module: lvs.cluster.arp_sysctl
  - module: lvs.cluster.policy_route
'''

EXAMPLES = r'''
- name: DR real server, VIP on lo
  lvs.cluster.vip_address:
    address: [192.0.2.100]

- name: TUN real server, VIP on tunl0
  lvs.cluster.vip_address:
    address: [192.0.2.100/32]
    interface: tunl0

- name: TUN, relaxed reverse-path filter and no ARP for the VIP
  lvs.cluster.arp_sysctl:
    interfaces: [all, tunl0, eth0]
    rp_filter: 0

- name: VIP on a dummy device of its own
  lvs.cluster.vip_address:
    address: [192.0.2.100, 2001:db8::100]
    interface: lvs0

- name: Remove it
  lvs.cluster.vip_address:
    address: [192.0.2.100]
    state: absent
'''

RETURN = r'''
addresses:
  description: The addresses on the device after the task (or as they would be in check mode).
  returned: always
  type: list
  elements: str
  sample: ["127.0.0.1/8", "192.0.2.100/32"]
added:
  description: Addresses added.
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.100/32"]
removed:
  description: Addresses removed.
  returned: always
  type: list
  elements: str
  sample: []
interface_type:
  description: The resolved device type.
  returned: always
  type: str
  sample: loopback
state_file:
  description: The boot state file.
  returned: always
  type: str
  sample: /etc/lvs-cluster/vip-lo.json
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import routing


def resolve_type(interface, interface_type, exists):
    if interface_type != "auto":
        return interface_type
    if interface == "lo":
        return "loopback"
    if interface == "tunl0":
        return "ipip"
    return "existing" if exists else "dummy"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            address=dict(type="list", elements="str", required=True, aliases=["addresses", "vip"]),
            interface=dict(type="str", default="lo"),
            interface_type=dict(type="str", default="auto",
                                choices=["auto", "loopback", "dummy", "ipip", "existing"]),
            host_route=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    dev = p["interface"]
    result = dict(changed=False, added=[], removed=[], addresses=[])
    # Validate everything first.
    try:
        if not dev or len(dev) > 15 or "/" in dev or " " in dev:
            raise routing.ValidationError("interface: %r is not a valid interface name" % dev)
        vips = []
        for i, a in enumerate(p["address"]):
            iface = routing.parse_interface_address(a, "address[%d]" % i)
            vips.append({"address": str(iface), "family": iface.version, "host_route": p["host_route"]})
    except routing.ValidationError as exc:
        module.fail_json(msg=str(exc), **result)
    if not vips:
        module.fail_json(msg="address: give at least one address", **result)
    if not routing.HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=routing.PYROUTE2_IMPORT_ERROR)

    spath = persist.state_path("vip", dev)
    old_state = persist.read_json(spath) or {}
    ipr = routing.IPRoute()
    try:
        idx = routing.link_index(ipr, dev)
        dtype = resolve_type(dev, p["interface_type"], idx is not None)
        if old_state.get("type") and p["interface_type"] == "auto" and idx is not None:
            dtype = old_state["type"]
        result["interface_type"] = dtype
        result["state_file"] = spath
        if dtype == "loopback" and dev != "lo":
            module.fail_json(msg="interface_type: loopback means interface lo, not %r" % dev, **result)
        if dtype == "ipip" and dev != "tunl0":
            module.fail_json(msg="interface_type: ipip means the fallback device tunl0, not %r" % dev, **result)
        if dtype == "existing" and idx is None:
            module.fail_json(msg="interface: no such network interface %r" % dev, **result)
        if p["state"] == "absent" and idx is None:
            left = [a for a in old_state.get("addresses", [])
                    if a["address"] not in [v["address"] for v in vips]]
            data = dict(old_state, addresses=left) if left else None
            for k in ("kind", "name", "version"):
                if data:
                    data.pop(k, None)
            changed, _state = persist.sync_state(module, "vip", dev, data)
            result["changed"] = changed
            module.exit_json(**result)

        before = routing.kernel_addresses(ipr, idx) if idx is not None else []
        created = bool(old_state.get("created"))
        want_addrs = [v["address"] for v in vips]
        if p["state"] == "present":
            to_add = [a for a in want_addrs if a not in before]
            to_del = []
            by_addr = dict((v["address"], v) for v in vips)
            new_list = [by_addr.pop(a["address"], a) for a in old_state.get("addresses", [])]
            new_list += [v for v in vips if v["address"] in by_addr]
        else:
            to_add = []
            to_del = [a for a in want_addrs if a in before]
            new_list = [a for a in old_state.get("addresses", []) if a["address"] not in want_addrs]
        need_create = p["state"] == "present" and idx is None
        remove_dev = (p["state"] == "absent" and dtype == "dummy" and created and not new_list)
        after = [a for a in before if a not in to_del] + to_add
        result.update(added=to_add, removed=to_del, addresses=[] if remove_dev else after)
        host_routes = [v for v in vips if v["host_route"]]

        if not module.check_mode:
            if need_create:
                if dtype == "ipip":
                    rc, _o, err = module.run_command(["modprobe", "ipip"])
                    idx = routing.link_index(ipr, dev)
                    if idx is None:
                        module.fail_json(msg="interface: tunl0 did not appear after modprobe ipip: %s" % err, **result)
                else:
                    module.run_command(["modprobe", "dummy"])
                    ipr.link("add", ifname=dev, kind="dummy")
                    idx = routing.link_index(ipr, dev)
                    created = True
            if p["state"] == "present":
                ipr.link("set", index=idx, state="up")
            for a in to_add:
                ip, plen = a.split("/")
                ipr.addr("add", index=idx, address=ip, prefixlen=int(plen))
            for a in to_del:
                ip, plen = a.split("/")
                ipr.addr("del", index=idx, address=ip, prefixlen=int(plen))
            for v in host_routes:
                ip = v["address"].split("/")[0]
                plen = 128 if v["family"] == 6 else 32
                kw = dict(dst=ip, dst_len=plen, oif=idx, scope=253,
                          family=routing.family_of(v["family"]))
                if p["state"] == "present":
                    ipr.route("replace", **kw)
                else:
                    try:
                        ipr.route("del", **kw)
                    except routing.NetlinkError:
                        pass
            if remove_dev:
                ipr.link("del", index=idx)
        elif need_create and dtype == "dummy":
            created = True
    except routing.NetlinkError as exc:
        module.fail_json(msg="netlink: %s" % (exc,), **result)
    finally:
        ipr.close()

    data = None
    if new_list:
        data = {"interface": dev, "type": dtype, "created": created, "addresses": new_list}
    state_changed, _state = persist.sync_state(module, "vip", dev, data)
    result["changed"] = bool(to_add or to_del or need_create or remove_dev or state_changed)
    if module._diff:
        result["diff"] = {"before_header": "%s addresses" % dev, "after_header": "%s addresses" % dev,
                          "before": "".join(a + "\n" for a in before),
                          "after": "".join(a + "\n" for a in result["addresses"])}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
