"""Fail-over faults and what a client sees of them, on a lab cluster.

Shared by the `failover` Molecule scenario (assertions) and `make bench`
(figures). Runs on the machine, next to `lvslab`. A `Cluster` names the
directors, the VIPs that move between them and the service the client uses;
`run_fault()` injects one fault under a client request loop and restores the
cluster; `connection_survival()` keeps long-lived streaming connections open
across a director fail-over and counts the ones that survive.

What must happen fast and in the lab kernel (sampling the VIP holders every
50 ms from /proc/<host init>/net, SIGKILL, power off, link cut) is done by the
probe (lab/lvslab_probe.py), one process in the lab kernel started through the
agent: its timestamps are the lab kernel's clock, the clock of the client's
request loop. Orchestration and analysis stay here.
"""
import json
import os
import subprocess
import sys
import threading
import time

import lvslab
import lvslab_client

POLL = 0.05
LAB_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(LAB_DIR)
KEEPALIVED_PLAY = os.path.join(LAB_DIR, "playbooks", "keepalived.yml")
CLIENTS = os.path.join(LAB_DIR, "clients")
REQUEST_LOOP = os.path.join(CLIENTS, "request_loop.py")
STREAM_CLIENTS = os.path.join(CLIENTS, "stream_clients.py")
STREAM_CGI = os.path.join(CLIENTS, "stream.cgi")
PROBE = os.path.join(LAB_DIR, "lvslab_probe.py")


class Cluster:
    """A two-director keepalived cluster of a lab topology."""

    def __init__(self, name, vips, service, realservers, master="dir1", backup="dir2",
                 client="client", cut_interface="eth0", web_root="/srv/lvs-test-www"):
        self.name = name
        self.vips = list(vips)              # every address that moves with VRRP
        self.service = service              # (vip, port) the client uses
        self.realservers = dict(realservers)  # host -> address
        self.master, self.backup, self.client = master, backup, client
        self.directors = (master, backup)
        self.cut_interface = cut_interface  # the link whose loss must move the VIPs
        self.web_root = web_root

    @property
    def url(self):
        vip, port = self.service
        return "http://%s:%d/" % ("[%s]" % vip if ":" in vip else vip, port)

    @property
    def inventory(self):
        """The example inventory that builds this cluster (inventories/lab-<name>)."""
        return os.path.join(REPO, "inventories", "lab-" + self.name)


def from_inventory(name, **kw):
    """The cluster of inventories/lab-<name>, read through the collection's cluster model
    (the same canonical description the roles use): the VIPs of every VRRP instance, the
    first service, its real servers."""
    import yaml
    sys.path.insert(0, os.path.join(REPO, ".lab", "collections"))
    from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import cluster_model
    with open(os.path.join(REPO, "inventories", "lab-" + name, "group_vars", "all.yml")) as f:
        model = cluster_model(yaml.safe_load(f)["lvs_cluster"])
    vips = [a for inst in model["vrrp"]["instances"] for a in inst["addresses"]]
    svc = model["services"][0]
    return Cluster(name, vips=vips, service=(svc["address"], svc["port"]),
                   realservers={rs["host"]: rs["address"] for rs in svc["realservers"]}, **kw)


# The clusters of inventories/lab-dr and inventories/lab-nat on their topologies.
DR = from_inventory("dr")
# Seed 001: the WAN VIP and the real servers' gateway on the LAN move together;
# the LAN link is the one cut (seed 001's `ifdown eth1`).
NAT = from_inventory("nat", cut_interface="eth1")
CLUSTERS = {"dr": DR, "nat": NAT}


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(host, cmd, check=True, timeout=120):
    rc, out, err, error = lvslab_client.run(["/bin/sh", "-c", cmd], host=host, timeout=timeout)
    p = subprocess.CompletedProcess(cmd, rc, out.decode("utf-8", "replace"),
                                    err.decode("utf-8", "replace") + (error or ""))
    if check and p.returncode != 0:
        raise RuntimeError("%s: %r exited %d: %s%s" % (host, cmd, p.returncode, p.stdout, p.stderr))
    return p


def wait_for(pred, timeout, what, interval=POLL):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return now()
        time.sleep(interval)
    raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))


# ---------------------------------------------------------------- the probe in the lab kernel

