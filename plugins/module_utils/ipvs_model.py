# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPVS table as plain data: validation, comparison, planning, ipvsadm-save format.

Pure logic, no kernel access: shared by the ipvs_* modules and unit-tested on
its own. A service and a destination are dicts in a canonical form:

service: {family, protocol, address, port, fwmark, scheduler, sched_flags (sorted
          list), persistence (seconds, 0 = none), netmask, one_packet}
dest:    {address, port, forward (masq|route|tunnel), weight, u_threshold,
          l_threshold, tun_type, tun_port, tun_nocsum...}
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import ipaddress

from ansible_collections.lvs.cluster.plugins.module_utils import fields
# the constant lists are the vocabulary's (one definition); re-exported for the modules
from ansible_collections.lvs.cluster.plugins.module_utils.fields import (  # noqa: F401
    PROTOCOLS, SCHED_FLAGS, SCHEDULERS, TUN_FLAGS, TUN_TYPES, FieldError as IPVSValidationError,
)

SVC_F_PERSISTENT = 0x1
SVC_F_ONEPACKET = 0x4
SVC_F_SCHED_MASK = 0x08 | 0x10 | 0x20
PROTOCOL_NAMES = dict((v, k) for k, v in PROTOCOLS.items())
# IP_VS_CONN_F_* forwarding methods. Users may say nat/dr/tun.
FORWARD = {"masq": 0, "tunnel": 2, "route": 3}
FORWARD_NAMES = dict((v, k) for k, v in FORWARD.items())
FORWARD_ALIASES = {"nat": "masq", "dr": "route", "tun": "tunnel", "gatewaying": "route", "ipip": "tunnel"}
TUN_TYPE_NAMES = dict((v, k) for k, v in TUN_TYPES.items())
TUN_FLAG_NAMES = dict((v, k) for k, v in TUN_FLAGS.items())
DEFAULT_PERSISTENCE = 300  # ipvsadm -p without a value
MAX_WEIGHT = 65535
MAX_U32 = 2 ** 32 - 1


def _fail(field, msg):
    raise IPVSValidationError("%s: %s" % (field, msg))


def check_int(field, value):
    """value as an int. Booleans, fractions and other strings are refused (a
    templated "80" is accepted: Ansible templating may hand strings over)."""
    if isinstance(value, bool):
        _fail(field, "%r is a boolean, not an integer" % (value,))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        _fail(field, "%r is not an integer" % (value,))
    if isinstance(value, str):
        text = value.strip()
        if text and (text.isdigit() or (text[0] in "+-" and text[1:].isdigit())):
            return int(text)
    _fail(field, "%r is not an integer" % (value,))


