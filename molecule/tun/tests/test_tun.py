"""LVS-TUN built by lvs.cluster.site: IPIP (port 80) and GUE (8080, to UDP port 6080) to the real
servers' tunl0, GRE (8081) to their gre0; the VIP on both devices."""

import os
import re
import subprocess
import time

import pytest
from lab.testinfra_backend import host, wait_for

VIP = "192.0.2.100"
GUE_SERVICE, GUE_PORT, GRE_SERVICE = 8080, 6080, 8081
REAL_SERVERS = ("rs1", "rs2")


def test_directors_tunnel_to_the_real_servers():
    assert wait_for(lambda: VIP in host("dir1").check_output("ip -o -4 addr show dev eth0"))
    for name in ("dir1", "dir2"):
        rules = host(name).check_output("ipvsadm -S -n")
        assert "-a -t %s:80 -r 192.0.2.21:80 -i -w 1 --tun-type ipip" % VIP in rules
        for rip in ("192.0.2.21", "192.0.2.22"):  # keepalived's lvs_method TUN type ... per real server
            assert "-a -t %s:%d -r %s:%d -i -w 1 --tun-type gue --tun-port %d" \
                % (VIP, GUE_SERVICE, rip, GUE_SERVICE, GUE_PORT) in rules, rules
            assert "-a -t %s:%d -r %s:%d -i -w 1 --tun-type gre" % (VIP, GRE_SERVICE, rip, GRE_SERVICE) in rules


def test_real_servers_decapsulate_with_the_vip_on_tunl0():
    for name in ("rs1", "rs2"):
        rs = host(name)
        assert VIP + "/32" in rs.check_output("ip -o -4 addr show dev tunl0")
        assert rs.check_output("sysctl -n net.ipv4.conf.tunl0.rp_filter") == "0"
        assert rs.check_output("sysctl -n net.ipv4.conf.all.arp_ignore") == "1"


def test_real_servers_open_the_gue_port_and_carry_the_vip_on_gre0():
    for name in REAL_SERVERS:
        rs = host(name)
        assert "port %d gue" % GUE_PORT in rs.check_output("ip fou show")
        gre0 = rs.check_output("ip -o -4 addr show dev gre0")
        assert VIP + "/32" in gre0
        assert ",UP" in rs.check_output("ip -o link show dev gre0")
        assert rs.check_output("sysctl -n net.ipv4.conf.gre0.rp_filter") == "0"
        assert rs.check_output("sysctl -n net.ipv4.conf.gre0.arp_ignore") == "1"


def rx_packets(rs, device):
    return int(rs.check_output("cat /sys/class/net/%s/statistics/rx_packets" % device))


def udp_in_datagrams(rs):
    """Udp InDatagrams of /proc/net/snmp: the kernel counts each GUE packet its fou socket took."""
    lines = [line.split() for line in rs.check_output("cat /proc/net/snmp").splitlines() if line.startswith("Udp:")]
    return int(lines[1][lines[0].index("InDatagrams")])


@pytest.mark.parametrize("port,device", [(GUE_SERVICE, "tunl0"), (GRE_SERVICE, "gre0")], ids=["gue", "gre"])
def test_client_reaches_both_real_servers_through_gue_and_gre(port, device):
    before = dict((n, (rx_packets(host(n), device), udp_in_datagrams(host(n)))) for n in REAL_SERVERS)
    client = host("client")
    answers = [client.check_output("curl -s --max-time 5 http://%s:%d/" % (VIP, port)) for _ in range(4)]
    assert sorted(set(answers)) == ["rs1", "rs2"], answers
    for name in REAL_SERVERS:
        rx, udp = rx_packets(host(name), device), udp_in_datagrams(host(name))
        assert rx > before[name][0], (name, device)  # the device took the packets off the tunnel
        if port == GUE_SERVICE:
            assert udp > before[name][1], name  # they came as UDP (GUE) to the fou port


def test_client_reaches_both_real_servers_through_the_tunnel():
    client = host("client")
    answers = [client.check_output("curl -s --max-time 5 http://%s/" % VIP) for _ in range(4)]
    assert sorted(set(answers)) == ["rs1", "rs2"], answers
    # The packets really went through IPIP: the real servers' tunl0 counted them.
    rx = int(host("rs1").check_output("cat /sys/class/net/tunl0/statistics/rx_packets"))
    assert rx > 0


# ---------------------------------------------------------------- MTU (issue 17)
# The director adds 20 bytes (IPIP) to each of the client's packets, 32 with GUE (IP 20, UDP 8,
# GUE 4), 24 with GRE. The real servers advertise the VIP's smallest MSS, GUE's 1428, on
# connections to it (lvs_cluster.tun, module source_advmss), so the client's segments fit the
# 1500-byte path once encapsulated, with no ICMP needed.
UPLOAD_CGI = os.path.join(os.path.dirname(__file__), "..", "..", "..", "lab", "clients", "upload.cgi")
UPLOAD_SIZE = 2 * 1024 * 1024
TABLE, PRIORITY, MSS = 101, 1010, 1428
RULE = "from %s lookup %d priority %d" % (VIP, TABLE, PRIORITY)


