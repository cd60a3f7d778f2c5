# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPVS through generic netlink (family "IPVS"), encoded here with socket and struct.

The few IPVS messages are encoded and decoded directly (attribute layout of
include/uapi/linux/ip_vs.h) instead of through pyroute2: importing pyroute2
pulls in its iproute, ndb and ipdb packages with asyncio and unittest.mock,
about a second per module run on a small director, and its attribute
machinery costs about a millisecond per message. No third-party library is
needed; the modules behave the same with any pyroute2 installed or none.

Writes can go in batches (apply_batch): many requests with NLM_F_ACK in one
send, each acknowledgement mapped back to its request by sequence number.
Reads decode only the attributes the table uses, and every socket receives
into one buffer of its own (a fresh buffer per message made reading 1,000
services x 10 real servers take 0.9 s instead of 0.12 s in the lab).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket
import struct

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as model
# the generic netlink layer (shared with fou_netlink); IPVSError is its error
from ansible_collections.lvs.cluster.plugins.module_utils.genl import (  # noqa: F401  pylint: disable=unused-import
    I32 as _I32, NLM_F_ACK, NLMSG_DONE, NLM_F_REQUEST, NLMSG_ERROR, U32 as _U32, GenlError as IPVSError, be16 as _be16, errtext as _errtext, nla,
    nla_be16, nla_str, nla_u16, nla_u32, open_family, parse_attrs, u16 as _u16, u32 as _u32,
)

GENL_NAME = "IPVS"

CMD = {
    "NEW_SERVICE": 1, "SET_SERVICE": 2, "DEL_SERVICE": 3, "GET_SERVICE": 4,
    "NEW_DEST": 5, "SET_DEST": 6, "DEL_DEST": 7, "GET_DEST": 8,
    "NEW_DAEMON": 9, "DEL_DAEMON": 10, "GET_DAEMON": 11,
    "SET_CONFIG": 12, "GET_CONFIG": 13, "GET_INFO": 15, "ZERO": 16, "FLUSH": 17,
}
CMD_NAMES = dict((v, k) for k, v in CMD.items())
DAEMON_STATES = {"master": 1, "backup": 2}

# IPVS_CMD_ATTR_*
A_SERVICE, A_DEST, A_DAEMON, A_TIMEOUT_TCP, A_TIMEOUT_TCP_FIN, A_TIMEOUT_UDP = 1, 2, 3, 4, 5, 6
# IPVS_SVC_ATTR_*
S_AF, S_PROTOCOL, S_ADDR, S_PORT, S_FWMARK, S_SCHED_NAME, S_FLAGS, S_TIMEOUT, S_NETMASK, S_STATS, \
    S_PE_NAME, S_STATS64 = range(1, 13)
# IPVS_DEST_ATTR_*
D_ADDR, D_PORT, D_FWD_METHOD, D_WEIGHT, D_U_THRESH, D_L_THRESH, D_ACTIVE_CONNS, D_INACT_CONNS, \
    D_PERSIST_CONNS, D_STATS, D_ADDR_FAMILY, D_STATS64, D_TUN_TYPE, D_TUN_PORT, D_TUN_FLAGS = range(1, 16)
# IPVS_DAEMON_ATTR_*
DM_STATE, DM_MCAST_IFN, DM_SYNC_ID = 1, 2, 3
STATS_NAMES = (None, "conns", "inpkts", "outpkts", "inbytes", "outbytes", "cps", "inpps", "outpps",
               "inbps", "outbps")

BATCH = 256  # requests per send in apply_batch


def _family(name):
    return socket.AF_INET6 if name == "ipv6" else socket.AF_INET


def _addr_bytes(address):
    # union nf_inet_addr: 16 bytes, IPv4 in the first four.
    if ":" in address:
        return socket.inet_pton(socket.AF_INET6, address)
    return socket.inet_pton(socket.AF_INET, address) + b"\0" * 12


def _addr_text(raw, af):
    if af == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, raw[:16])
    return socket.inet_ntop(socket.AF_INET, raw[:4])


