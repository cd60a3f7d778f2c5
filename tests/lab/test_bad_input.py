"""The bad-input table, on the lab's real kernel (issue 14).

Every row hands one module one bad request. It must fail with an error that
names the field, and leave the kernel state (IPVS table, timeouts and sync
daemons, addresses, links, rules, routes, ARP/rp_filter sysctls) and every
managed file byte-identical. One snapshot command per row and host (the lab is
slow): the snapshot after a row is the next row's "before".

    lab/bin/lvslab run -t lab/topologies/dr.yml -- python -m pytest -q tests/lab/test_bad_input.py
"""
import pytest

DIRECTOR = "dir1"
REALSERVER = "rs1"

# The managed files: state files, rt_tables.d, sysctl.d, the boot hook.
FILES = ("/etc/lvs-cluster /var/lib/lvs-cluster /etc/iproute2/rt_tables.d /etc/sysctl.d "
         "/usr/local/sbin /etc/init.d/lvs-cluster-net /etc/systemd/system")
SNAPSHOT = {
    DIRECTOR: ("echo '## ipvsadm -S'; ipvsadm -S -n; echo '## thresholds'; ipvsadm -L -n --thresholds; "
               "echo '## tun'; ipvsadm -L -n --tun-info 2>&1; echo '## timeouts'; ipvsadm -L --timeout; "
               "echo '## daemons'; ipvsadm -L --daemon; "),
    REALSERVER: "",
}
COMMON = ("echo '## addr'; ip -j addr; echo '## link'; ip -o link; echo '## rules'; ip rule; ip -6 rule; "
          "echo '## routes'; ip route show table all; ip -6 route show table all; "
          "echo '## sysctl'; sysctl -a 2>/dev/null | grep -E '^net\\.ipv4\\.conf\\.'; "
          "echo '## files'; find %s -type f 2>/dev/null | sort | xargs -r md5sum; "
          "ls -la /etc/lvs-cluster /var/lib/lvs-cluster /etc/iproute2/rt_tables.d 2>&1; true" % FILES)

IPVS_BASELINE = """-A -t 192.0.2.100:80 -s wlc
-a -t 192.0.2.100:80 -r 192.0.2.21:80 -g -w 100
-A -t 192.0.2.101:80 -s wrr -p 60
-a -t 192.0.2.101:80 -r 192.0.2.22:80 -i -w 100 --tun-type gue --tun-port 6080 --tun-csum -x 50 -y 10
-A -t [2001:db8::100]:80 -s rr
-A -u 192.0.2.100:53 -s rr
-A -f 5 -s sh -b sh-port
"""

S = dict(address="192.0.2.100", port=80)        # existing DR service
GUE = dict(service_address="192.0.2.101", service_port=80)  # existing, GUE real server 192.0.2.22
V6 = dict(address="2001:db8::100", port=80)     # existing IPv6 service
NEW = dict(address="192.0.2.110", port=80)      # not in the kernel


def svc(**kw):
    return dict(S, **kw)


def new(**kw):
    return dict(NEW, **kw)


def dests(*ds, **kw):
    return dict(S, destinations=list(ds), **kw)


def table(*services):
    return dict(services=list(services))


