#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: gue_port
short_description: Open GUE ports (foo-over-UDP) on an LVS-TUN real server, persistently
version_added: "0.1.0"
description:
  - "Opens (or closes) UDP ports on which the kernel takes GUE-encapsulated packets off the tunnel,
    as C(ip fou add port PORT gue) does: the ports a director sends to with C(tun_type: gue)
    (C(ipvsadm --tun-type gue --tun-port PORT)). The inner IPIP packet then arrives on C(tunl0),
    so the VIP goes on C(tunl0) (M(lvs.cluster.vip_address) with O(lvs.cluster.vip_address#module:interface_type=ipip))
    with O(lvs.cluster.arp_sysctl#module:rp_filter=0) on C(tunl0) and C(all)."
  - Loads the C(fou) kernel module first when its generic netlink family is missing.
  - IPv4 ports on every local address only (LVS-TUN real servers are IPv4 in this collection).
  - The kernel is changed through generic netlink (family C(fou)), in the network namespace the module runs in.
  - "Persistence: the module writes the state file C(/etc/lvs-cluster/gue_port-ipv4.json) (the ports it
    manages), replayed at boot by the collection's hook C(/usr/local/sbin/lvs-cluster-net) (C(modprobe fou),
    then C(ip fou add port PORT gue) per port), the hook M(lvs.cluster.vip_address) describes."
  - Inputs are validated before anything changes; a bad port fails naming it.
author: lvs.cluster developers (!UNKNOWN)
options:
  port:
    description: UDP ports (1 to 65535).
    type: list
    elements: raw
    required: true
    aliases: [ports]
  state:
    description: C(present) opens the ports, C(absent) closes them.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), also close the ports this module opened before (they are tracked in its
        state file) that the task no longer lists. FOU ports the module does not manage are never touched.
    type: bool
    default: false
notes:
  - Supports check mode and diff mode.
  - "Refused: a port twice, a port outside 1 to 65535, a port the kernel already has as a FOU port of
    another kind (FOU direct, IPv6, bound to an address, a peer or a device)."
  - "All or nothing: when the kernel refuses a step, the steps done are undone and the task fails
    listing them. Holds the host lock C(/run/lvs-cluster/host.lock)."
seealso:
  - module: lvs.cluster.vip_address
  - module: lvs.cluster.arp_sysctl
'''

EXAMPLES = r'''
- name: TUN real server of a GUE service (tun_type gue, tun_port 6080)
  lvs.cluster.gue_port:
    port: [6080]

- name: Its VIP on tunl0, where the decapsulated packets arrive
  lvs.cluster.vip_address:
    address: [192.0.2.100]
    interface: tunl0

- name: Close it
  lvs.cluster.gue_port:
    port: [6080]
    state: absent
'''

RETURN = r'''
ports:
  description: The kernel's IPv4 GUE ports after the task (or as they would be in check mode).
  returned: always
  type: list
  elements: int
  sample: [6080]
added:
  description: Ports opened.
  returned: always
  type: list
  elements: int
  sample: [6080]
removed:
  description: Ports closed.
  returned: always
  type: list
  elements: int
  sample: []
state_file:
  description: The boot state file.
  returned: always
  type: str
  sample: /etc/lvs-cluster/gue_port-ipv4.json
'''

import errno

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.cluster.plugins.module_utils import fou_netlink
from ansible_collections.lvs.cluster.plugins.module_utils import locking
from ansible_collections.lvs.cluster.plugins.module_utils import persist
from ansible_collections.lvs.cluster.plugins.module_utils import steps as stepslib
from ansible_collections.lvs.cluster.plugins.module_utils.host import gue as model


def open_fou(module, load):
    """The FOU session, loading the fou module when its family is missing (load=True); None when it
    is missing and load=False (check mode: no ports yet)."""
    try:
        return fou_netlink.Fou()
    except fou_netlink.FouError as exc:
        if exc.code != errno.ENOENT:
            module.fail_json(msg=str(exc))
        if not load:
            return None
    rc, _out, err = module.run_command(["modprobe", "fou"])
    try:
        return fou_netlink.Fou()
    except fou_netlink.FouError as exc:
        module.fail_json(msg="modprobe fou (rc %d: %s): %s" % (rc, err.strip(), exc))


def main():
    module = AnsibleModule(argument_spec=model.ARGUMENT_SPEC, supports_check_mode=True)
    result = dict(changed=False, added=[], removed=[], ports=[])
    try:
        req = model.validate(module.params)
    except model.ValidationError as exc:
        module.fail_json(msg=str(exc), **result)
    spath = result["state_file"] = persist.state_path("gue_port", model.STATE_NAME)
    with locking.host_lock(module, "host"):
        old_text, old_state = persist.read_text(spath), persist.read_json(spath) or {}
        # state=absent needs no fou module: without it there is no port to close
        fou = open_fou(module, load=req["state"] == "present" and not module.check_mode)
        try:
            kernel = fou.ports() if fou else []
            model.check_kernel(req, kernel)
            pl = model.plan(req, kernel, old_state)
        except model.ValidationError as exc:
            module.fail_json(msg=str(exc), **result)
        except fou_netlink.FouError as exc:
            module.fail_json(msg=str(exc), **result)
        result.update(added=pl["add"], removed=pl["delete"], ports=pl["after"])
        before = sorted(k["port"] for k in kernel if model.is_plain_gue(k))
        todo = []
        for p in pl["delete"]:
            todo.append(stepslib.Step("ip fou del port %d" % p, lambda p=p: fou.delete(p), lambda p=p: fou.add(p)))
        for p in pl["add"]:
            todo.append(stepslib.Step("ip fou add port %d gue" % p, lambda p=p: fou.add(p), lambda p=p: fou.delete(p)))
        todo.append(stepslib.Step("write %s" % spath,
                                  lambda: persist.sync_state(module, "gue_port", model.STATE_NAME, pl["data"]),
                                  lambda: persist.restore_file(spath, old_text)))
        state_after = persist.render_state("gue_port", model.STATE_NAME, pl["data"]) if pl["data"] else None
        result["changed"] = bool(pl["kernel_change"] or state_after != old_text
                                 or (pl["data"] and persist.hook_needs_install()))
        try:
            if result["changed"]:
                stepslib.apply(module, todo, result, errors=(fou_netlink.FouError, OSError, IOError))
        finally:
            if fou:
                fou.close()
    if module._diff:
        result["diff"] = {"before_header": "GUE ports", "after_header": "GUE ports",
                          "before": "".join("%d\n" % p for p in before),
                          "after": "".join("%d\n" % p for p in pl["after"])}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
