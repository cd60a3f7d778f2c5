"""Long-lived streaming connections through a VIP (connection-sync test).

Runs as ONE process inside the lab's client host. Opens N TCP connections to
HOST:PORT, sends `GET PATH` on each and reads the streamed response of the
real servers' /cgi-bin/stream (a line every 0.2 s). Prints `# up I SERVER PORT`
when connection I (local port PORT) receives its first line, and when stdin is closed or
DURATION seconds have passed, one JSON line:

    {"end": t, "connections": [{"server", "first_rx", "last_rx", "bytes", "error", "error_at"}]}

error is null while the connection is healthy, else "reset", "eof" or the
exception name (a reset is what a director without the connection sends).

With TALK > 0 the client also sends a byte on each connection every TALK seconds
(the real server ignores it): a packet from the client's side, which is what a
director needs to learn a connection it never saw open (sloppy_tcp).

argv: HOST PORT PATH N DURATION [TALK]
"""
import json
import select
import socket
import sys
import time


def main():
    """Open n streaming connections, read them until duration or stdin's end; a JSON summary."""
    host, port, path, n, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    talk = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    end = time.time() + duration
    next_talk = time.time() + talk
    conns = []
    for i in range(n):
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        s.setblocking(False)
        conns.append({"sock": s, "server": None, "first_rx": None, "last_rx": None, "bytes": 0,
                      "error": None, "error_at": None, "buf": b""})
    while time.time() < end:
        live = [c["sock"] for c in conns if c["error"] is None]
        ready = select.select(live + [sys.stdin], [], [], 0.5)[0]
        if sys.stdin in ready:
            break  # stdin closed by the controller
        now = time.time()
        if talk and now >= next_talk:
            next_talk = now + talk
            for c in conns:
                if c["error"] is None:
                    try:
                        c["sock"].send(b"\n")
                    except BlockingIOError:
                        pass  # the send buffer is full: the client is talking already
                    except OSError as exc:
                        c["error"], c["error_at"] = type(exc).__name__, now
        for c in conns:
            if c["sock"] not in ready:
                continue
            try:
                data = c["sock"].recv(65536)
            except ConnectionResetError:
                c["error"], c["error_at"] = "reset", now
                continue
            except OSError as exc:
                c["error"], c["error_at"] = type(exc).__name__, now
                continue
            if not data:
                c["error"], c["error_at"] = "eof", now
                continue
            c["bytes"] += len(data)
            c["last_rx"] = now
            if c["first_rx"] is None:
                c["buf"] += data
                if b"\r\n\r\n" in c["buf"]:
                    body = c["buf"].split(b"\r\n\r\n", 1)[1]
                    if b"\n" in body:
                        c["first_rx"] = now
                        c["server"] = body.split()[0].decode("ascii", "replace")
                        print("# up %d %s %d" % (conns.index(c), c["server"], c["sock"].getsockname()[1]),
                              flush=True)
    out = [{k: c[k] for k in ("server", "first_rx", "last_rx", "bytes", "error", "error_at")} for c in conns]
    for c, o in zip(conns, out):
        o["port"] = c["sock"].getsockname()[1] if c["error"] is None else None
    for c in conns:
        c["sock"].close()
    print(json.dumps({"end": time.time(), "connections": out}), flush=True)


if __name__ == "__main__":
    main()
