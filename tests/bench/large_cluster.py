#!/usr/bin/env python3
"""Large clusters end to end (issue 16): site.yml with 1,000 services, and a keepalived reload
with 2,000 virtual servers and 20,000 real servers under the client loop.

Run on the machine with the dr topology up in a fresh lab, one lab per path:

    lab/bin/lvslab run -v --timeout 2400 -t lab/topologies/dr.yml -- python tests/bench/large_cluster.py keepalived
    lab/bin/lvslab run -v --timeout 1200 -t lab/topologies/dr.yml -- python tests/bench/large_cluster.py ipvs_table

The cluster (generated into $LVSLAB_OUT/bench-large-<path>/, an inventory beside the lab's):
service 0 is the lab's web (192.0.2.100:80, rs1 and rs2, HTTP_GET), the client loop's target;
services 1..N-1 are DR services on 192.0.2.100 and 192.0.2.101, ports 10001..., each with
BENCH_RS (10) real servers at addresses in 198.51.100.0/24 and 203.0.113.0/24 that no host
carries (IPVS accepts any destination). Those real servers each have a TCP_CHECK, so keepalived
has one checker per real server (what makes its reload slow before keepalived PR #2320,
keepalived #2318), but every checker connects to rs1's web (connect_ip/connect_port), with
delay_loop 86400: keepalived spreads the first checks over delay_loop (`warmup`), so during
the benchmark it probes one address a few times a second at most, never 20,000 addresses.

keepalived path (two directors, VRRP instance VI_WEB with both VIPs, advert_int 1):
  1. site.yml with BENCH_SERVICES (1,000) services: total time, each task's time
     (ansible.posix.profile_tasks): keepalived.conf rendered and validated by `keepalived -t`;
     `keepalived -t` alone on dir1; with BENCH_SITE_AGAIN=1 site.yml again.
  2. The keepalived role alone on dir1 with BENCH_RELOAD_SERVICES (2,000) services written
     (keepalived_manage_service=false: rendered and validated, not reloaded), then under the
     client loop (a GET through the VIP every 50 ms, 0.2 s timeout) and the VIP sampler (every
     50 ms, lab/probe.py): `service keepalived reload` on the master dir1. Measured: until
     its IPVS table holds every service and real server, until keepalived's processes are idle
     (CPU time still for 2 s), their CPU seconds, the VIP holders, failed requests.
  3. The same 2,000-service file with one weight changed (the last real server), reloaded the
     same way: until the new weight is in the IPVS table, until idle.
ipvs_table path (dir1 only, no vrrp: lvs_director puts the VIPs on eth0 and the table by
  lvs.cluster.ipvs_table): site.yml with BENCH_SERVICES services, total and per task; again.

Prints a summary and writes $LVSLAB_OUT/bench-large-<path>.json.
"""
import json
import os
import re
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
from lab import failover as lf  # noqa: E402  (lvslab run: PYTHONPATH)
from lab.failover import log, run  # noqa: E402
from lab.hosts import exec_argv  # noqa: E402

OUT = os.environ.get("LVSLAB_OUT", os.path.join(REPO, ".lab"))
SITE = os.path.join(REPO, "playbooks", "site.yml")
KEEPALIVED_PLAY = os.path.join(REPO, "lab", "playbooks", "keepalived.yml")
VIPS = ["192.0.2.100", "192.0.2.101"]
WEB = {"rs1": "192.0.2.21", "rs2": "192.0.2.22"}
CLUSTER = lf.Cluster("large", vips=VIPS, service=(VIPS[0], 80), realservers=WEB)
REQUEST_TIMEOUT = float(os.environ.get("BENCH_REQUEST_TIMEOUT", "0.2"))
RELOAD_TIMEOUT = float(os.environ.get("BENCH_RELOAD_TIMEOUT", "600"))
CHANGED_WEIGHT = 7


