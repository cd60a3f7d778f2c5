# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster description ``lvs_cluster``: its schema, validation and canonical form.

Pure Python (no Ansible import), shared by the filter plugins and the unit tests.

* ``SCHEMA`` declares every key (type, choices, default, aliases, nested keys).
  ``docs/cluster-model.md`` is checked against it by a unit test.
* ``validate(value, spec, path)`` checks a value against a spec and returns it
  with aliases resolved and defaults applied; every error is a
  ``ClusterModelError`` whose message starts with the field path
  (``lvs_cluster.services[1].realservers[0].port: ...``).
* ``cluster_model(lvs_cluster)`` adds the cross-field rules and returns the one
  canonical description the roles, templates and playbooks read.
* ``conf_word`` / ``conf_string`` / ``conf_number`` / ``conf_line`` are the one
  gate every value passes before it is written into keepalived.conf (or any
  other file or command line): a value is written safely or rejected with its
  path.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import ipaddress
import re

from collections.abc import Mapping

# Forwarding method of each mode, as IPVS (ipvs_table, ipvsadm) names it.
FORWARD_OF_MODE = {"nat": "masq", "dr": "route", "tun": "tunnel"}
DEFAULT_MODE = "dr"
DEFAULT_SCHEDULER = "wlc"
DEFAULT_PROTOCOL = "tcp"
DEFAULT_WEIGHT = 1
DEFAULT_DELAY_LOOP = 6
CHECK_TYPES = ("TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK")
MAX_STRING = 1024
MAX_NUMBER = 4294967295  # longer values are certainly not an address, name or command


class ClusterModelError(ValueError):
    """A description error; ``path`` is the field, ``reason`` what is wrong with it."""

    def __init__(self, path, reason):
        self.path = path
        self.reason = reason
        super(ClusterModelError, self).__init__("%s: %s" % (path, reason))


# ---------------------------------------------------------------- safe values
# keepalived reads a line as words; '#' and '!' start a comment anywhere, '{' and
# '}' open and close blocks, '"' quotes. A value may contain none of them, nor a
# control character (a newline would start a new keepalived line).
_UNSAFE = re.compile(r'[\x00-\x1f\x7f#!{}"\\]')
_WORD = re.compile(r"^[^\s]+$")


def _text(path, value):
    if isinstance(value, bool) or value is None or isinstance(value, (Mapping, list, tuple)):
        raise ClusterModelError(path, "must be a string, not %s" % _type_name(value))
    text = str(value)
    if not text:
        raise ClusterModelError(path, "must not be empty")
    if len(text) > MAX_STRING:
        raise ClusterModelError(path, "is %d characters long, at most %d are allowed" % (len(text), MAX_STRING))
    bad = _UNSAFE.search(text)
    if bad:
        raise ClusterModelError(path, "must not contain %r: keepalived would read it as configuration (%r)"
                                % (bad.group(), _short(text)))
    return text


def conf_word(path, value, pattern=None, what=None):
    """One keepalived word (no blank, no quote, brace, comment sign or control character)."""
    text = _text(path, value)
    if not _WORD.match(text):
        raise ClusterModelError(path, "must be one word, not %r" % _short(text))
    if pattern is not None and not re.match(pattern + r"\Z", text):
        raise ClusterModelError(path, "is not %s: %r" % (what or "valid", _short(text)))
    return text


def conf_string(path, value):
    """A value keepalived reads in double quotes (a command line): blanks are fine."""
    return _text(path, value)


def conf_line(path, value):
    """A raw line the operator asked for (``extra``): one line, balanced braces are allowed."""
    if not isinstance(value, str) or not value.strip():
        raise ClusterModelError(path, "must be a non-empty string")
    if len(value) > MAX_STRING:
        raise ClusterModelError(path, "is %d characters long, at most %d are allowed" % (len(value), MAX_STRING))
    if re.search(r"[\x00-\x1f\x7f]", value):
        raise ClusterModelError(path, "must be one line (no newline or control character)")
    if value.count("{") != value.count("}") or value.find("}") < value.find("{"):
        raise ClusterModelError(path, "must not open or close a block ('{' and '}' must pair)")
    return value


def conf_number(path, value, minimum=None, maximum=None, integer=True):
    """A number: int (or float) values and digit strings; bools and anything else are rejected."""
    if isinstance(value, bool):
        raise ClusterModelError(path, "must be a number, not %s" % value)
    if isinstance(value, str):
        if len(value) > 32:
            raise ClusterModelError(path, "must be a number, not a %d-character string" % len(value))
        pattern = r"-?[0-9]+" if integer else r"-?[0-9]+(\.[0-9]+)?"
        if not re.match(pattern + r"\Z", value.strip()):
            raise ClusterModelError(path, "must be a number, not %r" % _short(value))
        text = value.strip()
        number = int(text) if integer or "." not in text else float(text)
        if minimum is not None and number < minimum or maximum is not None and number > maximum:
            raise ClusterModelError(path, "must be between %s and %s, not %s" % (minimum, maximum, text))
        # a decimal string is kept as written ("0.000001" must not become "1e-06")
        return number if isinstance(number, int) else text
    elif isinstance(value, float) and integer:
        if value != int(value):
            raise ClusterModelError(path, "must be a whole number, not %r" % value)
        value = int(value)
    elif not isinstance(value, (int, float)):
        raise ClusterModelError(path, "must be a number, not %s" % _type_name(value))
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        raise ClusterModelError(path, "must be between %s and %s, not %s" % (minimum, maximum, value))
    if abs(value) > MAX_NUMBER:
        raise ClusterModelError(path, "is larger than any keepalived or IPVS number (%s)" % MAX_NUMBER)
    return value


def checked_value(path, value, kind="word"):
    """One value for a file or command line other than keepalived.conf, or ClusterModelError.

    kind: word (one word), string (blanks allowed), number, shell (text inside a
    double-quoted shell string, e.g. /etc/default/keepalived: no $ or backquote either).
    """
    if kind == "number":
        return conf_number(path, value)
    if kind == "word":
        return conf_word(path, value)
    text = conf_string(path, value) if value != "" else ""
    if kind == "shell" and re.search(r"[$`]", text):
        raise ClusterModelError(path, "must not contain $ or a backquote: the shell would expand it")
    if kind not in ("string", "shell"):
        raise ValueError("unknown kind %r" % kind)
    return text


def _short(text):
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value):
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


# ---------------------------------------------------------------- addresses

def parse_ip(path, value):
    """An IPv4 or IPv6 address (no prefix) as ipaddress object."""
    text = conf_word(path, value)
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ClusterModelError(path, "is not an IP address: %r" % _short(text))


