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
  - Supports check mode. Runs where it is delegated; it reads nothing on that host.
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
services:
  description: Number of services in the description.
  returned: success
  type: int
  sample: 2
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import ClusterModelError, cluster_model


def inventory_errors(model, directors, realserver_hosts, path="lvs_cluster"):
    """The first rule of the inventory a canonical model breaks, as ClusterModelError (else None)."""
    known = set(directors) | set(realserver_hosts)
    for i, svc in enumerate(model.get("services") or []):
        for j, rs in enumerate(svc.get("realservers") or []):
            host = rs.get("host")
            if host and host not in known:
                return ClusterModelError("%s.services[%d].realservers[%d].host" % (path, i, j),
                                         "%s is no host of the groups lvs_realservers_linux, lvs_realservers_windows "
                                         "or lvs_directors: no role would configure it" % host)
    return None


def main():
    module = AnsibleModule(argument_spec=dict(cluster=dict(type="raw", no_log=True),
                                              directors=dict(type="list", elements="str", default=[]),
                                              realserver_hosts=dict(type="list", elements="str", default=[])),
                           supports_check_mode=True)
    p = module.params
    try:
        model = cluster_model(p["cluster"] or {}, directors=p["directors"])
        error = inventory_errors(model, p["directors"], p["realserver_hosts"])
        if error:
            raise error
    except ClusterModelError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, services=len(model.get("services") or []))


if __name__ == "__main__":
    main()
