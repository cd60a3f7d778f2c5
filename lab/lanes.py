"""Run the lab parts of the suite in lanes: one lab kernel per lane, lanes side by side.

The lab kernel has one CPU; the machine has two cores, so two labs at once use
it fully (more would only queue). Each lane runs its jobs in order, each job in
its own `lvslab run` with the lane's own output folder (.lab/lane-N), so two
labs never share a socket, an inventory or an Ansible home.

    lab/lanes.py 'lab: -t lab/topologies/dr.yml -- pytest tests/lab' 'dr: -- molecule test -s dr' ...

Each job is NAME: LVSLAB-RUN-ARGUMENTS (shell words), or NAME!: COMMAND for a
job that boots its own labs (tests/harness) with the lane's folder as
it is run as is. Jobs are given to lanes
in order, longest first if --weights gives their expected minutes. The job's
output goes to .lab/lane-N/NAME.log; a failed job's log tail is printed. The
summary gives each job's time and status; the exit status is 0 only if every
job passed.
"""
import argparse
import os
import shlex
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LVSLAB = os.path.join(REPO, "lab", "bin", "lvslab")


def parse_job(text):
    name, _, rest = text.partition(":")
    name = name.strip()
    if name.endswith("!"):
        return name[:-1], ["!"] + shlex.split(rest)
    return name, shlex.split(rest)


def assign(jobs, lanes, weights):
    """Longest-processing-time-first: each job to the lane with the least work so far."""
    load = [0.0] * lanes
    plan = [[] for _ in range(lanes)]
    order = sorted(jobs, key=lambda j: -weights.get(j[0], 1.0)) if weights else jobs
    for job in order:
        i = load.index(min(load))
        plan[i].append(job)
        load[i] += weights.get(job[0], 1.0)
    return plan


# Lines that say why a job failed: pytest's short summary and assertion lines,
# the lab's timeouts, Ansible's failed tasks, Molecule's errors.
REASON_MARKS = ("FAILED ", "ERROR ", "E   ", "fatal:", "CRITICAL", "RuntimeError", "Timeout", "timed out")


def failure_digest(text, limit=20):
    """The lines of a failed job's log that say why, at most `limit` (the first ones):
    printed again after the summary, where a CI log's tail still shows them."""
    lines = [line.rstrip() for line in text.splitlines() if line.lstrip().startswith(REASON_MARKS)
             or "timed out" in line]
    return [line[:300] for line in lines[:limit]]


def run_lane(index, jobs, results, lock, timeout):
    out = os.path.join(REPO, ".lab", "lane-%d" % index)
    os.makedirs(out, exist_ok=True)
    for name, args in jobs:
        log_path = os.path.join(out, name + ".log")
        with lock:
            print("[lane %d] %s: start (%s)" % (index, name, log_path), flush=True)
        t0 = time.time()
        if args[:1] == ["!"]:
            argv = args[1:]
        else:
            argv = [LVSLAB, "run", "-v", "--out", out, "--timeout", str(timeout)] + args
        with open(log_path, "w") as log:
            try:
                p = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   cwd=REPO, timeout=timeout + 120)
            except subprocess.TimeoutExpired:
                p = subprocess.CompletedProcess(argv, 124)
        took = time.time() - t0
        with open(log_path, errors="replace") as log:
            text = log.read()
        tail = [line for line in text.splitlines() if line.strip()][-1:] or [""]
        with lock:
            results.append((name, index, took, p.returncode,
                            failure_digest(text) if p.returncode != 0 else []))
            status = "ok" if p.returncode == 0 else "FAILED (exit %d)" % p.returncode
            print("[lane %d] %s: %s in %.0f s — %s" % (index, name, status, took, tail[0][-160:]), flush=True)
            if p.returncode != 0:
                print("---- last lines of %s ----\n%s\n----" % (log_path, "\n".join(text.splitlines()[-80:])),
                      flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lanes", type=int, default=int(os.environ.get("LAB_LANES", "2")))
    ap.add_argument("--weights", default="", help="NAME=MINUTES,... expected durations, to balance the lanes")
    ap.add_argument("--timeout", type=float, default=3000, help="per job, seconds")
    ap.add_argument("--side", action="append", default=[],
                    help="NAME!: COMMAND run alongside the lanes from the start (no lab kernel: "
                         "checks that only need the CPU while the labs wait on timers)")
    ap.add_argument("jobs", nargs="+")
    args = ap.parse_args()
    jobs = [parse_job(j) for j in args.jobs]
    weights = {k: float(v) for k, v in (w.split("=") for w in args.weights.split(",") if w)}
    plan = assign(jobs, max(1, args.lanes), weights)
    results, lock = [], threading.Lock()
    t0 = time.time()
    threads = [threading.Thread(target=run_lane, args=(i, lane, results, lock, args.timeout))
               for i, lane in enumerate(plan) if lane]
    side = [parse_job(j) for j in args.side]
    if side:
        threads.append(threading.Thread(target=run_lane, args=(len(plan), side, results, lock, args.timeout)))
        jobs += side
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.time() - t0
    print("\nlab lanes: %d jobs in %d lanes, %.0f s (%.1f min) wall time" % (len(jobs), len(threads), total, total / 60))
    for name, lane, took, rc, _ in sorted(results, key=lambda r: r[1]):
        print("  lane %d  %-10s %6.0f s  %s" % (lane, name, took, "ok" if rc == 0 else "FAILED (exit %d)" % rc))
    failed = [r for r in results if r[3] != 0]
    for name, lane, _, _, digest in failed:
        print("\nwhy %s failed (.lab/lane-%d/%s.log):" % (name, lane, name))
        for line in digest or ["(no failure line found; see the log)"]:
            print("  " + line)
    return 1 if failed or len(results) != len(jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
