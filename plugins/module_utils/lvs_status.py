# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status playbook's logic (pure: unit-tested in tests/unit/test_lvs_status.py).

- keepalived's own view of its VRRP instances, read from its state dumps
  (``keepalived.json`` on builds with JSON support, ``keepalived.data``
  otherwise, in keepalived's TMPDIR), reduced to what the status needs: never the authentication data or
  scripts those dumps also carry;
- the addresses a director holds (``ip -o addr show``);
- one director's status (each VRRP instance of the canonical cluster model with its
  state, from keepalived when it reports the instance, else from the addresses);
- the cluster's status over every director: split brain (a VIP held by two
  directors, an instance MASTER on two), directors without a status;
- the printed table.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

# keepalived's vrrp_t.state values (keepalived/include/vrrp.h).
VRRP_STATES = {0: "INIT", 1: "BACKUP", 2: "MASTER", 3: "FAULT", 97: "DELETED", 98: "STOP"}


def _address(text):
    """'192.0.2.100 dev eth0 scope global set', '192.0.2.100/32', '2001:DB8::1' -> canonical address text."""
    word = text.split()[0].split("/", 1)[0]
    try:
        return str(ipaddress.ip_address(u"%s" % word))
    except ValueError:
        return word


def _state_name(value):
    if isinstance(value, int):
        return VRRP_STATES.get(value, "UNKNOWN(%d)" % value)
    return str(value)


def keepalived_json_instances(dump):
    """The VRRP instances of keepalived's JSON dump (2.2.7: a list of {data, stats}; later
    versions may wrap it as {"vrrp": [...]}), each reduced to state, addresses and counters."""
    entries = dump.get("vrrp", []) if isinstance(dump, dict) else dump
    out = []
    for entry in entries or []:
        data, stats = entry.get("data") or {}, entry.get("stats") or {}
        out.append({
            "name": data.get("iname"),
            "state": _state_name(data.get("state")),
            "wanted_state": _state_name(data.get("wantstate")),
            "vrid": data.get("vrid"),
            "interface": data.get("ifp_ifname"),
            "priority": data.get("effective_priority"),
            "base_priority": data.get("base_priority"),
            "master_priority": data.get("master_priority"),
            "vips": [_address(v) for v in data.get("vips") or []],
            "vips_set": data.get("vipset"),
            "last_transition": data.get("last_transition"),
            "became_master": stats.get("become_master"),
            "released_master": stats.get("release_master"),
            "adverts_received": stats.get("advert_rcvd"),
            "adverts_sent": stats.get("advert_sent"),
        })
    return out


_DATA_KEYS = {"State": "state", "Wantstate": "wanted_state", "Virtual Router ID": "vrid",
              "Interface": "interface", "Effective priority": "priority", "Priority": "base_priority",
              "Master priority": "master_priority"}


def keepalived_data_instances(text):
    """The VRRP instances of keepalived's text dump (keepalived.data, keepalived --signum=DATA), for
    builds without JSON: the '------< VRRP Topology >------' section, same keys as
    keepalived_json_instances where the text has them."""
    out, inst, in_topology, in_vips = [], None, False, False
    # keepalived ends lines with '\n' only: str.splitlines() would also split at U+2028, U+0085, ...
    # inside a value (an instance name, a script), making a line of the dump out of a value
    for line in text.split("\n"):
        if line.startswith("------<"):
            in_topology = "VRRP Topology" in line
            inst, in_vips = None, False
            continue
        if not in_topology:
            continue
        stripped = line.strip()
        if line.startswith(" VRRP Instance = "):
            inst = {"name": stripped.split(" = ", 1)[1], "vips": []}
            out.append(inst)
            in_vips = False
        elif inst is None:
            continue
        elif stripped.startswith("Virtual IP ("):
            in_vips = True
        elif in_vips and line.startswith("     ") and stripped:
            inst["vips"].append(_address(stripped))
        else:
            in_vips = False
            if " = " in stripped:
                key, value = stripped.split(" = ", 1)
                if key in _DATA_KEYS and _DATA_KEYS[key] not in inst:
                    inst[_DATA_KEYS[key]] = int(value) if value.isdigit() else value
    return out


def ip_addresses(text):
    """`ip -o addr show` -> [{"interface", "address"}] (addresses canonical, without prefix)."""
    out = []
    for line in text.split("\n"):
        words = line.split()
        if len(words) >= 4 and words[2] in ("inet", "inet6"):
            out.append({"interface": words[1].split("@", 1)[0], "address": _address(words[3])})
    return out


def director_status(director, model, addresses, keepalived, services):
    """One director's status.

    model: the canonical cluster model (filter lvs.cluster.cluster_model); addresses: the
    output of `ip -o addr show`; keepalived: the result of lvs.cluster.keepalived_info
    (None when not read); services: lvs.cluster.ipvs_info's services.

    Each VRRP instance gets `state` from keepalived's dump when keepalived reports it
    (`state_from: keepalived`), otherwise from the addresses (`state_from: addresses`:
    MASTER when the director holds every VIP of the instance, BACKUP otherwise), `held`
    (its VIPs this director holds) and `keepalived_state` (None without a report).
    """
    held = set(a["address"] for a in ip_addresses(addresses or ""))
    keepalived = keepalived or {}
    reported = {i["name"]: i for i in keepalived.get("instances") or []}
    vrrp = []
    for inst in ((model or {}).get("vrrp") or {}).get("instances") or []:
        vips = list(inst["addresses"])
        holding = [v for v in vips if _address(v) in held]
        ka = reported.get(inst["name"])
        if ka is not None:
            state, state_from = ka["state"], "keepalived"
        else:
            state = "MASTER" if vips and len(holding) == len(vips) else "BACKUP"
            state_from = "addresses"
        vrrp.append({"instance": inst["name"], "state": state, "state_from": state_from, "vips": vips,
                     "held": holding, "keepalived_state": ka["state"] if ka is not None else None})
    return {
        "director": director,
        "keepalived": {"running": bool(keepalived.get("running")), "source": keepalived.get("source"),
                       "message": keepalived.get("msg")},
        "vrrp": vrrp,
        "services": services or [],
    }


