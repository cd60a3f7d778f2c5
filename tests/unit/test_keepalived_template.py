"""Role lvs.cluster.keepalived: keepalived.conf rendered from variables.

One ansible-playbook run (connection=local) applies the real role, with the
package/service/options tasks switched off, to one inventory host per
variable set; each host writes its keepalived.conf to a temp dir. The role's
own `validate:` (keepalived -t through the role's helper) runs too, so a
rendered file only appears if keepalived 2.2.7 on this machine accepted it.

keepalived -t checks that the VRRP interfaces exist, so the playbook and
every `keepalived -t` here run in a private network namespace (unshare -n)
with veth interfaces eth0..eth3: nothing on the machine's network changes.
keepalived -t needs neither IPVS nor a running keepalived.
"""
import hashlib
import os
import re
import subprocess
import textwrap

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KEEPALIVED = "/usr/sbin/keepalived"
HELPER = os.path.join(REPO, "roles", "keepalived", "files", "keepalived-validate-config")
SECRET = "s3cr3tPW"
NETNS_SETUP = ("ip link add eth0 type veth peer name eth1 && ip link add eth2 type veth peer name eth3 && "
               "for i in eth0 eth1 eth2 eth3; do ip link set $i up; done && "
               "ip addr add 192.0.2.11/24 dev eth0 && ip addr add 198.51.100.11/24 dev eth1 && ")


def can_unshare():
    try:
        return subprocess.run(["unshare", "-n", "sh", "-c", NETNS_SETUP + "true"],
                              capture_output=True, check=False).returncode == 0
    except FileNotFoundError:
        return False


UNSHARE = can_unshare()
pytestmark = pytest.mark.skipif(not os.access(KEEPALIVED, os.X_OK), reason="keepalived is not installed")


def in_netns(cmd):
    """Run a shell command in a private network namespace with eth0..eth3."""
    if not UNSHARE:
        pytest.skip("unshare -n with veth interfaces is not possible here (needs root)")
    return subprocess.run(["unshare", "-n", "sh", "-c", NETNS_SETUP + cmd],
                          capture_output=True, check=False, text=True)


def keepalived_t(path):
    return in_netns("%s -t -f %s" % (KEEPALIVED, path))


# ---------------------------------------------------------------- keepalived.conf parser

def parse(text):
    """keepalived.conf -> list of nodes {'words': [...], 'children': [...] | None}."""
    root = []
    stack = [root]
    for raw in text.splitlines():
        line = re.sub(r"[#!].*$", "", raw).strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
            continue
        if line.endswith("{"):
            node = {"words": line[:-1].split(), "children": []}
            stack[-1].append(node)
            stack.append(node["children"])
        else:
            stack[-1].append({"words": line.split(), "children": None})
    assert len(stack) == 1, "unbalanced braces"
    return root


def blocks(nodes, *prefix):
    return [n for n in nodes if n["words"][:len(prefix)] == list(prefix)]


def block(nodes, *prefix):
    found = blocks(nodes, *prefix)
    assert len(found) == 1, "expected one %r block, found %d" % (prefix, len(found))
    return found[0]["children"]


def value(nodes, key):
    """Words after keyword `key` (a leaf line), or None."""
    for n in nodes:
        if n["children"] is None and n["words"][0] == key:
            return " ".join(n["words"][1:])
    return None


def has(nodes, *words):
    return any(n["words"] == list(words) for n in nodes)


def leaves(nodes):
    return [" ".join(n["words"]) for n in nodes if n["children"] is None]


# ---------------------------------------------------------------- the variable sets