def check_bool(field, value, default=False):
    """value as a bool. Only true/false: the string "no" is not silently true."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    _fail(field, "%r is not a boolean (give true or false)" % (value,))


def check_dict(field, value):
    """value if it is a dict; IPVSValidationError naming field otherwise."""
    if not isinstance(value, dict):
        _fail(field, "must be a dictionary of options, not %s %r" % (type(value).__name__, value))
    return value


def check_ifname(field, value):
    """A Linux interface name (fields.ifname)."""
    return fields.ifname(field, value)


def parse_address(field, value):
    """An IPv4 or IPv6 address ('[v6]' and blanks around allowed) as ipaddress object. No zone
    id: its text is what netlink converts (inet_pton) while applying, so it must convert here."""
    if not isinstance(value, str) or not value.strip():
        _fail(field, "%r is not an IPv4 or IPv6 address" % (value,))
    return fields.ip(field, value.strip().strip("[]"))


def check_port(field, value, allow_zero=False):
    """value as a port number in 1..65535 (0 allowed with allow_zero); IPVSValidationError naming field if None,
    not an integer or out of range."""
    if value is None:
        _fail(field, "a port number is required")
    port = check_int(field, value)
    if port < (0 if allow_zero else 1) or port > 65535:
        _fail(field, "%s is out of range (%d..65535)" % (port, 0 if allow_zero else 1))
    return port


def check_range(field, value, low, high):
    """value as an int within low..high; IPVSValidationError naming field otherwise."""
    v = check_int(field, value)
    if v < low or v > high:
        _fail(field, "%d is out of range (%d..%d)" % (v, low, high))
    return v


def _mask_prefix(field, packed_mask, bits, value):
    """Prefix length of a netmask given as an address; non-contiguous masks are refused."""
    n = int.from_bytes(packed_mask, "big")
    inv = (~n) & ((1 << bits) - 1)
    if inv & (inv + 1):
        example = "255.255.255.0" if bits == 32 else "ffff:ffff::"
        _fail(field, "%r is not an IPv%d netmask: a netmask is ones then zeros (e.g. %s); "
              "a host mask like 0.0.0.255 is not accepted" % (value, 4 if bits == 32 else 6, example))
    return bits - inv.bit_length()


def normalize_netmask(field, value, family):
    """Persistence granularity: IPv4 -> dotted netmask string, IPv6 -> prefix length."""
    if family == "ipv4":
        if value is None:
            return "255.255.255.255"
        if isinstance(value, str) and "." in value:
            try:
                mask = ipaddress.IPv4Address(value.strip())
            except ValueError:
                _fail(field, "%r is not an IPv4 netmask" % (value,))
            plen = _mask_prefix(field, mask.packed, 32, value)
        else:
            if isinstance(value, str) and not value.strip().isdigit():
                _fail(field, "%r is not an IPv4 netmask or prefix length (0..32)" % (value,))
            plen = check_range(field, value, 0, 32)
        return str(ipaddress.IPv4Network("0.0.0.0/%d" % plen).netmask)
    if value is None:
        return 128
    if isinstance(value, str) and ":" in value:
        try:
            mask = ipaddress.IPv6Address(value.strip())
        except ValueError:
            _fail(field, "%r is not an IPv6 prefix length (1..128) or netmask" % (value,))
        plen = _mask_prefix(field, mask.packed, 128, value)
        if plen < 1:
            _fail(field, "%r is out of range (prefix length 1..128)" % (value,))
        return plen
    if isinstance(value, str) and "." in value:
        _fail(field, "%r is an IPv4 netmask; an IPv6 service takes a prefix length 1..128" % (value,))
    if isinstance(value, str) and not value.strip().isdigit():
        _fail(field, "%r is not an IPv6 prefix length (1..128)" % (value,))
    return check_range(field, value, 1, 128)


def normalize_sched_flags(field, value):
    """The scheduler flags as a sorted list without duplicates (None -> [], a comma-separated string is split);
    IPVSValidationError naming field for a non-list or an unknown flag."""
    if value is None:
        return []
    if isinstance(value, str):
        # What Ansible's list conversion does with a string: comma-separated.
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)):
        _fail(field, "must be a list of flags, not %r" % (value,))
    for flag in value:
        if not isinstance(flag, str) or flag not in SCHED_FLAGS:
            _fail(field, "unknown flag %r (one of %s)" % (flag, ", ".join(sorted(SCHED_FLAGS))))
    return sorted(set(value))


def normalize_service(spec, field="service"):
    """Validate a service request and return its canonical form."""
    check_dict(field, spec)
    if spec.get("destinations") is not None:
        dests = spec["destinations"]
        if not isinstance(dests, list):
            _fail(field + ".destinations", "must be a list of real servers, not %s %r"
                  % (type(dests).__name__, dests))
        for i, d in enumerate(dests):
            check_dict("%s.destinations[%d]" % (field, i), d)
    fwmark = spec.get("fwmark")
    address = spec.get("address")
    if fwmark is not None:
        if address is not None or spec.get("port") is not None:
            _fail(field + ".fwmark", "a firewall-mark service takes no address or port")
        fwmark = check_range(field + ".fwmark", fwmark, 1, MAX_U32)
        family = spec.get("family") or "ipv4"
        if family not in ("ipv4", "ipv6"):
            _fail(field + ".family", "must be ipv4 or ipv6, not %r" % (family,))
        svc = {"fwmark": fwmark, "protocol": None, "address": None, "port": None, "family": family}
    else:
        if address is None:
            _fail(field + ".address", "an address (or a fwmark) is required")
        ip = parse_address(field + ".address", address)
        family = "ipv6" if ip.version == 6 else "ipv4"
        if spec.get("family") is not None and spec["family"] != family:
            _fail(field + ".family", "%r does not match the %s address %s" % (spec["family"], family, ip))
        protocol = spec.get("protocol") or "tcp"
        if protocol not in PROTOCOLS:
            _fail(field + ".protocol", "must be one of %s, not %r" % (", ".join(PROTOCOLS), protocol))
        if spec.get("port") is None:
            _fail(field + ".port", "a port is required for an address service")
        port = check_port(field + ".port", spec["port"], allow_zero=True)
        svc = {"fwmark": None, "protocol": protocol, "address": str(ip), "port": port, "family": family}
    scheduler = spec.get("scheduler") or "wlc"
    if scheduler not in SCHEDULERS:
        _fail(field + ".scheduler", "unknown scheduler %r (one of %s)" % (scheduler, ", ".join(SCHEDULERS)))
    flags = normalize_sched_flags(field + ".sched_flags", spec.get("sched_flags"))
    for flag in flags:
        if SCHED_FLAGS[flag][0] != scheduler:
            _fail(field + ".sched_flags", "%s is a flag of the %s scheduler, not of %s"
                  % (flag, SCHED_FLAGS[flag][0], scheduler))
    persistence = spec.get("persistence")
    persistence = 0 if persistence in (None, False) else persistence
    if persistence is True:
        persistence = DEFAULT_PERSISTENCE
    persistence = check_range(field + ".persistence", persistence, 0, MAX_U32)
    netmask = normalize_netmask(field + ".netmask", spec.get("netmask"), svc["family"])
    if spec.get("netmask") is not None and not persistence:
        _fail(field + ".netmask", "a persistence netmask needs persistence")
    if svc["port"] == 0 and not persistence:
        _fail(field + ".port", "port 0 (all ports) needs persistence; the kernel and ipvsadm refuse it "
              "on a non-persistent service")
    svc.update({"scheduler": scheduler, "sched_flags": flags, "persistence": persistence,
                "netmask": netmask, "one_packet": check_bool(field + ".one_packet", spec.get("one_packet"))})
    if svc["one_packet"] and svc["protocol"] not in ("udp", None):
        _fail(field + ".one_packet", "one-packet scheduling is for UDP services")
    return svc


def merge_service(spec, current):
    """Edit semantics: options the task does not give (None) keep current's values.

    current is a canonical service (from the kernel) or None (new service: defaults)."""
    if current is None:
        return dict(spec)
    out = dict(spec)
    for key in ("scheduler", "sched_flags", "one_packet"):
        if out.get(key) is None:
            out[key] = current.get(key)
    if out.get("scheduler") != current.get("scheduler") and spec.get("sched_flags") is None:
        # flags belong to a scheduler: a new scheduler does not inherit them
        out["sched_flags"] = []
    if out.get("persistence") is None:
        out["persistence"] = current.get("persistence")
    if out.get("netmask") is None and out.get("persistence"):
        default = "255.255.255.255" if current.get("family") == "ipv4" else 128
        if current.get("netmask") not in (None, default):
            out["netmask"] = current["netmask"]
    return out


def service_key(svc):
    """What identifies a service: ('fwmark', family, mark) or (protocol, address, port)."""
    if svc.get("fwmark"):
        return ("fwmark", svc["family"], svc["fwmark"])
    return (svc["protocol"], svc["address"], svc["port"])


def service_name(svc):
    """How ipvsadm names a service: -t 192.0.2.1:80, -u [2001:db8::1]:53, -f 1."""
    if svc.get("fwmark"):
        return "-f %d" % svc["fwmark"]
    flag = {"tcp": "-t", "udp": "-u", "sctp": "--sctp-service"}[svc["protocol"]]
    return "%s %s" % (flag, host_port(svc["address"], svc["port"]))


def host_port(address, port):
    """address:port, with an IPv6 address in brackets: [2001:db8::1]:80."""
    if ":" in address:
        return "[%s]:%d" % (address, port)
    return "%s:%d" % (address, port)


@functools.lru_cache(maxsize=4096)
def _dest_address(text):
    """(canonical text, IP version, unicast?) of a real server's address, or None if it is none.

    Cached: a large table names the same real servers in many services, and parsing
    and classifying the address was a third of validating 10,000 of them.
    """
    try:
        ip = fields.ip("", text.strip().strip("[]"))  # the vocabulary's: no zone id
    except fields.FieldError:
        return None
    unicast = not (ip.is_multicast or ip.is_unspecified or str(ip) == "255.255.255.255" or
                   (ip.version == 6 and ip.is_link_local))
    return str(ip), ip.version, unicast


def normalize_dest(spec, svc, field="destination"):
    """Validate a destination of service svc and return its canonical form."""
    check_dict(field, spec)
    value = spec.get("address")
    parsed = _dest_address(value) if isinstance(value, str) and value.strip() else None
    if parsed is None:
        parse_address(field + ".address", value)  # fails naming the field
    address, version, unicast = parsed
    if not unicast:
        # The kernel refuses real servers that are not unicast (EINVAL).
        _fail(field + ".address", "%s is not a unicast address (multicast, unspecified, broadcast or "
              "link-local)" % address)
    forward = spec.get("forward") or "route"
    forward = FORWARD_ALIASES.get(forward, forward) if isinstance(forward, str) else forward
    if forward not in FORWARD:
        _fail(field + ".forward", "must be masq (nat), route (dr) or tunnel (tun), not %r" % (spec.get("forward"),))
    dest_family = "ipv6" if version == 6 else "ipv4"
    if dest_family != svc["family"] and forward != "tunnel":
        # The kernel refuses mixed families (EAFNOSUPPORT) unless the real server is tunnelled.
        names = (dest_family.replace("ipv", "IPv"), svc["family"].replace("ipv", "IPv"), forward)
        _fail(field + ".address", "an %s real server for an %s service needs forward: tunnel (%s forwarding "
              "keeps the packet's family)" % names)
    port = spec.get("port")
    svc_port = svc.get("port") or 0
    if port is None:
        port = svc_port
    port = check_port(field + ".port", port, allow_zero=True)
    if forward != "masq" and svc_port and port != svc_port:
        _fail(field + ".port", "%s forwarding cannot map ports: the real server must listen on the "
              "service's port %d, not %d (only masq/NAT maps ports)" % (forward, svc_port, port))
    weight = check_range(field + ".weight", 1 if spec.get("weight") is None else spec["weight"], 0, MAX_WEIGHT)
    u_thr = check_range(field + ".upper_threshold", 0 if spec.get("upper_threshold") is None
                        else spec["upper_threshold"], 0, MAX_U32)
    l_thr = check_range(field + ".lower_threshold", 0 if spec.get("lower_threshold") is None
                        else spec["lower_threshold"], 0, MAX_U32)
    if u_thr and l_thr > u_thr:
        _fail(field + ".lower_threshold", "%d is above upper_threshold %d" % (l_thr, u_thr))
    dest = {"address": address, "port": port, "forward": forward, "weight": weight,
            "upper_threshold": u_thr, "lower_threshold": l_thr,
            "tun_type": None, "tun_port": None, "tun_flags": None}
    tun_type = spec.get("tun_type")
    if forward == "tunnel":
        tun_type = tun_type or "ipip"
        if tun_type not in TUN_TYPES:
            _fail(field + ".tun_type", "must be ipip, gue or gre, not %r" % (tun_type,))
        dest["tun_type"] = tun_type
        if tun_type == "gue":
            if spec.get("tun_port") is None:
                _fail(field + ".tun_port", "a GUE tunnel needs tun_port")
            dest["tun_port"] = check_port(field + ".tun_port", spec["tun_port"])
        elif spec.get("tun_port") is not None:
            _fail(field + ".tun_port", "only a GUE tunnel takes a port")
        if tun_type in ("gue", "gre"):
            flags = spec.get("tun_flags") or "nocsum"
            if flags not in TUN_FLAGS:
                _fail(field + ".tun_flags", "must be nocsum, csum or remcsum, not %r" % (flags,))
            if flags == "remcsum" and tun_type != "gue":
                _fail(field + ".tun_flags", "remcsum is for GUE tunnels")
            dest["tun_flags"] = flags
        elif spec.get("tun_flags"):
            _fail(field + ".tun_flags", "checksum flags are for GUE and GRE tunnels")
    elif tun_type or spec.get("tun_port") is not None or spec.get("tun_flags"):
        _fail(field + ".tun_type", "tunnel options need forward: tunnel")
    return dest


def dest_spec_key(spec, svc, field="destination"):
    """The key (address, port) a destination request names, before merging it with the kernel's."""
    check_dict(field, spec)
    ip = parse_address(field + ".address", spec.get("address"))
    port = spec.get("port")
    port = (svc.get("port") or 0) if port is None else check_port(field + ".port", port, allow_zero=True)
    return (str(ip), port)


