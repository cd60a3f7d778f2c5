"""The fail-over probe: what must happen inside the lab kernel, fast, for lab.failover.

Started through the lab agent in the lab kernel (not in a lab host), it answers
one JSON request a line on stdin with one JSON line on stdout, and streams
timestamped events while it samples. Addresses and connections are read from
/proc/<host init>/net/... (each lab host's init shows its network namespace
there), the IPVS table through generic netlink in the host's network namespace
(ipvsadm's way; not /proc/net/ip_vs, see ipvs_table), so a 50 ms sample costs no
process start; faults (SIGKILL, power off, link cut) are injected from here, so
their timestamps are the lab kernel's clock, the same clock as the client's
request loop in the lab.

Requests: {"id": N, "op": NAME, ...}; answers {"id": N, "t": TIME, "result": ...}
or {"id": N, "error": TEXT}; events {"event": "holders", "t": TIME, "holders": {...}}.
"""
import contextlib
import ctypes
import ipaddress
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

from lab import cli, hosts

POLL = 0.05
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_out_lock = threading.Lock()
# Answers go here; whatever else prints (lvslab sub-commands) goes to stderr.
OUT = sys.stdout


def emit(obj):
    """Write one JSON line to the machine."""
    with _out_lock:
        OUT.write(json.dumps(obj) + "\n")
        OUT.flush()


def _hex(addr):
    return "%08X" % struct.unpack("!I", socket.inet_aton(addr))[0]


def proc_net(host, name):
    """The text of /proc/<host init>/net/<name>, None when the host is off."""
    pid = hosts.host_pid(host)
    if not hosts.pid_alive(pid):
        return None
    try:
        with open("/proc/%d/net/%s" % (pid, name)) as f:
            return f.read()
    except OSError:
        return None


def local_addresses(host):
    """The host's local addresses (what `ip -o addr` shows): IPv4 from its fib_trie,
    IPv6 from if_inet6 (compressed form)."""
    text = proc_net(host, "fib_trie")
    if text is None:
        return []
    lines, found = text.splitlines(), set()
    for i, line in enumerate(lines):
        if line.strip().startswith("|-- "):
            if any("host LOCAL" in nxt for nxt in lines[i + 1:i + 3]):
                found.add(line.split()[-1])
    for line in (proc_net(host, "if_inet6") or "").splitlines():
        hexaddr = line.split()[0]  # 32 hex digits, then ifindex, prefix, scope, flags, name
        found.add(str(ipaddress.ip_address(bytes.fromhex(hexaddr))))
    return sorted(found)


def vip_holders(vips, directors):
    """{vip: [directors holding it]}."""
    addrs = {h: set(local_addresses(h)) for h in directors}
    return {v: [h for h in directors if v in addrs[h]] for v in vips}


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def host_netns(pid):
    """This thread in the network namespace of the host whose init is pid, then back
    (a socket opened inside stays in that namespace)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open("/proc/%d/ns/net" % pid, os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(target)
    finally:
        os.close(own)


def ipvs_table(host, only=None):
    """[(service, [real server])] of the host's IPVS table (ipvs_netlink's dicts), or None
    when the host is off or has no IPVS; only=(vip, port): that service alone.

    Through generic netlink, as ipvsadm reads it, not /proc/net/ip_vs: in the lab's Linux
    6.1 the services of every network namespace share one hash table, and
    /proc/net/ip_vs, read in pages, restarts each page at the n-th service of *this*
    namespace while its position counted the other namespaces' services too, so it skips
    services whenever another lab host has some and the text is longer than a page
    (measured: 12 of 99 services listed in dir1 while dir2 had 1,999; docs/benchmarks.md)."""
    # The collection's netlink client: on PYTHONPATH (.lab/collections) as the probe is
    # started (lab.failover.cluster.Probe), imported when first used.
    from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_netlink
    pid = hosts.host_pid(host)
    if not hosts.pid_alive(pid):
        return None
    try:
        with host_netns(pid):
            ipvs = ipvs_netlink.IPVS()
    except (OSError, ipvs_netlink.IPVSError):
        return None
    try:
        services = ipvs.services()
        if only is not None:
            want = (str(ipaddress.ip_address(only[0])), int(only[1]))
            services = [s for s in services if s["fwmark"] is None and (s["address"], s["port"]) == want]
        return [(svc, ipvs.dests(svc)) for svc in services]
    finally:
        ipvs.close()


def ipvs_weights(host, vip, port):
    """{real server address: weight} of the service in the host's IPVS table; None without it."""
    table = ipvs_table(host, only=(vip, port))
    if not table:
        return None
    return dict((d["address"], d["weight"]) for _svc, dests in table for d in dests)