def inventory(tmp):
    web = os.path.join(tmp, "www")
    os.makedirs(web, exist_ok=True)
    with open(os.path.join(web, "index.html"), "w") as f:
        f.write("hello from web1\n")
    with open(os.path.join(web, "health.txt"), "wb") as f:
        f.write(b"\x00\xffok binary\n")
    dr_cluster = {
        "mode": "dr",
        "vrrp": {"instances": [{
            "name": "VI_WEB", "interface": "eth0", "virtual_router_id": 51,
            "vips": ["192.0.2.100/32"],
            "authentication": {"type": "PASS", "pass": SECRET},
            "track_scripts": [{"name": "chk_ipvs", "weight": -20}],
            "track_interfaces": ["eth1"],
            "notify_master": "/usr/bin/logger -t keepalived VI_WEB MASTER",
            "notify_backup": "/usr/bin/logger -t keepalived VI_WEB BACKUP",
            "notify_fault": "/usr/bin/logger -t keepalived VI_WEB FAULT",
        }]},
        "services": [{
            "name": "web", "vip": "192.0.2.100", "protocol": "tcp", "port": 80,
            "scheduler": "wlc", "persistence": 0,
            "check": {"type": "HTTP_GET", "path": "/", "status_code": 200},
            "realservers": [
                {"host": "rs1", "address": "192.0.2.21", "port": 80, "weight": 100},
                {"host": "rs2", "address": "192.0.2.22", "port": 80, "weight": 50},
            ],
        }],
    }
    dr_globals = {"router_id": "{{ inventory_hostname }}", "script_user": "nobody",
                  "enable_script_security": True}
    dr_scripts = [{"name": "chk_ipvs", "script": "/bin/true", "interval": 2, "weight": -20,
                   "fall": 2, "rise": 2}]
    nat_cluster = {
        "mode": "nat",
        "vrrp": {
            "sync_groups": [{"name": "HK_GRP1", "group": ["LVS_WAN", "LVS_LAN"], "smtp_alert": True}],
            "instances": [
                {"name": "LVS_WAN", "interface": "eth1", "virtual_router_id": 100,
                 "vips": [{"address": "198.51.100.88/24", "dev": "eth1", "label": "eth1:vip",
                           "scope": "global"}],
                 "authentication": {"pass": "1c7f545a"},
                 "nopreempt": True,
                 "unicast_src_ip": "198.51.100.11", "unicast_peers": ["198.51.100.12"]},
                {"name": "LVS_LAN", "interface": "eth0", "virtual_router_id": 101,
                 "vips": ["192.0.2.1/24"], "authentication": {"pass": "9aa614f7"},
                 "nopreempt": True,
                 "unicast_src_ip": "192.0.2.11", "unicast_peers": ["192.0.2.12"],
                 "track_interfaces": ["eth1"]},
            ]},
        "services": [{
            "name": "web", "vip": "198.51.100.88", "port": 80, "protocol": "tcp",
            "scheduler": "wrr", "persistence": 60,
            "check": {"type": "TCP_CHECK", "connect_timeout": 10, "retry": 3,
                      "delay_before_retry": 3},
            "realservers": [
                {"address": "192.0.2.21", "port": 8001, "weight": 2, "inhibit_on_failure": True},
                {"address": "192.0.2.21", "port": 8002, "weight": 6, "inhibit_on_failure": True},
                {"address": "192.0.2.22", "port": 8003, "weight": 3, "inhibit_on_failure": True},
                {"address": "192.0.2.22", "port": 8004, "weight": 8, "inhibit_on_failure": True},
            ],
        }],
    }
    nat_globals = {
        "notification_email": ["admin@example.org", "ops@example.org"],
        "notification_email_from": "lvs@example.org",
        "smtp_server": "127.0.0.1", "smtp_connect_timeout": 30,
        "router_id": "DEMO",
        "vrrp_garp_master_delay": 5, "vrrp_garp_master_repeat": 3,
        "vrrp_garp_interval": 0.001, "vrrp_gna_interval": "0.000001",
        "lvs_sync_daemon": {"interface": "eth0", "instance": "LVS_LAN", "id": 10},
    }
    tun_services = [{
        "name": "web-tun", "vip": "203.0.113.100", "port": 80, "mode": "tun", "scheduler": "rr",
        "quorum": 1, "hysteresis": 0, "inhibit_on_failure": True,
        "sorry_server": {"address": "192.0.2.99", "port": 80},
        "check": {"type": "TCP_CHECK", "connect_port": 80, "connect_timeout": 3},
        "realservers": [{"address": "192.0.2.21", "port": 80, "weight": 1},
                        {"address": "192.0.2.22", "port": 80, "weight": 1}],
    }]
    tun_instances = [{"name": "VI_TUN", "interface": "eth0", "virtual_router_id": 60, "version": 3,
                      "priority": 120, "vips": ["203.0.113.100/32"], "advert_int": 1,
                      "preempt_delay": 30, "track_interfaces": [{"name": "eth1", "weight": -30}]}]
    fw_groups = [{"name": "VSG_WEB", "members": [{"ip": "192.0.2.100", "port": 80},
                                                 {"ip": "192.0.2.101-102", "port": 80}]}]
    fw_services = [
        {"name": "fw-web", "fwmark": 1, "scheduler": "wlc", "mode": "dr", "persistence": 300,
         "check": {"type": "TCP_CHECK", "connect_port": 80},
         "realservers": [{"address": "192.0.2.21", "weight": 1}, {"address": "192.0.2.22", "weight": 2}]},
        {"name": "grp-web", "group": "VSG_WEB", "port": 80, "scheduler": "sh", "mode": "dr",
         "check": {"type": "TCP_CHECK"},
         "realservers": [{"address": "192.0.2.21", "port": 80}, {"address": "192.0.2.22", "port": 80}]},
    ]
    chk_services = [{
        "name": "checks", "vip": "192.0.2.100", "port": 80, "mode": "nat",
        "realservers": [
            {"address": "192.0.2.21", "port": 80, "host": "web1", "checks": [
                {"type": "HTTP_GET", "connect_timeout": 5, "retry": 2, "delay_before_retry": 1,
                 "urls": [
                     {"path": "/", "digest_from": os.path.join(web, "index.html"), "status_code": 200},
                     {"path": "/health.txt", "digest_from": os.path.join(web, "health.txt")},
                     {"path": "/fixed", "digest": "3ef1267da49c9567b0243dc4be39653a", "status_code": 200},
                 ]},
                {"type": "TCP_CHECK", "connect_port": 80},
            ]},
            {"address": "192.0.2.22", "port": 443, "check": {
                "type": "SSL_GET", "connect_port": 443, "urls": [
                    {"path": "/", "digest": "ff20ad2481f97b1754ef3e12ecd3a9cc"},
                    {"path": "/mrtg/", "digest": "9b3a0c85a887a256d6939da88aabd8cd", "status_code": 200}]}},
            {"address": "192.0.2.23", "port": 80, "check": {
                "type": "MISC_CHECK", "misc_path": "/bin/true 192.0.2.23", "misc_timeout": 5,
                "misc_dynamic": True}},
            {"address": "192.0.2.24", "port": 25, "check": {
                "type": "SMTP_CHECK", "helo_name": "lvs.example.org", "connect_timeout": 5}},
            {"address": "192.0.2.25", "port": 53, "check": {
                "type": "DNS_CHECK", "dns_type": "A", "name": "example.org", "connect_port": 53}},
        ],
    }]

    sync_cluster = {"mode": "dr", "vrrp": {
        "sync_daemon": {"interface": "eth0", "instance": "VI_SYNC"},
        "instances": [{"name": "VI_SYNC", "interface": "eth0", "virtual_router_id": 52,
                       "vips": ["192.0.2.101/32"]}]}}

    def host(name, **hv):
        return dict(hv, keepalived_config_path=os.path.join(tmp, name + ".conf"))

    return {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": os.path.join(REPO, ".venv", "bin", "python"),
                "keepalived_manage_package": False,
                "keepalived_manage_service": False,
                "keepalived_manage_sysconfig": False,
                "keepalived_validate_helper": os.path.join(tmp, "keepalived-validate-config"),
            },
            "children": {
                "lvs_directors": {
                    "vars": {"lvs_cluster": dr_cluster, "keepalived_global_defs": dr_globals,
                             "keepalived_vrrp_scripts": dr_scripts},
                    "hosts": {"dir1": host("dir1", lvs_vrrp_priority=150),
                              "dir2": host("dir2", lvs_vrrp_priority=100)}},
                "scenarios": {"hosts": {
                    "nat1": host("nat1", lvs_cluster=nat_cluster, keepalived_global_defs=nat_globals,
                                 keepalived_vrrp_peers=["nat1"], lvs_vrrp_priority=100),
                    "tun1": host("tun1", lvs_cluster={"mode": "tun"}, keepalived_vrrp_instances=tun_instances,
                                 keepalived_virtual_servers=tun_services, keepalived_vrrp_peers=["tun1"]),
                    "fw1": host("fw1", keepalived_virtual_server_groups=fw_groups,
                                keepalived_virtual_servers=fw_services),
                    "chk1": host("chk1", keepalived_virtual_servers=chk_services,
                                 keepalived_global_defs={"script_user": "root", "enable_script_security": True}),
                    # lvs_cluster.vrrp.sync_daemon with the role's default global_defs
                    "sync1": host("sync1", lvs_cluster=sync_cluster, keepalived_vrrp_peers=["sync1"]),
                    # unicast VRRP between the directors, addresses from the inventory (ansible_host)
                    "uni1": host("uni1", ansible_host="192.0.2.11", keepalived_vrrp_peers=["uni1", "web1"],
                                 lvs_cluster={"vrrp": {"instances": [{
                                     "name": "VI_UNI", "interface": "eth0", "virtual_router_id": 53,
                                     "unicast_from_inventory": True, "vips": ["192.0.2.102/32"],
                                     "track_files": [{"name": "tf_maint", "weight": 1}]}],
                                     "track_files": [{"name": "tf_maint", "file": os.path.join(tmp, "maint"),
                                                      "weight": -10, "init_file": 0}],
                                     "garp_master_refresh": 60}}),
                    "bad1": host("bad1", keepalived_vrrp_instances=[
                        {"name": "VI_BAD", "interface": "eth0", "virtual_router_id": 300,
                         "vips": ["192.0.2.100/32"]}]),
                    # valid for the schema, refused by keepalived -t (unknown keyword in a raw line)
                    "bad2": host("bad2", keepalived_vrrp_instances=[
                        {"name": "VI_BAD", "interface": "eth0", "virtual_router_id": 50,
                         "vips": ["192.0.2.100/32"], "extra": ["bogus_keyword 1"]}]),
                }},
                "realservers": {"hosts": {"web1": {"ansible_host": "192.0.2.12"}}},
            },
        },
    }


