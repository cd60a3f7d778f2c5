# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The schema of ``lvs_cluster``: one spec table per block (type, choices, default,
aliases, nested keys, doc line). Data only; ``cluster_validate`` reads it, ``cluster_docs``
renders it into docs/cluster-model.md."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.module_utils.fields import (  # noqa: F401  (names of the spec)
    CHECK_TYPES, SCHEDULERS, SCHED_FLAGS as _SCHED_FLAG_BITS, TUN_FLAGS as _TUN_FLAG_CODES,
    TUN_TYPES as _TUN_TYPE_CODES,
)

# Forwarding method of each mode, as IPVS (ipvs_table, ipvsadm) names it.
FORWARD_OF_MODE = {"nat": "masq", "dr": "route", "tun": "tunnel"}
DEFAULT_MODE = "dr"
DEFAULT_SCHEDULER = "wlc"
DEFAULT_PROTOCOL = "tcp"
DEFAULT_WEIGHT = 1
DEFAULT_DELAY_LOOP = 6

# ---------------------------------------------------------------- the schema
# A spec is {key: field}; a field is a dict with
#   type: a field type of the vocabulary (fields.py): str (quoted text) | command (quoted
#         command line) | word (one word) | secret (one word never shown in errors) | ifname
#         (device name) | label (address label, eth0:vip) | int | number | bool | ip |
#         vip (address[/prefix]) | mode | lines (raw lines); or dict | list | raw |
#         vip_entry (a vip or a VIP_SPEC dict)
#   default, choices, aliases, required, options (nested spec of a dict or of list elements),
#   elements (type of list elements), min, max, doc (one line, for docs/cluster-model.md),
#   pattern/what (for word), upper/lower (normalise a word).
# Keys set to a string in LEGACY are old keepalived recipe keywords: their message gives the modern form.

LEGACY = {
    "nb_get_retry": "nb_get_retry is the keepalived 1.x name: use retry",
    "lvs_sync_daemon_interface": "use lvs_cluster.vrrp.sync_daemon: {interface: ..., instance: ...}",
}

NAME = r"[A-Za-z0-9_.:@-]+"

CHECKER_SPEC = {
    "type": dict(type="word", default="TCP_CHECK", upper=True, choices=CHECK_TYPES,
                 doc="TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, SMTP_CHECK or DNS_CHECK"),
    "connect_ip": dict(type="ip", doc="address the check connects to (default: the real server's)"),
    "connect_port": dict(type="int", min=1, max=65535, doc="port the check connects to"),
    "bindto": dict(type="ip", doc="source address of the check"),
    "bind_port": dict(type="int", min=1, max=65535, doc="source port of the check"),
    "bind_if": dict(type="ifname", doc="source interface (IPv6 link-local)"),
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
    "misc_path": dict(type="command", doc="MISC_CHECK: the command (written quoted)"),
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
                      "bind_if": dict(type="ifname", doc="source interface"),
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
    "notify_up": dict(type="command", doc="command run when the real server comes up (quoted)"),
    "notify_down": dict(type="command", doc="command run when the real server goes down (quoted)"),
    "upper_threshold": dict(type="int", min=0, doc="IPVS: connection limit"),
    "lower_threshold": dict(type="int", min=0, doc="IPVS: connections under which it gets traffic again"),
    "tun_type": dict(type="word", choices=tuple(_TUN_TYPE_CODES), doc="TUN: encapsulation"),
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
    "scheduler": dict(type="word", default=DEFAULT_SCHEDULER, aliases=("lb_algo", "lvs_sched"), choices=SCHEDULERS,
                      doc="IPVS scheduler (rr, wrr, lc, wlc, sh, dh, mh, ...)"),
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
    "quorum_up": dict(type="command", doc="command run when the quorum is reached"),
    "quorum_down": dict(type="command", doc="command run when the quorum is lost"),
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
    "dev": dict(type="ifname", doc="interface (default the instance's)"),
    "brd": dict(type="ip", doc="broadcast address"),
    "scope": dict(type="word", choices=("global", "site", "link", "host", "nowhere"), doc="address scope"),
    "label": dict(type="label",
                  doc="address label (eth0:vip)"),
}

TRACKED = dict(type="list", elements="raw", doc="names, or {name, weight}")

INSTANCE_SPEC = {
    "name": dict(type="word", required=True, pattern=NAME, what="a name", doc="instance name"),
    "interface": dict(type="ifname", required=True,
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
        "pass": dict(type="secret", required=True, doc="password, at most 8 characters"),
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
    "notify_master": dict(type="command", doc="command run on MASTER (quoted)"),
    "notify_backup": dict(type="command", doc="command run on BACKUP (quoted)"),
    "notify_fault": dict(type="command", doc="command run on FAULT (quoted)"),
    "notify_stop": dict(type="command", doc="command run on stop (quoted)"),
    "notify": dict(type="command", doc="command run on every change (quoted)"),
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
    "script": dict(type="command", required=True, doc="the command (quoted)"),
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
    "notify_master": dict(type="command", doc="command (quoted)"),
    "notify_backup": dict(type="command", doc="command (quoted)"),
    "notify_fault": dict(type="command", doc="command (quoted)"),
    "notify_stop": dict(type="command", doc="command (quoted)"),
    "notify": dict(type="command", doc="command (quoted)"),
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
    "interface": dict(type="ifname", required=True,
                      doc="interface of the sync traffic"),
    "instance": dict(type="word", required=True, doc="VRRP instance whose state the daemons follow"),
    "id": dict(type="int", min=0, max=255, doc="sync id"),
    "maxlen": dict(type="int", min=1, max=65507, doc="maximum sync message length"),
    "port": dict(type="int", min=1, max=65535, doc="UDP port"),
    "ttl": dict(type="int", min=1, max=255, doc="multicast TTL"),
    "group": dict(type="ip", doc="multicast group"),
}

# Scheduler flags of the services: flag -> the scheduler it belongs to (fields.SCHED_FLAGS).
SCHED_FLAGS = dict((flag, owner) for flag, (owner, _bit) in _SCHED_FLAG_BITS.items())
TUN_FLAGS = tuple(_TUN_FLAG_CODES)
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
