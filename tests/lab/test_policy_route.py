"""lvs.cluster.policy_route on a lab real server: read back with ip rule / ip route."""
import pytest

HOST = "rs1"
RT = "/etc/iproute2/rt_tables.d/lvs_nat.conf"
STATE = "/etc/lvs-cluster/policy_route-lvs_nat.json"
ARGS = dict(name="lvs_nat", table_id=100,
            routes=[{"gateway": "192.0.2.11", "dev": "eth0"}],
            rules=[{"from": "192.0.2.21/32", "priority": 1000},
                   {"fwmark": "0x10/0xff", "priority": 1001}])


def rules(lab):
    return lab.out(HOST, "ip rule show")


def table(lab):
    # exits 2 ("FIB table does not exist") while the table is empty
    return lab.run(HOST, "ip route show table 100", check=False).stdout


def exists(lab, path):
    return lab.run(HOST, "test -e %s" % path, check=False).returncode == 0


@pytest.fixture
def clean(lab):
    lab.module(HOST, "policy_route", name="lvs_nat", state="absent")
    before = (rules(lab), table(lab))
    yield before
    lab.module(HOST, "policy_route", name="lvs_nat", state="absent")
    lab.run(HOST, "rm -f /etc/iproute2/rt_tables.d/h4other.conf")
    assert (rules(lab), table(lab)) == before
    assert not exists(lab, RT) and not exists(lab, STATE)


def test_check_mode_changes_nothing(lab, clean):
    res = lab.module(HOST, "policy_route", check=True, **ARGS)
    assert res["changed"] is True and not res.get("failed"), res
    assert "add route default via 192.0.2.11 dev eth0 table 100" in res["actions"]
    assert (rules(lab), table(lab)) == clean
    assert not exists(lab, RT) and not exists(lab, STATE)


def test_apply_twice_then_absent_removes_exactly_its_own(lab, clean):
    res = lab.module(HOST, "policy_route", **ARGS)
    assert res["changed"] is True and not res.get("failed"), res
    r = rules(lab)
    assert "1000:\tfrom 192.0.2.21 lookup lvs_nat" in r, r
    assert "1001:\tfrom all fwmark 0x10/0xff lookup lvs_nat" in r, r
    assert "default via 192.0.2.11 dev eth0" in table(lab)
    assert lab.out(HOST, "cat %s" % RT).strip().endswith("100\tlvs_nat")
    # the kernel uses it: traffic from the RIP leaves through the director
    got = lab.out(HOST, "ip route get 198.51.100.1 from 192.0.2.21")
    assert "via 192.0.2.11" in got and "lvs_nat" in got, got
    again = lab.module(HOST, "policy_route", **ARGS)
    assert again["changed"] is False and again["actions"] == [], again
    # a rule somebody else put in the same table survives absent
    lab.run(HOST, "ip rule add to 203.0.113.0/24 table 100 priority 2000")
    try:
        gone = lab.module(HOST, "policy_route", name="lvs_nat", state="absent")
        assert gone["changed"] is True, gone
        r = rules(lab)
        assert "from 192.0.2.21" not in r and "fwmark 0x10" not in r
        assert "2000:\tfrom all to 203.0.113.0/24 lookup 100" in r, r
        assert table(lab) == ""
        assert not exists(lab, RT) and not exists(lab, STATE)
        assert lab.module(HOST, "policy_route", name="lvs_nat", state="absent")["changed"] is False
    finally:
        lab.run(HOST, "ip rule del priority 2000")


def test_a_missing_boot_hook_is_a_change_and_comes_back(lab, clean):
    """The boot hook replays the table at boot: gone, the table would not survive a reboot."""
    lab.module(HOST, "policy_route", **ARGS)
    lab.run(HOST, "rm -f /usr/local/sbin/lvs-cluster-net")
    res = lab.module(HOST, "policy_route", **ARGS)
    assert res["changed"] is True and res["actions"] == [], res
    assert exists(lab, "/usr/local/sbin/lvs-cluster-net")
    assert lab.module(HOST, "policy_route", **ARGS)["changed"] is False


def test_dropped_rule_is_removed(lab, clean):
    lab.module(HOST, "policy_route", **ARGS)
    res = lab.module(HOST, "policy_route", **dict(ARGS, rules=ARGS["rules"][:1]))
    assert res["changed"] is True
    assert res["actions"] == ["del rule 1001: from all fwmark 0x10/0xff table 100"], res
    r = rules(lab)
    assert "fwmark 0x10" not in r and "1000:\tfrom 192.0.2.21 lookup lvs_nat" in r


@pytest.mark.parametrize("change, field", [
    ({"rules": [{"from": "192.0.2.21", "priority": 0}]}, "rules[0].priority"),
    ({"rules": [{"from": "192.0.2.21", "priority": 40000}]}, "rules[0].priority"),
    ({"rules": [{"from": "192.0.2.21", "priority": 10}, {"from": "192.0.2.300"}]}, "rules[1].from"),
    ({"rules": [{"fwmark": "0xzz"}]}, "rules[0].fwmark"),
    ({"routes": [{"gateway": "192.0.2.1.5"}]}, "routes[0].gateway"),
    ({"routes": [{"gateway": "192.0.2.11", "dev": "nosuch0"}]}, "routes[0].dev"),
    ({"routes": [{"dest": "10.0.0.1/8", "dev": "eth0"}]}, "routes[0].dest"),
    ({"routes": [{"dest": "2001:db8::/32", "gateway": "192.0.2.11"}]}, "routes[0].gateway"),
    ({"table_id": 254}, "table_id"),
    ({"table_id": 0}, "table_id"),
    ({"name": "main"}, "name"),
    ({"name": "bad name"}, "name"),
])
def test_bad_input_names_field_and_changes_nothing(lab, clean, change, field):
    res = lab.module(HOST, "policy_route", **dict(ARGS, **change))
    assert res.get("failed") is True, res
    assert res["msg"].startswith(field), res["msg"]
    assert (rules(lab), table(lab)) == clean
    assert not exists(lab, RT) and not exists(lab, STATE)


def test_table_clash_with_existing_entries(lab, clean):
    lab.run(HOST, "printf '100\\th4other\\n' > /etc/iproute2/rt_tables.d/h4other.conf")
    res = lab.module(HOST, "policy_route", **ARGS)
    assert res.get("failed") and res["msg"].startswith("table_id") and "h4other" in res["msg"], res
    lab.run(HOST, "printf '77\\tlvs_nat\\n' > /etc/iproute2/rt_tables.d/h4other.conf")
    res = lab.module(HOST, "policy_route", **ARGS)
    assert res.get("failed") and res["msg"].startswith("name") and "77" in res["msg"], res
    assert (rules(lab), table(lab)) == clean
    assert not exists(lab, RT) and not exists(lab, STATE)


def test_reboot_restores_table_routes_rules(lab, clean):
    assert lab.module(HOST, "policy_route", **ARGS)["changed"]
    want = (rules(lab), table(lab))
    lab.lab("reboot", HOST)
    assert (rules(lab), table(lab)) == want
    assert lab.module(HOST, "policy_route", **ARGS)["changed"] is False
    assert "lvs-cluster-net" in lab.out(HOST, "ls /etc/rcS.d")
    assert lab.out(HOST, "readlink /etc/systemd/system/multi-user.target.wants/lvs-cluster-net.service").strip() \
        == "/etc/systemd/system/lvs-cluster-net.service"