PLAYBOOK = textwrap.dedent("""\
    - hosts: lvs_directors:scenarios
      gather_facts: false
      roles: [lvs.cluster.keepalived]
    """)

BAD_OLD = "# the good configuration that was there before\nglobal_defs {\n    router_id OLD\n}\n"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("keepalived"))
    inv = os.path.join(tmp, "inventory.yml")
    with open(inv, "w") as f:
        yaml.safe_dump(inventory(tmp), f)
    with open(os.path.join(tmp, "play.yml"), "w") as f:
        f.write(PLAYBOOK)
    for bad in ("bad1", "bad2"):
        with open(os.path.join(tmp, bad + ".conf"), "w") as f:
            f.write(BAD_OLD)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"),
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    cmd = "%s -i %s %s --diff -v" % (os.path.join(REPO, ".venv", "bin", "ansible-playbook"),
                                     inv, os.path.join(tmp, "play.yml"))
    if UNSHARE:
        p = subprocess.run(["unshare", "-n", "sh", "-c", NETNS_SETUP + cmd], capture_output=True, check=False,
                           text=True, env=env, cwd=REPO)
    else:
        p = subprocess.run(cmd + " -e keepalived_validate=false", shell=True, capture_output=True, check=False,
                           text=True, env=env, cwd=REPO)
    out = p.stdout + p.stderr
    files = {}
    for name in ("dir1", "dir2", "nat1", "tun1", "fw1", "chk1", "sync1", "uni1", "bad1", "bad2"):
        path = os.path.join(tmp, name + ".conf")
        if os.path.exists(path):
            with open(path) as f:
                files[name] = f.read()
    return {"tmp": tmp, "out": out, "rc": p.returncode, "files": files}