class Probe:
    """lab/lvslab_probe.py in the lab kernel: requests and answers as JSON lines, events streamed."""

    def __init__(self):
        argv = [sys.executable, os.path.join(LAB_DIR, "lvslab.py"), "exec", "--kernel", "--",
                "python3", "-u", PROBE]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, PYTHONPATH=LAB_DIR))
        self.lock = threading.Lock()
        self.ids = 0
        self.answers = {}
        self.events = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        # The lab kernel's clock against the machine's: timestamps of the
        # request loop and the probe are the lab's; a fault started from here
        # is dated in that clock through this offset (least-delay sample).
        best = None
        for _ in range(5):
            t0 = time.time()
            t_lab = self.call("now")
            t1 = time.time()
            if best is None or t1 - t0 < best[0]:
                best = (t1 - t0, t_lab - (t0 + t1) / 2)
        self.offset = best[1]

    def _read(self):
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self.cond:
                if "event" in msg:
                    self.events.append(msg)
                else:
                    self.answers[msg["id"]] = msg
                self.cond.notify_all()
        with self.cond:
            self.answers[None] = {"error": "the probe ended"}
            self.cond.notify_all()

    def call(self, op, **args):
        with self.lock:
            self.ids += 1
            rid = self.ids
            self.proc.stdin.write(json.dumps(dict(args, id=rid, op=op)) + "\n")
            self.proc.stdin.flush()
        with self.cond:
            while rid not in self.answers and None not in self.answers:
                self.cond.wait(60)
            msg = self.answers.pop(rid, None) or self.answers[None]
        if "error" in msg:
            raise RuntimeError("probe %s: %s" % (op, msg["error"]))
        return msg["result"]

    def take_events(self):
        with self.cond:
            ev, self.events = self.events, []
        return ev


_probe = None


def probe():
    global _probe
    if _probe is None or _probe.proc.poll() is not None:
        _probe = Probe()
    return _probe


def now():
    """The lab kernel's clock (the request loop's and the probe's timestamps)."""
    return time.time() + probe().offset


def lab(*args):
    """An lvslab sub-command run by the probe (no process start in the lab kernel); its start time."""
    res = probe().call("lab", argv=list(args))
    if res["rc"] != 0:
        raise RuntimeError("lvslab %s failed" % " ".join(args))
    return res["t"]


# ---------------------------------------------------------------- state probes

def local_addresses(host):
    """The host's local addresses, IPv4 and IPv6 (what `ip -o addr` shows), read by the probe."""
    return set(probe().call("local_addresses", host=host))


def holders(cluster, vip=None):
    """Directors holding the VIP (default: the service's)."""
    vip = vip or cluster.service[0]
    return vip_holders(cluster)[vip] if vip in cluster.vips else \
        [h for h in cluster.directors if vip in local_addresses(h)]


def vip_holders(cluster):
    """{vip: [directors holding it]} for every VIP of the cluster."""
    return probe().call("vip_holders", vips=cluster.vips, directors=list(cluster.directors))


def ipvs_weights(cluster, host):
    """{real server address: weight} of the service in the host's IPVS table; None without the service."""
    return probe().call("ipvs_weights", host=host, vip=cluster.service[0], port=cluster.service[1])


def ipvs_realservers(cluster, host):
    """Real server addresses of the service in the host's IPVS table; None without the service."""
    weights = ipvs_weights(cluster, host)
    return None if weights is None else list(weights)


def established_connections(cluster, host, client_ports):
    """ESTABLISHED entries for the service from these client ports in the host's IPVS
    connection table (ipvsadm -Lnc): entries of earlier runs do not count."""
    return probe().call("established", host=host, vip=cluster.service[0], port=cluster.service[1],
                        client_ports=list(client_ports))


def steady(cluster, holder=None):
    """Every VIP on exactly the holder (default: the master), all real servers in its table."""
    holder = holder or cluster.master
    if any(h != [holder] for h in vip_holders(cluster).values()):
        return False
    return sorted(ipvs_realservers(cluster, holder) or []) == sorted(cluster.realservers.values())


def wait_steady(cluster, holder=None, timeout=60):
    try:
        wait_for(lambda: steady(cluster, holder), timeout,
                 "the steady state (VIPs only on %s, every real server in its IPVS table)"
                 % (holder or cluster.master), interval=0.2)
        time.sleep(1.0)  # and still so a second later: no flapping
        wait_for(lambda: steady(cluster, holder), 10, "the steady state to hold", interval=0.2)
    except RuntimeError as exc:
        # What the directors looked like: the failure says which part is missing.
        try:
            seen = json.dumps(state(cluster), sort_keys=True)
        except Exception as read_exc:  # the message must still say what timed out
            seen = "unreadable (%s)" % read_exc
        raise RuntimeError("%s; directors: %s" % (exc, seen)) from None


