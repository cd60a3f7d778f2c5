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
  - The first time the module changes a key it records the key's previous value in O(state_file).
    O(state=absent) removes the sysctl.d file and the boot state and writes those original values
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
      - Required with O(state=present).
    type: list
    elements: str
    default: [all, lo]
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
    description: The sysctl.d file the module owns.
    type: path
    default: /etc/sysctl.d/90-lvs-arp.conf
  state_file:
    description: Where the original kernel values are saved (JSON), written the first time a key is changed.
    type: path
    default: /var/lib/lvs-cluster/arp_sysctl.json
  state:
    description: C(present) applies and persists; C(absent) removes the files and restores the original values.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Supports check mode and diff mode (kernel values and the sysctl.d file, before and after).
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
    name: /etc/sysctl.d/90-lvs-director.conf
    state_file: /var/lib/lvs-cluster/director_sysctl.json

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
originals:
  description: Original values saved in the state file.
  returned: always
  type: dict
  sample: {"net.ipv4.conf.all.arp_ignore": "0"}
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import sysctl


def main():
    module = AnsibleModule(
        argument_spec=dict(
            interfaces=dict(type="list", elements="str", default=["all", "lo"]),
            arp_ignore=dict(type="int", choices=list(sysctl.PARAMS["arp_ignore"]), default=1),
            arp_announce=dict(type="int", choices=list(sysctl.PARAMS["arp_announce"]), default=2),
            rp_filter=dict(type="int", choices=list(sysctl.PARAMS["rp_filter"])),
            send_redirects=dict(type="bool"),
            name=dict(type="path", default="/etc/sysctl.d/90-lvs-arp.conf"),
            state_file=dict(type="path", default="/var/lib/lvs-cluster/arp_sysctl.json"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    saved = persist.read_json(p["state_file"])
    originals = dict((saved or {}).get("originals", {}))
    old_conf = persist.read_text(p["name"])
    result = dict(changed=False, file=p["name"], changes={}, restored={})

    if p["state"] == "present":
        ifaces = sysctl.unique(p["interfaces"] or [])
        err = sysctl.validate_interfaces(ifaces)
        if err:
            module.fail_json(msg=err, **result)
        desired = sysctl.desired_settings(ifaces, p)
        desired_map = dict(desired)
        current = dict((k, sysctl.read_value(k)) for k in desired_map)
        unreadable = [k for k, v in current.items() if v is None]
        if unreadable:
            module.fail_json(msg="interfaces: cannot read %s" % ", ".join(unreadable), **result)
        to_set = dict((k, v) for k, v in desired if current[k] != v)
        # Keys managed before but not any more: give them back.
        stale = dict((k, v) for k, v in originals.items() if k not in desired_map)
        to_restore = dict((k, v) for k, v in stale.items()
                          if sysctl.read_value(k) is not None and sysctl.read_value(k) != v)
        new_originals = dict((k, v) for k, v in originals.items() if k not in stale)
        for k in to_set:
            new_originals.setdefault(k, current[k])
        conf = sysctl.render_conf(desired)
        boot = {"settings": dict((k, v) for k, v in desired if not sysctl.is_pseudo_key(k)),
                "file": p["name"]}
    else:
        to_set = {}
        desired_map = {}
        to_restore = dict((k, v) for k, v in originals.items()
                          if sysctl.read_value(k) is not None and sysctl.read_value(k) != v)
        current = {}
        new_originals = None
        conf = None
        boot = None

    before_vals = dict((k, sysctl.read_value(k)) for k in set(to_set) | set(to_restore))
    after_vals = dict(before_vals)
    after_vals.update(to_set)
    after_vals.update(to_restore)
    result["changes"] = dict((k, {"before": before_vals[k], "after": after_vals[k]})
                             for k in sorted(after_vals) if before_vals[k] != after_vals[k])
    result["restored"] = to_restore
    result["originals"] = new_originals if new_originals is not None else originals
    if desired_map:
        result["settings"] = desired_map

    conf_changed = old_conf != conf
    state_content = None
    if new_originals:
        state_content = json.dumps({"originals": new_originals, "file": p["name"]},
                                   indent=2, sort_keys=True) + "\n"
    state_changed = persist.read_text(p["state_file"]) != state_content

    if not module.check_mode:
        try:
            if state_content is not None and state_changed:
                persist.write_atomic(p["state_file"], state_content, 0o600)
            for k, v in to_set.items():
                sysctl.write_value(k, v)
            for k, v in to_restore.items():
                sysctl.write_value(k, v)
            if conf_changed:
                if conf is None:
                    persist.remove(p["name"])
                else:
                    persist.write_atomic(p["name"], conf, 0o644)
            if state_content is None and state_changed:
                persist.remove(p["state_file"])
        except (IOError, OSError) as exc:
            module.fail_json(msg="applying sysctls failed: %s" % exc, **result)
    boot_changed, boot_path = persist.sync_state(module, "sysctl", os.path.basename(p["name"]), boot if boot and boot["settings"] else None)

    result["changed"] = bool(to_set or to_restore or conf_changed or state_changed or boot_changed)
    if module._diff:
        result["diff"] = [
            {"before_header": "kernel net.ipv4.conf", "after_header": "kernel net.ipv4.conf",
             "before": sysctl.render_lines(before_vals), "after": sysctl.render_lines(after_vals)},
            {"before_header": p["name"], "after_header": p["name"],
             "before": old_conf or "", "after": conf or ""},
        ]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
