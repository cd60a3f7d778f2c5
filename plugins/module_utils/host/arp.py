# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""arp_sysctl as plain data: state file naming, validation and the plan (pure).

A task is identified by its sysctl.d file (``name``). Its state lives in the one
state folder of the host modules, /etc/lvs-cluster/sysctl-<name>.json: the
settings the boot program replays and the original values of the keys the task
changed. Two tasks with different files never undo each other's keys."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.lvs.cluster.plugins.module_utils import fields
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import sysctl
from ansible_collections.lvs.cluster.plugins.module_utils.steps import Step

ARGUMENT_SPEC = dict(
    interfaces=dict(type="list", elements="str"),
    arp_ignore=dict(type="int", choices=list(sysctl.PARAMS["arp_ignore"]), default=1),
    arp_announce=dict(type="int", choices=list(sysctl.PARAMS["arp_announce"]), default=2),
    rp_filter=dict(type="int", choices=list(sysctl.PARAMS["rp_filter"])),
    send_redirects=dict(type="bool"),
    name=dict(type="path", default="/etc/sysctl.d/90-lvs-arp.conf"),
    state_file=dict(type="path"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)
LEGACY_DIR = "/var/lib/lvs-cluster"
LEGACY_STATE = "/var/lib/lvs-cluster/arp_sysctl.json"


# A bad input; the message names the field (the vocabulary's error).
ValidationError = fields.FieldError


def legacy_state_file_for(name, state_dir=LEGACY_DIR):
    """Where a per-task state file of an earlier development version lived."""
    base = os.path.basename(name)
    if base.endswith(".conf"):
        base = base[:-5]
    return os.path.join(state_dir, "arp_sysctl-%s.json" % re.sub(r"[^A-Za-z0-9_.-]", "_", base))


def validate(params, conf_dir=sysctl.CONF_DIR):
    """(interfaces, values) of a task, or ValidationError naming the field."""
    name = params.get("name")
    if not isinstance(name, str) or not os.path.isabs(name) or name.endswith("/") \
            or not name.endswith(".conf"):
        raise ValidationError("name: %r is not an absolute path of a .conf file" % (name,))
    if params.get("state_file") is not None and not os.path.isabs(params["state_file"]):
        raise ValidationError("state_file: %r is not an absolute path" % (params["state_file"],))
    values = {}
    for param in ("arp_ignore", "arp_announce", "rp_filter", "send_redirects"):
        v = params.get(param)
        if v is None:
            continue
        if param == "send_redirects":
            if not isinstance(v, bool):
                raise ValidationError("send_redirects: %r is not a boolean" % (v,))
            v = int(v)
        elif isinstance(v, bool) or not isinstance(v, int) or v not in sysctl.PARAMS[param]:
            raise ValidationError("%s: %r is not one of %s" % (param, v, ", ".join(map(str, sysctl.PARAMS[param]))))
        values[param] = v
    if params.get("state") == "absent":
        return [], values
    interfaces = params.get("interfaces")
    if interfaces is None:
        interfaces = ["all", "lo"]
    ifaces = sysctl.unique(interfaces)
    err = sysctl.validate_interfaces(ifaces, conf_dir)
    if err:
        raise ValidationError(err)
    return ifaces, values


def plan(present, ifaces, values, saved, read_value, name):
    """What to do. saved: the task's state ({originals}) or None. read_value(key) -> str or None."""
    originals = dict((saved or {}).get("originals", {}))
    if present:
        desired = sysctl.desired_settings(ifaces, values)
        desired_map = dict(desired)
        current = dict((k, read_value(k)) for k in desired_map)
        unreadable = [k for k, v in current.items() if v is None]
        if unreadable:
            raise ValidationError("interfaces: cannot read %s" % ", ".join(sorted(unreadable)))
        to_set = dict((k, v) for k, v in desired if current[k] != v)
        stale = dict((k, v) for k, v in originals.items() if k not in desired_map)
        new_originals = dict((k, v) for k, v in originals.items() if k not in stale)
        for k in to_set:
            new_originals.setdefault(k, current[k])
        conf = sysctl.render_conf(desired)
        boot = dict((k, v) for k, v in desired if not sysctl.is_pseudo_key(k))
    else:
        desired_map, stale, new_originals, conf, boot, to_set = {}, originals, {}, None, {}, {}
    to_restore = {}
    for k, v in stale.items():
        now = read_value(k)
        if now is not None and now != v:
            to_restore[k] = v
    data = None
    if present or new_originals:
        data = {"file": name, "settings": boot, "originals": new_originals}
    return {"to_set": to_set, "to_restore": to_restore, "originals": new_originals, "conf": conf,
            "data": data, "settings": desired_map}


def steps(module, pl, before, name, old_conf, spath, old_text, legacy):
    """The writes of a plan, each with its undo: kernel keys, the sysctl.d file, the
    task's state file (through persist.sync_state: the boot hook too), legacy state files."""
    base = os.path.basename(name)
    todo = [Step("sysctl %s=%s" % (k, v), lambda k=k, v=v: sysctl.write_value(k, v),
                 lambda k=k: sysctl.write_value(k, before[k]))
            for k, v in sorted(list(pl["to_set"].items()) + list(pl["to_restore"].items()))]
    if old_conf != pl["conf"]:
        todo.append(Step("write %s" % name, lambda: persist.restore_file(name, pl["conf"]),
                         lambda: persist.restore_file(name, old_conf)))
    todo.append(Step("write %s" % spath, lambda: persist.sync_state(module, "sysctl", base, pl["data"]),
                     lambda: persist.restore_file(spath, old_text)))
    todo += [Step("remove %s" % f, lambda f=f: persist.remove(f), lambda f=f, t=t: persist.restore_file(f, t, 0o600))
             for f, t in legacy]
    return todo