def recap(out, host):
    m = re.search(r"^%s\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)" % host, out, re.M)
    assert m, "no recap line for %s in:\n%s" % (host, out[-3000:])
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups())))


@pytest.mark.parametrize("host", ["dir1", "dir2", "nat1", "tun1", "fw1", "chk1", "sync1", "uni1"])
def test_rendered_and_validated_by_the_role(rendered, host):
    assert recap(rendered["out"], host)["failed"] == 0, rendered["out"][-4000:]
    assert host in rendered["files"]
    mode = os.stat(os.path.join(rendered["tmp"], host + ".conf")).st_mode & 0o777
    assert mode == 0o600


@pytest.mark.parametrize("host", ["nat1", "tun1", "fw1", "chk1", "sync1", "uni1"])
def test_keepalived_t_accepts(rendered, host):
    p = keepalived_t(os.path.join(rendered["tmp"], host + ".conf"))
    assert p.returncode == 0, p.stderr


def test_script_user_bug_and_workaround(rendered):
    """keepalived 2.2.7 -t kills itself (SIGTERM, 143) when script_user is set and scripts are used;
    the same file with script_user root passes; the role's helper handles it."""
    path = os.path.join(rendered["tmp"], "dir1.conf")
    assert "script_user nobody" in rendered["files"]["dir1"]
    plain = keepalived_t(path)
    helper = in_netns("sh %s %s %s" % (HELPER, KEEPALIVED, path))
    assert helper.returncode == 0, helper.stderr
    if plain.returncode == 143:
        assert "bug" in helper.stderr  # the workaround was taken, and said so
    else:  # a fixed keepalived: the helper is a plain keepalived -t
        assert plain.returncode == 0, plain.stderr
    # The workaround does not hide real errors.
    broken = os.path.join(rendered["tmp"], "dir1-broken.conf")
    with open(broken, "w") as f:
        f.write(rendered["files"]["dir1"].replace("virtual_router_id 51", "virtual_router_id 300"))
    assert in_netns("sh %s %s %s" % (HELPER, KEEPALIVED, broken)).returncode != 0