def services(n, rs):
    """Service 0: the lab's web; the others: rs real servers each that no host carries."""
    out = [{"name": "web", "vip": VIPS[0], "port": 80, "scheduler": "rr",
            "check": {"type": "HTTP_GET", "path": "/", "status_code": 200},
            "realservers": [{"host": h, "address": a, "port": 80, "weight": 100} for h, a in sorted(WEB.items())]}]
    for i in range(1, n):
        port = 10000 + i
        rss = []
        for j in range(rs):
            k = i * rs + j
            net = "198.51.100" if k // 250 % 2 == 0 else "203.0.113"
            rss.append({"address": "%s.%d" % (net, k % 250 + 1), "port": port, "weight": j + 1})
        # inhibit_on_failure: a failed check (rs1's busybox httpd listens with a backlog of 9)
        # sets weight 0 instead of removing the real server, so the table's size stays known.
        out.append({"vip": VIPS[i % 2], "port": port, "scheduler": "wrr", "delay_loop": 86400,
                    "inhibit_on_failure": True,
                    # one checker per real server, all aimed at rs1's web: keepalived has
                    # 20,000 checkers to migrate on a reload but probes one address, rarely
                    "check": {"type": "TCP_CHECK", "connect_ip": WEB["rs1"], "connect_port": 80},
                    "realservers": rss})
    return out


def cluster(n, rs, vrrp):
    c = {"mode": "dr", "services": services(n, rs)}
    if vrrp:
        c["vrrp"] = {"instances": [{"name": "VI_WEB", "interface": "eth0", "virtual_router_id": 51,
                                    "advert_int": 1, "authentication": {"type": "PASS", "pass": "lab-only"},
                                    "vips": ["%s/32" % v for v in VIPS]}]}
    return c


def write_inventory(path, n, rs, vrrp):
    """An inventory folder beside the lab's: group_vars with the cluster, host_vars priorities."""
    for d in ("group_vars", "host_vars"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    all_vars = {"lvs_cluster": cluster(n, rs, vrrp)}
    if not vrrp:
        all_vars["lvs_director_cluster_directors"] = ["dir1"]  # dir1 alone carries the VIPs
    with open(os.path.join(path, "group_vars", "all.json"), "w") as f:
        json.dump(all_vars, f)
    with open(os.path.join(path, "group_vars", "lvs_realservers_linux.json"), "w") as f:
        json.dump({"realserver_linux_test_web": True}, f)
    for host, prio in (("dir1", 150), ("dir2", 100)):
        with open(os.path.join(path, "host_vars", host + ".json"), "w") as f:
            json.dump({"lvs_vrrp_priority": prio}, f)


TASK_LINE = re.compile(r"^(.+?) -{2,} (\d+\.\d+)s$")


def playbook(inventory, play, log_path, args=()):
    """ansible-playbook with profile_tasks: (seconds, {task: seconds}, recap line per host)."""
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
               PROFILE_TASKS_TASK_OUTPUT_LIMIT="all", PROFILE_TASKS_SORT_ORDER="none")
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], "-i", inventory, play] + list(args)
    t0 = time.time()
    with open(log_path, "w") as f:  # written as it runs: follow it with tail -f
        p = subprocess.run(argv, cwd=REPO, env=env, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    took = time.time() - t0
    with open(log_path) as f:
        text = f.read()
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d), see %s: %s" % (play, p.returncode, log_path, text[-3000:]))
    tasks = {}
    for line in text.splitlines():
        m = TASK_LINE.match(line.strip())
        if m:
            tasks[m.group(1).strip()] = tasks.get(m.group(1).strip(), 0) + float(m.group(2))
    recap = {}
    for line in text.split("PLAY RECAP", 1)[-1].splitlines():
        m = re.match(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)", line)
        if m:
            recap[m.group(1)] = {"ok": int(m.group(2)), "changed": int(m.group(3))}
    log("   %s: %.1f s (log %s)" % (os.path.basename(play), took, log_path))
    return {"seconds": round(took, 2), "tasks": tasks, "recap": recap}


def task_time(tasks, *words):
    return round(sum(v for k, v in tasks.items() if all(w in k for w in words)), 2)


def shell_seconds(host, cmd):
    """Seconds the host's own shell spent on cmd (date +%s%N around it)."""
    p = run(host, "t0=$(date +%%s%%N); ( %s ) >/dev/null 2>&1; rc=$?; t1=$(date +%%s%%N); "
                  "echo $rc $(( (t1 - t0) / 1000 ))" % cmd, timeout=600)
    rc, us = p.stdout.split()
    if rc != "0":
        raise RuntimeError("%s: %s exited %s" % (host, cmd, rc))
    return round(int(us) / 1e6, 2)


