"""Fail-over faults and what a client sees of them, on a lab cluster.

Shared by the `failover` Molecule scenario (assertions) and `make bench`
(figures). Runs on the machine, next to `lvslab`. A `Cluster` names the
directors, the VIPs that move between them and the service the client uses;
`run_fault()` injects one fault under a client request loop and restores the
cluster; `connection_survival()` keeps long-lived streaming connections open
across a director fail-over and counts the ones that survive.

What must happen fast and in the lab kernel (sampling the VIP holders every
50 ms from /proc/<host init>/net, SIGKILL, power off, link cut) is done by the
probe (lab/probe.py), one process in the lab kernel started through the
agent: its timestamps are the lab kernel's clock, the clock of the client's
request loop. Orchestration and analysis stay here.

The parts: cluster (Cluster, cluster(name), the probe and what it reads),
clients (request loop, streaming clients, analysis), faults (inject and undo),
runner (run_fault) and survival (connection_survival); their public names are
also this package's. Importing it reads no inventory and imports no collection code.
"""
from lab.failover.clients import RequestLoop, StreamClients, analyse, install_stream_cgi
from lab.failover.cluster import (KEEPALIVED_PLAY, Cluster, Probe, Sampler, cluster, established_connections,
                                  forensics, from_inventory, holders, host_processes, ipvs_realservers,
                                  ipvs_weights, local_addresses, log, lvslab, now, probe, run, state, steady,
                                  vip_holders, wait_for, wait_steady)
from lab.failover.faults import (FAULTS, RELOAD_WEIGHT, apply_cluster_change, apply_vrrp_change,
                                 fault_cut, fault_kill, fault_poweroff, fault_reload, fault_rs_web,
                                 restore_cut, restore_kill, restore_poweroff, restore_reload, restore_rs_web,
                                 hand_vips_to_master, repair, restart_keepalived, start_keepalived,
                                 stateless_mh_sloppy)
from lab.failover.runner import run_fault
from lab.failover.survival import connection_survival, sync_daemons

__all__ = [
    "Cluster", "FAULTS", "KEEPALIVED_PLAY", "Probe", "RELOAD_WEIGHT", "RequestLoop", "Sampler", "StreamClients",
    "analyse", "apply_cluster_change", "apply_vrrp_change", "cluster", "connection_survival",
    "established_connections", "fault_cut", "fault_kill", "fault_poweroff", "fault_reload", "fault_rs_web",
    "forensics", "from_inventory", "hand_vips_to_master", "holders",
    "host_processes", "install_stream_cgi", "ipvs_realservers", "ipvs_weights", "local_addresses", "lvslab",
    "log", "now", "probe", "repair", "restore_cut", "restore_kill", "restore_poweroff", "restore_reload",
    "restore_rs_web", "restart_keepalived", "run", "run_fault", "start_keepalived", "state",
    "stateless_mh_sloppy", "steady", "sync_daemons", "vip_holders", "wait_for", "wait_steady",
]
