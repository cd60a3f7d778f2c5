# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one vocabulary of field types: every value that becomes configuration (a file,
a command line, a kernel request) passes one of these checks, which returns the value
as it will be written or raises ``FieldError`` naming the field
(``lvs_cluster.services[1].port: ...``).

Pure Python: imports neither Ansible nor netlink. Patterns match whole strings
(``re.fullmatch``: ``$`` would accept a trailing newline). The constant lists of IPVS
(schedulers, scheduler flags, tunnel types and flags, protocols) are defined here once.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import math
import re

from collections.abc import Mapping

# ---------------------------------------------------------------- constant lists
SCHEDULERS = ("rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos")
# Scheduler flags share three bits; their meaning belongs to the scheduler: name -> (scheduler, bit).
SCHED_FLAGS = {
    "sh-fallback": ("sh", 0x08), "sh-port": ("sh", 0x10),
    "mh-fallback": ("mh", 0x08), "mh-port": ("mh", 0x10),
}
PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
# IP_VS_CONN_F_TUNNEL_TYPE_* and IP_VS_TUNNEL_ENCAP_FLAG_* (checksum handling of GUE and GRE).
TUN_TYPES = {"ipip": 0, "gue": 1, "gre": 2}
TUN_FLAGS = {"nocsum": 0, "csum": 1, "remcsum": 2}
CHECK_TYPES = ("TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK")

MAX_STRING = 1024
MAX_NUMBER = 4294967295  # longer values are certainly not an address, name or command
IFNAMSIZ = 16  # the kernel's interface name buffer: 15 bytes and the NUL
# Words `ip` reads as keywords where a device or table name may stand: a device named
# so works through netlink but the boot replay's `ip ... dev <name>` reads it otherwise.
IP_KEYWORDS = frozenset((
    "add", "all", "any", "advmss", "broadcast", "brd", "change", "default", "del", "delete", "dev", "dsfield",
    "flush", "from", "fwmark", "get", "goto", "help", "iif", "label", "list", "local", "lookup", "main", "metric",
    "mtu", "nat", "nexthop", "oif", "onlink", "peer", "pref", "preference", "prio", "priority", "proto", "realm",
    "realms", "replace", "scope", "show", "src", "table", "to", "tos", "type", "unreachable", "via",
))


class FieldError(ValueError):
    """A bad value: ``path`` is the field, ``reason`` what is wrong with it.

    FieldError("a.b", "is wrong") or FieldError("a.b: is wrong") (the older one-text form)."""

    def __init__(self, path, reason=None):
        if reason is None:
            path, sep, reason = str(path).partition(": ")
            if not sep:
                path, reason = "", path
        self.path = path
        self.reason = reason
        super(FieldError, self).__init__("%s: %s" % (path, reason) if path else reason)


def short(text):
    """text cut to 60 characters for an error message."""
    text = str(text)
    return text if len(text) <= 60 else text[:57] + "..."