def ipvs_counts(host):
    return lf.probe().call("ipvs_counts", host=host)


def cpu_ticks(host):
    return lf.probe().call("cpu_ticks", host=host, comm="keepalived")


def keepalived_roles(host):
    """{pid in the host: parent | vrrp | checkers} from Debian's pid files."""
    out = {}
    for name, path in (("parent", "/run/keepalived.pid"), ("vrrp", "/run/vrrp.pid"),
                       ("checkers", "/run/checkers.pid")):
        p = run(host, "cat %s" % path, check=False)
        if p.returncode == 0 and p.stdout.strip():
            out[p.stdout.strip()] = name
    return out


# The lab hosts run no syslog daemon: keepalived's messages (what it added, removed, refused)
# are caught by a /dev/log listener for the reload measurements (glibc's syslog() connects on
# its next message). The sysv lab hosts share the lab kernel's /dev, so every host's messages
# reach it: the sender's credentials (SO_PASSCRED) tell them apart, a process outside the
# listener's host (PID namespace) has pid 0 there; those lines are kept, marked "other-host".
SYSLOG_CATCHER = r"""
import os, socket, struct
try:
    os.unlink("/dev/log")
except OSError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("/dev/log")
with open("/run/bench-syslog", "ab", buffering=0) as f:
    while True:
        msg, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(12))
        pid = [struct.unpack("=iII", d[:12])[0] for lvl, kind, d in anc
               if lvl == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS]
        f.write((b"other-host " if pid == [0] else b"") + msg.rstrip(b"\0\n") + b"\n")
"""


def catch_syslog(host):
    cmd = ("cat > /run/bench-syslog.py && (nohup /usr/bin/python3 /run/bench-syslog.py "
           ">/dev/null 2>&1 </dev/null &) && sleep 1 && test -S /dev/log")
    p = subprocess.run(exec_argv(host, ["/bin/sh", "-c", cmd]), input=SYSLOG_CATCHER, text=True,
                       capture_output=True, timeout=120, check=False)
    if p.returncode != 0:
        raise RuntimeError("%s: no /dev/log listener: %s" % (host, p.stderr))


def syslog_lines(host, other_hosts=False):
    """The caught messages of this host's processes (with other_hosts, the others' as well)."""
    return [x for x in run(host, "cat /run/bench-syslog 2>/dev/null || true", timeout=300).stdout.splitlines()
            if other_hosts or not x.startswith("other-host ")]


