# -*- coding: utf-8 -*-
# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Addresses, routing tables, routes and rules for LVS real servers:
validation and normalisation (pure), and kernel access through pyroute2
(IPRoute; works with pyroute2 0.7.x and 0.9.x)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os
import traceback

from ansible_collections.lvs.cluster.plugins.module_utils import fields

try:
    from pyroute2 import IPRoute  # pylint: disable=unused-import  # modules call routing.IPRoute()
    from pyroute2.netlink.exceptions import NetlinkError
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError:
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = traceback.format_exc()

    class NetlinkError(Exception):
        pass

RT_TABLES_FILES = ("/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables",
                   "/usr/lib/iproute2/rt_tables")
RT_TABLES_DIRS = ("/etc/iproute2/rt_tables.d", "/usr/share/iproute2/rt_tables.d")
RT_TABLES_D = "/etc/iproute2/rt_tables.d"
RESERVED_TABLES = {0: "unspec", 253: "default", 254: "main", 255: "local"}
U32 = 0xFFFFFFFF
AF_INET, AF_INET6 = 2, 10


# A bad input; the message names the field (the vocabulary's error).
ValidationError = fields.FieldError


def to_text(s):
    """s as a text (unicode) string."""
    return u"%s" % s


# ---------------------------------------------------------------- addresses

def parse_interface_address(value, field):
    """'192.0.2.100' or '192.0.2.100/32' -> ipaddress.ip_interface (host
    prefix when none is given)."""
    return fields.interface_address(field, value)


def parse_network(value, field):
    """'default', 'all', '10.0.0.0/8', '10.1.2.3' -> (network or None)."""
    s = to_text(value).strip()
    if s in ("default", "all", "any"):
        return None
    try:
        return ipaddress.ip_network(s if "/" in s else s + ("/128" if ":" in s else "/32"), strict=True)
    except ValueError as exc:
        raise ValidationError("%s: %r is not a network (%s)" % (field, value, exc))


def parse_address(value, field):
    """An IP address (no zone id) as ipaddress object, or ValidationError naming field."""
    return fields.ip(field, to_text(value).strip())


def family_of(ver):
    """The socket address family of an IP version: AF_INET6 for 6, else AF_INET."""
    return AF_INET6 if ver == 6 else AF_INET


# ---------------------------------------------------------------- rt_tables

def parse_rt_tables(text, source="rt_tables"):
    """[(id, name, source)] of an rt_tables file's text."""
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        try:
            tid = int(parts[0], 0)
        except ValueError:
            continue
        entries.append((tid, parts[1], source))
    return entries


def read_rt_tables(exclude=None, files=RT_TABLES_FILES, dirs=RT_TABLES_DIRS):
    """The (id, name, path) entries of every rt_tables file and rt_tables.d/*.conf, skipping the file
    exclude and unreadable ones."""
    entries = []
    paths = [f for f in files if os.path.isfile(f)]
    for d in dirs:
        if os.path.isdir(d):
            paths += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".conf")]
    for path in paths:
        if exclude and os.path.abspath(path) == os.path.abspath(exclude):
            continue
        try:
            with open(path) as f:
                entries += parse_rt_tables(f.read(), path)
        except (IOError, OSError):
            pass
    return entries


def validate_table(name, table_id, entries):
    """Check a table name and number against each other and against the
    existing rt_tables entries (not counting the module's own file)."""
    fields.table_name("name", name)
    if name in RESERVED_TABLES.values():
        raise ValidationError("name: %r is a reserved routing table" % name)
    if table_id is None:
        raise ValidationError("table_id: required with state=present")
    if not (1 <= table_id <= U32) or table_id in RESERVED_TABLES:
        raise ValidationError("table_id: %s is out of range (1..4294967295, not 253, 254, 255)" % table_id)
    for tid, tname, source in entries:
        if tname == name and tid != table_id:
            raise ValidationError("name: table %r is already number %d in %s (table_id %d clashes)"
                                  % (name, tid, source, table_id))
        if tid == table_id and tname != name:
            raise ValidationError("table_id: %d is already table %r in %s" % (table_id, tname, source))