def merge_dest(spec, current):
    """Edit semantics: options the task does not give (None) keep current's values.

    current is the canonical destination the kernel holds, or None (a new real
    server: defaults). A change of forwarding method or tunnel type drops the
    options that belonged to the old one."""
    if current is None:
        return dict(spec)
    out = dict(spec)
    forward = out.get("forward")
    forward = FORWARD_ALIASES.get(forward, forward) if isinstance(forward, str) else forward
    if forward is None:
        out["forward"] = forward = current["forward"]
    for key in ("weight", "upper_threshold", "lower_threshold"):
        if out.get(key) is None:
            out[key] = current.get(key)
    if forward == "tunnel" and current["forward"] == "tunnel":
        if out.get("tun_type") is None:
            out["tun_type"] = current.get("tun_type")
        if out["tun_type"] == current.get("tun_type"):
            for key in ("tun_port", "tun_flags"):
                if out.get(key) is None:
                    out[key] = current.get(key)
    return out


def dest_key(dest):
    """What identifies a real server within its service: (address, port)."""
    return (dest["address"], dest["port"])


SERVICE_FIELDS = ("scheduler", "sched_flags", "persistence", "netmask", "one_packet")
DEST_FIELDS = ("forward", "weight", "upper_threshold", "lower_threshold", "tun_type", "tun_port", "tun_flags")


