"""The client's side of a fail-over: request loops and streaming connections in the
client host (lab/clients/), and what they saw."""
import json
import os
import subprocess
import threading

from lab.core import LAB_HOME
from lab.failover.cluster import wait_for
from lab.hosts import exec_argv

CLIENTS = os.path.join(LAB_HOME, "clients")
REQUEST_LOOP = os.path.join(CLIENTS, "request_loop.py")
STREAM_CLIENTS = os.path.join(CLIENTS, "stream_clients.py")
STREAM_CGI = os.path.join(CLIENTS, "stream.cgi")


class _ClientProcess:
    """A python script in the client host: lines on stdout, stopped by closing its stdin."""

    def __init__(self, cluster, script, args):
        argv = exec_argv(cluster.client, ["/usr/bin/python3", "-u", script] + [str(a) for a in args])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self):
        """Close the script's stdin and wait for it and its output."""
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
        """The requests the loop reported so far (time, ok, server, error)."""
        out = []
        for line in list(self.lines):
            if not line.startswith("#"):
                t, res, dur, what = line.split(" ", 3)
                out.append((float(t), res == "ok", float(dur), what))
        return out

    def wait_started(self, n=10, timeout=30):
        """Wait until every stream is open."""
        wait_for(lambda: len(self.requests()) >= n, timeout, "the client request loop to start")

    def stop(self):
        """Close the script's stdin and wait for it and its output."""
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
        """Close the script's stdin and wait for it and its output."""
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
        p = subprocess.run(exec_argv(rs, ["/bin/sh", "-c", script]),
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