def type_name(value):
    """How an error message names the type of value ("a list", "null", ...)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "a dict"
    if isinstance(value, (list, tuple)):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    return "a number" if isinstance(value, (int, float)) else type(value).__name__


# ---------------------------------------------------------------- text
# keepalived reads a line as words; '#' and '!' start a comment anywhere, '{' and
# '}' open and close blocks, '"' quotes. A value may contain none of them, nor a
# control character (a newline would start a new line), nor a Unicode line separator.
UNSAFE = re.compile(r'[\x00-\x1f\x7f\x85\u2028\u2029#!{}"\\]')
CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def text(path, value):
    """A non-empty string of at most MAX_STRING characters without configuration characters."""
    if isinstance(value, bool) or value is None or isinstance(value, (Mapping, list, tuple)):
        raise FieldError(path, "must be a string, not %s" % type_name(value))
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldError(path, "must be a string, not %s" % value)
    value = str(value)
    if not value:
        raise FieldError(path, "must not be empty")
    if len(value) > MAX_STRING:
        raise FieldError(path, "is %d characters long, at most %d are allowed" % (len(value), MAX_STRING))
    bad = UNSAFE.search(value)
    if bad:
        raise FieldError(path, "must not contain %r: keepalived would read it as configuration (%r)"
                         % (bad.group(), short(value)))
    return value


def word(path, value, pattern=None, what=None):
    """One word (no blank, quote, brace, comment sign or control character); pattern: the whole word."""
    value = text(path, value)
    if re.search(r"\s", value):
        raise FieldError(path, "must be one word, not %r" % short(value))
    if pattern is not None and not re.fullmatch(pattern, value):
        raise FieldError(path, "is not %s: %r" % (what or "valid", short(value)))
    return value


def string(path, value):
    """A value written in double quotes (a command line): blanks are fine."""
    return text(path, value)


command = string


def line(path, value):
    """A raw line the operator asked for (``extra``): one line, balanced braces are allowed."""
    if not isinstance(value, str) or not value.strip():
        raise FieldError(path, "must be a non-empty string")
    if len(value) > MAX_STRING:
        raise FieldError(path, "is %d characters long, at most %d are allowed" % (len(value), MAX_STRING))
    if CONTROL.search(value):
        raise FieldError(path, "must be one line (no newline or control character)")
    if value.count("{") != value.count("}") or value.find("}") < value.find("{"):
        raise FieldError(path, "must not open or close a block ('{' and '}' must pair)")
    return value


def secret(path, value):
    """A password: one word; a refused secret is never shown in the message."""
    given = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    problem = None
    if not isinstance(given, str):
        problem = "must be a string, not %s" % type_name(value)
    elif not given:
        problem = "must not be empty"
    elif len(given) > MAX_STRING:
        problem = "is %d characters long" % len(given)
    elif UNSAFE.search(given):
        problem = "contains a character keepalived reads as configuration (control, quote, brace, #, !, \\)"
    elif re.search(r"\s", given):
        problem = "must be one word (no blank)"
    if problem:
        raise FieldError(path, "%s (value not shown)" % problem)
    return given


def path_name(path, value):
    """An absolute file path: one line, no '..' component, at most 4095 bytes."""
    value = text(path, value)
    if not value.startswith("/") or "/../" in value + "/" or len(value.encode("utf-8")) > 4095:
        raise FieldError(path, "must be an absolute path without '..', not %r" % short(value))
    return value


# ---------------------------------------------------------------- numbers

def number(path, value, minimum=None, maximum=None, integer=True):
    """An int (or, integer=False, a finite float) or digit string within [minimum, maximum].

    Booleans, NaN, infinities and anything else are refused naming the field."""
    if isinstance(value, bool):
        raise FieldError(path, "must be a number, not %s" % value)
    if isinstance(value, str):
        if len(value) > 32:
            raise FieldError(path, "must be a number, not a %d-character string" % len(value))
        stripped = value.strip()
        pattern = r"-?[0-9]+" if integer else r"-?[0-9]+(\.[0-9]+)?"
        if not re.fullmatch(pattern, stripped, re.ASCII):
            raise FieldError(path, "must be a number, not %r" % short(value))
        parsed = int(stripped) if integer or "." not in stripped else float(stripped)
        _bounds(path, parsed, minimum, maximum, stripped)
        # a decimal string is kept as written ("0.000001" must not become "1e-06")
        return parsed if isinstance(parsed, int) else stripped
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(path, "must be a finite number, not %s" % value)
        if integer:
            if not value.is_integer():
                raise FieldError(path, "must be a whole number, not %r" % value)
            value = int(value)
    elif not isinstance(value, int):
        raise FieldError(path, "must be a number, not %s" % type_name(value))
    _bounds(path, value, minimum, maximum, value)
    return value


def _bounds(path, value, minimum, maximum, shown):
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        raise FieldError(path, "must be between %s and %s, not %s" % (
            "-" if minimum is None else minimum, "-" if maximum is None else maximum, shown))
    if abs(value) > MAX_NUMBER:
        raise FieldError(path, "is larger than any keepalived or IPVS number (%s)" % MAX_NUMBER)


def integer(path, value, minimum=None, maximum=None):
    """A whole number within [minimum, maximum]."""
    return number(path, value, minimum, maximum)


def port(path, value, zero=False):
    """A TCP/UDP/SCTP port, 1..65535 (0 too when zero: "every port")."""
    if value is None:
        raise FieldError(path, "a port number is required")
    try:
        return number(path, value, 0 if zero else 1, 65535)
    except FieldError:
        raise FieldError(path, "%r is not a port number (%d..65535)" % (value, 0 if zero else 1))


def weight(path, value):
    """An IPVS weight, 0..65535 (0: drained)."""
    return number(path, value, 0, 65535)


def duration(path, value, maximum=None):
    """Seconds, a finite number >= 0 (decimal strings kept as written)."""
    return number(path, value, 0, maximum, integer=False)


# ---------------------------------------------------------------- names

def ifname(path, value):
    """A network device name by the kernel's rules (dev_valid_name): 1..15 bytes, not '.' or '..',
    no '/', ':' or white space; here also only [A-Za-z0-9_.@-] and no `ip` keyword.

    VLAN names (eth0.100) are device names; alias labels (eth0:1) are not: see address_label."""
    if not isinstance(value, str):
        raise FieldError(path, "%r is not a valid interface name (a string)" % (value,))
    if not value or len(value.encode("utf-8")) >= IFNAMSIZ or value in (".", "..") \
            or not re.fullmatch(r"[A-Za-z0-9_.@-]+", value):
        raise FieldError(path, "%r is not a valid interface name (1..15 of A-Z a-z 0-9 _ . @ -, no '/', ':' or "
                         "white space, not '.' or '..')%s"
                         % (value, "; eth0:1 is an address label, not a device" if ":" in value else ""))
    if value in IP_KEYWORDS:
        raise FieldError(path, "%r is a keyword of the ip command: a device of that name breaks the boot "
                         "replay (ip ... dev %s)" % (value, value))
    return value


def address_label(path, value):
    """An address label: a device name, or device:suffix (eth0:vip), at most 15 bytes."""
    if not isinstance(value, str):
        raise FieldError(path, "must be an address label, not %s" % type_name(value))
    dev, sep, suffix = value.partition(":")
    ifname(path, dev)
    if len(value.encode("utf-8")) >= IFNAMSIZ or sep and not re.fullmatch(r"[A-Za-z0-9_.@-]+", suffix):
        raise FieldError(path, "%r is not an address label (device or device:suffix, at most 15 of "
                         "A-Z a-z 0-9 _ . @ -)" % value)
    return value


def name(path, value, what="a name"):
    """An identifier (instance, group, script names): [A-Za-z0-9_.:@-]+."""
    return word(path, value, r"[A-Za-z0-9_.:@-]+", what)


def table_name(path, value):
    """A routing table name for rt_tables.d: a letter or '_' then [A-Za-z0-9_.-], at most 64, not a keyword."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}", value) \
            or value in IP_KEYWORDS:
        raise FieldError(path, "%r is not a table name (a letter or _ then letters, digits, _ . -; at most 64; "
                         "not an ip keyword)" % (value,))
    return value


