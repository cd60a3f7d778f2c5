#!/usr/bin/env python3
"""Fail-over benchmark (issue 6), run inside the lab kernel with the DR topology up:

    make bench
    lab/bin/lvslab run -v -t lab/topologies/dr.yml -- python tests/bench/run.py

1. Builds the LVS-DR cluster exactly as lab/demo.sh does (playbooks/site.yml
   with inventories/lab-dr).
2. For each VRRP setting (advert_int 1 = the inventory; VRRPv3 with
   advert_int 0.1 = the keepalived role re-applied with an override of
   keepalived_vrrp_instances) and each fault (keepalived SIGKILLed on the
   master, master powered off, master's link cut, a real server's web server
   stopped under load) it runs a client request loop (tests/bench/client_loop.py,
   one process in the client host), injects the fault, restores the cluster,
   and reports: client-visible outage (first failed request after the fault
   to the first successful one after it), VIP move time (fault until the VIP
   is on the backup, sampled every 50 ms), failed requests, and how many
   directors hold the VIP once the cluster has settled (must be exactly one).
3. Optionally (BENCH_IPVS_BULK=1, default on) times ipvs_table with 100
   services x 10 real servers in one call, first apply and no-op re-apply.

Prints a table and writes $LVSLAB_OUT/bench-failover.json.
Environment: BENCH_SETTINGS (default "v2-1s,v3-0.1s"), BENCH_FAULTS
(default "kill,poweroff,cut,rs-web"), BENCH_SKIP_SITE=1 (cluster already built).
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "lab"))
import lvslab  # noqa: E402

VIP = "192.0.2.100"
URL = "http://%s/" % VIP
MASTER, BACKUP = "dir1", "dir2"
DIRECTORS = (MASTER, BACKUP)
REALSERVERS = {"rs1": "192.0.2.21", "rs2": "192.0.2.22"}
INVENTORY = os.path.join(REPO, "inventories", "lab-dr")
OUT = os.environ.get("LVSLAB_OUT", os.path.join(REPO, ".lab"))
POLL = 0.05
LOOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "client_loop.py")
KEEPALIVED_PLAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keepalived.yml")


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(host, cmd, check=True, timeout=60):
    argv = lvslab.exec_argv(host, ["/bin/sh", "-c", cmd])
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %r exited %d: %s%s" % (host, cmd, p.returncode, p.stdout, p.stderr))
    return p


def lab(*args):
    rc = lvslab.main(list(args))
    if rc != 0:
        raise RuntimeError("lvslab %s failed" % " ".join(args))


# ---------------------------------------------------------------- cheap state probes (no fork)
# The controller reads a lab host's kernel state through /proc/<its init>/net,
# which shows that host's network namespace: sampling every 50 ms costs no
# process start (a fork in the UML kernel costs tens of ms).

VIP_HEX = "%08X" % struct.unpack("!I", socket.inet_aton(VIP))[0]


def holds_vip(host):
    """True if the host has the VIP as a local address (what `ip -o addr` would show)."""
    pid = lvslab.host_pid(host)
    if not lvslab.pid_alive(pid):
        return False
    try:
        with open("/proc/%d/net/fib_trie" % pid) as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    for i, line in enumerate(lines):
        if line.strip().endswith("-- " + VIP):
            for nxt in lines[i + 1:i + 3]:
                if "host LOCAL" in nxt:
                    return True
    return False


def ipvs_realservers(host):
    """Real server addresses of the VIP:80 service in the host's IPVS table (/proc/net/ip_vs)."""
    pid = lvslab.host_pid(host)
    if not lvslab.pid_alive(pid):
        return None
    try:
        with open("/proc/%d/net/ip_vs" % pid) as f:
            text = f.read()
    except OSError:
        return None
    found, rs, inside = False, [], False
    for line in text.splitlines():
        if line.startswith(("TCP", "UDP", "SCTP", "FWM")):
            inside = line.split()[1] == VIP_HEX + ":0050"
            found = found or inside
        elif inside and line.strip().startswith("->"):
            addr = line.split()[1].split(":")[0]
            rs.append(socket.inet_ntoa(struct.pack("!I", int(addr, 16))))
    return rs if found else None


def holders():
    return [h for h in DIRECTORS if holds_vip(h)]


