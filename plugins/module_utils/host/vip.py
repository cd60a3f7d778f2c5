# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vip_address as plain data: validation and the plan (pure, unit-tested).

A request: {interface, type, state, exclusive, vips: [{address, family, host_route}]}.
The plan compares it with the device's kernel addresses and the module's state
file (the VIPs this module manages on the device)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.lvs.cluster.plugins.module_utils import fields

TYPES = ("auto", "loopback", "dummy", "ipip", "gre", "existing")
# The tunnel fallback devices a kernel module creates (in every network namespace):
# key-less IPIP arrives on tunl0, key-less GRE on gre0.
FALLBACK_DEVICE = {"ipip": "tunl0", "gre": "gre0"}
TUNNEL_MODULE = {"ipip": "ipip", "gre": "ip_gre"}
ARGUMENT_SPEC = dict(
    address=dict(type="list", elements="str", required=True, aliases=["addresses", "vip"]),
    interface=dict(type="str", default="lo"),
    interface_type=dict(type="str", default="auto", choices=list(TYPES)),
    host_route=dict(type="bool", default=False),
    exclusive=dict(type="bool", default=False),
    state=dict(type="str", default="present", choices=["present", "absent"]),
)


# A bad input; the message names the field (the vocabulary's error).
ValidationError = fields.FieldError


