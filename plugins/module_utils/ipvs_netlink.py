# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPVS through generic netlink (family "IPVS"), on pyroute2's netlink machinery.

We declare the IPVS messages ourselves instead of using pyroute2.IPVS: the
distributions' pyroute2 (Debian 12: 0.7.2) has no IPVS class, and none has the
daemon and timeout commands. The attribute layout follows
include/uapi/linux/ip_vs.h. Works with pyroute2 0.7.x and 0.9.x.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import ipaddress
import socket
import struct

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model

try:
    from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, genlmsg, nla
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.generic import GenericNetlinkSocket
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError as exc:  # reported by the modules through missing_required_lib
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = exc
    genlmsg = nla = object
    GenericNetlinkSocket = object

GENL_NAME = "IPVS"
GENL_VERSION = 1

CMD = {
    "NEW_SERVICE": 1, "SET_SERVICE": 2, "DEL_SERVICE": 3, "GET_SERVICE": 4,
    "NEW_DEST": 5, "SET_DEST": 6, "DEL_DEST": 7, "GET_DEST": 8,
    "NEW_DAEMON": 9, "DEL_DAEMON": 10, "GET_DAEMON": 11,
    "SET_CONFIG": 12, "GET_CONFIG": 13, "GET_INFO": 15, "ZERO": 16, "FLUSH": 17,
}
DAEMON_STATES = {"master": 1, "backup": 2}


class IPVSError(Exception):
    pass