def service_attrs(svc, full=True):
    """The IPVS_CMD_ATTR_SERVICE attribute of a service: its key, plus its settings when full."""
    parts = [nla_u16(S_AF, _family(svc["family"]))]
    if svc.get("fwmark"):
        parts.append(nla_u32(S_FWMARK, svc["fwmark"]))
    else:
        parts += [nla_u16(S_PROTOCOL, model.PROTOCOLS[svc["protocol"]]),
                  nla(S_ADDR, _addr_bytes(svc["address"])),
                  nla_be16(S_PORT, svc["port"])]
    if full:
        flags = 0
        if svc["persistence"]:
            flags |= model.SVC_F_PERSISTENT
        if svc["one_packet"]:
            flags |= model.SVC_F_ONEPACKET
        for flag in svc["sched_flags"]:
            flags |= model.SCHED_FLAGS[flag][1]
        if svc["family"] == "ipv4":
            netmask = ipaddress.IPv4Address(svc["netmask"]).packed  # network order, as the kernel keeps it
        else:
            netmask = _U32.pack(svc["netmask"])
        parts += [nla_str(S_SCHED_NAME, svc["scheduler"]),
                  nla(S_FLAGS, struct.pack("=II", flags, 0xFFFFFFFF)),
                  nla_u32(S_TIMEOUT, svc["persistence"] or model.DEFAULT_PERSISTENCE),
                  nla(S_NETMASK, netmask)]
    return nla(A_SERVICE, b"".join(parts))


def dest_attrs(dest, full=True):
    """The IPVS_CMD_ATTR_DEST attribute of a real server."""
    parts = [nla(D_ADDR, _addr_bytes(dest["address"])), nla_be16(D_PORT, dest["port"])]
    if full:
        af = socket.AF_INET6 if ":" in dest["address"] else socket.AF_INET
        parts += [nla_u32(D_FWD_METHOD, model.FORWARD[dest["forward"]]),
                  nla_u32(D_WEIGHT, dest["weight"]),
                  nla_u32(D_U_THRESH, dest["upper_threshold"]),
                  nla_u32(D_L_THRESH, dest["lower_threshold"]),
                  nla_u16(D_ADDR_FAMILY, af)]
        if dest["forward"] == "tunnel":
            parts.append(nla(D_TUN_TYPE, struct.pack("=B", model.TUN_TYPES[dest["tun_type"]])))
            if dest["tun_port"]:
                parts.append(nla_be16(D_TUN_PORT, dest["tun_port"]))
            if dest["tun_flags"]:
                parts.append(nla_u16(D_TUN_FLAGS, model.TUN_FLAGS[dest["tun_flags"]]))
    return nla(A_DEST, b"".join(parts))


def action_request(action, keys=None):
    """(command, attribute bytes) of a planned action.

    keys: a dict kept by the caller to encode each service's key once.
    """
    verb, svc, dest = action
    if keys is not None and verb.endswith("-dest"):
        key = model.service_key(svc)
        svc_key = keys.get(key)
        if svc_key is None:
            svc_key = keys[key] = service_attrs(svc, full=False)
        if verb == "delete-dest":
            return CMD["DEL_DEST"], svc_key + dest_attrs(dest, full=False)
        return CMD["NEW_DEST" if verb == "add-dest" else "SET_DEST"], svc_key + dest_attrs(dest)
    if verb == "add-service":
        return CMD["NEW_SERVICE"], service_attrs(svc)
    if verb == "edit-service":
        return CMD["SET_SERVICE"], service_attrs(svc)
    if verb == "delete-service":
        return CMD["DEL_SERVICE"], service_attrs(svc, full=False)
    if verb == "add-dest":
        return CMD["NEW_DEST"], service_attrs(svc, full=False) + dest_attrs(dest)
    if verb == "edit-dest":
        return CMD["SET_DEST"], service_attrs(svc, full=False) + dest_attrs(dest)
    if verb == "delete-dest":
        return CMD["DEL_DEST"], service_attrs(svc, full=False) + dest_attrs(dest, full=False)
    if verb == "flush":
        return CMD["FLUSH"], b""
    raise IPVSError("unknown action %r" % (verb,))


