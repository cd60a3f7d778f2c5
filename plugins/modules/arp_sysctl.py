#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: arp_sysctl
short_description: ARP, reverse-path and redirect sysctls of LVS hosts, by intent
version_added: "0.1.0"
description:
  - Sets C(net.ipv4.conf.<interface>.arp_ignore), C(arp_announce), and optionally C(rp_filter) and
    C(send_redirects) for a list of interfaces (including the pseudo interfaces C(all) and C(default)).
  - "Typical uses: a DR or TUN real server answers no ARP for the VIPs it carries on C(lo) or C(tunl0)
    (O(arp_ignore=1), O(arp_announce=2) on C(all), the LAN interface and C(lo)); a TUN real server
    relaxes reverse-path filtering (O(rp_filter=0) on C(tunl0) and C(all)); a DR director turns
    O(send_redirects) off."
  - The running kernel is changed through C(/proc/sys/net/ipv4/conf/<interface>/...), which is per
    network namespace.
  - >-
    The values are persisted in a file the module owns under C(/etc/sysctl.d/) (O(name)), applied at
    boot by C(sysctl --system) (Debian C(/etc/init.d/procps), C(systemd-sysctl)). Keys of real
    interfaces are written with the C(-) prefix, so that boot does not fail on interfaces that do
    not exist yet (C(tunl0), dummies); they are also written to the declarative state file
    C(/etc/lvs-cluster/sysctl-<file name of name>.json) that the collection's boot hook
    C(/usr/local/sbin/lvs-cluster-net apply) replays after it has created the VIP devices (see
    M(lvs.cluster.vip_address) for the hook: LSB init script C(/etc/init.d/lvs-cluster-net) enabled in
    C(rcS.d) and systemd unit C(lvs-cluster-net.service)).
  - The first time the module changes a key it records the key's previous value in the same state
    file (one per task, named by O(name)). O(state=absent) removes the sysctl.d file and the boot state and writes those original values
    back (returned as RV(restored)). A key dropped from the settings on a later O(state=present) run
    is restored the same way.
  - Every input is validated before anything changes; an interface that does not exist fails the
    task, naming it, and changes nothing.
author: lvs.cluster developers (!UNKNOWN)
options:
  interfaces:
    description:
      - Interfaces to configure. C(all) and C(default) are the kernel's pseudo interfaces; the
        effective C(arp_ignore), C(arp_announce) and C(rp_filter) of an interface are the maximum of
        its own value and the C(all) value.
      - With O(state=present), default C([all, lo]). Ignored with O(state=absent) (every key the task changed is restored).
    type: list
    elements: str
  arp_ignore:
    description: C(arp_ignore) value; C(1) answers ARP only for addresses on the receiving interface.
    type: int
    choices: [0, 1, 2, 3, 4, 5, 6, 7, 8]
    default: 1
  arp_announce:
    description: C(arp_announce) value; C(2) uses the best local address of the outgoing interface as ARP source.
    type: int
    choices: [0, 1, 2]
    default: 2
  rp_filter:
    description:
      - C(rp_filter) value (C(0) off, C(1) strict, C(2) loose). Not managed when omitted.
      - A TUN real server needs C(0) on C(tunl0) and C(all).
    type: int
    choices: [0, 1, 2]
  send_redirects:
    description: C(send_redirects) value; C(false) on a DR director. Not managed when omitted.
    type: bool
  name:
    description:
      - The sysctl.d file the task owns; it also names the task. Two tasks that manage different
        keys must have different names (each has its own file and state file, so neither undoes the
        other's keys).
    type: path
    default: /etc/sysctl.d/90-lvs-arp.conf
  state_file:
    description:
      - Deprecated, only read. The task's state (the settings replayed at boot and the original
        kernel values) is C(/etc/lvs-cluster/sysctl-<name>.json), one file per task in the state
        folder of the host modules. A state file of earlier versions (this option's value, or
        C(/var/lib/lvs-cluster/arp_sysctl.json)) that records the same O(name) is taken over and removed.
    type: path
  state:
    description: C(present) applies and persists; C(absent) removes the files and restores the original values.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode and diff mode (kernel values and the sysctl.d file, before and after).
  - "All or nothing: when a write fails, the keys and files written are put back and the task
    fails listing the steps. Holds the host lock C(/run/lvs-cluster/host.lock)."
  - Needs no Python library beyond the standard library.
seealso:
  - module: lvs.cluster.vip_address
  - module: lvs.cluster.policy_route