def render_rt_tables(name, table_id):
    """The content of the rt_tables.d file that names table_id name."""
    return "# Managed by the lvs.cluster collection (policy_route); do not edit.\n%d\t%s\n" % (table_id, name)


def rt_tables_path(name):
    """The rt_tables.d file this collection writes for the table name."""
    return os.path.join(RT_TABLES_D, "%s.conf" % name)


# ---------------------------------------------------------------- routes and rules (pure)

def normalize_route(spec, idx, link_exists):
    """Validated canonical route dict: dest, gateway, dev, metric, family."""
    field = "routes[%d]" % idx
    dest = parse_network(spec.get("dest") or "default", field + ".dest")
    gw = parse_address(spec["gateway"], field + ".gateway") if spec.get("gateway") else None
    dev = spec.get("dev")
    if dev is not None:
        fields.ifname(field + ".dev", dev)
    if gw is None and not dev:
        raise ValidationError("%s: give gateway or dev" % field)
    if dest is not None and gw is not None and dest.version != gw.version:
        raise ValidationError("%s.gateway: %s is not of the family of dest %s" % (field, gw, dest))
    if dev and not link_exists(dev):
        raise ValidationError("%s.dev: no such network interface %r" % (field, dev))
    metric = spec.get("metric")
    if isinstance(metric, bool):
        raise ValidationError("%s.metric: %r is a boolean, not an integer" % (field, metric))
    if metric is not None and not (0 <= metric <= U32):
        raise ValidationError("%s.metric: %s is out of range (0..4294967295)" % (field, metric))
    version = dest.version if dest is not None else (gw.version if gw is not None else 4)
    return {"dest": str(dest) if dest is not None else "default",
            "gateway": str(gw) if gw is not None else None,
            "dev": dev or None, "metric": metric, "family": version}


def parse_fwmark(value, field):
    """(mark, mask or None) of a 'mark[/mask]' value (0x.. allowed); ValidationError naming field
    if it does not parse or is out of 0..0xffffffff."""
    s = to_text(value).strip()
    mark, _sep, mask = s.partition("/")
    try:
        m = int(mark, 0)
        k = int(mask, 0) if mask else None
    except ValueError:
        raise ValidationError("%s: %r is not a mark[/mask] (integers, 0x.. allowed)" % (field, value))
    if not (0 <= m <= U32) or (k is not None and not (0 <= k <= U32)):
        raise ValidationError("%s: %r is out of range (0..0xffffffff)" % (field, value))
    return m, k


def normalize_rule(spec, idx):
    """Validated canonical rule dict: from, to, fwmark, fwmask, iif, priority, family."""
    field = "rules[%d]" % idx
    src = parse_network(spec["from"], field + ".from") if spec.get("from") else None
    dst = parse_network(spec["to"], field + ".to") if spec.get("to") else None
    if src is not None and dst is not None and src.version != dst.version:
        raise ValidationError("%s: from %s and to %s are of different families" % (field, src, dst))
    mark = mask = None
    if spec.get("fwmark") not in (None, ""):
        mark, mask = parse_fwmark(spec["fwmark"], field + ".fwmark")
    prio = spec.get("priority")
    if isinstance(prio, bool):
        raise ValidationError("%s.priority: %r is a boolean, not an integer" % (field, prio))
    if prio is not None and not (1 <= prio <= 32766):
        raise ValidationError("%s.priority: %s is out of range (1..32766)" % (field, prio))
    iif = spec.get("iif") or None
    if iif is not None:
        fields.ifname(field + ".iif", iif)
    if src is None and dst is None and mark is None and iif is None:
        raise ValidationError("%s: give from, to, fwmark or iif: a rule without a selector (or with only "
                              "'from: all') sends all traffic of the host to the table" % field)
    version = (src or dst).version if (src or dst) is not None else 4
    return {"from": str(src) if src is not None else None, "to": str(dst) if dst is not None else None,
            "fwmark": mark, "fwmask": mask, "iif": iif, "priority": prio, "family": version}


