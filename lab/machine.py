"""The machine's side of `lvslab run`: boot the lab kernel, start the broker, run the command.

Also what benchmarks read of a running lab kernel on the machine (its processes,
CPU time, CPU placement).
"""
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time

from lab.broker import Broker
from lab.core import LAB_HOME, REPO, LabError
from lab.topology import load_topology, validate_topology


def lab_kernel_pids():
    """The machine's processes of the running lab kernel (started with this run's uml_dir):
    the UML kernel and one process per address space inside it."""
    tag = ("uml_dir=" + os.path.join(os.environ.get("LVSLAB_OUT", ""), "uml")).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                if tag in f.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def pin_lab_kernel(cpus):
    """Move every thread of the running lab kernel to the machine CPUs cpus (a set);
    returns how many were moved. For benchmarks that compare placements in one lab."""
    moved = 0
    for pid in lab_kernel_pids():
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(int(tid), cpus)
                moved += 1
            except OSError:
                pass
    return moved


def kernel_cpu_seconds():
    """CPU seconds (user + system) the running lab kernel has used so far, read on the machine.

    The lab kernel is the machine's processes started with this run's uml_dir (the UML
    kernel and one process per address space inside it); reaped ones count through
    their parent. Unlike wall time, it does not grow when other processes (another lab)
    share the machine's cores, so benchmarks report it beside the wall time.
    Returns None when no such process is found (not under `lvslab run` on this machine).
    """
    ticks, found = 0, False
    for pid in lab_kernel_pids():
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found = True
        ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK") if found else None


UML_NOISE = ("SELinux", "mmapper_init", "Failed to initialize ubd", "Warning: tempdir",
             "Checking that ptrace", "Checking syscall", "Checking advanced", "Checking environment",
             "Core dump limits", "Checking for the skas", "Failed to write wtmp",
             "Powering off", "reboot: ", "Locating ", "Checking PROT_EXEC", "Adding ",
             "Checking host MADV", "Checking host", "Linux version", "hostfs")
# Boot of the lab kernel and the topology, before the command runs.
READY_TIMEOUT = 300
HELLO_TIMEOUT = 60


def find_uml():
    """The user-mode Linux kernel binary; LabError when it is not installed."""
    for path in ("/usr/bin/linux.uml", "/usr/bin/linux"):
        if os.access(path, os.X_OK):
            return path
    raise LabError("user-mode-linux is not installed (apt-get install user-mode-linux)")


def lab_kernels_per_cpu():
    """{cpu: number of running lab kernels pinned to it} (any checkout's, found in /proc)."""
    counts = dict((cpu, 0) for cpu in os.sched_getaffinity(0))
    labs = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            cpus = os.sched_getaffinity(int(pid))
        except OSError:  # gone, or not ours to see
            continue
        # A lab kernel's processes (the kernel, one per guest address space) share its
        # command line and its affinity: each lab counts once, by its uml_dir.
        if b"umid=lvslab" in argv and len(cpus) == 1:
            labs.update((arg, next(iter(cpus))) for arg in argv if arg.startswith(b"uml_dir="))
    for _lab, cpu in labs:
        counts[cpu] = counts.get(cpu, 0) + 1
    return counts


def choose_cpu(setting, counts=None):
    """The machine CPU the lab kernel is pinned to, or None (LVSLAB_CPU / --cpu: auto, none or a number).

    User-mode Linux turns every system call and page fault of a guest process into
    context switches between host processes (the UML kernel and the process that
    holds the guest's address space). When the machine's scheduler puts them on two
    CPUs, each switch is a cross-CPU wakeup, an inter-processor interrupt in this
    virtual machine: measured in the lab (tests/bench/lab_speed.py) 55-60 us per
    system call and 150-165 us per page fault unpinned, 12.7 us and 40 us pinned, the
    same pure-Python loop either way. "auto" takes the CPU the fewest lab kernels run on
    (counts: {cpu: lab kernels}, read from /proc when not given).
    """
    if setting in ("none", "", None):
        return None
    if setting != "auto":
        return int(setting)
    counts = lab_kernels_per_cpu() if counts is None else counts
    return min(sorted(counts), key=lambda cpu: counts[cpu])


