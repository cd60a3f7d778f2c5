#!/usr/bin/env python3
"""Fail-over benchmark (issue 6), run on the machine with the cluster's topology up in a lab:

    make bench                      # dr, then nat, each in its own lab
    lab/bin/lvslab run -v -t lab/topologies/dr.yml -- python tests/bench/run.py dr

1. Builds the cluster as lab/demo.py does (playbooks/site.yml with
   inventories/lab-<cluster>).
2. For each VRRP setting and each fault, lab/failover/ runs the
   client request loop, injects the fault, restores the cluster and reports:
   client-visible outage (first failed request after the fault to the first
   successful one after it), VIP move time (fault until every VIP is on the
   backup, sampled every 50 ms), failed requests, the directors holding each
   VIP once restored (must be exactly one), the fail-back (restore until the
   master holds the VIPs again) and, for the connection faults, how many
   streaming connections survived a fail-over (with and without IPVS
   connection sync).
   Settings: v2-1s = the inventory (VRRPv2, advert_int 1, preempt); v3-0.1s =
   VRRPv3, advert_int 0.1; v2-1s-nopreempt and v2-1s-preempt_delay5 (only the
   poweroff fault: the master coming back). Each re-applies the keepalived
   role (lab/playbooks/keepalived.yml) with an override of
   keepalived_vrrp_instances. mh-sloppy (only the connection faults) is
   stateless fail-over: the inventory's VRRP, every service scheduled by mh
   (mh-fallback, mh-port) and sloppy_tcp on both directors, re-applied by
   site.yml on the directors with a changed lvs_cluster; its conn-nosync row
   is the backup carrying the master's connections without the sync daemon;
   its conn-nosync-talk row (mh-sloppy only) the same with clients that also
   send a byte every 0.5 s (a director without sync learns a connection only
   from a client's packet: in NAT a stream only the server sends stalls).
   Stateless against sync in one run:
     BENCH_SETTINGS=v2-1s,mh-sloppy BENCH_FAULTS=conn-sync,conn-nosync
3. Optionally (BENCH_IPVS_BULK=1, default on for dr) times ipvs_table with
   100 services x 10 real servers in one call, first apply and no-op re-apply.

Prints a table and writes $LVSLAB_OUT/bench-failover-<cluster>.json.
Environment: BENCH_SETTINGS, BENCH_FAULTS (comma lists), BENCH_SKIP_SITE=1
(cluster already built).
"""
import json
import os
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
from lab import failover as lf  # noqa: E402  (lvslab run: PYTHONPATH)
from lab.failover import log, run  # noqa: E402

OUT = os.environ.get("LVSLAB_OUT", os.path.join(REPO, ".lab"))

DEFAULT_SETTINGS = "v2-1s,v3-0.1s,v2-1s-nopreempt,v2-1s-preempt_delay5,mh-sloppy"
DEFAULT_FAULTS = "kill,poweroff,cut,rs-web,reload,conn-sync,conn-nosync,conn-nosync-talk"
# Faults that only mean something for stateless fail-over (CONNECTIONS_ONLY settings).
STATELESS_ONLY = {"conn-nosync-talk"}
# What each setting changes in every vrrp_instance of the inventory.
SETTINGS = {
    "v2-1s": {},
    "v3-0.1s": {"version": 3, "advert_int": 0.1, "authentication": None},  # no auth in VRRPv3
    "v2-1s-nopreempt": {"nopreempt": True},
    "v2-1s-preempt_delay5": {"preempt_delay": 5},
}
# Settings that change lvs_cluster (site.yml on the directors) instead of the VRRP instances.
CLUSTER_SETTINGS = {"mh-sloppy": lf.stateless_mh_sloppy}
# Settings that only change how the master comes back: only that fault.
FAILBACK_ONLY = {"v2-1s-nopreempt", "v2-1s-preempt_delay5"}
# Settings that only change what happens to established connections: only those faults.
CONNECTIONS_ONLY = {"mh-sloppy"}
# A request unanswered for this long counts as failed. It bounds the outage
# from below whenever a request fails, so it must be finer than the 0.5 s goal;
# the baseline window (no fault) shows whether it is long enough for the lab.
REQUEST_TIMEOUT = float(os.environ.get("BENCH_REQUEST_TIMEOUT", "0.2"))


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


