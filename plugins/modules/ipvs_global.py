#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ipvs_global
short_description: IPVS timeouts and the connection sync daemon (C(ipvsadm --set), C(--start-daemon))
version_added: "0.1.0"
description:
  - Sets the kernel's IPVS connection timeouts for TCP, TCP after FIN, and UDP.
  - Starts or stops the IPVS connection synchronisation daemons (master and/or
    backup) that let a backup director take over established connections.
  - Through generic netlink, like the other ipvs_* modules.
  - The kernel forgets the timeouts at reboot and neither C(ipvsadm-save) nor keepalived sets them;
    with O(persist) the timeouts are written to C(/etc/lvs-cluster/ipvs-timeouts.json) and set again
    at boot by the collection's boot hook C(lvs-cluster-net) (the one that replays
    M(lvs.cluster.vip_address) and M(lvs.cluster.arp_sysctl)), which starts before keepalived and ipvsadm
    (LSB init script in rcS, or C(lvs-cluster-net.service) with C(Before=keepalived.service ipvsadm.service)).
  - The whole request is validated first (interface names, ranges); then the changes are made in
    order, and when the kernel refuses one, the steps done are undone (a stopped daemon is started
    again with its old settings) and the task fails listing them.
options:
  timeout_tcp:
    description: TCP established-connection timeout in seconds. Omit to leave as is.
    type: int
  timeout_tcp_fin:
    description: TCP timeout after a FIN, in seconds. Omit to leave as is.
    type: int
  timeout_udp:
    description: UDP timeout in seconds. Omit to leave as is.
    type: int
  persist:
    description:
      - Also set the timeouts this task states at every boot (see the description); timeouts not stated
        here are left as the kernel has them at boot.
      - When no timeout is stated, the boot file is removed (and the boot hook with the last of its files).
      - V(false) leaves the boot file as it is.
    type: bool
    default: false
  sync_daemons:
    description:
      - The sync daemons that should run. Each has C(state) (C(master) or C(backup)),
        C(interface) (the multicast interface) and C(syncid) (0..255, default 0).
      - A running daemon with other settings is restarted with these.
      - Omit to leave the daemons as they are; an empty list stops them all.
    type: list
    elements: dict
    suboptions:
      state:
        description: Daemon role.
        type: str
        choices: [master, backup]
        required: true
      interface:
        description: Interface the sync messages go out of / come in on.
        type: str
        required: true
      syncid:
        description: Sync ID (0..255) that tells clusters on one network apart.
        type: int
        default: 0
extends_documentation_fragment:
  - lvs.cluster.ipvs
author:
  - lvs.cluster contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Timeouts of 900 s for TCP, 120 s after FIN, 300 s for UDP (ipvsadm --set 900 120 300)
  lvs.cluster.ipvs_global:
    timeout_tcp: 900
    timeout_tcp_fin: 120
    timeout_udp: 300

- name: The same, also at every boot (before keepalived starts)
  lvs.cluster.ipvs_global:
    timeout_tcp: 900
    timeout_tcp_fin: 120
    timeout_udp: 300
    persist: true

- name: Both sync daemons on the LAN interface
  lvs.cluster.ipvs_global:
    sync_daemons:
      - {state: master, interface: eth0, syncid: 10}
      - {state: backup, interface: eth0, syncid: 10}
"""

RETURN = r"""
timeouts:
  description: Timeouts after the task.
  returned: always
  type: dict
  sample: {"tcp": 900, "tcp_fin": 120, "udp": 300}
sync_daemons:
  description: Sync daemons after the task.
  returned: always
  type: list
  elements: dict
  sample: [{"state": "master", "interface": "eth0", "syncid": 10}]
state_file:
  description: The boot file of the timeouts (present or not after the task).
  returned: when O(persist) is true
  type: str
  sample: /etc/lvs-cluster/ipvs-timeouts.json
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_common as common
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_netlink
from ansible_collections.lvs.cluster.plugins.module_utils import locking
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import steps as stepslib


