# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sysctl_set as plain data: sysctl and kernel module names checked, the plan, the files (pure).

One task sets many kernel settings (and loads the kernel modules they need) in one module
run: a converge pays one Python start per host instead of one per setting."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

PROC_SYS = "/proc/sys"
# One component of a dotted name; the slash form's components may hold dots (VLAN devices: eth0.100).
_DOT_PART = r"[A-Za-z0-9_-]+"
_SLASH_PART = r"[A-Za-z0-9_.:@+-]+"
DOTTED_RE = re.compile(r"^%s(\.%s)+\Z" % (_DOT_PART, _DOT_PART))
SLASHED_RE = re.compile(r"^%s(/%s)+\Z" % (_DOT_PART, _SLASH_PART))
# A network device name as the kernel allows it (no blank, '/' or ':', at most 15 characters).
IFNAME_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,15}\Z")
MODULE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
# Values: numbers and words, several separated by blanks (ip_local_port_range); no newline.
VALUE_RE = re.compile(r"^[A-Za-z0-9_.:/+-]+([ \t]+[A-Za-z0-9_.:/+-]+)*\Z")
HEADER = "# Managed by the lvs.cluster collection (sysctl_set); do not edit."
PSEUDO = ("all", "default")


class ValidationError(Exception):
    """A bad input; the message starts with the field."""


def parts(name, field="settings"):
    """The components of a sysctl name (dotted or slash form), or ValidationError naming it."""
    if not isinstance(name, str):
        raise ValidationError("%s: %r is not a sysctl name" % (field, name))
    if SLASHED_RE.match(name):
        comps = name.split("/")
    elif DOTTED_RE.match(name):
        comps = name.split(".")
    else:
        raise ValidationError("%s: %r is not a sysctl name (dotted net.ipv4.ip_forward, or with '/' when a "
                              "device name has a dot: net/ipv4/conf/eth0.100/arp_ignore)" % (field, name))
    if any(c in (".", "..") for c in comps):
        raise ValidationError("%s: %r is not a sysctl name ('.' or '..' in it)" % (field, name))
    return comps


def key_name(comps):
    """The name as written in sysctl.d: dotted, or slashes when a component has a dot."""
    return "/".join(comps) if any("." in c for c in comps) else ".".join(comps)


def value_text(field, value):
    """The kernel's text of a value (bool -> 1/0), or ValidationError."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or not VALUE_RE.match(value.strip()):
        raise ValidationError("%s: %r is not a sysctl value (numbers or words, no newline)" % (field, value))
    return " ".join(value.split())


def interface_key(iface, param, field):
    """[net, ipv4, conf, iface, param] with the device name checked."""
    if not isinstance(iface, str) or not IFNAME_RE.match(iface) or iface in (".", ".."):
        raise ValidationError("%s: %r is not a network device name (at most 15 characters, no blank, "
                              "'/' or ':')" % (field, iface))
    if not isinstance(param, str) or not re.match(_DOT_PART + r"\Z", param):
        raise ValidationError("interface_settings: %r is not a sysctl name" % (param,))
    return ["net", "ipv4", "conf", iface, param]


def validate(params):
    """(settings [(key, comps, value)], modules) of a task, or ValidationError naming the field."""
    out, seen = [], {}

    def add(comps, value, field):
        key = key_name(comps)
        path = "/".join(comps)
        if path in seen:
            raise ValidationError("%s: %s is given twice (also as %s)" % (field, key, seen[path]))
        seen[path] = key
        out.append((key, comps, value_text(field, value)))

    for name, value in (params.get("settings") or {}).items():
        add(parts(name), value, "settings.%s" % name)
    for i, iface in enumerate(params.get("interfaces") or []):
        for param, value in (params.get("interface_settings") or {}).items():
            add(interface_key(iface, param, "interfaces[%d]" % i), value, "interface_settings.%s" % param)
    modules = []
    for i, mod in enumerate(params.get("modules") or []):
        if not isinstance(mod, str) or not MODULE_RE.match(mod):
            raise ValidationError("modules[%d]: %r is not a kernel module name" % (i, mod))
        if mod not in modules:
            modules.append(mod)
    for field in ("file", "modules_file"):
        path = params.get(field)
        if path is not None and (not os.path.isabs(path) or not path.endswith(".conf")):
            raise ValidationError("%s: %r is not an absolute path of a .conf file" % (field, path))
    return out, modules


def proc_path(comps, proc_sys=PROC_SYS):
    """The file under proc_sys of a sysctl key given as its components (see parts)."""
    return os.path.join(proc_sys, *comps)


def same(a, b):
    """Kernel text and wanted text are equal up to blanks (tabs in multi-value sysctls)."""
    return a is not None and b is not None and a.split() == b.split()


def module_loaded(name, proc_modules, builtin, sys_module_dir="/sys/module"):
    """True when a kernel module is loaded or built in. proc_modules: /proc/modules text;
    builtin: modules.builtin text of the running kernel."""
    base = name.replace("-", "_")
    if os.path.isdir(os.path.join(sys_module_dir, base)):
        return True
    if any(line.split(" ", 1)[0] == base for line in (proc_modules or "").splitlines()):
        return True
    names = [os.path.basename(line.strip()).split(".ko")[0].replace("-", "_") for line in (builtin or "").splitlines()]
    return base in names


def is_device_key(comps):
    """A per-device key (net.ipv4.conf.eth0.x) of a device that may not exist at boot yet."""
    return len(comps) == 5 and comps[0] == "net" and comps[2] in ("conf", "neigh") and comps[3] not in PSEUDO


def render_conf(settings):
    """The sysctl.d file; per-device keys get '-' (sysctl --system skips them while the device is missing)."""
    lines = [HEADER]
    for key, comps, value in settings:
        lines.append("%s%s = %s" % ("-" if is_device_key(comps) else "", key, value))
    return "\n".join(lines) + "\n"


def render_modules(modules):
    """The modules-load.d file: one module a line."""
    return "\n".join([HEADER] + list(modules)) + "\n"


def render_lines(values):
    """Diff text: one 'key = value' line per key, in the task's order."""
    return "".join("%s = %s\n" % (k, "(absent)" if v is None else v) for k, v in values)
