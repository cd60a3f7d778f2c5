"""lvslab: a real-kernel LVS lab on a machine whose own kernel has no IPVS.

On the machine:
    lvslab run [-t TOPOLOGY] -- COMMAND...   boot the lab kernel (user-mode
        Linux, the machine's root read-only over hostfs), optionally build a
        topology, run COMMAND on the machine with the lab reachable through
        $LVSLAB_SOCKET, power off, exit with COMMAND's status.

Under `lvslab run` (COMMAND, the tests, Ansible and Molecule use these; each
is forwarded to the lab kernel over its serial line, see lab/agent.py):
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
import os
import sys

from lab import hosts
from lab.core import REPO, LabError, inside

# Sub-commands that change or read the lab kernel's state: forwarded there from the machine.
FORWARDED = ("up", "down", "status", "inventory", "reboot", "poweroff", "poweron", "cut", "mend")


def forward(argv):
    """Run `lvslab ARGV` in the lab kernel (from the machine), with this process's output."""
    from lab import client  # on the machine only
    argv = list(argv)
    if argv[:1] == ["up"] and len(argv) > 1:
        argv[1] = os.path.abspath(argv[1])
    return client.relay(argv, kind="lab", stdin_fd=None)


def run(args):
    """`lvslab run`: the machine's side (imported only there)."""
    from lab import machine
    return machine.cmd_run(args)


def main(argv=None):
    """The lvslab command: parse argv, run the sub-command (here or in the lab kernel), exit status."""
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
    r.set_defaults(func=run)
    u = sub.add_parser("up")
    u.add_argument("topology")
    u.set_defaults(func=hosts.cmd_up)
    sub.add_parser("down").set_defaults(func=hosts.cmd_down)
    sub.add_parser("status").set_defaults(func=hosts.cmd_status)
    sub.add_parser("inventory").set_defaults(func=hosts.cmd_inventory)
    for name, func in (("reboot", hosts.cmd_reboot), ("poweroff", hosts.cmd_poweroff), ("poweron", hosts.cmd_poweron)):
        s = sub.add_parser(name)
        s.add_argument("host")
        s.set_defaults(func=func)
    for name, func in (("cut", hosts.cmd_cut), ("mend", hosts.cmd_mend)):
        s = sub.add_parser(name)
        s.add_argument("host")
        s.add_argument("iface", nargs="?")
        s.set_defaults(func=func)
    e = sub.add_parser("exec", help="run a command in a lab host (or with --kernel, in the lab kernel)")
    e.add_argument("--kernel", action="store_true")
    e.add_argument("host", nargs="?")
    e.add_argument("command", nargs=argparse.REMAINDER)
    e.set_defaults(func=lambda a: hosts.cmd_exec(argparse.Namespace(
        host=a.host, kernel=a.kernel, command=a.command[1:] if a.command[:1] == ["--"] else a.command)))
    args = p.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if args.cmd in FORWARDED and not inside():
            return forward(argv)
        if args.cmd not in ("run", "exec") and not inside():
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
