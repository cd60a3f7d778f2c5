#!/usr/bin/env python3
"""Lab-kernel CPU of converging the DR example cluster per task.

Run under the lab: lvslab run -v -t lab/topologies/dr.yml -- python tests/bench/converge_cost.py
It runs lvs.cluster.site on inventories/lab-dr twice (first converge, then a converge with
nothing to change) and prints, for each, the lab-kernel CPU seconds (kernel_cpu_seconds,
read on the machine: it does not grow when another lab shares the cores), the wall time, the
recap, and the tasks that cost most (the callback tests/bench/callback_plugins/kernel_cpu.py).
"""
import json
import os
import re
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(BENCH))
from lab.machine import kernel_cpu_seconds  # the lab run puts the repository on PYTHONPATH

TOP = int(os.environ.get("TOP", "25"))


def converge(label):
    out = os.path.join(os.environ.get("LVSLAB_OUT", "/tmp"), "converge-%s.json" % label)
    env = dict(os.environ, KERNEL_CPU_OUT=out, ANSIBLE_CALLBACKS_ENABLED="kernel_cpu",
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(BENCH, "callback_plugins"))
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], "-i", os.path.join(REPO, "inventories", "lab-dr"),
            os.path.join(REPO, "playbooks", "site.yml")] + sys.argv[1:]
    cpu0, t0 = kernel_cpu_seconds(), time.time()
    p = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall, cpu = time.time() - t0, kernel_cpu_seconds() - cpu0
    if p.returncode != 0:
        print(p.stdout[-5000:], p.stderr[-2000:])
        raise SystemExit("%s converge failed (exit %d)" % (label, p.returncode))
    recap = [line for line in p.stdout.split("PLAY RECAP", 1)[1].splitlines() if re.match(r"^\S+\s+:", line)]
    with open(out) as f:
        rows = json.load(f)
    tasks = {}
    for name, sec in rows:
        tasks[name] = round(tasks.get(name, 0) + sec, 2)
    print("\n== %s converge: %.1f s lab-kernel CPU, %.1f s wall" % (label, cpu, wall))
    for line in recap:
        print("  " + " ".join(line.split()))
    for name, sec in sorted(tasks.items(), key=lambda kv: -kv[1])[:TOP]:
        print("  %6.2f  %s" % (sec, name))
    return cpu


def main():
    first = converge("first")
    noop = converge("no-op")
    print("\nfirst %.1f s, no-op %.1f s lab-kernel CPU" % (first, noop))


if __name__ == "__main__":
    main()
