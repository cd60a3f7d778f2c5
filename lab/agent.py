"""The agent inside the lab kernel: runs the machine's requests, streams their I/O back.

It reads requests from the lab kernel's serial line (/dev/ttyS1, the machine's
socketpair) and runs each as a process, either inside a lab host (nsenter into
its namespaces, as ssh would land on a real host) or in the lab kernel itself
(lvslab sub-commands, the fail-over probe). stdin, stdout, stderr and the exit
status travel as frames of lab.line; nothing else crosses.
"""
import json
import os
import queue
import signal
import site
import socket
import subprocess
import sys
import termios
import threading
import tty
import zlib

from lab import hosts
from lab import line as L
from lab.core import LabError

SERIAL = "/dev/ttyS1"
# What a command in a lab host starts with (as after an ssh login), whatever
# the agent's own environment is.
HOST_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8",
            "TERM": "dumb", "USER": "root", "LOGNAME": "root", "SHELL": "/bin/sh"}


ZYGOTE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zygote.py")


class ZygoteProcess:
    """A payload run by a host's resident Python: looks like a Popen to the session."""

    def __init__(self, zygote, rid, stdin, stdout, stderr):
        self.zygote, self.rid = zygote, rid
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.pid = None
        self.returncode = None
        self.done = threading.Event()

    def wait(self):
        """Wait for the payload's exit; its status."""
        self.done.wait()
        return self.returncode

    def poll(self):
        """The exit status, None while it runs."""
        return self.returncode

    def kill_group(self):
        """SIGKILL the payload's process group (through the zygote)."""
        self.zygote.send("KILL %s" % self.rid)


class Zygote:
    """The resident Python of one lab host (lab/zygote.py), while that host's init lives."""

    def __init__(self, host, pid):
        self.host, self.pid = host, pid
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        log = open(os.path.join(hosts.host_dir(host), "zygote.log"), "ab")
        argv = hosts.nsenter_argv(pid, ["/usr/bin/python3", "-u", ZYGOTE, str(theirs.fileno())]
                                   + site.getsitepackages())
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=HOST_ENV,
                                     pass_fds=(theirs.fileno(),), start_new_session=True)
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.procs = {}
        self.ids = 0
        self.alive = True
        threading.Thread(target=self._read, daemon=True).start()

    def send(self, msg, fds=()):
        """One control message to the zygote, with fds passed along."""
        with self.lock:
            if fds:
                self.sock.sendmsg([msg.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(
                    b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in fds)))])
            else:
                self.sock.send(msg.encode())

    def _read(self):
        while True:
            try:
                msg = self.sock.recv(4096)
            except OSError:
                msg = b""
            if not msg:
                break
            kind, rid, value = msg.decode().split()
            proc = self.procs.get(rid)
            if proc is None:
                continue
            if kind == "PID":
                proc.pid = int(value)
            elif kind == "EXIT":
                self.procs.pop(rid, None)
                proc.returncode = int(value)
                proc.done.set()
        self.alive = False
        for proc in list(self.procs.values()):
            proc.returncode = 255
            proc.done.set()

    def spawn(self, env):
        """Start a payload: a child of the resident Python with these pipes and environment."""
        pipes = [os.pipe() for _ in range(3)]
        child_fds = [pipes[0][0], pipes[1][1], pipes[2][1]]
        with self.lock:
            self.ids += 1
            rid = str(self.ids)
        proc = ZygoteProcess(self, rid, os.fdopen(pipes[0][1], "wb"), os.fdopen(pipes[1][0], "rb"),
                             os.fdopen(pipes[2][0], "rb"))
        self.procs[rid] = proc
        try:
            self.send("RUN %s %s" % (rid, json.dumps(env)), child_fds)
        finally:
            for fd in child_fds:
                os.close(fd)
        return proc