def differs(current, desired, fields):
    """The names among fields whose values differ between current and desired."""
    return [f for f in fields if current.get(f) != desired.get(f)]


def plan_service(current_svc, current_dests, desired_svc, desired_dests, purge):
    """Actions that make the kernel hold desired_svc with desired_dests.

    current_svc is None when the service does not exist. desired_dests None
    means "do not manage destinations". Returns a list of (verb, svc, dest).
    """
    actions = []
    if current_svc is None:
        actions.append(("add-service", desired_svc, None))
        current_dests = []
    elif differs(current_svc, desired_svc, SERVICE_FIELDS):
        actions.append(("edit-service", desired_svc, None))
    if desired_dests is None:
        return actions
    have = dict((dest_key(d), d) for d in current_dests)
    want = dict((dest_key(d), d) for d in desired_dests)
    if purge:
        for key, dest in have.items():
            if key not in want:
                actions.append(("delete-dest", desired_svc, dest))
    for key, dest in want.items():
        if key not in have:
            actions.append(("add-dest", desired_svc, dest))
        elif differs(have[key], dest, DEST_FIELDS):
            actions.append(("edit-dest", desired_svc, dest))
    return actions


def plan_table(current, desired, purge):
    """current/desired: lists of (svc, [dests]). Whole-table plan for ipvs_table.

    Linear in the table (indexes by key). Adds and edits come before deletes, so
    the old state keeps serving until the new one is in place (order_actions);
    purging everything is one flush.
    """
    have = dict((service_key(s), (s, d)) for s, d in current)
    if purge and not desired and current:
        return [("flush", None, None)]
    actions = []
    seen = set()
    for svc, dests in desired:
        key = service_key(svc)
        seen.add(key)
        cur = have.get(key)
        actions.extend(plan_service(cur[0] if cur else None, cur[1] if cur else [], svc, dests, purge))
    if purge:
        for svc, _dests in current:
            if service_key(svc) not in seen:
                actions.append(("delete-service", svc, None))
    return order_actions(actions)