def parse_vip(path, value):
    """'address[/prefix]' -> (address, prefix or None). Nothing else: options go in a dict."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) and not hasattr(value, "compressed"):
        raise ClusterModelError(path, "must be an address[/prefix] string, not %s" % _type_name(value))
    text = str(value).strip()
    if re.search(r"\s", text):
        raise ClusterModelError(path, "must be address[/prefix] only, not %r: give dev, label, scope and brd "
                                "as keys of a dict ({address: ..., dev: ...})" % _short(text))
    address, _sep, prefix = text.partition("/")
    ip = parse_ip(path, address)
    if _sep:
        prefix = conf_number(path, prefix, 0, 32 if ip.version == 4 else 128)
    else:
        prefix = None
    return ip, prefix


# ---------------------------------------------------------------- the schema
# A spec is {key: field}; a field is a dict with
#   type: str (quoted text) | word (one word) | int | number | bool | dict | list | raw | ip |
#         vip (address[/prefix]) | vip_entry (a vip or a VIP_SPEC dict) | mode | lines (raw lines)
#   default, choices, aliases, required, options (nested spec of a dict or of list elements),
#   elements (type of list elements), min, max, doc (one line, for docs/cluster-model.md),
#   pattern/what (for word), upper/lower (normalise a word), secret (never shown in errors).
# Keys set to a string in LEGACY are old keepalived recipe keywords: their message gives the modern form.

LEGACY = {
    "nb_get_retry": "nb_get_retry is the keepalived 1.x name: use retry",
    "lvs_sync_daemon_interface": "use lvs_cluster.vrrp.sync_daemon: {interface: ..., instance: ...}",
}

IFNAME = r"[A-Za-z0-9_.:@-]{1,15}"
NAME = r"[A-Za-z0-9_.:@-]+"

CHECKER_SPEC = {
    "type": dict(type="word", default="TCP_CHECK", upper=True, choices=CHECK_TYPES,
                 doc="TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, SMTP_CHECK or DNS_CHECK"),
    "connect_ip": dict(type="ip", doc="address the check connects to (default: the real server's)"),
    "connect_port": dict(type="int", min=1, max=65535, doc="port the check connects to"),
    "bindto": dict(type="ip", doc="source address of the check"),
    "bind_port": dict(type="int", min=1, max=65535, doc="source port of the check"),
    "bind_if": dict(type="word", pattern=IFNAME, what="an interface name", doc="source interface (IPv6 link-local)"),
    "connect_timeout": dict(type="number", min=0, doc="seconds"),
    "fwmark": dict(type="int", min=1, max=4294967295, doc="firewall mark of the check's packets"),
    "warmup": dict(type="number", min=0, doc="random delay (seconds) before the first check"),
    "retry": dict(type="int", min=0, doc="retries before the real server is down (was nb_get_retry)"),
    "delay_before_retry": dict(type="number", min=0, doc="seconds between retries"),
    "delay_loop": dict(type="number", min=0, doc="seconds between checks of this checker"),
    "alpha": dict(type="bool", doc="start the real server down"),
    "log_all_failures": dict(type="bool", doc="log every failure"),
    "helo_name": dict(type="word", doc="SMTP_CHECK: HELO name"),
    "name": dict(type="word", doc="DNS_CHECK: the name to resolve"),
    "dns_type": dict(type="word", choices=("A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"), upper=True,
                     doc="DNS_CHECK: the record type (keepalived's `type` keyword)"),
    "misc_path": dict(type="str", doc="MISC_CHECK: the command (written quoted)"),
    "misc_timeout": dict(type="int", min=0, doc="MISC_CHECK: seconds"),
    "misc_dynamic": dict(type="bool", doc="MISC_CHECK: the exit code sets the weight"),
    "user": dict(type="word", doc="MISC_CHECK: user the command runs as"),
    "virtualhost": dict(type="word", doc="HTTP_GET/SSL_GET: Host header"),
    "http_protocol": dict(type="word", choices=("1.0", "1.0C", "1.1", "1.0c"), doc="HTTP_GET/SSL_GET: version"),
    "enable_sni": dict(type="bool", doc="SSL_GET: send SNI"),
    "path": dict(type="word", doc="HTTP_GET/SSL_GET: one URL path (short form of urls)"),
    "status_code": dict(type="raw", doc="HTTP_GET/SSL_GET: expected status code(s) (short form of urls)"),
    "digest": dict(type="word", pattern="[0-9a-fA-F]{32}", what="an MD5 digest (32 hex digits)",
                   doc="HTTP_GET/SSL_GET: expected MD5 of the body (short form of urls)"),
    "digest_from": dict(type="str", doc="HTTP_GET/SSL_GET: file on the real server whose MD5 is the digest"),
    "digest_host": dict(type="word", doc="HTTP_GET/SSL_GET: inventory host holding digest_from"),
    "urls": dict(type="list", elements="dict", doc="HTTP_GET/SSL_GET: the URLs checked", options={
        "path": dict(type="word", default="/", doc="URL path"),
        "status_code": dict(type="raw", doc="expected status code or list of codes"),
        "digest": dict(type="word", pattern="[0-9a-fA-F]{32}", what="an MD5 digest (32 hex digits)",
                       doc="expected MD5 of the body (genhash)"),
        "digest_from": dict(type="str", doc="file on the real server whose MD5 is the digest"),
        "digest_host": dict(type="word", doc="inventory host holding digest_from (default the real server's host)"),
        "virtualhost": dict(type="word", doc="Host header of this URL"),
    }),
    "hosts": dict(type="list", elements="dict", doc="SMTP_CHECK: host blocks, more mail servers checked besides the "
                  "checker's own target (connect_ip, default the real server): the real server is up while all "
                  "answer (keepalived 2.2.7 runs each as another checker and logs the form as deprecated)",
                  options={
                      "connect_ip": dict(type="ip", required=True, doc="address of the mail server"),
                      "connect_port": dict(type="int", min=1, max=65535, doc="its port"),
                      "bindto": dict(type="ip", doc="source address"),
                      "bind_port": dict(type="int", min=1, max=65535, doc="source port"),
                      "bind_if": dict(type="word", pattern=IFNAME, what="an interface name", doc="source interface"),
                      "connect_timeout": dict(type="number", min=0, doc="seconds"),
                      "fwmark": dict(type="int", min=1, max=4294967295, doc="firewall mark"),
                  }),
    "extra": dict(type="lines", doc="raw keepalived lines added to the checker"),
}

REALSERVER_SPEC = {
    "address": dict(type="ip", required=True, aliases=("ip",), doc="address of the real server"),
    "host": dict(type="word", doc="inventory hostname (its realserver_* role reads this entry)"),
    "port": dict(type="int", min=1, max=65535, doc="port (default the service's; only NAT may change it)"),
    "weight": dict(type="int", min=0, max=65535, default=DEFAULT_WEIGHT, doc="scheduler weight (0: drained)"),
    "inhibit_on_failure": dict(type="bool", doc="on failure set weight 0 instead of removing (default the service's)"),
    "notify_up": dict(type="str", doc="command run when the real server comes up (quoted)"),
    "notify_down": dict(type="str", doc="command run when the real server goes down (quoted)"),
    "upper_threshold": dict(type="int", min=0, doc="IPVS: connection limit"),
    "lower_threshold": dict(type="int", min=0, doc="IPVS: connections under which it gets traffic again"),
    "tun_type": dict(type="word", choices=("ipip", "gue", "gre"), doc="TUN: encapsulation"),
    "tun_port": dict(type="int", min=1, max=65535, doc="TUN gue: destination port"),
    "tun_flags": dict(type="list", elements="word", doc="TUN gue/gre: checksum flags"),
    "check": dict(type="dict", options=CHECKER_SPEC, doc="health check of this real server (overrides the service's)"),
    "checks": dict(type="list", elements="dict", options=CHECKER_SPEC, doc="several health checks"),
    "extra": dict(type="lines", doc="raw keepalived lines added to the real_server block"),
}

SERVICE_SPEC = {
    "name": dict(type="word", doc="name (a comment in keepalived.conf)"),
    "vip": dict(type="vip", aliases=("ip",), doc="virtual address (a /prefix is dropped); or fwmark, or group"),
    "fwmark": dict(type="int", min=1, max=4294967295, doc="firewall-mark service instead of vip/port"),
    "group": dict(type="word", pattern=NAME, what="a name", doc="a virtual_server_group name instead of vip"),
    "port": dict(type="int", min=0, max=65535, doc="port of the VIP (0 with persistence: all ports)"),
    "protocol": dict(type="word", default=DEFAULT_PROTOCOL, choices=("tcp", "udp", "sctp"), lower=True,
                     doc="tcp, udp or sctp"),
    "mode": dict(type="mode", aliases=("lb_kind", "lvs_method"),
                 doc="nat, dr or tun (default lvs_cluster.mode); forward method masq, route, tunnel"),
    "scheduler": dict(type="word", default=DEFAULT_SCHEDULER, aliases=("lb_algo", "lvs_sched"), pattern="[a-z_-]+",
                      what="a scheduler name", doc="IPVS scheduler (rr, wrr, lc, wlc, sh, dh, mh, ...)"),
    "sched_flags": dict(type="raw", doc="IPVS scheduler flags: a list (or comma-separated string) of "
                        "sh-fallback, sh-port (sh), mh-fallback, mh-port (mh); default for mh: [mh-fallback], "
                        "because mh keeps a drained (weight 0) real server in its table and, without the flag, "
                        "drops the new connections hashed to it (\"no destination available\", Kubernetes "
                        "#138688); given without mh-fallback, no real server may be at weight 0 or "
                        "inhibit_on_failure"),
    "persistence": dict(type="int", min=0, aliases=("persistence_timeout",),
                        doc="persistence timeout in seconds, 0 = none"),
    "persistence_granularity": dict(type="word", doc="netmask of persistence"),
    "netmask": dict(type="word", doc="IPVS persistence netmask (ipvs_table)"),
    "one_packet": dict(type="bool", doc="IPVS one-packet scheduling (UDP)"),
    "delay_loop": dict(type="number", min=0, default=DEFAULT_DELAY_LOOP, doc="seconds between health checks"),
    "quorum": dict(type="int", min=0, doc="minimum weight sum of live real servers"),
    "quorum_up": dict(type="str", doc="command run when the quorum is reached"),
    "quorum_down": dict(type="str", doc="command run when the quorum is lost"),
    "hysteresis": dict(type="int", min=0, doc="quorum hysteresis"),
    "alpha": dict(type="bool", doc="real servers start down until checked"),
    "omega": dict(type="bool", doc="run quorum_down when the service is removed"),
    "ha_suspend": dict(type="bool", doc="checks only where the VIP is"),
    "virtualhost": dict(type="word", doc="HTTP Host header of the checks"),
    "ops": dict(type="bool", doc="one-packet scheduling"),
    "retry": dict(type="int", min=0, doc="default retry of the checkers"),
    "delay_before_retry": dict(type="number", min=0, doc="default delay_before_retry of the checkers"),
    "connect_timeout": dict(type="number", min=0, doc="default connect_timeout of the checkers"),
    "warmup": dict(type="number", min=0, doc="default warmup of the checkers"),
    "inhibit_on_failure": dict(type="bool", doc="default inhibit_on_failure of the real servers"),
    "sorry_server": dict(type="dict", doc="server used when no real server is up", options={
        "address": dict(type="ip", required=True, aliases=("ip",), doc="its address"),
        "port": dict(type="int", min=1, max=65535, doc="its port (default the service's)"),
        "inhibit": dict(type="bool", default=False, doc="sorry_server_inhibit"),
    }),
    "check": dict(type="dict", options=CHECKER_SPEC, doc="health check of every real server"),
    "checks": dict(type="list", elements="dict", options=CHECKER_SPEC, doc="several health checks"),
    "extra": dict(type="lines", doc="raw keepalived lines added to the virtual_server block"),
    "realservers": dict(type="list", elements="dict", options=REALSERVER_SPEC, default=[],
                        aliases=("real_servers",), doc="the real servers"),
}

VIP_SPEC = {
    "address": dict(type="vip", required=True, doc="address[/prefix]"),
    "dev": dict(type="word", pattern=IFNAME, what="an interface name", doc="interface (default the instance's)"),
    "brd": dict(type="ip", doc="broadcast address"),
    "scope": dict(type="word", choices=("global", "site", "link", "host", "nowhere"), doc="address scope"),
    "label": dict(type="word", pattern=IFNAME, what="an address label (at most 15 characters)",
                  doc="address label (eth0:vip)"),
}

TRACKED = dict(type="list", elements="raw", doc="names, or {name, weight}")

INSTANCE_SPEC = {
    "name": dict(type="word", required=True, pattern=NAME, what="a name", doc="instance name"),
    "interface": dict(type="word", required=True, pattern=IFNAME, what="an interface name",
                      doc="interface VRRP runs on"),
    "virtual_router_id": dict(type="int", required=True, min=1, max=255, doc="VRID, 1-255, unique per interface"),
    "vips": dict(type="list", elements="vip_entry", default=[], aliases=("virtual_ipaddress",),
                 doc="address[/prefix] strings or {address, dev, brd, scope, label}"),
    "excluded_vips": dict(type="list", elements="vip_entry", default=[], doc="virtual_ipaddress_excluded"),
    "state": dict(type="word", choices=("MASTER", "BACKUP"), upper=True, doc="initial state (default derived)"),
    "priority": dict(type="int", min=1, max=255, doc="priority on every director (default lvs_vrrp_priority)"),
    "priorities": dict(type="raw", doc="{inventory_hostname: priority}"),
    "advert_int": dict(type="number", min=0, default=1, doc="seconds between adverts"),
    "version": dict(type="int", choices=(2, 3), doc="VRRP version"),
    "authentication": dict(type="dict", doc="VRRPv2 authentication", options={
        "type": dict(type="word", default="PASS", choices=("PASS", "AH"), upper=True, doc="PASS or AH"),
        "pass": dict(type="word", required=True, secret=True, doc="password, at most 8 characters"),
    }),
    "nopreempt": dict(type="bool", doc="do not take the VIPs back (starts BACKUP)"),
    "preempt_delay": dict(type="int", min=0, max=1000, doc="seconds before taking the VIPs back (starts BACKUP)"),
    "unicast_src_ip": dict(type="ip", doc="source address of unicast adverts"),
    "unicast_peers": dict(type="list", elements="ip", doc="unicast peers (no multicast)"),
    "unicast_from_inventory": dict(type="bool", doc="unicast adverts between the directors, their addresses from "
                                   "the inventory (keepalived_vrrp_peer_addresses); for networks without multicast"),
    "track_interfaces": dict(TRACKED),
    "track_scripts": dict(TRACKED),
    "track_files": dict(TRACKED),
    "notify_master": dict(type="str", doc="command run on MASTER (quoted)"),
    "notify_backup": dict(type="str", doc="command run on BACKUP (quoted)"),
    "notify_fault": dict(type="str", doc="command run on FAULT (quoted)"),
    "notify_stop": dict(type="str", doc="command run on stop (quoted)"),
    "notify": dict(type="str", doc="command run on every change (quoted)"),
    "smtp_alert": dict(type="bool", doc="mail on state changes"),
    "garp_master_delay": dict(type="int", min=0, doc="seconds before the second gratuitous ARP burst"),
    "garp_master_repeat": dict(type="int", min=1, doc="gratuitous ARPs per burst"),
    "garp_master_refresh": dict(type="int", min=0, doc="seconds between gratuitous ARP refreshes as MASTER"),
    "garp_master_refresh_repeat": dict(type="int", min=1, doc="gratuitous ARPs per refresh"),
    "garp_lower_prio_delay": dict(type="int", min=0, doc="delay of gratuitous ARPs after a lower priority advert"),
    "garp_lower_prio_repeat": dict(type="int", min=0, doc="gratuitous ARPs after a lower priority advert"),
    "mcast_src_ip": dict(type="ip", doc="source address of multicast adverts"),
    "dont_track_primary": dict(type="bool", doc="ignore faults of the VRRP interface"),
    "accept": dict(type="bool", doc="accept packets to the VIPs (needed with vrrp_strict)"),
    "no_accept": dict(type="bool", doc="drop packets to the VIPs"),
    "skip_check_adv_addr": dict(type="bool", doc="skip advert address checks"),
    "strict_mode": dict(type="bool", doc="vrrp_strict for this instance"),
    "use_vmac": dict(type="raw", doc="true or a VMAC interface name"),
    "debug": dict(type="raw", doc="true or a level"),
    "extra": dict(type="lines", doc="raw keepalived lines added to the vrrp_instance block"),
}

VRRP_SCRIPT_SPEC = {
    "name": dict(type="word", required=True, pattern=NAME, what="a name", doc="script name"),
    "script": dict(type="str", required=True, doc="the command (quoted)"),
    "interval": dict(type="number", min=0, doc="seconds between runs"),
    "timeout": dict(type="number", min=0, doc="seconds before a run fails"),
    "weight": dict(type="int", min=-254, max=254, doc="priority change"),
    "rise": dict(type="int", min=1, doc="successes before OK"),
    "fall": dict(type="int", min=1, doc="failures before KO"),
    "user": dict(type="str", doc="user [group] the script runs as"),
    "init_fail": dict(type="bool", doc="start failed"),
    "extra": dict(type="lines", doc="raw keepalived lines"),
}

TRACK_FILE_SPEC = {
    "name": dict(type="word", required=True, pattern=NAME, what="a name", doc="track file name"),
    "file": dict(type="str", required=True, doc="path of the file whose number changes the priority (quoted)"),
    "weight": dict(type="int", min=-254, max=254, doc="multiplier of the file's number (0: FAULT when not 0)"),
    "init_file": dict(type="raw", doc="true (create with 0) or a number to create the file with"),
}

SYNC_GROUP_SPEC = {
    "name": dict(type="word", required=True, pattern=NAME, what="a name", doc="group name"),
    "group": dict(type="list", elements="word", aliases=("instances",), default=[], doc="instance names"),
    "notify_master": dict(type="str", doc="command (quoted)"),
    "notify_backup": dict(type="str", doc="command (quoted)"),
    "notify_fault": dict(type="str", doc="command (quoted)"),
    "notify_stop": dict(type="str", doc="command (quoted)"),
    "notify": dict(type="str", doc="command (quoted)"),
    "smtp_alert": dict(type="bool", doc="mail on state changes"),
    "track_interfaces": dict(TRACKED),
    "track_scripts": dict(TRACKED),
    "extra": dict(type="lines", doc="raw keepalived lines"),
}

VS_GROUP_SPEC = {
    "name": dict(type="word", required=True, pattern=NAME, what="a name", doc="group name"),
    "members": dict(type="list", elements="dict", required=True, doc="[{ip, port} | {fwmark}]", options={
        "ip": dict(type="word", aliases=("vip",), pattern=r"[0-9A-Fa-f.:]+(-[0-9A-Fa-f]+)?",
                   what="an address or range (192.0.2.100-103)", doc="address or range"),
        "port": dict(type="int", min=0, max=65535, doc="port"),
        "fwmark": dict(type="int", min=1, max=4294967295, doc="firewall mark"),
    }),
}

SYNC_DAEMON_SPEC = {
    "interface": dict(type="word", required=True, pattern=IFNAME, what="an interface name",
                      doc="interface of the sync traffic"),
    "instance": dict(type="word", required=True, doc="VRRP instance whose state the daemons follow"),
    "id": dict(type="int", min=0, max=255, doc="sync id"),
    "maxlen": dict(type="int", min=1, max=65507, doc="maximum sync message length"),
    "port": dict(type="int", min=1, max=65535, doc="UDP port"),
    "ttl": dict(type="int", min=1, max=255, doc="multicast TTL"),
    "group": dict(type="ip", doc="multicast group"),
}

# Scheduler flags of the services (ipvs_model.SCHED_FLAGS: the same names and owners).
SCHED_FLAGS = {"sh-fallback": "sh", "sh-port": "sh", "mh-fallback": "mh", "mh-port": "mh"}
# conn_reuse_mode "auto": 0 on kernels 4.1 to 5.8, 1 from 5.9 on (what kube-proxy does);
# older kernels have no such setting.
CONN_REUSE_FIXED = (5, 9)
CONN_REUSE_MIN = (4, 1)

# net.ipv4.vs.* settings of the directors (Documentation/networking/ipvs-sysctl.rst).
IPVS_SYSCTL_SPEC = {
    "conn_reuse_mode": dict(type="word", default="auto", choices=("auto", "0", "1", "2"),
                            doc="what IPVS does with a new connection from a client port still in its table; "
                            "auto: by the director's kernel, 1 from 5.9 on (the 1-second stall of reused "
                            "ports and the rescheduling bug are both fixed there), 0 on 4.1-5.8 (1 stalls "
                            "every reused port 1 s, Kubernetes #70747, #81775, #93297), unset before 4.1; "
                            "0: the old real server keeps the port; 1: rescheduled when safe (TIME_WAIT, "
                            "expire_nodest_conn); 2: also in FIN_WAIT (DR/TUN directors see no TIME_WAIT)"),
    "expire_nodest_conn": dict(type="bool", default=True,
                               doc="a connection whose real server left the table (check failed) is dropped "
                               "at its next packet, so the client reconnects at once instead of waiting for "
                               "the timeout (kernel default false; kube-proxy sets true)"),
    "expire_quiescent_template": dict(type="bool", default=True,
                                      doc="a persistence template of a drained (weight 0) real server expires "
                                      "at the client's next connection, which is scheduled again; without it "
                                      "a persistent client keeps reaching the drained server until the "
                                      "template times out (Kubernetes #71834; kernel default false)"),
    "sloppy_tcp": dict(type="bool", default=False,
                       doc="create a connection entry from any TCP packet, not only a SYN: a backup director "
                       "carries connections it never saw open (with mh, the same table on both directors, "
                       "fail-over without the sync daemon in DR, google/seesaw #89; in NAT only for connections "
                       "whose client keeps sending: measured 0/6 for streams only the server sends, 6/6 "
                       "when the clients also send); kernel default false"),
    "sloppy_sctp": dict(type="bool", default=False,
                        doc="the same for SCTP (any chunk, not only INIT); kernel default false"),
    "backup_only": dict(type="bool", default=False,
                        doc="while its sync daemon is backup, the director does not forward for virtual "
                        "services: avoids DR/TUN loops where a director is also a real server of its peer; "
                        "kernel default false"),
}

# LVS-TUN and the MTU. The director wraps each packet of the client in one more
# header (IPIP/GUE/GRE) towards the real server; a client segment sized for a 1500-byte
# path no longer fits and the director answers with ICMP fragmentation-needed. Where
# such ICMP is dropped on the client's path, large uploads stall (cloudnativelabs/
# kube-router #630, PR #1063). The client sizes its segments by the MSS the real
# server advertises in its SYN-ACK, which goes straight to the client, never
# through the director: so the real server must advertise the smaller MSS
# (clamping on the director could only change the other, unencapsulated direction).
TUN_SPEC = {
    "path_mtu": dict(type="int", min=576, max=65535, default=1500,
                     doc="MTU of the path from the directors to the real servers, the one the encapsulated "
                     "packets take"),
    "clamp_mss": dict(type="bool", default=True,
                      doc="advertise the computed MSS on the real servers for connections to their TUN VIPs "
                      "(realserver_linux, module source_advmss); false leaves the kernel's MSS (path MTU "
                      "discovery must then work on every client's path)"),
    "mss": dict(type="int", min=88, max=65495,
                doc="the MSS to advertise instead of the computed one (path_mtu minus the outer header: IPv4 20, "
                "IPv6 40; the encapsulation: ipip 0, gue 8 UDP + 4 GUE (+8 with remcsum), gre 4 (+4 with csum); "
                "the inner IP header 20/40 and the TCP header 20; IPIP over IPv4 at 1500: 1440)"),
}

# Bytes the director adds per tunnel type, beyond the outer IP header (kernel
# ip_vs_xmit.c, __ip_vs_get_out_rt: udphdr 8 + guehdr 4, +GUE_PLEN_REMCSUM 4 +
# GUE_LEN_PRIV 4 with remcsum; gre_calc_hlen: 4, +4 with the checksum).
TUN_ENCAP_BYTES = {"ipip": 0, "gue": 8 + 4, "gre": 4}
DEFAULT_TUN_TYPE = "ipip"  # what IPVS uses when the destination names none


def _tun_flags(rs):
    flags = rs.get("tun_flags") or []
    return [flags] if isinstance(flags, str) else list(flags)


TUN_FLAGS = ("nocsum", "csum", "remcsum")


def _check_tunnel(rs, rpath):
    """The tunnel options of a TUN real server, checked together (the kernel's and keepalived's rules)."""
    tun_type = rs.get("tun_type") or DEFAULT_TUN_TYPE
    if tun_type == "gue" and rs.get("tun_port") is None:
        raise ClusterModelError(rpath + ".tun_port", "is required with tun_type gue (the real server's GUE UDP port)")
    if tun_type != "gue" and rs.get("tun_port") is not None:
        raise ClusterModelError(rpath + ".tun_port", "only a gue tunnel has a port, not %s" % tun_type)
    flags = _tun_flags(rs)
    if flags and tun_type == "ipip":
        raise ClusterModelError(rpath + ".tun_flags", "checksum flags are for gue and gre tunnels, not ipip")
    if len(flags) > 1:
        raise ClusterModelError(rpath + ".tun_flags", "one of %s, not several" % ", ".join(TUN_FLAGS))
    for flag in flags:
        if flag not in TUN_FLAGS:
            raise ClusterModelError(rpath + ".tun_flags", "must be one of %s, not %r" % (", ".join(TUN_FLAGS), flag))
        if flag == "remcsum" and tun_type != "gue":
            raise ClusterModelError(rpath + ".tun_flags", "remcsum is for gue tunnels only")


# The device of a Linux real server that takes a tunnel's packets off: IPIP and GUE
# (the fou port hands the inner IPIP packet on) end on the IPIP fallback device tunl0,
# key-less GRE on the GRE fallback device gre0.
TUN_DEVICE = {"ipip": "tunl0", "gue": "tunl0", "gre": "gre0"}


def _add_tunnel(tunnels, svc, rs):
    """A real server's decapsulation needs for one TUN service: its VIP on the tunnel's
    device, the GUE port opened."""
    tun_type = rs.get("tun_type") or DEFAULT_TUN_TYPE
    if svc["address"] and svc["address"] not in tunnels[TUN_DEVICE[tun_type]]:
        tunnels[TUN_DEVICE[tun_type]].append(svc["address"])
    if tun_type == "gue" and rs["tun_port"] not in tunnels["gue_ports"]:
        tunnels["gue_ports"].append(rs["tun_port"])


def tun_mss(path_mtu, rs_family, vip_family, tun_type=None, tun_flags=()):
    """The largest TCP MSS whose segments still fit path_mtu once encapsulated by the director."""
    tun_type = tun_type or DEFAULT_TUN_TYPE
    outer = 20 if rs_family == 4 else 40
    encap = TUN_ENCAP_BYTES[tun_type]
    if tun_type == "gue" and "remcsum" in tun_flags:
        encap += 8
    if tun_type == "gre" and "csum" in tun_flags:
        encap += 4
    inner = (20 if vip_family == 4 else 40) + 20  # IP and TCP header of the client's segment
    return path_mtu - outer - encap - inner


SCHEMA = {
    "mode": dict(type="mode", default=DEFAULT_MODE, doc="nat, dr or tun: the default mode of the services"),
    "nat_gateway": dict(type="ip", doc="NAT: the gateway of the real servers' replies (director DIP or LAN VIP)"),
    "vrrp": dict(type="dict", doc="keepalived fail-over between the directors (group lvs_directors)", options={
        "instances": dict(type="list", elements="dict", options=INSTANCE_SPEC, default=[],
                          doc="vrrp_instance blocks"),
        "sync_groups": dict(type="list", elements="dict", options=SYNC_GROUP_SPEC, default=[],
                            doc="vrrp_sync_group blocks"),
        "sync_daemon": dict(type="dict", options=SYNC_DAEMON_SPEC, doc="IPVS connection sync (lvs_sync_daemon)"),
        "track_files": dict(type="list", elements="dict", options=TRACK_FILE_SPEC, default=[],
                            doc="vrrp_track_file blocks (a file whose number changes the priority; track_files "
                            "names them)"),
        "garp_master_refresh": dict(type="int", min=0, doc="seconds between gratuitous ARP refreshes of the "
                                    "MASTER's VIPs (global vrrp_garp_master_refresh): routers with stale ARP "
                                    "caches after a VM freeze find the master again"),
        "scripts": dict(type="list", elements="dict", options=VRRP_SCRIPT_SPEC, default=[],
                        doc="vrrp_script blocks (checks whose result changes the priority; track_scripts names them)"),
    }),
    "ipvs": dict(type="dict", doc="IPVS settings of the directors", options={
        "timeouts": dict(type="dict", doc="connection timeouts (ipvsadm --set), seconds, set again at every boot "
                         "before keepalived starts; default the kernel's 900/120/300", options={
                             "tcp": dict(type="int", min=1, max=2147483, doc="established TCP"),
                             "tcp_fin": dict(type="int", min=1, max=2147483, doc="TCP after FIN"),
                             "udp": dict(type="int", min=1, max=2147483, doc="UDP"),
                         }),
        "conn_tab_bits": dict(type="int", min=8, max=20, doc="size of the connection hash table, 2^bits "
                              "(ip_vs module option, used when ip_vs is next loaded; kernel default 12)"),
        "sysctl": dict(type="dict", options=IPVS_SYSCTL_SPEC, doc="net.ipv4.vs.* kernel settings of the directors, "
                       "written to /etc/sysctl.d/90-lvs-director.conf (applied now and at boot); the defaults "
                       "apply when the block is not given"),
    }),
    "virtual_server_groups": dict(type="list", elements="dict", options=VS_GROUP_SPEC, default=[],
                                  doc="virtual_server_group blocks"),
    "tun": dict(type="dict", options=TUN_SPEC,
                doc="LVS-TUN: the TCP MSS the real servers advertise, so that the client's segments still fit "
                "the path once the director has encapsulated them (no reliance on ICMP fragmentation-needed)"),
    "services": dict(type="list", elements="dict", options=SERVICE_SPEC, default=[], doc="the virtual services"),
}


# ---------------------------------------------------------------- the validator

def _unknown(path, key, spec):
    names = sorted(set(spec) | set(a for f in spec.values() for a in f.get("aliases", ())))
    legacy = LEGACY.get(key)
    if legacy:
        return ClusterModelError("%s.%s" % (path, key), legacy)
    near = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    hint = "; did you mean %r?" % near[0] if near else "; valid keys: %s" % ", ".join(sorted(spec))
    return ClusterModelError("%s.%s" % (path, key), "unknown key%s" % hint)


def validate(value, spec, path):
    """Check the dict ``value`` against ``spec``: a new dict, aliases resolved, defaults applied."""
    if not isinstance(value, Mapping):
        raise ClusterModelError(path, "must be a dict, not %s" % _type_name(value))
    alias_of = {}
    for key, field in spec.items():
        for alias in field.get("aliases", ()):
            alias_of[alias] = key
    given = {}
    for key in value:
        name = alias_of.get(key, key)
        if name not in spec:
            raise _unknown(path, key, spec)
        if name in given:
            raise ClusterModelError("%s.%s" % (path, key), "is %s given twice (as %s and %s)"
                                    % (name, given[name], key))
        given[name] = key
    out = {}
    # the given keys first, in their order (keepalived writes open-ended keywords in that order)
    for name, key in given.items():
        if value[key] is not None:
            out[name] = _field(value[key], spec[name], "%s.%s" % (path, key))
    for name, field in spec.items():
        if name in out:
            continue
        if field.get("required"):
            raise ClusterModelError("%s.%s" % (path, name), "is required")
        if "default" in field:
            default = field["default"]
            out[name] = list(default) if isinstance(default, list) else default
    return out


def _field(value, field, path):
    kind = field["type"]
    if kind == "dict":
        result = validate(value, field["options"], path)
    elif kind == "list":
        if not isinstance(value, (list, tuple)):
            raise ClusterModelError(path, "must be a list, not %s" % _type_name(value))
        element = dict(field, type=field.get("elements", "raw"))
        element.pop("choices", None)
        result = [_field(item, element, "%s[%d]" % (path, i)) for i, item in enumerate(value)]
    else:
        result = _scalar(value, field, path)
    choices = field.get("choices")
    if choices is not None and result not in choices:
        near = difflib.get_close_matches(str(result), [str(c) for c in choices], n=1)
        raise ClusterModelError(path, "must be one of %s, not %r%s" % (
            ", ".join(str(c) for c in choices), result, "; did you mean %r?" % near[0] if near else ""))
    return result


def _scalar(value, field, path):
    if field.get("secret"):
        # a refused password must not end up in the play's output: say what is wrong, not what it is
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        text = text if isinstance(text, str) else None
        if text is None:
            problem = "must be a string, not %s" % _type_name(value)
        elif not text:
            problem = "must not be empty"
        elif len(text) > MAX_STRING:
            problem = "is %d characters long" % len(text)
        elif _UNSAFE.search(text):
            problem = "contains a character keepalived reads as configuration (control, quote, brace, #, !, \\)"
        elif not _WORD.match(text):
            problem = "must be one word (no blank)"
        else:
            problem = None
        if problem:
            raise ClusterModelError(path, "%s (value not shown)" % problem)
    kind = field["type"]
    if kind == "dict" or kind == "list":
        return _field(value, field, path)
    if kind == "raw":
        return value
    if kind == "vip_entry":
        if isinstance(value, Mapping):
            return validate(value, VIP_SPEC, path)
        return _scalar(value, dict(type="vip"), path)
    if kind == "lines":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ClusterModelError(path, "must be a list of lines, not %s" % _type_name(value))
        return [conf_line("%s[%d]" % (path, i), line) for i, line in enumerate(value)]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
            return value.lower() in ("yes", "true")
        raise ClusterModelError(path, "must be true or false, not %r" % (value,))
    if kind == "int":
        return conf_number(path, value, field.get("min"), field.get("max"))
    if kind == "number":
        return conf_number(path, value, field.get("min"), field.get("max"), integer=False)
    if kind == "ip":
        return str(parse_ip(path, value))
    if kind == "vip":
        ip, prefix = parse_vip(path, value)
        return str(ip) if prefix is None else "%s/%d" % (ip, prefix)
    if kind == "mode":
        text = conf_word(path, value).lower()
        if text not in FORWARD_OF_MODE:
            raise ClusterModelError(path, "must be nat, dr or tun, not %r" % _short(str(value)))
        return text
    if kind == "str":
        return conf_string(path, value)
    if kind == "word":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        text = conf_word(path, value, field.get("pattern"), field.get("what"))
        if field.get("upper"):
            text = text.upper()
        if field.get("lower"):
            text = text.lower()
        return text
    raise AssertionError("unknown field type %r at %s" % (kind, path))  # a defect of SCHEMA


# ---------------------------------------------------------------- the canonical model

def vip_address(vip):
    """'192.0.2.100/32' -> '192.0.2.100' (validated values only)."""
    return vip.split("/", 1)[0] if vip is not None else None


def _service_label(svc):
    if svc.get("fwmark") is not None:
        return "fwmark %s" % svc["fwmark"]
    if svc.get("group") is not None:
        return "group %s" % svc["group"]
    return "%s:%s" % (svc.get("vip"), svc.get("port"))


def _checks(obj):
    if obj.get("checks") is not None:
        return obj["checks"]
    return [obj["check"]] if obj.get("check") is not None else None


# IPv6 is built and proven for DR only (the ipv6 Molecule scenario). An IPv6 TUN real server
# needs an ip6tnl device to take the packets off the tunnel (the role sets up tunl0, IPv4's),
# IPv6 NAT needs the director's IPv6 forwarding and the real servers' route back through it:
# neither is prepared by the roles yet, so the description is refused rather than half-built.
IPV6_DR_ONLY = ("%s in a %s service: this collection prepares IPv6 services in DR mode only "
                "(IPv6 NAT and TUN real servers are not set up by its roles yet); use mode: dr")


def resolve_service(svc, path, cluster_mode=DEFAULT_MODE):
    """Service cross-field rules and resolved values (mode, forward, family, real server ports and checks)."""
    svc = dict(svc)
    if svc.get("fwmark") is not None and svc.get("vip") is not None:
        raise ClusterModelError(path + ".fwmark", "a service has either fwmark or vip, not both")
    if svc.get("group") is not None and (svc.get("vip") is not None or svc.get("fwmark") is not None):
        raise ClusterModelError(path + ".group", "a service has either group, fwmark or vip, only one")
    if svc.get("vip") is None and svc.get("fwmark") is None and svc.get("group") is None:
        raise ClusterModelError(path + ".vip", "is required (or fwmark, or group)")
    if svc.get("vip") is not None and svc.get("port") is None:
        raise ClusterModelError(path + ".port", "is required with vip")
    if svc.get("fwmark") is not None and svc.get("port") is not None:
        raise ClusterModelError(path + ".port", "a fwmark service has no port (the mark selects the traffic)")
    mode = svc.get("mode") or cluster_mode
    svc["mode"] = mode
    svc["forward"] = FORWARD_OF_MODE[mode]
    svc["address"] = vip_address(svc.get("vip"))
    svc["family"] = ipaddress.ip_address(svc["address"]).version if svc["address"] else None
    if svc["family"] == 6 and mode != "dr":
        raise ClusterModelError(path + ".vip", IPV6_DR_ONLY
                                % ("the IPv6 VIP %s" % svc["address"], mode))
    service_checks = _checks(svc)
    seen = {}
    realservers = []
    for i, rs0 in enumerate(svc.get("realservers") or []):
        rs = dict(rs0)
        rpath = "%s.realservers[%d]" % (path, i)
        family = ipaddress.ip_address(rs["address"]).version
        if svc["family"] and family != svc["family"] and mode != "tun":
            raise ClusterModelError(rpath + ".address", "an IPv%d real server behind the IPv%d VIP %s: the kernel "
                                    "forwards across address families only with tun, not %s"
                                    % (family, svc["family"], svc["address"], mode))
        if family == 6 and mode != "dr":
            raise ClusterModelError(rpath + ".address", IPV6_DR_ONLY % ("the IPv6 real server %s" % rs["address"], mode))
        if mode in ("dr", "tun") and rs.get("port") is not None and svc.get("port") not in (None, 0) \
                and rs["port"] != svc["port"]:
            raise ClusterModelError(rpath + ".port", "a %s real server keeps the service's port %s, not %s"
                                    % (mode.upper(), svc["port"], rs["port"]))
        if mode != "tun":
            for key in ("tun_type", "tun_port", "tun_flags"):
                if rs.get(key) is not None:
                    raise ClusterModelError("%s.%s" % (rpath, key), "applies to tun services only, not %s" % mode)
        else:
            _check_tunnel(rs, rpath)
        key = (rs["address"], rs.get("port", svc.get("port")))
        if key in seen:
            raise ClusterModelError(rpath, "duplicate real server %s port %s (also realservers[%d])"
                                    % (key[0], key[1], seen[key]))
        seen[key] = i
        rs["forward"] = svc["forward"]
        if rs.get("port") is None and svc.get("port") is not None:
            rs["port"] = svc["port"]  # the port the director sends to (a fwmark service has none)
        rs["checks"] = _checks(rs) if _checks(rs) is not None else (service_checks or [])
        rs.pop("check", None)
        if rs.get("inhibit_on_failure") is None:
            rs["inhibit_on_failure"] = bool(svc.get("inhibit_on_failure"))
        realservers.append(rs)
    svc["realservers"] = realservers
    svc["sched_flags"] = _sched_flags(svc, path)
    return svc


def _sched_flags(svc, path):
    """The service's scheduler flags, checked against its scheduler; mh gets mh-fallback by default."""
    value = svc.get("sched_flags")
    fpath = path + ".sched_flags"
    if value is None:
        # mh keeps a weight-0 real server in its lookup table: without the fallback the
        # connections hashed to a drained server find "no destination available"
        return ["mh-fallback"] if svc["scheduler"] == "mh" else None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)):
        raise ClusterModelError(fpath, "must be a list of flags, not %s" % _type_name(value))
    flags = []
    for i, flag in enumerate(value):
        if flag not in SCHED_FLAGS:
            raise ClusterModelError("%s[%d]" % (fpath, i), "must be one of %s, not %r"
                                    % (", ".join(sorted(SCHED_FLAGS)), flag))
        if SCHED_FLAGS[flag] != svc["scheduler"]:
            raise ClusterModelError("%s[%d]" % (fpath, i), "%s is a flag of the %s scheduler, not of %s"
                                    % (flag, SCHED_FLAGS[flag], svc["scheduler"]))
        if flag not in flags:
            flags.append(flag)
    if svc["scheduler"] == "mh" and "mh-fallback" not in flags:
        for r, rs in enumerate(svc["realservers"]):
            why = "weight: 0" if rs["weight"] == 0 else "inhibit_on_failure (weight 0 when its check fails)" \
                if rs["inhibit_on_failure"] else None
            if why:
                raise ClusterModelError(fpath, "needs mh-fallback: realservers[%d] has %s, and mh drops the new "
                                        "connections hashed to a weight-0 real server without it "
                                        "(no destination available)" % (r, why))
    return sorted(flags)