if HAS_PYROUTE2:
    _STATS = (
        ("IPVS_STATS_ATTR_UNSPEC", "none"),
        ("IPVS_STATS_ATTR_CONNS", "uint32"),
        ("IPVS_STATS_ATTR_INPKTS", "uint32"),
        ("IPVS_STATS_ATTR_OUTPKTS", "uint32"),
        ("IPVS_STATS_ATTR_INBYTES", "uint64"),
        ("IPVS_STATS_ATTR_OUTBYTES", "uint64"),
        ("IPVS_STATS_ATTR_CPS", "uint32"),
        ("IPVS_STATS_ATTR_INPPS", "uint32"),
        ("IPVS_STATS_ATTR_OUTPPS", "uint32"),
        ("IPVS_STATS_ATTR_INBPS", "uint32"),
        ("IPVS_STATS_ATTR_OUTBPS", "uint32"),
    )
    _STATS64 = tuple((name, "none" if kind == "none" else "uint64") for name, kind in _STATS)

    class _Stats(nla):
        nla_map = _STATS

    class _Stats64(nla):
        nla_map = _STATS64

    class ipvs_msg(genlmsg):
        prefix = "IPVS_CMD_ATTR_"
        nla_map = (
            ("IPVS_CMD_ATTR_UNSPEC", "none"),
            ("IPVS_CMD_ATTR_SERVICE", "service"),
            ("IPVS_CMD_ATTR_DEST", "dest"),
            ("IPVS_CMD_ATTR_DAEMON", "daemon"),
            ("IPVS_CMD_ATTR_TIMEOUT_TCP", "uint32"),
            ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", "uint32"),
            ("IPVS_CMD_ATTR_TIMEOUT_UDP", "uint32"),
        )

        class service(nla):
            prefix = "IPVS_SVC_ATTR_"
            nla_map = (
                ("IPVS_SVC_ATTR_UNSPEC", "none"),
                ("IPVS_SVC_ATTR_AF", "uint16"),
                ("IPVS_SVC_ATTR_PROTOCOL", "uint16"),
                ("IPVS_SVC_ATTR_ADDR", "cdata"),
                ("IPVS_SVC_ATTR_PORT", "be16"),
                ("IPVS_SVC_ATTR_FWMARK", "uint32"),
                ("IPVS_SVC_ATTR_SCHED_NAME", "asciiz"),
                ("IPVS_SVC_ATTR_FLAGS", "cdata"),
                ("IPVS_SVC_ATTR_TIMEOUT", "uint32"),
                ("IPVS_SVC_ATTR_NETMASK", "cdata"),
                ("IPVS_SVC_ATTR_STATS", "stats"),
                ("IPVS_SVC_ATTR_PE_NAME", "asciiz"),
                ("IPVS_SVC_ATTR_STATS64", "stats64"),
            )
            stats = _Stats
            stats64 = _Stats64

        class dest(nla):
            prefix = "IPVS_DEST_ATTR_"
            nla_map = (
                ("IPVS_DEST_ATTR_UNSPEC", "none"),
                ("IPVS_DEST_ATTR_ADDR", "cdata"),
                ("IPVS_DEST_ATTR_PORT", "be16"),
                ("IPVS_DEST_ATTR_FWD_METHOD", "uint32"),
                ("IPVS_DEST_ATTR_WEIGHT", "uint32"),
                ("IPVS_DEST_ATTR_U_THRESH", "uint32"),
                ("IPVS_DEST_ATTR_L_THRESH", "uint32"),
                ("IPVS_DEST_ATTR_ACTIVE_CONNS", "uint32"),
                ("IPVS_DEST_ATTR_INACT_CONNS", "uint32"),
                ("IPVS_DEST_ATTR_PERSIST_CONNS", "uint32"),
                ("IPVS_DEST_ATTR_STATS", "stats"),
                ("IPVS_DEST_ATTR_ADDR_FAMILY", "uint16"),
                ("IPVS_DEST_ATTR_STATS64", "stats64"),
                ("IPVS_DEST_ATTR_TUN_TYPE", "uint8"),
                ("IPVS_DEST_ATTR_TUN_PORT", "be16"),
                ("IPVS_DEST_ATTR_TUN_FLAGS", "uint16"),
            )
            stats = _Stats
            stats64 = _Stats64

        class daemon(nla):
            prefix = "IPVS_DAEMON_ATTR_"
            nla_map = (
                ("IPVS_DAEMON_ATTR_UNSPEC", "none"),
                ("IPVS_DAEMON_ATTR_STATE", "uint32"),
                ("IPVS_DAEMON_ATTR_MCAST_IFN", "asciiz"),
                ("IPVS_DAEMON_ATTR_SYNC_ID", "uint32"),
                ("IPVS_DAEMON_ATTR_SYNC_MAXLEN", "uint16"),
                ("IPVS_DAEMON_ATTR_MCAST_GROUP", "cdata"),
                ("IPVS_DAEMON_ATTR_MCAST_GROUP6", "cdata"),
                ("IPVS_DAEMON_ATTR_MCAST_PORT", "uint16"),
                ("IPVS_DAEMON_ATTR_MCAST_TTL", "uint8"),
            )

    class ipvs_info_msg(genlmsg):
        prefix = "IPVS_INFO_ATTR_"
        nla_map = (
            ("IPVS_INFO_ATTR_UNSPEC", "none"),
            ("IPVS_INFO_ATTR_VERSION", "uint32"),
            ("IPVS_INFO_ATTR_CONN_TAB_SIZE", "uint32"),
        )


def _family(name):
    return socket.AF_INET6 if name == "ipv6" else socket.AF_INET


def _addr_bytes(address):
    # union nf_inet_addr: 16 bytes, IPv4 in the first four.
    return ipaddress.ip_address(address).packed.ljust(16, b"\0")


def _addr_text(raw, af):
    if af == socket.AF_INET6:
        return str(ipaddress.IPv6Address(raw[:16]))
    return str(ipaddress.IPv4Address(raw[:4]))


def _attrs(msg):
    return dict((a[0], a[1]) for a in msg.get("attrs", []))


def _stats(node):
    """Counters and rates of a service or destination (stats64 when present)."""
    attrs = _attrs(node)
    raw = attrs.get("IPVS_SVC_ATTR_STATS64") or attrs.get("IPVS_DEST_ATTR_STATS64") \
        or attrs.get("IPVS_SVC_ATTR_STATS") or attrs.get("IPVS_DEST_ATTR_STATS")
    out = {}
    if raw is None:
        return out
    for key, value in _attrs(raw).items():
        if key != "IPVS_STATS_ATTR_UNSPEC":
            out[key.replace("IPVS_STATS_ATTR_", "").lower()] = value
    return out