def _stats(a, stats64, stats32):
    raw = a.get(stats64)
    wide = raw is not None
    if raw is None:
        raw = a.get(stats32)
    out = {}
    if raw is None:
        return out
    for kind, value in parse_attrs(raw).items():
        if 0 < kind < len(STATS_NAMES):
            out[STATS_NAMES[kind]] = struct.unpack("=Q", value[:8])[0] if (wide or kind in (4, 5)) \
                else _u32(value)
    return out


def parse_service(raw, with_stats=False):
    """A service dict (family, fwmark or protocol/address/port, scheduler and options) of a netlink
    service attribute; with its statistics under 'stats' when with_stats."""
    a = parse_attrs(raw)
    af = _u16(a[S_AF]) if S_AF in a else socket.AF_INET
    family = "ipv6" if af == socket.AF_INET6 else "ipv4"
    flags = _u32(a[S_FLAGS]) if S_FLAGS in a else 0
    svc = {"family": family, "fwmark": None, "protocol": None, "address": None, "port": None}
    fwmark = _u32(a[S_FWMARK]) if S_FWMARK in a else 0
    if fwmark:
        svc["fwmark"] = fwmark
    else:
        proto = _u16(a[S_PROTOCOL]) if S_PROTOCOL in a else 0
        svc["protocol"] = model.PROTOCOL_NAMES.get(proto, str(proto))
        svc["address"] = _addr_text(a[S_ADDR], af)
        svc["port"] = _be16(a[S_PORT]) if S_PORT in a else 0
    sched = a[S_SCHED_NAME].rstrip(b"\0").decode() if S_SCHED_NAME in a else ""
    raw_mask = a.get(S_NETMASK, b"\xff\xff\xff\xff")
    if family == "ipv4":
        netmask = socket.inet_ntop(socket.AF_INET, raw_mask[:4])
    else:
        netmask = _u32(raw_mask)
    sched_flags = []
    if flags & model.SVC_F_SCHED_MASK:
        sched_flags = sorted(name for name, (owner, bit) in model.SCHED_FLAGS.items()
                             if owner == sched and flags & bit)
    svc.update({
        "scheduler": sched,
        "sched_flags": sched_flags,
        "persistence": _u32(a[S_TIMEOUT]) if flags & model.SVC_F_PERSISTENT and S_TIMEOUT in a else 0,
        "netmask": netmask,
        "one_packet": bool(flags & model.SVC_F_ONEPACKET),
    })
    if S_PE_NAME in a and a[S_PE_NAME].rstrip(b"\0"):
        svc["pe_name"] = a[S_PE_NAME].rstrip(b"\0").decode()
    if with_stats:
        svc["stats"] = _stats(a, S_STATS64, S_STATS)
    return svc


# What the table needs of a real server; counters and statistics only when asked.
_DEST_TABLE_ATTRS = frozenset((D_ADDR, D_PORT, D_FWD_METHOD, D_WEIGHT, D_U_THRESH, D_L_THRESH, D_ADDR_FAMILY,
                               D_TUN_TYPE, D_TUN_PORT, D_TUN_FLAGS))