def _instance_rules(instances, path, global_defs=None, service_vips=()):
    names = {}
    vrids = {}
    for i, inst in enumerate(instances):
        ipath = "%s[%d]" % (path, i)
        if inst["name"] in names:
            raise ClusterModelError(ipath + ".name", "duplicate instance name %s (also %s[%d])"
                                    % (inst["name"], path, names[inst["name"]]))
        names[inst["name"]] = i
        _family_rules(inst, ipath)
        families = set(ipaddress.ip_address(vip_address(v if isinstance(v, str) else v["address"])).version
                       for v in inst.get("vips") or []) or {4}
        for family in families:
            key = (inst["interface"], inst["virtual_router_id"], family)
            if key in vrids and not (inst.get("unicast_peers") or inst.get("unicast_from_inventory")):
                raise ClusterModelError(ipath + ".virtual_router_id", "VRID %s is already used on %s by %s[%d]"
                                        % (key[1], key[0], path, vrids[key]))
            vrids[key] = i
        if inst.get("unicast_from_inventory") and (inst.get("unicast_peers") or inst.get("unicast_src_ip")):
            raise ClusterModelError(ipath + ".unicast_from_inventory", "give either unicast_from_inventory or "
                                    "unicast_peers/unicast_src_ip, not both")
        auth = inst.get("authentication")
        if auth is not None and len(auth["pass"]) > 8:
            raise ClusterModelError(ipath + ".authentication.pass", "is %d characters long: keepalived uses "
                                    "only the first 8" % len(auth["pass"]))
        if auth is not None and inst.get("version") == 3:
            raise ClusterModelError(ipath + ".authentication", "VRRP version 3 has no authentication")
        if isinstance(inst.get("advert_int"), float) and inst["advert_int"] < 1 and inst.get("version") != 3:
            raise ClusterModelError(ipath + ".advert_int", "sub-second adverts need version: 3")
        if global_defs and global_defs.get("vrrp_strict") and not inst.get("accept"):
            carried = [vip_address(v if isinstance(v, str) else v["address"]) for v in inst.get("vips") or []]
            hit = [v for v in carried if v in service_vips]
            if hit:
                raise ClusterModelError(ipath + ".accept", "vrrp_strict drops traffic to the VIP %s, which carries "
                                        "a virtual server: set accept: true" % hit[0])


