"""Faults injected into a lab cluster and how each is undone; changes re-applied to the directors."""
import json
import os
import subprocess
import time

from lab.core import REPO
from lab.failover.cluster import (KEEPALIVED_PLAY, holders, host_processes, log, lvslab, probe, run,
                                  wait_for, wait_steady)
from lab.hosts import host_on


def start_keepalived(host):
    """Start keepalived in the host (after a stale pid file from a SIGKILL)."""
    # After a SIGKILL the pidfile is stale; Debian's init script refuses to start then.
    run(host, "service keepalived start || (rm -f /run/keepalived*.pid; service keepalived start)")


def restart_keepalived(host):
    """Stop, wait until keepalived has exited, start: Debian's `restart` (stop, sleep 1,
    start) leaves keepalived stopped when it takes longer than that second to exit."""
    run(host, "service keepalived stop", check=False)
    wait_for(lambda: not host_processes(host, "keepalived"), 30, "keepalived to exit on %s" % host, interval=0.2)
    start_keepalived(host)


def fault_kill(cluster):
    """SIGKILL keepalived on the master."""
    # Signalled by the probe in the lab kernel: no process start between the
    # fault's timestamp and the kill (frozen first, then killed: see the probe).
    res = probe().call("kill", host=cluster.master, comm="keepalived")
    if not res["killed"]:
        raise RuntimeError("no keepalived on %s" % cluster.master)
    return "SIGKILL keepalived on %s (%d processes)" % (cluster.master, res["killed"])


def restore_kill(cluster):
    """Start keepalived on the master again."""
    # What a supervisor (systemd Restart=) does: SIGKILL left the VIPs and the
    # IPVS table on the old master, a restarted keepalived takes them over again.
    start_keepalived(cluster.master)


def fault_poweroff(cluster):
    """Power the master off."""
    lvslab("poweroff", cluster.master)
    return "lvslab poweroff %s" % cluster.master


def restore_poweroff(cluster):
    """Power the master on (keepalived starts at boot)."""
    lvslab("poweron", cluster.master)  # keepalived starts at boot; preempts unless nopreempt


def fault_cut(cluster):
    """Cut the master's link at the switch."""
    lvslab("cut", cluster.master, cluster.cut_interface)
    return "lvslab cut %s %s" % (cluster.master, cluster.cut_interface)


def restore_cut(cluster):
    """Mend the master's link."""
    lvslab("mend", cluster.master, cluster.cut_interface)


def fault_rs_web(cluster):
    """Stop the web server of the first real server."""
    rs = sorted(cluster.realservers)[0]
    run(rs, "service lvs-test-web stop")
    return "service lvs-test-web stop on %s" % rs


def restore_rs_web(cluster):
    """Start it again."""
    run(sorted(cluster.realservers)[0], "service lvs-test-web start")


RELOAD_WEIGHT = 7


def fault_reload(cluster):
    """Change a real server's weight in keepalived.conf and reload keepalived."""
    # A changed real server reaches keepalived as a reload (SIGHUP), as the
    # keepalived role's handler does it: the first real server's weight
    # changed in the master's keepalived.conf, restored by another reload.
    run(cluster.master, "cp /etc/keepalived/keepalived.conf /run/keepalived.conf.before-reload-test && "
                        "sed -i '0,/weight [0-9]*/s//weight %d/' /etc/keepalived/keepalived.conf && "
                        "service keepalived reload" % RELOAD_WEIGHT)
    return "weight %d + service keepalived reload on %s" % (RELOAD_WEIGHT, cluster.master)


def restore_reload(cluster):
    """Put the configuration back and reload."""
    run(cluster.master, "cp /run/keepalived.conf.before-reload-test /etc/keepalived/keepalived.conf && "
                        "service keepalived reload")


# name -> (title, inject, restore, moves the VIPs)
FAULTS = {
    "kill": ("keepalived SIGKILLed on the master", fault_kill, restore_kill, True),
    "poweroff": ("master powered off", fault_poweroff, restore_poweroff, True),
    "cut": ("master's link cut", fault_cut, restore_cut, True),
    "rs-web": ("a real server's web server stopped", fault_rs_web, restore_rs_web, False),
    "reload": ("keepalived reloaded with a changed real server", fault_reload, restore_reload, False),
}