D = "dir1"
R = "rs1"
ROWS = [
    # ---------------------------------------------------------------- ipvs_service
    (D, "ipvs_service", new(port=80.9), "port"),
    (D, "ipvs_service", new(port="80.9"), "port"),
    (D, "ipvs_service", new(port=0), "service.port"),
    (D, "ipvs_service", new(port=70000), "service.port"),
    (D, "ipvs_service", new(port=-1), "service.port"),
    (D, "ipvs_service", new(protocol="udp", one_packet="maybe"), "one_packet"),
    (D, "ipvs_service", new(persistence=1.5), "persistence"),
    (D, "ipvs_service", new(persistence=-1), "service.persistence"),
    (D, "ipvs_service", new(persistence=2 ** 32), "service.persistence"),
    (D, "ipvs_service", new(persistence=60, netmask="0.0.0.255"), "service.netmask"),
    (D, "ipvs_service", new(persistence=60, netmask="255.0.255.0"), "service.netmask"),
    (D, "ipvs_service", new(persistence=60, netmask="33"), "service.netmask"),
    (D, "ipvs_service", new(persistence=60, netmask="abc"), "service.netmask"),
    (D, "ipvs_service", new(netmask="255.255.255.0"), "service.netmask"),
    (D, "ipvs_service", dict(V6, persistence=60, netmask="ffff:0:ffff::"), "service.netmask"),
    (D, "ipvs_service", dict(V6, persistence=60, netmask="255.255.255.0"), "service.netmask"),
    (D, "ipvs_service", dict(V6, persistence=60, netmask="129"), "service.netmask"),
    (D, "ipvs_service", new(scheduler="fastest"), "scheduler"),
    (D, "ipvs_service", new(scheduler="twos"), "service.scheduler"),  # not in the lab's 6.1 kernel
    (D, "ipvs_service", new(scheduler="sh", sched_flags=["mh-port"]), "service.sched_flags"),
    (D, "ipvs_service", new(sched_flags=["sh-port"]), "service.sched_flags"),
    (D, "ipvs_service", new(sched_flags=["bogus"]), "sched_flags"),
    (D, "ipvs_service", new(one_packet=True), "service.one_packet"),
    (D, "ipvs_service", new(protocol="icmp"), "protocol"),
    (D, "ipvs_service", new(address="192.0.2.300"), "service.address"),
    (D, "ipvs_service", new(address=""), "service.address"),
    (D, "ipvs_service", dict(fwmark=0), "service.fwmark"),
    (D, "ipvs_service", dict(fwmark=2 ** 32), "service.fwmark"),
    (D, "ipvs_service", dict(fwmark=1, address="192.0.2.100"), "fwmark"),
    (D, "ipvs_service", dict(scheduler="rr"), "fwmark"),
    (D, "ipvs_service", new(family="ipv6"), "service.family"),
    (D, "ipvs_service", dict(S, destinations={"address": "192.0.2.23"}), "destinations"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "weight": 1.9}), "weight"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "weight": False}), "destinations[0].weight"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "weight": 70000}), "destinations[0].weight"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "weight": -1}), "destinations[0].weight"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "port": 8080, "forward": "dr"}), "destinations[0].port"),
    (D, "ipvs_service", dict(V6, destinations=[{"address": "192.0.2.23"}]), "destinations[0].address"),
    (D, "ipvs_service", dict(V6, destinations=[{"address": "192.0.2.23", "forward": "nat"}]),
     "destinations[0].address"),
    (D, "ipvs_service", dests({"address": "2001:db8::23", "forward": "dr"}), "destinations[0].address"),
    (D, "ipvs_service", dests({"address": "224.0.0.9"}), "destinations[0].address"),
    (D, "ipvs_service", dests({"address": "0.0.0.0"}), "destinations[0].address"),
    (D, "ipvs_service", dict(V6, destinations=[{"address": "fe80::1"}]), "destinations[0].address"),
    (D, "ipvs_service", dests({"address": "192.0.2.23"}, {"address": "192.0.2.23", "weight": 3}), "destinations"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "forward": "tun", "tun_type": "gue"}),
     "destinations[0].tun_port"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "forward": "tun", "tun_type": "ipip", "tun_port": 1}),
     "destinations[0].tun_port"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "forward": "tun", "tun_type": "gre",
                               "tun_flags": "remcsum"}), "destinations[0].tun_flags"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "forward": "dr", "tun_type": "gre"}),
     "destinations[0].tun_type"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "upper_threshold": 5, "lower_threshold": 6}),
     "destinations[0].lower_threshold"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "upper_threshold": -1}), "destinations[0].upper_threshold"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "wieght": 3}), "wieght"),
    (D, "ipvs_service", dests({"weight": 3}), "address"),
    (D, "ipvs_service", dests({"address": "192.0.2.23", "forward": "bridge"}), "forward"),
    (D, "ipvs_service", dests({"address": "192.0.2.23"}, {"address": "192.0.2.24", "weight": "x"}), "weight"),
    # edit semantics: merged with the kernel's GUE real server, still checked
    (D, "ipvs_service", dict(address="192.0.2.101", port=80, destinations=[{"address": "192.0.2.22", "tun_port": 0}]),
     "destinations[0].tun_port"),
    (D, "ipvs_service", dict(address="192.0.2.101", port=80,
                             destinations=[{"address": "192.0.2.22", "tun_type": "ipip", "tun_flags": "csum"}]),
     "destinations[0].tun_flags"),
    (D, "ipvs_service", dict(address="192.0.2.101", port=80, netmask="0.0.0.255"), "service.netmask"),
    (D, "ipvs_service", dict(address="192.0.2.101", port=80,
                             destinations=[{"address": "192.0.2.22", "lower_threshold": 60}]),
     "destinations[0].lower_threshold"),
    # ---------------------------------------------------------------- ipvs_dest
    (D, "ipvs_dest", dict(GUE, address="192.0.2.23", weight=1.9), "weight"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.23", weight=False), "weight"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.23", weight="abc"), "weight"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.23", port=80.5), "port"),
    (D, "ipvs_dest", dict(service_address="192.0.2.110", service_port=80, address="192.0.2.23"), "service"),
    (D, "ipvs_dest", dict(service_address="192.0.2.100", service_port=0, address="192.0.2.23"), "service"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.300"), "address"),
    (D, "ipvs_dest", dict(service_address="2001:db8::100", service_port=80, address="192.0.2.23"),
     "destination.address"),
    (D, "ipvs_dest", dict(service_address="192.0.2.100", service_port=80, address="2001:db8::23"),
     "destination.address"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.22", weight=70000), "destination.weight"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.22", upper_threshold=-1), "destination.upper_threshold"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.22", lower_threshold=60), "destination.lower_threshold"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.23", forward="tunnel", tun_type="gue"), "destination.tun_port"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.22", tun_port=70000), "destination.tun_port"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.22", tun_type="gre", tun_flags="remcsum"), "destination.tun_flags"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.22", forward="dr", tun_port=6080), "destination.tun_type"),
    (D, "ipvs_dest", dict(fwmark=5, service_address="192.0.2.100", address="192.0.2.23"), "fwmark"),
    (D, "ipvs_dest", dict(fwmark=0, address="192.0.2.23"), "service.fwmark"),
    (D, "ipvs_dest", dict(GUE, address="224.0.0.5"), "destination.address"),
    (D, "ipvs_dest", dict(service_address="192.0.2.100", service_port=80, address="192.0.2.21", port=8080),
     "destination.port"),
    (D, "ipvs_dest", dict(GUE, address="192.0.2.23", colour="blue"), "colour"),
    # ---------------------------------------------------------------- ipvs_table (free-form dicts)
    (D, "ipvs_table", table(new(port=80.9)), "services[0].port"),
    (D, "ipvs_table", table(new(port="80x")), "services[0].port"),
    (D, "ipvs_table", table(new(port=True)), "services[0].port"),
    (D, "ipvs_table", table(new(protocol="udp", one_packet="no")), "services[0].one_packet"),
    (D, "ipvs_table", table(new(destinations=[{"address": "192.0.2.23", "weight": 1.9}])),
     "services[0].destinations[0].weight"),
    (D, "ipvs_table", table(new(destinations=[{"address": "192.0.2.23", "weight": False}])),
     "services[0].destinations[0].weight"),
    (D, "ipvs_table", table(new(destinations={"address": "192.0.2.23"})), "services[0].destinations"),
    (D, "ipvs_table", table(new(destinations=["192.0.2.23"])), "services[0].destinations[0]"),
    (D, "ipvs_table", table(new(sched_flags="sh-port")), "services[0].sched_flags"),
    (D, "ipvs_table", table(new(scheduler="sh", sched_flags=[1])), "services[0].sched_flags"),
    (D, "ipvs_table", table(new(port=0)), "services[0].port"),
    (D, "ipvs_table", table(new(persistence="60s")), "services[0].persistence"),
    (D, "ipvs_table", table(new(persistence=60, netmask="0.0.0.255")), "services[0].netmask"),
    (D, "ipvs_table", table(new(), new(scheduler="rr")), "services"),
    (D, "ipvs_table", table(dict(V6, destinations=[{"address": "192.0.2.23", "forward": "masq"}])),
     "services[0].destinations[0].address"),
    (D, "ipvs_table", table(new(destinations=[{"address": "192.0.2.23", "upper_threshold": 1.5}])),
     "services[0].destinations[0].upper_threshold"),
    # ---------------------------------------------------------------- ipvs_global
    (D, "ipvs_global", dict(sync_daemons=[dict(state="backup", interface="")]), "sync_daemons[0].interface"),
    (D, "ipvs_global", dict(sync_daemons=[dict(state="backup", interface=".")]), "sync_daemons[0].interface"),
    (D, "ipvs_global", dict(sync_daemons=[dict(state="backup", interface="../../../etc")]),
     "sync_daemons[0].interface"),
    (D, "ipvs_global", dict(sync_daemons=[dict(state="backup", interface="nosuch0")]), "sync_daemons[0].interface"),
    (D, "ipvs_global", dict(sync_daemons=[dict(state="master", interface="eth0", syncid=256)]),
     "sync_daemons[0].syncid"),
    (D, "ipvs_global", dict(sync_daemons=[dict(state="master", interface="eth0", syncid=1.5)]), "syncid"),
    (D, "ipvs_global", dict(sync_daemons=[dict(state="master", interface="eth0"),
                                          dict(state="master", interface="eth0", syncid=3)]), "sync_daemons"),
    (D, "ipvs_global", dict(sync_daemons=[dict(state="primary", interface="eth0")]), "state"),
    (D, "ipvs_global", dict(timeout_tcp=0), "timeout_tcp"),
    (D, "ipvs_global", dict(timeout_tcp=-5), "timeout_tcp"),
    (D, "ipvs_global", dict(timeout_udp=2 ** 31), "timeout_udp"),
    (D, "ipvs_global", dict(timeout_tcp_fin=1.5), "timeout_tcp_fin"),
    (D, "ipvs_global", dict(timeout_tcp=1000, sync_daemons=[dict(state="backup", interface="eth0/..")]),
     "sync_daemons[0].interface"),
    # ---------------------------------------------------------------- vip_address
    (R, "vip_address", dict(address=["192.0.2.150"], interface="eht0"), "interface"),
    (R, "vip_address", dict(address=["192.0.2.150/24"]), "address[0]"),
    (R, "vip_address", dict(address=["2001:db8::150/64"]), "address[0]"),
    (R, "vip_address", dict(address=["127.0.0.1/8"], state="absent"), "address[0]"),
    (R, "vip_address", dict(address=["127.0.0.2"]), "address[0]"),
    (R, "vip_address", dict(address=["::1"]), "address[0]"),
    (R, "vip_address", dict(address=["0.0.0.0"]), "address[0]"),
    (R, "vip_address", dict(address=["224.0.0.1"]), "address[0]"),
    (R, "vip_address", dict(address=["192.0.2.150", "192.0.2.150/32"]), "address[1]"),
    (R, "vip_address", dict(address=["192.0.2.150", "192.0.2.300"]), "address[1]"),
    (R, "vip_address", dict(address=[]), "address"),
    (R, "vip_address", dict(address=["192.0.2.150"], interface=""), "interface"),
    (R, "vip_address", dict(address=["192.0.2.150"], interface="."), "interface"),
    (R, "vip_address", dict(address=["192.0.2.150"], interface="../../../etc"), "interface"),
    (R, "vip_address", dict(address=["192.0.2.150"], interface="averyveryverylongname"), "interface"),
    (R, "vip_address", dict(address=["192.0.2.150"], interface="eth0", interface_type="loopback"), "interface_type"),
    (R, "vip_address", dict(address=["192.0.2.150"], interface="lo", interface_type="ipip"), "interface_type"),
    (R, "vip_address", dict(address=["192.0.2.150"], interface="lo", interface_type="dummy"), "interface_type"),
    (R, "vip_address", dict(address=["192.0.2.100"], exclusive=True, state="absent"), "exclusive"),
    (R, "vip_address", dict(address=["192.0.2.150"], interface="nosuch0", interface_type="existing"), "interface"),
    (R, "vip_address", dict(address=["192.0.2.150"], host_route="maybe"), "host_route"),
    (R, "vip_address", dict(address=["192.0.2.150"], interface_type="bridge"), "interface_type"),
    # ---------------------------------------------------------------- arp_sysctl
    (R, "arp_sysctl", dict(interfaces=["lo", "nosuch0"]), "interfaces"),
    (R, "arp_sysctl", dict(interfaces=["lo"], arp_announce=5), "arp_announce"),
    (R, "arp_sysctl", dict(interfaces=["lo"], arp_ignore=9), "arp_ignore"),
    (R, "arp_sysctl", dict(interfaces=["lo"], rp_filter=3), "rp_filter"),
    (R, "arp_sysctl", dict(interfaces=["../../etc"]), "interfaces"),
    (R, "arp_sysctl", dict(interfaces=[""]), "interfaces"),
    (R, "arp_sysctl", dict(interfaces=[]), "interfaces"),
    (R, "arp_sysctl", dict(interfaces=["lo"], name="relative.conf"), "name"),
    (R, "arp_sysctl", dict(interfaces=["lo"], name="/etc/sysctl.d/"), "name"),
    (R, "arp_sysctl", dict(interfaces=["lo"], state_file="relative.json"), "state_file"),
    (R, "arp_sysctl", dict(interfaces=["lo"], send_redirects="maybe"), "send_redirects"),
    (R, "arp_sysctl", dict(interfaces=["lo"], arp_ignore=1.5), "arp_ignore"),
    # ---------------------------------------------------------------- policy_route
    (R, "policy_route", dict(name="lvs_t2", table_id=102, rules=[{}]), "rules[0]"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, rules=[{"from": "all"}]), "rules[0]"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, rules=[{"from": "192.0.2.300"}]), "rules[0].from"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, rules=[{"fwmark": "0xzz"}]), "rules[0].fwmark"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, rules=[{"from": "192.0.2.21", "priority": 0}]),
     "rules[0].priority"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, rules=[{"from": "192.0.2.21", "priority": 40000}]),
     "rules[0].priority"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, rules=[{"from": "192.0.2.21", "to": "2001:db8::/32"}]),
     "rules[0]"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, rules=[{"iif": "../x"}]), "rules[0].iif"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, routes=[{"gateway": "192.0.2.300"}]), "routes[0].gateway"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, routes=[{}]), "routes[0]"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, routes=[{"dev": "nosuch0"}]), "routes[0].dev"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, routes=[{"dev": "."}]), "routes[0].dev"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, routes=[{"dest": "10.0.0.1/8", "dev": "eth0"}]),
     "routes[0].dest"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, routes=[{"dev": "eth0", "metric": -1}]),
     "routes[0].metric"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102,
                             routes=[{"dest": "10.0.0.0/8", "gateway": "2001:db8::1"}]), "routes[0].gateway"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, routes=[{"dev": "eth0"}, {"dev": "eth0"}]), "routes[1]"),
    (R, "policy_route", dict(name="lvs_t2", table_id=254), "table_id"),
    (R, "policy_route", dict(name="lvs_t2", table_id=0), "table_id"),
    (R, "policy_route", dict(name="lvs_t2"), "table_id"),
    (R, "policy_route", dict(name="lvs_t2", table_id=100), "table_id"),  # lvs_nat owns 100
    (R, "policy_route", dict(name="main", table_id=102), "name"),
    (R, "policy_route", dict(name="bad name", table_id=102), "name"),
    (R, "policy_route", dict(name="lvs_t2", table_id="x"), "table_id"),
    # ---------------------------------------------------------------- issue 23, classes 2 and 3
    # patterns ending in $ took a trailing newline: the rule was added, the name became a file name
    (R, "policy_route", dict(name="lvs_t2", table_id=102, rules=[{"iif": "eth0\n"}]), "rules[0].iif"),
    (R, "policy_route", dict(name="lvs_t2\n", table_id=102, rules=[{"from": "192.0.2.21"}]), "name"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, routes=[{"dev": "eth0\n"}]), "routes[0].dev"),
    # a device named like an ip keyword worked live and broke the boot replay
    (R, "vip_address", dict(address=["192.0.2.150"], interface="table", interface_type="dummy"), "interface"),
    (R, "vip_address", dict(address=["192.0.2.150"], interface="via", interface_type="dummy"), "interface"),
    (R, "policy_route", dict(name="table", table_id=102, rules=[{"from": "192.0.2.21"}]), "name"),
    # IPv6 zone ids: refused in validation, not by inet_pton while applying
    (D, "ipvs_service", dict(address="fe80::5%eth0", port=80), "service.address"),
    (D, "ipvs_table", table(new(destinations=[{"address": "192.0.2.23"}]), dict(address="fe80::5%eth0", port=80)),
     "services[1].address"),
    (R, "vip_address", dict(address=["2001:db8::150%lo"]), "address[0]"),
    (R, "policy_route", dict(name="lvs_t2", table_id=102, routes=[{"gateway": "fe80::1%eth0", "dev": "eth0"}]),
     "routes[0].gateway"),
]