def measured_reload(host, done, what, idle_for=2.0, settle=20.0):
    """`service keepalived reload` on host under the client loop and the VIP sampler.

    done(): true once the IPVS table shows the new configuration. Returns the figures."""
    try:
        lf.wait_steady(CLUSTER, timeout=300)
    except RuntimeError:
        log("   not steady: %s; IPVS %s" % (lf.state(CLUSTER), {h: ipvs_counts(h) for h in CLUSTER.directors}))
        raise
    roles = keepalived_roles(host)
    loop = lf.RequestLoop(CLUSTER, duration=RELOAD_TIMEOUT + 120, count=100000, timeout=REQUEST_TIMEOUT)
    sampler = lf.Sampler(CLUSTER)
    sampler.start()
    res = {"what": what, "host": host, "request_timeout_s": REQUEST_TIMEOUT}
    t_reload = t_end = None
    try:
        loop.wait_started()
        time.sleep(2.0)  # baseline
        ticks0 = cpu_ticks(host)
        t_reload = lf.now()
        run(host, "service keepalived reload")
        log("   reload sent on %s: %s" % (host, what))
        # Done when the new table is there and keepalived idle; or, if the table never gets
        # complete, when neither it nor keepalived's CPU time has changed for `settle` s.
        t_applied, last, last_change = None, ticks0, lf.now()
        counts, counts_change = ipvs_counts(host), lf.now()
        res["complete"] = False
        while lf.now() - t_reload < RELOAD_TIMEOUT:
            time.sleep(0.5)
            t = lf.now()
            if t_applied is None and done():
                t_applied = t
                res["complete"] = True
                log("   IPVS table applied %.1f s after the reload" % (t - t_reload))
            c = ipvs_counts(host)
            if c != counts:
                counts, counts_change = c, t
            ticks = cpu_ticks(host)
            if ticks != last:
                last, last_change = ticks, t
            elif t_applied is not None and t - last_change >= idle_for:
                break
            # keepalived's health checks keep its CPU time moving: its own "Reload complete"
            # (caught by the /dev/log listener) ends the reload as well.
            if (t_applied is not None or t - counts_change >= 5) and "reload_complete_s" not in res and \
                    run(host, "grep -v ^other-host /run/bench-syslog | grep -c 'Reload complete'", check=False).stdout.strip() not in ("", "0"):
                res["reload_complete_s"] = round(t - t_reload, 2)
                log("   keepalived logged Reload complete by %.1f s after the reload" % res["reload_complete_s"])
                # keepalived logs its last change and "Reload complete" in the same second:
                # the change may have landed since done() was asked above.
                if t_applied is None and done():
                    t_applied = lf.now()
                    res["complete"] = True
                    log("   IPVS table applied by %.1f s after the reload" % (t_applied - t_reload))
                break
            elif t_applied is None and t - max(last_change, counts_change) >= settle:
                log("   IPVS table settled incomplete: %s" % counts)
                break
        else:
            log("   %s: still busy %.0f s after the reload" % (what, RELOAD_TIMEOUT))
        res["ipvs_counts"] = counts
        res["table_settled_s"] = round(counts_change - t_reload, 2)
        res["applied_s"] = round(t_applied - t_reload, 2) if t_applied else None
        res["busy_s"] = round(last_change - t_reload, 2)  # last CPU tick of keepalived seen
        hz = os.sysconf("SC_CLK_TCK")
        res["cpu_s"] = dict((roles.get(pid, pid), round((last.get(pid, 0) - ticks0.get(pid, 0)) / hz, 2))
                            for pid in sorted(set(last) | set(ticks0)))
        res["processes_before"], res["processes_after"] = sorted(ticks0), sorted(last)
        time.sleep(3.0)
        t_end = lf.now()
    finally:
        reqs = loop.stop()
        sampler.stop()
    t_end = t_end or lf.now()
    res["baseline"] = lf.analyse(reqs, 0, t_reload or t_end)
    res["window"] = lf.analyse(reqs, t_reload or t_end, t_end)
    res["vip_transitions"] = [(round(t - t_reload, 3), h) for t, h in sampler.events]
    res["vip_moved"] = any(h != [CLUSTER.master] for _t, hs in sampler.events for h in hs.values())
    res["holders_after"] = lf.vip_holders(CLUSTER)
    every = syslog_lines(host, other_hosts=True)
    with open(os.path.join(OUT, "bench-large-syslog-%s-%d.log" % (host, int(t_reload))), "w") as f:
        f.write("\n".join(every) + "\n")
    lines = [x for x in every if not x.startswith("other-host ")]
    res["syslog_lines"], res["syslog_lines_other_hosts"] = len(lines), len(every) - len(lines)
    res["syslog_sample"] = [x for x in lines if "rror" in x or "fail" in x.lower()][:20] + lines[-10:]
    run(host, ": > /run/bench-syslog")
    w = res["window"]
    log("   %s: IPVS applied %s s (table %s, last change %.1f s), busy %.1f s, CPU %s, VIP moved: %s, "
        "failed %d/%d (outage %s s)"
        % (what, res["applied_s"], res["ipvs_counts"], res["table_settled_s"], res["busy_s"], res["cpu_s"],
           res["vip_moved"], w["failed"], w["requests"], w["outage_s"]))
    return res


