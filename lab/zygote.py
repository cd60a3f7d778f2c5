"""A resident Python in a lab host that runs Ansible's pipelined module payloads.

Every Ansible task in a lab host starts /usr/bin/python3 and imports
ansible.module_utils.basic (and our modules pyroute2): measured in a lab host,
0.3 s for the interpreter and 0.6-1.0 s for the imports, on a one-CPU kernel
where system calls are slow. Mitogen's strategy answers that with a resident
interpreter; this is the lab's small version of it: the agent starts one of
these per host (in the host's namespaces, with the host's own python3), it
imports once, and forks a child per payload (0.1 s). The child runs the payload
exactly as `python3` reading it from stdin would, with the request's stdin,
stdout and stderr (passed over a unix socket), environment and exit status.
The module's code, its module_utils and the host's libraries are the real
ones; only the import of the common ones is done ahead of time.

argv: the control socket's fd, then directories appended to sys.path for the
preloaded ansible.module_utils (the controller's ansible-core, the same
version that built the payload).
Control messages (one datagram each):
  agent -> zygote: b"RUN <id> <env json>" with three fds (stdin, stdout, stderr)
  zygote -> agent: b"PID <id> <pid>", then b"EXIT <id> <status>"
  agent -> zygote: b"KILL <id>"
"""
import array
import json
import os
import signal
import socket
import sys
import threading
import types

CTRL_FD = int(sys.argv[1])
sys.path.extend(sys.argv[2:])

# What nearly every payload imports. Failures only cost speed.
for _name in ("json", "subprocess", "zipfile", "tempfile", "shutil", "base64", "runpy", "datetime",
              "ansible.module_utils.basic",
              "ansible.module_utils._internal._ansiballz._loader",
              "pyroute2"):
    try:
        __import__(_name)
    except Exception:
        pass

ctrl = socket.socket(fileno=CTRL_FD)
send_lock = threading.Lock()
children = {}


def send(msg):
    """One control message to the agent."""
    with send_lock:
        ctrl.send(msg.encode())


def run_child(fds, env):
    """In the forked child: become `python3` reading its program from stdin."""
    os.setsid()
    for i, fd in enumerate(fds):
        os.dup2(fd, i)
        os.close(fd)
    ctrl.close()
    os.environ.clear()
    os.environ.update(env)
    os.chdir("/")
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    sys.argv = [""]
    code = 0
    try:
        src = sys.stdin.buffer.read()
        # A fresh __main__, as `python3 -` has: the payload's globals, not ours.
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = __builtins__
        sys.modules["__main__"] = main
        exec(compile(src, "<stdin>", "exec"), main.__dict__)
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            sys.stderr.write("%s\n" % exc.code)
            code = 1
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code & 0xFF)


def watch(rid, pid):
    """Wait for a child and report its exit status to the agent."""
    _, status = os.waitpid(pid, 0)
    children.pop(rid, None)
    code = os.waitstatus_to_exitcode(status)
    send("EXIT %s %d" % (rid, code if code >= 0 else 128 - code))


def main():
    """Fork a child per RUN message, kill on KILL, until the agent goes away."""
    while True:
        fds = array.array("i")
        msg, anc, _, _ = ctrl.recvmsg(65536, socket.CMSG_SPACE(3 * fds.itemsize))
        if not msg:
            return  # the agent is gone (host powered off, lab shutting down)
        for level, ctype, data in anc:
            if level == socket.SOL_SOCKET and ctype == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
        words = msg.decode().split(" ", 2)
        if words[0] == "RUN":
            rid, env = words[1], json.loads(words[2])
            pid = os.fork()
            if pid == 0:
                run_child(list(fds), env)
            for fd in fds:
                os.close(fd)
            children[rid] = pid
            send("PID %s %d" % (rid, pid))
            threading.Thread(target=watch, args=(rid, pid), daemon=True).start()
        elif words[0] == "KILL":
            pid = children.get(words[1])
            if pid:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


if __name__ == "__main__":
    main()