def cluster_status(statuses, directors):
    """The cluster's status from every director's (director_status), for the directors of the run.

    statuses: {director: status} of the directors that answered; directors: every director
    the run was for. A director without a status (unreachable, or a read failed) is listed
    in `no_status`, never counted as a split brain; split brain is then only checked among
    the others (`complete: false`).

    split_brain: one finding per VIP held by more than one director (`kind: vip`) and per
    instance MASTER on more than one (`kind: master`, with where each state came from).
    Each director's VRRP entry gets `split_brain: true` when it is part of a finding.
    """
    answered = [d for d in directors if d in statuses]
    answered += sorted(d for d in statuses if d not in answered)
    no_status = [d for d in directors if d not in statuses]
    findings = []
    names = []
    for d in answered:
        for v in statuses[d]["vrrp"]:
            if v["instance"] not in names:
                names.append(v["instance"])

    def entry(d, name):
        for v in statuses[d]["vrrp"]:
            if v["instance"] == name:
                return v
        return None

    flagged = set()
    for name in names:
        entries = [(d, entry(d, name)) for d in answered]
        entries = [(d, e) for d, e in entries if e is not None]
        vips = []
        for pair in entries:
            vips += [v for v in pair[1]["vips"] if v not in vips]
        for vip in vips:
            holders = [d for d, e in entries if vip in e["held"]]
            if len(holders) > 1:
                findings.append({"kind": "vip", "instance": name, "vip": vip, "directors": holders})
                flagged.update((d, name) for d in holders)
        masters = [(d, e) for d, e in entries if e["state"] == "MASTER"]
        if len(masters) > 1:
            findings.append({"kind": "master", "instance": name, "directors": [d for d, e in masters],
                             "state_from": dict((d, e["state_from"]) for d, e in masters)})
            flagged.update((d, name) for d, e in masters)
    out = {}
    for d in answered:
        st = dict(statuses[d])
        st["vrrp"] = [dict(v, split_brain=(d, v["instance"]) in flagged) for v in st["vrrp"]]
        out[d] = st
    return {"directors": out, "split_brain": findings, "no_status": no_status,
            "complete": not no_status, "ok": not findings}


_FMT = "%-6s %-28s %-6s %6s %10s %10s %8s"


def _keepalived_note(st, v):
    if v["state_from"] == "keepalived":
        return "(keepalived)"
    ka = st["keepalived"]
    if not ka["running"]:
        return "(ip addr; keepalived not running)"
    return "(ip addr; keepalived: %s)" % (ka["message"] or "instance not reported")


def endpoint(address, port):
    """ADDRESS:PORT as ipvsadm writes it: IPv6 in brackets ([2001:db8::100]:80)."""
    return ("[%s]:%s" if ":" in str(address) else "%s:%s") % (address, port)


def status_lines(cluster):
    """The printed status: per director its VRRP instances and IPVS table, then the findings."""
    lines = []
    for d, st in cluster["directors"].items():
        lines.append("== %s ==" % d)
        for v in st["vrrp"]:
            flag = "  << SPLIT BRAIN" if v.get("split_brain") else ""
            lines.append("VRRP %s: %s %s %s%s" % (
                v["instance"], v["state"], ",".join(v["vips"]), _keepalived_note(st, v), flag))
        lines.append(_FMT % ("Prot", "Virtual / Real server", "Fwd", "Weight", "ActiveConn", "InActConn", "CPS"))
        for s in st["services"]:
            vs = endpoint(s["address"], s["port"]) if s.get("address") is not None else "fwmark %s" % s.get("fwmark")
            lines.append(_FMT % (s.get("protocol") or "fwm", vs, s.get("scheduler", ""), "", "", "",
                                 (s.get("stats") or {}).get("cps", 0)))
            for dst in s.get("destinations") or []:
                lines.append(_FMT % ("", "  -> " + endpoint(dst["address"], dst["port"]), dst.get("forward", ""),
                                     dst.get("weight", ""), dst.get("active_connections", ""),
                                     dst.get("inactive_connections", ""), (dst.get("stats") or {}).get("cps", 0)))
    for f in cluster["split_brain"]:
        if f["kind"] == "vip":
            lines.append("SPLIT BRAIN: VIP %s (%s) is held by %s" % (f["vip"], f["instance"], ", ".join(f["directors"])))
        else:
            lines.append("SPLIT BRAIN: %s is MASTER on %s" % (f["instance"], ", ".join(
                "%s (%s)" % (d, f["state_from"][d]) for d in f["directors"])))
    if cluster["no_status"]:
        lines.append("NO STATUS from %s (unreachable or a read failed, see above): split brain checked among %s only"
                     % (", ".join(cluster["no_status"]), ", ".join(cluster["directors"]) or "none"))
    if not cluster["split_brain"]:
        lines.append("No split brain: no VIP on two directors, no instance MASTER on two")
    return lines