# Phases of a table change: what is added or changed first, what is removed last.
PHASES = {"add-service": 0, "edit-service": 1, "add-dest": 2, "edit-dest": 3, "delete-dest": 4,
          "delete-service": 5, "flush": 5}


def order_actions(actions):
    """Adds and edits before deletes (stable within a phase): the old state keeps serving."""
    return sorted(actions, key=lambda a: PHASES[a[0]])


def kernel_rules(table, schedulers=None, sync_daemons=False):
    """Errors of a desired table (list of (svc, dests)) that the kernel or ipvsadm would refuse.

    Checked before the kernel is touched, so a bulk change does not stop half-way:
    port 0 only on persistent services (ipvsadm -R refuses the rule otherwise);
    a real server of another family than its service only with tunnel
    forwarding, and not while a sync daemon runs; the scheduler must be one this
    kernel can load (schedulers: a set, None when unknown). Returns the error
    messages, each naming its field.
    """
    errors = []
    for i, (svc, dests) in enumerate(table):
        field = "services[%d]" % i
        if not svc.get("fwmark") and not svc["port"] and not svc["persistence"]:
            errors.append("%s.port: port 0 is for persistent services only (ipvsadm refuses it)" % field)
        if schedulers is not None and svc["scheduler"] not in schedulers:
            errors.append("%s.scheduler: %s is not available in this kernel (no ip_vs_%s module)"
                          % (field, svc["scheduler"], svc["scheduler"]))
        for j, dest in enumerate(dests or []):
            family = "ipv6" if ":" in dest["address"] else "ipv4"
            if family == svc["family"]:
                continue
            dfield = "%s.destinations[%d]" % (field, j)
            if dest["forward"] != "tunnel":
                errors.append("%s.forward: an %s real server on an %s service needs tunnel forwarding, not %s"
                              % (dfield, family.replace("ipv", "IPv"), svc["family"].replace("ipv", "IPv"),
                                 dest["forward"]))
            elif sync_daemons:
                errors.append("%s.address: the kernel refuses real servers of another family than the "
                              "service while a connection sync daemon runs" % dfield)
    return errors