def build_cluster(cluster):
    return ansible(["-i", os.environ["LVSLAB_INVENTORY"], "-i", cluster.inventory, "playbooks/site.yml"],
                   "site-" + cluster.name)


def apply_setting(cluster, setting):
    """The keepalived role re-applied with the setting; keepalived restarted, master holding the VIPs."""
    if setting in CLUSTER_SETTINGS:
        log_path = os.path.join(OUT, "bench-site-directors-%s-%s.log" % (cluster.name, setting))
        log("== site.yml on the directors with %s (log %s)" % (setting, log_path))
        dt = lf.apply_cluster_change(cluster, CLUSTER_SETTINGS[setting], log_path)
        for h in cluster.directors:
            log("   %s: sloppy_tcp=%s; %s" % (h, run(h, "sysctl -n net.ipv4.vs.sloppy_tcp").stdout.strip(),
                                            run(h, "ipvsadm -Ln | grep -E '^(TCP|UDP)'").stdout.strip()))
        return dt
    log_path = os.path.join(OUT, "bench-keepalived-%s-%s.log" % (cluster.name, setting))
    log("== keepalived role with %s (log %s)" % (setting, log_path))
    dt = lf.apply_vrrp_change(cluster, SETTINGS[setting], log_path)
    conf = run(cluster.master, "grep -E 'version|advert_int|auth_type|preempt' "
                               "/etc/keepalived/keepalived.conf || true").stdout
    log("   took %.1f s; keepalived.conf on %s: %s"
        % (dt, cluster.master, " | ".join(x.strip() for x in conf.splitlines())))
    return dt


# ---------------------------------------------------------------- one measurement

def measure(cluster, fault, setting):
    log("== %s / %s / %s" % (cluster.name, setting, fault))
    if fault in ("conn-sync", "conn-nosync", "conn-nosync-talk"):
        # conn-nosync-talk: the clients also send a byte every 0.5 s (a director without
        # sync learns a connection only from a client's packet; see docs/benchmarks.md)
        res = lf.connection_survival(cluster, sync=fault == "conn-sync",
                                     talk=0.5 if fault == "conn-nosync-talk" else 0.0)
        res["fault"] = fault
        return res
    expect_back = cluster.backup if setting == "v2-1s-nopreempt" else None
    res = lf.run_fault(cluster, fault, expect_back=expect_back, request_timeout=REQUEST_TIMEOUT)
    if expect_back:
        lf.hand_vips_to_master(cluster)  # the next measurement starts from the master
    return res


# ---------------------------------------------------------------- ipvs_table bulk

def ipvs_bulk():
    import importlib.util
    # the runner of tests/lab (one python in the host)
    spec = importlib.util.spec_from_file_location("lab_conftest", os.path.join(REPO, "tests", "lab", "conftest.py"))
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    ModuleRunner = conftest.ModuleRunner
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

def fmt(v):
    return "-" if v is None else ("%.2f" % v if isinstance(v, float) else str(v))


def holders_text(holders_after):
    return " ".join("%s:%s" % (vip, ",".join(h) or "none") + ("" if len(h) == 1 else " SPLIT")
                    for vip, h in holders_after.items())


