"""The status playbook's logic (plugins/module_utils/lvs_status.py): keepalived's dumps,
`ip -o addr`, one director's status, split brain over the cluster, the printed lines.

The dumps in golden/keepalived_dumps are keepalived 2.2.7's (Debian 12) own, taken in the
lab from a master (dir1) and a backup (dir2) of one instance (SIGRTMIN+2 -> JSON, SIGUSR1 -> data).
"""
import json
import os

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_status as st
from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import cluster_model

DUMPS = os.path.join(os.path.dirname(__file__), "golden", "keepalived_dumps")
SECRET = "s3cr3tpw"  # the lab dumps' auth_pass


def dump(name):
    with open(os.path.join(DUMPS, name)) as f:
        return f.read()


MODEL = cluster_model({
    "mode": "dr",
    "vrrp": {"instances": [
        {"name": "VI_WEB", "interface": "eth0", "virtual_router_id": 51, "vips": ["192.0.2.100/32"]},
        {"name": "VI_TWO", "interface": "eth0", "virtual_router_id": 52, "vips": ["192.0.2.101/32", "192.0.2.102"]},
    ]},
    "services": [{"vip": "192.0.2.100", "port": 80, "realservers": [{"address": "192.0.2.21"}]}],
})

IP_DIR1 = """1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 192.0.2.11/24 scope global eth0\\       valid_lft forever preferred_lft forever
2: eth0    inet 192.0.2.100/32 scope global eth0\\       valid_lft forever preferred_lft forever
2: eth0    inet6 fe80::1a:b0ff:fe00:100/64 scope link \\       valid_lft forever preferred_lft forever
"""
IP_DIR2 = IP_DIR1.replace("192.0.2.11/", "192.0.2.12/").replace("inet 192.0.2.100/32", "inet 192.0.2.101/32")


def ka(*instances, running=True, source="json"):
    return {"running": running, "source": source if instances else None, "msg": "",
            "instances": [{"name": n, "state": s} for n, s in instances] if instances else None}


# ------------------------------------------------------------ keepalived's dumps

def test_json_dump_of_a_master():
    (inst,) = st.keepalived_json_instances(json.loads(dump("master-2.2.7.json")))
    assert inst["name"] == "VI_WEB" and inst["state"] == "MASTER" and inst["wanted_state"] == "MASTER"
    assert inst["vips"] == ["192.0.2.100"] and inst["vips_set"] is True
    assert (inst["vrid"], inst["interface"], inst["priority"], inst["base_priority"]) == (51, "eth0", 150, 150)
    assert inst["became_master"] == 1 and inst["adverts_sent"] > 0


def test_json_dump_of_a_backup_and_no_secret_kept():
    raw = dump("backup-2.2.7.json")
    assert SECRET in raw  # keepalived writes the password into its dump ...
    (inst,) = st.keepalived_json_instances(json.loads(raw))
    assert inst["state"] == "BACKUP" and inst["master_priority"] == 150 and inst["vips_set"] is False
    assert SECRET not in json.dumps(inst)  # ... the status never carries it
    assert "auth_data" not in inst and "auth_type" not in inst


def test_json_dump_wrapped_as_later_versions_do_and_unknown_states():
    entries = json.loads(dump("master-2.2.7.json"))
    entries[0]["data"]["state"] = 3
    entries[0]["data"]["wantstate"] = 42
    (inst,) = st.keepalived_json_instances({"vrrp": entries})
    assert (inst["state"], inst["wanted_state"]) == ("FAULT", "UNKNOWN(42)")


@pytest.mark.parametrize("name,state,extra", [
    ("master-2.2.7.data", "MASTER", {}),
    ("backup-2.2.7.data", "BACKUP", {"master_priority": 150}),
])
def test_data_dump(name, state, extra):
    raw = dump(name)
    assert SECRET in raw
    (inst,) = st.keepalived_data_instances(raw)
    want = dict({"name": "VI_WEB", "state": state, "wanted_state": state, "vrid": 51, "interface": "eth0",
                 "vips": ["192.0.2.100"]}, **extra)
    assert {k: inst[k] for k in want} == want
    assert SECRET not in json.dumps(inst)


