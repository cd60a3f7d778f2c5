# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""source_advmss: argument spec, validation, the table's routes and the steps (each with its undo).

The TCP MSS a host advertises in its SYN-ACK is the ``advmss`` metric of the route
its reply takes (else that route's MTU minus 40). A rule ``from <address> lookup
<table>`` sends the replies from the given addresses (the LVS-TUN VIPs) to a table
holding a copy of the main table's routes with ``advmss`` set: only connections
answered from those addresses advertise the smaller MSS, the host's other traffic
and its main table are left alone. iproute2 is all it needs (no iptables/nft).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.module_utils import routing
from ansible_collections.lvs.cluster.plugins.module_utils.steps import Step

ARGUMENT_SPEC = dict(
    sources=dict(type="list", elements="dict", default=[], options=dict(
        address=dict(type="str", required=True),
        mss=dict(type="int", required=True),
    )),
    table_id=dict(type="int", required=True),
    priority=dict(type="int", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)

MAIN_TABLE = 254
RESERVED_TABLES = (0, 253, 254, 255)
RTN_UNICAST = 1
MIN_MSS = 88  # the kernel's TCP_MIN_MSS
MAX_MSS = 65495


def validate(params, rt_entries):
    """The request {sources, mss, table_id, priority, rules, state}, or routing.ValidationError naming the field.
    rt_entries: [(id, name, source)] of the host's rt_tables files (a named table is someone else's)."""
    tid, prio, state = params["table_id"], params["priority"], params["state"]
    for field, value in (("table_id", tid), ("priority", prio)):
        if isinstance(value, bool):
            raise routing.ValidationError("%s: %r is a boolean, not an integer" % (field, value))
    if not (1 <= tid <= routing.U32) or tid in RESERVED_TABLES:
        raise routing.ValidationError("table_id: %s is not a free table number (1..4294967295 except 253, 254, 255)"
                                      % tid)
    for num, name, source in rt_entries:
        if num == tid:
            raise routing.ValidationError("table_id: %d is the table %s (%s): the module owns its table whole, "
                                          "choose a number no rt_tables file names" % (tid, name, source))
    if not (1 <= prio <= 32765):
        raise routing.ValidationError("priority: %s is out of range (1..32765, before the main table's 32766)" % prio)
    sources, seen, mss = [], {}, {}
    for i, src in enumerate(params["sources"] or []):
        field = "sources[%d]" % i
        address = routing.parse_address(src["address"], field + ".address")
        if address.is_unspecified or address.is_multicast or address.is_loopback:
            raise routing.ValidationError("%s.address: %s cannot be the source of a TCP connection's replies"
                                          % (field, address))
        value = src["mss"]
        if isinstance(value, bool) or not (MIN_MSS <= value <= MAX_MSS):
            raise routing.ValidationError("%s.mss: %r is out of range (%d..%d)" % (field, value, MIN_MSS, MAX_MSS))
        if str(address) in seen:
            raise routing.ValidationError("%s.address: %s is listed twice (also sources[%d])"
                                          % (field, address, seen[str(address)]))
        seen[str(address)] = i
        sources.append({"address": str(address), "family": address.version, "mss": value})
        # one table per family: the smallest MSS asked for fits every address of the family
        mss[address.version] = min(mss.get(address.version, value), value)
    if state == "present" and not sources:
        raise routing.ValidationError("sources: give at least one address (or state: absent)")
    if state == "absent":
        sources, mss = [], {}
    rules = [routing.normalize_rule({"from": "%s/%d" % (s["address"], 32 if s["family"] == 4 else 128),
                                     "priority": prio}, i) for i, s in enumerate(sources)]
    return {"sources": sources, "mss": mss, "table_id": tid, "priority": prio, "rules": rules, "state": state}


def mirror(main_routes, mss):
    """The table's routes: each unicast route of the main table, of a family in mss, with advmss set.
    Multipath routes (neither gateway nor device of their own) are not copied: their replies take main."""
    out = []
    for r in main_routes:
        if r.get("type", RTN_UNICAST) != RTN_UNICAST or r["family"] not in mss:
            continue
        if not r.get("gateway") and not r.get("dev"):
            continue
        out.append({"dest": r["dest"], "gateway": r.get("gateway"), "dev": r.get("dev"),
                    "metric": r.get("metric") or 0, "family": r["family"], "scope": r.get("scope") or 0,
                    "advmss": mss[r["family"]]})
    return out


def same_route(want, have):
    """Whether two routes agree on dest, gateway, dev, metric, scope and advmss (unset, 0 and '' counted alike)."""
    return all((want.get(k) or None) == (have.get(k) or None)
               for k in ("dest", "gateway", "dev", "metric", "scope", "advmss"))


def route_steps(ipr, tid, want, have):
    """Make table tid hold exactly the routes want (have: its routes now)."""
    out = []
    want_keys = set(routing.route_key(r) for r in want)
    for h in have:
        if routing.route_key(h) not in want_keys:
            out.append(Step("del route %s table %d" % (route_text(h), tid),
                            lambda h=h: routing.del_route(ipr, h, tid),
                            lambda h=h: routing.replace_route(ipr, h, tid)))
    for w in want:
        if any(same_route(w, h) for h in have):
            continue
        before = [h for h in have if routing.route_key(h) == routing.route_key(w)]
        undo = (lambda b=before[0]: routing.replace_route(ipr, b, tid)) if before else \
            (lambda w=w: routing.del_route(ipr, w, tid))
        out.append(Step("replace route %s table %d" % (route_text(w), tid),
                        lambda w=w: routing.replace_route(ipr, w, tid), undo))
    return out


def kernel_steps(ipr, req, old):
    """Rules this module recorded and no longer wants go first, then the table's routes, then the new rules."""
    tid = req["table_id"]
    old_tid = old.get("table_id")
    out = routing.stale_rule_steps(ipr, old.get("rules", []), old_tid, req["rules"], tid)
    if old_tid is not None and old_tid != tid:
        for family in (4, 6):
            out += route_steps(ipr, old_tid, [], routing.kernel_routes(ipr, old_tid, family))
    for family in (4, 6):
        if req["state"] == "absent" and old_tid != tid:
            break  # nothing recorded: the table is not this module's to empty
        main = routing.kernel_routes(ipr, MAIN_TABLE, family) if family in req["mss"] else []
        out += route_steps(ipr, tid, mirror(main, req["mss"]), routing.kernel_routes(ipr, tid, family))
    return out + routing.missing_rule_steps(ipr, req["rules"], tid)


def route_text(r):
    """A route as `ip route` shows it, with scope link and advmss when set (metric 0 left out)."""
    text = routing.route_text(dict(r, metric=r.get("metric") or None))  # metric 0 is the kernel's default
    if r.get("scope") == 253:
        text += " scope link"
    if r.get("advmss"):
        text += " advmss %d" % r["advmss"]
    return text


def state_data(req):
    """What the state file records (the boot hook copies the main table again at boot)."""
    if req["state"] == "absent":
        return None
    return {"table_id": req["table_id"], "priority": req["priority"], "sources": req["sources"],
            "rules": req["rules"]}


def show(st):
    """The source_advmss state st as text, one line per source and rule; '' for no state."""
    if not st:
        return ""
    lines = ["table %d: the main table's routes with advmss" % st["table_id"]]
    lines += ["from %s: advmss %d" % (s["address"], s["mss"]) for s in st.get("sources", [])]
    lines += ["rule %s" % routing.rule_text(r) for r in st.get("rules", [])]
    return "\n".join(lines) + "\n"
