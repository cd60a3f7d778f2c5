#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ipvs_dest
short_description: Manage one real server of an IPVS service (what C(ipvsadm -a/-e/-d) does)
version_added: "0.1.0"
description:
  - Adds, changes, drains or removes one destination (real server) of an existing
    IPVS virtual service, through generic netlink.
  - O(state=drained) sets the weight to 0; the scheduler sends no new connections,
    existing ones continue. That is how a real server is taken out for maintenance.
  - The whole request is validated before the kernel is touched; an error names the field.
  - "Edit semantics: options a task does not give keep the values the kernel holds for an existing
    real server (weight, thresholds, forwarding method, tunnel type, port and checksum). So
    O(state=drained) with only the service and O(address) sets the weight to 0 and changes nothing
    else, and a task with only O(address) leaves the weight as it is. A new real server gets the
    defaults given below. Changing O(forward) or O(tun_type) drops the options of the old method."
options:
  protocol:
    description: Protocol of the service. Ignored with O(fwmark).
    type: str
    choices: [tcp, udp, sctp]
    default: tcp
  service_address:
    description: Virtual IP of the service. Required unless O(fwmark) is given.
    type: str
  service_port:
    description: Virtual port of the service.
    type: int
  fwmark:
    description: Firewall mark of the service (instead of O(service_address)/O(service_port)).
    type: int
  family:
    description: Address family of a firewall-mark service.
    type: str
    choices: [ipv4, ipv6]
  address:
    description: Real server address.
    type: str
    required: true
  port:
    description:
      - Real server port; defaults to the service's port.
      - Only C(masq) (NAT) may map to another port; for C(route) and C(tunnel) a different port is an error.
    type: int
  forward:
    description:
      - Forwarding method; C(nat), C(dr) and C(tun) are aliases of C(masq), C(route) and C(tunnel).
      - Omitted, an existing real server keeps its method; a new one gets C(route).
    type: str
    choices: [masq, route, tunnel, nat, dr, tun]
  weight:
    description:
      - Weight 0..65535. Omitted, an existing real server keeps its weight; a new one gets 1.
      - Ignored with O(state=drained), which sets 0.
    type: int
  upper_threshold:
    description:
      - Upper connection threshold (C(ipvsadm -x)), 0 for none.
      - Omitted, an existing real server keeps its threshold; a new one gets 0.
    type: int
  lower_threshold:
    description:
      - Lower connection threshold (C(ipvsadm -y)), 0 for none.
      - Omitted, an existing real server keeps its threshold; a new one gets 0.
    type: int
  tun_type:
    description:
      - Tunnel type for O(forward=tunnel). Omitted, an existing tunnel real server keeps its type
        (and its O(tun_port) and O(tun_flags)); a new one gets C(ipip).
    type: str
    choices: [ipip, gue, gre]
  tun_port:
    description: Destination port of a GUE tunnel.
    type: int
  tun_flags:
    description: Checksum of GUE and GRE tunnels; default C(nocsum).
    type: str
    choices: [nocsum, csum, remcsum]
  state:
    description: C(present), C(drained) (weight 0, connections kept), or C(absent).
    type: str
    choices: [present, drained, absent]
    default: present
seealso:
  - module: lvs.cluster.ipvs_service
  - module: lvs.cluster.ipvs_info
extends_documentation_fragment:
  - lvs.cluster.ipvs
author:
  - lvs.cluster contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Add a DR real server
  lvs.cluster.ipvs_dest:
    service_address: 192.0.2.100
    service_port: 80
    address: 192.0.2.21
    weight: 100

- name: Drain it before maintenance (existing connections finish)
  lvs.cluster.ipvs_dest:
    service_address: 192.0.2.100
    service_port: 80
    address: 192.0.2.21
    state: drained

- name: A TUN real server over GUE
  lvs.cluster.ipvs_dest:
    service_address: 192.0.2.100
    service_port: 80
    address: 198.51.100.21
    forward: tunnel
    tun_type: gue
    tun_port: 6080
"""

RETURN = r"""
destination:
  description: The real server as the kernel holds it after the task (empty when absent).
  returned: always
  type: dict
  sample: {"address": "192.0.2.21", "port": 80, "forward": "route", "weight": 0,
           "upper_threshold": 0, "lower_threshold": 0}
actions:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_common as common
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model
from ansible_collections.lvs.cluster.plugins.module_utils import locking


# Options without defaults: what a task does not give keeps the kernel's value.
DEST_OPTIONS = dict((k, dict((a, b) for a, b in v.items() if a != "default"))
                    for k, v in common.DEST_OPTIONS.items())


def main():
    argument_spec = dict(
        protocol=dict(type="str", choices=list(model.PROTOCOLS), default="tcp"),
        service_address=dict(type="str"),
        service_port=dict(type="int"),
        fwmark=dict(type="int"),
        family=dict(type="str", choices=["ipv4", "ipv6"]),
        state=dict(type="str", default="present", choices=["present", "drained", "absent"]),
    )
    argument_spec.update(DEST_OPTIONS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[("fwmark", "service_address"), ("fwmark", "service_port")],
                           required_one_of=[("fwmark", "service_address")])
    p = module.params
    key_spec = dict(protocol=None if p["fwmark"] else p["protocol"], address=p["service_address"],
                    port=p["service_port"], fwmark=p["fwmark"], family=p["family"], persistence=1)
    dest_spec = dict((k, p[k]) for k in DEST_OPTIONS)
    if p["state"] == "drained":
        dest_spec["weight"] = 0
    try:
        # Validate the service key and the destination before asking the kernel
        # (port 0 is checked against the kernel's service below).
        wanted_key = model.service_key(model.normalize_service(key_spec, field="service"))
        if p["weight"] is not None:
            model.check_int("weight", p["weight"])
    except model.IPVSValidationError as exc:
        module.fail_json(msg=str(exc))

    with locking.host_lock(module, "ipvs"), common.connect(module) as ipvs:
        table = ipvs.table()
        found = [(s, d) for s, d in table if model.service_key(s) == wanted_key]
        if not found:
            module.fail_json(msg="service: %s does not exist; create it with lvs.cluster.ipvs_service first"
                             % model.service_name(model.normalize_service(key_spec)))
        svc, dests = found[0]
        try:
            port = dest_spec["port"]
            key = (str(model.parse_address("address", p["address"])),
                   svc.get("port") or 0 if port is None else model.check_port("port", port, allow_zero=True))
            have = [d for d in dests if model.dest_key(d) == key]
            # Edit semantics: options not given keep what the kernel holds.
            dest = model.normalize_dest(model.merge_dest(dest_spec, have[0] if have else None), svc,
                                        field="destination")
        except model.IPVSValidationError as exc:
            module.fail_json(msg=str(exc))
        if p["state"] == "absent":
            actions = [("delete-dest", svc, have[0])] if have else []
        elif not have:
            actions = [("add-dest", svc, dest)]
        elif model.differs(have[0], dest, model.DEST_FIELDS):
            actions = [("edit-dest", svc, dest)]
        else:
            actions = []
        common.apply_actions(module, ipvs, actions)
        after = model.simulate(table, actions) if module.check_mode else ipvs.table()

    mine = [d for s, ds in model.select(after, [wanted_key]) for d in ds
            if model.dest_key(d) == model.dest_key(dest)]
    result = dict(changed=bool(actions), actions=[model.describe(a) for a in actions],
                  destination=common.public(mine[0]) if mine else {})
    if module._diff:
        result["diff"] = common.table_diff(table, actions, keys=[wanted_key])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