def route_text(r):
    """A route as `ip route` shows it: dest [via gateway] [dev dev] [metric N]."""
    s = r["dest"]
    if r.get("gateway"):
        s += " via " + r["gateway"]
    if r.get("dev"):
        s += " dev " + r["dev"]
    if r.get("metric") is not None:
        s += " metric %d" % r["metric"]
    return s


def rule_text(r):
    """A rule as `ip rule` shows it: [priority: ]from X [to Y] [fwmark M/K] [iif I]."""
    s = "from " + (r.get("from") or "all")
    if r.get("to"):
        s += " to " + r["to"]
    if r.get("fwmark") is not None:
        s += " fwmark 0x%x" % r["fwmark"] + ("/0x%x" % r["fwmask"] if r.get("fwmask") is not None else "")
    if r.get("iif"):
        s += " iif " + r["iif"]
    if r.get("priority") is not None:
        s = "%d: " % r["priority"] + s
    return s


# ---------------------------------------------------------------- kernel (pyroute2)

def _attr(msg, name):
    return msg.get_attr(name)


def link_index(ipr, name):
    """The interface index of the link name (pyroute2 IPRoute ipr), or None if there is none."""
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def link_name(ipr, index):
    """The name of the link with the interface index (pyroute2 IPRoute ipr), or None if there is none."""
    links = ipr.get_links(index)
    return links[0].get_attr("IFLA_IFNAME") if links else None


def kernel_rules(ipr, table_id, family):
    """Rules of the family selecting table_id, as canonical dicts (+ '_prio')."""
    out = []
    for msg in ipr.get_rules(family=family_of(family)):
        table = _attr(msg, "FRA_TABLE") or msg["table"]
        if table != table_id or msg["action"] != 1:  # FR_ACT_TO_TBL
            continue
        src, dst = _attr(msg, "FRA_SRC"), _attr(msg, "FRA_DST")
        mask = _attr(msg, "FRA_FWMASK")
        mark = _attr(msg, "FRA_FWMARK")
        out.append({
            "from": "%s/%d" % (src, msg["src_len"]) if src else None,
            "to": "%s/%d" % (dst, msg["dst_len"]) if dst else None,
            "fwmark": mark if (mark or mask) else None,
            "fwmask": mask if (mark or mask) else None,
            "iif": _attr(msg, "FRA_IIFNAME"),
            "priority": _attr(msg, "FRA_PRIORITY") or 0,
            "family": family,
        })
    return out


def rule_matches(want, have):
    """Whether the kernel rule have is the wanted rule want: same from, to, iif, fwmark/mask and
    (when want sets one) priority."""
    for k in ("from", "to", "iif"):
        if want.get(k) != have.get(k):
            return False
    if want.get("fwmark") is None:
        if have.get("fwmark") is not None:
            return False
    else:
        wmask = U32 if want.get("fwmask") is None else want["fwmask"]
        if have.get("fwmark") != want["fwmark"] or (have.get("fwmask") or U32) != wmask:
            return False
    if want.get("priority") is not None and want["priority"] != have.get("priority"):
        return False
    return True


def _rule_kwargs(rule, table_id):
    kw = {"table": table_id, "family": family_of(rule["family"]), "action": "FR_ACT_TO_TBL"}
    if rule.get("from"):
        a, ln = rule["from"].split("/")
        kw.update(src=a, src_len=int(ln))
    if rule.get("to"):
        a, ln = rule["to"].split("/")
        kw.update(dst=a, dst_len=int(ln))
    if rule.get("fwmark") is not None:
        kw["fwmark"] = rule["fwmark"]
        kw["fwmask"] = U32 if rule.get("fwmask") is None else rule["fwmask"]
    if rule.get("iif"):
        kw["iifname"] = rule["iif"]
    if rule.get("priority"):
        kw["priority"] = rule["priority"]
    return kw


def add_rule(ipr, rule, table_id):
    """Add the rule selecting table_id to the kernel via pyroute2 (ip rule add); NetlinkError on failure."""
    kw = _rule_kwargs(rule, table_id)
    kw.pop("action")
    ipr.rule("add", **kw)


