#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ipvs_info
short_description: Read the IPVS table, counters, rates, connections, timeouts and sync daemons
version_added: "0.1.0"
description:
  - Returns what C(ipvsadm -Ln --stats), C(--rate), C(--timeout), C(--daemon) and
    C(-Lnc) show, as data; every service with its real servers, their active and
    inactive connections, traffic counters and rates.
  - Reads through generic netlink; the connection table from C(/proc/net/ip_vs_conn).
  - Changes nothing.
options:
  connections:
    description: Also return the connection table (can be large on a busy director).
    type: bool
    default: false
  table:
    description: Also return the table as C(ipvsadm-save -n) rules text.
    type: bool
    default: true
attributes:
  diff_mode:
    description: Reads only; there is nothing to diff.
    support: none
extends_documentation_fragment:
  - lvs.cluster.ipvs
author:
  - lvs.cluster contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read the table
  lvs.cluster.ipvs_info:
  register: ipvs

- name: Show active connections per real server
  ansible.builtin.debug:
    msg: "{{ ipvs.services | map(attribute='destinations') | flatten | map(attribute='active_connections') }}"
"""

RETURN = r"""
services:
  description: Every virtual service, with C(stats) and C(destinations).
  returned: always
  type: list
  elements: dict
  sample: [{"protocol": "tcp", "address": "192.0.2.100", "port": 80, "scheduler": "wlc",
            "stats": {"conns": 12, "inpkts": 80, "cps": 0},
            "destinations": [{"address": "192.0.2.21", "port": 80, "forward": "route",
                              "weight": 100, "active_connections": 2, "inactive_connections": 5}]}]
timeouts:
  description: TCP, TCP-FIN and UDP timeouts in seconds.
  returned: always
  type: dict
sync_daemons:
  description: Running connection sync daemons.
  returned: always
  type: list
  elements: dict
connections:
  description: The connection table (with O(connections=true)).
  returned: when requested
  type: list
  elements: dict
  sample: [{"protocol": "tcp", "client": "192.0.2.10:40000", "virtual": "192.0.2.100:80",
            "destination": "192.0.2.21:80", "state": "ESTABLISHED", "expires": 899}]
rules:
  description: The table as C(ipvsadm-save -n) rules.
  returned: when O(table=true)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_common as common
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model


def main():
    module = AnsibleModule(argument_spec=dict(
        connections=dict(type="bool", default=False),
        table=dict(type="bool", default=True),
    ), supports_check_mode=True)
    with common.connect(module) as ipvs:
        table = ipvs.table(with_stats=True)
        result = dict(changed=False, timeouts=ipvs.timeouts(), sync_daemons=ipvs.daemons())
    services = []
    for svc, dests in table:
        entry = common.public(svc)
        entry["destinations"] = [common.public(d) for d in dests]
        services.append(entry)
    result["services"] = services
    if module.params["table"]:
        result["rules"] = model.format_rules(table)
    if module.params["connections"]:
        try:
            with open("/proc/net/ip_vs_conn") as f:
                result["connections"] = model.parse_conn_table(f.read())
        except IOError as exc:
            module.fail_json(msg="cannot read the connection table: %s" % exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
