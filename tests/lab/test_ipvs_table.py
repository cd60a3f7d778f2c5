"""ipvs_table on the lab kernel: bulk apply in batches, all or nothing, flush, large tables.

Read back with ipvsadm (an independent client). The kernel's own refusal is the
failure injected in the middle of a bulk apply: a real server at the LAN's
broadcast address (192.0.2.255 on dir1's 192.0.2.0/24) passes every check of
the module (it is a well-formed unicast-looking IPv4 address) and the kernel
answers EINVAL (ip_vs_ctl.c accepts only RTN_UNICAST or RTN_LOCAL real servers).
"""
import re

import pytest

HOST = "dir1"
BROADCAST = "192.0.2.255"


pytestmark = pytest.mark.usefixtures("empty_ipvs_table")


def saved(lab):
    return lab.ipvs_rules(HOST)


def kernel_state(lab):
    # -S does not print thresholds; --thresholds and --tun-info listings do.
    return (saved(lab), lab.out(HOST, "ipvsadm -Ln --thresholds"), lab.out(HOST, "ipvsadm -Ln --tun-info"))


def without_thresholds(rules):
    return re.sub(r" -[xy] \d+", "", rules)


def module(lab, **args):
    res = lab.module(HOST, "ipvs_table", **args)
    assert not res.get("failed"), res.get("msg", res)
    return res