def del_rule(ipr, have, table_id):
    """Delete one kernel rule (a dict from kernel_rules)."""
    kw = _rule_kwargs(have, table_id)
    kw.pop("action")
    ipr.rule("del", **kw)


def kernel_routes(ipr, table_id, family):
    """The routes of table_id and family (4 or 6) as canonical dicts; [] when the table does not exist."""
    out = []
    try:
        msgs = ipr.get_routes(family=family_of(family), table=table_id)
    except NetlinkError:  # the table does not exist (yet)
        return out
    for msg in msgs:
        table = _attr(msg, "RTA_TABLE") or msg["table"]
        if table != table_id:
            continue
        dst = _attr(msg, "RTA_DST")
        oif = _attr(msg, "RTA_OIF")
        metrics = _attr(msg, "RTA_METRICS")
        out.append({
            "dest": "%s/%d" % (dst, msg["dst_len"]) if dst else "default",
            "gateway": _attr(msg, "RTA_GATEWAY"),
            "dev": link_name(ipr, oif) if oif else None,
            "metric": _attr(msg, "RTA_PRIORITY") or 0,
            "family": family,
            "scope": msg["scope"],
            "type": msg["type"],
            "advmss": metrics.get_attr("RTAX_ADVMSS") if metrics is not None else None,
        })
    return out


def route_key(r):
    """What identifies a route in a table: (dest, metric), metric unset counted as 0."""
    return (r["dest"], r.get("metric") or 0)


def route_matches(want, have):
    """Whether the kernel route have is the wanted route want: same key, and the same gateway and dev
    where want sets them."""
    if route_key(want) != route_key(have):
        return False
    if want.get("gateway") and want["gateway"] != have.get("gateway"):
        return False
    if want.get("dev") and want["dev"] != have.get("dev"):
        return False
    return True


def _route_kwargs(ipr, route, table_id):
    kw = {"table": table_id, "family": family_of(route["family"])}
    if route["dest"] != "default":
        a, ln = route["dest"].split("/")
        kw.update(dst=a, dst_len=int(ln))
    else:
        kw["dst_len"] = 0
    if route.get("gateway"):
        kw["gateway"] = route["gateway"]
    if route.get("dev"):
        kw["oif"] = link_index(ipr, route["dev"])
    if route.get("metric"):
        kw["priority"] = route["metric"]
    if route.get("scope"):
        kw["scope"] = route["scope"]
    if route.get("advmss"):
        kw["metrics"] = {"advmss": route["advmss"]}  # pyroute2 0.7 ignores the raw {"attrs": ...} form
    return kw


def replace_route(ipr, route, table_id):
    """Add or replace the route in table_id via pyroute2 (ip route replace); NetlinkError on failure."""
    ipr.route("replace", **_route_kwargs(ipr, route, table_id))


def del_route(ipr, route, table_id):
    """Delete the route from table_id via pyroute2 (ip route del); NetlinkError on failure."""
    kw = _route_kwargs(ipr, route, table_id)
    ipr.route("del", **kw)