class Sampler(threading.Thread):
    """Samples VIP holders every 50 ms; keeps (time, holders) transitions."""

    def __init__(self):
        super().__init__(daemon=True)
        self.events, self.stop_flag = [], False
        self.last = None

    def run(self):
        while not self.stop_flag:
            now, h = time.time(), tuple(holders())
            if h != self.last:
                self.events.append((now, h))
                self.last = h
            time.sleep(POLL)

    def stop(self):
        self.stop_flag = True
        self.join()


def wait_for(pred, timeout, what, interval=POLL):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return time.time()
        time.sleep(interval)
    raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))


def steady():
    return holders() == [MASTER] and sorted(ipvs_realservers(MASTER) or []) == sorted(REALSERVERS.values())


def wait_steady(timeout=60):
    wait_for(steady, timeout, "the steady state (VIP only on %s, both real servers in its IPVS table)" % MASTER,
             interval=0.2)
    # and still steady a second later (no flapping)
    time.sleep(1.0)
    wait_for(steady, 10, "the steady state to hold", interval=0.2)


# ---------------------------------------------------------------- client loop

class ClientLoop:
    def __init__(self, duration=120, count=3000, interval=0.05, timeout=0.5):
        argv = lvslab.exec_argv("client", ["/usr/bin/python3", "-u", LOOP, URL, str(interval),
                                           str(timeout), str(count), str(duration)])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def requests(self):
        out = []
        for line in list(self.lines):
            if line.startswith("#"):
                continue
            t, res, dur, what = line.split(" ", 3)
            out.append((float(t), res == "ok", float(dur), what))
        return out

    def wait_started(self, n=10, timeout=30):
        wait_for(lambda: len(self.requests()) >= n, timeout, "the client loop to start")

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(timeout=30)
        self.reader.join(timeout=10)
        return self.requests()


def analyse(reqs, t_from, t_to):
    """Requests started in [t_from, t_to): outage (first failure -> first success after it), failures."""
    win = [r for r in reqs if t_from <= r[0] < t_to]
    fails = [r for r in win if not r[1]]
    res = {"requests": len(win), "failed": len(fails), "outage_s": 0.0,
           "first_fail": None, "recovered": None}
    if fails:
        first = fails[0][0]
        after = [r for r in win if r[1] and r[0] > first]
        res["first_fail"] = round(first - t_from, 3)
        if after:
            res["outage_s"] = round(after[0][0] - first, 3)
            res["recovered"] = round(after[0][0] - t_from, 3)
        else:
            res["outage_s"] = None  # never recovered inside the window
        # the longest run of consecutive failures, too
        longest, cur_start = 0.0, None
        for r in win:
            if not r[1]:
                cur_start = r[0] if cur_start is None else cur_start
            elif cur_start is not None:
                longest = max(longest, r[0] - cur_start)
                cur_start = None
        res["longest_fail_run_s"] = round(longest, 3)
    served = {}
    for r in win:
        if r[1]:
            served[r[3]] = served.get(r[3], 0) + 1
    res["served_by"] = served
    return res


# ---------------------------------------------------------------- faults

def start_syslog(host):
    """Benchmark instrumentation: a syslog daemon so keepalived's log can be read."""
    run(host, "pidof syslogd >/dev/null || busybox syslogd -O /var/log/messages", check=False)


def restart_keepalived():
    for h in (BACKUP, MASTER):
        if lvslab.pid_alive(lvslab.host_pid(h)):
            run(h, "service keepalived restart", check=False)


def keepalived_pids(host):
    return run(host, "pidof keepalived || true").stdout.split()


def host_processes(host, comm):
    """Controller-side PIDs of the host's processes named comm (same PID namespace as its init)."""
    init = lvslab.host_pid(host)
    ns = os.readlink("/proc/%d/ns/pid" % init)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/comm" % entry) as f:
                if f.read().strip() != comm:
                    continue
            if os.readlink("/proc/%s/ns/pid" % entry) == ns:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def fault_kill():
    # Signalled from the controller: no process start between the fault's
    # timestamp and the kill (an nsenter costs 0.1-1 s on a loaded lab).
    pids = host_processes(MASTER, "keepalived")
    if not pids:
        raise RuntimeError("no keepalived on %s" % MASTER)
    # Freeze them all first: killed one by one, a surviving keepalived parent
    # respawns its children, and the children get SIGTERM on the parent's
    # death (a graceful stop that drops the VIP) - not the crash wanted here.
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return "SIGKILL keepalived on %s (%d processes)" % (MASTER, len(pids))