def _family_rules(inst, ipath):
    """One address family per instance; an IPv6 instance is VRRPv3 with a link-local first VIP.

    keepalived runs a VRRP instance in one family (the first VIP's) and sends IPv6 adverts
    only with VRRP version 3; RFC 5798 5.2.9 puts the virtual router's link-local address
    first in an IPv6 advert, and keepalived warns "the first IPv6 VIP address should be
    link local" (a configuration error under vrrp_strict, the FAULT of keepalived #1354).
    The model does not invent that address (it must be the same on every director and
    unique per VRID on the link): it asks for it, naming the field."""
    vips = inst.get("vips") or []
    if not vips:
        return
    ips = [ipaddress.ip_address(vip_address(v if isinstance(v, str) else v["address"])) for v in vips]
    family = ips[0].version
    for n, ip in enumerate(ips):
        if ip.version != family:
            raise ClusterModelError("%s.vips[%d]" % (ipath, n), "%s is IPv%d but the instance's first VIP %s is "
                                    "IPv%d: keepalived runs an instance in one address family; put it in an "
                                    "instance of its own" % (ip, ip.version, ips[0], family))
    for key in ("unicast_src_ip", "mcast_src_ip"):
        if inst.get(key) is not None and ipaddress.ip_address(inst[key]).version != family:
            raise ClusterModelError("%s.%s" % (ipath, key), "%s is not IPv%d like the instance's VIPs"
                                    % (inst[key], family))
    for n, peer in enumerate(inst.get("unicast_peers") or []):
        if ipaddress.ip_address(peer).version != family:
            raise ClusterModelError("%s.unicast_peers[%d]" % (ipath, n), "%s is not IPv%d like the instance's "
                                    "VIPs" % (peer, family))
    if family != 6:
        return
    if inst.get("version") != 3:
        raise ClusterModelError(ipath + ".version", "an IPv6 instance runs VRRP version 3 (VRRPv2 has no IPv6): "
                                "set version: 3%s" % ("" if inst.get("version") is None else ", not 2"))
    if not ips[0].is_link_local:
        raise ClusterModelError("%s.vips[0]" % ipath, "the first VIP of an IPv6 instance must be link-local "
                                "(fe80::/10), not %s: keepalived sends it first in the VRRPv3 advert (RFC 5798 "
                                "5.2.9; keepalived #1354); add one before it, the same on every director and "
                                "unique on the link, e.g. fe80::%x:1/64" % (ips[0], inst["virtual_router_id"]))


