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
  list_actions:
    description:
      - Return every action (RV(actions)), one line each. Without it only RV(summary), the
        number of actions of each kind, is returned (a table of thousands of real servers
        makes a list of thousands of lines for Ansible to carry).
    type: bool
    default: false
notes:
  - The diff is the whole table in C(ipvsadm-save -n) format.
  - Unlike C(ipvsadm-restore), which flushes the table before loading the rules, only what
    differs is changed; services that stay keep their connections and never disappear.
  - The result's C(invocation) gives the number of services and real servers instead of
    repeating the whole table (megabytes of JSON for Ansible to censor and parse at scale).
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
summary:
  description: Number of actions of each kind done (or in check mode to be done).
  returned: always
  type: dict
  sample: {"add-service": 1, "add-dest": 10, "edit-dest": 2, "delete-service": 1}
actions:
  description: What was (or in check mode would be) done, in order.
  returned: when O(list_actions=true)
  type: list
  elements: str
steps_done:
  description:
    - On failure, the steps the kernel carried out before it refused one (all undone since).
  returned: failure after changes
  type: list
  elements: str
steps_undone:
  description: On failure, the steps that restored the table read at the start.
  returned: failure after changes
  type: list
  elements: str
steps_not_done:
  description: On failure, the planned steps that were refused or never sent.
  returned: failure after changes
  type: list
  elements: str
counts:
  description: Number of services and real servers in the table after the task.
  returned: always
  type: dict
  sample: {"services": 2, "destinations": 3}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_checks
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_common as common
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model
from ansible_collections.lvs.cluster.plugins.module_utils import locking

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


def check_kernel_rules(ipvs, desired):
    mixed = any((":" in d["address"]) != (svc["family"] == "ipv6") for svc, dests in desired for d in dests)
    return model.kernel_rules(desired, schedulers=ipvs_checks.available_schedulers(),
                              sync_daemons=mixed and bool(ipvs.daemons()))


def listing(descriptions, limit=5):
    if not descriptions:
        return "none"
    text = "; ".join(descriptions[:limit])
    if len(descriptions) > limit:
        text += "; and %d more" % (len(descriptions) - limit)
    return text


def apply_all_or_nothing(module, ipvs, current, actions):
    """Apply actions; on a refusal restore current and fail listing the steps."""
    try:
        done, errors = ipvs.apply_batch(actions)
    except Exception as exc:  # pylint: disable=broad-except  # whatever fails, the table goes back
        done, errors = [], {0: "%s (%s)" % (exc, type(exc).__name__)}
    if not errors:
        return
    first = min(errors)
    failed = "%s: %s" % (model.describe(actions[first]), errors[first])
    done_text = [model.describe(actions[i]) for i in done]
    done_set = set(done)
    not_done = [model.describe(a) for i, a in enumerate(actions) if i not in done_set]
    undo, restored, rollback_error = [], False, None
    if current is None:  # a flush without the table read first (no diff asked): nothing to restore
        module.fail_json(msg="%s (nothing was changed)" % failed, invocation=invocation(module))
    try:
        undo = model.plan_table(ipvs.table(), current, purge=True)
        _done, undo_errors = ipvs.apply_batch(undo)
        if undo_errors:
            i = min(undo_errors)
            rollback_error = "%s: %s" % (model.describe(undo[i]), undo_errors[i])
        restored = not model.plan_table(ipvs.table(), current, purge=True)
    except Exception as exc:  # pylint: disable=broad-except  # reported: the rollback is incomplete
        rollback_error = "%s (%s)" % (exc, type(exc).__name__)
    if restored:
        outcome = "the table is back as it was before the task"
    else:
        outcome = "ROLLBACK INCOMPLETE (%s): the table is neither the old nor the new one" % rollback_error
    msg = ("%s. %d of %d steps were done, then undone by %d steps; %s. Done: %s. Undone: %s. Not done: %s."
           % (failed, len(done), len(actions), len(undo), outcome, listing(done_text),
              listing([model.describe(a) for a in undo]), listing(not_done)))
    module.fail_json(msg=msg, changed=not restored, rolled_back=restored, invocation=invocation(module),
                     steps_done=done_text, steps_undone=[model.describe(a) for a in undo],
                     steps_not_done=not_done,
                     errors=[model.describe(actions[i]) + ": " + str(e) for i, e in sorted(errors.items())])


def invocation(module):
    """The task's arguments as returned, without repeating the table.

    Ansible returns a module's arguments with its result; for thousands of real
    servers that is megabytes of JSON to censor, write and parse again.
    """
    services = module.params["services"] or []
    args = dict((k, v) for k, v in module.params.items() if k != "services")
    args["services"] = "(%d services, %d real servers)" % (
        len(services), sum(len(s.get("destinations") or []) for s in services if isinstance(s, dict)))
    return {"module_args": args}


def main():
    module = AnsibleModule(argument_spec=dict(
        services=dict(type="list", elements="dict", required=True),
        purge=dict(type="bool", default=False),
        list_actions=dict(type="bool", default=False),
    ), supports_check_mode=True)
    try:
        desired = desired_table(module.params["services"])
    except model.IPVSValidationError as exc:
        module.fail_json(msg=str(exc), invocation=invocation(module))

    with locking.host_lock(module, "ipvs"), common.connect(module) as ipvs:
        errors = check_kernel_rules(ipvs, desired)
        if errors:
            module.fail_json(msg="; ".join(errors), invocation=invocation(module))
        if module.params["purge"] and not desired and not module._diff:
            # Everything goes: whether there is anything is all that needs reading.
            current = None
            actions = [("flush", None, None)] if ipvs.services() else []
        else:
            current = ipvs.table()
            actions = model.plan_table(current, desired, module.params["purge"])
        if actions and not module.check_mode:
            apply_all_or_nothing(module, ipvs, current, actions)

    after = [] if current is None else model.simulate(current, actions)
    result = dict(changed=bool(actions), summary=model.summarize(actions),
                  counts={"services": len(after), "destinations": sum(len(d) for _svc, d in after)},
                  invocation=invocation(module))
    if module.params["list_actions"]:
        result["actions"] = [model.describe(a) for a in actions]
    if module._diff:
        result["diff"] = {"before": model.format_rules(current), "after": model.format_rules(after)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