def service_attrs(svc, full=True):
    """Netlink attributes of a service: the key, plus its settings when full."""
    attrs = [("IPVS_SVC_ATTR_AF", _family(svc["family"]))]
    if svc.get("fwmark"):
        attrs.append(("IPVS_SVC_ATTR_FWMARK", svc["fwmark"]))
    else:
        attrs += [("IPVS_SVC_ATTR_PROTOCOL", model.PROTOCOLS[svc["protocol"]]),
                  ("IPVS_SVC_ATTR_ADDR", _addr_bytes(svc["address"])),
                  ("IPVS_SVC_ATTR_PORT", svc["port"])]
    if not full:
        return attrs
    flags = 0
    if svc["persistence"]:
        flags |= model.SVC_F_PERSISTENT
    if svc["one_packet"]:
        flags |= model.SVC_F_ONEPACKET
    for flag in svc["sched_flags"]:
        flags |= model.SCHED_FLAGS[flag][1]
    mask = 0xFFFFFFFF
    if svc["family"] == "ipv4":
        netmask = ipaddress.IPv4Address(svc["netmask"]).packed  # network order, as the kernel keeps it
    else:
        netmask = struct.pack("=I", svc["netmask"])
    attrs += [("IPVS_SVC_ATTR_SCHED_NAME", svc["scheduler"]),
              ("IPVS_SVC_ATTR_FLAGS", struct.pack("=II", flags, mask)),
              ("IPVS_SVC_ATTR_TIMEOUT", svc["persistence"] or model.DEFAULT_PERSISTENCE),
              ("IPVS_SVC_ATTR_NETMASK", netmask)]
    return attrs


def dest_attrs(dest, svc, full=True):
    af = socket.AF_INET6 if ":" in dest["address"] else socket.AF_INET
    attrs = [("IPVS_DEST_ATTR_ADDR", _addr_bytes(dest["address"])),
             ("IPVS_DEST_ATTR_PORT", dest["port"])]
    if not full:
        return attrs
    attrs += [("IPVS_DEST_ATTR_FWD_METHOD", model.FORWARD[dest["forward"]]),
              ("IPVS_DEST_ATTR_WEIGHT", dest["weight"]),
              ("IPVS_DEST_ATTR_U_THRESH", dest["upper_threshold"]),
              ("IPVS_DEST_ATTR_L_THRESH", dest["lower_threshold"]),
              ("IPVS_DEST_ATTR_ADDR_FAMILY", af)]
    if dest["forward"] == "tunnel":
        attrs.append(("IPVS_DEST_ATTR_TUN_TYPE", model.TUN_TYPES[dest["tun_type"]]))
        if dest["tun_port"]:
            attrs.append(("IPVS_DEST_ATTR_TUN_PORT", dest["tun_port"]))
        if dest["tun_flags"]:
            attrs.append(("IPVS_DEST_ATTR_TUN_FLAGS", model.TUN_FLAGS[dest["tun_flags"]]))
    return attrs


def parse_service(node):
    a = _attrs(node)
    af = a.get("IPVS_SVC_ATTR_AF", socket.AF_INET)
    family = "ipv6" if af == socket.AF_INET6 else "ipv4"
    flags = struct.unpack("=II", a["IPVS_SVC_ATTR_FLAGS"][:8])[0]
    svc = {"family": family, "fwmark": None, "protocol": None, "address": None, "port": None}
    if a.get("IPVS_SVC_ATTR_FWMARK"):
        svc["fwmark"] = a["IPVS_SVC_ATTR_FWMARK"]
    else:
        svc["protocol"] = model.PROTOCOL_NAMES.get(a.get("IPVS_SVC_ATTR_PROTOCOL"), str(a.get("IPVS_SVC_ATTR_PROTOCOL")))
        svc["address"] = _addr_text(a["IPVS_SVC_ATTR_ADDR"], af)
        svc["port"] = a["IPVS_SVC_ATTR_PORT"]
    sched = a.get("IPVS_SVC_ATTR_SCHED_NAME", "")
    raw_mask = a.get("IPVS_SVC_ATTR_NETMASK", b"\xff\xff\xff\xff")
    if family == "ipv4":
        netmask = str(ipaddress.IPv4Address(raw_mask[:4]))
    else:
        netmask = struct.unpack("=I", raw_mask[:4])[0]
    svc.update({
        "scheduler": sched,
        "sched_flags": sorted(name for name, (owner, bit) in model.SCHED_FLAGS.items()
                              if owner == sched and flags & bit),
        "persistence": a.get("IPVS_SVC_ATTR_TIMEOUT", 0) if flags & model.SVC_F_PERSISTENT else 0,
        "netmask": netmask,
        "one_packet": bool(flags & model.SVC_F_ONEPACKET),
    })
    if a.get("IPVS_SVC_ATTR_PE_NAME"):
        svc["pe_name"] = a["IPVS_SVC_ATTR_PE_NAME"]
    return svc


