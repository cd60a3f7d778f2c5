#!/usr/bin/env python3
"""How fast the lab is for the controller on the machine (run under `lvslab run -t lab/topologies/dr.yml`).

Measured in one run, each row interleaved with the resident Python per lab host
on (LVSLAB_RESIDENT_PYTHON=1, the default) and off (a new python3 per task):
`true` in dir1 through the broker, `ansible dir1 -m ping`, a ten-task playbook
(tests/bench/playbooks/ten_tasks.yml) on one host and on five. Prints a
table of medians and min–max and the on/off ratio; writes
$LVSLAB_OUT/bench-lab-speed.json.

Then the lab kernel's placement on the machine's CPUs, in the same lab, interleaved:
pinned to one CPU (how `lvslab run` boots it, LVSLAB_CPU=auto) and free to run on
every CPU (LVSLAB_CPU=none): a system call, a page fault and a pure-Python loop in
dir1 (tests/bench/guest_costs.py), a new python3 in dir1, `ansible dir1 -m ping`.
"""
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
from lab import client as lvslab_client  # noqa: E402  (lvslab run: PYTHONPATH)
from lab import machine  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PLAY = os.path.join(REPO, "tests", "bench", "playbooks", "ten_tasks.yml")


def timed(argv, env):
    t0 = time.time()
    p = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s %s" % (argv, p.stdout[-2000:], p.stderr[-2000:]))
    return time.time() - t0


def main():
    inv = os.environ["LVSLAB_INVENTORY"]
    rows = {
        "true in dir1 (broker round trip)": None,
        "ansible dir1 -m ping": ["ansible", "-i", inv, "dir1", "-m", "ping"],
        "10-task playbook, one host": ["ansible-playbook", "-i", inv, PLAY],
        "10-task playbook, five hosts": ["ansible-playbook", "-i", inv, PLAY, "-e", "bench_hosts=all"],
    }
    # Warm-up: every host's resident Python started once, caches filled.
    timed(rows["10-task playbook, five hosts"], dict(os.environ))
    results = {}
    for name, argv in rows.items():
        for mode in ("1", "0"):
            results.setdefault(name, {}).setdefault(mode, [])
        for _ in range(ROUNDS):
            for mode in ("1", "0"):
                env = dict(os.environ, LVSLAB_RESIDENT_PYTHON=mode)
                if argv is None:
                    t0 = time.time()
                    for _ in range(10):
                        lvslab_client.run(["true"], host="dir1")
                    dt = (time.time() - t0) / 10
                else:
                    dt = timed(argv, env)
                results[name][mode].append(dt)
    print("\n| | resident Python (default) | new python3 per task | ratio |")
    print("|---|---|---|---|")
    for name, r in results.items():
        on, off = r["1"], r["0"]
        print("| %s | %.2f s (%.2f–%.2f) | %.2f s (%.2f–%.2f) | %.2f |" % (
            name, statistics.median(on), min(on), max(on), statistics.median(off), min(off), max(off),
            statistics.median(on) / statistics.median(off)))
    results["placement"] = placement(inv)
    with open(os.path.join(os.environ.get("LVSLAB_OUT", "."), "bench-lab-speed.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0


def in_dir1(argv):
    rc, out, err, error = lvslab_client.run(argv, host="dir1")
    if rc != 0 or error:
        raise RuntimeError("%s in dir1: %s %s %s" % (argv, rc, error, err.decode()[-2000:]))
    return out.decode()


def placement(inv):
    """Pinned to one CPU against free on every CPU, interleaved in this lab."""
    pids = machine.lab_kernel_pids()
    if not pids:
        print("\nplacement: the lab kernel's processes are not visible here; not measured")
        return None
    booted = os.sched_getaffinity(pids[0])
    one = booted if len(booted) == 1 else {machine.choose_cpu("auto")}
    every = os.sched_getaffinity(0)
    costs = os.path.join(REPO, "tests", "bench", "guest_costs.py")
    start = "t0=$(date +%s%N); /usr/bin/python3 -c pass; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 ))"
    rows = ("system call (us)", "page fault (us)", "pure-Python loop (s)", "new python3 in dir1 (s)",
            "ansible dir1 -m ping (s)")
    results = dict((name, {"one CPU": [], "every CPU": []}) for name in rows)
    for rnd in range(ROUNDS):
        for where in (("one CPU", "every CPU") if rnd % 2 == 0 else ("every CPU", "one CPU")):
            machine.pin_lab_kernel(one if where == "one CPU" else every)
            c = json.loads(in_dir1(["/usr/bin/python3", costs]))
            results["system call (us)"][where].append(c["syscall_us"])
            results["page fault (us)"][where].append(c["fault_us"])
            results["pure-Python loop (s)"][where].append(c["loop_s"])
            results["new python3 in dir1 (s)"][where].append(
                statistics.median(int(in_dir1(["/bin/sh", "-c", start])) / 1e6 for _ in range(3)))
            results["ansible dir1 -m ping (s)"][where].append(
                timed(["ansible", "-i", inv, "dir1", "-m", "ping"], dict(os.environ)))
    machine.pin_lab_kernel(booted)
    print("\n| lab kernel on | one CPU (the default) | every CPU | every / one |")
    print("|---|---|---|---|")
    for name in rows:
        a, b = results[name]["one CPU"], results[name]["every CPU"]
        print("| %s | %.3g (%.3g–%.3g) | %.3g (%.3g–%.3g) | %.2f |" % (
            name, statistics.median(a), min(a), max(a), statistics.median(b), min(b), max(b),
            statistics.median(b) / statistics.median(a)))
    return results


if __name__ == "__main__":
    sys.exit(main())