def test_real_servers_advertise_an_mss_that_fits_the_tunnel():
    for name in REAL_SERVERS:
        rs = host(name)
        assert "from %s lookup %d" % (VIP, TABLE) in rs.check_output("ip -4 rule show")
        # the main table's route to the client, copied with advmss; the reply from the VIP takes it
        assert "192.0.2.0/24 dev eth0 proto static scope link advmss %d" % MSS in \
            rs.check_output("ip -4 route show table %d" % TABLE)
        assert "table %d" % TABLE in rs.check_output("ip -4 route get 192.0.2.10 from %s" % VIP)
        assert "advmss" not in rs.check_output("ip -4 route show table main")  # the host's own routes untouched


@pytest.fixture
def icmp_frag_needed_dropped_at_the_client():
    """A path that drops ICMP fragmentation-needed: the client never learns the tunnel's MTU."""
    client = host("client")
    client.check_output("tc qdisc add dev eth0 ingress && tc filter add dev eth0 parent ffff: protocol ip prio 1 "
                        "flower ip_proto icmp type 3 code 4 action drop")
    yield client
    client.run("tc qdisc del dev eth0 ingress")


def dropped_icmp(client):
    stats = client.check_output("tc -s filter show dev eth0 parent ffff:")
    return int(re.search(r"Sent \d+ bytes (\d+) pkt", stats).group(1))


def upload(client, max_time):
    client.check_output("ip route flush cache")  # forget any path MTU learnt before
    return client.run("curl -s -S -o /tmp/upload.answer -w '%%{size_upload}\\n' --max-time %d -H 'Expect:' "
                      "--data-binary @/tmp/upload.bin http://%s/cgi-bin/upload && cat /tmp/upload.answer"
                      % (max_time, VIP))


def test_2mib_upload_with_icmp_dropped_passes_with_the_mss_and_stalls_without(icmp_frag_needed_dropped_at_the_client):
    client = icmp_frag_needed_dropped_at_the_client
    with open(UPLOAD_CGI, "rb") as f:
        cgi = f.read()
    for name in REAL_SERVERS:
        subprocess.run(["lvslab", "exec", name, "--", "sh", "-c", "mkdir -p /srv/lvs-test-www/cgi-bin && "
                        "cat > /srv/lvs-test-www/cgi-bin/upload && chmod 755 /srv/lvs-test-www/cgi-bin/upload"],
                       input=cgi, check=True)
    digest = client.check_output("head -c %d /dev/urandom > /tmp/upload.bin && sha256sum /tmp/upload.bin"
                                 % UPLOAD_SIZE).split()[0]
    for _ in REAL_SERVERS:  # wlc: one upload to each real server
        started = time.monotonic()
        done = upload(client, 60)
        assert done.rc == 0, done.stderr
        assert done.stdout == "%d\n%d %s\n" % (UPLOAD_SIZE, UPLOAD_SIZE, digest)  # curl's count, then the CGI's
        print("with the advertised MSS: 2 MiB uploaded in %.2f s" % (time.monotonic() - started))
    assert "mtu" not in client.check_output("ip -4 route get %s" % VIP)  # no path MTU was learnt
    assert dropped_icmp(client) == 0  # the director never had to ask for smaller packets

    # Without the setting (the rule that selects the advmss table removed), the real servers
    # advertise 1460: the director cannot forward the client's full-sized segments, its ICMP
    # is dropped, and the upload stalls.
    for name in REAL_SERVERS:
        host(name).check_output("ip -4 rule del " + RULE)
    try:
        # 10 s: with the setting each upload above takes about 1 s in the lab
        stalled = upload(client, 10)
        assert stalled.rc == 28, (stalled.rc, stalled.stdout, stalled.stderr)  # curl: operation timed out
        assert int(stalled.stdout.split()[0]) < UPLOAD_SIZE, stalled.stdout
        assert dropped_icmp(client) > 0
        print("without: curl timed out after 10 s, %s bytes handed to the socket, %d ICMP fragmentation-needed "
              "dropped at the client" % (stalled.stdout.split()[0], dropped_icmp(client)))
    finally:
        for name in REAL_SERVERS:
            host(name).run("ip -4 rule add " + RULE)


def test_the_advertised_mss_comes_back_after_a_reboot():
    subprocess.run(["lvslab", "reboot", "rs2"], check=True)
    rs2 = host("rs2")
    assert "from %s lookup %d" % (VIP, TABLE) in rs2.check_output("ip -4 rule show")
    assert "advmss %d" % MSS in rs2.check_output("ip -4 route show table %d" % TABLE)
    # the GUE port and gre0's VIP too (lvs-cluster-net: ip fou add, modprobe ip_gre)
    assert "port %d gue" % GUE_PORT in rs2.check_output("ip fou show")
    assert VIP + "/32" in rs2.check_output("ip -o -4 addr show dev gre0")
    assert ",UP" in rs2.check_output("ip -o link show dev gre0")
