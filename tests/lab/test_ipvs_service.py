"""ipvs_* modules on the lab kernel, read back with ipvsadm (an independent client).

Each case applies a module to dir1 and compares what `ipvsadm` prints with
what the module reported. One module runner process serves all cases.
"""
import re
import time

import pytest

HOST = "dir1"


pytestmark = pytest.mark.usefixtures("empty_ipvs_table")


def saved(lab):
    return lab.ipvs_rules(HOST)


def without_thresholds(rules):
    # ipvsadm -S does not print -x/-y; thresholds are read back with --thresholds.
    return re.sub(r" -[xy] \d+", "", rules)


def module(lab, name, **args):
    res = lab.module(HOST, name, **args)
    assert not res.get("failed"), res
    return res


def test_service_with_destinations_reads_back_exactly(lab):
    args = dict(address="192.0.2.100", port=80, scheduler="wlc", persistence=60,
                destinations=[dict(address="192.0.2.21", weight=100),
                              dict(address="192.0.2.22", weight=50, upper_threshold=200, lower_threshold=10)])
    res = module(lab, "ipvs_service", **args)
    assert res["changed"] is True
    assert saved(lab) == without_thresholds(res["diff"]["after"])
    assert saved(lab) == ("-A -t 192.0.2.100:80 -s wlc -p 60\n"
                          "-a -t 192.0.2.100:80 -r 192.0.2.21:80 -g -w 100\n"
                          "-a -t 192.0.2.100:80 -r 192.0.2.22:80 -g -w 50\n")
    thresholds = lab.out(HOST, "ipvsadm -Ln --thresholds -t 192.0.2.100:80")
    assert re.search(r"192\.0\.2\.22:80\s+200\s+10\s", thresholds), thresholds
    by_address = dict((d["address"], d) for d in res["destinations"])
    assert by_address["192.0.2.22"]["upper_threshold"] == 200
    again = module(lab, "ipvs_service", **args)
    assert again["changed"] is False and again["actions"] == []


@pytest.mark.parametrize("scheduler", ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh",
                                       "sed", "nq", "fo", "ovf", "mh"])
def test_every_scheduler(lab, scheduler):
    res = module(lab, "ipvs_service", address="192.0.2.100", port=80, scheduler=scheduler)
    assert res["changed"]
    assert saved(lab) == "-A -t 192.0.2.100:80 -s %s\n" % scheduler


def test_scheduler_flags_udp_ipv6_fwmark_sctp_one_packet(lab):
    module(lab, "ipvs_service", address="192.0.2.100", port=80, scheduler="sh",
           sched_flags=["sh-port", "sh-fallback"])
    module(lab, "ipvs_service", fwmark=7, scheduler="mh", sched_flags=["mh-fallback"],
           persistence=120, netmask="255.255.255.0")
    module(lab, "ipvs_service", protocol="udp", address="192.0.2.100", port=53, scheduler="rr",
           one_packet=True)
    module(lab, "ipvs_service", address="2001:db8::100", port=443, scheduler="wrr", persistence=30,
           netmask="64", destinations=[dict(address="2001:db8::21", weight=3)])
    module(lab, "ipvs_service", protocol="sctp", address="192.0.2.100", port=2905, scheduler="rr")
    lines = set(saved(lab).splitlines())
    assert lines == {
        "-A -t 192.0.2.100:80 -s sh -b sh-fallback,sh-port",
        "-A -f 7 -s mh -p 120 -M 255.255.255.0 -b mh-fallback",
        "-A -u 192.0.2.100:53 -s rr -o",
        "-A -t [2001:db8::100]:443 -s wrr -p 30 -M 64",
        "-a -t [2001:db8::100]:443 -r [2001:db8::21]:443 -g -w 3",
        "-A --sctp-service 192.0.2.100:2905 -s rr",
    }, lines
    info = module(lab, "ipvs_info")
    assert set(info["rules"].splitlines()) == lines