class Sampler:
    """The VIP holders sampled every 50 ms by the probe; keeps (time, {vip: holders}) transitions."""

    def __init__(self, cluster):
        self.cluster, self.events = cluster, []

    def start(self):
        probe().take_events()
        probe().call("sample_start", vips=self.cluster.vips, directors=list(self.cluster.directors))

    def stop(self):
        probe().call("sample_stop")
        self.events = [(e["t"], e["holders"]) for e in probe().take_events() if e["event"] == "holders"]


# ---------------------------------------------------------------- clients

class _ClientProcess:
    """A python script in the client host: lines on stdout, stopped by closing its stdin."""

    def __init__(self, cluster, script, args):
        argv = lvslab.exec_argv(cluster.client, ["/usr/bin/python3", "-u", script] + [str(a) for a in args])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(timeout=60)
        self.reader.join(timeout=10)


class RequestLoop(_ClientProcess):
    """lab/clients/request_loop.py: a GET on a new connection every `interval` s."""

    def __init__(self, cluster, duration=150, count=3000, interval=0.05, timeout=0.5):
        super().__init__(cluster, REQUEST_LOOP, [cluster.url, interval, timeout, count, duration])

    def requests(self):
        out = []
        for line in list(self.lines):
            if not line.startswith("#"):
                t, res, dur, what = line.split(" ", 3)
                out.append((float(t), res == "ok", float(dur), what))
        return out

    def wait_started(self, n=10, timeout=30):
        wait_for(lambda: len(self.requests()) >= n, timeout, "the client request loop to start")

    def stop(self):
        super().stop()
        return self.requests()


class StreamClients(_ClientProcess):
    """lab/clients/stream_clients.py: n long-lived streaming connections through the VIP."""

    def __init__(self, cluster, n, duration=120, talk=0.0):
        vip, port = cluster.service
        super().__init__(cluster, STREAM_CLIENTS, [vip, port, "/cgi-bin/stream", n, duration, talk])
        self.n = n

    def ports(self):
        """Local ports of the connections that receive data."""
        return [int(line.split()[4]) for line in list(self.lines) if line.startswith("# up ")]

    def stop(self):
        super().stop()
        for line in self.lines:
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError("stream clients printed no result: %s" % self.lines[-5:])


def install_stream_cgi(cluster):
    """The real servers' test web (busybox httpd) serves /cgi-bin/stream: a line every 0.2 s."""
    with open(STREAM_CGI) as f:
        body = f.read()
    for rs in cluster.realservers:
        path = cluster.web_root + "/cgi-bin/stream"
        script = "mkdir -p %s/cgi-bin && cat > %s && chmod 755 %s" % (cluster.web_root, path, path)
        p = subprocess.run(lvslab.exec_argv(rs, ["/bin/sh", "-c", script]),
                           input=body, text=True, capture_output=True)
        if p.returncode != 0:
            raise RuntimeError("%s: cannot install %s: %s" % (rs, path, p.stderr))


def analyse(reqs, t_from, t_to):
    """Requests started in [t_from, t_to): outage (first failure -> first success after it), failures."""
    win = [r for r in reqs if t_from <= r[0] < t_to]
    fails = [r for r in win if not r[1]]
    res = {"requests": len(win), "failed": len(fails), "outage_s": 0.0,
           "first_fail": None, "recovered": None,
           "last_ok": all(r[1] for r in win[-5:]) if win else False}
    if fails:
        first = fails[0][0]
        after = [r for r in win if r[1] and r[0] > first]
        res["first_fail"] = round(first - t_from, 3)
        if after:
            res["outage_s"] = round(after[0][0] - first, 3)
            res["recovered"] = round(after[0][0] - t_from, 3)
        else:
            res["outage_s"] = None  # never recovered inside the window
    served = {}
    for r in win:
        if r[1]:
            served[r[3]] = served.get(r[3], 0) + 1
    res["served_by"] = served
    return res


# ---------------------------------------------------------------- faults

def host_processes(host, comm):
    """PIDs (in the lab kernel) of the host's processes named comm."""
    return probe().call("host_processes", host=host, comm=comm)