def hand_vips_to_master(cluster):
    """keepalived restarted on the backup, then if need be on the master: the master ends up
    holding the VIPs. A stopping keepalived sends priority 0 (the peer takes over at once);
    with nopreempt or preempt_delay both start BACKUP, so the order decides."""
    restart_keepalived(cluster.backup)
    wait_for(lambda: holders(cluster) != [cluster.backup], 30, "the backup to give up the VIP")
    if holders(cluster) != [cluster.master]:
        restart_keepalived(cluster.master)
    wait_steady(cluster, timeout=60)


def apply_vrrp_change(cluster, changes, log_path):
    """Re-apply the keepalived role alone with every vrrp_instance of the cluster's inventory
    changed (a None value removes the key), restart keepalived cleanly and hand the VIPs to
    the master. Returns the playbook's duration; its output goes to log_path."""
    import yaml
    with open(os.path.join(cluster.inventory, "group_vars", "all.yml")) as f:
        instances = yaml.safe_load(f)["lvs_cluster"]["vrrp"]["instances"]
    changed = []
    for inst in instances:
        inst = dict(inst)
        for key, value in changes.items():
            if value is None:
                inst.pop(key, None)
            else:
                inst[key] = value
        changed.append(inst)
    vars_path = log_path + ".vars.json"
    with open(vars_path, "w") as f:
        json.dump({"keepalived_vrrp_instances": changed}, f)
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], "-i", cluster.inventory,
            KEEPALIVED_PLAY, "-e", "@" + vars_path]
    t0 = time.time()
    with open(log_path, "w") as f:  # written as it runs: follow it with tail -f
        p = subprocess.run(argv, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        with open(log_path) as f:
            raise RuntimeError("keepalived role with %s failed (exit %d): %s"
                               % (changes, p.returncode, f.read()[-3000:]))
    took = time.time() - t0
    for h in (cluster.backup, cluster.master):
        restart_keepalived(h)
    wait_for(lambda: holders(cluster), 30, "a VIP holder")
    if holders(cluster) != [cluster.master]:
        hand_vips_to_master(cluster)
    return took


def stateless_mh_sloppy(lvs_cluster):
    """lvs_cluster changed for stateless fail-over: every service scheduled by mh (Maglev
    hashing of source address and port: both directors, with the same real servers in the
    same order, build the same table) and sloppy_tcp on the directors (a director creates a
    connection entry from a mid-flight packet, not only from a SYN): the backup sends the
    master's connections to the same real servers without knowing them (google/seesaw #89)."""
    import copy
    out = copy.deepcopy(lvs_cluster)
    for svc in out["services"]:
        svc["scheduler"] = "mh"
        svc["sched_flags"] = ["mh-fallback", "mh-port"]
    out.setdefault("ipvs", {}).setdefault("sysctl", {})["sloppy_tcp"] = True
    return out


def apply_cluster_change(cluster, change, log_path):
    """The directors' part of site.yml (lvs_director, keepalived) re-applied with the inventory's
    lvs_cluster passed through change(); keepalived restarted cleanly, the master holding the VIPs.
    Returns the playbook's duration; its output goes to log_path."""
    import yaml
    with open(os.path.join(cluster.inventory, "group_vars", "all.yml")) as f:
        changed = change(yaml.safe_load(f)["lvs_cluster"])
    vars_path = log_path + ".vars.json"
    with open(vars_path, "w") as f:
        json.dump({"lvs_cluster": changed}, f)
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], "-i", cluster.inventory,
            os.path.join(REPO, "playbooks", "site.yml"), "--limit", "lvs_directors", "-e", "@" + vars_path]
    t0 = time.time()
    with open(log_path, "w") as f:
        p = subprocess.run(argv, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        with open(log_path) as f:
            raise RuntimeError("site.yml on the directors with a changed lvs_cluster failed (exit %d): %s"
                               % (p.returncode, f.read()[-3000:]))
    took = time.time() - t0
    for h in (cluster.backup, cluster.master):
        restart_keepalived(h)  # the new scheduler in a fresh table
    wait_for(lambda: holders(cluster), 30, "a VIP holder")
    if holders(cluster) != [cluster.master]:
        hand_vips_to_master(cluster)
    return took


def repair(cluster):
    """Best effort: every link up, every host on, keepalived and the test web running."""
    for fix in [lambda: lvslab("mend", cluster.master)] + \
               [lambda h=h: host_on(h) or lvslab("poweron", h) for h in cluster.directors] + \
               [lambda h=h: start_keepalived(h) if not host_processes(h, "keepalived") else None
                for h in cluster.directors] + \
               [lambda r=r: run(r, "service lvs-test-web start", check=False) for r in cluster.realservers]:
        try:
            fix()
        except Exception as exc:  # keep repairing
            log("   repair step: %s" % exc)