def table(cluster, results):
    head = ("fault", "setting", "outage s", "VIP move s", "failed", "holders after",
            "failback s", "failback outage s", "failback failed", "connections survived", "baseline failed")
    rows = []
    for r in results:
        if "error" in r:
            rows.append((r["fault"], r["setting"], "ERROR", r["error"][:70]) + ("",) * 7)
        elif r["fault"].startswith("conn-"):
            rows.append((r["fault"], r["setting"], "-", fmt(r["vip_move_s"]), "-", "-", "-", "-", "-",
                         "%d/%d (backup knew %d)" % (r["survived"], r["opened"], r["on_backup_before"]), "-"))
        else:
            fw, rw = r["fault_window"], r["restore_window"]
            move = r.get("vip_move_s")
            if r["fault"] == "rs-web":
                move = "rs out %.2f / in %.2f" % (r["rs_removed_s"], r.get("rs_readded_s") or -1)
            elif r["fault"] == "reload":
                move = "none (weight applied %.2f)" % r["reload_applied_s"]
            rows.append((r["fault"], r["setting"], fmt(fw["outage_s"]), fmt(move),
                         "%d/%d" % (fw["failed"], fw["requests"]), holders_text(r["holders_after"]),
                         fmt(r.get("failback_s")), fmt(rw["outage_s"]),
                         "%d/%d" % (rw["failed"], rw["requests"]), "-",
                         "%d/%d" % (r["baseline"]["failed"], r["baseline"]["requests"])))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["cluster %s (VIPs %s)" % (cluster.name, ", ".join(cluster.vips)),
             "  ".join(str(x).ljust(w) for x, w in zip(head, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def main():
    cluster = lf.cluster(sys.argv[1] if len(sys.argv) > 1 else "dr")
    settings = os.environ.get("BENCH_SETTINGS", DEFAULT_SETTINGS).split(",")
    faults = os.environ.get("BENCH_FAULTS", DEFAULT_FAULTS).split(",")
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "cluster": cluster.name, "vips": cluster.vips,
              "client_loop": "one python process in the client: GET %s every 50 ms, new TCP "
                             "connection each, %.2f s timeout" % (cluster.url, REQUEST_TIMEOUT),
              "results": []}
    os.makedirs(OUT, exist_ok=True)
    out_path = os.path.join(OUT, "bench-failover-%s.json" % cluster.name)

    def save():
        with open(out_path, "w") as f:
            json.dump(report, f, indent=1)

    rc = 0
    skip_site = os.environ.get("BENCH_SKIP_SITE") == "1"
    try:
        if not skip_site:
            report["site_s"] = round(build_cluster(cluster), 1)
        lf.wait_for(lambda: lf.holders(cluster) == [cluster.master], 30, "the VIP on the master after site.yml")
        lf.install_stream_cgi(cluster)
        for setting in settings:
            # The first setting, the inventory's, is what site.yml built.
            if setting != "v2-1s" or settings.index(setting) > 0 or skip_site:
                report.setdefault("apply_s", {})[setting] = round(apply_setting(cluster, setting), 1)
            todo = ["poweroff"] if setting in FAILBACK_ONLY else \
                [f for f in faults if f.startswith("conn-")] if setting in CONNECTIONS_ONLY else \
                [f for f in faults if f not in STATELESS_ONLY]
            for fault in todo:
                try:
                    res = measure(cluster, fault, setting)
                except Exception as exc:
                    rc = 1
                    log("   FAILED: %s" % exc)
                    res = {"fault": fault, "error": str(exc), "state": lf.state(cluster)}
                    log("   state: %s" % json.dumps(res["state"]))
                    lf.repair(cluster)
                res["setting"] = setting
                report["results"].append(res)
                save()
    except Exception as exc:
        rc = 1
        report["error"] = str(exc)
        log("BENCH FAILED: %s" % exc)
    if os.environ.get("BENCH_IPVS_BULK", "1" if cluster.name == "dr" else "0") == "1":
        try:
            report["ipvs_table_bulk"] = ipvs_bulk()
        except Exception as exc:
            report["ipvs_table_bulk"] = {"error": str(exc)}
            log("ipvs_table bulk failed: %s" % exc)
    save()
    print()
    print("Fail-over benchmark (timings on a shared 2-core machine in user-mode Linux: noisy)")
    print(table(cluster, report["results"]))
    if "ipvs_table_bulk" in report:
        print("ipvs_table bulk:", json.dumps(report["ipvs_table_bulk"]))
    print("JSON:", out_path)
    return rc


if __name__ == "__main__":
    sys.exit(main())
