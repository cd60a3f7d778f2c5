"""The lab itself: IPVS on a real kernel, separate hosts, reboot, isolation."""
import os

import pytest


def test_ipvs_works_per_host(lab):
    lab.run("dir1", "modprobe ip_vs && ipvsadm -C && ipvsadm -A -t 192.0.2.100:80 -s wlc")
    assert "TCP  192.0.2.100:80 wlc" in lab.out("dir1", "ipvsadm -Ln")
    # IPVS tables are per network namespace, i.e. per lab host.
    assert "192.0.2.100" not in lab.out("dir2", "ipvsadm -Ln")
    lab.run("dir1", "ipvsadm -C")


def _ipvs_rules(vip, first_port, services, realservers):
    """ipvsadm-restore lines: services on vip from first_port, each with its real servers
    (weights 1, 2, ...) at documentation addresses no host carries."""
    lines = []
    for i in range(services):
        port = first_port + i
        lines.append("-A -t %s:%d -s wrr" % (vip, port))
        lines += ["-a -t %s:%d -r 198.51.100.%d:%d -g -w %d" % (vip, port, j + 1, port, j + 1)
                  for j in range(realservers)]
    return "\n".join(lines) + "\n"


def test_probe_reads_whole_ipvs_tables_of_two_hosts(lab):
    """The fail-over probe (lab/probe.py: the benchmarks' table counts and weights)
    reads each host's table as ipvsadm does while both directors have one. Reading
    /proc/net/ip_vs it listed 12 of 99 services of dir1 with 1,999 in dir2: the lab's
    Linux 6.1 skips services in that file when another namespace has some (issue 16)."""
    from lab import failover as lf
    lab.run("dir1", "modprobe ip_vs && ipvsadm -C && ipvsadm-restore", input=_ipvs_rules("192.0.2.100", 10001, 99, 10))
    lab.run("dir2", "modprobe ip_vs && ipvsadm -C && ipvsadm-restore", input=_ipvs_rules("192.0.2.101", 20001, 500, 0))
    try:
        for host in ("dir1", "dir2"):
            saved = lab.ipvs_rules(host).splitlines()
            want = [sum(line.startswith("-A ") for line in saved), sum(line.startswith("-a ") for line in saved)]
            assert want == ([99, 990] if host == "dir1" else [500, 0])
            assert lf.probe().call("ipvs_counts", host=host) == want
        weights = {"198.51.100.%d" % (j + 1): j + 1 for j in range(10)}
        assert lf.probe().call("ipvs_weights", host="dir1", vip="192.0.2.100", port=10099) == weights
        assert lf.probe().call("ipvs_weights", host="dir1", vip="192.0.2.101", port=20500) is None  # dir2's
    finally:
        lab.run("dir1", "ipvsadm -C")
        lab.run("dir2", "ipvsadm -C")


def test_hosts_have_their_own_etc_and_hostname(lab):
    lab.run("dir1", "mkdir -p /etc/keepalived && echo dir1-conf > /etc/keepalived/keepalived.conf")
    lab.run("dir2", "mkdir -p /etc/keepalived && echo dir2-conf > /etc/keepalived/keepalived.conf")
    assert lab.out("dir1", "cat /etc/keepalived/keepalived.conf") == "dir1-conf\n"
    assert lab.out("dir2", "cat /etc/keepalived/keepalived.conf") == "dir2-conf\n"
    assert lab.out("dir1", "hostname").strip() == "dir1"
    assert lab.out("dir2", "cat /etc/hostname").strip() == "dir2"
    lab.run("dir1", "rm /etc/keepalived/keepalived.conf")
    lab.run("dir2", "rm /etc/keepalived/keepalived.conf")


def test_services_are_managed_by_init_scripts(lab):
    # Ansible sees a sysvinit host: PID 1 is the lab's init, not systemd.
    assert lab.out("rs1", "cat /proc/1/comm").strip() == "init"
    assert lab.run("rs1", "test -e /run/systemd/system", check=False).returncode != 0
    assert "lvslab boot: keepalived start" in lab.out("rs1", "cat /var/log/lvslab-boot.log")


def test_traffic_flows_between_hosts(lab):
    lab.run("client", "ping -c 1 -W 2 %s" % lab.address("rs1"))
    lab.run("rs1", "mkdir -p /srv/www && echo hello-from-rs1 > /srv/www/index.html && "
                   "busybox httpd -p 80 -h /srv/www </dev/null >/dev/null 2>&1")
    try:
        body = lab.out("client", "curl -s --max-time 5 http://%s/" % lab.address("rs1"))
        assert body == "hello-from-rs1\n"
    finally:
        lab.run("rs1", "pkill -f 'busybox httpd'", check=False)


