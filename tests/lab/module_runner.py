"""Runs collection modules inside a lab host, many calls in one process.

Started by tests/lab/conftest.py through nsenter with the host's own
/usr/bin/python3 (so the modules meet the distribution's pyroute2, as on a
real director). It reads one JSON request a line and answers one JSON line:
the module's own output, exactly what Ansible would have received. Importing
pyroute2 costs seconds in the lab kernel; a process that stays up pays it once.
argv: directories appended to sys.path (after the distribution's packages):
the collections path and the controller's site-packages for ansible.module_utils.
"""
import io
import json
import runpy
import sys

sys.path.extend(sys.argv[1:])

from ansible.module_utils import basic  # noqa: E402


def call(req):
    args = dict(req["args"])
    args["_ansible_check_mode"] = bool(req.get("check"))
    args["_ansible_diff"] = bool(req.get("diff", True))
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
    # ansible-core >= 2.19 decodes arguments by a serialization profile;
    # "legacy" is what a module invoked directly gets.
    basic._ANSIBLE_PROFILE = "legacy"
    buf = io.StringIO()
    real_stdout = sys.stdout
    sys.stdout = buf
    try:
        runpy.run_module("ansible_collections.lvs.cluster.plugins.modules." + req["module"],
                         run_name="__main__", alter_sys=False)
    except SystemExit:
        pass
    finally:
        sys.stdout = real_stdout
    return buf.getvalue()


def main():
    for line in sys.stdin:
        out = call(json.loads(line))
        sys.stdout.write(json.dumps({"output": out}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
