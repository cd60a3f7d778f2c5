# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generic netlink (netlink(7), genetlink) with socket and struct only: attributes, a
socket with its own sequence numbers, a family looked up by name. The one layer that the
IPVS (ipvs_netlink) and FOU (fou_netlink) families are both encoded with."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import socket
import struct

GENL_VERSION = 1  # IPVS_GENL_VERSION and FOU_GENL_VERSION

# netlink(7)
NETLINK_GENERIC = 16
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED, NLA_F_NET_BYTEORDER
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32

NLMSGHDR = struct.Struct("=IHHII")
GENLHDR = struct.Struct("=BBH")
_NLA = struct.Struct("=HH")
U16 = struct.Struct("=H")
U32 = struct.Struct("=I")
BE16 = struct.Struct(">H")
I32 = struct.Struct("=i")

RECV_BUFFER = 1 << 16  # the kernel sends netlink dumps in datagrams of at most 32 KiB

NLMSGHDR = struct.Struct("=IHHII")
GENLHDR = struct.Struct("=BBH")
NLA = struct.Struct("=HH")
U16 = struct.Struct("=H")
U32 = struct.Struct("=I")
BE16 = struct.Struct(">H")
I32 = struct.Struct("=i")


class GenlError(Exception):
    """A netlink failure; code: the errno the kernel (or the socket) gave, if any."""

    def __init__(self, msg, code=None):
        Exception.__init__(self, msg)
        self.code = code


# ---------------------------------------------------------------- attributes

def nla(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(payload)
    return NLA.pack(length, kind) + payload + b"\0" * (-length & 3)


def nla_u16(kind, value):
    """A netlink attribute holding value as a native-endian u16."""
    return nla(kind, U16.pack(value))


def nla_u32(kind, value):
    """A netlink attribute holding value as a native-endian u32."""
    return nla(kind, U32.pack(value))


def nla_be16(kind, value):
    """A netlink attribute holding value as a big-endian (network order) u16, e.g. a port."""
    return nla(kind, BE16.pack(value))


def nla_str(kind, value):
    """A netlink attribute holding value as a NUL-terminated string."""
    return nla(kind, value.encode() + b"\0")


def parse_attrs(data, offset=0, end=None, wanted=None):
    """{type: payload bytes} of the attributes in data[offset:end] (only those in wanted, if given)."""
    out = {}
    end = len(data) if end is None else end
    unpack = NLA.unpack_from
    while offset + 4 <= end:
        length, kind = unpack(data, offset)
        if length < 4:
            break
        kind &= NLA_TYPE_MASK
        if wanted is None or kind in wanted:
            out[kind] = data[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return out


def u16(raw):
    """The native-endian u16 at the start of an attribute payload."""
    return U16.unpack(raw[:2])[0]


def u32(raw):
    """The native-endian u32 at the start of an attribute payload."""
    return U32.unpack(raw[:4])[0]


def be16(raw):
    """The big-endian (network order) u16 at the start of an attribute payload."""
    return BE16.unpack(raw[:2])[0]


def errtext(code):
    """An errno as text: 'ENOENT (No such file or directory)', or 'error N' for an unknown code."""
    if code in errno.errorcode:
        return "%s (%s)" % (errno.errorcode[code], os.strerror(code))
    return "error %d" % code


# ---------------------------------------------------------------- socket

class Socket(object):
    """A generic netlink socket with its own sequence numbers."""

    def __init__(self, family_id=None):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        try:
            self.sock.bind((0, 0))
            for opt, size in ((SO_SNDBUFFORCE, 1 << 20), (SO_RCVBUFFORCE, 4 << 20)):
                try:
                    self.sock.setsockopt(socket.SOL_SOCKET, opt, size)
                except (OSError, socket.error):
                    pass
            try:  # error acknowledgements without a copy of the request
                self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
            except (OSError, socket.error):
                pass
        except Exception:
            self.sock.close()
            raise
        self.seq = 0
        self.family_id = family_id
        # One receive buffer for the socket's life: a buffer per recv() (of the size a dump
        # may need) costs an allocation and page faults on every message, thousands per table.
        self.buf = bytearray(RECV_BUFFER)
        self.view = memoryview(self.buf)

    def close(self):
        """Close the netlink socket."""
        self.sock.close()

    def message(self, msg_type, cmd, attrs, flags):
        """(seq, bytes) of one generic netlink message carrying cmd and attrs, with the next sequence number."""
        self.seq += 1
        length = NLMSGHDR.size + GENLHDR.size + len(attrs)
        return self.seq, (NLMSGHDR.pack(length, msg_type, flags, self.seq, 0)
                          + GENLHDR.pack(cmd, GENL_VERSION, 0) + attrs)

    def send(self, data):
        """Send one message; GenlError (with the errno) if the socket refuses it."""
        try:
            self.sock.send(data)
        except (OSError, socket.error) as exc:
            raise GenlError("netlink send: %s" % exc, getattr(exc, "errno", None))

    def messages(self):
        """The netlink messages of one datagram: (type, flags, seq, payload offset, end, data)."""
        try:
            size = self.sock.recv_into(self.buf)
            data = self.view[:size].tobytes()
        except (OSError, socket.error) as exc:  # ENOBUFS: the kernel dropped replies
            raise GenlError("netlink receive: %s" % exc, getattr(exc, "errno", None))
        offset = 0
        out = []
        while offset + NLMSGHDR.size <= len(data):
            length, kind, flags, seq, _pid = NLMSGHDR.unpack_from(data, offset)
            if length < NLMSGHDR.size:
                break
            out.append((kind, flags, seq, offset + NLMSGHDR.size, offset + length, data))
            offset += (length + 3) & ~3
        return out

    def request(self, cmd, attrs=b"", dump=False, msg_type=None):
        """One request; returns the attribute dicts of its replies (a dump's messages)."""
        seq, data = self.message(self.family_id if msg_type is None else msg_type, cmd, attrs,
                                 NLM_F_REQUEST | (NLM_F_DUMP if dump else NLM_F_ACK))
        self.send(data)
        return self.replies(seq)

    def replies(self, seq):
        """The attribute dicts of the replies to seq, until its ACK, NLMSG_DONE or a single reply;
        GenlError if the kernel answers with an error."""
        out = []
        while True:
            for kind, flags, mseq, start, end, data in self.messages():
                if mseq != seq:
                    continue
                if kind == NLMSG_ERROR:
                    code = -I32.unpack_from(data, start)[0]
                    if code:
                        raise GenlError(errtext(code), code)
                    return out
                if kind == NLMSG_DONE:
                    return out
                out.append(parse_attrs(data, start + GENLHDR.size, end))
                if not flags & NLM_F_MULTI:
                    return out


def open_family(name):
    """A Socket bound to the generic netlink family name (its id looked up through the
    controller); GenlError when the socket cannot be opened or the kernel lacks the family."""
    try:
        nl = Socket()
    except (OSError, socket.error) as exc:
        raise GenlError("cannot open a generic netlink socket: %s" % exc, getattr(exc, "errno", None))
    try:
        reply = nl.request(CTRL_CMD_GETFAMILY, nla_str(CTRL_ATTR_FAMILY_NAME, name), msg_type=GENL_ID_CTRL)
    except GenlError:
        nl.close()
        raise
    nl.family_id = u16(reply[0][CTRL_ATTR_FAMILY_ID])
    return nl