def is_valid(check, value):
    """Whether check("", value) accepts value (for choosing, not for reporting: report with check)."""
    try:
        check("", value)
        return True
    except FieldError:
        return False


# ---------------------------------------------------------------- addresses

def ip(path, value, zone=False):
    """An IPv4 or IPv6 address (no prefix) as ipaddress object. IPv6 zone ids (%eth0) only with zone=True."""
    value = word(path, value)
    if "%" in value and not zone:
        raise FieldError(path, "%r: an IPv6 zone id (%%...) is not taken here" % short(value))
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise FieldError(path, "is not an IP address: %r" % short(value))


def vip(path, value):
    """'address[/prefix]' -> (address, prefix or None). Nothing else: options go in a dict."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) and not hasattr(value, "compressed"):
        raise FieldError(path, "must be an address[/prefix] string, not %s" % type_name(value))
    given = str(value).strip()
    if re.search(r"\s", given):
        raise FieldError(path, "must be address[/prefix] only, not %r: give dev, label, scope and brd "
                         "as keys of a dict ({address: ..., dev: ...})" % short(given))
    address, sep, prefix = given.partition("/")
    addr = ip(path, address)
    return addr, number(path, prefix, 0, 32 if addr.version == 4 else 128) if sep else None


def interface_address(path, value):
    """'192.0.2.100' or '192.0.2.100/32' -> ipaddress.ip_interface (host prefix when none is given)."""
    if not isinstance(value, str) or not value.strip():
        raise FieldError(path, "%r is not an IP address[/prefix]" % (value,))
    addr, prefix = vip(path, value)
    return ipaddress.ip_interface("%s/%d" % (addr, (32 if addr.version == 4 else 128) if prefix is None else prefix))


def checked_value(path, value, kind="word"):
    """One value for a file or command line, or FieldError.

    kind: word (one word), string (blanks allowed), number, shell (text inside a
    double-quoted shell string, e.g. /etc/default/keepalived: no $ or backquote either)."""
    if kind == "number":
        return number(path, value)
    if kind == "word":
        return word(path, value)
    if kind not in ("string", "shell"):
        raise ValueError("unknown kind %r" % kind)
    value = string(path, value) if value != "" else ""
    if kind == "shell" and re.search(r"[$`]", value):
        raise FieldError(path, "must not contain $ or a backquote: the shell would expand it")
    return value
