# -*- coding: utf-8 -*-
# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-interface IPv4 sysctls (net.ipv4.conf.<if>.<param>) for LVS hosts:
key naming, validation, /proc access, sysctl.d rendering."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.lvs.cluster.plugins.module_utils import fields

CONF_DIR = "/proc/sys/net/ipv4/conf"
PSEUDO = ("all", "default")
# param -> allowed values
PARAMS = {
    "arp_ignore": (0, 1, 2, 3, 4, 5, 6, 7, 8),
    "arp_announce": (0, 1, 2),
    "rp_filter": (0, 1, 2),
    "send_redirects": (0, 1),
}


def key_name(iface, param):
    """sysctl key; interface names with a dot (VLANs) use the slash form."""
    if "." in iface:
        return "net/ipv4/conf/%s/%s" % (iface, param)
    return "net.ipv4.conf.%s.%s" % (iface, param)


def split_key(key):
    """(iface, param) of a key made by key_name."""
    if "/" in key:
        parts = key.split("/")
    else:
        parts = key.split(".")
    return parts[3], parts[4]


def proc_path(iface, param, conf_dir=CONF_DIR):
    """The file of an interface's ARP parameter under conf_dir (/proc/sys/net/ipv4/conf/IFACE/PARAM)."""
    return os.path.join(conf_dir, iface, param)


def unique(items):
    """items without repeats, in first-seen order."""
    seen = []
    for i in items:
        if i not in seen:
            seen.append(i)
    return seen


def validate_interfaces(interfaces, conf_dir=CONF_DIR):
    """Error message naming bad or missing interfaces, or None."""
    if not interfaces:
        return "interfaces: give at least one interface (or all / default)"
    bad = [i for i in interfaces if i not in PSEUDO and not fields.is_valid(fields.ifname, i)]
    if bad:
        return "interfaces: invalid interface name(s): %s" % ", ".join(map(str, bad))
    missing = [i for i in interfaces if i not in PSEUDO and not os.path.isdir(os.path.join(conf_dir, i))]
    if missing:
        return ("interfaces: no such network interface: %s (in this network namespace; "
                "create it first, e.g. with lvs.cluster.vip_address)" % ", ".join(missing))
    return None


def desired_settings(interfaces, values):
    """Ordered list of (key, value-as-string) for every interface and every
    param whose value is not None. values: {param: int or bool}."""
    out = []
    for iface in unique(interfaces):
        for param in ("arp_ignore", "arp_announce", "rp_filter", "send_redirects"):
            v = values.get(param)
            if v is None:
                continue
            if isinstance(v, bool):
                v = int(v)
            if v not in PARAMS[param]:
                raise ValueError("%s: %r is not one of %s" % (param, v, ", ".join(map(str, PARAMS[param]))))
            out.append((key_name(iface, param), str(v)))
    return out


def is_pseudo_key(key):
    """Whether the key names a pseudo interface (all or default) rather than a device."""
    return split_key(key)[0] in PSEUDO


def render_conf(settings, header=None):
    """sysctl.d file: keys of real interfaces get the '-' prefix, so that
    `sysctl --system` at boot ignores interfaces that do not exist yet (the
    lvs-cluster-net boot hook sets them once they do)."""
    lines = ["# Managed by the lvs.cluster collection (arp_sysctl); do not edit."]
    if header:
        lines.append("# " + header)
    for key, value in settings:
        prefix = "" if is_pseudo_key(key) else "-"
        lines.append("%s%s = %s" % (prefix, key, value))
    return "\n".join(lines) + "\n"


def read_value(key, conf_dir=CONF_DIR):
    """The stripped value of the key's /proc file, or None if it cannot be read."""
    iface, param = split_key(key)
    try:
        with open(proc_path(iface, param, conf_dir)) as f:
            return f.read().strip()
    except (IOError, OSError):
        return None


def write_value(key, value, conf_dir=CONF_DIR):
    """Write value to the key's /proc file; IOError/OSError if that fails."""
    iface, param = split_key(key)
    with open(proc_path(iface, param, conf_dir), "w") as f:
        f.write("%s\n" % value)


def render_lines(values):
    """Text for diffs: one 'key = value' line per key, sorted."""
    return "".join("%s = %s\n" % (k, "(absent)" if v is None else v) for k, v in sorted(values.items()))