def restore_kill():
    # SIGKILL leaves the VIP and the IPVS table behind on dir1; the init
    # script starts keepalived again (a stale pidfile does not stop it).
    run(MASTER, "service keepalived start || (rm -f /run/keepalived*.pid /var/run/keepalived*.pid; service keepalived start)")


def fault_poweroff():
    lab("poweroff", MASTER)
    return "lvslab poweroff %s" % MASTER


def restore_poweroff():
    lab("poweron", MASTER)
    start_syslog(MASTER)


def fault_cut():
    lab("cut", MASTER)
    return "lvslab cut %s" % MASTER


def restore_cut():
    lab("mend", MASTER)


def fault_rs_web():
    run("rs1", "service lvs-test-web stop")
    return "service lvs-test-web stop on rs1"


def restore_rs_web():
    run("rs1", "service lvs-test-web start")


FAULTS = {
    "kill": ("keepalived SIGKILL on master", fault_kill, restore_kill),
    "poweroff": ("master powered off", fault_poweroff, restore_poweroff),
    "cut": ("master link cut", fault_cut, restore_cut),
    "rs-web": ("real server web stopped", fault_rs_web, restore_rs_web),
}


def bench_fault(name, setting):
    title, inject, restore = FAULTS[name]
    log("== %s / %s" % (setting, title))
    wait_steady()
    loop = ClientLoop()
    sampler = Sampler()
    sampler.start()
    result = {"fault": name, "setting": setting, "title": title}
    try:
        loop.wait_started()
        time.sleep(2.0)  # baseline
        t_fault = time.time()
        result["action"] = inject()
        log("   fault injected: %s" % result["action"])
        if name == "rs-web":
            t_out = wait_for(lambda: "192.0.2.21" not in (ipvs_realservers(MASTER) or []), 60,
                             "keepalived to remove rs1 from the IPVS table")
            result["rs_removed_s"] = round(t_out - t_fault, 3)
            result["vip_move_s"] = None
        else:
            t_vip = wait_for(lambda: holds_vip(BACKUP), 30, "the VIP on %s" % BACKUP)
            result["vip_move_s"] = round(t_vip - t_fault, 3)
            result["ipvs_on_backup"] = ipvs_realservers(BACKUP)
        # let requests succeed for a while after the move
        time.sleep(3.0)
        result["holders_during_fault"] = holders()
        t_restore = time.time()
        restore()
        log("   restore issued (%.1f s)" % (time.time() - t_restore))
        if name == "rs-web":
            t_in = wait_for(lambda: "192.0.2.21" in (ipvs_realservers(MASTER) or []), 60,
                            "keepalived to re-add rs1")
            result["rs_readded_s"] = round(t_in - t_restore, 3)
        try:
            wait_steady(timeout=45)
        except RuntimeError as exc:
            # Record what went wrong, then restart keepalived so the next fault starts clean.
            result["restore_problem"] = "%s; state: %s" % (exc, diagnose())
            log("   RESTORE PROBLEM: %s" % result["restore_problem"])
            restart_keepalived()
            wait_steady(timeout=60)
        result["restore_s"] = round(time.time() - t_restore, 3)
        time.sleep(2.0)
    finally:
        reqs = loop.stop()
        sampler.stop()
    t_end = time.time()
    result["fault_window"] = analyse(reqs, t_fault, t_restore)
    result["restore_window"] = analyse(reqs, t_restore, t_end)
    result["baseline"] = analyse(reqs, 0, t_fault)
    result["vip_transitions"] = [(round(t - t_fault, 3), list(h)) for t, h in sampler.events]
    # Afterwards: exactly one director holds the VIP, checked with ip -o addr
    after = [h for h in DIRECTORS
             if VIP + "/" in run(h, "ip -o addr show dev eth0").stdout]
    result["holders_after"] = after
    result["split_brain"] = len(after) != 1
    result["ipvs_after"] = ipvs_realservers(MASTER)
    fw = result["fault_window"]
    log("   outage %s s, VIP move %s s, failed %d/%d; restore window failed %d (outage %s s); holders after: %s"
        % (fw["outage_s"], result["vip_move_s"], fw["failed"], fw["requests"],
           result["restore_window"]["failed"], result["restore_window"]["outage_s"], after))
    return result