def instance_vip_addresses(inst):
    return [vip_address(v if isinstance(v, str) else v["address"]) for v in inst.get("vips") or []]


def cluster_model(lvs_cluster, directors=None, path="lvs_cluster"):
    """The canonical description: validated, aliases resolved, every default applied.

    directors: the inventory names of the directors (group lvs_directors), for the rule
    "two directors must not both carry a VIP without VRRP".
    """
    if lvs_cluster is None:
        lvs_cluster = {}
    cluster = validate(lvs_cluster, SCHEMA, path)
    if cluster.get("tun") is None:
        cluster["tun"] = validate({}, TUN_SPEC, path + ".tun")  # its defaults: the canonical form has them all
    services = [resolve_service(svc, "%s.services[%d]" % (path, i), cluster["mode"])
                for i, svc in enumerate(cluster["services"])]
    names = {}
    for i, svc in enumerate(services):
        ident = (svc["protocol"], svc["address"], svc.get("port")) if svc["address"] else \
            ("fwmark", svc.get("fwmark")) if svc.get("fwmark") is not None else ("group", svc["group"], svc.get("port"))
        if ident in names:
            raise ClusterModelError("%s.services[%d]" % (path, i), "duplicate service %s (also services[%d])"
                                    % (_service_label(svc), names[ident]))
        names[ident] = i
    groups = [g["name"] for g in cluster["virtual_server_groups"]]
    for i, svc in enumerate(services):
        if svc.get("group") is not None and svc["group"] not in groups:
            raise ClusterModelError("%s.services[%d].group" % (path, i),
                                    "no virtual_server_group is named %s" % svc["group"])
    vrrp = cluster.get("vrrp")
    vips = []
    for svc in services:
        if svc["address"] and svc["address"] not in vips:
            vips.append(svc["address"])
    if vrrp is not None:
        _instance_rules(vrrp["instances"], path + ".vrrp.instances", service_vips=vips)
        carried = [a for inst in vrrp["instances"] for a in instance_vip_addresses(inst)]
        for i, svc in enumerate(services):
            if svc["address"] and svc["address"] not in carried:
                raise ClusterModelError("%s.services[%d].vip" % (path, i), "%s is on no VRRP instance: no director "
                                        "would carry it (add it to an instance's vips)" % svc["address"])
        for inst in vrrp["instances"]:
            inst["addresses"] = instance_vip_addresses(inst)  # the VIPs without prefix
        inames = [inst["name"] for inst in vrrp["instances"]]
        scripts = [script["name"] for script in vrrp["scripts"]]
        for i, inst in enumerate(vrrp["instances"]):
            for t, tracked in enumerate(inst.get("track_scripts") or []):
                name = tracked.get("name") if isinstance(tracked, Mapping) else tracked
                if vrrp["scripts"] and name not in scripts:
                    raise ClusterModelError("%s.vrrp.instances[%d].track_scripts[%d]" % (path, i, t),
                                            "no script in lvs_cluster.vrrp.scripts is named %s" % name)
        files = [track["name"] for track in vrrp["track_files"]]
        for i, inst in enumerate(vrrp["instances"]):
            for t, tracked in enumerate(inst.get("track_files") or []):
                name = tracked.get("name") if isinstance(tracked, Mapping) else tracked
                if vrrp["track_files"] and name not in files:
                    raise ClusterModelError("%s.vrrp.instances[%d].track_files[%d]" % (path, i, t),
                                            "no entry of lvs_cluster.vrrp.track_files is named %s" % name)
        for g, group in enumerate(vrrp["sync_groups"]):
            for m, member in enumerate(group["group"]):
                if member not in inames:
                    raise ClusterModelError("%s.vrrp.sync_groups[%d].group[%d]" % (path, g, m),
                                            "no VRRP instance is named %s" % member)
        daemon = vrrp.get("sync_daemon")
        if daemon is not None and daemon["instance"] not in inames:
            raise ClusterModelError(path + ".vrrp.sync_daemon.instance", "no VRRP instance is named %s"
                                    % daemon["instance"])

    realservers = {}
    for svc in services:
        for rs in svc["realservers"]:
            if not rs.get("host"):
                continue
            entry = realservers.setdefault(rs["host"], {
                "services": [], "vips": {"dr": [], "tun": [], "nat": [], "dr_tun": []}, "addresses": [],
                "tun_mss": [], "tunnels": {"tunl0": [], "gre0": [], "gue_ports": []}})
            entry["services"].append(_realserver_service(svc, rs))
            if svc["address"] and svc["address"] not in entry["vips"][svc["mode"]]:
                entry["vips"][svc["mode"]].append(svc["address"])
            # DR and TUN VIPs in service order: the ones a real server carries without answering ARP
            if svc["mode"] in ("dr", "tun") and svc["address"] and svc["address"] not in entry["vips"]["dr_tun"]:
                entry["vips"]["dr_tun"].append(svc["address"])
            if svc["mode"] == "tun":
                _add_tunnel(entry["tunnels"], svc, rs)
            if svc["mode"] == "tun" and svc["address"] and svc["protocol"] == "tcp" and cluster["tun"]["clamp_mss"]:
                _add_tun_mss(entry["tun_mss"], svc, rs, cluster["tun"])
            if rs["address"] not in entry["addresses"]:
                entry["addresses"].append(rs["address"])
    modes = [svc["mode"] for svc in services]
    cluster["services"] = services
    cluster["director"] = {
        "vips": vips,
        # NAT directors route the real servers' replies: any NAT service needs ip_forward
        "ip_forward": "nat" in modes,
        "modes": sorted(set(modes)),
        "keepalived": vrrp is not None,
        "schedulers": sorted(set(svc["scheduler"] for svc in services)),
        # net.ipv4.vs.* settings, every default applied (conn_reuse_mode "auto" is resolved
        # per director by director_sysctls, from its kernel version)
        "ipvs_sysctl": validate((cluster.get("ipvs") or {}).get("sysctl") or {}, IPVS_SYSCTL_SPEC,
                                path + ".ipvs.sysctl"),
    }
    cluster["realservers"] = realservers
    # the services as lvs.cluster.ipvs_table takes them, so that the roles read them without a filter
    cluster["director"]["ipvs_services"] = ipvs_services(cluster)
    check_directors(cluster, directors, path)
    return cluster


