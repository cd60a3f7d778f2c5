#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: sysctl_set
short_description: Many kernel settings and the kernel modules they need, now and at boot, in one run
version_added: "0.1.0"
description:
  - Loads kernel modules (O(modules)) and then sets sysctls (O(settings), O(interface_settings)) in one
    module run, and writes them to files the task owns for boot (O(file), O(modules_file)).
  - "One run per host instead of one per setting: on a director the IPVS settings, forwarding and the
    ICMP redirects of its interfaces are one task."
  - Names are checked before anything changes, in the dotted form (C(net.ipv4.vs.expire_nodest_conn)) or the
    slash form that device names with a dot need (C(net/ipv4/conf/eth0.100/send_redirects)); a name that is
    not a sysctl of the running kernel fails the task (after the modules are loaded) and changes nothing.
  - O(file) is written whole (the keys of this task, in order); keys of devices get the C(-) prefix so that
    C(sysctl --system) at boot skips devices that do not exist yet.
author: lvs.cluster contributors (@lvs-cluster)
options:
  settings:
    description: "Sysctls and their values: C({net.ipv4.ip_forward: 1})."
    type: dict
    default: {}
  interfaces:
    description: Network devices that get every O(interface_settings) key (C(all) and C(default) are the pseudo devices).
    type: list
    elements: str
    default: []
  interface_settings:
    description: "Per-device keys under C(net.ipv4.conf.<device>) for each of O(interfaces): C({send_redirects: 0})."
    type: dict
    default: {}
  modules:
    description: Kernel modules loaded (C(modprobe)) before the settings are read and set.
    type: list
    elements: str
    default: []
  modules_file:
    description: A C(modules-load.d) file listing O(modules), for boot. Not written when omitted.
    type: path
  file:
    description: The C(sysctl.d) file holding the settings, for boot. Not written when omitted.
    type: path
notes:
  - Supports check mode and diff mode (kernel values and the files, before and after).
  - "All or nothing: when a write fails, the values and files written are put back and the task fails
    listing the steps (a module it loaded stays loaded). Holds the host lock C(/run/lvs-cluster/host.lock)."
seealso:
  - module: lvs.cluster.arp_sysctl
'''

EXAMPLES = r'''
- name: IPVS settings of a director, forwarding, no ICMP redirects
  lvs.cluster.sysctl_set:
    modules: [ip_vs, ip_vs_wlc]
    modules_file: /etc/modules-load.d/lvs-cluster.conf
    settings:
      net.ipv4.vs.expire_nodest_conn: 1
      net.ipv4.ip_forward: 1
    interfaces: [all, default, eth0.100]
    interface_settings:
      send_redirects: 0
    file: /etc/sysctl.d/90-lvs-director.conf
'''

RETURN = r'''
changes:
  description: Keys whose kernel value changed (or would in check mode), with before and after.
  returned: always
  type: dict
  sample: {"net.ipv4.ip_forward": {"before": "0", "after": "1"}}
loaded:
  description: Kernel modules loaded by this run (or that would be in check mode).
  returned: always
  type: list
  elements: str
  sample: [ip_vs_wlc]
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.cluster.plugins.module_utils import locking
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import steps as stepslib
from ansible_collections.lvs.cluster.plugins.module_utils import sysctl_set as model


def read_proc(comps):
    try:
        with open(model.proc_path(comps)) as f:
            return " ".join(f.read().split())
    except (IOError, OSError):
        return None


def write_proc(comps, value):
    with open(model.proc_path(comps), "w") as f:
        f.write("%s\n" % value)


def missing_modules(modules):
    builtin = persist.read_text("/lib/modules/%s/modules.builtin" % os.uname()[2])
    proc_modules = persist.read_text("/proc/modules")
    return [m for m in modules if not model.module_loaded(m, proc_modules, builtin)]


def main():
    module = AnsibleModule(
        argument_spec=dict(settings=dict(type="dict", default={}), interfaces=dict(type="list", elements="str", default=[]),
                           interface_settings=dict(type="dict", default={}),
                           modules=dict(type="list", elements="str", default=[]),
                           modules_file=dict(type="path"), file=dict(type="path")),
        supports_check_mode=True)
    p = module.params
    result = dict(changed=False, changes={}, loaded=[])
    try:
        settings, modules = model.validate(p)
    except model.ValidationError as exc:
        module.fail_json(msg=str(exc), **result)
    with locking.host_lock(module, "host"):
        to_load = missing_modules(modules)
        result["loaded"] = to_load
        if not module.check_mode:
            for mod in to_load:
                rc, out, err = module.run_command(["modprobe", "--", mod])
                if rc != 0:
                    module.fail_json(msg="modules: modprobe %s failed: %s" % (mod, (err or out).strip()), **result)
        before = [(key, read_proc(comps)) for key, comps, value in settings]
        unknown = [key for (key, value), (k, comps, v) in zip(before, settings)
                   if value is None and not (module.check_mode and to_load)]
        if unknown:
            module.fail_json(msg="settings: no such sysctl in this kernel: %s" % ", ".join(unknown), **result)
        files = [(path, text, persist.read_text(path)) for path, text in (
            (p["file"], model.render_conf(settings)), (p["modules_file"], model.render_modules(modules))) if path]
        todo = []
        for (key, comps, value), (k, old) in zip(settings, before):
            if not model.same(old, value):
                result["changes"][key] = {"before": old, "after": value}
                todo.append(stepslib.Step("set %s = %s" % (key, value),
                                          lambda c=comps, v=value: write_proc(c, v),
                                          lambda c=comps, o=old: o is not None and write_proc(c, o)))
        for path, text, old in files:
            if text != old:
                todo.append(stepslib.Step("write %s" % path, lambda f=path, t=text: persist.write_atomic(f, t),
                                          lambda f=path, o=old: persist.restore_file(f, o)))
        result["changed"] = bool(to_load or todo)
        stepslib.apply(module, todo, result, errors=(IOError, OSError))
    if module._diff:
        after = [(key, value) for key, comps, value in settings]
        result["diff"] = [{"before_header": "kernel sysctls", "after_header": "kernel sysctls",
                           "before": model.render_lines(before), "after": model.render_lines(after)}]
        if to_load:
            result["diff"].append({"before_header": "kernel modules", "after_header": "kernel modules",
                                   "before": "", "after": "".join("%s\n" % m for m in to_load)})
        result["diff"] += [{"before_header": path, "after_header": path, "before": old or "", "after": text}
                           for path, text, old in files]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