def summarize(actions):
    """Number of actions of each kind."""
    counts = {}
    for verb, _svc, _dest in actions:
        counts[verb] = counts.get(verb, 0) + 1
    return counts


def check_unique(items, keyf, field):
    """IPVSValidationError naming field if two items have the same key keyf(item)."""
    seen = set()
    for item in items:
        k = keyf(item)
        if k in seen:
            _fail(field, "%s is listed twice" % (k,))
        seen.add(k)


# ---------------------------------------------------------------- ipvsadm-save format

def format_service_rule(svc):
    """One `-A` line exactly as `ipvsadm -S -n` prints it."""
    line = "-A %s -s %s" % (service_name(svc), svc["scheduler"])
    if svc["persistence"]:
        line += " -p %d" % svc["persistence"]
        if svc["family"] == "ipv4" and svc["netmask"] != "255.255.255.255":
            line += " -M %s" % svc["netmask"]
        elif svc["family"] == "ipv6" and svc["netmask"] != 128:
            line += " -M %d" % svc["netmask"]
    if svc["one_packet"]:  # ipvsadm prints -o before -b
        line += " -o"
    if svc["sched_flags"]:
        line += " -b %s" % ",".join(svc["sched_flags"])
    return line


def format_dest_rule(svc, dest):
    """One `-a` line exactly as `ipvsadm -S -n` prints it."""
    flag = {"masq": "-m", "route": "-g", "tunnel": "-i"}[dest["forward"]]
    line = "-a %s -r %s %s -w %d" % (service_name(svc), host_port(dest["address"], dest["port"]),
                                     flag, dest["weight"])
    if dest["forward"] == "tunnel":
        line += " --tun-type %s" % dest["tun_type"]
        if dest["tun_port"]:
            line += " --tun-port %d" % dest["tun_port"]
        if dest["tun_flags"]:
            line += " --tun-%s" % dest["tun_flags"]
    if dest["upper_threshold"]:
        line += " -x %d" % dest["upper_threshold"]
    if dest["lower_threshold"]:
        line += " -y %d" % dest["lower_threshold"]
    return line


def _c_int(value):
    """value as a C int: ipvsadm compares by subtraction, and so sorts with its overflow."""
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


_WORDS = {}


def _addr_words(address):
    words = _WORDS.get(address)
    if words is None:
        if len(_WORDS) > 200000:
            _WORDS.clear()
        packed = ipaddress.ip_address(address).packed
        words = _WORDS[address] = [int.from_bytes(packed[i:i + 4], "big") for i in range(0, len(packed), 4)]
    return words


