"""One fault under a client request loop: inject, measure what the client saw, restore."""
import time

from lab.failover.clients import RequestLoop, analyse
from lab.failover.cluster import (Sampler, ipvs_realservers, ipvs_weights, log, now, run, vip_holders,
                                  wait_for, wait_steady)
from lab.failover.faults import FAULTS, RELOAD_WEIGHT


def run_fault(cluster, name, expect_back=None, settle=3.0, request_timeout=0.5):
    """One fault under the request loop: inject, wait for its effect, restore, wait for steady state.

    expect_back: the director expected to hold the VIPs once restored (default
    the master: it preempts; with nopreempt the backup keeps them).
    request_timeout: a request without an answer in that time counts as
    failed; the outage cannot be measured finer than it.
    """
    title, inject, restore, moves = FAULTS[name]
    expect_back = expect_back or cluster.master
    wait_steady(cluster)
    loop = RequestLoop(cluster, timeout=request_timeout)
    sampler = Sampler(cluster)
    sampler.start()
    res = {"fault": name, "title": title, "cluster": cluster.name, "request_timeout_s": request_timeout}
    t_fault = t_restore = None
    try:
        loop.wait_started()
        time.sleep(2.0)  # baseline
        t_fault = now()
        res["action"] = inject(cluster)
        rs_addr = cluster.realservers[sorted(cluster.realservers)[0]]
        if name == "rs-web":
            t = wait_for(lambda: rs_addr not in (ipvs_realservers(cluster, cluster.master) or []), 60,
                         "keepalived to take the stopped real server out")
            res["rs_removed_s"] = round(t - t_fault, 3)
        if name == "reload":
            t = wait_for(lambda: RELOAD_WEIGHT in (ipvs_weights(cluster, cluster.master) or {}).values(), 30,
                         "the reloaded weight in the IPVS table")
            res["reload_applied_s"] = round(t - t_fault, 3)
        if moves:
            t = wait_for(lambda: all(cluster.backup in h for h in vip_holders(cluster).values()), 30,
                         "every VIP on %s" % cluster.backup)
            res["vip_move_s"] = round(t - t_fault, 3)
            res["ipvs_on_backup"] = ipvs_realservers(cluster, cluster.backup)
        time.sleep(settle)  # requests after the move
        res["holders_during_fault"] = vip_holders(cluster)
        t_restore = now()
        restore(cluster)
        if name == "rs-web":
            t = wait_for(lambda: rs_addr in (ipvs_realservers(cluster, cluster.master) or []), 60,
                         "keepalived to put the real server back")
            res["rs_readded_s"] = round(t - t_restore, 3)
        wait_steady(cluster, expect_back, timeout=60)
        res["restore_s"] = round(now() - t_restore, 3)
        time.sleep(2.0)
    finally:
        reqs = loop.stop()
        sampler.stop()
    t_end = now()
    res["fault_window"] = analyse(reqs, t_fault, t_restore or t_end)
    res["restore_window"] = analyse(reqs, t_restore or t_end, t_end)
    res["baseline"] = analyse(reqs, 0, t_fault)
    res["vip_transitions"] = [(round(t - t_fault, 3), h) for t, h in sampler.events]
    # Fail-back: when every VIP was on the master alone again after the restore
    # (None if it stayed on the backup: nopreempt).
    back = [t for t, h in sampler.events
            if t_restore and t >= t_restore and all(v == [cluster.master] for v in h.values())]
    res["failback_s"] = round(back[0] - t_restore, 3) if back and moves else None
    # Afterwards, as an operator checks it: `ip -o addr` on each director.
    res["holders_after"] = {v: [h for h in cluster.directors
                                if " %s/" % v in run(h, "ip -o addr show").stdout]
                            for v in cluster.vips}
    res["split_brain"] = any(len(h) != 1 for h in res["holders_after"].values())
    res["ipvs_after"] = ipvs_realservers(cluster, expect_back)
    fw, rw = res["fault_window"], res["restore_window"]
    log("   %s: outage %s s, VIP move %s s, failed %d/%d; restore: failed %d (outage %s s); holders after %s"
        % (name, fw["outage_s"], res.get("vip_move_s"), fw["failed"], fw["requests"],
           rw["failed"], rw["outage_s"], res["holders_after"]))
    return res
