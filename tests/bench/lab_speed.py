#!/usr/bin/env python3
"""How fast the lab is for the controller on the machine (run under `lvslab run -t lab/topologies/dr.yml`).

Measured in one run, each row interleaved with the resident Python per lab host
on (LVSLAB_RESIDENT_PYTHON=1, the default) and off (a new python3 per task):
`true` in dir1 through the broker, `ansible dir1 -m ping`, a ten-task playbook
(tests/bench/playbooks/ten_tasks.yml) on one host and on five. Prints a
table of medians and min–max and the on/off ratio; writes
$LVSLAB_OUT/bench-lab-speed.json.
"""
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
import lvslab_client  # noqa: E402

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
    with open(os.path.join(os.environ.get("LVSLAB_OUT", "."), "bench-lab-speed.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