def kernel_addresses(ipr, index):
    """['192.0.2.100/32', ...] on a link."""
    return ["%s/%d" % (a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS"), a["prefixlen"])
            for a in ipr.get_addr(index=index)]


# ---------------------------------------------------------------- rule steps (policy_route, source_advmss)

def stale_rule_steps(ipr, old_rules, old_tid, keep_rules, tid):
    """Delete the rules a module recorded (to table old_tid) that it no longer wants."""
    from ansible_collections.lvs.cluster.plugins.module_utils.steps import Step
    out = []
    for r in old_rules:
        if old_tid is not None and (old_tid != tid or r not in keep_rules):
            for have in kernel_rules(ipr, old_tid, r["family"]):
                if rule_matches(r, have):
                    out.append(Step("del rule %s table %d" % (rule_text(have), old_tid),
                                    lambda h=have, t=old_tid: del_rule(ipr, h, t),
                                    lambda h=have, t=old_tid: add_rule(ipr, h, t)))
                    break
    return out


def missing_rule_steps(ipr, rules, tid):
    """Add the wanted rules to table tid that the kernel does not hold yet."""
    from ansible_collections.lvs.cluster.plugins.module_utils.steps import Step
    out = []
    for r in rules:
        if not any(rule_matches(r, h) for h in kernel_rules(ipr, tid, r["family"])):
            out.append(Step("add rule %s table %d" % (rule_text(r), tid),
                            lambda r=r: add_rule(ipr, r, tid),
                            lambda r=r: del_rule(ipr, r, tid)))
    return out


# ---------------------------------------------------------------- vip_address steps

IFF_UP = 0x1


def _is_up(ipr, idx):
    links = ipr.get_links(idx)
    return bool(links and links[0]["flags"] & IFF_UP)


def vip_steps(module, ipr, req, dtype, pl, link):
    """The kernel steps of a vip_address plan (host.vip.plan), each with its undo.
    link: {"idx": index or None}, updated when the device is created."""
    from ansible_collections.lvs.cluster.plugins.module_utils.steps import Step, StepError
    from ansible_collections.lvs.cluster.plugins.module_utils.host import vip as vipmodel
    dev = req["interface"]
    out = []

    def idx():
        return link["idx"]

    if pl["create"]:
        if dtype in vipmodel.TUNNEL_MODULE:
            kmod = vipmodel.TUNNEL_MODULE[dtype]

            def load_tunnel():
                rc, _o, err = module.run_command(["modprobe", kmod])
                link["idx"] = link_index(ipr, dev)
                if link["idx"] is None:
                    raise StepError("%s did not appear after modprobe %s: %s" % (dev, kmod, err.strip()))
            out.append(Step("modprobe %s (creates %s)" % (kmod, dev), load_tunnel, lambda: None))
        elif dtype == "dummy":
            def create():
                module.run_command(["modprobe", "dummy"])
                ipr.link("add", ifname=dev, kind="dummy")
                link["idx"] = link_index(ipr, dev)
            out.append(Step("ip link add %s type dummy" % dev, create,
                            lambda: ipr.link("del", index=idx())))
        else:
            raise StepError("interface: no such network interface %r" % dev)
    if req["state"] == "present":
        was = {}

        def up():
            was["up"] = _is_up(ipr, idx())
            if not was["up"]:
                ipr.link("set", index=idx(), state="up")

        def down():
            if not was.get("up", True):
                ipr.link("set", index=idx(), state="down")
        out.append(Step("ip link set %s up" % dev, up, down))

    def addr(cmd, a):
        ip, plen = a.split("/")
        return lambda: ipr.addr(cmd, index=idx(), address=ip, prefixlen=int(plen))
    for a in pl["delete"]:
        out.append(Step("ip addr del %s dev %s" % (a, dev), addr("del", a), addr("add", a)))
    for a in pl["add"]:
        out.append(Step("ip addr add %s dev %s" % (a, dev), addr("add", a), addr("del", a)))

    def route(cmd, v, tolerate=False):
        ip = v["address"].split("/")[0]
        kw = dict(dst=ip, dst_len=128 if v["family"] == 6 else 32, scope=253, family=family_of(v["family"]))

        def do():
            if idx() is None:  # no device: no route through it
                return
            try:
                ipr.route(cmd, oif=idx(), **kw)
            except NetlinkError:
                if not tolerate:
                    raise
        return do
    for v in req["vips"]:
        if not v["host_route"]:
            continue
        if req["state"] == "present":
            new = v["address"] in pl["add"]
            out.append(Step("ip route replace %s dev %s scope link" % (v["address"].split("/")[0], dev),
                            route("replace", v), route("del", v, True) if new else (lambda: None)))
        else:
            out.append(Step("ip route del %s dev %s" % (v["address"].split("/")[0], dev),
                            route("del", v, True), lambda: None))
    if pl["remove_device"]:
        out.append(Step("ip link del %s" % dev, lambda: ipr.link("del", index=idx()), None))
    return out
