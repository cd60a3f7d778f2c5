# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's FOU (foo-over-UDP) ports through generic netlink (family "fou",
include/uapi/linux/fou.h), the `ip fou` commands: a GUE port makes the kernel take
GUE packets sent to that UDP port off the tunnel and hand their inner packet (IPIP
for LVS-TUN) to its protocol (then tunl0).

pyroute2 has no FOU family; the messages are encoded with the generic netlink
layer genl.py (socket and struct only), as the IPVS family is."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import struct

from ansible_collections.lvs.cluster.plugins.module_utils.genl import GenlError, be16, nla, nla_be16, open_family

GENL_NAME = "fou"  # FOU_GENL_NAME; FOU_GENL_VERSION is 1, as IPVS's
# enum { FOU_CMD_UNSPEC, FOU_CMD_ADD, FOU_CMD_DEL, FOU_CMD_GET }
CMD_ADD, CMD_DEL, CMD_GET = 1, 2, 3
# enum { FOU_ATTR_UNSPEC, FOU_ATTR_PORT (be16), FOU_ATTR_AF (u8), FOU_ATTR_IPPROTO (u8), FOU_ATTR_TYPE (u8),
#        FOU_ATTR_REMCSUM_NOPARTIAL, FOU_ATTR_LOCAL_V4, FOU_ATTR_LOCAL_V6, FOU_ATTR_PEER_V4, FOU_ATTR_PEER_V6,
#        FOU_ATTR_PEER_PORT, FOU_ATTR_IFINDEX }
A_PORT, A_AF, A_IPPROTO, A_TYPE = 1, 2, 3, 4
A_LOCAL_V4, A_LOCAL_V6, A_PEER_V4, A_PEER_V6, A_PEER_PORT, A_IFINDEX = 6, 7, 8, 9, 10, 11
# enum { FOU_ENCAP_UNSPEC, FOU_ENCAP_DIRECT, FOU_ENCAP_GUE }
ENCAP = {1: "direct", 2: "gue"}
ENCAP_GUE = 2
BOUND = ((A_LOCAL_V4, "local"), (A_LOCAL_V6, "local"), (A_PEER_V4, "peer"), (A_PEER_V6, "peer"),
         (A_PEER_PORT, "peer_port"), (A_IFINDEX, "dev"))


class FouError(Exception):
    """A FOU netlink failure; code: the errno the kernel (or the socket) gave, if any."""
    def __init__(self, msg, code=None):
        Exception.__init__(self, msg)
        self.code = code


def _u8(kind, value):
    return nla(kind, struct.pack("=B", value))


def port_attrs(port):
    """An IPv4 GUE port on every local address (ip fou add port P gue)."""
    return nla_be16(A_PORT, port) + _u8(A_AF, socket.AF_INET) + _u8(A_TYPE, ENCAP_GUE)


def parse_port(a):
    """One FOU port of a dump: {port, family, type, bound}; bound lists what ties it to an
    address, a peer or a device (such ports are not this module's)."""
    af = a[A_AF][0] if A_AF in a else socket.AF_INET
    return {"port": be16(a[A_PORT]) if A_PORT in a else 0,
            "family": 6 if af == socket.AF_INET6 else 4,
            "type": ENCAP.get(a[A_TYPE][0], "unknown") if A_TYPE in a else "unknown",
            # the kernel dumps these attributes also when unset, as zeros (fou_fill_info)
            "bound": [name for kind, name in BOUND if kind in a and any(bytearray(a[kind]))]}


class Fou(object):
    """One netlink session with the kernel's FOU (in this network namespace).
    FouError with code ENOENT when the family is missing (the fou module not loaded)."""

    def __init__(self):
        try:
            self.nl = open_family(GENL_NAME)
        except GenlError as exc:
            raise FouError("the kernel has no fou generic netlink family (is the fou module loaded?): %s" % exc,
                           exc.code)

    def close(self):
        """Close the netlink socket."""
        self.nl.close()

    def _request(self, what, cmd, attrs=b"", dump=False):
        try:
            return self.nl.request(cmd, attrs, dump=dump)
        except GenlError as exc:
            raise FouError("fou %s failed: %s" % (what, exc), exc.code)

    def ports(self):
        """The kernel's FOU ports as parse_port dicts; FouError if the dump fails."""
        return [parse_port(a) for a in self._request("port list", CMD_GET, dump=True)]

    def add(self, port):
        """Add an IPv4 GUE port on every local address (ip fou add port P gue); FouError if the kernel refuses."""
        self._request("add port %d gue" % port, CMD_ADD, port_attrs(port))

    def delete(self, port):
        """Delete the IPv4 FOU port (ip fou del port P); FouError if the kernel refuses."""
        self._request("del port %d" % port, CMD_DEL, nla_be16(A_PORT, port) + _u8(A_AF, socket.AF_INET))
