# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every ipvs_* module does the same way: options, connecting, applying, diff."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_netlink
from ansible_collections.lvs.cluster.plugins.module_utils import locking

# Options naming a virtual service, shared by ipvs_service, ipvs_dest and ipvs_table.
SERVICE_KEY_OPTIONS = dict(
    protocol=dict(type="str", choices=list(model.PROTOCOLS), default="tcp"),
    address=dict(type="str"),
    port=dict(type="int"),
    fwmark=dict(type="int"),
    family=dict(type="str", choices=["ipv4", "ipv6"]),
)
SERVICE_OPTIONS = dict(
    scheduler=dict(type="str", default="wlc", choices=list(model.SCHEDULERS)),
    sched_flags=dict(type="list", elements="str", default=[],
                     choices=sorted(model.SCHED_FLAGS)),
    persistence=dict(type="int", default=0),
    netmask=dict(type="str"),
    one_packet=dict(type="bool", default=False),
)
DEST_OPTIONS = dict(
    address=dict(type="str", required=True),
    port=dict(type="int"),
    forward=dict(type="str", default="route",
                 choices=["masq", "route", "tunnel", "nat", "dr", "tun"]),
    weight=dict(type="int", default=1),
    upper_threshold=dict(type="int", default=0),
    lower_threshold=dict(type="int", default=0),
    tun_type=dict(type="str", choices=list(model.TUN_TYPES)),
    tun_port=dict(type="int"),
    tun_flags=dict(type="str", choices=list(model.TUN_FLAGS)),
)


def service_spec(params):
    """The service key and option parameters of a task as a dict; protocol is None for a fwmark service."""
    keys = list(SERVICE_KEY_OPTIONS) + list(SERVICE_OPTIONS)
    spec = dict((k, params.get(k)) for k in keys)
    if spec.get("fwmark") is not None:
        spec["protocol"] = None
    return spec


def connect(module):
    """An IPVS netlink session, loading ip_vs when the kernel lacks it."""
    if not locking.is_privileged():
        # the kernel answers EPERM to every IPVS request of an unprivileged user
        locking.fail_needs_root(module, "IPVS netlink requests need CAP_NET_ADMIN")
    try:
        return ipvs_netlink.IPVS()
    except ipvs_netlink.IPVSError:
        pass
    modprobe = module.get_bin_path("modprobe")
    if modprobe:
        rc, _out, err = module.run_command([modprobe, "ip_vs"])
        if rc != 0:
            module.fail_json(msg="the ip_vs kernel module cannot be loaded: %s" % err.strip())
    try:
        return ipvs_netlink.IPVS()
    except ipvs_netlink.IPVSError as exc:
        module.fail_json(msg="IPVS is not available in this kernel: %s" % exc)


def apply_actions(module, ipvs, actions):
    """Carry the plan out unless in check mode; fail naming the action that broke."""
    if module.check_mode:
        return
    for action in actions:
        try:
            ipvs.apply(action)
        except ipvs_netlink.IPVSError as exc:
            module.fail_json(msg="%s: %s" % (model.describe(action), exc),
                             changed=actions.index(action) > 0)


def table_diff(before_table, actions, keys=None):
    """The module diff {before, after} (ipvsadm -S text) of applying actions to before_table,
    limited to the services whose key is in keys when keys is given."""
    after_table = model.simulate(before_table, actions)
    if keys is not None:
        before_table = model.select(before_table, keys)
        after_table = model.select(after_table, keys)
    return {"before": model.format_rules(before_table), "after": model.format_rules(after_table)}


def validation_error(module, exc):
    """Fail the module with the validation error's text (module.fail_json: does not return)."""
    module.fail_json(msg=str(exc))


def public(svc):
    """A service or destination as modules return it."""
    return dict((k, v) for k, v in svc.items() if v is not None)