def command_env(out, sock):
    """The command's environment on the machine: the lab reachable through the broker, and
    every place Ansible, Molecule, pytest and Python write to inside the output folder."""
    env = dict(os.environ)
    home = os.path.join(out, "home")
    tmp = os.path.join(out, "tmp")
    for d in (home, tmp):
        os.makedirs(d, exist_ok=True)
    venv_bin = os.path.dirname(os.path.abspath(sys.executable))
    env.update({
        "LVSLAB_SOCKET": sock,
        "LVSLAB_OUT": out,
        "LVSLAB_INVENTORY": os.path.join(out, "inventory.yml"),
        "PATH": "%s:%s:%s" % (os.path.join(LAB_HOME, "bin"), venv_bin, os.environ.get("PATH", "/usr/bin:/bin")),
        "HOME": home,
        "TMPDIR": tmp,
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
        "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
        "ANSIBLE_HOME": os.path.join(home, ".ansible"),
        "ANSIBLE_LOCAL_TEMP": os.path.join(tmp, "ansible-local"),
        "PYTHONDONTWRITEBYTECODE": "1",
        # The lab package (import lab) for the command's Python: tests, tools, connection plugin.
        "PYTHONPATH": os.pathsep.join([REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                 if p and p != REPO]),
    })
    env.pop("LVSLAB_INSIDE", None)
    # Lab inventories use the lab's connection plugin (through the broker), pipelined.
    env.setdefault("ANSIBLE_CONNECTION_PLUGINS", os.path.join(LAB_HOME, "connection_plugins"))
    env.setdefault("ANSIBLE_PIPELINING", "True")
    return env


def visible_paths():
    """Machine paths the lab kernel must see although it mounts a tmpfs over /tmp: the
    checkout (lab code, topologies) and the Python that runs the lab's controller."""
    paths = {REPO, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
             os.path.realpath(os.path.dirname(sys.executable))}
    return ":".join(sorted(p for p in paths if p.startswith("/tmp/") or p == "/tmp"))