def big_table(n, rs=10, weight=1):
    """n services of every shape, rs real servers each."""
    services = []
    for i in range(n):
        kind = i % 5
        if kind == 0:
            svc = dict(address="198.51.100.%d" % (i % 250 + 1), port=1000 + i, scheduler="wrr",
                       destinations=[dict(address="192.0.2.%d" % (20 + j), weight=weight + j,
                                          upper_threshold=100 * j, lower_threshold=j) for j in range(rs)])
        elif kind == 1:
            svc = dict(protocol="udp", address="203.0.113.%d" % (i % 250 + 1), port=2000 + i, scheduler="sh",
                       sched_flags=["sh-port"], one_packet=True,
                       destinations=[dict(address="10.%d.0.%d" % (i % 200, j + 1), port=53, weight=weight,
                                          forward="nat") for j in range(rs)])
        elif kind == 2:
            svc = dict(address="2001:db8::%x" % (i + 1), port=443, scheduler="mh", sched_flags=["mh-fallback"],
                       persistence=60, netmask=64,
                       destinations=[dict(address="2001:db8:1::%x" % (j + 1), weight=weight) for j in range(rs)])
        elif kind == 3:
            svc = dict(fwmark=i + 1, scheduler="lc", persistence=300, netmask="255.255.255.0",
                       destinations=[dict(address="192.0.2.%d" % (100 + j), forward="tun", tun_type="gue",
                                          tun_port=6080, tun_flags="csum", weight=weight) for j in range(rs)])
        else:
            svc = dict(protocol="sctp", address="198.51.100.%d" % (i // 5 + 1), port=0, persistence=30,
                       destinations=[dict(address="192.0.2.%d" % (150 + j), forward="tun", weight=weight)
                                     for j in range(rs)])
        services.append(svc)
    return services


def test_large_table_reads_back_exactly(lab):
    services = big_table(500)
    res = module(lab, services=services, purge=True)
    assert res["counts"] == {"services": 500, "destinations": 5000}
    assert res["summary"] == {"add-service": 500, "add-dest": 5000}
    assert "actions" not in res  # a summary unless asked
    text = saved(lab)
    assert text.count("\n-A ") + text.startswith("-A ") == 500 and text.count("-a ") == 5000
    assert text == without_thresholds(res["diff"]["after"])
    info = lab.module(HOST, "ipvs_info")
    assert info["rules"] == res["diff"]["after"]  # thresholds and tunnels read back too
    thresholds = lab.out(HOST, "ipvsadm -Ln --thresholds")
    assert len(re.findall(r"192\.0\.2\.29:1000\s+900\s+9\s", thresholds)) == 1, thresholds[:2000]
    again = module(lab, services=services, purge=True, list_actions=True)
    assert again["changed"] is False and again["actions"] == [] and again["summary"] == {}
    assert again["diff"]["before"] == again["diff"]["after"] == res["diff"]["after"]


def test_refused_step_mid_bulk_leaves_the_table_byte_identical(lab):
    base = big_table(100)
    module(lab, services=base, purge=True)
    before = kernel_state(lab)
    assert before[0].count("-a ") == 1000
    wanted = big_table(100, weight=7)  # 1000 weight edits
    del wanted[3]  # a service deleted (last)
    del wanted[10]["destinations"][2]  # a real server deleted
    wanted += [dict(address="198.51.100.%d" % (i + 1), port=80,
                    destinations=[dict(address="192.0.2.%d" % (20 + j)) for j in range(10)]) for i in range(40)]
    # The kernel's refusal comes after 40 add-service and 315 add-dest steps (past the first batch of 256).
    bad = wanted[130]
    bad["destinations"][5]["address"] = BROADCAST
    bad_step = "add-dest -t %s:80 -r %s:80" % (bad["address"], BROADCAST)
    res = lab.module(HOST, "ipvs_table", services=wanted, purge=True)
    assert res.get("failed") is True, res
    assert kernel_state(lab) == before
    assert res["msg"].startswith(bad_step + ": IPVS new dest failed: EINVAL"), res["msg"]
    assert "the table is back as it was before the task" in res["msg"]
    assert res["rolled_back"] is True and res["changed"] is False
    # The kernel goes on after a refusal within a batch: the rest of that batch was done too, and undone.
    assert len(res["steps_done"]) >= 355 and res["steps_done"][0] == "add-service -t 198.51.100.1:80"
    assert bad_step in res["steps_not_done"] and bad_step not in res["steps_done"]
    assert "delete-service -f 4" in res["steps_not_done"]  # deletes come last: never sent
    assert sorted(res["steps_undone"]) == sorted(
        ["delete-service -t 198.51.100.%d:80" % (i + 1) for i in range(40)]
        + [s for s in res["steps_done"] if s.startswith("edit-dest")])
    assert "Done: add-service -t 198.51.100.1:80" in res["msg"] and "Undone: " in res["msg"]
    # The same request without the bad real server goes through.
    bad["destinations"][5]["address"] = "192.0.2.25"
    ok = module(lab, services=wanted, purge=True)
    assert ok["summary"] == {"add-service": 40, "add-dest": 400, "edit-dest": 989, "delete-dest": 1,
                             "delete-service": 1}
    assert saved(lab) == without_thresholds(ok["diff"]["after"])


def test_purge_everything_is_one_flush(lab):
    module(lab, services=big_table(20), purge=True)
    res = module(lab, services=[], purge=True, list_actions=True)
    assert res["actions"] == ["flush"] and res["summary"] == {"flush": 1}
    assert res["counts"] == {"services": 0, "destinations": 0}
    assert res["diff"]["after"] == ""
    assert saved(lab) == ""
    assert module(lab, services=[], purge=True)["changed"] is False
    # Without a diff to show, the table is not read before the flush.
    module(lab, services=big_table(3), purge=True)
    res = lab.module(HOST, "ipvs_table", diff=False, services=[], purge=True, list_actions=True)
    assert res["actions"] == ["flush"] and res["counts"] == {"services": 0, "destinations": 0}, res
    assert saved(lab) == ""
    assert lab.module(HOST, "ipvs_table", diff=False, services=[], purge=True)["changed"] is False


def test_result_does_not_repeat_the_table(lab):
    res = module(lab, services=big_table(50), purge=True)
    assert res["invocation"]["module_args"]["services"] == "(50 services, 500 real servers)"
    assert res["invocation"]["module_args"]["purge"] is True


def test_check_mode_changes_nothing(lab):
    module(lab, services=big_table(5), purge=True)
    before = kernel_state(lab)
    res = lab.module(HOST, "ipvs_table", check=True, services=big_table(7, weight=3), purge=True)
    assert res["changed"] is True and res["summary"]["add-service"] == 2
    assert kernel_state(lab) == before


@pytest.mark.parametrize("services,field", [
    ([dict(address="192.0.2.100", port=0)], "services[0].port: port 0 (all ports) needs persistence"),
    ([dict(address="2001:db8::100", port=80, destinations=[dict(address="192.0.2.21")])],
     "services[0].destinations[0].address: an IPv4 real server for an IPv6 service needs forward: tunnel"),
    ([dict(address="192.0.2.100", port=80), dict(address="192.0.2.100", port=81, scheduler="twos")],
     "services[1].scheduler: twos is not available"),
])
def test_kernel_rules_checked_before_anything_changes(lab, services, field):
    module(lab, services=[dict(address="192.0.2.100", port=80, destinations=[dict(address="192.0.2.21")])])
    before = kernel_state(lab)
    res = lab.module(HOST, "ipvs_table", services=services, purge=True)
    assert res.get("failed") is True and field in res["msg"], res
    assert kernel_state(lab) == before


def test_other_family_real_server_through_a_tunnel(lab):
    res = module(lab, services=[dict(address="2001:db8::100", port=80,
                                     destinations=[dict(address="192.0.2.21", forward="tun")])])
    assert saved(lab) == ("-A -t [2001:db8::100]:80 -s wlc\n"
                          "-a -t [2001:db8::100]:80 -r 192.0.2.21:80 -i -w 1 --tun-type ipip\n")
    assert saved(lab) == res["diff"]["after"]
