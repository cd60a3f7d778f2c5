#!/usr/bin/env python3
"""lvslab: a real-kernel LVS lab on a machine whose own kernel has no IPVS.

On the machine:
    lvslab run [-t TOPOLOGY] -- COMMAND...   boot the lab kernel (user-mode
        Linux, the machine's root read-only over hostfs), optionally build a
        topology, run COMMAND on the machine with the lab reachable through
        $LVSLAB_SOCKET, power off, exit with COMMAND's status.

Under `lvslab run` (COMMAND, the tests, Ansible and Molecule use these; each
is forwarded to the lab kernel over its serial line, see lvslab_agent):
    lvslab up TOPOLOGY        build the topology: bridges, hosts, inventory
    lvslab down               power every host off, remove the bridges
    lvslab status             hosts with their state and PID
    lvslab inventory          print the Ansible inventory of the running topology
    lvslab exec HOST -- CMD   run CMD inside HOST (nsenter)
    lvslab reboot HOST        lose processes and kernel state, keep files, boot
    lvslab poweroff HOST      kill the host and its network namespace
    lvslab poweron HOST       boot a powered-off host
    lvslab cut HOST [IFACE]   take the host's link(s) down at the switch
    lvslab mend HOST [IFACE]  bring them back
"""
import argparse
import ctypes
import fcntl
import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
import time

LAB_HOME = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(LAB_HOME)
STATE_DIR = "/run/lab"
STATE_FILE = os.path.join(STATE_DIR, "state.json")
INVENTORY_FILE = os.path.join(STATE_DIR, "inventory.yml")
HOST_INIT = os.path.join(LAB_HOME, "guest", "sbin", "init")
# `init: systemd` hosts: Debian's systemd as PID 1 (lab/guest/sbin/init-systemd),
# each in its own cgroup under CGROUP_LAB.
HOST_INIT_SYSTEMD = os.path.join(LAB_HOME, "guest", "sbin", "init-systemd")
HOST_INITS = ("sysv", "systemd")
CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_LAB = os.path.join(CGROUP_ROOT, "lab")
CGROUP_UNSHARE = os.path.join(CGROUP_ROOT, "lab-unshare")
CGROUP_CONTROLLERS = ("cpu", "io", "memory", "pids")
SYSTEMD_UNIT_PROFILES = ("minimal", "full")
# The documentation ranges (RFC 5737, RFC 3849) and IPv6 link-local: no lab
# address can be one that exists outside the lab.
DOC_RANGES = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "fe80::/10"))


def in_doc_ranges(text):
    """address[/prefix] inside DOC_RANGES (the prefix, if any, too)."""
    try:
        net = ipaddress.ip_interface(str(text)).network
    except ValueError:
        return False
    return any(net.version == r.version and net.subnet_of(r) for r in DOC_RANGES)
# Init scripts installed on the lab machine that no LVS host needs; the lab
# boot sequence skips them (a real host would not have them installed).
DEFAULT_BOOT_SKIP = ["postgresql", "dbus", "x11-common", "uml-utilities", "hwclock.sh"]
BOOT_TIMEOUT = 90
# systemd hosts: about 6 s alone, up to 46 s for five at once on the lab's one CPU.
BOOT_TIMEOUT_SYSTEMD = 240


class LabError(Exception):
    pass


def sh(*argv, check=True, capture=False):
    res = subprocess.run(argv, check=False, text=True,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.PIPE if capture else None)
    if check and res.returncode != 0:
        raise LabError("command failed (%d): %s %s" % (res.returncode, " ".join(argv),
                                                        (res.stderr or "").strip()))
    return res


# ---------------------------------------------------------------- topology

def load_topology(path):
    import yaml  # only needed where topologies are read
    with open(path) as f:
        topo = yaml.safe_load(f)
    validate_topology(topo, path)
    return topo