def diagnose():
    """What the directors look like (for a failed fault run)."""
    out = {"holders": holders()}
    for h in DIRECTORS:
        if not lvslab.pid_alive(lvslab.host_pid(h)):
            out[h] = "powered off"
            continue
        out[h] = {"ipvs": ipvs_realservers(h),
                  "keepalived": run(h, "pidof keepalived || echo none", check=False).stdout.strip(),
                  "addr": run(h, "ip -o addr show dev eth0 | awk '{print $4}' | tr '\\n' ' '; "
                             "ip -o link show dev eth0 | grep -o 'state [A-Z]*'", check=False).stdout.strip(),
                  "log": run(h, "grep -i keepalived /var/log/messages 2>/dev/null | tail -n 25", check=False).stdout.strip()}
    return json.dumps(out, indent=1)


# ---------------------------------------------------------------- cluster set-up

def ansible(args, what):
    t0 = time.time()
    log("== %s: ansible-playbook %s" % (what, " ".join(args)))
    path = os.path.join(OUT, "bench-%s.log" % what.replace(" ", "-"))
    with open(path, "w") as f:  # written as it runs: follow it with tail -f
        p = subprocess.run(["ansible-playbook"] + args, cwd=REPO, stdout=f, stderr=subprocess.STDOUT)
    with open(path) as f:
        text = f.read()
    recap = text[text.rfind("PLAY RECAP"):] if "PLAY RECAP" in text else text[-3000:]
    print(recap.rstrip(), flush=True)
    if p.returncode != 0:
        print(text[-8000:], flush=True)
        raise RuntimeError("%s failed (exit %d); full log in %s" % (what, p.returncode, path))
    dt = time.time() - t0
    log("   %s took %.1f s (log %s)" % (what, dt, path))
    return dt


def build_cluster():
    return ansible(["-i", os.environ["LVSLAB_INVENTORY"], "-i", INVENTORY, "playbooks/site.yml"],
                   "site")


def vrrp_v3_vars():
    import yaml
    with open(os.path.join(INVENTORY, "group_vars", "all.yml")) as f:
        cluster = yaml.safe_load(f)["lvs_cluster"]
    instances = []
    for inst in cluster["vrrp"]["instances"]:
        inst = dict(inst)
        inst.pop("authentication", None)  # VRRPv2 only
        inst.update(version=3, advert_int=0.1)
        instances.append(inst)
    path = os.path.join(OUT, "bench-vrrp3-vars.json")
    with open(path, "w") as f:
        json.dump({"keepalived_vrrp_instances": instances}, f)
    return path


def apply_setting(setting):
    """Re-apply the keepalived role with the setting, then restart keepalived (backup first)."""
    if setting == "v2-1s":
        extra = []
    else:
        extra = ["-e", "@" + vrrp_v3_vars()]
    dt = ansible(["-i", os.environ["LVSLAB_INVENTORY"], "-i", INVENTORY, KEEPALIVED_PLAY] + extra,
                 "keepalived " + setting)
    # A clean VRRP start in the new setting (reload changes version/advert_int in place).
    for h in (BACKUP, MASTER):
        run(h, "service keepalived restart")
    conf = run(MASTER, "grep -E 'version|advert_int|auth_type' /etc/keepalived/keepalived.conf || true").stdout
    log("   keepalived.conf on %s: %s" % (MASTER, " | ".join(l.strip() for l in conf.splitlines())))
    return dt


# ---------------------------------------------------------------- ipvs_table bulk

def ipvs_bulk():
    sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
    from conftest import ModuleRunner  # the runner of tests/lab (one python in the host)
    host = "client"  # a namespace without keepalived: nothing else touches its IPVS table
    run(host, "modprobe ip_vs; ipvsadm -C")
    runner = ModuleRunner(host)
    try:
        t0 = time.time()
        runner.call("ipvs_info", {})  # warm-up: imports pyroute2 once
        warm = time.time() - t0
        services = [dict(address="198.51.100.%d" % (i + 1), port=80, scheduler="wrr",
                         destinations=[dict(address="192.0.2.%d" % (20 + j), weight=j + 1)
                                       for j in range(10)]) for i in range(100)]
        t0 = time.time()
        first = runner.call("ipvs_table", {"services": services, "purge": True})
        t_first = time.time() - t0
        t0 = time.time()
        again = runner.call("ipvs_table", {"services": services, "purge": True})
        t_again = time.time() - t0
    finally:
        runner.close()
        run(host, "ipvsadm -C", check=False)
    res = {"services": 100, "destinations": 1000, "first_apply_s": round(t_first, 3),
           "noop_apply_s": round(t_again, 3), "first_changed": first.get("changed"),
           "noop_changed": again.get("changed"), "counts": first.get("counts"),
           "warmup_s": round(warm, 3), "failed": bool(first.get("failed") or again.get("failed"))}
    log("ipvs_table 100x10: first %.2f s, no-op %.2f s (changed %s/%s)"
        % (t_first, t_again, first.get("changed"), again.get("changed")))
    return res


