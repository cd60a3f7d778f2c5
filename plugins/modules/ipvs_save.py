#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ipvs_save
short_description: Save the IPVS table for boot, in the distribution's ipvsadm rules format
version_added: "0.1.0"
description:
  - Writes the kernel's current IPVS table to a rules file in C(ipvsadm-save -n)
    format, which the distribution restores at boot with C(ipvsadm -R).
  - Debian and Ubuntu restore C(/etc/ipvsadm.rules) from the C(ipvsadm) init script when
    C(AUTO="true") in C(/etc/default/ipvsadm); RHEL family restores C(/etc/sysconfig/ipvsadm)
    from C(ipvsadm.service). O(path) defaults to the file of the host's family.
  - Changed only when the file's content changes. The table is read through netlink.
options:
  path:
    description: Rules file. Default C(/etc/sysconfig/ipvsadm) on RHEL-family hosts, else C(/etc/ipvsadm.rules).
    type: path
  mode:
    description: File mode.
    type: raw
    default: "0600"
seealso:
  - module: lvs.cluster.ipvs_table
extends_documentation_fragment:
  - lvs.cluster.ipvs
author:
  - lvs.cluster contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Save the table so a rebooted director (without keepalived) gets it back
  lvs.cluster.ipvs_save:
"""

RETURN = r"""
path:
  description: The rules file written.
  returned: always
  type: str
rules:
  description: The saved rules.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_common as common
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model
from ansible_collections.lvs.cluster.plugins.module_utils import persist


def default_path():
    if os.path.exists("/etc/redhat-release") or os.path.isdir("/etc/sysconfig"):
        return "/etc/sysconfig/ipvsadm"
    return "/etc/ipvsadm.rules"


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type="path"),
        mode=dict(type="raw", default="0600"),
    ), supports_check_mode=True)
    path = module.params["path"] or default_path()
    if not os.path.isdir(os.path.dirname(path) or "/"):
        module.fail_json(msg="path: directory %s does not exist" % os.path.dirname(path))
    with common.connect(module) as ipvs:
        rules = model.format_rules(ipvs.table())
    try:
        with open(path) as f:
            before = f.read()
    except IOError:
        before = ""
    changed = before != rules
    if changed and not module.check_mode:
        # Written 0600 first, the requested mode applied below: the rules never sit world-readable.
        persist.write_atomic(path, rules, mode=0o600)
    file_args = module.load_file_common_arguments(dict(path=path, mode=module.params["mode"]))
    if os.path.exists(path):
        changed = module.set_fs_attributes_if_different(file_args, changed)
    result = dict(changed=changed, path=path, rules=rules)
    if module._diff:
        result["diff"] = {"before": before, "after": rules, "before_header": path, "after_header": path}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