def parse_dest(raw, svc_family, with_counters=False):
    """A real server dict (address, port, forward, weight, thresholds, tunnel options) of a netlink
    destination attribute; with connection counters and 'stats' when with_counters."""
    a = parse_attrs(raw, wanted=None if with_counters else _DEST_TABLE_ATTRS)
    af = _u16(a[D_ADDR_FAMILY]) if D_ADDR_FAMILY in a else _family(svc_family)
    fwd = (_u32(a[D_FWD_METHOD]) if D_FWD_METHOD in a else 0) & 0x7
    forward = model.FORWARD_NAMES.get(fwd, "local" if fwd == 1 else str(fwd))
    dest = {
        "address": _addr_text(a[D_ADDR], af),
        "port": _be16(a[D_PORT]) if D_PORT in a else 0,
        "forward": forward,
        "weight": _u32(a[D_WEIGHT]) if D_WEIGHT in a else 0,
        "upper_threshold": _u32(a[D_U_THRESH]) if D_U_THRESH in a else 0,
        "lower_threshold": _u32(a[D_L_THRESH]) if D_L_THRESH in a else 0,
        "tun_type": None, "tun_port": None, "tun_flags": None,
    }
    if forward == "tunnel":
        dest["tun_type"] = model.TUN_TYPE_NAMES.get(a[D_TUN_TYPE][0] if D_TUN_TYPE in a else 0, "ipip")
        dest["tun_port"] = (_be16(a[D_TUN_PORT]) if D_TUN_PORT in a else 0) or None
        if dest["tun_type"] in ("gue", "gre"):
            dest["tun_flags"] = model.TUN_FLAG_NAMES.get(_u16(a[D_TUN_FLAGS]) if D_TUN_FLAGS in a else 0,
                                                         "nocsum")
    if with_counters:
        dest.update({"active_connections": _u32(a[D_ACTIVE_CONNS]) if D_ACTIVE_CONNS in a else 0,
                     "inactive_connections": _u32(a[D_INACT_CONNS]) if D_INACT_CONNS in a else 0,
                     "persistent_connections": _u32(a[D_PERSIST_CONNS]) if D_PERSIST_CONNS in a else 0,
                     "stats": _stats(a, D_STATS64, D_STATS)})
    return dest