class LabRun:
    """One lab kernel on the machine, its console, its broker and the command."""

    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.out)
        self.uml = None
        self.cmd = None
        self.broker = None
        self.rc = None          # the agent's LVSLAB-EXIT status
        self.failure = None     # LVSLAB-FAIL reason
        self.ready = threading.Event()
        self.ended = threading.Event()
        self.stopping = False

    def log(self, msg):
        """A line on stderr, prefixed `lvslab:`."""
        print("lvslab: %s" % msg, file=sys.stderr, flush=True)

    def boot(self, topology):
        """Write the job, start the lab kernel on its CPU and watch its console."""
        import socket
        out = self.out
        os.makedirs(out, exist_ok=True)
        job = {"env": {k: v for k, v in os.environ.items()
                       if k in ("TERM", "LANG", "LC_ALL") or k.startswith("BENCH_")},
               "topology": topology}
        job["env"].update({"PATH": "%s:/usr/sbin:/usr/bin:/sbin:/bin" % os.path.join(LAB_HOME, "bin"),
                           "HOME": "/root", "LVSLAB_OUT": out, "PYTHONDONTWRITEBYTECODE": "1",
                           "PYTHONPATH": REPO})
        with open(os.path.join(out, "job.json"), "w") as f:
            json.dump(job, f)
        subprocess.run(["rm", "-rf", os.path.join(out, "uml")])
        for stale in ("state.json", "inventory.yml"):
            try:
                os.unlink(os.path.join(out, stale))
            except FileNotFoundError:
                pass
        # The lab line: one end of a socketpair becomes the lab kernel's second
        # serial line (/dev/ttyS1 inside); the other end is the broker's.
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock_pair = (ours, theirs)
        cmdline = [
            find_uml(), "mem=%s" % self.args.mem, "rootfstype=hostfs", "rootflags=/", "ro", "quiet",
            "init=" + os.path.join(LAB_HOME, "guest", "boot"),
            "con=null", "con0=fd:0,fd:1", "ssl=null", "ssl1=fd:%d" % theirs.fileno(),
            "uml_dir=" + os.path.join(out, "uml"), "umid=lvslab",
            "LVSLAB_OUT=" + out, "LVSLAB_HOME=" + LAB_HOME,
            "LVSLAB_PYTHON=" + (self.args.guest_python or sys.executable),
            "LVSLAB_VISIBLE=" + (visible_paths() or "-"),
        ]
        # UML keeps the guest's memory in a file under TMPDIR: on tmpfs, and
        # unlinked by UML as soon as it is mapped.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": "/dev/shm"}
        self.t0 = time.time()
        # Choosing a CPU and starting the kernel on it is one step for all labs on the
        # machine (two lanes boot at once): a lock on the UML binary, which every
        # checkout's lvslab opens read-only, writes nothing.
        with open(cmdline[0], "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.cpu = choose_cpu(self.args.cpu)
            pin = None if self.cpu is None else (lambda: os.sched_setaffinity(0, {self.cpu}))
            self.uml = subprocess.Popen(cmdline, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                        pass_fds=(theirs.fileno(),), preexec_fn=pin)
        theirs.close()
        if self.args.verbose:
            self.log("lab kernel on CPU %s" % ("any" if self.cpu is None else self.cpu))
        threading.Thread(target=self._console, daemon=True).start()

    def _console(self):
        boot_log = open(os.path.join(self.out, "boot.log"), "w")
        shown = False
        for raw in self.uml.stdout:
            line = raw.decode("utf-8", "replace").replace("\r", "")
            if line.startswith("LVSLAB-EXIT "):
                self.rc = int(line.split()[1])
                continue
            if line.startswith("LVSLAB-FAIL "):
                self.failure = line[len("LVSLAB-FAIL "):].strip()
                boot_log.write(line)
                boot_log.flush()
                self.log("lab failed: %s" % self.failure)
                self.ready.set()
                continue
            if line.startswith("LVSLAB-BOOTED"):
                shown = True
                if self.args.verbose:
                    self.log("kernel up in %.1f s" % (time.time() - self.t0))
                continue
            if line.startswith("LVSLAB-READY"):
                if self.args.verbose:
                    self.log("ready in %.1f s" % (time.time() - self.t0))
                self.ready.set()
                continue
            if not shown or line.startswith(UML_NOISE):
                boot_log.write(line)
                boot_log.flush()
                continue
            sys.stdout.write(line)
            sys.stdout.flush()
        boot_log.close()
        self.ended.set()
        self.ready.set()

    def kill_uml(self):
        """Kill the lab kernel and its helper processes."""
        if self.uml is None:
            return
        # UML's helper processes share its process group.
        try:
            os.killpg(self.uml.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.uml.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        # The helpers die a moment after the main process: the run ends only when the
        # group is gone, so nothing of this lab is left when lvslab returns.
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.killpg(self.uml.pid, 0)
            except (ProcessLookupError, PermissionError):
                break
            time.sleep(0.05)

    def stop_command(self, sig=signal.SIGTERM):
        """Signal the command's process group."""
        if self.cmd and self.cmd.poll() is None:
            try:
                os.killpg(self.cmd.pid, sig)
            except ProcessLookupError:
                pass

    def on_signal(self, signum, frame):
        """SIGTERM/SIGINT/SIGHUP: stop the command and the lab kernel, exit 128+signal."""
        if self.stopping:
            return
        self.stopping = True
        self.log("signal %d: stopping the command and the lab" % signum)
        self.stop_command(signal.SIGTERM)
        if self.cmd:
            try:
                self.cmd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.stop_command(signal.SIGKILL)
        if self.broker:
            self.broker.close_server()
        self.kill_uml()
        os._exit(128 + signum)

    def run(self, argv, topology):
        """Boot, wait for the agent, run argv with the lab reachable, power off; argv's exit status (124 on timeout)."""
        self.boot(topology)
        if not self.ready.wait(READY_TIMEOUT) or self.ended.is_set() or self.failure:
            why = self.failure or ("the lab kernel stopped while booting" if self.ended.is_set()
                                   else "not ready after %d s" % READY_TIMEOUT)
            self.log("%s (boot log: %s/boot.log)" % (why, self.out))
            self.kill_uml()
            return 125
        sock = os.path.join(self.out, "lab.sock")
        self.broker = Broker(self.sock_pair[0].fileno(), sock, log=self.log)
        self.broker.start()
        if not self.broker.wait_hello(HELLO_TIMEOUT):
            self.log("the lab agent did not answer on the lab line in %d s" % HELLO_TIMEOUT)
            self.kill_uml()
            return 125
        self.broker.listen()
        deadline = self.t0 + self.args.timeout
        self.cmd = subprocess.Popen(argv, env=command_env(self.out, sock), start_new_session=True)
        timed_out = False
        while self.cmd.poll() is None:
            if time.time() > deadline:
                timed_out = True
                self.log("timed out after %.0f s; stopping the command and the lab" % self.args.timeout)
                self.stop_command(signal.SIGTERM)
                try:
                    self.cmd.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.stop_command(signal.SIGKILL)
                break
            if self.ended.is_set():
                self.log("the lab kernel stopped while the command ran (see %s/boot.log)" % self.out)
                self.stop_command(signal.SIGTERM)
                break
            time.sleep(0.2)
        rc = self.cmd.wait()
        # Power off: the agent tears the topology down, then the kernel powers off.
        self.broker.shutdown()
        if not self.ended.wait(60):
            self.log("the lab kernel did not power off in 60 s; killed")
        self.kill_uml()
        if timed_out:
            return 124
        return rc


def cmd_run(args):
    """`lvslab run`: check the topology, boot the lab kernel, run the command; its exit status."""
    argv = args.command
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise LabError("lvslab run: give a command after --")
    topology = os.path.abspath(args.topology) if args.topology else None
    if topology:
        validate_topology(load_topology(topology), topology)
    lab = LabRun(args)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lab.on_signal)
    try:
        return lab.run(argv, topology)
    finally:
        if lab.uml and lab.uml.poll() is None:
            lab.kill_uml()