@pytest.mark.parametrize("separator", [u"\u2028", u"\u2029", u"\x85", u"\x1c", u"\x0b", u"\r"])
def test_data_dump_lines_end_at_newline_only(separator):
    """A value holding a Unicode line separator (an instance name from the inventory, here) cannot
    forge a line of the dump: keepalived ends its lines with '\\n' only."""
    raw = dump("backup-2.2.7.data").replace(" VRRP Instance = VI_WEB\n",
                                            " VRRP Instance = VI_WEB%s   State = MASTER\n" % separator)
    (inst,) = st.keepalived_data_instances(raw)
    assert inst["state"] == "BACKUP" and inst["name"] == "VI_WEB%s   State = MASTER" % separator


def test_data_dump_without_vrrp_topology():
    assert st.keepalived_data_instances("------< Global definitions >------\n Router ID = x\n") == []


# ------------------------------------------------------------ addresses

def test_ip_addresses_exact_and_canonical():
    text = IP_DIR1 + "3: tunl0@NONE    inet6 2001:DB8:0:0::10/128 scope global \\  valid_lft forever\n"
    addrs = st.ip_addresses(text)
    assert {"interface": "eth0", "address": "192.0.2.100"} in addrs
    assert {"interface": "tunl0", "address": "2001:db8::10"} in addrs
    # 192.0.2.10 is not held because 192.0.2.100 is (no substring match)
    assert "192.0.2.10" not in [a["address"] for a in addrs]


# ------------------------------------------------------------ one director

def test_director_state_from_keepalived_when_it_reports_the_instance():
    s = st.director_status("dir1", MODEL, IP_DIR1, ka(("VI_WEB", "MASTER"), ("VI_TWO", "BACKUP")), [])
    web, two = s["vrrp"]
    assert web == {"instance": "VI_WEB", "state": "MASTER", "state_from": "keepalived", "vips": ["192.0.2.100"],
                   "held": ["192.0.2.100"], "keepalived_state": "MASTER"}
    assert (two["state"], two["state_from"], two["held"]) == ("BACKUP", "keepalived", [])
    assert s["keepalived"] == {"running": True, "source": "json", "message": ""}


def test_director_state_from_addresses_without_keepalived():
    s = st.director_status("dir1", MODEL, IP_DIR1 + IP_DIR2, ka(running=False), [])
    web, two = s["vrrp"]
    assert (web["state"], web["state_from"], web["keepalived_state"]) == ("MASTER", "addresses", None)
    # one of two VIPs held is not MASTER
    assert (two["state"], two["held"]) == ("BACKUP", ["192.0.2.101"])
    assert s["keepalived"]["running"] is False


def test_director_whose_keepalived_reports_no_such_instance():
    k = dict(ka(("VI_OTHER", "MASTER")), msg="")
    s = st.director_status("dir1", MODEL, IP_DIR1, k, [])
    assert [(v["state"], v["state_from"]) for v in s["vrrp"]] == [("MASTER", "addresses"), ("BACKUP", "addresses")]
    lines = st.status_lines(st.cluster_status({"dir1": s}, ["dir1"]))
    assert "VRRP VI_WEB: MASTER 192.0.2.100 (ip addr; keepalived: instance not reported)" in lines


def test_director_without_vrrp_or_keepalived_read():
    model = cluster_model({"mode": "dr", "services": [
        {"vip": "192.0.2.100", "port": 80, "realservers": [{"address": "192.0.2.21"}]}]})
    s = st.director_status("solo", model, IP_DIR1, None, [{"address": "192.0.2.100"}])
    assert s["vrrp"] == [] and s["services"] == [{"address": "192.0.2.100"}]
    assert s["keepalived"] == {"running": False, "source": None, "message": None}


# ------------------------------------------------------------ the cluster

def statuses(**per_dir):
    return {d: st.director_status(d, MODEL, ip, k, []) for d, (ip, k) in per_dir.items()}


def test_healthy_cluster_is_ok():
    c = st.cluster_status(statuses(dir1=(IP_DIR1.replace("192.0.2.100/32", "192.0.2.109/32"),
                                         ka(("VI_WEB", "BACKUP"), ("VI_TWO", "BACKUP"))),
                                   dir2=(IP_DIR1, ka(("VI_WEB", "MASTER"), ("VI_TWO", "BACKUP")))),
                          ["dir1", "dir2"])
    assert c["ok"] and c["complete"] and c["split_brain"] == [] and c["no_status"] == []
    assert [v["split_brain"] for d in c["directors"].values() for v in d["vrrp"]] == [False] * 4