def test_forwarding_methods_port_mapping_and_tunnels(lab):
    module(lab, "ipvs_service", address="203.0.113.100", port=80, scheduler="wrr", destinations=[
        dict(address="192.0.2.21", port=8001, forward="nat", weight=3),
        dict(address="192.0.2.22", port=8002, forward="masq", weight=1)])
    module(lab, "ipvs_service", address="192.0.2.100", port=80, destinations=[
        dict(address="198.51.100.21", forward="tun"),
        dict(address="198.51.100.22", forward="tunnel", tun_type="gue", tun_port=6080),
        dict(address="198.51.100.23", forward="tunnel", tun_type="gre", tun_flags="csum"),
        dict(address="192.0.2.24", forward="dr")])
    lines = saved(lab).splitlines()
    for expected in ["-a -t 203.0.113.100:80 -r 192.0.2.21:8001 -m -w 3",
                     "-a -t 203.0.113.100:80 -r 192.0.2.22:8002 -m -w 1",
                     "-a -t 192.0.2.100:80 -r 198.51.100.21:80 -i -w 1 --tun-type ipip",
                     "-a -t 192.0.2.100:80 -r 198.51.100.22:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-nocsum",
                     "-a -t 192.0.2.100:80 -r 198.51.100.23:80 -i -w 1 --tun-type gre --tun-csum",
                     "-a -t 192.0.2.100:80 -r 192.0.2.24:80 -g -w 1"]:
        assert expected in lines, lines
    assert saved(lab) == module(lab, "ipvs_info")["rules"]


def test_edit_purge_and_delete(lab):
    base = dict(address="192.0.2.100", port=80, scheduler="wlc",
                destinations=[dict(address="192.0.2.21"), dict(address="192.0.2.22")])
    module(lab, "ipvs_service", **base)
    # Change the scheduler, keep destinations (no purge): only the service is edited.
    res = module(lab, "ipvs_service", address="192.0.2.100", port=80, scheduler="rr",
                 destinations=[dict(address="192.0.2.23", weight=5)])
    assert res["actions"] == ["edit-service -t 192.0.2.100:80", "add-dest -t 192.0.2.100:80 -r 192.0.2.23:80"]
    assert saved(lab).count("-a ") == 3
    res = module(lab, "ipvs_service", address="192.0.2.100", port=80, scheduler="rr",
                 destinations=[dict(address="192.0.2.23", weight=5)], purge_destinations=True)
    assert saved(lab) == ("-A -t 192.0.2.100:80 -s rr\n"
                          "-a -t 192.0.2.100:80 -r 192.0.2.23:80 -g -w 5\n")
    res = module(lab, "ipvs_service", address="192.0.2.100", port=80, state="absent")
    assert res["changed"] and saved(lab) == ""
    assert module(lab, "ipvs_service", address="192.0.2.100", port=80, state="absent")["changed"] is False


def test_check_mode_changes_nothing_and_predicts_the_diff(lab):
    args = dict(address="192.0.2.100", port=80, persistence=300,
                destinations=[dict(address="192.0.2.21", weight=7)])
    res = lab.module(HOST, "ipvs_service", check=True, **args)
    assert res["changed"] is True
    assert saved(lab) == ""
    real = module(lab, "ipvs_service", **args)
    assert real["diff"] == res["diff"]
    assert saved(lab) == res["diff"]["after"]


def test_dest_module_add_drain_remove(lab):
    module(lab, "ipvs_service", address="192.0.2.100", port=80)
    dest = dict(service_address="192.0.2.100", service_port=80, address="192.0.2.21", weight=100)
    assert module(lab, "ipvs_dest", **dest)["changed"]
    assert module(lab, "ipvs_dest", **dest)["changed"] is False
    res = module(lab, "ipvs_dest", state="drained", **dest)
    assert res["changed"] and res["destination"]["weight"] == 0
    assert "-a -t 192.0.2.100:80 -r 192.0.2.21:80 -g -w 0" in saved(lab)
    assert module(lab, "ipvs_dest", state="drained", **dest)["changed"] is False
    check = lab.module(HOST, "ipvs_dest", check=True, state="absent", **dest)
    assert check["changed"] and "192.0.2.21" in saved(lab)
    assert module(lab, "ipvs_dest", state="absent", **dest)["changed"]
    assert "192.0.2.21" not in saved(lab)


