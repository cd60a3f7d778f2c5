"""Client of the lab broker: run commands in lab hosts (or the lab kernel) from the machine.

Used by the `lvslab` command outside the lab, the Ansible connection plugin
(lab/connection_plugins/lvslab.py), the testinfra backend and the tests. One
unix-socket connection per command; the broker's socket is $LVSLAB_SOCKET,
set by `lvslab run` for the command it runs.
"""
import json
import os
import socket
import sys
import threading
import zlib

from lab import line as L


class LabUnavailable(Exception):
    """No lab is running here (no broker socket), or the lab stopped answering."""


def socket_path():
    """The broker's socket ($LVSLAB_SOCKET); LabUnavailable outside `lvslab run`."""
    path = os.environ.get("LVSLAB_SOCKET")
    if not path:
        raise LabUnavailable("no lab is running here ($LVSLAB_SOCKET is unset: use 'lvslab run -- COMMAND')")
    return path


class Request:
    """One command in the lab: send stdin, read stdout/stderr frames, get the exit status."""

    def __init__(self, argv, host=None, kind="host", env=None, timeout=None, cwd=None, path=None,
                 stdin_zlib=False):
        req = {"kind": kind, "argv": [str(a) for a in argv]}
        if stdin_zlib:
            req["stdin_zlib"] = True
        if host is not None:
            req["host"] = host
        if env:
            req["env"] = env
        if timeout:
            req["timeout"] = timeout
        if cwd:
            req["cwd"] = cwd
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(path or socket_path())
        except OSError as exc:
            raise LabUnavailable("cannot reach the lab broker at %s: %s" % (path or socket_path(), exc))
        self.rfile = self.sock.makefile("rb", buffering=0)
        self.wlock = threading.Lock()
        self._send(L.OPEN, json.dumps(req).encode())

    def _send(self, ftype, payload=b""):
        with self.wlock:
            self.sock.sendall(L.encode(ftype, 0, payload))

    def write(self, data):
        """Send stdin data (in frames of 32 KiB)."""
        for i in range(0, len(data), 32768):
            self._send(L.STDIN, data[i:i + 32768])

    def close_stdin(self):
        """End the command's stdin."""
        self._send(L.EOF)

    def kill(self):
        """Ask the agent to kill the command."""
        try:
            self._send(L.KILL)
        except OSError:
            pass

    def frames(self):
        """(type, payload) until EXIT; then the result dict is returned by result()."""
        while True:
            frame = L.read_frame(self.rfile)
            if frame is None:
                self.result = {"rc": 125, "error": "the lab broker closed the connection"}
                return
            ftype, _, payload = frame
            if ftype == L.EXIT:
                self.result = json.loads(payload)
                return
            yield ftype, payload

    def close(self):
        """Close the connection to the broker."""
        try:
            self.sock.close()
        except OSError:
            pass


# The line carries about 1 MB/s to the lab: a large stdin (a module payload with a
# big argument, a copied file) goes compressed and the agent inflates it.
COMPRESS_FROM = 16384


def run(argv, host=None, input=None, kind="host", env=None, timeout=None, cwd=None):
    """Run argv to completion; returns (rc, stdout bytes, stderr bytes, error or None)."""
    if isinstance(input, str):
        input = input.encode()
    compress = bool(input) and len(input) >= COMPRESS_FROM
    if compress:
        input = zlib.compress(input, 6)
    req = Request(argv, host=host, kind=kind, env=env, timeout=timeout, cwd=cwd, stdin_zlib=compress)

    def feed():
        try:
            if input:
                req.write(input)
            req.close_stdin()
        except OSError:
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    out, err = [], []
    try:
        for ftype, payload in req.frames():
            if ftype == L.STDOUT:
                out.append(payload)
            elif ftype == L.STDERR:
                err.append(payload)
    finally:
        req.close()
    feeder.join(timeout=5)
    res = req.result
    return res.get("rc", 125), b"".join(out), b"".join(err), res.get("error")


def relay(argv, host=None, kind="host", env=None, timeout=None, cwd=None, stdin_fd=0):
    """Run argv with this process's stdin, stdout and stderr; returns its exit status."""
    req = Request(argv, host=host, kind=kind, env=env, timeout=timeout, cwd=cwd)

    def feed():
        try:
            while True:
                data = os.read(stdin_fd, 32768)
                if not data:
                    break
                req.write(data)
            req.close_stdin()
        except OSError:
            pass

    if stdin_fd is None:
        req.close_stdin()
    else:
        threading.Thread(target=feed, daemon=True).start()
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for ftype, payload in req.frames():
        if ftype == L.STDOUT:
            out.write(payload)
            out.flush()
        elif ftype == L.STDERR:
            err.write(payload)
            err.flush()
    req.close()
    if req.result.get("error"):
        sys.stderr.write("lvslab: %s\n" % req.result["error"])
    return req.result.get("rc", 125)
