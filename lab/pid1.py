"""PID 1's controller in the lab kernel (started by lab/guest/boot as `python -m lab.pid1 JOB`):
build the topology, serve the machine's requests over the lab line, power off."""
import argparse
import ctypes
import json
import os
import sys

from lab.agent import Agent
from lab.core import INVENTORY_FILE, STATE_DIR
from lab.hosts import cmd_down, cmd_up, write_empty_inventory


def power_off_kernel():
    """Flush and power the lab kernel off (reboot(2)); never returns."""
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
        agent = Agent()
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


def main(argv=None):
    """Entry point: `python -m lab.pid1 JOB` (JOB: the job.json the machine wrote)."""
    p = argparse.ArgumentParser(prog="lab.pid1")
    p.add_argument("job")
    cmd_guest_main(p.parse_args(argv))


if __name__ == "__main__":
    main()
