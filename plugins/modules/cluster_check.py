#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cluster_check
short_description: The whole lvs_cluster description checked with the inventory, before any host changes
version_added: "0.1.0"
description:
  - Validates a cluster description (the variable C(lvs_cluster), docs/cluster-model.md) with the collection's
    schema and rules, including the rules that need the inventory - several directors need VRRP, each real
    server's C(host) is a host of the inventory's director or real-server groups.
  - "Meant for the controller (C(delegate_to) or a play on C(localhost), C(become=false)), once, at the start
    of a playbook (lvs.cluster.site does so), so that a description error is the first and only error, and
    no host has been changed. The error message starts with the field path (C(lvs_cluster.vrrp: ...))."
  - Changes nothing.
author: lvs.cluster contributors (@lvs-cluster)
options:
  cluster:
    description: The description (C(lvs_cluster)); not given - an empty cluster.
    type: raw
  directors:
    description: Inventory names of the directors (group C(lvs_directors)).
    type: list
    elements: str
    default: []
  realserver_hosts:
    description: Inventory names of the real servers (groups C(lvs_realservers_linux), C(lvs_realservers_windows)).
    type: list
    elements: str
    default: []
notes:
  - Supports check mode.
  - An action plugin, run on the controller; it contacts no host (the description, which holds the VRRP
    password, is never sent to a host nor logged as module arguments).
'''

EXAMPLES = r'''
- name: Check the description before any host changes
  lvs.cluster.cluster_check:
    cluster: "{{ lvs_cluster }}"
    directors: "{{ groups['lvs_directors'] | default([]) }}"
    realserver_hosts: "{{ groups['lvs_realservers_linux'] | default([]) }}"
  delegate_to: localhost
  run_once: true
  become: false
'''

RETURN = r'''
msg:
  description: Why the description was refused, starting with the field path.
  returned: failure
  type: str
  sample: "lvs_cluster.vrrp: is required with 2 directors (dir1, dir2): without VRRP each of them would carry 192.0.2.100"
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.cluster.plugins.module_utils.cluster_check import check


def main():
    """Only without the action plugin (which runs on the controller and never calls the module)."""
    module = AnsibleModule(argument_spec=dict(cluster=dict(type="raw", no_log=True),
                                              directors=dict(type="list", elements="str", default=[]),
                                              realserver_hosts=dict(type="list", elements="str", default=[])),
                           supports_check_mode=True)
    error = check(module.params["cluster"], module.params["directors"], module.params["realserver_hosts"])
    if error:
        module.fail_json(msg=error)
    module.exit_json(changed=False)


if __name__ == "__main__":
    main()