class Session:
    """One request: a process and the threads that move its bytes."""

    def __init__(self, agent, chan, req):
        self.agent, self.chan, self.req = agent, chan, req
        self.stdin = queue.Queue()
        self.proc = None
        self.killed = False
        # stdin sent compressed by the client (large inputs): inflated here
        self.inflate = zlib.decompressobj() if req.get("stdin_zlib") else None

    def start(self):
        """Run the request in a thread of its own."""
        threading.Thread(target=self._run, name="session-%d" % self.chan, daemon=True).start()

    def _zygote_visible(self):
        """The resident Python's script must be visible in the host; else a new python3 runs it."""
        pid = hosts.host_pid(self.req.get("host"))
        return pid is not None and os.path.exists("/proc/%d/root%s" % (pid, ZYGOTE))

    def _zygote_proc(self):
        """A pipelined module payload for python3 in a host: run by the host's resident Python."""
        req = self.req
        host = req.get("host")
        pid = hosts.host_pid(host)
        if not hosts.pid_alive(pid):
            raise LabError("lab host %s is not running" % host)
        env = dict(HOST_ENV)
        env.update(req.get("env") or {})
        with self.agent.lock:
            zyg = self.agent.zygotes.get(host)
            if zyg is None or zyg.pid != pid or not zyg.alive:
                zyg = self.agent.zygotes[host] = Zygote(host, pid)
        return zyg.spawn(env)

    def _argv_env(self):
        req = self.req
        env = dict(req.get("env") or {})
        if req.get("kind") == "python":  # a payload for python3, started as a new process
            req = dict(req, kind="host")
        if req.get("kind") in ("kernel", "lab"):
            full = dict(os.environ)
            full.update(env)
            argv = list(req["argv"])
            if req["kind"] == "lab":  # an lvslab sub-command, run in the lab kernel
                argv = [sys.executable, "-u", "-P", "-m", "lab"] + argv
            return argv, full
        host = req.get("host")
        pid = hosts.host_pid(host)
        if not hosts.pid_alive(pid):
            raise LabError("lab host %s is not running" % host)
        full = dict(HOST_ENV)
        full.update(env)
        return hosts.nsenter_argv(pid, req["argv"]), full

    def _run(self):
        line = self.agent.line
        try:
            if self.req.get("kind") == "python" and self._zygote_visible():
                self.proc = self._zygote_proc()
            else:
                argv, env = self._argv_env()
                self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, env=env, start_new_session=True,
                                             cwd=self.req.get("cwd") if self.req.get("kind") != "host" else None)
        except Exception as exc:  # unknown host, no such program: the request fails, not the agent
            self.agent.finish(self.chan, {"rc": 127, "error": str(exc)})
            return
        if self.killed:
            self.kill()
        line.send_json(L.STARTED, self.chan, {})
        pumps = [threading.Thread(target=self._pump, args=(self.proc.stdout, L.STDOUT), daemon=True),
                 threading.Thread(target=self._pump, args=(self.proc.stderr, L.STDERR), daemon=True),
                 threading.Thread(target=self._feed, daemon=True)]
        for t in pumps:
            t.start()
        rc = self.proc.wait()
        for t in pumps[:2]:
            t.join()
        self.stdin.put(None)
        self.agent.finish(self.chan, {"rc": rc if rc >= 0 else 128 - rc})

    def _pump(self, pipe, ftype):
        fd = pipe.fileno()
        try:
            while True:
                data = os.read(fd, L.MAX_PAYLOAD)
                if not data:
                    break
                self.agent.line.send(ftype, self.chan, data)
        except (OSError, L.LineError):
            pass
        finally:
            pipe.close()

    def _feed(self):
        pipe = self.proc.stdin
        while True:
            data = self.stdin.get()
            if data is None:
                break
            try:
                pipe.write(data)
                pipe.flush()
            except (OSError, ValueError):
                # The command closed its stdin: drop the rest, as a pipe would.
                pass
        try:
            pipe.close()
        except (OSError, ValueError):
            pass

    def kill(self):
        """Kill the request's process (the machine asked, or the line closed)."""
        self.killed = True
        if self.proc and self.proc.poll() is None:
            if isinstance(self.proc, ZygoteProcess):
                self.proc.kill_group()
                return
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class Agent:
    """The agent: reads the lab line, runs one Session per request, answers until SHUTDOWN."""
    def __init__(self, path=SERIAL):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        # Raw, 8-bit clean, no flow control characters, no echo.
        tty.setraw(self.fd)
        attrs = termios.tcgetattr(self.fd)
        attrs[0] &= ~(termios.IXON | termios.IXOFF | termios.IXANY | termios.ICRNL | termios.ISTRIP)
        attrs[3] &= ~(termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN)
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self.sessions = {}
        self.zygotes = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.line = L.Line(self.fd, self.fd, L.WINDOW_TO_MACHINE, self.on_frame, self.on_close)

    def on_close(self, reason):
        """The lab line closed: stop serving."""
        print("lvslab agent: line closed: %s" % reason, flush=True)
        self.done.set()

    def on_frame(self, ftype, chan, payload):
        """A frame from the machine: open, feed, close or kill a session."""
        if ftype == L.OPEN:
            sess = Session(self, chan, json.loads(payload))
            with self.lock:
                self.sessions[chan] = sess
            sess.start()
        elif ftype in (L.STDIN, L.EOF, L.KILL):
            with self.lock:
                sess = self.sessions.get(chan)
            if sess is None:
                return
            if ftype == L.STDIN:
                sess.stdin.put(sess.inflate.decompress(payload) if sess.inflate else payload)
            elif ftype == L.EOF:
                if sess.inflate:
                    sess.stdin.put(sess.inflate.flush())
                sess.stdin.put(None)
            else:
                sess.kill()
        elif ftype == L.SHUTDOWN:
            self.done.set()

    def finish(self, chan, result):
        """Report a session's exit status to the machine and forget the session."""
        with self.lock:
            self.sessions.pop(chan, None)
        try:
            self.line.send_json(L.EXIT, chan, result)
        except L.LineError:
            pass

    def serve(self):
        """Say hello on the lab line and serve requests until the line closes or SHUTDOWN comes."""
        self.line.start()
        self.line.send_json(L.HELLO, 0, {"pid": os.getpid()})
        self.done.wait()
        with self.lock:
            sessions = list(self.sessions.values())
        for sess in sessions:
            sess.kill()