def validate_topology(topo, where="topology"):
    if not isinstance(topo, dict) or "hosts" not in topo:
        raise LabError("%s: needs a 'hosts' mapping" % where)
    segments = topo.setdefault("segments", {}) or {}
    topo["segments"] = segments
    for seg in segments:
        if len("br-" + seg) > 15:
            raise LabError("%s: segment name %r is too long (12 characters at most)" % (where, seg))
    if not any("lvs_clients" in (h or {}).get("groups", []) for h in topo["hosts"].values()):
        raise LabError("%s: every topology has a host in group 'lvs_clients' (a client that sends traffic to the VIPs)" % where)
    for name, host in topo["hosts"].items():
        host = host or {}
        topo["hosts"][name] = host
        for ifname, iface in (host.get("interfaces") or {}).items():
            if iface.get("segment") not in segments:
                raise LabError("%s: host %s interface %s: unknown segment %r"
                               % (where, name, ifname, iface.get("segment")))
            for addr in iface.get("addresses", []):
                if not in_doc_ranges(addr):
                    raise LabError("%s: host %s address %s is outside the documentation ranges"
                                   % (where, name, addr))
        if host.get("init", "sysv") not in HOST_INITS:
            raise LabError("%s: host %s: init must be one of %s, not %r"
                           % (where, name, ", ".join(HOST_INITS), host.get("init")))
        if host.get("systemd_units", "minimal") not in SYSTEMD_UNIT_PROFILES:
            raise LabError("%s: host %s: systemd_units must be one of %s"
                           % (where, name, ", ".join(SYSTEMD_UNIT_PROFILES)))
        gw = host.get("gateway")
        if gw and not in_doc_ranges(gw):
            raise LabError("%s: host %s gateway %s is outside the documentation ranges" % (where, name, gw))


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def save_state(state):
    text = json.dumps(state, indent=1)
    _write_atomic(STATE_FILE, text)
    # The machine's side reads the topology from the output folder.
    if os.environ.get("LVSLAB_OUT"):
        _write_atomic(os.path.join(os.environ["LVSLAB_OUT"], "state.json"), text)


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


def inside():
    return os.environ.get("LVSLAB_INSIDE") == "1"


def out_file(name):
    """A file of the running lab in its output folder (what the machine's side reads)."""
    out = os.environ.get("LVSLAB_OUT")
    if not out:
        raise LabError("no lab is running here (use 'lvslab run -- COMMAND')")
    return os.path.join(out, name)


def load_state():
    path = STATE_FILE if inside() else out_file("state.json")
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise LabError("no topology is up (run 'lvslab up TOPOLOGY')")


def host_dir(name):
    return os.path.join(STATE_DIR, "hosts", name)


def netns_name(name):
    return "lab-" + name


def switch_port(state, name, ifname):
    """Name of the bridge-side veth of a host interface (15 characters at most)."""
    host = state["topology"]["hosts"][name]
    idx = list(state["topology"]["hosts"]).index(name)
    ifidx = list(host["interfaces"]).index(ifname)
    return "vh%di%d" % (idx, ifidx)


def host_pid(name):
    """The PID (in the lab kernel) of the host's init; None when it is off. On the machine,
    read from the state the lab mirrors into its output folder (it changes at each boot)."""
    if not inside():
        try:
            return (load_state()["hosts"].get(name) or {}).get("pid")
        except LabError:
            return None
    try:
        with open(os.path.join(host_dir(name), "pid")) as f:
            return int(f.read())
    except (FileNotFoundError, ValueError):
        return None


def host_on(name):
    """True while the lab host is powered on."""
    if not inside():
        try:
            return (load_state()["hosts"].get(name) or {}).get("power") == "on"
        except LabError:
            return False
    return pid_alive(host_pid(name))


