#!/usr/bin/env python3
"""Bulk IPVS table benchmark (issue 16): ipvs_table against ipvsadm-restore, side by side.

Run inside the lab kernel with a topology up (dir1 is the director; nothing else
touches its IPVS table in a fresh lab):

    lab/bin/lvslab run -v --timeout 3000 -t lab/topologies/dr.yml -- python tests/bench/bulk_table.py

For each N (BENCH_SIZES, default 100,1000,5000) the table is N services x
BENCH_RS (10) real servers. Each repetition (BENCH_REPS, default 3) times, in
an interleaved order (which tool goes first alternates):

  first apply    empty table -> the table
                 restore: ipvsadm-restore < rules   module: ipvs_table purge=true
  no-op          the same table again
                 restore: ipvsadm -C; ipvsadm-restore < rules (restore can only reload)
                 module: ipvs_table purge=true (reads, plans, changes nothing)
  one weight     one real server's weight changed
                 restore: ipvsadm -C; ipvsadm-restore < rules'   module: ipvs_table purge=true
  full purge     restore: ipvsadm -C   module: ipvs_table services=[] purge=true (one flush)

Both are timed by the director's own shell (date +%s%N around the command), so
process start counts for both: the module runs as a new /usr/bin/python3
process, the way Ansible runs it, with the host's pyroute2-free netlink code
and ansible.module_utils.basic. After every step `ipvsadm -S -n` must print
exactly the expected rules, for both tools, or the run fails.

Beside the wall time, each step's CPU seconds of the whole lab kernel are read on
the machine (lab.machine.kernel_cpu_seconds): wall time grows when another lab shares
the machine's cores, the lab kernel's CPU time much less, so growth from one N
to the next is printed for both, for each tool.

Prints the table (median seconds over repetitions, min-max, module / restore),
the growth to the largest N, and writes $LVSLAB_OUT/bench-bulk-table.json.

The first apply meets a fresh IPVS: the director is rebooted (a new network
namespace) before each tool's first apply. Otherwise it would meet the real
servers the other tool had just flushed, which IPVS keeps in its trash for
about 3 minutes (ip_vs_ctl.c: __ip_vs_del_dest, IP_VS_DEST_TRASH_PERIOD) and
scans on every real-server add: 3x slower at N=5,000, an artefact of running
the tools one after the other (tests/bench/dest_trash.py measures it). A real
first apply does not follow a flush of the same 50,000 real servers.
BENCH_FRESH=0 keeps the old sequence (no reboot). Before timing anything, the module
applies and purges the largest table once (BENCH_WARMUP=0: not), see warm_up().

BENCH_RUN_ESTIMATION=0|1 sets net.ipv4.vs.run_estimation in the director (after
each reboot). Either way the lab's idle CPU with each table loaded is measured
(4 s after the first apply): the kernel's rate estimator (kernel < 6.2: a timer
walking every service and real server every 2 s) is what it shows.

With BENCH_PLAYBOOK=100,1000 (sizes) it also times a one-task playbook (ansible-playbook on the
machine, lvs.cluster.ipvs_table on the director over the lab's connection) for the first apply and the no-op of each N: Ansible's share is the
playbook's time minus the module's.
"""
import json
import os
import site
import statistics
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
from lab import cli, hosts, machine  # noqa: E402  (lvslab run: PYTHONPATH)

# (make bench: .lab/collections on PYTHONPATH)
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model  # noqa: E402

HOST = os.environ.get("BENCH_HOST", "dir1")
OUT = os.environ.get("LVSLAB_OUT", os.path.join(REPO, ".lab"))
RUNNER = os.path.join(REPO, "tests", "lab", "module_runner.py")
STEPS = ("first apply", "no-op", "one weight", "full purge")
# Reboot the director before each tool's first apply, so neither meets the real servers
# the other one deleted in the kernel's trash (see tests/bench/dest_trash.py).
FRESH = os.environ.get("BENCH_FRESH", "1") == "1"
RUN_ESTIMATION = os.environ.get("BENCH_RUN_ESTIMATION")  # None: the kernel's default (1)
WARM_UP = os.environ.get("BENCH_WARMUP", "1") == "1"
IDLE_S = 4.0  # the idle window after a first apply: two runs of the 2-second estimator


