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
    description: Rules selecting the table.
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
seealso:
  - module: lvs.cluster.vip_address
  - module: lvs.cluster.arp_sysctl
'''

EXAMPLES = r'''
- name: NAT real server answering through the director's LAN VIP (seed 001)
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
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import routing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["table"]),
            table_id=dict(type="int"),
            routes=dict(type="list", elements="dict", default=[], options=dict(
                dest=dict(type="str", default="default"),
                gateway=dict(type="str"),
                dev=dict(type="str"),
                metric=dict(type="int"),
            )),
            rules=dict(type="list", elements="dict", default=[], options={
                "from": dict(type="str", aliases=["src"]),
                "to": dict(type="str", aliases=["dst"]),
                "fwmark": dict(type="str"),
                "iif": dict(type="str"),
                "priority": dict(type="int"),
            }),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    name = p["name"]
    result = dict(changed=False, actions=[])
    if not routing.HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib("pyroute2"), exception=routing.PYROUTE2_IMPORT_ERROR)
    rt_path = routing.rt_tables_path(name) if routing.TABLE_NAME_RE.match(name or "") else None
    spath = persist.state_path("policy_route", name)
    old = persist.read_json(spath) or {}
    ipr = routing.IPRoute()
    try:
        def exists(dev):
            return routing.link_index(ipr, dev) is not None

        try:
            if p["state"] == "present":
                routing.validate_table(name, p["table_id"], routing.read_rt_tables(exclude=rt_path))
                routes = [routing.normalize_route(r, i, exists) for i, r in enumerate(p["routes"])]
                rules = [routing.normalize_rule(r, i) for i, r in enumerate(p["rules"])]
                tid = p["table_id"]
            else:
                if rt_path is None:
                    raise routing.ValidationError("name: %r is not a valid routing table name" % name)
                routes, rules = [], []
                tid = (old.get("table") or {}).get("id")
        except routing.ValidationError as exc:
            module.fail_json(msg=str(exc), **result)
        result["table"] = {"name": name, "id": tid}
        result["routes"], result["rules"] = routes, rules

        old_tid = (old.get("table") or {}).get("id")
        actions = []  # (text, callable)
        # Remove what was added before and is no longer wanted (or everything when absent,
        # or everything of the old table when the number changed).
        for r in old.get("rules", []):
            if old_tid != tid or r not in rules:
                for have in routing.kernel_rules(ipr, old_tid, r["family"]):
                    if routing.rule_matches(r, have):
                        actions.append(("del rule %s table %d" % (routing.rule_text(have), old_tid),
                                        lambda h=have, t=old_tid: routing.del_rule(ipr, h, t)))
                        break
        for r in old.get("routes", []):
            if old_tid != tid or r not in routes:
                for have in routing.kernel_routes(ipr, old_tid, r["family"]):
                    if routing.route_matches(r, have):
                        actions.append(("del route %s table %d" % (routing.route_text(have), old_tid),
                                        lambda h=have, t=old_tid: routing.del_route(ipr, h, t)))
                        break
        if p["state"] == "present":
            for r in routes:
                have = routing.kernel_routes(ipr, tid, r["family"])
                if not any(routing.route_matches(r, h) for h in have):
                    actions.append(("add route %s table %d" % (routing.route_text(r), tid),
                                    lambda r=r: routing.replace_route(ipr, r, tid)))
            for r in rules:
                have = routing.kernel_rules(ipr, tid, r["family"])
                if not any(routing.rule_matches(r, h) for h in have):
                    actions.append(("add rule %s table %d" % (routing.rule_text(r), tid),
                                    lambda r=r: routing.add_rule(ipr, r, tid)))
        result["actions"] = [a[0] for a in actions]

        rt_before = persist.read_text(rt_path)
        rt_after = routing.render_rt_tables(name, tid) if p["state"] == "present" else None
        if not module.check_mode:
            for text, fn in actions:
                try:
                    fn()
                except routing.NetlinkError as exc:
                    module.fail_json(msg="netlink: %s failed: %s" % (text, exc), **result)
            if rt_after != rt_before:
                if rt_after is None:
                    persist.remove(rt_path)
                else:
                    persist.write_atomic(rt_path, rt_after, 0o644)
    finally:
        ipr.close()

    data = None
    if p["state"] == "present":
        data = {"table": {"name": name, "id": tid}, "routes": routes, "rules": rules,
                "rt_tables": rt_path}
    state_changed, _state = persist.sync_state(module, "policy_route", name, data)
    result["changed"] = bool(actions or rt_after != rt_before or state_changed)
    if module._diff:
        def show(st):
            if not st:
                return ""
            t = st["table"]
            lines = ["table %s (%s)" % (t["name"], t["id"])]
            lines += ["route %s" % routing.route_text(r) for r in st.get("routes", [])]
            lines += ["rule %s" % routing.rule_text(r) for r in st.get("rules", [])]
            return "\n".join(lines) + "\n"
        result["diff"] = {"before_header": spath, "after_header": spath,
                          "before": show(old), "after": show(data)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