def test_connection_sync_daemon_from_the_cluster_model(rendered):
    assert "    lvs_sync_daemon eth0 VI_SYNC\n" in rendered["files"]["sync1"]
    # without lvs_cluster.vrrp.sync_daemon, the default global_defs has no sync daemon
    assert "lvs_sync_daemon" not in rendered["files"]["tun1"]
    assert "router_id tun1" in rendered["files"]["tun1"]


def test_dr_pair(rendered):
    d1, d2 = parse(rendered["files"]["dir1"]), parse(rendered["files"]["dir2"])
    assert value(block(d1, "global_defs"), "router_id") == "dir1"
    assert value(block(d2, "global_defs"), "router_id") == "dir2"
    g = block(d1, "global_defs")
    assert value(g, "script_user") == "nobody" and has(g, "enable_script_security")
    s = block(d1, "vrrp_script", "chk_ipvs")
    assert value(s, "script") == '"/bin/true"' and value(s, "weight") == "-20"
    v1, v2 = block(d1, "vrrp_instance", "VI_WEB"), block(d2, "vrrp_instance", "VI_WEB")
    assert (value(v1, "state"), value(v1, "priority")) == ("MASTER", "150")
    assert (value(v2, "state"), value(v2, "priority")) == ("BACKUP", "100")
    for v in (v1, v2):
        assert value(v, "interface") == "eth0" and value(v, "virtual_router_id") == "51"
        assert value(v, "advert_int") == "1"
        assert leaves(block(v, "authentication")) == ["auth_type PASS", "auth_pass " + SECRET]
        assert leaves(block(v, "virtual_ipaddress")) == ["192.0.2.100/32"]
        assert leaves(block(v, "track_script")) == ["chk_ipvs weight -20"]
        assert leaves(block(v, "track_interface")) == ["eth1"]
        assert value(v, "notify_master") == '"/usr/bin/logger -t keepalived VI_WEB MASTER"'
        assert value(v, "notify_fault") == '"/usr/bin/logger -t keepalived VI_WEB FAULT"'
    vs = block(d1, "virtual_server", "192.0.2.100", "80")
    assert [value(vs, k) for k in ("lb_algo", "lb_kind", "protocol", "delay_loop")] == ["wlc", "DR", "TCP", "6"]
    assert value(vs, "persistence_timeout") is None
    rs = block(vs, "real_server", "192.0.2.21", "80")
    assert value(rs, "weight") == "100"
    url = block(block(rs, "HTTP_GET"), "url")
    assert leaves(url) == ["path /", "status_code 200"]
    assert value(block(vs, "real_server", "192.0.2.22", "80"), "weight") == "50"


