# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""policy_route: argument spec, validation and the steps (each with its undo)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.module_utils import routing
from ansible_collections.lvs.cluster.plugins.module_utils.steps import Step

ARGUMENT_SPEC = dict(
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
)


def validate(params, old, rt_path, link_exists, rt_entries=None):
    """The request {tid, routes, rules, data, state}, or routing.ValidationError naming the field."""
    name = params["name"]
    if params["state"] == "present":
        entries = routing.read_rt_tables(exclude=rt_path) if rt_entries is None else rt_entries
        routing.validate_table(name, params["table_id"], entries)
        if isinstance(params["table_id"], bool):
            raise routing.ValidationError("table_id: %r is a boolean, not an integer" % (params["table_id"],))
        routes = [routing.normalize_route(r, i, link_exists) for i, r in enumerate(params["routes"] or [])]
        rules = [routing.normalize_rule(r, i) for i, r in enumerate(params["rules"] or [])]
        for what, items, text in (("routes", routes, routing.route_text), ("rules", rules, routing.rule_text)):
            seen = {}
            for i, item in enumerate(items):
                t = text(item)
                if t in seen:
                    raise routing.ValidationError("%s[%d]: %s is listed twice (also %s[%d])" % (what, i, t, what, seen[t]))
                seen[t] = i
        tid = params["table_id"]
        data = {"table": {"name": name, "id": tid}, "routes": routes, "rules": rules, "rt_tables": rt_path}
    else:
        if rt_path is None:
            raise routing.ValidationError("name: %r is not a valid routing table name" % name)
        routes, rules, data = [], [], None
        tid = (old.get("table") or {}).get("id")
    return {"tid": tid, "routes": routes, "rules": rules, "data": data, "state": params["state"]}


def kernel_steps(ipr, req, old):
    """Remove what this module added before and is no longer wanted, then add what is missing."""
    tid = req["tid"]
    old_tid = (old.get("table") or {}).get("id")
    out = routing.stale_rule_steps(ipr, old.get("rules", []), old_tid, req["rules"], tid)
    for r in old.get("routes", []):
        if old_tid is not None and (old_tid != tid or r not in req["routes"]):
            for have in routing.kernel_routes(ipr, old_tid, r["family"]):
                if routing.route_matches(r, have):
                    out.append(Step("del route %s table %d" % (routing.route_text(have), old_tid),
                                    lambda h=have, t=old_tid: routing.del_route(ipr, h, t),
                                    lambda h=have, t=old_tid: routing.replace_route(ipr, h, t)))
                    break
    if req["state"] == "present":
        for r in req["routes"]:
            have = routing.kernel_routes(ipr, tid, r["family"])
            if not any(routing.route_matches(r, h) for h in have):
                out.append(Step("add route %s table %d" % (routing.route_text(r), tid),
                                lambda r=r: routing.replace_route(ipr, r, tid),
                                lambda r=r: routing.del_route(ipr, r, tid)))
        out += routing.missing_rule_steps(ipr, req["rules"], tid)
    return out


def show(st):
    """The policy_route state st as text: its table, routes and rules; '' for no state."""
    if not st:
        return ""
    t = st["table"]
    lines = ["table %s (%s)" % (t["name"], t["id"])]
    lines += ["route %s" % routing.route_text(r) for r in st.get("routes", [])]
    lines += ["rule %s" % routing.rule_text(r) for r in st.get("rules", [])]
    return "\n".join(lines) + "\n"
