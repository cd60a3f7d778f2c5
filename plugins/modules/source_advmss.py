#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: source_advmss
short_description: Advertise a smaller TCP MSS on connections answered from given addresses (LVS-TUN VIPs)
version_added: "0.1.0"
description:
  - "LVS-TUN: the director wraps each of the client's packets in one more header (IPIP 20 bytes, GUE 32,
    GRE 24) towards the real server. A client segment sized for a 1500-byte path no longer fits, and the
    director answers with ICMP fragmentation-needed; where that ICMP is dropped on the client's path,
    large uploads stall (cloudnativelabs/kube-router #630). The client sizes its segments by the MSS the
    real server advertises in its SYN-ACK, which goes straight to the client, never through the
    director: this module makes the real server advertise an MSS that still fits once encapsulated."
  - "How: a routing table O(table_id) holds a copy of the main table's unicast routes with the
    C(advmss) metric set, and a rule C(from <address> lookup <table_id>) per address in O(sources)
    sends the replies from those addresses there. The host's other connections and its main table are
    left alone. Only iproute2 and netlink are needed (no iptables or nftables)."
  - "The table is the module's own: routes in it that are not (or no longer) a copy of a main route
    are deleted. The copy is made when the module runs and at boot; after the main table changes (a
    new gateway), run the module again or C(lvs-cluster-net apply)."
  - "Persistence: the state file C(/etc/lvs-cluster/source_advmss-<table_id>.json) (sources, table,
    rule priority) is replayed at boot by the collection's boot hook C(/usr/local/sbin/lvs-cluster-net
    apply) (see M(lvs.cluster.vip_address)), which copies the main table again with C(ip -j route)."
  - The kernel is changed through netlink (pyroute2 C(IPRoute)), in the network namespace the module
    runs in.
author: lvs.cluster developers (!UNKNOWN)
requirements:
  - pyroute2 (0.7 or later)
options:
  sources:
    description:
      - The addresses whose connections advertise the smaller MSS, each with its MSS. Required (at
        least one) with O(state=present).
      - Each address family gets one table of routes; its C(advmss) is the smallest O(sources[].mss)
        of the family.
    type: list
    elements: dict
    default: []
    suboptions:
      address:
        description: An IPv4 or IPv6 address the host answers from (a VIP).
        type: str
        required: true
      mss:
        description: The MSS to advertise, 88 to 65495 (IPIP over IPv4 on a 1500-byte path, 1440).
        type: int
        required: true
  table_id:
    description:
      - Number of the routing table the module owns, 1 to 4294967295 except 253, 254, 255; a number that
        an C(rt_tables) file names is refused.
    type: int
    required: true
  priority:
    description: Priority of the C(from) rules, 1 to 32765 (before the main table's 32766).
    type: int
    required: true
  state:
    description: C(present), or C(absent) to delete the rules and the table this module made.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode and diff mode.
  - "All or nothing: the whole request is validated before anything changes; when the kernel
    refuses a step, the steps done are undone and the task fails listing C(steps_done),
    C(steps_undone) and C(steps_not_run). Holds the host lock C(/run/lvs-cluster/host.lock)."
  - "Multipath routes of the main table are not copied: replies taking them keep the kernel's MSS."
seealso:
  - module: lvs.cluster.vip_address
  - module: lvs.cluster.policy_route
'''

EXAMPLES = r'''
- name: TUN real server, IPIP over a 1500-byte path
  lvs.cluster.source_advmss:
    sources:
      - {address: 192.0.2.100, mss: 1440}
    table_id: 101
    priority: 1010

- name: Remove the rules and the table
  lvs.cluster.source_advmss:
    table_id: 101
    priority: 1010
    state: absent
'''

RETURN = r'''
routes:
  description: The routes of the module's table after the run (the main table's, with advmss).
  returned: always
  type: list
  elements: str
  sample: ["192.0.2.0/24 dev eth0 scope link advmss 1440"]
rules:
  description: The managed rules.
  returned: always
  type: list
  elements: str
  sample: ["1010: from 192.0.2.100/32"]
actions:
  description: What was (or, in check mode, would be) done, one line each.
  returned: always
  type: list
  elements: str
  sample: ["replace route 192.0.2.0/24 dev eth0 scope link advmss 1440 table 101", "add rule 1010: from 192.0.2.100/32 table 101"]
state_file:
  description: The boot state file.
  returned: always
  type: str
  sample: /etc/lvs-cluster/source_advmss-101.json
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.lvs.cluster.plugins.module_utils import locking
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import routing
from ansible_collections.lvs.cluster.plugins.module_utils import steps as stepslib
from ansible_collections.lvs.cluster.plugins.module_utils.host import advmss as model

KIND = "source_advmss"


def main():
    module = AnsibleModule(argument_spec=model.ARGUMENT_SPEC, supports_check_mode=True)
    result = dict(changed=False, actions=[], routes=[], rules=[])
    if not routing.HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=routing.PYROUTE2_IMPORT_ERROR)
    try:
        req = model.validate(module.params, routing.read_rt_tables())
    except routing.ValidationError as exc:
        module.fail_json(msg=str(exc), **result)
    name = str(req["table_id"])
    spath = result["state_file"] = persist.state_path(KIND, name)
    with locking.host_lock(module, "host"):
        old_text, old = persist.read_text(spath), persist.read_json(spath) or {}
        ipr = routing.IPRoute()
        try:
            todo = model.kernel_steps(ipr, req, old)
            data = model.state_data(req)
            state_after = persist.render_state(KIND, name, data) if data else None
            todo.append(stepslib.Step("write %s" % spath, lambda: persist.sync_state(module, KIND, name, data),
                                      lambda: persist.restore_file(spath, old_text)))
            result["actions"] = [t.text for t in todo[:-1]]
            result["rules"] = [routing.rule_text(r) for r in req["rules"]]
            result["changed"] = bool(result["actions"] or state_after != old_text
                                     or (data and persist.hook_needs_install()))
            if result["changed"]:
                stepslib.apply(module, todo, result, errors=(routing.NetlinkError, OSError, IOError))
            after = [] if module.check_mode and result["changed"] else \
                routing.kernel_routes(ipr, req["table_id"], 4) + routing.kernel_routes(ipr, req["table_id"], 6)
            result["routes"] = [model.route_text(r) for r in after]
        finally:
            ipr.close()
    if module._diff:
        result["diff"] = {"before_header": spath, "after_header": spath,
                          "before": model.show(old), "after": model.show(data)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