def check_directors(model, directors, path="lvs_cluster"):
    """The rule that needs the inventory: several directors (inventory names) without VRRP
    would each carry every VIP. model: cluster_model's result."""
    vips = model["director"]["vips"]
    if model.get("vrrp") is None and directors is not None and len(directors) > 1 and vips:
        raise ClusterModelError(path + ".vrrp", "is required with %d directors (%s): without VRRP each of them "
                                "would carry %s" % (len(directors), ", ".join(directors), ", ".join(vips)))
    return model


def _add_tun_mss(entries, svc, rs, tun):
    """One {address, mss} per TUN VIP of a real server: the smallest MSS of its services there."""
    rs_family = ipaddress.ip_address(rs["address"]).version
    mss = tun.get("mss") or tun_mss(tun["path_mtu"], rs_family, svc["family"], rs.get("tun_type"), _tun_flags(rs))
    for entry in entries:
        if entry["address"] == svc["address"]:
            entry["mss"] = min(entry["mss"], mss)
            return
    entries.append({"address": svc["address"], "mss": mss})


def _realserver_service(svc, rs):
    """A service as one real server sees it (the shape of the realserver_services filter)."""
    item = dict((k, v) for k, v in svc.items() if k != "realservers")
    item["realserver"] = rs
    return item


