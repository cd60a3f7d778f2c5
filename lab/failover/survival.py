"""Long-lived connections across a director fail-over: how many survive, with and without
IPVS connection sync."""
import time

from lab.failover.clients import StreamClients
from lab.failover.cluster import established_connections, log, now, run, vip_holders, wait_for, wait_steady
from lab.failover.faults import FAULTS, restart_keepalived


def sync_daemons(host):
    """`ipvsadm -L --daemon` of the host, one line per running sync daemon."""
    return run(host, "ipvsadm -L --daemon").stdout.strip().splitlines()


def connection_survival(cluster, sync=True, n=6, fault="poweroff", settle=6.0, talk=0.0):
    """n streaming connections through the VIP across a director fail-over.

    With sync=False the backup's sync daemon is stopped first, so its
    connection table knows nothing of them when it takes over. With talk > 0 the
    clients also send a byte every `talk` seconds (else only the real servers send). A connection
    survives if it got no reset/EOF and received data in the last 2 s of the
    run, well after the VIPs moved.
    """
    _, inject, restore, _ = FAULTS[fault]
    wait_steady(cluster)
    if not sync:
        run(cluster.backup, "ipvsadm --stop-daemon backup")
    res = {"sync": sync, "fault": fault, "opened": n, "cluster": cluster.name, "client_talks_s": talk}
    clients = StreamClients(cluster, n, talk=talk)
    try:
        wait_for(lambda: len(clients.ports()) >= n, 60, "%d streaming connections" % n, interval=0.2)
        ports = clients.ports()
        # The master syncs a connection after its 3rd packet, in batches
        # flushed every ~2 s: wait until the backup knows them all (or 10 s).
        try:
            wait_for(lambda: established_connections(cluster, cluster.backup, ports) >= n, 10,
                     "the backup's connection table", interval=0.2)
        except RuntimeError:
            pass
        res["on_backup_before"] = established_connections(cluster, cluster.backup, ports)
        res["on_master_before"] = established_connections(cluster, cluster.master, ports)
        t_fault = now()
        res["action"] = inject(cluster)
        t = wait_for(lambda: all(cluster.backup in h for h in vip_holders(cluster).values()), 30,
                     "every VIP on %s" % cluster.backup)
        res["vip_move_s"] = round(t - t_fault, 3)
        time.sleep(settle)
    finally:
        result = clients.stop()
    t_end = result["end"]
    res["survived"] = sum(1 for c in result["connections"]
                          if c["error"] is None and c["last_rx"] is not None and c["last_rx"] > t_end - 2.0)
    res["connections"] = result["connections"]
    restore(cluster)
    wait_steady(cluster, timeout=90)
    if not sync:
        # keepalived on the backup starts its backup sync daemon again
        restart_keepalived(cluster.backup)
        wait_steady(cluster, timeout=60)
    log("   connections %s sync: %d/%d survived (backup knew %d before the fault)"
        % ("with" if sync else "without", res["survived"], n, res["on_backup_before"]))
    return res