def test_secrets_stay_out_of_output(rendered):
    assert SECRET in rendered["files"]["dir1"]
    assert SECRET not in rendered["out"]


def test_nat_sync_group_and_port_mapping(rendered):
    c = parse(rendered["files"]["nat1"])
    g = block(c, "global_defs")
    assert leaves(block(g, "notification_email")) == ["admin@example.org", "ops@example.org"]
    assert [value(g, k) for k in ("notification_email_from", "smtp_server", "router_id")] == \
        ["lvs@example.org", "127.0.0.1", "DEMO"]
    assert value(g, "vrrp_garp_master_delay") == "5" and value(g, "vrrp_garp_interval") == "0.001"
    assert value(g, "lvs_sync_daemon") == "eth0 LVS_LAN id 10"
    sg = block(c, "vrrp_sync_group", "HK_GRP1")
    assert leaves(block(sg, "group")) == ["LVS_WAN", "LVS_LAN"] and has(sg, "smtp_alert")
    wan, lan = block(c, "vrrp_instance", "LVS_WAN"), block(c, "vrrp_instance", "LVS_LAN")
    # nopreempt only works from BACKUP: the role starts such instances as BACKUP.
    assert value(wan, "state") == "BACKUP" and has(wan, "nopreempt") and has(lan, "nopreempt")
    assert leaves(block(wan, "virtual_ipaddress")) == ["198.51.100.88/24 dev eth1 scope global label eth1:vip"]
    assert value(wan, "unicast_src_ip") == "198.51.100.11"
    assert leaves(block(wan, "unicast_peer")) == ["198.51.100.12"]
    assert leaves(block(lan, "track_interface")) == ["eth1"]
    assert value(block(lan, "authentication"), "auth_pass") == "9aa614f7"
    vs = block(c, "virtual_server", "198.51.100.88", "80")
    assert [value(vs, k) for k in ("lb_algo", "lb_kind", "persistence_timeout")] == ["wrr", "NAT", "60"]
    rss = blocks(vs, "real_server")
    assert [(n["words"][1], n["words"][2], value(n["children"], "weight")) for n in rss] == [
        ("192.0.2.21", "8001", "2"), ("192.0.2.21", "8002", "6"),
        ("192.0.2.22", "8003", "3"), ("192.0.2.22", "8004", "8")]
    for n in rss:
        assert has(n["children"], "inhibit_on_failure")
        tcp = block(n["children"], "TCP_CHECK")
        assert sorted(leaves(tcp)) == ["connect_timeout 10", "delay_before_retry 3", "retry 3"]


def test_tun_quorum_sorry_server(rendered):
    c = parse(rendered["files"]["tun1"])
    v = block(c, "vrrp_instance", "VI_TUN")
    # preempt_delay only works from BACKUP: the role starts such instances as BACKUP.
    assert value(v, "version") == "3" and value(v, "state") == "BACKUP" and value(v, "priority") == "120"
    assert not blocks(v, "authentication")
    assert value(v, "preempt_delay") == "30" and leaves(block(v, "track_interface")) == ["eth1 weight -30"]
    vs = block(c, "virtual_server", "203.0.113.100", "80")
    assert [value(vs, k) for k in ("lb_kind", "lb_algo", "quorum", "hysteresis", "sorry_server")] == \
        ["TUN", "rr", "1", "0", "192.0.2.99 80"]
    for n in blocks(vs, "real_server"):
        assert has(n["children"], "inhibit_on_failure")
        assert value(block(n["children"], "TCP_CHECK"), "connect_port") == "80"


def test_fwmark_and_virtual_server_group(rendered):
    c = parse(rendered["files"]["fw1"])
    assert not blocks(c, "vrrp_instance")  # no lvs_cluster.vrrp: no VRRP
    assert leaves(block(c, "virtual_server_group", "VSG_WEB")) == ["192.0.2.100 80", "192.0.2.101-102 80"]
    fw = block(c, "virtual_server", "fwmark", "1")
    assert value(fw, "persistence_timeout") == "300" and value(fw, "lb_kind") == "DR"
    assert [n["words"][1:] for n in blocks(fw, "real_server")] == [["192.0.2.21"], ["192.0.2.22"]]
    grp = block(c, "virtual_server", "group", "VSG_WEB")
    assert value(grp, "lb_algo") == "sh"
    assert [n["words"][1:] for n in blocks(grp, "real_server")] == [["192.0.2.21", "80"], ["192.0.2.22", "80"]]


