"""Run the lab parts of the suite in lanes: one lab kernel per lane, lanes side by side.

The lab kernel has one CPU; the machine has two cores, so two labs at once use
it fully (more would only queue). Each lane runs its jobs in order, each job in
its own `lvslab run` with the lane's own output folder (.lab/lane-N), so two
labs never share a socket, an inventory or an Ansible home.

    python -m lab.lanes 'lab: -t lab/topologies/dr.yml -- pytest tests/lab' 'dr: -- molecule test -s dr' ...

Each job is NAME: LVSLAB-RUN-ARGUMENTS (shell words), or NAME!: COMMAND for a
job that boots its own labs (tests/harness) with the lane's folder as
it is run as is. Jobs are given to lanes
in order, longest first if --weights gives their expected minutes. The job's
output goes to .lab/lane-N/NAME.log; a failed job's log tail is printed. With
--reruns N a failed lab job is run again (a fresh lab kernel) up to N times: it
passes only if a rerun passes, and every failed run stays visible (its log kept
as NAME.run-K.log, its reasons printed after the summary). The summary gives
each job's time and status; the exit status is 0 only if every job passed.
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
    """'NAME: ARGS' -> (name, lvslab run arguments); 'NAME!: COMMAND' -> (name, ['!'] + command)."""
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


def run_job(argv, log_path, timeout):
    """One run of a job, its output to log_path: (exit status, seconds, log text)."""
    t0 = time.time()
    with open(log_path, "w") as log:
        try:
            p = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               cwd=REPO, timeout=timeout + 120)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = 124
    with open(log_path, errors="replace") as log:
        return rc, time.time() - t0, log.read()


def run_lane(index, jobs, results, lock, timeout, reruns=0):
    """Run the lane's jobs in order. A lab job that fails is run again, up to `reruns` times,
    in a fresh lab kernel; it passes only if a rerun passes, and each failed run's log is
    kept (NAME.run-N.log) and its reasons are printed in the summary."""
    out = os.path.join(REPO, ".lab", "lane-%d" % index)
    os.makedirs(out, exist_ok=True)
    for name, args in jobs:
        log_path = os.path.join(out, name + ".log")
        if args[:1] == ["!"]:
            argv, tries = args[1:], 1  # checks: the same result every time, never rerun
        else:
            argv, tries = [LVSLAB, "run", "-v", "--out", out, "--timeout", str(timeout)] + args, 1 + reruns
        failed_runs, took = [], 0.0
        for attempt in range(1, tries + 1):
            with lock:
                print("[lane %d] %s: %s (%s)" % (index, name, "start" if attempt == 1 else "run %d" % attempt,
                                                log_path), flush=True)
            rc, secs, text = run_job(argv, log_path, timeout)
            took += secs
            tail = [line for line in text.splitlines() if line.strip()][-1:] or [""]
            with lock:
                status = "ok" if rc == 0 else "FAILED (exit %d)" % rc
                print("[lane %d] %s: %s in %.0f s — %s" % (index, name, status, secs, tail[0][-160:]), flush=True)
                if rc != 0:
                    print("---- last lines of %s ----\n%s\n----" % (log_path, "\n".join(text.splitlines()[-80:])),
                          flush=True)
            if rc == 0:
                break
            kept = os.path.join(out, "%s.run-%d.log" % (name, attempt))
            os.replace(log_path, kept)
            failed_runs.append((attempt, os.path.relpath(kept, REPO), failure_digest(text)))
        with lock:
            results.append((name, index, took, rc, failed_runs))


def main():
    """Run the jobs in lanes, print the summary; exit status 0 only if every job passed."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lanes", type=int, default=int(os.environ.get("LAB_LANES", "2")))
    ap.add_argument("--weights", default="", help="NAME=MINUTES,... expected durations, to balance the lanes")
    ap.add_argument("--timeout", type=float, default=3000, help="per job, seconds")
    ap.add_argument("--reruns", type=int, default=0,
                    help="run a failed lab job again up to this many times (each failure is reported)")
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
    threads = [threading.Thread(target=run_lane, args=(i, lane, results, lock, args.timeout, args.reruns))
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
    for name, lane, took, rc, failed_runs in sorted(results, key=lambda r: r[1]):
        status = "FAILED (exit %d)" % rc if rc != 0 else \
            "ok on run %d (failed before)" % (len(failed_runs) + 1) if failed_runs else "ok"
        print("  lane %d  %-10s %6.0f s  %s" % (lane, name, took, status))
    failed = [r for r in results if r[3] != 0]
    for name, _, _, _, failed_runs in results:
        for attempt, kept, digest in failed_runs:
            print("\nwhy %s failed on run %d (%s):" % (name, attempt, kept))
            for line in digest or ["(no failure line found; see the log)"]:
                print("  " + line)
    return 1 if failed or len(results) != len(jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