def pid_alive(pid):
    """True while the process exists and is not a zombie (inside the lab kernel)."""
    if pid is None:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def cmd_up(args):
    topo = load_topology(args.topology)
    os.makedirs(os.path.join(STATE_DIR, "hosts"), exist_ok=True)
    if os.path.exists(STATE_FILE):
        raise LabError("a topology is already up; 'lvslab down' first")
    t0 = time.time()
    for mod in ("bridge", "veth"):
        sh("modprobe", mod)
    state = {"topology": topo, "hosts": {}}
    save_state(state)
    for seg in topo["segments"]:
        br = "br-" + seg
        sh("ip", "link", "add", br, "type", "bridge")
        # No STP and no forwarding delay: a lab switch forwards at once.
        sh("ip", "link", "set", br, "type", "bridge", "forward_delay", "0", "stp_state", "0")
        sh("ip", "link", "set", br, "up")
    hosts_lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    for name, host in topo["hosts"].items():
        for iface in (host.get("interfaces") or {}).values():
            for addr in iface.get("addresses", []):
                hosts_lines.append("%s\t%s" % (addr.split("/")[0], name))
                break
    for name in topo["hosts"]:
        d = host_dir(name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write("\n".join(hosts_lines) + "\n")
        with open(os.path.join(d, "boot-skip"), "w") as f:
            f.write(" ".join(topo.get("boot_skip", DEFAULT_BOOT_SKIP)))
    # Boot hosts in parallel: most of a boot is waiting for init scripts.
    started = {name: start_host(state, name) for name in topo["hosts"]}
    for name, proc in started.items():
        wait_booted(state, name, proc)
    write_inventory(state)
    print("lvslab: %d hosts up in %.1f s" % (len(topo["hosts"]), time.time() - t0))
    return 0


def start_host(state, name):
    """Create the host's network namespace and NICs, then start its init."""
    topo = state["topology"]
    host = topo["hosts"][name]
    ns = netns_name(name)
    sh("ip", "netns", "add", ns)
    sh("ip", "-n", ns, "link", "set", "lo", "up")
    for ifname, iface in (host.get("interfaces") or {}).items():
        port = switch_port(state, name, ifname)
        # A NIC keeps its MAC address across reboots, so neighbours' ARP
        # caches stay right: derive it from the host's and interface's index.
        mac = "02:1a:b0:00:%02x:%02x" % (list(topo["hosts"]).index(name),
                                         list(host["interfaces"]).index(ifname))
        sh("ip", "link", "add", port, "type", "veth", "peer", "name", ifname,
           "address", mac, "netns", ns)
        sh("ip", "link", "set", port, "master", "br-" + iface["segment"])
        sh("ip", "link", "set", port, "up")
        # The host's base network configuration (what its installer or DHCP
        # would give it); VIPs and LVS routing are the collection's job.
        for addr in iface.get("addresses", []):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", ifname)
        sh("ip", "-n", ns, "link", "set", ifname, "up")
    if host.get("gateway"):
        sh("ip", "-n", ns, "route", "add", "default", "via", host["gateway"])
    d = host_dir(name)
    log = open(os.path.join(d, "console.log"), "ab")
    if host_init(state, name) == "systemd":
        cgroup = host_cgroup(name)
        with open(os.path.join(d, "units"), "w") as f:
            f.write(host.get("systemd_units", "minimal"))
        # The host's first process enters its cgroup before `unshare --cgroup`,
        # so systemd sees that cgroup as the root of its tree.
        proc = subprocess.Popen(
            ["nsenter", "--net=/run/netns/" + ns, "--",
             "unshare", "--pid", "--mount", "--uts", "--ipc", "--cgroup", "--fork",
             "--propagation", "private", "--", HOST_INIT_SYSTEMD, name, d],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            # LVSLAB_VISIBLE: what of the machine's /tmp the host must see through its own /tmp
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LVSLAB_VISIBLE": os.environ.get("LVSLAB_VISIBLE", "-")},
            preexec_fn=lambda: _join_cgroup(cgroup))
        return proc
    proc = subprocess.Popen(
        ["nsenter", "--net=/run/netns/" + ns, "--",
         "unshare", "--pid", "--mount", "--uts", "--ipc", "--fork", "--propagation", "private",
         "--", HOST_INIT, name, d],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    return proc


def host_init(state, name):
    """sysv | systemd: the init system of a lab host (topology key `init`)."""
    return (state["topology"]["hosts"][name] or {}).get("init", "sysv")


def host_cgroup(name):
    """Create (empty) the cgroup of a systemd lab host; cgroup2 with the lab's
    controllers enabled on the root and on the lab's subtree."""
    if not os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        os.makedirs(CGROUP_ROOT, exist_ok=True)
        sh("mount", "-t", "cgroup2", "-o", "nsdelegate", "cgroup2", CGROUP_ROOT)
    os.makedirs(CGROUP_LAB, exist_ok=True)
    enable = " ".join("+" + c for c in CGROUP_CONTROLLERS)
    for parent in (CGROUP_ROOT, CGROUP_LAB):
        with open(os.path.join(parent, "cgroup.subtree_control"), "w") as f:
            f.write(enable)
    cgroup = os.path.join(CGROUP_LAB, name)
    remove_cgroup(cgroup)
    os.makedirs(cgroup)
    return cgroup


def _join_cgroup(cgroup):
    with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))