def test_sigkilled_master_keeps_the_vip_while_the_backup_takes_it():
    """The lab's SIGKILL case: dir1 has no keepalived but still holds the VIP; dir2's keepalived is MASTER."""
    c = st.cluster_status(statuses(dir1=(IP_DIR1, ka(running=False)),
                                   dir2=(IP_DIR1, ka(("VI_WEB", "MASTER"), ("VI_TWO", "BACKUP")))),
                          ["dir1", "dir2"])
    assert not c["ok"]
    assert c["split_brain"] == [
        {"kind": "vip", "instance": "VI_WEB", "vip": "192.0.2.100", "directors": ["dir1", "dir2"]},
        {"kind": "master", "instance": "VI_WEB", "directors": ["dir1", "dir2"],
         "state_from": {"dir1": "addresses", "dir2": "keepalived"}},
    ]
    assert [v["split_brain"] for v in c["directors"]["dir1"]["vrrp"]] == [True, False]
    lines = st.status_lines(c)
    assert "VRRP VI_WEB: MASTER 192.0.2.100 (ip addr; keepalived not running)  << SPLIT BRAIN" in lines
    assert "VRRP VI_WEB: MASTER 192.0.2.100 (keepalived)  << SPLIT BRAIN" in lines
    assert "SPLIT BRAIN: VIP 192.0.2.100 (VI_WEB) is held by dir1, dir2" in lines
    assert "SPLIT BRAIN: VI_WEB is MASTER on dir1 (addresses), dir2 (keepalived)" in lines


def test_both_keepalived_master_without_the_vip_on_one():
    """VRRP adverts lost both ways: both keepalived MASTER (the VIP check alone would not see it
    if one director failed to add the address)."""
    c = st.cluster_status(statuses(dir1=(IP_DIR1, ka(("VI_WEB", "MASTER"))),
                                   dir2=(IP_DIR2, ka(("VI_WEB", "MASTER")))), ["dir1", "dir2"])
    assert [f["kind"] for f in c["split_brain"]] == ["master"]


def test_two_holders_of_one_vip_of_an_instance():
    c = st.cluster_status(statuses(dir1=(IP_DIR2, ka(running=False)), dir2=(IP_DIR2, ka(running=False))),
                          ["dir1", "dir2"])
    assert c["split_brain"] == [{"kind": "vip", "instance": "VI_TWO", "vip": "192.0.2.101",
                                 "directors": ["dir1", "dir2"]}]


def test_a_director_without_status_is_not_split_brain():
    c = st.cluster_status(statuses(dir2=(IP_DIR1, ka(("VI_WEB", "MASTER")))), ["dir1", "dir2"])
    assert c["ok"] and not c["complete"] and c["no_status"] == ["dir1"] and c["split_brain"] == []
    assert list(c["directors"]) == ["dir2"]
    assert ("NO STATUS from dir1 (unreachable or a read failed, see above): split brain checked among dir2 only"
            in st.status_lines(c))


def test_lines_keep_the_table():
    svc = {"protocol": "tcp", "address": "192.0.2.100", "port": 80, "scheduler": "rr", "stats": {"cps": 3},
           "destinations": [{"address": "192.0.2.21", "port": 80, "forward": "route", "weight": 100,
                             "active_connections": 2, "inactive_connections": 5, "stats": {"cps": 1}}]}
    s = {"dir1": st.director_status("dir1", MODEL, IP_DIR1, ka(("VI_WEB", "MASTER")), [svc])}
    lines = st.status_lines(st.cluster_status(s, ["dir1"]))
    assert lines[0] == "== dir1 =="
    assert "Prot   Virtual / Real server        Fwd    Weight ActiveConn  InActConn      CPS" in lines
    assert "tcp    192.0.2.100:80               rr                                         3" in lines
    assert "         -> 192.0.2.21:80           route     100          2          5        1" in lines
    assert lines[-1].startswith("No split brain")


def test_lines_write_ipv6_endpoints_as_ipvsadm_does():
    svc = {"protocol": "tcp", "address": "2001:db8::100", "port": 80, "scheduler": "rr",
           "destinations": [{"address": "2001:db8::21", "port": 80, "forward": "route", "weight": 1,
                             "active_connections": 0, "inactive_connections": 0}]}
    s = {"dir1": st.director_status("dir1", MODEL, IP_DIR1, ka(("VI_WEB", "MASTER")), [svc])}
    lines = st.status_lines(st.cluster_status(s, ["dir1"]))
    assert any(line.startswith("tcp    [2001:db8::100]:80 ") for line in lines)
    assert any("  -> [2001:db8::21]:80 " in line for line in lines)