def established(host, vip, port, client_ports):
    """ESTABLISHED entries for the service from these client ports in the host's connection table."""
    text = proc_net(host, "ip_vs_conn")
    if text is None:
        return 0
    want = (_hex(vip), "%04X" % port)
    ports = {"%04X" % p for p in client_ports}
    n = 0
    for line in text.splitlines()[1:]:
        f = line.split()  # Pro FromIP FPrt ToIP TPrt DestIP DPrt State Expires ...
        if len(f) >= 8 and (f[3], f[4]) == want and f[2] in ports and f[7] == "ESTABLISHED":
            n += 1
    return n


def host_processes(host, comm):
    """PIDs (in the lab kernel) of the host's processes named comm."""
    pid = hosts.host_pid(host)
    if not hosts.pid_alive(pid):
        return []
    ns = os.readlink("/proc/%d/ns/pid" % pid)
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


def ipvs_counts(host):
    """[services, real servers] in the host's IPVS table (see ipvs_table)."""
    table = ipvs_table(host)
    if table is None:
        return None
    return [len(table), sum(len(dests) for _svc, dests in table)]


def cpu_ticks(host, comm):
    """{pid in the host: utime + stime in clock ticks} of the host's processes named comm."""
    out = {}
    for pid in host_processes(host, comm):
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%d/status" % pid) as f:
                nspid = [line.split()[-1] for line in f if line.startswith("NSpid:")]
        except OSError:
            continue
        out[nspid[0] if nspid else str(pid)] = int(fields[11]) + int(fields[12])
    return out


def kill(host, comm):
    """SIGKILL every `comm` process of the host (stopped first); their count and the time."""
    # Frozen first: killed one by one, a surviving keepalived parent respawns
    # its children or SIGTERMs them (a graceful stop that drops the VIPs).
    pids = host_processes(host, comm)
    t = time.time()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return {"killed": len(pids), "t": t}


def lab(argv):
    """An lvslab sub-command in this process (no process start): poweroff, cut, ..."""
    t = time.time()
    with contextlib.redirect_stdout(sys.stderr):
        rc = cli.main(list(argv))
    return {"rc": rc, "t": t}


class Sampler(threading.Thread):
    """Samples the VIP holders every 50 ms and emits every change."""

    def __init__(self, vips, directors):
        super().__init__(daemon=True)
        self.vips, self.directors = vips, directors
        self.stop_flag = False

    def run(self):
        """Sample until stopped, emitting each change."""
        last = None
        while not self.stop_flag:
            now, h = time.time(), vip_holders(self.vips, self.directors)
            if h != last:
                emit({"event": "holders", "t": now, "holders": h})
                last = h
            time.sleep(POLL)


OPS = {
    "now": lambda: time.time(),
    "local_addresses": local_addresses,
    "vip_holders": vip_holders,
    "ipvs_weights": ipvs_weights,
    "established": established,
    "host_processes": host_processes,
    "ipvs_counts": ipvs_counts,
    "cpu_ticks": cpu_ticks,
    "host_on": lambda host: hosts.pid_alive(hosts.host_pid(host)),
    "kill": kill,
    "lab": lab,
}


def main():
    """Answer JSON requests from stdin until it closes."""
    sampler = None
    for line in sys.stdin:
        req = json.loads(line)
        rid, op = req.pop("id"), req.pop("op")
        try:
            if op == "sample_start":
                if sampler:
                    sampler.stop_flag = True
                    sampler.join()
                sampler = Sampler(req["vips"], req["directors"])
                sampler.start()
                result = True
            elif op == "sample_stop":
                if sampler:
                    sampler.stop_flag = True
                    sampler.join()
                    sampler = None
                result = True
            else:
                result = OPS[op](**req)
            emit({"id": rid, "t": time.time(), "result": result})
        except Exception as exc:  # the caller raises it
            emit({"id": rid, "error": "%s: %s" % (type(exc).__name__, exc)})


if __name__ == "__main__":
    main()
