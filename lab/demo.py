"""`make demo`: what a user came for, on the built-in lab (run under `lvslab run -t lab/topologies/dr.yml`).

1. lvs.cluster.site builds the LVS-DR cluster of inventories/lab-dr (two
   directors with keepalived, two real servers) on the lab hosts;
2. requests from the lab's client through the VIP, answered by both real servers;
3. the master director powered off under a client request loop: the VIP moves
   to the backup, requests keep being answered, the measured outage is printed;
   the master is powered on again and takes the VIP back;
4. the status playbook's table (VRRP state, IPVS table, connections, rates).
"""
import os
import subprocess
import sys
import time

from lab import client
from lab import failover as fo
from lab.core import REPO


def say(msg):
    """A step's heading."""
    print("\n== %s" % msg, flush=True)


def playbook(name, *extra):
    """Run playbooks/NAME on the lab hosts (the lab's inventory and inventories/lab-dr)."""
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], "-i", os.path.join(REPO, "inventories", "lab-dr"),
            os.path.join(REPO, "playbooks", name)] + list(extra)
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True)


def out(host, cmd):
    """The stdout of a shell command in a lab host."""
    return client.run(["/bin/sh", "-c", cmd], host=host)[1].decode()


def main():
    """The demo's four steps; 0 when all went well."""
    t0 = time.time()
    say("lvs.cluster.site: the DR cluster of inventories/lab-dr on 5 lab hosts")
    res = playbook("site.yml")
    recap = res.stdout[res.stdout.rfind("PLAY RECAP"):]
    print(recap.strip())
    if res.returncode != 0:
        print(res.stdout[-4000:], res.stderr[-2000:])
        return 1
    print("(%.0f s)" % (time.time() - t0))
    cluster = fo.cluster("dr")
    fo.wait_steady(cluster, timeout=60)
    say("IPVS table on dir1 (keepalived master, holds the VIP %s)" % cluster.service[0])
    print(out("dir1", "ipvsadm -Ln").rstrip())
    say("six requests from the client to http://%s/" % cluster.service[0])
    for _ in range(6):
        print("  " + out("client", "curl -s --max-time 5 http://%s/" % cluster.service[0]).strip())
    say("fail-over: dir1 powered off under a request every 50 ms")
    res = fo.run_fault(cluster, "poweroff", settle=2.0, request_timeout=0.5)
    fw = res["fault_window"]
    print("  VIP on dir2 after %.2f s; outage seen by the client %s s; %d of %d requests failed"
          % (res["vip_move_s"], fw["outage_s"], fw["failed"], fw["requests"]))
    print("  answered during the fault by: %s" % ", ".join("%s (%d)" % kv for kv in sorted(fw["served_by"].items())))
    print("  dir1 powered on again: VIP back on dir1 after %s s, holders now %s"
          % (res["failback_s"], res["holders_after"]))
    say("status playbook (lvs.cluster.status)")
    res = playbook("status.yml")
    text = res.stdout
    for block in text.split("TASK [Show the status]")[1:2]:
        print(block.split("PLAY RECAP")[0].split("\nTASK [")[0].strip())
    if res.returncode != 0:
        print(text[-3000:], res.stderr[-2000:])
        return 1
    print("\ndemo done in %.0f s (after the lab booted)" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