'''

EXAMPLES = r'''
- name: DR real server, no ARP for the VIPs on lo
  lvs.cluster.arp_sysctl:
    interfaces: [all, lo, eth0]

- name: TUN real server (after lvs.cluster.vip_address put the VIP on tunl0)
  lvs.cluster.arp_sysctl:
    interfaces: [all, tunl0, eth0]
    rp_filter: 0

- name: DR director, no ICMP redirects
  lvs.cluster.arp_sysctl:
    interfaces: [all, default, eth0]
    arp_ignore: 0
    arp_announce: 0
    send_redirects: false
    name: /etc/sysctl.d/90-lvs-director-arp.conf

- name: Undo, restoring the kernel's original values
  lvs.cluster.arp_sysctl:
    state: absent
'''

RETURN = r'''
settings:
  description: The managed keys and their values.
  returned: state is present
  type: dict
  sample: {"net.ipv4.conf.all.arp_ignore": "1", "net.ipv4.conf.lo.arp_announce": "2"}
changes:
  description: Keys whose kernel value changed (or would in check mode), with before and after.
  returned: always
  type: dict
  sample: {"net.ipv4.conf.all.arp_ignore": {"before": "0", "after": "1"}}
restored:
  description: Keys written back to their original value (state absent, or dropped keys).
  returned: always
  type: dict
  sample: {"net.ipv4.conf.all.arp_ignore": "0"}
file:
  description: Path of the sysctl.d file.
  returned: always
  type: str
  sample: /etc/sysctl.d/90-lvs-arp.conf
state_file:
  description: The task's state file.
  returned: always
  type: str
  sample: /etc/lvs-cluster/sysctl-90-lvs-arp.conf.json
originals:
  description: Original values saved in the state file.
  returned: always
  type: dict
  sample: {"net.ipv4.conf.all.arp_ignore": "0"}
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.cluster.plugins.module_utils import locking
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import steps as stepslib
from ansible_collections.lvs.cluster.plugins.module_utils import sysctl
from ansible_collections.lvs.cluster.plugins.module_utils.host import arp as model


def main():
    module = AnsibleModule(argument_spec=model.ARGUMENT_SPEC, supports_check_mode=True)
    p = module.params
    result = dict(changed=False, file=p["name"], changes={}, restored={})
    try:
        ifaces, values = model.validate(p)
    except model.ValidationError as exc:
        module.fail_json(msg=str(exc), **result)
    base = os.path.basename(p["name"])
    spath = result["state_file"] = persist.state_path("sysctl", base)
    with locking.host_lock(module, "host"):
        old_text, saved, old_conf = persist.read_text(spath), persist.read_json(spath), persist.read_text(p["name"])
        # State files of earlier versions (originals only) are taken over, then removed.
        legacy = [f for f in (p["state_file"], model.legacy_state_file_for(p["name"]), model.LEGACY_STATE)
                  if f and f != spath and (persist.read_json(f) or {}).get("file") == p["name"]]
        legacy = [(f, persist.read_text(f)) for f in sorted(set(legacy))]
        if not (saved or {}).get("originals") and legacy:
            saved = persist.read_json(legacy[0][0])
        try:
            pl = model.plan(p["state"] == "present", ifaces, values, saved, sysctl.read_value, p["name"])
        except model.ValidationError as exc:
            module.fail_json(msg=str(exc), **result)
        before = dict((k, sysctl.read_value(k)) for k in set(pl["to_set"]) | set(pl["to_restore"]))
        after = dict(before, **pl["to_set"])
        after.update(pl["to_restore"])
        result.update(changes=dict((k, {"before": before[k], "after": after[k]}) for k in sorted(after)
                                   if before[k] != after[k]), restored=pl["to_restore"], originals=pl["originals"])
        if pl["settings"]:
            result["settings"] = pl["settings"]
        new_text = persist.render_state("sysctl", base, pl["data"]) if pl["data"] else None
        result["changed"] = bool(result["changes"] or old_conf != pl["conf"] or old_text != new_text or legacy
                                 or (pl["data"] and persist.hook_needs_install()))
        if result["changed"]:
            stepslib.apply(module, model.steps(module, pl, before, p["name"], old_conf, spath, old_text, legacy),
                           result, errors=(IOError, OSError))
    if module._diff:
        result["diff"] = [
            {"before_header": "kernel net.ipv4.conf", "after_header": "kernel net.ipv4.conf",
             "before": sysctl.render_lines(before), "after": sysctl.render_lines(after)},
            {"before_header": p["name"], "after_header": p["name"], "before": old_conf or "", "after": pl["conf"] or ""}]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