@pytest.mark.parametrize("module_name,args,field", [
    ("ipvs_service", dict(address="192.0.2.300", port=80), "service.address"),
    ("ipvs_service", dict(address="192.0.2.100", port=70000), "service.port"),
    ("ipvs_service", dict(address="192.0.2.100", port=80, sched_flags=["sh-port"]), "service.sched_flags"),
    ("ipvs_service", dict(address="192.0.2.100", port=80, netmask="255.0.255.0", persistence=5), "service.netmask"),
    ("ipvs_service", dict(address="192.0.2.100", port=80,
                          destinations=[dict(address="192.0.2.21"), dict(address="192.0.2.22", weight=70000)]),
     "destinations[1].weight"),
    ("ipvs_service", dict(address="192.0.2.100", port=80,
                          destinations=[dict(address="192.0.2.21", port=8080, forward="dr")]),
     "destinations[0].port"),
    ("ipvs_service", dict(address="192.0.2.100", port=80,
                          destinations=[dict(address="192.0.2.21", forward="tun", tun_type="gue")]),
     "destinations[0].tun_port"),
    ("ipvs_table", dict(services=[dict(address="192.0.2.100", port=80),
                                  dict(fwmark=3, address="192.0.2.100")]), "services[1].fwmark"),
    ("ipvs_table", dict(services=[dict(address="192.0.2.100", port=80, scheduler="fastest")]),
     "services[0].scheduler"),
    ("ipvs_dest", dict(service_address="192.0.2.100", service_port=80, address="192.0.2.21", weight=-1),
     "destination.weight"),
    ("ipvs_global", dict(sync_daemons=[dict(state="master", interface="eth9")]), "sync_daemons[0].interface"),
])
def test_bad_input_names_the_field_and_changes_nothing(lab, module_name, args, field):
    module(lab, "ipvs_service", address="192.0.2.100", port=80)
    before = saved(lab)
    res = lab.module(HOST, module_name, **args)
    assert res.get("failed") is True, res
    assert field in res["msg"], res["msg"]
    assert saved(lab) == before


def test_fwmark_with_address_is_rejected_by_the_argument_spec(lab):
    res = lab.module(HOST, "ipvs_service", fwmark=1, address="192.0.2.100", port=80)
    assert res.get("failed") and "fwmark" in res["msg"] and "address" in res["msg"]


def test_bulk_table_with_purge_in_one_call(lab):
    module(lab, "ipvs_service", address="192.0.2.199", port=80)  # not listed: purged
    services = []
    for i in range(100):
        services.append(dict(address="198.51.100.%d" % (i + 1), port=80, scheduler="wrr",
                             destinations=[dict(address="192.0.2.%d" % (20 + j), weight=j + 1)
                                           for j in range(10)]))
    res = module(lab, "ipvs_table", services=services, purge=True)
    assert res["counts"] == {"services": 100, "destinations": 1000}
    text = saved(lab)
    assert text.count("-A ") == 100 and text.count("-a ") == 1000
    assert "192.0.2.199" not in text
    assert text == res["diff"]["after"]
    again = module(lab, "ipvs_table", services=services, purge=True)
    assert again["changed"] is False
    services[5]["destinations"][3]["weight"] = 0
    del services[7]
    res = module(lab, "ipvs_table", services=services, purge=True, list_actions=True)
    # Changes before removals: the old table serves while the new one is put in place.
    assert res["actions"] == ["edit-dest -t 198.51.100.6:80 -r 192.0.2.23:80",
                              "delete-service -t 198.51.100.8:80"]
    assert res["summary"] == {"edit-dest": 1, "delete-service": 1}


