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
  - "Edit semantics: options a task does not give keep the values the kernel holds for an existing
    service (scheduler, flags, persistence, netmask, one-packet) and for each existing real server
    listed in O(destinations) (weight, thresholds, forwarding, tunnel options). A new service or
    real server gets the defaults given below."
  - "All or nothing: when a step the kernel refuses comes after others, the steps done are undone
    (newest first) and the task fails listing them (C(steps_done), C(steps_undone), C(steps_not_run))."
  - Holds the host lock C(/run/lvs-cluster/ipvs.lock) from reading the table to the last change.
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
    description: Virtual port, 0..65535 (0 means all ports and needs O(persistence); the kernel refuses it otherwise).
    type: int
  fwmark:
    description: Firewall mark of the service (instead of O(address)/O(port)).
    type: int
  family:
    description: Address family of a firewall-mark service.
    type: str
    choices: [ipv4, ipv6]
  scheduler:
    description: Scheduling algorithm (C(ipvsadm -s)). Omitted, an existing service keeps its own; a new one gets C(wlc).
    type: str
    choices: [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos]
  sched_flags:
    description:
      - Scheduler flags (C(ipvsadm -b)); C(sh-*) only with O(scheduler=sh), C(mh-*) only with O(scheduler=mh).
      - Omitted, an existing service keeps its flags (none when O(scheduler) changes); a new one gets none.
    type: list
    elements: str
    choices: [sh-fallback, sh-port, mh-fallback, mh-port]
  persistence:
    description:
      - Persistence timeout in seconds (C(ipvsadm -p)); 0 disables persistence.
      - Omitted, an existing service keeps its own; a new one gets 0.
    type: int
  netmask:
    description:
      - Persistence granularity (C(ipvsadm -M)). An IPv4 netmask or prefix length, or an
        IPv6 prefix length (or contiguous IPv6 mask). Needs O(persistence).
      - A host mask such as C(0.0.0.255) is refused.
    type: str
  one_packet:
    description: One-packet scheduling (C(ipvsadm -o)), for UDP services. Omitted, an existing service keeps its own; a new one gets V(false).
    type: bool
  destinations:
    description:
      - Real servers of the service. When given, each is added or updated; see O(purge_destinations).
      - Options a listed real server does not give keep the kernel's values (for a new one, the defaults).
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
        description:
          - Forwarding method; C(nat), C(dr) and C(tun) are aliases of C(masq), C(route) and C(tunnel).
          - Default C(route) for a new real server.
        type: str
        choices: [masq, route, tunnel, nat, dr, tun]
      weight:
        description: Weight 0..65535. 0 drains the real server (existing connections stay). Default 1 for a new real server.
        type: int
      upper_threshold:
        description: Upper connection threshold (C(ipvsadm -x)), 0 for none (the default for a new real server).
        type: int
      lower_threshold:
        description: Lower connection threshold (C(ipvsadm -y)), 0 for none (the default for a new real server).
        type: int
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
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_checks
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_netlink
from ansible_collections.lvs.cluster.plugins.module_utils import locking
from ansible_collections.lvs.cluster.plugins.module_utils import steps as stepslib


def _no_defaults(options):
    return dict((k, dict((a, b) for a, b in v.items() if a != "default")) for k, v in options.items())


# Options without defaults: what a task does not give keeps the kernel's value.
SERVICE_OPTIONS = _no_defaults(common.SERVICE_OPTIONS)
DEST_OPTIONS = _no_defaults(common.DEST_OPTIONS)


def main():
    argument_spec = dict(common.SERVICE_KEY_OPTIONS)
    argument_spec.update(SERVICE_OPTIONS)
    argument_spec.update(
        destinations=dict(type="list", elements="dict", options=DEST_OPTIONS),
        purge_destinations=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[("fwmark", "address"), ("fwmark", "port")],
                           required_one_of=[("fwmark", "address")])
    p = module.params
    spec = common.service_spec(p)
    key_spec = dict(spec)
    if key_spec.get("persistence") is None:
        key_spec["persistence"] = 1  # the service's own is known once the kernel is read
    try:
        key = model.service_key(model.normalize_service(key_spec, field="service"))
    except model.IPVSValidationError as exc:
        module.fail_json(msg=str(exc))

    with locking.host_lock(module, "ipvs"), common.connect(module) as ipvs:
        table = ipvs.table()
        current = [(s, d) for s, d in table if model.service_key(s) == key]
        cur_svc, cur_dests = current[0] if current else (None, [])
        try:
            # The whole request, merged with what the kernel holds (edit semantics), is
            # validated before anything changes.
            svc = model.normalize_service(model.merge_service(spec, cur_svc), field="service")
            if p["state"] == "present" and (cur_svc is None or cur_svc["scheduler"] != svc["scheduler"]):
                err = ipvs_checks.check_scheduler("service.scheduler", svc["scheduler"],
                                                  ipvs_checks.available_schedulers())
                if err:
                    raise model.IPVSValidationError(err)
            dests = None
            if p["destinations"] is not None:
                have = dict((model.dest_key(d), d) for d in cur_dests)
                dests = []
                for i, d in enumerate(p["destinations"]):
                    field = "destinations[%d]" % i
                    old = have.get(model.dest_spec_key(d, svc, field))
                    dests.append(model.normalize_dest(model.merge_dest(d, old), svc, field=field))
                model.check_unique(dests, model.dest_key, "destinations")
        except model.IPVSValidationError as exc:
            module.fail_json(msg=str(exc))
        if p["state"] == "absent":
            actions = [("delete-service", cur_svc, None)] if current else []
        else:
            actions = model.plan_service(cur_svc, cur_dests, svc, dests, p["purge_destinations"])
        apply_all_or_nothing(module, ipvs, table, actions)
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


def _undo(action, table):
    """The actions that revert action, given the table read before it."""
    verb, svc, dest = action
    cur = dict((model.service_key(s), (s, ds)) for s, ds in table).get(model.service_key(svc))
    if verb == "add-service":
        return [("delete-service", svc, None)]
    if verb == "edit-service":
        return [("edit-service", cur[0], None)]
    if verb == "delete-service":
        return [("add-service", cur[0], None)] + [("add-dest", cur[0], d) for d in cur[1]]
    if verb == "add-dest":
        return [("delete-dest", svc, dest)]
    old = [d for d in cur[1] if model.dest_key(d) == model.dest_key(dest)][0]
    return [("edit-dest" if verb == "edit-dest" else "add-dest", svc, old)]


def apply_all_or_nothing(module, ipvs, table, actions):
    """Apply actions in order; on a refused one undo the steps done (newest first) and fail listing them."""
    if module.check_mode or not actions:
        return

    def run(acts):
        for a in acts:
            ipvs.apply(a)
    todo = [stepslib.Step(model.describe(a), lambda a=a: ipvs.apply(a), lambda a=a: run(_undo(a, table)))
            for a in actions]
    failure = stepslib.run(todo, errors=(ipvs_netlink.IPVSError,))
    if failure:
        module.fail_json(**failure)


if __name__ == "__main__":
    main()