def row_id(row):
    host, module, args, field = row
    return "%s-%s-%s" % (module, field, ROWS.index(row))


@pytest.fixture(scope="module")
def snapshots(lab):
    """Baseline on both hosts: an IPVS table with a GUE real server, timeouts and a
    sync daemon on dir1; a VIP, ARP sysctls and a policy route (with their state
    files) on rs1. Yields {host: last snapshot}."""
    lab.run(DIRECTOR, "modprobe ip_vs && ipvsadm -C && ipvsadm --stop-daemon master; "
                      "ipvsadm --stop-daemon backup; ipvsadm -R && ipvsadm --set 900 120 300 && "
                      "ipvsadm --start-daemon master --mcast-interface eth0 --syncid 7", input=IPVS_BASELINE)
    for module, args in (("vip_address", dict(address=["192.0.2.100"])),
                         ("arp_sysctl", dict(interfaces=["all", "lo", "eth0"])),
                         ("policy_route", dict(name="lvs_nat", table_id=100,
                                               routes=[{"gateway": "192.0.2.11", "dev": "eth0"}],
                                               rules=[{"from": "192.0.2.21/32", "priority": 1000}]))):
        res = lab.module(REALSERVER, module, **args)
        assert not res.get("failed"), res
    snaps = dict((host, snapshot(lab, host)) for host in (DIRECTOR, REALSERVER))
    assert "--tun-type gue" in snaps[DIRECTOR] or "gue" in snaps[DIRECTOR], snaps[DIRECTOR]
    assert "master sync daemon" in snaps[DIRECTOR]
    yield snaps
    lab.run(DIRECTOR, "ipvsadm -C; ipvsadm --stop-daemon master", check=False)
    lab.module(REALSERVER, "policy_route", name="lvs_nat", state="absent")
    lab.module(REALSERVER, "arp_sysctl", state="absent")
    lab.module(REALSERVER, "vip_address", address=["192.0.2.100"], state="absent")