def test_timeouts_and_sync_daemons(lab):
    res = module(lab, "ipvs_global", timeout_tcp=1000, timeout_tcp_fin=100, timeout_udp=200)
    assert res["changed"]
    assert "Timeout (tcp tcpfin udp): 1000 100 200" in lab.out(HOST, "ipvsadm -L --timeout")
    assert module(lab, "ipvs_global", timeout_tcp=1000, timeout_tcp_fin=100, timeout_udp=200)["changed"] is False
    res = module(lab, "ipvs_global", sync_daemons=[dict(state="master", interface="eth0", syncid=10),
                                                   dict(state="backup", interface="eth0", syncid=10)])
    assert res["changed"]
    daemons = lab.out(HOST, "ipvsadm -L --daemon")
    assert "master sync daemon (mcast=eth0, syncid=10," in daemons, daemons
    assert "backup sync daemon (mcast=eth0, syncid=10," in daemons, daemons
    info = module(lab, "ipvs_info")
    assert info["timeouts"] == {"tcp": 1000, "tcp_fin": 100, "udp": 200}
    assert len(info["sync_daemons"]) == 2
    assert module(lab, "ipvs_global", sync_daemons=[])["changed"]
    assert lab.out(HOST, "ipvsadm -L --daemon").strip() == ""
    module(lab, "ipvs_global", timeout_tcp=900, timeout_tcp_fin=120, timeout_udp=300)


def test_timeouts_persisted_for_boot(lab):
    """persist=true: check mode writes nothing; the boot file holds what the task states (0: left as
    is, ipvsadm --set semantics), the boot hook comes with it; no timeout stated removes both."""
    state = "/etc/lvs-cluster/ipvs-timeouts.json"
    assert lab.run(HOST, "test -e /etc/lvs-cluster", check=False).returncode != 0
    res = module(lab, "ipvs_global", timeout_tcp=1000, timeout_udp=200, persist=True, check=True)
    assert res["changed"] and res["state_file"] == state
    assert lab.run(HOST, "test -e /etc/lvs-cluster", check=False).returncode != 0
    assert module(lab, "ipvs_global", timeout_tcp=1000, timeout_udp=200, persist=True)["changed"]
    assert "Timeout (tcp tcpfin udp): 1000 120 200" in lab.out(HOST, "ipvsadm -L --timeout")
    assert lab.out(HOST, "/usr/local/sbin/lvs-cluster-net show") == "ipvsadm --set 1000 0 200\n"
    assert lab.out(HOST, "ls /etc/rcS.d | grep lvs-cluster-net").strip()
    again = module(lab, "ipvs_global", timeout_tcp=1000, timeout_udp=200, persist=True)
    assert again["changed"] is False, again
    assert module(lab, "ipvs_global", persist=True)["changed"]
    assert lab.run(HOST, "test -e /etc/lvs-cluster || test -e /etc/init.d/lvs-cluster-net "
                         "|| ls /etc/rcS.d | grep -q lvs-cluster-net", check=False).returncode != 0
    assert module(lab, "ipvs_global", persist=True)["changed"] is False
    module(lab, "ipvs_global", timeout_tcp=900, timeout_tcp_fin=120, timeout_udp=300)