def parse_dest(node, svc_family):
    a = _attrs(node)
    af = a.get("IPVS_DEST_ATTR_ADDR_FAMILY") or _family(svc_family)
    fwd = a.get("IPVS_DEST_ATTR_FWD_METHOD", 0) & 0x7
    dest = {
        "address": _addr_text(a["IPVS_DEST_ATTR_ADDR"], af),
        "port": a.get("IPVS_DEST_ATTR_PORT", 0),
        "forward": model.FORWARD_NAMES.get(fwd, "local" if fwd == 1 else str(fwd)),
        "weight": a.get("IPVS_DEST_ATTR_WEIGHT", 0),
        "upper_threshold": a.get("IPVS_DEST_ATTR_U_THRESH", 0),
        "lower_threshold": a.get("IPVS_DEST_ATTR_L_THRESH", 0),
        "tun_type": None, "tun_port": None, "tun_flags": None,
    }
    if dest["forward"] == "tunnel":
        dest["tun_type"] = model.TUN_TYPE_NAMES.get(a.get("IPVS_DEST_ATTR_TUN_TYPE", 0), "ipip")
        dest["tun_port"] = a.get("IPVS_DEST_ATTR_TUN_PORT") or None
        if dest["tun_type"] in ("gue", "gre"):
            dest["tun_flags"] = model.TUN_FLAG_NAMES.get(a.get("IPVS_DEST_ATTR_TUN_FLAGS", 0), "nocsum")
    return dest


def parse_dest_counters(node):
    a = _attrs(node)
    return {"active_connections": a.get("IPVS_DEST_ATTR_ACTIVE_CONNS", 0),
            "inactive_connections": a.get("IPVS_DEST_ATTR_INACT_CONNS", 0),
            "persistent_connections": a.get("IPVS_DEST_ATTR_PERSIST_CONNS", 0),
            "stats": _stats(node)}


