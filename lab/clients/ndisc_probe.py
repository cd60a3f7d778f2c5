"""Who answers an IPv6 neighbour solicitation for an address (RFC 4861 4.3/4.4).

Runs as ONE process inside a lab host (the client), with the host's
/usr/bin/python3: sends one neighbour solicitation for TARGET out of IFACE,
to DEST (default: TARGET's solicited-node multicast group, which every host
on the link that has TARGET on that link's interface listens to), and
collects the neighbour advertisements for TARGET that arrive within WAIT
seconds. Prints one JSON line: {"target", "dest", "answers": [{"from",
"lladdr"}]}, lladdr being the target link-layer address option: the MAC the
answering host wants TARGET's packets sent to.

The IPv6 counterpart of `arping`, which the lab machine has only for IPv4.

Usage: ndisc_probe.py IFACE TARGET [DEST|-] [WAIT]
"""
import ipaddress
import json
import select
import socket
import struct
import sys
import time

ND_NEIGHBOR_SOLICIT = 135
ND_NEIGHBOR_ADVERT = 136
OPT_SOURCE_LLADDR = 1
OPT_TARGET_LLADDR = 2


def solicited_node(target):
    """ff02::1:ffXX:XXXX, the group of TARGET's last 24 bits."""
    low = target.packed[-3:]
    return ipaddress.IPv6Address(bytes.fromhex("ff02" + "0000" * 4 + "0001" + "ff") + low)


def mac_bytes(iface):
    """The interface's MAC address as 6 bytes."""
    with open("/sys/class/net/%s/address" % iface) as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def solicitation(target, mac):
    """An ICMPv6 neighbour solicitation for target from mac (the packet's bytes)."""
    # type, code, checksum (the kernel fills it in for ICMPv6 raw sockets), reserved,
    # target, then the source link-layer address option (8 bytes: type, length 1, MAC).
    return struct.pack("!BBHI", ND_NEIGHBOR_SOLICIT, 0, 0, 0) + target.packed + \
        struct.pack("!BB", OPT_SOURCE_LLADDR, 1) + mac


def advertised(packet, target):
    """The target link-layer address of an advertisement for target, '' without the option,
    None when the packet is something else."""
    if len(packet) < 24 or packet[0] != ND_NEIGHBOR_ADVERT or packet[8:24] != target.packed:
        return None
    options, lladdr = packet[24:], ""
    while len(options) >= 8 and options[1]:
        kind, length = options[0], options[1] * 8
        if kind == OPT_TARGET_LLADDR:
            lladdr = ":".join("%02x" % b for b in options[2:8])
        options = options[length:]
    return lladdr


def main():
    """Solicit the target on the interface; print the advertisements that answered, as JSON."""
    iface, target = sys.argv[1], ipaddress.IPv6Address(sys.argv[2])
    dest = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else str(solicited_node(target))
    wait = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    ifindex = socket.if_nametoindex(iface)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    # Neighbour discovery is accepted only with hop limit 255 (RFC 4861 7.1.1).
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    s.sendto(solicitation(target, mac_bytes(iface)), (dest, 0, 0, ifindex))
    answers, end = [], time.time() + wait
    while True:
        left = end - time.time()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        packet, sender = s.recvfrom(2048)
        lladdr = advertised(packet, target)
        if lladdr is not None:
            answers.append({"from": sender[0].split("%")[0], "lladdr": lladdr})
    print(json.dumps({"target": str(target), "dest": dest, "answers": answers}))


if __name__ == "__main__":
    main()
