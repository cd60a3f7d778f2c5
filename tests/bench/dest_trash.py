#!/usr/bin/env python3
"""The kernel's real-server trash makes a first apply right after a flush slower (issue 16).

Run inside the lab: lab/bin/lvslab run -t lab/topologies/dr.yml -- python tests/bench/dest_trash.py

IPVS keeps deleted real servers in a trash list for a while (ip_vs_ctl.c, dest_trash)
and every add scans it, so the same table loads slower right after a flush, for
ipvsadm-restore as for the module. Times N=5000 x 10 on a fresh kernel, then again
(wall seconds in the director, CPU seconds of the lab kernel).
"""
import json

import bulk_table as b  # next to this script

b.run(b.HOST, "modprobe ip_vs; ipvsadm -C")
n = 5000
base = b.services(n, 10)
rules = b.rules_text(base)
b.put("apply.json", json.dumps({"module": "ipvs_table", "args": {"services": base, "purge": True}, "check": False, "diff": False}) + "\n")
b.put("purge.json", json.dumps({"module": "ipvs_table", "args": {"services": [], "purge": True}, "check": False, "diff": False}) + "\n")
b.put("rules", rules)
print("fresh kernel (empty trash): module first apply %.2f s, CPU %.2f s" % b.measured(b.module_cmd("apply.json")),
      flush=True)
b.check(rules, "fresh")
print("module purge (flush) %.2f s" % b.timed(b.module_cmd("purge.json")), flush=True)
print("right after the flush (50,000 real servers in the kernel's dest trash): module first apply %.2f s, CPU %.2f s"
      % b.measured(b.module_cmd("apply.json")), flush=True)
b.check(rules, "after flush")
b.run(b.HOST, "ipvsadm -C")
print("restore right after a flush: %.2f s, CPU %.2f s" % b.measured("ipvsadm-restore < /tmp/rules"), flush=True)
b.check(rules, "restore after flush")