def services(n, rs, changed=False):
    out = []
    for i in range(n):
        out.append(dict(address="10.%d.%d.%d" % (100 + i // 62500, i // 250 % 250, i % 250 + 1), port=80,
                        scheduler="wrr",
                        destinations=[dict(address="192.0.2.%d" % (20 + j),
                                           weight=(j + 2 if changed and i == n // 2 and j == 3 else j + 1))
                                      for j in range(rs)]))
    return out


def rules_text(svcs):
    table = []
    for s in svcs:
        spec = dict((k, v) for k, v in s.items() if k != "destinations")
        svc = model.normalize_service(spec)
        table.append((svc, [model.normalize_dest(d, svc) for d in s["destinations"]]))
    return model.format_rules(table)


def run(host, cmd, input=None, timeout=1800):
    argv = hosts.exec_argv(host, ["/bin/sh", "-c", cmd])
    p = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout, check=False)
    if p.returncode != 0:
        raise RuntimeError("%s: %r exited %d: %s%s" % (host, cmd, p.returncode, p.stdout, p.stderr))
    return p


def put(name, text):
    run(HOST, "cat > /tmp/%s" % name, input=text)


def setup_ipvs():
    run(HOST, "modprobe ip_vs")
    if RUN_ESTIMATION is not None:
        run(HOST, "echo %d > /proc/sys/net/ipv4/vs/run_estimation" % int(RUN_ESTIMATION))


def measured(cmd):
    """(wall seconds in the director's shell, CPU seconds of the lab kernel) of cmd."""
    cpu0 = machine.kernel_cpu_seconds()
    wall = timed(cmd)
    cpu1 = machine.kernel_cpu_seconds()
    return wall, (cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None)


def idle_cpu_share():
    """The lab kernel's CPU seconds per second while nothing runs in it (the estimator)."""
    cpu0 = machine.kernel_cpu_seconds()
    time.sleep(IDLE_S)
    cpu1 = machine.kernel_cpu_seconds()
    return None if cpu0 is None or cpu1 is None else (cpu1 - cpu0) / IDLE_S


def timed(cmd):
    """Seconds the director's shell spent on cmd (stdout kept in /tmp/bench.out)."""
    p = run(HOST, "t0=$(date +%%s%%N); ( %s ) >/tmp/bench.out 2>&1; rc=$?; t1=$(date +%%s%%N); "
                  "echo $rc $(( (t1 - t0) / 1000 ))" % cmd)
    rc, us = p.stdout.split()
    if rc != "0":
        raise RuntimeError("%s exited %s: %s" % (cmd, rc, run(HOST, "head -c 3000 /tmp/bench.out").stdout))
    return int(us) / 1e6


def module_cmd(req_file):
    paths = [os.path.join(REPO, ".lab", "collections")] + site.getsitepackages()
    return "/usr/bin/python3 -u %s %s < /tmp/%s" % (RUNNER, " ".join(paths), req_file)


def module_result():
    out = json.loads(run(HOST, "cat /tmp/bench.out").stdout)["output"]
    return json.loads(out[out.index("{"):])


def check(expected, what):
    got = run(HOST, "ipvsadm -S -n").stdout
    if got != expected:
        raise RuntimeError("%s: ipvsadm -S -n differs from the expected rules (%d vs %d lines)"
                           % (what, got.count("\n"), expected.count("\n")))


def warm_up(n, rs):
    """The module applies and purges the largest table once, untimed.

    The first large apply in a newly booted lab kernel once cost about twice the CPU
    time of the later ones (tests/bench/dest_trash.py at 19:09 UTC: 6.3 s against
    3.3-4.3 s at N=5,000), once not (this warm-up at 19:11: 3.4 s); not explained.
    Whatever it is, repetition 1 of the largest N does not pay it alone.
    """
    put("apply.json", json.dumps({"module": "ipvs_table", "args": {"services": services(n, rs), "purge": True},
                                  "check": False, "diff": False}) + "\n")
    put("purge.json", json.dumps({"module": "ipvs_table", "args": {"services": [], "purge": True},
                                  "check": False, "diff": False}) + "\n")
    wall, used = measured(module_cmd("apply.json"))
    timed(module_cmd("purge.json"))
    lvslab_log("warm-up: N=%d applied in %.2f s (%s CPU s), purged, untimed"
               % (n, wall, "n/a" if used is None else "%.2f" % used))


def one_size(n, rs, reps):
    base, changed = services(n, rs), services(n, rs, changed=True)
    rules, rules2 = rules_text(base), rules_text(changed)
    put("rules", rules)
    put("rules2", rules2)
    for name, svcs in (("apply.json", base), ("weight.json", changed), ("purge.json", [])):
        put(name, json.dumps({"module": "ipvs_table", "args": {"services": svcs, "purge": True},
                              "check": False, "diff": False}) + "\n")
    times = dict((step, {"restore": [], "module": []}) for step in STEPS)
    cpu = dict((step, {"restore": [], "module": []}) for step in STEPS)
    idle = []

    def step(name, tool, cmd):
        wall, used = measured(cmd)
        times[name][tool].append(wall)
        cpu[name][tool].append(used)

    for rep in range(reps):
        order = ("restore", "module") if rep % 2 == 0 else ("module", "restore")
        for tool in order:
            if FRESH:
                # A new network namespace: an IPVS with an empty real-server trash.
                assert cli.main(["reboot", HOST]) == 0, "lvslab reboot %s failed" % HOST
                setup_ipvs()
            run(HOST, "ipvsadm -C")
            if tool == "restore":
                step("first apply", tool, "ipvsadm-restore < /tmp/rules")
                check(rules, "restore first apply")
                step("no-op", tool, "ipvsadm -C; ipvsadm-restore < /tmp/rules")
                check(rules, "restore no-op")
                step("one weight", tool, "ipvsadm -C; ipvsadm-restore < /tmp/rules2")
                check(rules2, "restore one weight")
                step("full purge", tool, "ipvsadm -C")
                check("", "restore purge")
            else:
                step("first apply", tool, module_cmd("apply.json"))
                res = module_result()
                assert res.get("changed") and not res.get("failed"), res
                check(rules, "module first apply")
                if rep == 0:
                    idle.append(idle_cpu_share())
                step("no-op", tool, module_cmd("apply.json"))
                res = module_result()
                assert res.get("changed") is False and not res.get("failed"), res
                check(rules, "module no-op")
                step("one weight", tool, module_cmd("weight.json"))
                res = module_result()
                assert res.get("summary") == {"edit-dest": 1}, res
                check(rules2, "module one weight")
                step("full purge", tool, module_cmd("purge.json"))
                res = module_result()
                assert res.get("summary") == {"flush": 1}, res
                check("", "module purge")
            lvslab_log("N=%d rep %d %s done" % (n, rep + 1, tool))
    times["cpu"] = cpu
    times["idle_cpu_share"] = idle
    return times


def playbook_times(n, rs, reps):
    """Wall time of ansible-playbook with one ipvs_table task: first apply and no-op."""
    os.makedirs(OUT, exist_ok=True)
    vars_path = os.path.join(OUT, "bench-bulk-vars-%d.json" % n)
    with open(vars_path, "w") as f:
        json.dump({"bench_services": services(n, rs)}, f)
    play = os.path.join(OUT, "bench-bulk-play.yml")
    with open(play, "w") as f:
        f.write("- hosts: %s\n  gather_facts: false\n  tasks:\n"
                "    - lvs.cluster.ipvs_table:\n        services: \"{{ bench_services }}\"\n"
                "        purge: true\n" % HOST)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"),
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.environ["LVSLAB_INVENTORY"],
            "-e", "@" + vars_path, play]
    times = {"first apply": [], "no-op": []}
    expected = rules_text(services(n, rs))
    for _rep in range(reps):
        run(HOST, "ipvsadm -C")
        for step in ("first apply", "no-op"):
            t0 = time.time()
            p = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
            times[step].append(time.time() - t0)
            if p.returncode != 0:
                raise RuntimeError("playbook failed: %s" % (p.stdout[-3000:] + p.stderr[-2000:]))
            check(expected, "playbook " + step)
    run(HOST, "ipvsadm -C")
    return times


def lvslab_log(msg):
    print("%s %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def fmt_times(values):
    return "%.2f (%.2f-%.2f)" % (statistics.median(values), min(values), max(values))


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_cpu(values):
    values = [v for v in values if v is not None]
    return "%.2f" % statistics.median(values) if values else "n/a"


def ratio(a, b):
    return "n/a" if a is None or b is None else "%.2f" % (a / max(b, 1e-6))


def main():
    sizes = [int(x) for x in os.environ.get("BENCH_SIZES", "100,1000,5000").split(",")]
    rs = int(os.environ.get("BENCH_RS", "10"))
    reps = int(os.environ.get("BENCH_REPS", "3"))
    playbook_sizes = [int(x) for x in os.environ.get("BENCH_PLAYBOOK", "").split(",") if x]
    assert hosts.load_state(), "run under lvslab run with a topology up"
    setup_ipvs()
    run(HOST, "ipvsadm -C")
    if WARM_UP:
        warm_up(max(sizes), rs)
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": HOST, "real_servers": rs,
              "repetitions": reps, "fresh": FRESH, "warm_up": WARM_UP, "run_estimation": RUN_ESTIMATION,
              "machine_load_start": loadavg(), "sizes": {}}
    for n in sizes:
        report["sizes"][n] = one_size(n, rs, reps)
        if n in playbook_sizes:
            report["sizes"][n]["playbook"] = playbook_times(n, rs, reps)
            lvslab_log("N=%d playbook done" % n)
        run(HOST, "ipvsadm -C")
    report["machine_load_end"] = loadavg()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "bench-bulk-table.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    head = ("N", "step", "ipvsadm-restore s", "ipvs_table s", "module / restore",
            "restore CPU s", "module CPU s", "module / restore CPU")
    rows = []
    for n in sizes:
        for step in STEPS:
            t, c = report["sizes"][n][step], report["sizes"][n]["cpu"][step]
            rows.append(("{:,}".format(n), step, fmt_times(t["restore"]), fmt_times(t["module"]),
                         ratio(statistics.median(t["module"]), statistics.median(t["restore"])),
                         fmt_cpu(c["restore"]), fmt_cpu(c["module"]),
                         ratio(median_or_none(c["module"]), median_or_none(c["restore"]))))
    growth = []
    if len(sizes) >= 2:  # from the middle size to the largest, per tool, wall and CPU
        a, b = sizes[-2], sizes[-1]
        for step in STEPS:
            line = {}
            for tool in ("restore", "module"):
                line[tool] = (statistics.median(report["sizes"][b][step][tool])
                              / max(statistics.median(report["sizes"][a][step][tool]), 1e-6),
                              median_or_none(report["sizes"][b]["cpu"][step][tool]),
                              median_or_none(report["sizes"][a]["cpu"][step][tool]))
            growth.append((step, line))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print("ipvs_table vs ipvsadm-restore on %s, N services x %d real servers, median (min-max) of %d, "
          "each read back identical by ipvsadm -S -n%s%s%s" % (
              HOST, rs, reps, ", director rebooted (fresh IPVS) before each tool's first apply" if FRESH else "",
              ", after an untimed warm-up at N=%s" % "{:,}".format(max(sizes)) if WARM_UP else "",
              "" if RUN_ESTIMATION is None else ", net.ipv4.vs.run_estimation=%s" % RUN_ESTIMATION))
    print("machine load average: %s at the start, %s at the end; CPU s = the lab kernel's CPU time"
          % (report["machine_load_start"], report["machine_load_end"]))
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
    if growth:
        print()
        print("growth from N=%s to N=%s (x%.1f the table), medians:" % (
            "{:,}".format(sizes[-2]), "{:,}".format(sizes[-1]), sizes[-1] / sizes[-2]))
        for step, line in growth:
            print("  %-12s " % step + "   ".join(
                "%s wall x%.2f, CPU %s" % (tool, wall, "n/a" if c_b is None or c_a is None else "x%.2f" % (c_b / max(c_a, 1e-6)))
                for tool, (wall, c_b, c_a) in sorted(line.items())))
    print()
    for n in sizes:
        share = median_or_none(report["sizes"][n]["idle_cpu_share"])
        print("lab kernel idle with the N=%s table loaded (rate estimator of %s services and real servers): "
              "%s CPU" % ("{:,}".format(n), "{:,}".format(n * (rs + 1)),
                          "n/a" if share is None else "%.1f%%" % (100 * share)))
    if playbook_sizes:
        print()
        print("one-task playbook (ansible-playbook wall time on the machine) vs the module alone")
        for n in playbook_sizes:
            for step in ("first apply", "no-op"):
                pb = statistics.median(report["sizes"][n]["playbook"][step])
                mod = statistics.median(report["sizes"][n][step]["module"])
                print("%-7s %-12s playbook %s  module %.2f  Ansible's share %.2f s"
                      % ("{:,}".format(n), step, fmt_times(report["sizes"][n]["playbook"][step]), mod, pb - mod))
    goals = goal_lines(report, sizes, playbook_sizes)
    if goals:
        print()
        print("against issue 16's goals (medians of this run):")
        for line in goals:
            print("  " + line)
    print("JSON:", path)
    return 0