class IPVS(object):
    """One netlink session with the kernel's IPVS (in this network namespace)."""

    def __init__(self):
        try:
            self.nl = open_family(GENL_NAME)
        except IPVSError as exc:
            raise IPVSError("the kernel has no IPVS generic netlink family (is the ip_vs module loaded?): %s"
                            % exc, exc.code)

    def close(self):
        """Close the netlink socket."""
        self.nl.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _request(self, cmd, attrs=b"", dump=False):
        try:
            return self.nl.request(CMD[cmd], attrs, dump=dump)
        except IPVSError as exc:
            raise IPVSError("IPVS %s failed: %s" % (cmd.lower().replace("_", " "), exc), exc.code)

    # --- reading
    def services(self, with_stats=False):
        """Every IPVS service as a parse_service dict; IPVSError if the dump fails."""
        return [parse_service(m[A_SERVICE], with_stats)
                for m in self._request("GET_SERVICE", dump=True) if A_SERVICE in m]

    def dests(self, svc, with_counters=False):
        """The real servers of the service svc as parse_dest dicts; IPVSError if the dump fails."""
        return [parse_dest(m[A_DEST], svc["family"], with_counters)
                for m in self._request("GET_DEST", service_attrs(svc, full=False), dump=True) if A_DEST in m]

    def table(self, with_stats=False):
        """Every service with its real servers: [(svc, [dest])].

        One real-server dump per service, on one socket (netlink runs one dump
        per socket at a time). Keeping several in flight on several sockets was
        measured no faster in the lab: 1,000 services x 10 in 0.12-0.13 s with
        one socket or eight (ipvsadm -S -n: 0.29-0.42 s).
        """
        return [(svc, self.dests(svc, with_stats)) for svc in self.services(with_stats)]

    def timeouts(self):
        """The connection timeouts {tcp, tcp_fin, udp} in seconds; IPVSError if the kernel does not report them."""
        for a in self._request("GET_CONFIG"):
            if A_TIMEOUT_TCP in a:
                return {"tcp": _u32(a[A_TIMEOUT_TCP]), "tcp_fin": _u32(a[A_TIMEOUT_TCP_FIN]),
                        "udp": _u32(a[A_TIMEOUT_UDP])}
        raise IPVSError("the kernel did not report IPVS timeouts")

    def daemons(self):
        """The running sync daemons as [{state: master|backup, interface, syncid}]."""
        out = []
        for m in self._request("GET_DAEMON", dump=True):
            if A_DAEMON not in m:
                continue
            a = parse_attrs(m[A_DAEMON])
            state = _u32(a[DM_STATE]) if DM_STATE in a else 0
            out.append({"state": "master" if state & 1 else "backup",
                        "interface": a[DM_MCAST_IFN].rstrip(b"\0").decode() if DM_MCAST_IFN in a else None,
                        "syncid": _u32(a[DM_SYNC_ID]) if DM_SYNC_ID in a else 0})
        return out

    # --- writing
    def apply(self, action):
        """Carry out one planned action (see action_request); IPVSError naming the command if the kernel refuses."""
        cmd, attrs = action_request(action)
        try:
            self.nl.request(cmd, attrs)
        except IPVSError as exc:
            raise IPVSError("IPVS %s failed: %s" % (CMD_NAMES[cmd].lower().replace("_", " "), exc), exc.code)

    def apply_batch(self, actions, batch=BATCH):
        """Send actions in batches of requests with NLM_F_ACK, in this order.

        Returns (done, errors): indexes of the actions the kernel carried out,
        and {index: IPVSError} of those it refused. The kernel goes on with the
        rest of a batch after a refused request; no batch is sent after one
        with a refusal.
        """
        done, errors = [], {}
        flags = NLM_F_REQUEST | NLM_F_ACK
        keys = {}
        # every request is encoded (addresses converted) before the first is sent: a value
        # that cannot be converted fails here, with nothing changed
        requests = [action_request(action, keys) for action in actions]
        for first in range(0, len(actions), batch):
            by_seq = {}
            parts = []
            for i in range(first, min(first + batch, len(actions))):
                cmd, attrs = requests[i]
                seq, data = self.nl.message(self.nl.family_id, cmd, attrs, flags)
                by_seq[seq] = (i, cmd)
                parts.append(data)
            try:
                self.nl.send(b"".join(parts))
                while by_seq:
                    replies = self.nl.messages()
                    self._acks(replies, by_seq, done, errors)
            except IPVSError as exc:
                # Outcome unknown for what was not acknowledged: reported as refused.
                for i, _cmd in by_seq.values():
                    errors[i] = IPVSError("no acknowledgement (%s)" % exc, exc.code)
            if errors:
                break
        done.sort()
        return done, errors

    @staticmethod
    def _acks(replies, by_seq, done, errors):
        for kind, _flags, seq, start, _end, data in replies:
            if kind != NLMSG_ERROR or seq not in by_seq:
                continue
            i, cmd = by_seq.pop(seq)
            code = -_I32.unpack_from(data, start)[0]
            if code:
                what = CMD_NAMES[cmd].lower().replace("_", " ")
                errors[i] = IPVSError("IPVS %s failed: %s" % (what, _errtext(code)), code)
            else:
                done.append(i)

    def flush(self):
        """Delete every IPVS service and real server (ipvsadm -C); IPVSError on failure."""
        self._request("FLUSH")

    def set_timeouts(self, tcp, tcp_fin, udp):
        """Set the tcp, tcp_fin and udp timeouts in seconds (0 leaves one as it is); IPVSError on failure."""
        # 0 leaves a timeout as it is (as ipvsadm --set 0 does).
        self._request("SET_CONFIG", nla_u32(A_TIMEOUT_TCP, tcp) + nla_u32(A_TIMEOUT_TCP_FIN, tcp_fin)
                      + nla_u32(A_TIMEOUT_UDP, udp))

    def start_daemon(self, state, interface, syncid):
        """Start a sync daemon (state master or backup) on interface with syncid; IPVSError on failure."""
        self._request("NEW_DAEMON", nla(A_DAEMON, nla_u32(DM_STATE, DAEMON_STATES[state])
                                        + nla_str(DM_MCAST_IFN, interface) + nla_u32(DM_SYNC_ID, syncid)))

    def stop_daemon(self, state):
        """Stop the sync daemon of state master or backup; IPVSError on failure."""
        self._request("DEL_DAEMON", nla(A_DAEMON, nla_u32(DM_STATE, DAEMON_STATES[state])))
