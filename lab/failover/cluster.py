"""A lab cluster for fail-over work, and what the machine reads of it through the probe.

A `Cluster` names the directors, the VIPs that move between them and the service
the client uses; `cluster(name)` builds one from inventories/lab-<name> (read
when asked for, through the collection's cluster model). What must happen fast
and in the lab kernel (sampling the VIP holders every 50 ms from /proc/<host
init>/net, SIGKILL, power off, link cut) is done by the probe (lab/probe.py),
one process in the lab kernel started through the agent: its timestamps are the
lab kernel's clock, the clock of the client's request loop.
"""
import json
import os
import subprocess
import threading
import time

from lab import client as lab_client
from lab.core import LAB_HOME, LVSLAB, REPO
from lab.hosts import host_on

POLL = 0.05
KEEPALIVED_PLAY = os.path.join(LAB_HOME, "playbooks", "keepalived.yml")
# Settings of the example clusters (inventories/lab-<name>) beyond their inventory.
# nat: the WAN VIP and the real servers' gateway on the LAN move together; the LAN
# link is the one cut.
CLUSTER_OPTIONS = {"nat": {"cut_interface": "eth1"}}


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
        """The service's URL as the client requests it."""
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
    # The collection (ansible_collections.lvs.cluster) from .lab/collections, on PYTHONPATH
    # (pytest.ini; make demo and make bench), imported only here: importing lab.failover
    # needs no set-up.
    try:
        from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import cluster_model
    except ImportError as exc:
        raise RuntimeError("the collection's cluster model is not importable (%s): run `make setup`, then "
                           "under pytest (pytest.ini) or with PYTHONPATH=.lab/collections (make demo, "
                           "make bench)" % exc) from None
    with open(os.path.join(REPO, "inventories", "lab-" + name, "group_vars", "all.yml")) as f:
        model = cluster_model(yaml.safe_load(f)["lvs_cluster"])
    vips = [a for inst in model["vrrp"]["instances"] for a in inst["addresses"]]
    svc = model["services"][0]
    return Cluster(name, vips=vips, service=(svc["address"], svc["port"]),
                   realservers={rs["host"]: rs["address"] for rs in svc["realservers"]}, **kw)


_clusters = {}


def cluster(name):
    """The Cluster of inventories/lab-<name> on its topology (read once, when first asked for)."""
    if name not in _clusters:
        _clusters[name] = from_inventory(name, **CLUSTER_OPTIONS.get(name, {}))
    return _clusters[name]


def log(msg):
    """A timestamped progress line on stdout."""
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(host, cmd, check=True, timeout=120):
    """A shell command in a lab host (CompletedProcess); RuntimeError if it fails and check."""
    rc, out, err, error = lab_client.run(["/bin/sh", "-c", cmd], host=host, timeout=timeout)
    p = subprocess.CompletedProcess(cmd, rc, out.decode("utf-8", "replace"),
                                    err.decode("utf-8", "replace") + (error or ""))
    if check and p.returncode != 0:
        raise RuntimeError("%s: %r exited %d: %s%s" % (host, cmd, p.returncode, p.stdout, p.stderr))
    return p


def wait_for(pred, timeout, what, interval=POLL):
    """Poll pred until true (the lab's clock then); RuntimeError naming `what` after timeout s."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return now()
        time.sleep(interval)
    raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))


# ---------------------------------------------------------------- the probe in the lab kernel

class Probe:
    """lab/probe.py in the lab kernel: requests and answers as JSON lines, events streamed."""

    def __init__(self):
        # The lab package and the collection (its IPVS netlink client) for the probe's Python.
        path = os.pathsep.join([REPO, os.path.join(REPO, ".lab", "collections")])
        argv = [LVSLAB, "exec", "--kernel", "--", "env", "PYTHONPATH=" + path, "python3", "-u", "-m", "lab.probe"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
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
        """One request to the probe; its result (RuntimeError on error)."""
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
        """The events streamed since the last call."""
        with self.cond:
            ev, self.events = self.events, []
        return ev


_probe = None


def probe():
    """The running probe in the lab kernel (started when first needed or after it ended)."""
    global _probe
    if _probe is None or _probe.proc.poll() is not None:
        _probe = Probe()
    return _probe


def now():
    """The lab kernel's clock (the request loop's and the probe's timestamps)."""
    return time.time() + probe().offset


def lvslab(*args):
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
    """Wait until steady() holds, and still a second later; RuntimeError with the directors' state otherwise."""
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
        """Start sampling the VIP holders in the probe."""
        probe().take_events()
        probe().call("sample_start", vips=self.cluster.vips, directors=list(self.cluster.directors))

    def stop(self):
        """Stop sampling; keep the transitions seen."""
        probe().call("sample_stop")
        self.events = [(e["t"], e["holders"]) for e in probe().take_events() if e["event"] == "holders"]


def host_processes(host, comm):
    """PIDs (in the lab kernel) of the host's processes named comm."""
    return probe().call("host_processes", host=host, comm=comm)


def state(cluster):
    """What the directors look like (recorded when a measurement fails)."""
    out = {}
    for h in cluster.directors:
        if not host_on(h):
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
        if not host_on(h):
            log("   %s: powered off" % h)
            continue
        out = run(h, "ps -o pid,stat,wchan:24,etime,args -C keepalived; ipvsadm -L --daemon; "
                     "ip -o addr show | grep -v ' lo '", check=False, timeout=30)
        log("   %s:\n%s%s" % (h, out.stdout, out.stderr))