# ---------------------------------------------------------------- report

def fmt(v, unit=""):
    return "-" if v is None else ("%.2f%s" % (v, unit) if isinstance(v, float) else "%s%s" % (v, unit))


def table(results):
    head = ("fault", "setting", "outage s", "VIP move s", "failed", "holders after",
            "failback outage s", "failback failed")
    rows = []
    for r in results:
        if "error" in r:
            rows.append((r["fault"], r["setting"], "ERROR", r["error"][:60], "", "", "", ""))
            continue
        fw, rw = r["fault_window"], r["restore_window"]
        move = r["vip_move_s"]
        if r["fault"] == "rs-web":
            move = "rs out %.2f / in %.2f" % (r["rs_removed_s"], r.get("rs_readded_s") or -1)
        rows.append((r["fault"], r["setting"], fmt(fw["outage_s"]), fmt(move),
                     "%d/%d" % (fw["failed"], fw["requests"]),
                     ",".join(r["holders_after"]) + (" SPLIT" if r["split_brain"] else ""),
                     fmt(rw["outage_s"]), "%d/%d" % (rw["failed"], rw["requests"])))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(head, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def main():
    settings = os.environ.get("BENCH_SETTINGS", "v2-1s,v3-0.1s").split(",")
    faults = os.environ.get("BENCH_FAULTS", "kill,poweroff,cut,rs-web").split(",")
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "vip": VIP,
              "client_loop": "one python process in the client: GET %s every 50 ms, new TCP "
                             "connection each, 0.5 s timeout" % URL,
              "results": []}
    os.makedirs(OUT, exist_ok=True)
    out_path = os.path.join(OUT, "bench-failover.json")

    def save():
        with open(out_path, "w") as f:
            json.dump(report, f, indent=1)

    rc = 0
    try:
        if os.environ.get("BENCH_SKIP_SITE") != "1":
            report["site_s"] = round(build_cluster(), 1)
        wait_for(lambda: holds_vip(MASTER), 30, "the VIP on %s after site.yml" % MASTER)
        for h in DIRECTORS:
            start_syslog(h)
        for setting in settings:
            if setting != "v2-1s" or settings.index(setting) > 0:
                report.setdefault("apply_s", {})[setting] = round(apply_setting(setting), 1)
            for name in faults:
                try:
                    report["results"].append(bench_fault(name, setting))
                except Exception as exc:
                    rc = 1
                    log("   FAILED: %s" % exc)
                    log("   state: %s" % diagnose())
                    report["results"].append({"fault": name, "setting": setting, "error": str(exc)})
                    # try to put the cluster back for the next fault
                    for fix in (lambda: lab("mend", MASTER),
                                lambda: lvslab.pid_alive(lvslab.host_pid(MASTER)) or lab("poweron", MASTER),
                                lambda: run(MASTER, "service keepalived start", check=False),
                                lambda: run("rs1", "service lvs-test-web start", check=False),
                                restart_keepalived):
                        try:
                            fix()
                        except Exception as e2:
                            log("   repair step: %s" % e2)
                save()
    except Exception as exc:
        rc = 1
        report["error"] = str(exc)
        log("BENCH FAILED: %s" % exc)
    if os.environ.get("BENCH_IPVS_BULK", "1") == "1":
        try:
            report["ipvs_table_bulk"] = ipvs_bulk()
        except Exception as exc:
            report["ipvs_table_bulk"] = {"error": str(exc)}
            log("ipvs_table bulk failed: %s" % exc)
    save()
    print()
    print("Fail-over benchmark (timings on a shared 2-core machine in user-mode Linux: noisy)")
    print(table(report["results"]))
    if "ipvs_table_bulk" in report:
        print("ipvs_table bulk:", json.dumps(report["ipvs_table_bulk"]))
    print("JSON:", out_path)
    return rc


if __name__ == "__main__":
    sys.exit(main())