def goal_lines(report, sizes, playbook_sizes):
    """Issue 16's targets, each with this run's figure and met / NOT met (only those this run measured)."""
    def med(n, step, tool):
        return statistics.median(report["sizes"][n][step][tool])

    lines = []

    def goal(text, value, limit, unit=""):
        lines.append("%-55s %8.2f%s (goal <= %s%s)  %s" % (text, value, unit, limit, unit,
                                                         "met" if value <= limit else "NOT met"))

    for n, limit in ((1000, 1.5), (5000, 1.0)):
        if n in sizes:
            goal("module / restore, first apply, N=%s" % "{:,}".format(n),
                 med(n, "first apply", "module") / med(n, "first apply", "restore"), limit)
    if 1000 in sizes and 5000 in sizes:
        goal("module's first apply, growth N=1,000 -> 5,000 (wall)",
             med(5000, "first apply", "module") / med(1000, "first apply", "module"), 5.5, "x")
    if 1000 in sizes:
        goal("module's no-op, N=1,000", med(1000, "no-op", "module"), 1.5, " s")
    if 1000 in playbook_sizes:
        goal("one-task playbook above the module, first apply, N=1,000",
             statistics.median(report["sizes"][1000]["playbook"]["first apply"]) - med(1000, "first apply", "module"),
             3.0, " s")
    return lines


if __name__ == "__main__":
    sys.exit(main())
