"""The lab's hosts, inside the lab kernel: switches, network namespaces, inits, power,
links, the state file and the Ansible inventory of the running topology (the
sub-commands `lvslab up/down/status/exec/...`). On the machine, the read-only part
(host_pid, host_on, load_state, exec_argv) reads the state mirrored in the output folder.
"""
import json
import os
import signal
import subprocess
import sys
import time

from lab.core import (INVENTORY_FILE, LAB_HOME, LVSLAB, STATE_DIR, STATE_FILE, LabError, inside, out_file, sh,
                      write_atomic)
from lab.topology import load_topology

HOST_INIT = os.path.join(LAB_HOME, "guest", "sbin", "init")
# `init: systemd` hosts: Debian's systemd as PID 1 (lab/guest/sbin/init-systemd),
# each in its own cgroup under CGROUP_LAB.
HOST_INIT_SYSTEMD = os.path.join(LAB_HOME, "guest", "sbin", "init-systemd")
CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_LAB = os.path.join(CGROUP_ROOT, "lab")
CGROUP_UNSHARE = os.path.join(CGROUP_ROOT, "lab-unshare")
CGROUP_CONTROLLERS = ("cpu", "io", "memory", "pids")
# Init scripts installed on the lab machine that no LVS host needs; the lab
# boot sequence skips them (a real host would not have them installed).
DEFAULT_BOOT_SKIP = ["postgresql", "dbus", "x11-common", "uml-utilities", "hwclock.sh"]
BOOT_TIMEOUT = 90
# systemd hosts: about 6 s alone, up to 46 s for five at once on the lab's one CPU.
BOOT_TIMEOUT_SYSTEMD = 240


def save_state(state):
    """Write the lab's state (topology, hosts) and mirror it into the output folder."""
    text = json.dumps(state, indent=1)
    write_atomic(STATE_FILE, text)
    # The machine's side reads the topology from the output folder.
    if os.environ.get("LVSLAB_OUT"):
        write_atomic(os.path.join(os.environ["LVSLAB_OUT"], "state.json"), text)


def load_state():
    """The running topology's state (in the lab kernel, or its mirror on the machine); LabError when none is up."""
    path = STATE_FILE if inside() else out_file("state.json")
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise LabError("no topology is up (run 'lvslab up TOPOLOGY')")


def host_dir(name):
    """The host's folder in the lab kernel (pid, console log, overlay)."""
    return os.path.join(STATE_DIR, "hosts", name)


def netns_name(name):
    """The network namespace of lab host `name`."""
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
    """`lvslab up TOPOLOGY`: switches, hosts booted in parallel, the inventory."""
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
    """The PID of ppid's first child (the host's init under unshare), waiting up to timeout s."""
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
    """Wait until the host has booted (its marker file); LabError with its console or journal when not."""
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
    """Kill the host's processes, remove its network namespace and NICs."""
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
    """Boot a powered-off host (network namespace, NICs, init)."""
    if os.path.exists("/run/netns/" + netns_name(name)):
        # The host stopped by itself (`systemctl poweroff` or `reboot` inside a
        # systemd host: its unshare exits 130 or 129): clean up as a power off does.
        poweroff_host(state, name)
        state = load_state()
    proc = start_host(state, name)
    wait_booted(state, name, proc)


def known_host(state, name):
    """LabError unless the topology has host `name`."""
    if name not in state["topology"]["hosts"]:
        raise LabError("unknown lab host %r (hosts: %s)" % (name, ", ".join(state["topology"]["hosts"])))


def cmd_reboot(args):
    """`lvslab reboot HOST`: power off and on (files kept)."""
    state = load_state()
    known_host(state, args.host)
    t0 = time.time()
    poweroff_host(state, args.host)
    poweron_host(load_state(), args.host)
    print("lvslab: %s rebooted in %.1f s" % (args.host, time.time() - t0))
    return 0


def cmd_poweroff(args):
    """`lvslab poweroff HOST`."""
    state = load_state()
    known_host(state, args.host)
    poweroff_host(state, args.host)
    return 0


def cmd_poweron(args):
    """`lvslab poweron HOST`."""
    state = load_state()
    known_host(state, args.host)
    if pid_alive(host_pid(args.host)):
        raise LabError("%s is already on" % args.host)
    poweron_host(state, args.host)
    return 0


def set_link(args, updown):
    """Set the host's switch port(s) up or down (one interface or all)."""
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
    """`lvslab cut HOST [IFACE]`: link down at the switch."""
    return set_link(args, "down")


def cmd_mend(args):
    """`lvslab mend HOST [IFACE]`: link up again."""
    return set_link(args, "up")


def cmd_down(args):
    """`lvslab down`: power every host off, remove the switches and the state."""
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
    """`lvslab status`: each host's power, PID and groups."""
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
    return [LVSLAB, "exec", name, "--"] + list(argv)


def cmd_exec(args):
    """`lvslab exec`: a command in a lab host or the lab kernel; its exit status."""
    argv = args.command or ["/bin/sh"]
    if args.kernel:
        argv = ([args.host] if args.host else []) + argv
    if not inside():
        from lab import client  # on the machine only
        if args.kernel:
            return client.relay(argv, kind="kernel")
        return client.relay(argv, host=args.host)
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
    """Where the inventory is written: the lab kernel's and the output folder's."""
    paths = [INVENTORY_FILE]
    if os.environ.get("LVSLAB_OUT"):
        paths.append(os.path.join(os.environ["LVSLAB_OUT"], "inventory.yml"))
    return paths


def write_empty_inventory():
    """An inventory with no host, so its path exists before a topology is up."""
    # The inventory path always exists while a lab runs (Molecule links to it
    # before its create step brings hosts up).
    for path in inventory_paths():
        write_atomic(path, "all:\n  hosts: {}\n")


def write_inventory(state):
    """Write the running topology's inventory."""
    import yaml
    text = yaml.safe_dump(inventory(state), default_flow_style=False, sort_keys=False)
    for path in inventory_paths():
        write_atomic(path, text)


def cmd_inventory(args):
    """`lvslab inventory`: print the inventory."""
    import yaml
    sys.stdout.write(yaml.safe_dump(inventory(load_state()), default_flow_style=False, sort_keys=False))
    return 0


# ---------------------------------------------------------------- inside: PID 1's controller
