"""The broker on the machine: a unix socket in the lab's output folder, the lab line behind it.

Every client connection is one request (a command in a lab host or in the lab
kernel) and becomes one channel of the serial line to the agent inside
(lab/agent.py). Clients speak the same frames as the line (lab/line.py), with
no window of their own: the broker buffers for them.

A stuck line must fail in seconds, not at the lab's timeout: the broker pings
the agent every second and fails every open request when the agent has not
answered for STALL_S, or when sent data waits that long for an acknowledgement.
A request may also carry its own timeout.
"""
import itertools
import json
import os
import queue
import socket
import threading
import time

from lab import line as L

STALL_S = 20.0
START_TIMEOUT_S = 60.0


class Channel:
    """One client connection: its request and the frames waiting for it."""
    def __init__(self, chan, conn, req):
        self.chan, self.conn, self.req = chan, conn, req
        self.out = queue.Queue()
        self.opened = time.monotonic()
        self.started = False
        self.ended = False
        timeout = req.get("timeout")
        self.deadline = self.opened + float(timeout) if timeout else None


class Broker:
    """The machine's end of the lab line: client connections in, channels of the line out."""
    def __init__(self, fd, sock_path, log=None):
        self.fd = fd
        self.sock_path = sock_path
        self.log = log or (lambda msg: None)
        self.channels = {}
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.hello = threading.Event()
        self.dead = None
        self.line = L.Line(fd, fd, L.WINDOW_TO_LAB, self.on_frame, self.on_close)
        self.server = None

    # ------------------------------------------------------------ lifecycle
    def start(self):
        """Start reading the lab line and the stall watchdog."""
        self.line.start()
        threading.Thread(target=self._watchdog, name="broker-watchdog", daemon=True).start()

    def wait_hello(self, timeout):
        """True once the agent said hello (within timeout s)."""
        return self.hello.wait(timeout)

    def listen(self):
        """Accept client connections on the broker's unix socket."""
        try:
            os.unlink(self.sock_path)
        except FileNotFoundError:
            pass
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket is born 0600: only this user reaches the lab
        try:
            srv.bind(self.sock_path)
        finally:
            os.umask(old)
        os.chmod(self.sock_path, 0o600)
        srv.listen(64)
        self.server = srv
        threading.Thread(target=self._accept_loop, name="broker-accept", daemon=True).start()

    def shutdown(self):
        """Ask the agent to power the lab off (it tears the topology down first)."""
        try:
            self.line.send(L.SHUTDOWN, 0, b"", timeout=10)
        except L.LineError:
            pass
        self.close_server()

    def close_server(self):
        """Stop accepting clients (the lab shuts down)."""
        if self.server:
            try:
                self.server.close()
            except OSError:
                pass
            self.server = None
        try:
            os.unlink(self.sock_path)
        except FileNotFoundError:
            pass

    # ------------------------------------------------------------ line side
    def on_close(self, reason):
        """The lab line closed: fail every open request."""
        self._fail_all("lab line closed: %s" % reason)

    def on_frame(self, ftype, chan, payload):
        """A frame from the agent: to the channel it belongs to."""
        if ftype == L.HELLO:
            self.hello.set()
            return
        with self.lock:
            ch = self.channels.get(chan)
        if ch is None:
            return
        if ftype == L.STARTED:
            ch.started = True
        if ftype == L.EXIT:
            self._end(ch, payload=payload)
            return
        ch.out.put((ftype, payload))

    def _end(self, ch, result=None, payload=None):
        with self.lock:
            if ch.ended:
                return
            ch.ended = True
            self.channels.pop(ch.chan, None)
        if payload is None:
            payload = json.dumps(result).encode()
        ch.out.put((L.EXIT, payload))
        ch.out.put(None)

    def _fail_all(self, why):
        self.dead = self.dead or why
        with self.lock:
            chans = list(self.channels.values())
        for ch in chans:
            self._end(ch, {"rc": 125, "error": why})

    def _watchdog(self):
        while not self.line.closed:
            time.sleep(1.0)
            self.line.send(L.PING, 0, b"")
            now = time.monotonic()
            silent = now - self.line.last_rx
            stalled = self.line.stalled_for()
            if self.hello.is_set() and (silent > STALL_S or stalled > STALL_S):
                why = ("lab line stalled: no answer from the lab agent for %.0f s" % silent
                       if silent > STALL_S else
                       "lab line stalled: %d bytes unacknowledged for %.0f s" % (self.line.unacked, stalled))
                self.log(why)
                self.line.close(why)
                return
            with self.lock:
                chans = list(self.channels.values())
            for ch in chans:
                if ch.deadline and now > ch.deadline:
                    self._kill(ch)
                    self._end(ch, {"rc": 124, "error": "timed out after %s s" % ch.req.get("timeout")})
                elif not ch.started and now - ch.opened > START_TIMEOUT_S:
                    self._kill(ch)
                    self._end(ch, {"rc": 125, "error": "the lab agent did not start the command in %.0f s"
                                   % START_TIMEOUT_S})

    def _kill(self, ch):
        try:
            self.line.send(L.KILL, ch.chan, b"", timeout=5)
        except L.LineError:
            pass

    # ------------------------------------------------------------ client side
    def _accept_loop(self):
        while self.server:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve_client, args=(conn,), daemon=True).start()

    def _serve_client(self, conn):
        rfile = conn.makefile("rb", buffering=0)
        ch = None
        try:
            first = L.read_frame(rfile)
            if first is None or first[0] != L.OPEN:
                return
            req = json.loads(first[2])
            chan = next(self.ids) & 0xFFFF or next(self.ids)
            ch = Channel(chan, conn, req)
            threading.Thread(target=self._write_client, args=(ch,), daemon=True).start()
            if self.dead:
                self._end(ch, {"rc": 125, "error": self.dead})
                return
            with self.lock:
                self.channels[chan] = ch
            self.line.send(L.OPEN, chan, first[2])
            while True:
                frame = L.read_frame(rfile)
                if frame is None:
                    break
                ftype, _, payload = frame
                if ftype in (L.STDIN, L.EOF, L.KILL):
                    self.line.send(ftype, chan, payload)
        except (OSError, ValueError, L.LineError) as exc:
            if ch:
                self._end(ch, {"rc": 125, "error": str(exc)})
            return
        # The client hung up: stop its command if it still runs.
        if ch and not ch.ended:
            self._kill(ch)

    def _write_client(self, ch):
        try:
            while True:
                item = ch.out.get()
                if item is None:
                    break
                ftype, payload = item
                ch.conn.sendall(L.encode(ftype, 0, payload))
        except OSError:
            pass
        finally:
            try:
                ch.conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass
