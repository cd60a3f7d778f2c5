"""Fail-over of the LVS-DR cluster under a client request loop (issue 6).

Each fault runs under lab/clients/request_loop.py (a GET through the VIP every
50 ms from the client) and is then restored (lab/failover/). After
each: the VIP moved to the backup (for director faults) whose IPVS table was
complete, requests succeeded again after the move, and once restored exactly
one director holds the VIP (the master, which preempts) with a complete
table. Durations are printed (pytest -s) but not asserted: figures are
`make bench`'s.
"""
import json
import os

import pytest

from lab import failover as lf
from lab.testinfra_backend import host

CLUSTER = lf.cluster("dr")
ALL_RS = sorted(CLUSTER.realservers.values())
OUT = os.environ["LVSLAB_OUT"]


@pytest.fixture(autouse=True)
def steady_cluster_after_a_failed_test(request):
    """A failed test must not fail the ones after it: if the cluster is not steady
    after a failure, say how it looks and repair it (links, power, keepalived, web)."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not lf.steady(CLUSTER):
        lf.log("not steady after the test: %s; repairing" % json.dumps(lf.state(CLUSTER), sort_keys=True))
        lf.forensics(CLUSTER)
        lf.repair(CLUSTER)
        lf.hand_vips_to_master(CLUSTER)


def record(name, res):
    """Keep the measurements next to the lab's other output (they are not asserted)."""
    with open(os.path.join(OUT, "failover-%s.json" % name), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps({k: v for k, v in res.items() if k not in ("connections", "vip_transitions")}))


def assert_recovered(res):
    fw, rw = res["fault_window"], res["restore_window"]
    assert fw["requests"] > 0 and rw["requests"] > 0
    # Requests succeed again after the fault (any failures end) and after the restore.
    assert fw["failed"] == 0 or fw["recovered"] is not None, fw
    assert fw["last_ok"], fw
    assert rw["last_ok"], rw
    # No split brain once restored: one holder, the preempting master, complete table.
    assert res["holders_after"] == {CLUSTER.service[0]: [CLUSTER.master]}, res["holders_after"]
    assert sorted(res["ipvs_after"]) == ALL_RS


def test_sync_daemons_follow_the_vrrp_state():
    lf.wait_steady(CLUSTER)
    assert any(line.startswith("master sync daemon (mcast=eth0") for line in lf.sync_daemons(CLUSTER.master))
    assert any(line.startswith("backup sync daemon (mcast=eth0") for line in lf.sync_daemons(CLUSTER.backup))


@pytest.mark.parametrize("fault", ["kill", "poweroff", "cut"])
def test_director_fault_moves_the_vip_and_requests_continue(fault):
    res = lf.run_fault(CLUSTER, fault)
    record(fault, res)
    assert res["vip_move_s"] is not None
    # The backup took the VIP with its own complete IPVS table (keepalived keeps both in sync).
    assert sorted(res["ipvs_on_backup"]) == ALL_RS
    # While the old master is cut off or dead only the backup holds the VIP;
    # after a SIGKILL the old master's kernel still has it (keepalived could not
    # remove it) until a supervisor restarts keepalived: what restore_kill does.
    during = res["holders_during_fault"][CLUSTER.service[0]]
    if fault == "poweroff":
        assert during == [CLUSTER.backup]
    else:
        assert CLUSTER.backup in during
    assert_recovered(res)


def test_real_server_web_stopped_under_load():
    res = lf.run_fault(CLUSTER, "rs-web")
    record("rs-web", res)
    assert res["rs_removed_s"] is not None and res["rs_readded_s"] is not None
    # The other real server carried the load once the health check removed rs1.
    assert res["fault_window"]["served_by"].get("rs2", 0) > 0
    assert_recovered(res)


def test_keepalived_reload_does_not_move_the_vip():
    res = lf.run_fault(CLUSTER, "reload")
    record("reload", res)
    # The VIP never left the master: every sample shows it there, alone.
    assert [h for _, h in res["vip_transitions"]] == [{CLUSTER.service[0]: [CLUSTER.master]}]
    assert res["fault_window"]["failed"] == 0 and res["restore_window"]["failed"] == 0
    assert "-a -t 192.0.2.100:80 -r 192.0.2.21:80 -g -w 100" in host(CLUSTER.master).check_output("ipvsadm -S -n")


@pytest.fixture(scope="module")
def stream_cgi():
    lf.install_stream_cgi(CLUSTER)


def test_connections_survive_a_failover_with_connection_sync(stream_cgi):
    res = lf.connection_survival(CLUSTER, sync=True)
    record("connections-sync", res)
    # The backup's connection table held them before the fault ...
    assert res["on_backup_before"] >= res["opened"]
    # ... so every streaming connection kept receiving after the VIP moved.
    assert res["survived"] == res["opened"], res["connections"]


def test_connections_are_reset_without_connection_sync(stream_cgi):
    res = lf.connection_survival(CLUSTER, sync=False)
    record("connections-nosync", res)
    assert res["on_backup_before"] == 0
    # The new master has no entry for them: its kernel answers their packets with a reset.
    assert res["survived"] < res["opened"]
    assert any(c["error"] == "reset" for c in res["connections"]), res["connections"]


def test_master_coming_back_with_nopreempt_leaves_the_vip_on_the_backup():
    """Last: it re-applies the keepalived role with nopreempt (the scenario ends after it)."""
    lf.apply_vrrp_change(CLUSTER, {"nopreempt": True}, os.path.join(OUT, "failover-nopreempt-keepalived.log"))
    assert "nopreempt" in host(CLUSTER.master).check_output("cat /etc/keepalived/keepalived.conf")
    res = lf.run_fault(CLUSTER, "poweroff", expect_back=CLUSTER.backup)
    record("poweroff-nopreempt", res)
    assert res["holders_during_fault"] == {CLUSTER.service[0]: [CLUSTER.backup]}
    # dir1 is back and healthy, but does not take the VIP back: no second move.
    assert res["holders_after"] == {CLUSTER.service[0]: [CLUSTER.backup]}
    assert res["failback_s"] is None
    assert host(CLUSTER.master).run("pidof keepalived").rc == 0
    assert res["fault_window"]["last_ok"] and res["restore_window"]["last_ok"]
    assert sorted(res["ipvs_after"]) == ALL_RS