def remove_cgroup(cgroup):
    """Kill every process of a cgroup tree (cgroup.kill) and remove the tree."""
    if not os.path.isdir(cgroup):
        return
    try:
        with open(os.path.join(cgroup, "cgroup.kill"), "w") as f:
            f.write("1")
    except OSError:
        pass
    deadline = time.time() + 10
    for top, dirs, _ in sorted(os.walk(cgroup), key=lambda t: -t[0].count("/")):
        while True:
            try:
                os.rmdir(top)
                break
            except FileNotFoundError:
                break
            except OSError:
                # EBUSY until the killed processes are gone.
                if time.time() > deadline:
                    raise LabError("cannot remove cgroup %s" % top)
                time.sleep(0.05)


def host_journal(name, pid):
    """The journal of a systemd host that failed to boot (its /dev/console stays empty)."""
    if not pid_alive(pid):
        return "(the host has stopped; its journal was on its /run)"
    res = subprocess.run(nsenter_argv(pid, ["sh", "-c", "systemctl --no-pager --failed; "
                                            "journalctl --no-pager -b -n 150 -o short-monotonic"]),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    return res.stdout


def child_pid(ppid, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == ppid:
                return int(entry)
        time.sleep(0.05)
    raise LabError("no init process appeared under %d" % ppid)


def wait_booted(state, name, proc):
    # proc is unshare; its only child is the host's PID 1.
    pid = child_pid(proc.pid)
    d = host_dir(name)
    with open(os.path.join(d, "pid"), "w") as f:
        f.write(str(pid))
    with open(os.path.join(d, "unshare.pid"), "w") as f:
        f.write(str(proc.pid))
    systemd = host_init(state, name) == "systemd"
    if systemd:
        # unshare leaves the host's cgroup (the root of the host's cgroup tree
        # must hold no process of its own, or systemd cannot enable the
        # controllers below it); init-systemd waits for that before it starts systemd.
        os.makedirs(CGROUP_UNSHARE, exist_ok=True)
        with open(os.path.join(CGROUP_UNSHARE, "cgroup.procs"), "w") as f:
            f.write(str(proc.pid))
    deadline = time.time() + (BOOT_TIMEOUT_SYSTEMD if systemd else BOOT_TIMEOUT)
    marker = "/proc/%d/root/run/lvslab-booted" % pid
    failed = "/proc/%d/root/run/lvslab-boot-failed" % pid
    while not os.path.exists(marker):
        if proc.poll() is not None or time.time() > deadline or (systemd and os.path.exists(failed)):
            why = "host %s did not boot; see %s/console.log" % (name, d)
            if systemd:
                why += "\n--- the journal of %s:\n%s" % (name, host_journal(name, pid))
            raise LabError(why)
        time.sleep(0.05 if not systemd else 0.2)
    state = load_state()
    state["hosts"][name] = {"pid": pid, "power": "on"}
    save_state(state)


def poweroff_host(state, name):
    d = host_dir(name)
    pid = host_pid(name)
    # Killing a PID namespace's init kills every process in it; unshare,
    # its parent, then reaps it and exits.
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    try:
        unshare_pid = int(open(os.path.join(d, "unshare.pid")).read())
    except (FileNotFoundError, ValueError):
        unshare_pid = None
    deadline = time.time() + 10
    while (pid_alive(pid) or pid_alive(unshare_pid)) and time.time() < deadline:
        time.sleep(0.02)
    if host_init(state, name) == "systemd":
        # Whatever systemd left (services of a PID namespace already gone).
        remove_cgroup(os.path.join(CGROUP_LAB, name))
    sh("ip", "netns", "del", netns_name(name), check=False, capture=True)
    # The kernel frees a network namespace (and with it the host's veths)
    # asynchronously: a quick power on would find the switch ports still there.
    ports = ["/sys/class/net/" + switch_port(state, name, i)
             for i in (state["topology"]["hosts"][name].get("interfaces") or {})]
    deadline = time.time() + 5
    while any(os.path.exists(p) for p in ports) and time.time() < deadline:
        time.sleep(0.05)
    # Still there: something keeps the old namespace alive (seen after a
    # converge on dr-systemd's rs1); deleting the switch side of each veth
    # deletes the host's side too, so the host can boot again.
    for p in ports:
        if os.path.exists(p):
            print("lvslab: %s: %s outlived its network namespace; deleted" % (name, os.path.basename(p)),
                  file=sys.stderr)
            sh("ip", "link", "del", os.path.basename(p), check=False, capture=True)
    for f in ("pid", "unshare.pid"):
        try:
            os.unlink(os.path.join(d, f))
        except FileNotFoundError:
            pass
    state["hosts"][name] = {"pid": None, "power": "off"}
    save_state(state)


def poweron_host(state, name):
    if os.path.exists("/run/netns/" + netns_name(name)):
        # The host stopped by itself (`systemctl poweroff` or `reboot` inside a
        # systemd host: its unshare exits 130 or 129): clean up as a power off does.
        poweroff_host(state, name)
        state = load_state()
    proc = start_host(state, name)
    wait_booted(state, name, proc)


def known_host(state, name):
    if name not in state["topology"]["hosts"]:
        raise LabError("unknown lab host %r (hosts: %s)" % (name, ", ".join(state["topology"]["hosts"])))


def cmd_reboot(args):
    state = load_state()
    known_host(state, args.host)
    t0 = time.time()
    poweroff_host(state, args.host)
    poweron_host(load_state(), args.host)
    print("lvslab: %s rebooted in %.1f s" % (args.host, time.time() - t0))
    return 0


def cmd_poweroff(args):
    state = load_state()
    known_host(state, args.host)
    poweroff_host(state, args.host)
    return 0


def cmd_poweron(args):
    state = load_state()
    known_host(state, args.host)
    if pid_alive(host_pid(args.host)):
        raise LabError("%s is already on" % args.host)
    poweron_host(state, args.host)
    return 0


def set_link(args, updown):
    state = load_state()
    known_host(state, args.host)
    ifaces = state["topology"]["hosts"][args.host].get("interfaces") or {}
    names = [args.iface] if args.iface else list(ifaces)
    for ifname in names:
        if ifname not in ifaces:
            raise LabError("host %s has no interface %s" % (args.host, ifname))
        sh("ip", "link", "set", switch_port(state, args.host, ifname), updown)
    return 0


def cmd_cut(args):
    return set_link(args, "down")


def cmd_mend(args):
    return set_link(args, "up")


def cmd_down(args):
    try:
        state = load_state()
    except LabError:
        return 0
    for name in state["topology"]["hosts"]:
        poweroff_host(state, name)
    for seg in state["topology"]["segments"]:
        sh("ip", "link", "del", "br-" + seg, check=False, capture=True)
    for path in (STATE_FILE, os.path.join(os.environ.get("LVSLAB_OUT", STATE_DIR), "state.json")):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    write_empty_inventory()
    sh("rm", "-rf", os.path.join(STATE_DIR, "hosts"))
    return 0


def cmd_status(args):
    state = load_state()
    for name, host in state["topology"]["hosts"].items():
        pid = host_pid(name)
        print("%-10s %-4s pid=%-6s groups=%s" % (name, "on" if pid_alive(pid) else "off",
                                                pid or "-", ",".join(host.get("groups", []))))
    return 0


def nsenter_argv(pid, argv):
    """Inside the lab kernel: argv run in the namespaces of the host whose init is pid."""
    return ["nsenter", "--target", str(pid), "--mount", "--uts", "--ipc", "--net", "--pid",
            "--"] + list(argv)


def exec_argv(name, argv):
    """A command line that runs argv in lab host `name`, with its stdin, stdout and stderr."""
    if inside():
        pid = host_pid(name)
        if not pid_alive(pid):
            raise LabError("lab host %s is not running" % name)
        return nsenter_argv(pid, argv)
    return [sys.executable, os.path.abspath(__file__), "exec", name, "--"] + list(argv)


def cmd_exec(args):
    argv = args.command or ["/bin/sh"]
    if args.kernel:
        argv = ([args.host] if args.host else []) + argv
    if not inside():
        import lvslab_client
        if args.kernel:
            return lvslab_client.relay(argv, kind="kernel")
        return lvslab_client.relay(argv, host=args.host)
    if args.kernel:
        return subprocess.call(argv)
    state = load_state()
    known_host(state, args.host)
    return subprocess.call(exec_argv(args.host, argv))


def inventory(state):
    """Ansible inventory: every lab host reached by nsenter, as by ssh a real one."""
    groups = {}
    hostvars = {}
    for name, host in state["topology"]["hosts"].items():
        for g in host.get("groups", []) or ["ungrouped"]:
            groups.setdefault(g, {"hosts": {}})["hosts"][name] = None
        hostvars[name] = {
            # Through the lab broker and agent (lab/connection_plugins/lvslab.py),
            # as ssh reaches a real host.
            "ansible_connection": "lvslab",
            "ansible_python_interpreter": "/usr/bin/python3",
            "lab_interfaces": {k: v.get("addresses", []) for k, v in
                               (host.get("interfaces") or {}).items()},
        }
    return {"all": {"hosts": hostvars, "children": groups}}


def inventory_paths():
    paths = [INVENTORY_FILE]
    if os.environ.get("LVSLAB_OUT"):
        paths.append(os.path.join(os.environ["LVSLAB_OUT"], "inventory.yml"))
    return paths


def write_empty_inventory():
    # The inventory path always exists while a lab runs (Molecule links to it
    # before its create step brings hosts up).
    for path in inventory_paths():
        _write_atomic(path, "all:\n  hosts: {}\n")


def write_inventory(state):
    import yaml
    text = yaml.safe_dump(inventory(state), default_flow_style=False, sort_keys=False)
    for path in inventory_paths():
        _write_atomic(path, text)


def cmd_inventory(args):
    import yaml
    sys.stdout.write(yaml.safe_dump(inventory(load_state()), default_flow_style=False, sort_keys=False))
    return 0


# ---------------------------------------------------------------- inside: PID 1's controller

def power_off_kernel():
    sys.stdout.flush()
    os.sync()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.reboot(0x4321FEDC)  # LINUX_REBOOT_CMD_POWER_OFF
    os._exit(0)


def cmd_guest_main(args):
    """The lab kernel's controller: build the topology, serve the machine's requests, power off."""
    rc = 125
    try:
        with open(args.job) as f:
            job = json.load(f)
        os.makedirs(os.path.join(STATE_DIR, "hosts"), exist_ok=True)
        env = dict(job["env"])
        env["LVSLAB_INSIDE"] = "1"
        env["LVSLAB_INVENTORY"] = INVENTORY_FILE
        os.environ.update(env)
        write_empty_inventory()
        if job.get("topology"):
            cmd_up(argparse.Namespace(topology=job["topology"]))
        import lvslab_agent
        agent = lvslab_agent.Agent()
        print("LVSLAB-READY %.1f" % float(open("/proc/uptime").read().split()[0]), flush=True)
        agent.serve()  # until the machine says SHUTDOWN or the line closes
        rc = 0
    except Exception as exc:  # report, then still power off cleanly
        print("LVSLAB-FAIL %s: %s" % (type(exc).__name__, exc), flush=True)
    finally:
        try:
            cmd_down(None)
        except Exception as exc:
            print("lvslab: teardown: %s" % exc, flush=True)
        print("LVSLAB-EXIT %d" % rc, flush=True)
        power_off_kernel()


# ---------------------------------------------------------------- outside: boot the lab kernel

UML_NOISE = ("SELinux", "mmapper_init", "Failed to initialize ubd", "Warning: tempdir",
             "Checking that ptrace", "Checking syscall", "Checking advanced", "Checking environment",
             "Core dump limits", "Checking for the skas", "Failed to write wtmp",
             "Powering off", "reboot: ", "Locating ", "Checking PROT_EXEC", "Adding ",
             "Checking host MADV", "Checking host", "Linux version", "hostfs")
# Boot of the lab kernel and the topology, before the command runs.
READY_TIMEOUT = 300
HELLO_TIMEOUT = 60


def find_uml():
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
        print("lvslab: %s" % msg, file=sys.stderr, flush=True)

    def boot(self, topology):
        import socket
        out = self.out
        os.makedirs(out, exist_ok=True)
        job = {"env": {k: v for k, v in os.environ.items()
                       if k in ("TERM", "LANG", "LC_ALL") or k.startswith("BENCH_")},
               "topology": topology}
        job["env"].update({"PATH": "%s:/usr/sbin:/usr/bin:/sbin:/bin" % os.path.join(LAB_HOME, "bin"),
                           "HOME": "/root", "LVSLAB_OUT": out, "PYTHONDONTWRITEBYTECODE": "1"})
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

    def stop_command(self, sig=signal.SIGTERM):
        if self.cmd and self.cmd.poll() is None:
            try:
                os.killpg(self.cmd.pid, sig)
            except ProcessLookupError:
                pass

    def on_signal(self, signum, frame):
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
        import lvslab_broker
        self.boot(topology)
        if not self.ready.wait(READY_TIMEOUT) or self.ended.is_set() or self.failure:
            why = self.failure or ("the lab kernel stopped while booting" if self.ended.is_set()
                                   else "not ready after %d s" % READY_TIMEOUT)
            self.log("%s (boot log: %s/boot.log)" % (why, self.out))
            self.kill_uml()
            return 125
        sock = os.path.join(self.out, "lab.sock")
        self.broker = lvslab_broker.Broker(self.sock_pair[0].fileno(), sock, log=self.log)
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


# Sub-commands that change or read the lab kernel's state: forwarded there from the machine.
FORWARDED = ("up", "down", "status", "inventory", "reboot", "poweroff", "poweron", "cut", "mend")


def forward(argv):
    """Run `lvslab ARGV` in the lab kernel (from the machine), with this process's output."""
    import lvslab_client
    argv = list(argv)
    if argv[:1] == ["up"] and len(argv) > 1:
        argv[1] = os.path.abspath(argv[1])
    return lvslab_client.relay(argv, kind="lab", stdin_fd=None)


def main(argv=None):
    p = argparse.ArgumentParser(prog="lvslab", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="boot the lab kernel and run a command with it")
    r.add_argument("-t", "--topology")
    r.add_argument("--mem", default=os.environ.get("LVSLAB_MEM", "3G"))
    r.add_argument("--out", default=os.environ.get("LVSLAB_RUN_OUT", os.path.join(REPO, ".lab")),
                   help="the output folder, the only place the lab writes to (default .lab)")
    r.add_argument("-v", "--verbose", action="store_true")
    r.add_argument("--cpu", default=os.environ.get("LVSLAB_CPU", "auto"),
                   help="machine CPU for the lab kernel: auto (the least used by other labs), none, or a number")
    r.add_argument("--timeout", type=float, default=float(os.environ.get("LVSLAB_TIMEOUT", 3600)),
                   help="stop the command and power the lab off after this many seconds (exit status 124)")
    r.add_argument("--guest-python", help=argparse.SUPPRESS)  # tests: a controller the lab cannot start
    r.add_argument("command", nargs=argparse.REMAINDER)
    r.set_defaults(func=cmd_run)
    g = sub.add_parser("guest-main")
    g.add_argument("job")
    g.set_defaults(func=cmd_guest_main)
    u = sub.add_parser("up")
    u.add_argument("topology")
    u.set_defaults(func=cmd_up)
    sub.add_parser("down").set_defaults(func=cmd_down)
    sub.add_parser("status").set_defaults(func=cmd_status)
    sub.add_parser("inventory").set_defaults(func=cmd_inventory)
    for name, func in (("reboot", cmd_reboot), ("poweroff", cmd_poweroff), ("poweron", cmd_poweron)):
        s = sub.add_parser(name)
        s.add_argument("host")
        s.set_defaults(func=func)
    for name, func in (("cut", cmd_cut), ("mend", cmd_mend)):
        s = sub.add_parser(name)
        s.add_argument("host")
        s.add_argument("iface", nargs="?")
        s.set_defaults(func=func)
    e = sub.add_parser("exec", help="run a command in a lab host (or with --kernel, in the lab kernel)")
    e.add_argument("--kernel", action="store_true")
    e.add_argument("host", nargs="?")
    e.add_argument("command", nargs=argparse.REMAINDER)
    e.set_defaults(func=lambda a: cmd_exec(argparse.Namespace(
        host=a.host, kernel=a.kernel, command=a.command[1:] if a.command[:1] == ["--"] else a.command)))
    args = p.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if args.cmd in FORWARDED and not inside():
            return forward(argv)
        if args.cmd not in ("run", "exec", "guest-main") and not inside():
            raise LabError("lvslab %s works inside the lab kernel" % args.cmd)
        return args.func(args)
    except LabError as exc:
        print("lvslab: %s" % exc, file=sys.stderr)
        return 1
    except Exception as exc:
        if type(exc).__name__ == "LabUnavailable":
            print("lvslab: %s" % exc, file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