def keepalived_path(n, rs, reload_n, report):
    inv = os.path.join(OUT, "bench-large-keepalived")
    write_inventory(inv, n, rs, vrrp=True)
    site = playbook(inv, SITE, os.path.join(OUT, "bench-large-keepalived-site.log"))
    site["keepalived_conf_task_s"] = task_time(site["tasks"], "Write keepalived.conf")
    report["site"] = site
    counts = {h: ipvs_counts(h) for h in CLUSTER.directors}
    report["ipvs_after_site"] = counts
    log("   IPVS after site.yml: %s" % counts)
    # keepalived, started by the role, may still be loading its table when site.yml ends; the
    # wait ends when both tables are whole, or once neither has changed for 30 s.
    full = [n, (n - 1) * rs + len(WEB)]
    t0 = t_change = time.time()
    report["table_full_after_site_s"] = None
    while time.time() - t0 < 600:
        now = {h: ipvs_counts(h) for h in CLUSTER.directors}
        if all(c == full for c in now.values()):
            report["table_full_after_site_s"] = round(time.time() - t0, 1)
            break
        if now != counts:
            counts, t_change = now, time.time()
        elif time.time() - t_change > 30:
            break
        time.sleep(0.5)
    report["ipvs_settled_after_site"] = counts
    log("   tables after site.yml: full after %s s; settled at %s" % (report["table_full_after_site_s"], counts))
    conf = run("dir1", "wc -c -l < /etc/keepalived/keepalived.conf; wc -c < /etc/keepalived/keepalived.conf").stdout.split()
    report["keepalived_conf_lines"], report["keepalived_conf_bytes"] = int(conf[0]), int(conf[1])
    report["keepalived_t_s"] = shell_seconds(
        "dir1", "/usr/local/sbin/keepalived-validate-config /usr/sbin/keepalived /etc/keepalived/keepalived.conf")
    log("   keepalived -t alone on dir1: %.2f s" % report["keepalived_t_s"])
    if os.environ.get("BENCH_SITE_AGAIN", "0") == "1":
        again = playbook(inv, SITE, os.path.join(OUT, "bench-large-keepalived-site-again.log"))
        report["site_again"] = again

    # 2,000 virtual servers: the role writes and validates the file, the reload is timed here.
    big = os.path.join(OUT, "bench-large-keepalived-reload.json")
    with open(big, "w") as f:
        json.dump({"lvs_cluster": cluster(reload_n, rs, vrrp=True), "keepalived_manage_service": False}, f)
    role = playbook(inv, KEEPALIVED_PLAY, os.path.join(OUT, "bench-large-keepalived-role-%d.log" % reload_n),
                    ["-e", "@" + big, "--limit", "dir1"])
    role["keepalived_conf_task_s"] = task_time(role["tasks"], "Write keepalived.conf")
    report["role_%d" % reload_n] = role
    report["keepalived_t_%d_s" % reload_n] = shell_seconds(
        "dir1", "/usr/local/sbin/keepalived-validate-config /usr/sbin/keepalived /etc/keepalived/keepalived.conf")
    want = [reload_n, (reload_n - 1) * rs + len(WEB)]
    catch_syslog("dir1")
    report["reload_grow"] = measured_reload(
        "dir1", lambda: ipvs_counts("dir1") == want,
        "reload %d -> %d virtual servers (%d real servers)" % (n, reload_n, want[1]))
    # One weight changed: the last real server of the last service.
    run("dir1", "cp /etc/keepalived/keepalived.conf /run/big.conf && "
                "tac /run/big.conf | sed '0,/weight [0-9]*/s//weight %d/' | tac > /etc/keepalived/keepalived.conf"
        % CHANGED_WEIGHT)
    vip, port = VIPS[(reload_n - 1) % 2], 10000 + reload_n - 1
    report["reload_one_weight"] = measured_reload(
        "dir1", lambda: CHANGED_WEIGHT in (lf.probe().call("ipvs_weights", host="dir1", vip=vip, port=port) or {})
        .values() and lf.probe().call("ipvs_weights", host="dir1", vip=vip, port=port).get(
            services(reload_n, rs)[-1]["realservers"][-1]["address"]) == CHANGED_WEIGHT,
        "reload of %d virtual servers with one weight changed" % reload_n)
    report["ipvs_after"] = {h: ipvs_counts(h) for h in CLUSTER.directors}