def kernel_version(release):
    """(major, minor) of a kernel release string ("6.1.0-27-amd64"), or None."""
    match = re.match(r"\s*(\d+)\.(\d+)", str(release or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def director_sysctls(model, kernel_release):
    """{net.ipv4.vs.<name>: "value"} for one director, from the canonical model's
    director.ipvs_sysctl; conn_reuse_mode "auto" resolved by the director's kernel
    (kernel_release as uname -r prints it)."""
    settings = model["director"]["ipvs_sysctl"]
    out = {}
    for name in sorted(settings):
        value = settings[name]
        if name == "conn_reuse_mode" and value == "auto":
            version = kernel_version(kernel_release)
            if version is None:
                raise ClusterModelError("lvs_cluster.ipvs.sysctl.conn_reuse_mode", "auto needs the director's "
                                        "kernel version, not %r: give 0, 1 or 2" % _short(str(kernel_release)))
            if version < CONN_REUSE_MIN:
                continue  # the kernel has no conn_reuse_mode
            value = "1" if version >= CONN_REUSE_FIXED else "0"
        out["net.ipv4.vs." + name] = str(int(value)) if isinstance(value, bool) else value
    return out


def ipvs_services(model):
    """The canonical services in the format of lvs.cluster.ipvs_table."""
    out = []
    for svc in model["services"]:
        entry = {"scheduler": svc["scheduler"]}
        if svc.get("fwmark") is not None:
            entry["fwmark"] = svc["fwmark"]
        else:
            entry.update(protocol=svc["protocol"], address=svc["address"], port=svc.get("port"))
        for key in ("persistence", "netmask", "sched_flags", "one_packet"):
            if svc.get(key) is not None:
                entry[key] = svc[key]
        entry["destinations"] = []
        for rs in svc["realservers"]:
            dest = {"address": rs["address"], "forward": rs["forward"], "weight": rs["weight"]}
            for key in ("port", "upper_threshold", "lower_threshold", "tun_type", "tun_port"):
                if rs.get(key) is not None:
                    dest[key] = rs[key]
            if _tun_flags(rs):
                dest["tun_flags"] = _tun_flags(rs)[0]  # one flag (checked): ipvs_table takes it as a word
            entry["destinations"].append(dest)
        out.append(entry)
    return out


# ---------------------------------------------------------------- documentation

def _type_doc(field):
    kind = field["type"]
    if kind == "list":
        element = field.get("elements", "raw")
        return "list of %s" % ("dict" if element == "dict" else {"vip_entry": "VIP", "word": "str"}.get(element, element))
    return {"word": "str", "vip": "VIP", "mode": "str", "lines": "list of lines", "raw": "any"}.get(kind, kind)


def schema_markdown(spec=None, path="lvs_cluster", seen=None):
    """The reference tables of docs/cluster-model.md, one per block, generated from SCHEMA."""
    spec = SCHEMA if spec is None else spec
    seen = {} if seen is None else seen
    out = ["### `%s`" % path, "", "| key | type | default | description |", "| --- | --- | --- | --- |"]
    nested = []
    for key in sorted(spec):
        field = spec[key]
        notes = [field.get("doc", "")]
        if field.get("choices"):
            notes.append("one of %s" % ", ".join("`%s`" % c for c in field["choices"]))
        if field.get("aliases"):
            notes.append("alias %s" % ", ".join("`%s`" % a for a in field["aliases"]))
        if field.get("required"):
            notes.append("required")
        options = field.get("options") or (VIP_SPEC if field.get("elements") == "vip_entry" else None)
        sub = "%s.%s%s" % (path, key, "[]" if field["type"] == "list" else "")
        if options is not None and id(options) in seen:
            notes.append("keys as in `%s`" % seen[id(options)])
        elif options is not None:
            seen[id(options)] = sub
            nested.append((options, sub))
        default = field.get("default")
        out.append("| `%s` | %s | %s | %s |" % (key, _type_doc(field), "" if default is None else "`%s`" % (default,),
                                                "; ".join(n for n in notes if n)))
    out.append("")
    for options, sub in nested:
        out.extend(schema_markdown(options, sub, seen).split("\n"))
    return "\n".join(out)
