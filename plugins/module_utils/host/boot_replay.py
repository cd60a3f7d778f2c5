# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# lvs-cluster-net: replays the state files of the lvs.cluster collection
# (/etc/lvs-cluster/*.json) with `ip`, `sysctl` and `ipvsadm`. Written by the modules
# vip_address, gue_port, arp_sysctl, policy_route, source_advmss and ipvs_global; do not edit.
#   lvs-cluster-net apply   apply every state file (idempotent)
#   lvs-cluster-net show    print the commands apply would run
# This file is the program itself: persist.py installs its source as
# /usr/local/sbin/lvs-cluster-net (with a python3 shebang); tests import it.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import subprocess
import sys

STATE_DIR = "/etc/lvs-cluster"
ORDER = {"vip": 0, "gue_port": 0, "sysctl": 1, "policy_route": 2, "source_advmss": 3, "ipvs": 4}
SCOPES = {"link": 253, "host": 254}
TUNNEL_MODULE = {"ipip": "ipip", "gre": "ip_gre"}


def proc_sys_path(key):
    """The /proc/sys file of a sysctl key, given dotted (net.ipv4.ip_forward) or with slashes."""
    if "/" in key:
        return "/proc/sys/" + key
    return "/proc/sys/" + key.replace(".", "/")


def fam(item):
    """The `ip` family flag of a state item: '-6' for family 6, else '-4'."""
    return "-6" if item.get("family") == 6 else "-4"


def rule_spec(rule, table_id):
    """The `ip rule` arguments (from, to, fwmark, iif, priority) of a state rule, selecting table_id."""
    spec = []
    if rule.get("from"):
        spec += ["from", rule["from"]]
    if rule.get("to"):
        spec += ["to", rule["to"]]
    if rule.get("fwmark") is not None:
        mark = "0x%x" % rule["fwmark"]
        if rule.get("fwmask") is not None:
            mark += "/0x%x" % rule["fwmask"]
        spec += ["fwmark", mark]
    if rule.get("iif"):
        spec += ["iif", rule["iif"]]
    if rule.get("priority") is not None:
        spec += ["priority", str(rule["priority"])]
    return spec + ["table", str(table_id)]


def route_spec(route, table_id):
    """The `ip route` arguments of a state route (default when no dest), as proto static in table_id."""
    spec = [route.get("dest") or "default"]
    if route.get("gateway"):
        spec += ["via", route["gateway"]]
    if route.get("dev"):
        spec += ["dev", route["dev"]]
    if route.get("metric") is not None:
        spec += ["metric", str(route["metric"])]
    if route.get("scope"):
        spec += ["scope", str(route["scope"])]
    if route.get("advmss"):
        spec += ["advmss", str(route["advmss"])]
    # proto static: what the module's netlink calls (pyroute2) set too
    return spec + ["proto", "static", "table", str(table_id)]