def main():
    module = AnsibleModule(argument_spec=dict(
        timeout_tcp=dict(type="int"),
        timeout_tcp_fin=dict(type="int"),
        timeout_udp=dict(type="int"),
        persist=dict(type="bool", default=False),
        sync_daemons=dict(type="list", elements="dict", options=dict(
            state=dict(type="str", required=True, choices=["master", "backup"]),
            interface=dict(type="str", required=True),
            syncid=dict(type="int", default=0),
        )),
    ), supports_check_mode=True)
    p = module.params
    try:
        for name in ("timeout_tcp", "timeout_tcp_fin", "timeout_udp"):
            if p[name] is not None:
                model.check_range(name, p[name], 1, 2 ** 31 - 1)
        wanted = None
        if p["sync_daemons"] is not None:
            wanted = []
            for i, d in enumerate(p["sync_daemons"]):
                field = "sync_daemons[%d]" % i
                model.check_range(field + ".syncid", d["syncid"], 0, 255)
                model.check_ifname(field + ".interface", d["interface"])
                if not os.path.isdir("/sys/class/net/%s" % d["interface"]):
                    raise model.IPVSValidationError("%s.interface: no interface named %s"
                                                    % (field, d["interface"]))
                wanted.append({"state": d["state"], "interface": d["interface"], "syncid": d["syncid"]})
            model.check_unique(wanted, lambda d: d["state"], "sync_daemons")
    except model.IPVSValidationError as exc:
        module.fail_json(msg=str(exc))

    stated = dict((key, p["timeout_" + key]) for key in ("tcp", "tcp_fin", "udp")
                  if p["timeout_" + key] is not None)
    spath = persist.state_path("ipvs", "timeouts")
    with locking.host_lock(module, "ipvs"), common.connect(module) as ipvs:
        old_text = persist.read_text(spath)
        # The boot file holds what this task states (ipvsadm --set 0 leaves the others as they are).
        boot_data = {"timeouts": stated} if stated else None
        boot_text = persist.render_state("ipvs", "timeouts", boot_data) if boot_data else None
        boot_change = p["persist"] and (boot_text != old_text
                                        or (boot_data is not None and persist.hook_needs_install()))
        try:
            before_t = ipvs.timeouts()
            before_d = sorted(ipvs.daemons(), key=lambda d: d["state"])
        except ipvs_netlink.IPVSError as exc:
            module.fail_json(msg="reading the IPVS settings failed: %s" % exc)
        after_t = dict(before_t)
        for key in ("tcp", "tcp_fin", "udp"):
            if p["timeout_" + key] is not None:
                after_t[key] = p["timeout_" + key]
        after_d = before_d if wanted is None else sorted(wanted, key=lambda d: d["state"])
        changed = after_t != before_t or after_d != before_d or bool(boot_change)
        todo = []
        if after_t != before_t:
            todo.append(stepslib.Step(
                "set timeouts %(tcp)d %(tcp_fin)d %(udp)d" % after_t,
                lambda: ipvs.set_timeouts(after_t["tcp"], after_t["tcp_fin"], after_t["udp"]),
                lambda: ipvs.set_timeouts(before_t["tcp"], before_t["tcp_fin"], before_t["udp"])))
        for d in before_d:
            if d not in after_d:
                todo.append(stepslib.Step("stop %(state)s daemon (%(interface)s, syncid %(syncid)d)" % d,
                                          lambda d=d: ipvs.stop_daemon(d["state"]),
                                          lambda d=d: ipvs.start_daemon(d["state"], d["interface"], d["syncid"])))
        for d in after_d:
            if d not in before_d:
                todo.append(stepslib.Step("start %(state)s daemon (%(interface)s, syncid %(syncid)d)" % d,
                                          lambda d=d: ipvs.start_daemon(d["state"], d["interface"], d["syncid"]),
                                          lambda d=d: ipvs.stop_daemon(d["state"])))
        if boot_change:
            todo.append(stepslib.Step("write %s" % spath,
                                      lambda: persist.sync_state(module, "ipvs", "timeouts", boot_data),
                                      lambda: persist.restore_file(spath, old_text)))
        if todo and not module.check_mode:
            # On a refused step the steps done are undone: a stopped daemon runs again as before.
            failure = stepslib.run(todo, errors=(ipvs_netlink.IPVSError, OSError, IOError))
            if failure:
                module.fail_json(**failure)
            after_t, after_d = ipvs.timeouts(), sorted(ipvs.daemons(), key=lambda d: d["state"])

    result = dict(changed=changed, timeouts=after_t, sync_daemons=after_d)
    if p["persist"]:
        result["state_file"] = spath
    if module._diff:
        result["diff"] = {"before": json.dumps({"timeouts": before_t, "sync_daemons": before_d}, indent=1) + "\n",
                          "after": json.dumps({"timeouts": after_t, "sync_daemons": after_d}, indent=1) + "\n"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
