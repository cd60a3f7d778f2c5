"""LVS-TUN built by lvs.cluster.site: IPIP to the real servers, VIP on tunl0."""

from lvslab_testinfra import host, wait_for

VIP = "192.0.2.100"




def test_directors_tunnel_to_the_real_servers():
    assert wait_for(lambda: VIP in host("dir1").check_output("ip -o -4 addr show dev eth0"))
    for name in ("dir1", "dir2"):
        rules = host(name).check_output("ipvsadm -S -n")
        assert "-a -t %s:80 -r 192.0.2.21:80 -i -w 1 --tun-type ipip" % VIP in rules


def test_real_servers_decapsulate_with_the_vip_on_tunl0():
    for name in ("rs1", "rs2"):
        rs = host(name)
        assert VIP + "/32" in rs.check_output("ip -o -4 addr show dev tunl0")
        assert rs.check_output("sysctl -n net.ipv4.conf.tunl0.rp_filter") == "0"
        assert rs.check_output("sysctl -n net.ipv4.conf.all.arp_ignore") == "1"


def test_client_reaches_both_real_servers_through_the_tunnel():
    client = host("client")
    answers = [client.check_output("curl -s --max-time 5 http://%s/" % VIP) for _ in range(4)]
    assert sorted(set(answers)) == ["rs1", "rs2"], answers
    # The packets really went through IPIP: the real servers' tunl0 counted them.
    rx = int(host("rs1").check_output("cat /sys/class/net/tunl0/statistics/rx_packets"))
    assert rx > 0