def test_save_rules_for_boot_and_restore_after_reboot(lab):
    host = "dir2"
    lab.run(host, "modprobe ip_vs; ipvsadm -C; sed -i 's/^AUTO=.*/AUTO=\"true\"/' /etc/default/ipvsadm")
    args = dict(address="192.0.2.100", port=80, persistence=60,
                destinations=[dict(address="192.0.2.21", weight=10)])
    assert not lab.module(host, "ipvs_service", **args).get("failed")
    res = lab.module(host, "ipvs_save")
    assert res["changed"] and res["path"] == "/etc/ipvsadm.rules"
    assert lab.out(host, "cat /etc/ipvsadm.rules") == lab.out(host, "ipvsadm -S -n")
    assert lab.out(host, "stat -c %a /etc/ipvsadm.rules").strip() == "600"
    assert lab.module(host, "ipvs_save")["changed"] is False
    lab.lab("reboot", host)
    # Debian's ipvsadm init script restored the table at boot.
    assert lab.out(host, "ipvsadm -S -n") == lab.out(host, "cat /etc/ipvsadm.rules")
    assert "-A -t 192.0.2.100:80 -s wlc -p 60" in lab.out(host, "ipvsadm -S -n")
    lab.run(host, "rm /etc/ipvsadm.rules; sed -i 's/^AUTO=.*/AUTO=\"false\"/' /etc/default/ipvsadm; ipvsadm -C")


def test_info_counters_and_connections_with_real_traffic(lab):
    """A DR service on dir1 to rs1; the client's requests show up in counters and -Lnc."""
    vip = "192.0.2.100"
    module(lab, "ipvs_service", address=vip, port=80, scheduler="rr",
           destinations=[dict(address=lab.address("rs1"), forward="dr")])
    lab.run(HOST, "ip addr add %s/32 dev eth0" % vip)
    lab.run("rs1", "ip addr add %s/32 dev lo; sysctl -qw net.ipv4.conf.all.arp_ignore=1 "
                   "net.ipv4.conf.all.arp_announce=2; mkdir -p /srv/www; echo rs1 > /srv/www/index.html; "
                   "busybox httpd -p 80 -h /srv/www </dev/null >/dev/null 2>&1" % vip)
    try:
        for _ in range(3):
            assert lab.out("client", "curl -s --max-time 5 http://%s/" % vip) == "rs1\n"
        # The kernel's rate estimator refreshes the exported counters every 2 s.
        for _ in range(10):
            info = module(lab, "ipvs_info", connections=True)
            svc = info["services"][0]
            if svc["stats"]["conns"] >= 3:
                break
            time.sleep(0.5)
        assert svc["stats"]["conns"] >= 3
        assert svc["destinations"][0]["inactive_connections"] + svc["destinations"][0]["active_connections"] >= 1
        conns = [c for c in info["connections"] if c["virtual"] == "%s:80" % vip]
        assert conns and all(c["destination"] == "%s:80" % lab.address("rs1") for c in conns)
        lnc = lab.out(HOST, "ipvsadm -Lnc")
        assert len(conns) == len([line for line in lnc.splitlines() if "%s:80" % vip in line])
        stats = lab.out(HOST, "ipvsadm -Ln --stats -t %s:80" % vip)
        assert re.search(r"TCP\s+%s:80\s+%d\s" % (re.escape(vip), svc["stats"]["conns"]), stats), stats
    finally:
        lab.run("rs1", "pkill -f 'busybox httpd'; ip addr del %s/32 dev lo; "
                       "sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0" % vip,
                check=False)
        lab.run(HOST, "ip addr del %s/32 dev eth0" % vip, check=False)


def test_rules_follow_ipvsadm_order(lab):
    # ipvsadm sorts services and real servers (libipvs); our rendering must agree.
    services = [dict(address=a, port=p, destinations=[dict(address=d) for d in ("203.0.113.9", "198.51.100.2", "192.0.2.21")])
                for a, p in (("203.0.113.5", 80), ("198.51.100.1", 80), ("192.0.2.100", 443), ("192.0.2.100", 80))]
    services.append(dict(fwmark=2, scheduler="rr"))
    services.append(dict(address="2001:db8::1", port=80))
    services.append(dict(protocol="udp", address="198.51.100.1", port=53))
    res = module(lab, "ipvs_table", services=services)
    assert saved(lab) == res["diff"]["after"] == module(lab, "ipvs_info")["rules"]
