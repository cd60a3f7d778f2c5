#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: vip_address
short_description: Put LVS VIPs on a real server's lo, dummy, tunl0 or gre0 device, persistently
version_added: "0.1.0"
description:
  - Adds (or removes) virtual IP addresses on a non-ARPing device of an LVS real server, the way
    DR and TUN need it; a /32 (IPv4) or /128 (IPv6) prefix when none is given.
  - "O(interface_type=loopback): C(lo) (DR). O(interface_type=dummy): a dummy device, created when
    missing (DR, keeps VIPs apart from C(lo)). O(interface_type=ipip): C(tunl0), after loading the
    C(ipip) kernel module (TUN); pair it with M(lvs.cluster.arp_sysctl) and O(lvs.cluster.arp_sysctl#module:rp_filter=0)
    on C(tunl0) and C(all); with C(tun_type: gue) the GUE port too (M(lvs.cluster.gue_port)), whose
    inner IPIP packets arrive on C(tunl0). O(interface_type=gre): C(gre0), after loading the C(ip_gre)
    kernel module (TUN with C(tun_type: gre): C(gre0) takes key-less GRE to any local address off the
    tunnel); the same C(rp_filter=0) on C(gre0) and C(all). O(interface_type=auto) picks by name: C(lo),
    C(tunl0), C(gre0), an existing device as it is (or the type this module created it with); it never
    creates a device, so a misspelt name fails."
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
  - "An address the host already has is left as it is: a VIP that is on the device with another prefix, or a
    subnet address of another device (a NAT director whose public address is the VIP), is neither rewritten
    nor added nor managed by the task (returned as RV(kept))."
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
    choices: [auto, loopback, dummy, ipip, gre, existing]
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
  exclusive:
    description:
      - With O(state=present), also remove the VIPs this module put on the device before (they are
        tracked in its state file) that the task no longer lists. Addresses the module does not
        manage are never touched. The role uses it so that VIPs leave with the cluster.
    type: bool
    default: false
notes:
  - Supports check mode and diff mode.
  - Addresses not listed are left alone (unless O(exclusive)); several tasks may add VIPs to one device.
  - "Refused: loopback, unspecified, multicast addresses; a prefix other than /32 or /128 on C(lo)
    (the host would treat the whole network as local); the same address twice; a device that does
    not exist unless O(interface_type=dummy) (or C(tunl0), C(gre0)) asks for it to be created."
  - "All or nothing: when the kernel refuses a step, the steps done are undone and the task fails
    listing them. Holds the host lock C(/run/lvs-cluster/host.lock)."
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

- name: TUN real server of a GRE service (tun_type gre), VIP on gre0
  lvs.cluster.vip_address:
    address: [192.0.2.100]
    interface: gre0

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
kept:
  description: Addresses the host already had that are VIPs of the task, left as they are (not managed).
  returned: state is present
  type: list
  elements: str
  sample: ["203.0.113.11/24"]
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
from ansible_collections.lvs.cluster.plugins.module_utils import locking
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import routing
from ansible_collections.lvs.cluster.plugins.module_utils import steps as stepslib
from ansible_collections.lvs.cluster.plugins.module_utils.host import vip as model


def main():
    module = AnsibleModule(argument_spec=model.ARGUMENT_SPEC, supports_check_mode=True)
    result = dict(changed=False, added=[], removed=[], addresses=[])
    try:
        req = model.validate(module.params)
    except model.ValidationError as exc:
        module.fail_json(msg=str(exc), **result)
    if not routing.HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=routing.PYROUTE2_IMPORT_ERROR)
    dev = req["interface"]
    spath = result["state_file"] = persist.state_path("vip", dev)
    with locking.host_lock(module, "host"):
        old_text, old_state = persist.read_text(spath), persist.read_json(spath) or {}
        ipr = routing.IPRoute()
        try:
            idx = routing.link_index(ipr, dev)
            try:
                dtype = result["interface_type"] = model.resolve_type(req, idx is not None, old_state)
            except model.ValidationError as exc:
                module.fail_json(msg=str(exc), **result)
            before = routing.kernel_addresses(ipr, idx) if idx is not None else []
            others = ["%s/%d" % (a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                      for a in ipr.get_addr() if a["index"] != idx] if req["state"] == "present" else []
            pl = model.plan(req, dtype, idx is not None, before, old_state, others)
            result.update(added=pl["add"], removed=pl["delete"], addresses=pl["after"], kept=pl["kept"])
            todo = routing.vip_steps(module, ipr, req, dtype, pl, {"idx": idx})
            todo.append(stepslib.Step("write %s" % spath, lambda: persist.sync_state(module, "vip", dev, pl["data"]),
                                      lambda: persist.restore_file(spath, old_text)))
            state_after = persist.render_state("vip", dev, pl["data"]) if pl["data"] else None
            result["changed"] = bool(pl["kernel_change"] or state_after != old_text
                                     or (pl["data"] and persist.hook_needs_install()))
            if result["changed"]:
                stepslib.apply(module, todo, result, errors=(routing.NetlinkError, OSError, IOError))
        finally:
            ipr.close()
    if module._diff:
        result["diff"] = {"before_header": "%s addresses" % dev, "after_header": "%s addresses" % dev,
                          "before": "".join(a + "\n" for a in before), "after": "".join(a + "\n" for a in pl["after"])}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