def test_every_checker_and_digest_from(rendered):
    c = parse(rendered["files"]["chk1"])
    vs = block(c, "virtual_server", "192.0.2.100", "80")
    rs1 = block(vs, "real_server", "192.0.2.21", "80")
    http = block(rs1, "HTTP_GET")
    assert [value(http, k) for k in ("connect_timeout", "retry", "delay_before_retry")] == ["5", "2", "1"]
    urls = [n["children"] for n in blocks(http, "url")]
    web = os.path.join(rendered["tmp"], "www")

    def md5(name):
        with open(os.path.join(web, name), "rb") as f:
            return hashlib.md5(f.read()).hexdigest()

    assert leaves(urls[0]) == ["path /", "digest " + md5("index.html"), "status_code 200"]
    assert leaves(urls[1]) == ["path /health.txt", "digest " + md5("health.txt")]
    assert leaves(urls[2]) == ["path /fixed", "digest 3ef1267da49c9567b0243dc4be39653a", "status_code 200"]
    assert value(block(rs1, "TCP_CHECK"), "connect_port") == "80"
    ssl = block(block(vs, "real_server", "192.0.2.22", "443"), "SSL_GET")
    assert [leaves(n["children"]) for n in blocks(ssl, "url")] == [
        ["path /", "digest ff20ad2481f97b1754ef3e12ecd3a9cc"],
        ["path /mrtg/", "digest 9b3a0c85a887a256d6939da88aabd8cd", "status_code 200"]]
    misc = block(block(vs, "real_server", "192.0.2.23", "80"), "MISC_CHECK")
    assert leaves(misc) == ['misc_path "/bin/true 192.0.2.23"', "misc_timeout 5", "misc_dynamic"]
    smtp = block(block(vs, "real_server", "192.0.2.24", "25"), "SMTP_CHECK")
    assert value(smtp, "helo_name") == "lvs.example.org"
    dns = block(block(vs, "real_server", "192.0.2.25", "53"), "DNS_CHECK")
    assert value(dns, "type") == "A" and value(dns, "name") == "example.org"


def test_invalid_description_is_rejected_by_path_and_old_file_kept(rendered):
    """The schema refuses VRID 300 before anything is written, naming the field."""
    assert recap(rendered["out"], "bad1")["failed"] == 1
    assert "keepalived_vrrp_instances[0].virtual_router_id: must be between 1 and 255, not 300" in rendered["out"]
    assert rendered["files"]["bad1"] == BAD_OLD


def test_bad_config_is_rejected_by_keepalived_t_and_old_file_kept(rendered):
    """What the schema cannot know (a raw line's keyword) keepalived -t still refuses."""
    if not UNSHARE:
        pytest.skip("validation needs the private network namespace")
    assert recap(rendered["out"], "bad2")["failed"] == 1
    assert "failed to validate" in rendered["out"]
    assert rendered["files"]["bad2"] == BAD_OLD


def test_unicast_peers_from_the_inventory(rendered):
    v = block(parse(rendered["files"]["uni1"]), "vrrp_instance", "VI_UNI")
    assert value(v, "unicast_src_ip") == "192.0.2.11"
    assert leaves(block(v, "unicast_peer")) == ["192.0.2.12"]
    g = block(parse(rendered["files"]["uni1"]), "global_defs")
    assert value(g, "vrrp_garp_master_refresh") == "60"
    assert value(block(parse(rendered["files"]["sync1"]), "global_defs"), "vrrp_garp_master_refresh") is None


def test_track_file_from_the_cluster_model(rendered):
    c = parse(rendered["files"]["uni1"])
    t = block(c, "vrrp_track_file", "tf_maint")
    assert value(t, "weight") == "-10" and value(t, "init_file") == "0"
    assert value(t, "file") == '"%s"' % os.path.join(rendered["tmp"], "maint")
    assert leaves(block(block(c, "vrrp_instance", "VI_UNI"), "track_file")) == ["tf_maint weight 1"]
