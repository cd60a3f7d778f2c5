#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ipvs_table
short_description: State a whole IPVS table in one call (services and their real servers)
version_added: "0.1.0"
description:
  - Makes the kernel's IPVS table hold the listed services, each with exactly its
    listed real servers, in one module call and one netlink session. Meant for
    inventories with hundreds of services and thousands of real servers.
  - With O(purge=true), services and real servers that are not listed are removed.
  - Every entry is validated before the kernel is touched; an error names the entry and field.
options:
  services:
    description:
      - The services. Each takes the options of M(lvs.cluster.ipvs_service)
        (C(protocol), C(address), C(port), C(fwmark), C(family), C(scheduler),
        C(sched_flags), C(persistence), C(netmask), C(one_packet)) and
        C(destinations), a list of real servers with the options of M(lvs.cluster.ipvs_dest)
        (C(address), C(port), C(forward), C(weight), C(upper_threshold), C(lower_threshold),
        C(tun_type), C(tun_port), C(tun_flags)).
    type: list
    elements: dict
    required: true
  purge:
    description:
      - Remove services not listed, and real servers not listed under their service.
      - Without it, services and real servers are only added or updated.
    type: bool
    default: false
notes:
  - The diff is the whole table in C(ipvsadm-save -n) format.
seealso:
  - module: lvs.cluster.ipvs_service
  - module: lvs.cluster.ipvs_save
extends_documentation_fragment:
  - lvs.cluster.ipvs
author:
  - lvs.cluster contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: The director's whole table, nothing else
  lvs.cluster.ipvs_table:
    purge: true
    services:
      - address: 192.0.2.100
        port: 80
        scheduler: wlc
        destinations:
          - {address: 192.0.2.21, weight: 100}
          - {address: 192.0.2.22, weight: 100}
      - address: 192.0.2.100
        port: 443
        persistence: 300
        destinations:
          - {address: 192.0.2.21}
"""

RETURN = r"""
actions:
  description: What was (or in check mode would be) done, in order.
  returned: always
  type: list
  elements: str
counts:
  description: Number of services and real servers in the table after the task.
  returned: always
  type: dict
  sample: {"services": 2, "destinations": 3}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_common as common
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model

SERVICE_KEYS = set(common.SERVICE_KEY_OPTIONS) | set(common.SERVICE_OPTIONS) | set(["destinations", "name"])
DEST_KEYS = set(common.DEST_OPTIONS)


def desired_table(services):
    table = []
    for i, entry in enumerate(services):
        field = "services[%d]" % i
        unknown = set(entry) - SERVICE_KEYS
        if unknown:
            raise model.IPVSValidationError("%s: unknown option(s) %s" % (field, ", ".join(sorted(unknown))))
        spec = dict(entry)
        if spec.get("fwmark") is None:
            spec.setdefault("protocol", "tcp")
        svc = model.normalize_service(spec, field=field)
        dests = []
        for j, d in enumerate(entry.get("destinations") or []):
            unknown = set(d) - DEST_KEYS
            if unknown:
                raise model.IPVSValidationError("%s.destinations[%d]: unknown option(s) %s"
                                                % (field, j, ", ".join(sorted(unknown))))
            dests.append(model.normalize_dest(d, svc, field="%s.destinations[%d]" % (field, j)))
        model.check_unique(dests, model.dest_key, field + ".destinations")
        table.append((svc, dests))
    model.check_unique([s for s, _dests in table], model.service_key, "services")
    return table


def main():
    module = AnsibleModule(argument_spec=dict(
        services=dict(type="list", elements="dict", required=True),
        purge=dict(type="bool", default=False),
    ), supports_check_mode=True)
    try:
        desired = desired_table(module.params["services"])
    except model.IPVSValidationError as exc:
        module.fail_json(msg=str(exc))

    with common.connect(module) as ipvs:
        current = ipvs.table()
        actions = model.plan_table(current, desired, module.params["purge"])
        common.apply_actions(module, ipvs, actions)
        after = model.simulate(current, actions)

    result = dict(changed=bool(actions), actions=[model.describe(a) for a in actions],
                  counts={"services": len(after), "destinations": sum(len(d) for _svc, d in after)})
    if module._diff:
        result["diff"] = common.table_diff(current, actions)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