def ipvs_table_path(n, rs, report):
    inv = os.path.join(OUT, "bench-large-ipvs_table")
    write_inventory(inv, n, rs, vrrp=False)
    limit = ["--limit", "all:!dir2"]
    site = playbook(inv, SITE, os.path.join(OUT, "bench-large-ipvs_table-site.log"), limit)
    site["ipvs_table_task_s"] = task_time(site["tasks"], "State the IPVS table")
    report["site"] = site
    report["ipvs_after_site"] = {"dir1": ipvs_counts("dir1")}
    log("   IPVS after site.yml: %s" % report["ipvs_after_site"])
    again = playbook(inv, SITE, os.path.join(OUT, "bench-large-ipvs_table-site-again.log"), limit)
    again["ipvs_table_task_s"] = task_time(again["tasks"], "State the IPVS table")
    report["site_again"] = again
    # The client reaches the web through dir1's table.
    p = run("client", "curl -s -m 5 -o /dev/null -w '%{http_code}' http://192.0.2.100/", check=False)
    report["client_http_code"] = p.stdout.strip()


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "keepalived"
    n = int(os.environ.get("BENCH_SERVICES", "1000"))
    rs = int(os.environ.get("BENCH_RS", "10"))
    reload_n = int(os.environ.get("BENCH_RELOAD_SERVICES", "2000"))
    version = subprocess.run(["keepalived", "--version"], capture_output=True, text=True).stderr.splitlines()[0]
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "path": path, "services": n, "real_servers_each": rs,
              "keepalived": version}
    t0 = time.time()
    try:
        if path == "keepalived":
            keepalived_path(n, rs, reload_n, report)
        elif path == "ipvs_table":
            ipvs_table_path(n, rs, report)
        else:
            raise SystemExit("usage: large_cluster.py keepalived|ipvs_table")
    finally:
        report["total_s"] = round(time.time() - t0, 1)
        os.makedirs(OUT, exist_ok=True)
        out = os.path.join(OUT, "bench-large-%s.json" % path)
        with open(out, "w") as f:
            json.dump(report, f, indent=1, default=str)
        summary(report)
        print("JSON:", out)
    return 0


def summary(r):
    print("large cluster, %s path, %d services (%s), %s" % (r["path"], r["services"],
                                                           "service 0 + %d x %d real servers" % (r["services"] - 1, r["real_servers_each"]),
                                                           r["keepalived"]))
    if "site" in r:
        s = r["site"]
        print("  site.yml: %.1f s, changed %s" % (s["seconds"], {h: v["changed"] for h, v in s["recap"].items()}))
        for key in ("keepalived_conf_task_s", "ipvs_table_task_s"):
            if key in s:
                print("    %s: %.2f s" % (key, s[key]))
        top = sorted(s["tasks"].items(), key=lambda kv: -kv[1])[:6]
        print("    slowest tasks: %s" % "; ".join("%s %.1f s" % kv for kv in top))
    if "table_full_after_site_s" in r:
        print("  keepalived's table full on both directors %s s after site.yml ended (IPVS then: %s)"
              % (r["table_full_after_site_s"], r["ipvs_after_site"]))
    if "keepalived_t_s" in r:
        print("  keepalived.conf %d lines, %d bytes; keepalived -t alone: %.2f s"
              % (r["keepalived_conf_lines"], r["keepalived_conf_bytes"], r["keepalived_t_s"]))
    if "site_again" in r:
        s = r["site_again"]
        print("  site.yml again: %.1f s, changed %s" % (s["seconds"], {h: v["changed"] for h, v in s["recap"].items()}))
    for key, val in r.items():
        if key.startswith("role_"):
            print("  keepalived role alone on dir1, %s services (rendered, validated): %.1f s, task %.2f s"
                  % (key[5:], val["seconds"], val["keepalived_conf_task_s"]))
        if key.startswith("keepalived_t_") and key != "keepalived_t_s":
            print("  keepalived -t alone at %s services: %.2f s" % (key.split("_")[2], val))
    for key in ("reload_grow", "reload_one_weight"):
        if key in r:
            x = r[key]
            w, b = x["window"], x["baseline"]
            print("  %s: IPVS applied %s s (table %s, complete %s, last change %.1f s), keepalived busy %.1f s, "
                  "CPU %s; VIP moved: %s; failed %d/%d, outage %s s (baseline failed %d/%d); holders after %s"
                  % (x["what"], x["applied_s"], x["ipvs_counts"], x["complete"], x["table_settled_s"], x["busy_s"],
                     x["cpu_s"], x["vip_moved"], w["failed"], w["requests"], w["outage_s"], b["failed"], b["requests"],
                     x["holders_after"]))
            for line in x["syslog_sample"]:
                print("     syslog: %s" % line[:200])
            if x.get("reload_complete_s") is not None:
                print("     keepalived logged Reload complete by %.1f s" % x["reload_complete_s"])
    if r.get("client_http_code"):
        print("  client through dir1's table: HTTP %s" % r["client_http_code"])
    print("  total %.1f s" % r["total_s"])


if __name__ == "__main__":
    sys.exit(main())
