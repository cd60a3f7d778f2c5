#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: policy_route
short_description: Source policy routing on LVS real servers (named table, routes, rules)
version_added: "0.1.0"
description:
  - "Manages one named routing table the way LVS-NAT real servers need it when the director is not
    their default gateway: the table in C(/etc/iproute2/rt_tables.d/<name>.conf), routes in it
    (typically C(default via <director DIP>)), and rules selecting it (C(from <RIP>), C(to),
    C(fwmark), C(iif), C(priority))."
  - The kernel is changed through netlink (pyroute2 C(IPRoute)), idempotently, in the network
    namespace the module runs in.
  - "Persistence: the table, routes and rules are written to the declarative state file
    C(/etc/lvs-cluster/policy_route-<name>.json), replayed at boot (C(ip route replace),
    C(ip rule add)) by the collection's boot hook C(/usr/local/sbin/lvs-cluster-net apply), run by the
    LSB init script C(/etc/init.d/lvs-cluster-net) (enabled with update-rc.d, runlevel S after
    C($network)) and by the systemd unit C(lvs-cluster-net.service); see M(lvs.cluster.vip_address)."
  - The state file also records what the module added. A later O(state=present) run deletes routes and
    rules it added before that are no longer listed; O(state=absent) deletes exactly the recorded routes
    and rules, the rt_tables.d file and the state file.
  - Every input is validated first (addresses, priority range, table number and name against the
    existing C(rt_tables) entries, devices); an error names the field and changes nothing.
author: lvs.cluster developers (!UNKNOWN)
requirements:
  - pyroute2 (0.7 or later)
options:
  name:
    description: Name of the routing table (written to C(/etc/iproute2/rt_tables.d/<name>.conf)).
    type: str
    required: true
    aliases: [table]
  table_id:
    description:
      - Number of the table, 1 to 4294967295 except 253, 254, 255. Required with O(state=present).
      - An existing rt_tables entry with the same number and another name, or the same name and another
        number, is an error.
    type: int
  routes:
    description: Routes in the table.
    type: list
    elements: dict
    default: []
    suboptions:
      dest:
        description: Destination network, or C(default).
        type: str
        default: default
      gateway:
        description: Next hop.
        type: str
      dev:
        description: Output device (must exist).
        type: str
      metric:
        description: Route metric.
        type: int
  rules:
    description:
      - Rules selecting the table. Each needs a selector (O(rules[].from) other than C(all),
        O(rules[].to), O(rules[].fwmark) or O(rules[].iif)); a rule without one would send all of the
        host's traffic to the table and is refused.
    type: list
    elements: dict
    default: []
    suboptions:
      from:
        description: Source address or network (C(all) for any).
        type: str
        aliases: [src]
      to:
        description: Destination address or network.
        type: str
        aliases: [dst]
      fwmark:
        description: Firewall mark, C(mark) or C(mark/mask) (decimal or C(0x..)).
        type: str
      iif:
        description: Input interface.
        type: str
      priority:
        description: Rule priority, 1 to 32766. The kernel picks one when omitted.
        type: int
  state:
    description: C(present) or C(absent).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode and diff mode.
  - "All or nothing: the whole request is validated before anything changes; when the kernel
    refuses a step, the steps done are undone (routes and rules as they were read at the start,
    the rt_tables and state files as they were) and the task fails listing C(steps_done),
    C(steps_undone) and C(steps_not_run). Holds the host lock C(/run/lvs-cluster/host.lock)."
seealso:
  - module: lvs.cluster.vip_address
  - module: lvs.cluster.arp_sysctl
'''

EXAMPLES = r'''
- name: NAT real server answering through the director's LAN VIP
  lvs.cluster.policy_route:
    name: lvs_nat
    table_id: 100
    routes:
      - gateway: 192.168.168.11
        dev: eth1
    rules:
      - from: 192.168.168.238/32
        priority: 1000

- name: Marked traffic through the director
  lvs.cluster.policy_route:
    name: lvs_mark
    table_id: 101
    routes: [{gateway: 192.0.2.11}]
    rules: [{fwmark: "0x10/0xff", priority: 1001}]

- name: Remove exactly what was added
  lvs.cluster.policy_route:
    name: lvs_nat
    state: absent
'''

RETURN = r'''
table:
  description: Table name and number.
  returned: always
  type: dict
  sample: {"name": "lvs_nat", "id": 100}
routes:
  description: The managed routes, normalised.
  returned: always
  type: list
  elements: dict
  sample: [{"dest": "default", "gateway": "192.0.2.1", "dev": "eth0", "metric": null, "family": 4}]
rules:
  description: The managed rules, normalised.
  returned: always
  type: list
  elements: dict
  sample: [{"from": "192.0.2.21/32", "to": null, "fwmark": null, "fwmask": null, "iif": null, "priority": 1000, "family": 4}]
actions:
  description: What was (or, in check mode, would be) done, one line each.
  returned: always
  type: list
  elements: str
  sample: ["add route default via 192.0.2.1 dev eth0 table 100", "add rule 1000: from 192.0.2.21/32 table 100"]
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.lvs.cluster.plugins.module_utils import fields
from ansible_collections.lvs.cluster.plugins.module_utils import locking
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import routing
from ansible_collections.lvs.cluster.plugins.module_utils import steps as stepslib
from ansible_collections.lvs.cluster.plugins.module_utils.host import policy as model


def main():
    module = AnsibleModule(argument_spec=model.ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    name = p["name"]
    result = dict(changed=False, actions=[])
    if not routing.HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=routing.PYROUTE2_IMPORT_ERROR)
    with locking.host_lock(module, "host"):
        rt_path = routing.rt_tables_path(name) if fields.is_valid(fields.table_name, name) else None
        spath = persist.state_path("policy_route", name)
        old_text, old = persist.read_text(spath), persist.read_json(spath) or {}
        rt_before = persist.read_text(rt_path) if rt_path else None
        ipr = routing.IPRoute()
        try:
            try:
                req = model.validate(p, old, rt_path, lambda dev: routing.link_index(ipr, dev) is not None)
            except routing.ValidationError as exc:
                module.fail_json(msg=str(exc), **result)
            result.update(table={"name": name, "id": req["tid"]}, routes=req["routes"], rules=req["rules"])
            todo = model.kernel_steps(ipr, req, old)
            rt_after = routing.render_rt_tables(name, req["tid"]) if p["state"] == "present" else None
            if rt_after != rt_before:
                todo.append(stepslib.Step("write %s" % rt_path, lambda: persist.restore_file(rt_path, rt_after),
                                          lambda: persist.restore_file(rt_path, rt_before)))
            data = req["data"]
            todo.append(stepslib.Step("write %s" % spath, lambda: persist.sync_state(module, "policy_route", name, data),
                                      lambda: persist.restore_file(spath, old_text)))
            state_after = persist.render_state("policy_route", name, data) if data else None
            # A missing boot hook is a change too (the state file step reinstalls it), as in
            # the other host modules.
            hook_missing = bool(data) and persist.hook_needs_install()
            result["actions"] = [t.text for t in todo[:-1]]
            stepslib.apply(module, todo, result, errors=(routing.NetlinkError, OSError, IOError))
        finally:
            ipr.close()
    result["changed"] = bool(result["actions"] or state_after != old_text or hook_missing)
    if module._diff:
        result["diff"] = {"before_header": spath, "after_header": spath,
                          "before": model.show(old), "after": model.show(data)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