def snapshot(lab, host):
    return lab.out(host, SNAPSHOT[host] + COMMON)


def test_table_has_at_least_100_rows():
    assert len(ROWS) >= 100
    assert len(set(m for _h, m, _a, _f in ROWS)) == 7


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_bad_input_names_the_field_and_changes_nothing(lab, snapshots, row):
    host, module, args, field = row
    before = snapshots[host]
    res = lab.module(host, module, **args)
    after = snapshots[host] = snapshot(lab, host)
    assert res.get("failed") is True, res
    assert field in res["msg"], res["msg"]
    assert "Traceback" not in res["msg"] and "exception" not in res, res
    assert after == before, "%s changed the host:\n%s" % (module, _diff(before, after))


def _diff(a, b):
    import difflib
    return "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=1))


def test_snapshots_see_a_change(lab, snapshots):
    """The table's check is not vacuous: a good request changes each host's snapshot."""
    res = lab.module(DIRECTOR, "ipvs_dest", **dict(GUE, address="192.0.2.22", state="drained"))
    assert res["changed"] and not res.get("failed"), res
    changed = snapshot(lab, DIRECTOR)
    assert changed != snapshots[DIRECTOR] and "--tun-type gue --tun-port 6080 --tun-csum" in changed
    assert lab.module(DIRECTOR, "ipvs_dest", **dict(GUE, address="192.0.2.22", weight=100))["changed"]
    assert snapshot(lab, DIRECTOR) == snapshots[DIRECTOR]
    assert lab.module(REALSERVER, "arp_sysctl", interfaces=["all", "lo"])["changed"]
    assert snapshot(lab, REALSERVER) != snapshots[REALSERVER]
    assert lab.module(REALSERVER, "arp_sysctl", interfaces=["all", "lo", "eth0"])["changed"]