class IPVS(object):
    """One netlink session with the kernel's IPVS (in this network namespace)."""

    def __init__(self):
        self.sock = GenericNetlinkSocket()
        try:
            self.sock.bind(GENL_NAME, ipvs_msg)
        except NetlinkError as exc:
            self.sock.close()
            raise IPVSError("the kernel has no IPVS generic netlink family (is the ip_vs module loaded?): %s" % exc)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, cmd, attrs, dump=False):
        msg = ipvs_msg()
        msg["cmd"] = CMD[cmd]
        msg["version"] = GENL_VERSION
        msg["attrs"] = attrs
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK)
        try:
            return list(self.sock.nlm_request(msg, msg_type=self.sock.prid, msg_flags=flags))
        except NetlinkError as exc:
            raise IPVSError("IPVS %s failed: %s" % (cmd.lower().replace("_", " "), _errtext(exc)))

    # --- reading
    def services(self, with_stats=False):
        out = []
        for msg in self._request("GET_SERVICE", [], dump=True):
            node = msg.get_attr("IPVS_CMD_ATTR_SERVICE")
            if node is None:
                continue
            svc = parse_service(node)
            if with_stats:
                svc["stats"] = _stats(node)
            out.append(svc)
        return out

    def dests(self, svc, with_counters=False):
        out = []
        msgs = self._request("GET_DEST", [("IPVS_CMD_ATTR_SERVICE", {"attrs": service_attrs(svc, full=False)})],
                             dump=True)
        for msg in msgs:
            node = msg.get_attr("IPVS_CMD_ATTR_DEST")
            if node is None:
                continue
            dest = parse_dest(node, svc["family"])
            if with_counters:
                dest.update(parse_dest_counters(node))
            out.append(dest)
        return out

    def table(self, with_stats=False):
        return [(svc, self.dests(svc, with_counters=with_stats)) for svc in self.services(with_stats)]

    def timeouts(self):
        msgs = self._request("GET_CONFIG", [], dump=False)
        for msg in msgs:
            if msg.get_attr("IPVS_CMD_ATTR_TIMEOUT_TCP") is not None:
                return {"tcp": msg.get_attr("IPVS_CMD_ATTR_TIMEOUT_TCP"),
                        "tcp_fin": msg.get_attr("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN"),
                        "udp": msg.get_attr("IPVS_CMD_ATTR_TIMEOUT_UDP")}
        raise IPVSError("the kernel did not report IPVS timeouts")

    def daemons(self):
        out = []
        for msg in self._request("GET_DAEMON", [], dump=True):
            node = msg.get_attr("IPVS_CMD_ATTR_DAEMON")
            if node is None:
                continue
            a = _attrs(node)
            state = a.get("IPVS_DAEMON_ATTR_STATE", 0)
            out.append({"state": "master" if state & 1 else "backup",
                        "interface": a.get("IPVS_DAEMON_ATTR_MCAST_IFN"),
                        "syncid": a.get("IPVS_DAEMON_ATTR_SYNC_ID", 0)})
        return out

    # --- writing
    def apply(self, action):
        verb, svc, dest = action
        svc_full = ("IPVS_CMD_ATTR_SERVICE", {"attrs": service_attrs(svc, full=True)})
        svc_key = ("IPVS_CMD_ATTR_SERVICE", {"attrs": service_attrs(svc, full=False)})
        if verb == "add-service":
            self._request("NEW_SERVICE", [svc_full])
        elif verb == "edit-service":
            self._request("SET_SERVICE", [svc_full])
        elif verb == "delete-service":
            self._request("DEL_SERVICE", [svc_key])
        elif verb in ("add-dest", "edit-dest"):
            cmd = "NEW_DEST" if verb == "add-dest" else "SET_DEST"
            self._request(cmd, [svc_key, ("IPVS_CMD_ATTR_DEST", {"attrs": dest_attrs(dest, svc)})])
        elif verb == "delete-dest":
            self._request("DEL_DEST", [svc_key, ("IPVS_CMD_ATTR_DEST", {"attrs": dest_attrs(dest, svc, full=False)})])
        else:
            raise IPVSError("unknown action %r" % verb)

    def set_timeouts(self, tcp, tcp_fin, udp):
        # 0 leaves a timeout as it is (as ipvsadm --set 0 does).
        self._request("SET_CONFIG", [("IPVS_CMD_ATTR_TIMEOUT_TCP", tcp),
                                     ("IPVS_CMD_ATTR_TIMEOUT_TCP_FIN", tcp_fin),
                                     ("IPVS_CMD_ATTR_TIMEOUT_UDP", udp)])

    def start_daemon(self, state, interface, syncid):
        self._request("NEW_DAEMON", [("IPVS_CMD_ATTR_DAEMON", {"attrs": [
            ("IPVS_DAEMON_ATTR_STATE", DAEMON_STATES[state]),
            ("IPVS_DAEMON_ATTR_MCAST_IFN", interface),
            ("IPVS_DAEMON_ATTR_SYNC_ID", syncid)]})])

    def stop_daemon(self, state):
        self._request("DEL_DAEMON", [("IPVS_CMD_ATTR_DAEMON", {"attrs": [
            ("IPVS_DAEMON_ATTR_STATE", DAEMON_STATES[state])]})])


def _errtext(exc):
    code = exc.code if hasattr(exc, "code") else None
    if code in errno.errorcode:
        return "%s (%s)" % (errno.errorcode[code], exc)
    return str(exc)
