"""Client request loop of the fail-over tests (lab/failover/clients.py: the
`failover` Molecule scenario and `make bench`).

Runs as ONE process inside the lab's client host (started through nsenter with
the host's /usr/bin/python3). Every INTERVAL seconds it makes one HTTP request
to the VIP on a new TCP connection (like `curl -s --max-time TIMEOUT`) and
prints one line per request:

    <start time, epoch s> <ok|fail> <duration s> <body or error>

Bounded: stops after COUNT requests, after DURATION seconds, or when its
stdin is closed (the controller closes it to stop the loop early).

argv: URL INTERVAL TIMEOUT COUNT DURATION
"""
import http.client
import select
import sys
import time
from urllib.parse import urlsplit


def main():
    """Request the URL every interval s until count, duration or stdin's end; a text line per request."""
    url, interval, timeout, count, duration = sys.argv[1:6]
    interval, timeout, duration = float(interval), float(timeout), float(duration)
    count = int(count)
    parts = urlsplit(url)
    host, port, path = parts.hostname, parts.port or 80, parts.path or "/"
    end = time.time() + duration
    print("# loop start %.3f" % time.time(), flush=True)
    for _ in range(count):
        t0 = time.time()
        if t0 > end:
            break
        if select.select([sys.stdin], [], [], 0)[0]:
            break  # stdin readable: closed by the controller
        try:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
            conn.request("GET", path, headers={"Connection": "close"})
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace").strip()
            conn.close()
            ok = resp.status == 200
            what = body if ok else "status %d" % resp.status
        except Exception as exc:  # timeout, refused, reset: a failed request
            ok, what = False, type(exc).__name__
        t1 = time.time()
        print("%.3f %s %.3f %s" % (t0, "ok" if ok else "fail", t1 - t0, what.replace(" ", "_")),
              flush=True)
        rest = interval - (time.time() - t1)
        if rest > 0:
            time.sleep(rest)
    print("# loop end %.3f" % time.time(), flush=True)


if __name__ == "__main__":
    main()