def _cmp_addr(a1, a2):
    r = 0
    for w1, w2 in zip(_addr_words(a1), _addr_words(a2)):
        r = _c_int(w1 - w2)
        if r:
            break
    return r


def _cmp_services(s1, s2):
    # libipvs ipvs_cmp_services: fwmark, family, protocol, address, port.
    af = {"ipv4": 2, "ipv6": 10}
    for r in (_c_int((s1["fwmark"] or 0) - (s2["fwmark"] or 0)),
              af[s1["family"]] - af[s2["family"]],
              PROTOCOLS.get(s1["protocol"], 0) - PROTOCOLS.get(s2["protocol"], 0)):
        if r:
            return r
    if s1["address"] and s2["address"]:
        r = _cmp_addr(s1["address"], s2["address"])
        if r:
            return r
    return (s1["port"] or 0) - (s2["port"] or 0)


def _cmp_dests(d1, d2):
    return _cmp_addr(d1["address"], d2["address"]) or d1["port"] - d2["port"]


def ipvsadm_order(table):
    """The table in the order ipvsadm lists it (sorted services, sorted real servers)."""
    import functools
    return [(svc, sorted(dests, key=functools.cmp_to_key(_cmp_dests)))
            for svc, dests in sorted(table, key=lambda e: functools.cmp_to_key(_cmp_services)(e[0]))]


def format_rules(table):
    """The whole table (list of (svc, dests)) exactly as `ipvsadm -S -n` prints it."""
    lines = []
    for svc, dests in ipvsadm_order(table):
        lines.append(format_service_rule(svc))
        for dest in dests:
            lines.append(format_dest_rule(svc, dest))
    return "".join(line + "\n" for line in lines)


def describe(action):
    """A planned action (verb, svc, dest) in words, naming the service and real server as ipvsadm does."""
    verb, svc, dest = action
    if svc is None:
        return verb
    if dest is None:
        return "%s %s" % (verb, service_name(svc))
    return "%s %s -r %s" % (verb, service_name(svc), host_port(dest["address"], dest["port"]))


# ---------------------------------------------------------------- connection table

def parse_conn_table(text):
    """Parse /proc/net/ip_vs_conn (what `ipvsadm -Lnc` shows) into dicts."""
    conns = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 9:
            continue
        conns.append({
            "protocol": parts[0].lower(),
            "client": _hexaddr(parts[1], parts[2]),
            "virtual": _hexaddr(parts[3], parts[4]),
            "destination": _hexaddr(parts[5], parts[6]),
            "state": parts[7],
            "expires": int(parts[8]),
        })
    return conns


def _hexaddr(addr, port):
    if len(addr) == 8:
        ip = str(ipaddress.IPv4Address(int(addr, 16)))
    else:
        ip = str(ipaddress.IPv6Address(int(addr.replace(":", ""), 16)))
    return host_port(ip, int(port, 16))


def simulate(table, actions):
    """The table (list of (svc, dests)) after actions: the diff's 'after' in check mode too.

    Linear: services and real servers are indexed by key once. A changed entry
    keeps its place; an added one goes last. Entries no action touches are the
    input's own dicts (not copied); table itself is not changed.
    """
    out = dict((service_key(s), (dict(s), dict((dest_key(d), d) for d in ds))) for s, ds in table)
    copied = set()
    for verb, svc, dest in actions:
        if verb == "flush":
            out.clear()
            continue
        key = service_key(svc)
        if verb == "add-service":
            out[key] = (dict(svc), {})
            copied.add(key)
        elif verb == "edit-service":
            out[key] = (dict(svc), out[key][1])
        elif verb == "delete-service":
            del out[key]
        else:
            dests = out[key][1]
            if key not in copied:  # the caller's dest dicts stay untouched
                dests = dict(dests)
                out[key] = (out[key][0], dests)
                copied.add(key)
            if verb == "delete-dest":
                del dests[dest_key(dest)]
            else:
                dests[dest_key(dest)] = dict(dest)
    return [(s, list(ds.values())) for s, ds in out.values()]


def select(table, keys):
    """Only the services whose key is in keys (the entries a change affects)."""
    keys = set(keys)
    return [(s, d) for s, d in table if service_key(s) in keys]
