"""LVS-DR built by lvs.cluster.site, checked from the hosts and with real traffic."""
import re
import subprocess

import pytest
from lab.testinfra_backend import host, wait_for

VIP = "192.0.2.100"




def holds_vip(name):
    return VIP in host(name).check_output("ip -o -4 addr show dev eth0")


def test_exactly_one_director_holds_the_vip():
    assert wait_for(lambda: holds_vip("dir1"))
    assert not holds_vip("dir2")


def test_keepalived_programs_ipvs_on_both_directors():
    for name in ("dir1", "dir2"):
        rules = host(name).check_output("ipvsadm -S -n")
        assert "-A -t %s:80 -s rr" % VIP in rules
        assert "-a -t %s:80 -r 192.0.2.21:80 -g -w 100" % VIP in rules
        assert "-a -t %s:80 -r 192.0.2.22:80 -g -w 100" % VIP in rules
        conf = host(name).file("/etc/keepalived/keepalived.conf")
        assert conf.mode == 0o600


@pytest.mark.parametrize("name", ["rs1", "rs2"])
def test_real_servers_carry_the_vip_quietly(name):
    rs = host(name)
    assert re.search(r"inet %s/32 .*scope (global|host) lo" % re.escape(VIP),
                     rs.check_output("ip -o -4 addr show dev lo"))
    assert rs.check_output("sysctl -n net.ipv4.conf.all.arp_ignore") == "1"
    assert rs.check_output("sysctl -n net.ipv4.conf.all.arp_announce") == "2"


def test_requests_through_the_vip_reach_both_real_servers():
    client = host("client")
    answers = [client.check_output("curl -s --max-time 5 http://%s/" % VIP) for _ in range(4)]
    assert sorted(set(answers)) == ["rs1", "rs2"], answers


def test_only_the_master_answers_arp_for_the_vip():
    client = host("client")
    out = client.run("arping -c 3 -w 4 -I eth0 %s" % VIP).stdout
    assert "3 packets received" in out or "Received 3 response" in out, out
    # Any MAC address on a reply line (Debian's arping prints "42 bytes from MAC (IP)").
    macs = set(m.lower() for m in re.findall(r"\b([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\b", out))
    dir1_mac = host("dir1").check_output("cat /sys/class/net/eth0/address")
    # Replies come from the master only; the real servers carry the VIP on lo and stay quiet.
    assert macs == {dir1_mac}, out
    # The kernel's own resolution agrees.
    client.run("ip neigh flush dev eth0; ping -c 1 -W 2 %s" % VIP)
    assert dir1_mac in client.check_output("ip neigh show %s" % VIP)


def test_a_rebooted_real_server_comes_back_serving():
    subprocess.run(["lvslab", "reboot", "rs1"], check=True)
    rs1 = host("rs1")
    assert VIP in rs1.check_output("ip -o -4 addr show dev lo")
    assert rs1.check_output("sysctl -n net.ipv4.conf.all.arp_ignore") == "1"
    assert wait_for(lambda: rs1.run("curl -s --max-time 2 http://127.0.0.1/").stdout == "rs1\n")
    client = host("client")
    # keepalived's HTTP_GET brings rs1 back into the table; both answer again.
    assert wait_for(lambda: sorted(set(client.check_output("curl -s --max-time 5 http://%s/" % VIP)
                                       for _ in range(4))) == ["rs1", "rs2"], timeout=30)