def test_reboot_loses_runtime_state_and_keeps_files(lab):
    lab.run("rs2", "modprobe ip_vs; ipvsadm -A -u 192.0.2.101:53 -s rr; "
                   "ip addr add 192.0.2.200/32 dev lo; sysctl -w net.ipv4.conf.all.arp_ignore=1; "
                   "ip route add 198.51.100.0/24 via 192.0.2.22 table 100; "
                   "ip rule add from 192.0.2.22 table 100 priority 1000; "
                   "echo kept > /etc/lvslab-reboot-probe; (sleep 1000 </dev/null >/dev/null 2>&1 &)")
    before = lab.out("rs2", "cat /proc/sys/kernel/random/boot_id; stat -c %Y /run/lvslab-booted")
    lab.lab("reboot", "rs2")
    assert lab.out("rs2", "cat /etc/lvslab-reboot-probe") == "kept\n"
    assert "192.0.2.101" not in lab.out("rs2", "ipvsadm -Ln")
    assert "192.0.2.200" not in lab.out("rs2", "ip addr show dev lo")
    assert lab.out("rs2", "sysctl -n net.ipv4.conf.all.arp_ignore").strip() == "0"
    assert "198.51.100.0" not in lab.run("rs2", "ip route show table 100", check=False).stdout
    assert "lookup 100" not in lab.out("rs2", "ip rule show")
    assert "sleep 1000" not in lab.out("rs2", "ps -eo args")
    # The boot sequence ran again, and the base network came back.
    assert lab.out("rs2", "cat /proc/sys/kernel/random/boot_id; stat -c %Y /run/lvslab-booted") != before
    lab.run("client", "ping -c 1 -W 2 %s" % lab.address("rs2"))
    lab.run("rs2", "rm /etc/lvslab-reboot-probe")


def test_cut_and_power(lab):
    rs1 = lab.address("rs1")
    lab.lab("cut", "rs1")
    assert lab.run("client", "ping -c 1 -W 1 %s" % rs1, check=False).returncode != 0
    assert "NO-CARRIER" in lab.out("rs1", "ip link show eth0")
    lab.lab("mend", "rs1")
    lab.run("client", "ping -c 1 -W 2 %s" % rs1)
    lab.lab("poweroff", "rs1")
    assert lab.run("client", "ping -c 1 -W 1 %s" % rs1, check=False).returncode != 0
    with pytest.raises(Exception):
        lab.run("rs1", "true")
    lab.lab("poweron", "rs1")
    lab.run("client", "ping -c 1 -W 2 %s" % rs1)


def test_no_link_leaves_the_lab_kernel(lab):
    # The lab kernel has no NIC of the machine's: only loopback, the lab's
    # bridges and the veths of lab hosts. So no packet can leave it.
    links = lab.kernel("for l in /sys/class/net/*; do echo ${l##*/} $(readlink -f $l); done").stdout.split("\n")
    links = [line.split() for line in links if line.strip()]
    assert links
    for link, kind in links:
        assert link == "lo" or link.startswith(("br-", "vh")), links
        assert "/virtual/" in kind, (link, kind)


def test_lab_hosts_have_no_route_off_the_documentation_ranges(lab):
    for host in lab.hosts:
        for line in lab.out(host, "ip -4 route show table all").splitlines():
            dest = line.split()[0] if not line.startswith(("local", "broadcast")) else line.split()[1]
            assert dest.startswith(("192.0.2.", "198.51.100.", "203.0.113.", "127.")), (host, line)
        assert lab.run(host, "ip route get 9.9.9.9", check=False).returncode != 0


def test_host_paths_outside_the_output_folder_are_read_only(lab, tmp_path):
    # The machine's root is mounted read-only in the lab kernel...
    res = lab.kernel("echo x > /.hostfs/var/tmp/lvslab-write-probe", check=False)
    assert res.returncode != 0 and "Read-only file system" in res.stderr, res
    # ...and what a lab host writes stays in its overlay.
    lab.run("client", "echo x > /var/tmp/lvslab-write-probe")
    assert not os.path.exists("/var/tmp/lvslab-write-probe")
    # The output folder is the one writable host path.
    out = os.environ["LVSLAB_OUT"]
    lab.kernel("echo ok > %s/write-probe" % out)
    with open(os.path.join(out, "write-probe")) as f:
        assert f.read() == "ok\n"
    os.unlink(os.path.join(out, "write-probe"))