def start_keepalived(host):
    # After a SIGKILL the pidfile is stale; Debian's init script refuses to start then.
    run(host, "service keepalived start || (rm -f /run/keepalived*.pid; service keepalived start)")


def restart_keepalived(host):
    """Stop, wait until keepalived has exited, start: Debian's `restart` (stop, sleep 1,
    start) leaves keepalived stopped when it takes longer than that second to exit."""
    run(host, "service keepalived stop", check=False)
    wait_for(lambda: not host_processes(host, "keepalived"), 30, "keepalived to exit on %s" % host, interval=0.2)
    start_keepalived(host)


def fault_kill(cluster):
    # Signalled by the probe in the lab kernel: no process start between the
    # fault's timestamp and the kill (frozen first, then killed: see the probe).
    res = probe().call("kill", host=cluster.master, comm="keepalived")
    if not res["killed"]:
        raise RuntimeError("no keepalived on %s" % cluster.master)
    return "SIGKILL keepalived on %s (%d processes)" % (cluster.master, res["killed"])


def restore_kill(cluster):
    # What a supervisor (systemd Restart=) does: SIGKILL left the VIPs and the
    # IPVS table on the old master, a restarted keepalived takes them over again.
    start_keepalived(cluster.master)


def fault_poweroff(cluster):
    lab("poweroff", cluster.master)
    return "lvslab poweroff %s" % cluster.master


def restore_poweroff(cluster):
    lab("poweron", cluster.master)  # keepalived starts at boot; preempts unless nopreempt


def fault_cut(cluster):
    lab("cut", cluster.master, cluster.cut_interface)
    return "lvslab cut %s %s" % (cluster.master, cluster.cut_interface)


def restore_cut(cluster):
    lab("mend", cluster.master, cluster.cut_interface)


def fault_rs_web(cluster):
    rs = sorted(cluster.realservers)[0]
    run(rs, "service lvs-test-web stop")
    return "service lvs-test-web stop on %s" % rs


def restore_rs_web(cluster):
    run(sorted(cluster.realservers)[0], "service lvs-test-web start")


RELOAD_WEIGHT = 7


def fault_reload(cluster):
    # A changed real server reaches keepalived as a reload (SIGHUP), as the
    # keepalived role's handler does it: the first real server's weight
    # changed in the master's keepalived.conf, restored by another reload.
    run(cluster.master, "cp /etc/keepalived/keepalived.conf /run/keepalived.conf.before-reload-test && "
                        "sed -i '0,/weight [0-9]*/s//weight %d/' /etc/keepalived/keepalived.conf && "
                        "service keepalived reload" % RELOAD_WEIGHT)
    return "weight %d + service keepalived reload on %s" % (RELOAD_WEIGHT, cluster.master)


def restore_reload(cluster):
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


def state(cluster):
    """What the directors look like (recorded when a measurement fails)."""
    out = {}
    for h in cluster.directors:
        if not lvslab.host_on(h):
            out[h] = "powered off"
            continue
        out[h] = {"keepalived_processes": len(host_processes(h, "keepalived")),
                  "vips": sorted(set(cluster.vips) & local_addresses(h)),
                  "ipvs": ipvs_weights(cluster, h)}
    return out


def forensics(cluster):
    """Each director's keepalived processes (state, where they wait), sync daemons and addresses:
    logged when a test leaves the cluster unsteady, to tell a stalled keepalived from a dead one."""
    for h in cluster.directors:
        if not lvslab.host_on(h):
            log("   %s: powered off" % h)
            continue
        out = run(h, "ps -o pid,stat,wchan:24,etime,args -C keepalived; ipvsadm -L --daemon; "
                     "ip -o addr show | grep -v ' lo '", check=False, timeout=30)
        log("   %s:\n%s%s" % (h, out.stdout, out.stderr))


def repair(cluster):
    """Best effort: every link up, every host on, keepalived and the test web running."""
    for fix in [lambda: lab("mend", cluster.master)] + \
               [lambda h=h: lvslab.host_on(h) or lab("poweron", h) for h in cluster.directors] + \
               [lambda h=h: start_keepalived(h) if not host_processes(h, "keepalived") else None
                for h in cluster.directors] + \
               [lambda r=r: run(r, "service lvs-test-web start", check=False) for r in cluster.realservers]:
        try:
            fix()
        except Exception as exc:  # keep repairing
            log("   repair step: %s" % exc)


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


# ---------------------------------------------------------------- connection sync

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