def main_routes(family):
    """The main table's unicast routes, as `ip -j route` gives them (source_advmss copies them)."""
    res = subprocess.run(["ip", "-j", "-%d" % family, "route", "show", "table", "main"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if res.returncode != 0:
        sys.stderr.write("lvs-cluster-net: ip route show table main: %s\n" % res.stderr.strip())
        return []
    return json.loads(res.stdout or "[]")


def advmss_routes(state, read_main=main_routes):
    """source_advmss: each unicast route of the main table with advmss (the smallest MSS of its family)."""
    mss = {}
    for src in state.get("sources", []):
        mss[src["family"]] = min(mss.get(src["family"], src["mss"]), src["mss"])
    out = []
    for family in sorted(mss):
        for r in read_main(family):
            if r.get("type", "unicast") != "unicast" or not (r.get("gateway") or r.get("dev")):
                continue  # not unicast, or multipath (as the module)
            out.append({"dest": r["dst"], "gateway": r.get("gateway"), "dev": r.get("dev"),
                        "metric": r.get("metric"), "scope": r.get("scope") if r.get("scope") in SCOPES else None,
                        "advmss": mss[family], "family": family})
    return out


def commands(state, read_main=main_routes):
    """(argv, tolerate_failure, condition) steps for one state file.
    condition: None, or ("exists", path) / ("missing", path)."""
    kind = state.get("kind")
    steps = []
    if kind == "vip":
        dev = state["interface"]
        dtype = state.get("type")
        if dtype in ("ipip", "gre"):
            # the module creates the fallback device (tunl0, gre0) in every network namespace
            steps.append((["modprobe", TUNNEL_MODULE[dtype]], True, ("missing", "/sys/class/net/" + dev)))
        elif dtype == "dummy":
            steps.append((["modprobe", "dummy"], True, ("missing", "/sys/class/net/" + dev)))
            steps.append((["ip", "link", "add", dev, "type", "dummy"], False,
                          ("missing", "/sys/class/net/" + dev)))
        steps.append((["ip", "link", "set", dev, "up"], False, None))
        for a in state.get("addresses", []):
            steps.append((["ip", fam(a), "addr", "replace", a["address"], "dev", dev], False, None))
            if a.get("host_route"):
                net = a["address"].split("/")[0] + ("/128" if a.get("family") == 6 else "/32")
                steps.append((["ip", fam(a), "route", "replace", net, "dev", dev, "proto", "static",
                               "scope", "link"],
                              False, None))
    elif kind == "gue_port":
        # GUE ports (module gue_port): del first, so that apply can run again (add fails on an open port)
        steps.append((["modprobe", "fou"], True, ("missing", "/sys/module/fou")))
        for port in state.get("ports", []):
            steps.append((["ip", "fou", "del", "port", str(int(port))], True, None))
            steps.append((["ip", "fou", "add", "port", str(int(port)), "gue"], False, None))
    elif kind == "sysctl":
        for key, value in sorted(state.get("settings", {}).items()):
            steps.append((["sysctl", "-q", "-w", "%s=%s" % (key, value)], False,
                          ("exists", proc_sys_path(key))))
    elif kind in ("policy_route", "source_advmss"):
        if kind == "policy_route":
            tid, routes = state["table"]["id"], state.get("routes", [])
        else:
            tid, routes = state["table_id"], advmss_routes(state, read_main)
        for route in routes:
            steps.append((["ip", fam(route), "route", "replace"] + route_spec(route, tid), False, None))
        for rule in state.get("rules", []):
            spec = rule_spec(rule, tid)
            steps.append((["ip", fam(rule), "rule", "del"] + spec, True, None))
            steps.append((["ip", fam(rule), "rule", "add"] + spec, False, None))
    elif kind == "ipvs":
        timeouts = state.get("timeouts") or {}
        if timeouts:
            # ip_vs is loaded by modules-load.d/kmod before this runs; ipvsadm would load it
            # too. 0 leaves a timeout as the kernel has it (ipvsadm --set semantics).
            steps.append((["modprobe", "ip_vs"], True, ("missing", "/proc/net/ip_vs")))
            steps.append((["ipvsadm", "--set"] + [str(int(timeouts.get(k) or 0)) for k in ("tcp", "tcp_fin", "udp")],
                          False, None))
    return steps


def load_states(state_dir=STATE_DIR):
    """[(path, state)] of the state files in state_dir, in replay order (ORDER by kind, then path);
    unreadable files are reported on stderr and skipped."""
    states = []
    for path in sorted(glob.glob(os.path.join(state_dir, "*.json"))):
        try:
            with open(path) as f:
                state = json.load(f)
        except (OSError, ValueError) as exc:
            sys.stderr.write("lvs-cluster-net: %s: %s\n" % (path, exc))
            continue
        states.append((ORDER.get(state.get("kind"), 9), path, state))
    return [(p, s) for _order, p, s in sorted(states, key=lambda t: (t[0], t[1]))]


def main(argv):
    """The lvs-cluster-net command: apply (or start) runs every state file's commands, show prints them;
    returns 0, 1 if a command failed that must not, or 2 on a usage error."""
    action = argv[1] if len(argv) > 1 else "apply"
    if action not in ("apply", "show", "start"):
        sys.stderr.write("usage: lvs-cluster-net apply|show\n")
        return 2
    failed = 0
    for path, state in load_states():
        for argv_, tolerate, cond in commands(state):
            if cond and (os.path.exists(cond[1]) != (cond[0] == "exists")):
                continue
            if action == "show":
                sys.stdout.write(" ".join(argv_) + "\n")
                continue
            res = subprocess.run(argv_, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 universal_newlines=True, check=False)
            if res.returncode != 0 and not tolerate:
                failed += 1
                sys.stderr.write("lvs-cluster-net: %s: %s: %s\n"
                                 % (os.path.basename(path), " ".join(argv_), res.stderr.strip()))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
