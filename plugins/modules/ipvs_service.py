#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ipvs_service
short_description: Manage an IPVS virtual service (what C(ipvsadm -A/-E/-D) does)
version_added: "0.1.0"
description:
  - Creates, changes or deletes one Linux Virtual Server service in the kernel's
    IPVS table, through generic netlink (no C(ipvsadm) needed on the host).
  - A service is named by protocol, address and port, or by firewall mark.
  - Optionally states the service's real servers too (O(destinations)), with
    O(purge_destinations) removing those not listed, so one task states a whole service.
  - The whole request is validated before the kernel is touched; an error names the field.
  - Loads the C(ip_vs) kernel module when IPVS is not yet available.
options:
  protocol:
    description: Transport protocol of the service. Ignored for firewall-mark services.
    type: str
    choices: [tcp, udp, sctp]
    default: tcp
  address:
    description: Virtual IP address (IPv4 or IPv6). Required unless O(fwmark) is given.
    type: str
  port:
    description: Virtual port, 0..65535 (0 with persistence means all ports).
    type: int
  fwmark:
    description: Firewall mark of the service (instead of O(address)/O(port)).
    type: int
  family:
    description: Address family of a firewall-mark service.
    type: str
    choices: [ipv4, ipv6]
  scheduler:
    description: Scheduling algorithm (C(ipvsadm -s)).
    type: str
    default: wlc
    choices: [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos]
  sched_flags:
    description:
      - Scheduler flags (C(ipvsadm -b)); C(sh-*) only with O(scheduler=sh), C(mh-*) only with O(scheduler=mh).
    type: list
    elements: str
    default: []
    choices: [sh-fallback, sh-port, mh-fallback, mh-port]
  persistence:
    description: Persistence timeout in seconds (C(ipvsadm -p)); 0 disables persistence.
    type: int
    default: 0
  netmask:
    description:
      - Persistence granularity (C(ipvsadm -M)). An IPv4 netmask or prefix length, or an
        IPv6 prefix length. Needs O(persistence).
    type: str
  one_packet:
    description: One-packet scheduling (C(ipvsadm -o)), for UDP services.
    type: bool
    default: false
  destinations:
    description:
      - Real servers of the service. When given, each is added or updated; see O(purge_destinations).
      - When omitted, the service's real servers are left as they are.
    type: list
    elements: dict
    suboptions:
      address:
        description: Real server address.
        type: str
        required: true
      port:
        description:
          - Real server port. Defaults to the service's port.
          - Only C(masq) (NAT) may map to another port.
        type: int
      forward:
        description: Forwarding method; C(nat), C(dr) and C(tun) are aliases of C(masq), C(route) and C(tunnel).
        type: str
        default: route
        choices: [masq, route, tunnel, nat, dr, tun]
      weight:
        description: Weight 0..65535. 0 drains the real server (existing connections stay).
        type: int
        default: 1
      upper_threshold:
        description: Upper connection threshold (C(ipvsadm -x)), 0 for none.
        type: int
        default: 0
      lower_threshold:
        description: Lower connection threshold (C(ipvsadm -y)), 0 for none.
        type: int
        default: 0
      tun_type:
        description: Tunnel type of a C(tunnel) real server.
        type: str
        choices: [ipip, gue, gre]
      tun_port:
        description: Destination port of a GUE tunnel.
        type: int
      tun_flags:
        description: Checksum of GUE and GRE tunnels; default C(nocsum).
        type: str
        choices: [nocsum, csum, remcsum]
  purge_destinations:
    description: Remove real servers of the service that O(destinations) does not list.
    type: bool
    default: false
  state:
    description: Whether the service exists.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The diff shows the affected service in C(ipvsadm-save -n) format, before and after.
  - The kernel table does not survive a reboot; see M(lvs.cluster.ipvs_save).
seealso:
  - module: lvs.cluster.ipvs_dest
  - module: lvs.cluster.ipvs_table
  - module: lvs.cluster.ipvs_info
extends_documentation_fragment:
  - lvs.cluster.ipvs
author:
  - lvs.cluster contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: A DR web service with two real servers, exactly these
  lvs.cluster.ipvs_service:
    address: 192.0.2.100
    port: 80
    scheduler: wlc
    persistence: 60
    destinations:
      - {address: 192.0.2.21, weight: 100}
      - {address: 192.0.2.22, weight: 100}
    purge_destinations: true

- name: NAT with port mapping (VIP:80 to real servers on 8001)
  lvs.cluster.ipvs_service:
    address: 203.0.113.100
    port: 80
    scheduler: wrr
    destinations:
      - {address: 192.0.2.21, port: 8001, forward: nat, weight: 3}

- name: A firewall-mark service with source hashing and fallback
  lvs.cluster.ipvs_service:
    fwmark: 1
    scheduler: sh
    sched_flags: [sh-fallback, sh-port]

- name: Remove a service
  lvs.cluster.ipvs_service:
    protocol: udp
    address: 192.0.2.100
    port: 53
    state: absent
"""

RETURN = r"""
service:
  description: The service as the kernel holds it after the task (empty when absent).
  returned: always
  type: dict
  sample: {"protocol": "tcp", "address": "192.0.2.100", "port": 80, "family": "ipv4",
           "scheduler": "wlc", "sched_flags": [], "persistence": 60,
           "netmask": "255.255.255.255", "one_packet": false}
destinations:
  description: The service's real servers after the task.
  returned: always
  type: list
  elements: dict
  sample: [{"address": "192.0.2.21", "port": 80, "forward": "route", "weight": 100,
            "upper_threshold": 0, "lower_threshold": 0}]
actions:
  description: What was (or in check mode would be) done, in order.
  returned: always
  type: list
  elements: str
  sample: ["add-service -t 192.0.2.100:80", "add-dest -t 192.0.2.100:80 -r 192.0.2.21:80"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_common as common
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model


def main():
    argument_spec = dict(common.SERVICE_KEY_OPTIONS)
    argument_spec.update(common.SERVICE_OPTIONS)
    argument_spec.update(
        destinations=dict(type="list", elements="dict", options=common.DEST_OPTIONS),
        purge_destinations=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[("fwmark", "address"), ("fwmark", "port")],
                           required_one_of=[("fwmark", "address")])
    p = module.params
    try:
        svc = model.normalize_service(common.service_spec(p), field="service")
        dests = None
        if p["destinations"] is not None:
            dests = [model.normalize_dest(d, svc, field="destinations[%d]" % i)
                     for i, d in enumerate(p["destinations"])]
            model.check_unique(dests, model.dest_key, "destinations")
    except model.IPVSValidationError as exc:
        module.fail_json(msg=str(exc))

    with common.connect(module) as ipvs:
        table = ipvs.table()
        current = [(s, d) for s, d in table if model.service_key(s) == model.service_key(svc)]
        if p["state"] == "absent":
            actions = [("delete-service", current[0][0], None)] if current else []
        else:
            cur_svc, cur_dests = current[0] if current else (None, [])
            actions = model.plan_service(cur_svc, cur_dests, svc, dests, p["purge_destinations"])
        common.apply_actions(module, ipvs, actions)
        after = model.simulate(table, actions) if module.check_mode else ipvs.table()

    mine = model.select(after, [model.service_key(svc)])
    result = dict(
        changed=bool(actions),
        actions=[model.describe(a) for a in actions],
        service=common.public(mine[0][0]) if mine else {},
        destinations=[common.public(d) for d in mine[0][1]] if mine else [],
    )
    if module._diff:
        result["diff"] = common.table_diff(table, actions, keys=[model.service_key(svc)])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