def parse_vip(value, field, on_lo):
    """'192.0.2.100' or '192.0.2.100/32' -> '192.0.2.100/32' (host prefix when none is given)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("%s: %r is not an IP address[/prefix]" % (field, value))
    iface = fields.interface_address(field, value)
    ip = iface.ip
    if ip.is_loopback:
        raise ValidationError("%s: %s is a loopback address, not a VIP" % (field, ip))
    if ip.is_unspecified or ip.is_multicast or (ip.version == 4 and ip == ipaddress.ip_address("255.255.255.255")):
        raise ValidationError("%s: %s cannot be a VIP (unspecified, multicast or broadcast)" % (field, ip))
    full = 32 if ip.version == 4 else 128
    if on_lo and iface.network.prefixlen != full:
        raise ValidationError("%s: %s on lo must be /%d: the host would treat the whole %s as its own"
                              % (field, iface, full, iface.network))
    return "%s/%d" % (ip, iface.network.prefixlen)


def validate(params):
    """The request of a task (module params), or ValidationError naming the field."""
    dev = fields.ifname("interface", params.get("interface"))
    itype = params.get("interface_type") or "auto"
    if itype not in TYPES:
        raise ValidationError("interface_type: must be one of %s, not %r" % (", ".join(TYPES), itype))
    if itype == "loopback" and dev != "lo":
        raise ValidationError("interface_type: loopback means interface lo, not %r" % dev)
    if itype in FALLBACK_DEVICE and dev != FALLBACK_DEVICE[itype]:
        raise ValidationError("interface_type: %s means the fallback device %s, not %r"
                              % (itype, FALLBACK_DEVICE[itype], dev))
    if dev == "lo" and itype not in ("auto", "loopback"):
        raise ValidationError("interface_type: lo is the loopback device, not %s" % itype)
    addresses = params.get("address")
    if not isinstance(addresses, list) or not addresses:
        raise ValidationError("address: give at least one address")
    vips, seen = [], {}
    for i, a in enumerate(addresses):
        field = "address[%d]" % i
        addr = parse_vip(a, field, dev == "lo")
        ip = addr.split("/")[0]
        if ip in seen:
            raise ValidationError("%s: %s is listed twice (also %s)" % (field, ip, seen[ip]))
        seen[ip] = field
        vips.append({"address": addr, "family": 6 if ":" in ip else 4,
                     "host_route": bool(params.get("host_route"))})
    if params.get("exclusive") and params.get("state") == "absent":
        raise ValidationError("exclusive: only with state=present")
    return {"interface": dev, "type": itype, "state": params.get("state") or "present",
            "exclusive": bool(params.get("exclusive")), "vips": vips}


def resolve_type(req, exists, old_state):
    """The device type, or ValidationError: no device is created unless the task asks."""
    dev, itype = req["interface"], req["type"]
    known = (old_state or {}).get("type")
    if itype == "auto":
        if dev == "lo":
            return "loopback"
        for tunnel, fallback in FALLBACK_DEVICE.items():
            if dev == fallback:
                return tunnel
        if known:
            return known
        if exists:
            return "existing"
        if req["state"] == "absent":
            return "existing"
        raise ValidationError("interface: no network interface %r; give interface_type: dummy to create "
                              "a dummy device of that name" % dev)
    if itype == "existing" and not exists and req["state"] == "present":
        raise ValidationError("interface: no such network interface %r" % dev)
    return itype


def same_ip(a, b):
    """Whether two addresses are the same, ignoring any /prefix length."""
    return a.split("/")[0] == b.split("/")[0]


def existing_addresses(want, kernel_addrs, old, other_addrs=()):
    """The VIPs the host already has as an address of its own, which the task leaves as they are:
    on the device with another prefix, or a subnet address of another device (a NAT director whose
    public address is the VIP: rewriting 203.0.113.11/24 to /32 would drop its subnet route).
    An address the task manages (its state file) is not one of them."""
    managed_ips = set(a["address"].split("/")[0] for a in old)
    kept = []
    for v in want:
        ip = v["address"].split("/")[0]
        if ip in managed_ips:
            continue
        on_dev = [k for k in kernel_addrs if same_ip(k, v["address"]) and k != v["address"]]
        elsewhere = [k for k in other_addrs if same_ip(k, v["address"]) and k.split("/")[1] not in ("32", "128")]
        if on_dev or elsewhere:
            kept.append((on_dev + elsewhere)[0])
    return kept


def plan(req, dtype, exists, kernel_addrs, old_state, other_addrs=()):
    """What to change: dict(create, add, delete, remove_device, managed, kept).

    kernel_addrs: 'ip/prefix' strings on the device now; other_addrs: those on the host's other
    devices. managed: the VIP entries the state file holds after the task. kept: addresses the
    host had that are VIPs too, left as they are (existing_addresses)."""
    old = list((old_state or {}).get("addresses", []))
    want = req["vips"]
    kept = []
    if req["state"] == "present":
        kept = existing_addresses(want, kernel_addrs, old, other_addrs)
        want = [v for v in want if not any(same_ip(k, v["address"]) for k in kept)]
        by_ip = dict((v["address"].split("/")[0], v) for v in want)
        managed = []
        for a in old:
            ip = a["address"].split("/")[0]
            if ip in by_ip:
                managed.append(by_ip.pop(ip))
            elif not req["exclusive"]:
                managed.append(a)
        managed += [v for v in want if v["address"].split("/")[0] in by_ip]
        add = [v["address"] for v in want if v["address"] not in kernel_addrs]
        # the same IP with another prefix is replaced
        delete = [k for k in kernel_addrs if any(same_ip(k, v["address"]) and k != v["address"] for v in want)]
        if req["exclusive"]:
            gone = [a["address"] for a in old if not any(same_ip(a["address"], v["address"]) for v in want)]
            delete += [k for k in kernel_addrs if any(same_ip(k, g) for g in gone) and k not in delete]
    else:
        add = []
        delete = [k for k in kernel_addrs if any(same_ip(k, v["address"]) for v in want)]
        managed = [a for a in old if not any(same_ip(a["address"], v["address"]) for v in want)]
    create = req["state"] == "present" and not exists
    created = bool((old_state or {}).get("created")) or (create and dtype == "dummy")
    remove_device = (req["state"] == "absent" and dtype == "dummy" and created and not managed and exists
                     and not [k for k in kernel_addrs if k not in delete and not k.startswith("fe80:")])
    data = None
    if managed:
        data = {"interface": req["interface"], "type": dtype, "created": created, "addresses": managed}
    after = [] if remove_device else [a for a in kernel_addrs if a not in delete] + add
    return {"create": create, "add": add, "delete": delete, "remove_device": remove_device,
            "managed": managed, "created": created, "data": data, "after": after, "kept": kept,
            "kernel_change": bool(create or add or delete or remove_device)}
