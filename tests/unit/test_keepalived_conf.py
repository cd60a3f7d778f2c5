"""plugins/module_utils/keepalived_conf.py: no value can become keepalived configuration.

The hostile-value table sets every string and every number the renderer
writes, one at a time, to values that would add, cut or break a keepalived
line (newline, quote, brace, '#', '!', 5,000 characters, extra words, a non-
number); each must be refused with the path of that field, and nothing is
rendered. The same variables without the hostile value render fine (so a
refusal is the value's doing).
"""
import copy

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import ClusterModelError
from ansible_collections.lvs.cluster.plugins.module_utils.keepalived_conf import keepalived_conf

DIGEST = "0123456789abcdef0123456789abcdef"


def variables():
    """Role variables using every block and key the renderer writes."""
    return {
        "global_defs": {"router_id": "dir1", "script_user": "nobody", "enable_script_security": True,
                        "notification_email": ["ops@example.org"], "notification_email_from": "lvs@example.org",
                        "lvs_sync_daemon": {"interface": "eth0", "instance": "VI_1", "id": 10}},
        "vrrp_scripts": [{"name": "chk", "script": "/bin/true", "interval": 2, "weight": -20, "rise": 2,
                          "fall": 2, "user": "nobody"}],
        "sync_groups": [{"name": "G1", "group": ["VI_1"], "notify_master": "/bin/true master"}],
        "instances": [{"name": "VI_1", "interface": "eth0", "virtual_router_id": 51, "priority": 150,
                       "advert_int": 1, "authentication": {"type": "PASS", "pass": "secret"},
                       "preempt_delay": 5, "unicast_src_ip": "192.0.2.11", "unicast_peers": ["192.0.2.12"],
                       "track_interfaces": ["eth1"], "track_scripts": [{"name": "chk", "weight": -10}],
                       "notify_master": "/bin/true up", "garp_master_refresh": 60,
                       "vips": ["192.0.2.100/32", {"address": "192.0.2.101/24", "dev": "eth1",
                                                   "label": "eth1:vip", "scope": "global",
                                                   "brd": "192.0.2.255"}],
                       "excluded_vips": ["192.0.2.200/32"], "extra": ["dont_track_primary"]}],
        "vs_groups": [{"name": "VSG", "members": [{"ip": "192.0.2.110-111", "port": 80}, {"fwmark": 7}]}],
        "virtual_servers": [
            {"name": "web", "vip": "192.0.2.100", "port": 80, "protocol": "tcp", "scheduler": "wrr",
             "mode": "dr", "persistence": 60, "persistence_granularity": "255.255.255.0", "delay_loop": 6,
             "quorum": 1, "quorum_up": "/bin/true quorum", "hysteresis": 0, "virtualhost": "www.example.org",
             "sorry_server": {"address": "192.0.2.99", "port": 80},
             "realservers": [
                 {"address": "192.0.2.21", "weight": 10, "notify_up": "/bin/true rs up",
                  "notify_down": "/bin/true rs down", "check": {
                      "type": "HTTP_GET", "connect_ip": "192.0.2.21", "connect_port": 80,
                      "connect_timeout": 3, "retry": 2, "delay_before_retry": 1,
                      "urls": [{"path": "/health", "status_code": 200, "digest": DIGEST,
                                "virtualhost": "www.example.org"}]}},
                 {"address": "192.0.2.22", "check": {
                     "type": "MISC_CHECK", "misc_path": "/bin/true check", "misc_timeout": 5, "user": "nobody"}},
                 {"address": "192.0.2.23", "check": {"type": "SMTP_CHECK", "helo_name": "lvs.example.org"}},
                 {"address": "192.0.2.24", "check": {"type": "DNS_CHECK", "dns_type": "A", "name": "example.org"}},
             ]},
            {"name": "grp", "group": "VSG", "port": 80, "realservers": [{"address": "192.0.2.21", "port": 80}]},
        ],
        "host": "dir1", "priority": 150, "peer_priorities": [150, 100],
        "header": "Ansible managed", "extra_config": "# operator's own text",
    }


TEXT = ["a\nnotify_master /bin/sh", "a\rb", 'a"b', "a{b", "a}b", "a#b", "a!b", "x" * 5000, "a\\b", ""]
WORD = TEXT + ["two words"]
NUMBER = ["1\nnotify_master /bin/sh", "1 2", "1#", "1!", "1}", "9" * 5000, "x", True, [1], {"a": 1}]

I = "keepalived_vrrp_instances[0]"
V = "keepalived_virtual_servers[0]"
R = V + ".realservers[0]"
C = R + ".check"
# (where in variables(), path of the error, hostile values)
FIELDS = [
    (("global_defs", "router_id"), "keepalived_global_defs.router_id", TEXT),
    (("global_defs", "script_user"), "keepalived_global_defs.script_user", TEXT),
    (("global_defs", "notification_email", 0), "keepalived_global_defs.notification_email[0]", WORD),
    (("global_defs", "notification_email_from"), "keepalived_global_defs.notification_email_from", TEXT),
    (("global_defs", "lvs_sync_daemon", "interface"), "keepalived_global_defs.lvs_sync_daemon.interface", WORD),
    (("global_defs", "lvs_sync_daemon", "instance"), "keepalived_global_defs.lvs_sync_daemon.instance", WORD),
    (("global_defs", "lvs_sync_daemon", "id"), "keepalived_global_defs.lvs_sync_daemon.id", NUMBER),
    (("vrrp_scripts", 0, "name"), "keepalived_vrrp_scripts[0].name", WORD),
    (("vrrp_scripts", 0, "script"), "keepalived_vrrp_scripts[0].script", TEXT),
    (("vrrp_scripts", 0, "user"), "keepalived_vrrp_scripts[0].user", TEXT),
    (("vrrp_scripts", 0, "interval"), "keepalived_vrrp_scripts[0].interval", NUMBER),
    (("vrrp_scripts", 0, "weight"), "keepalived_vrrp_scripts[0].weight", NUMBER),
    (("vrrp_scripts", 0, "rise"), "keepalived_vrrp_scripts[0].rise", NUMBER),
    (("vrrp_scripts", 0, "fall"), "keepalived_vrrp_scripts[0].fall", NUMBER),
    (("sync_groups", 0, "name"), "keepalived_vrrp_sync_groups[0].name", WORD),
    (("sync_groups", 0, "group", 0), "keepalived_vrrp_sync_groups[0].group[0]", WORD),
    (("sync_groups", 0, "notify_master"), "keepalived_vrrp_sync_groups[0].notify_master", TEXT),
    (("instances", 0, "name"), I + ".name", WORD),
    (("instances", 0, "interface"), I + ".interface", WORD),
    (("instances", 0, "virtual_router_id"), I + ".virtual_router_id", NUMBER),
    (("instances", 0, "priority"), I + ".priority", NUMBER),
    (("instances", 0, "advert_int"), I + ".advert_int", NUMBER),
    (("instances", 0, "preempt_delay"), I + ".preempt_delay", NUMBER),
    (("instances", 0, "garp_master_refresh"), I + ".garp_master_refresh", NUMBER),
    (("instances", 0, "authentication", "pass"), I + ".authentication.pass", WORD),
    (("instances", 0, "unicast_src_ip"), I + ".unicast_src_ip", WORD),
    (("instances", 0, "unicast_peers", 0), I + ".unicast_peers[0]", WORD),
    (("instances", 0, "track_interfaces", 0), I + ".track_interfaces[0]", WORD),
    (("instances", 0, "track_scripts", 0, "name"), I + ".track_scripts[0].name", WORD),
    (("instances", 0, "track_scripts", 0, "weight"), I + ".track_scripts[0].weight", NUMBER),
    (("instances", 0, "notify_master"), I + ".notify_master", TEXT),
    (("instances", 0, "vips", 0), I + ".vips[0]", WORD + ["192.0.2.100/32 dev eth1 label eth1:x"]),
    (("instances", 0, "vips", 1, "address"), I + ".vips[1].address", WORD),
    (("instances", 0, "vips", 1, "dev"), I + ".vips[1].dev", WORD),
    (("instances", 0, "vips", 1, "label"), I + ".vips[1].label", WORD),
    (("instances", 0, "vips", 1, "scope"), I + ".vips[1].scope", WORD),
    (("instances", 0, "vips", 1, "brd"), I + ".vips[1].brd", WORD),
    (("instances", 0, "excluded_vips", 0), I + ".excluded_vips[0]", WORD),
    (("instances", 0, "extra", 0), I + ".extra[0]", ["a\nb", "}", "a {", "x" * 5000]),
    (("vs_groups", 0, "name"), "keepalived_virtual_server_groups[0].name", WORD),
    (("vs_groups", 0, "members", 0, "ip"), "keepalived_virtual_server_groups[0].members[0].ip", WORD),
    (("vs_groups", 0, "members", 0, "port"), "keepalived_virtual_server_groups[0].members[0].port", NUMBER),
    (("vs_groups", 0, "members", 1, "fwmark"), "keepalived_virtual_server_groups[0].members[1].fwmark", NUMBER),
    (("virtual_servers", 0, "name"), V + ".name", WORD),
    (("virtual_servers", 0, "vip"), V + ".vip", WORD),
    (("virtual_servers", 0, "port"), V + ".port", NUMBER),
    (("virtual_servers", 0, "protocol"), V + ".protocol", WORD),
    (("virtual_servers", 0, "scheduler"), V + ".scheduler", WORD),
    (("virtual_servers", 0, "mode"), V + ".mode", WORD),
    (("virtual_servers", 0, "persistence"), V + ".persistence", NUMBER),
    (("virtual_servers", 0, "persistence_granularity"), V + ".persistence_granularity", WORD),
    (("virtual_servers", 0, "delay_loop"), V + ".delay_loop", NUMBER),
    (("virtual_servers", 0, "quorum"), V + ".quorum", NUMBER),
    (("virtual_servers", 0, "quorum_up"), V + ".quorum_up", TEXT),
    (("virtual_servers", 0, "hysteresis"), V + ".hysteresis", NUMBER),
    (("virtual_servers", 0, "virtualhost"), V + ".virtualhost", WORD),
    (("virtual_servers", 0, "sorry_server", "address"), V + ".sorry_server.address", WORD),
    (("virtual_servers", 0, "sorry_server", "port"), V + ".sorry_server.port", NUMBER),
    (("virtual_servers", 1, "group"), "keepalived_virtual_servers[1].group", WORD),
    (("virtual_servers", 0, "realservers", 0, "address"), R + ".address", WORD),
    (("virtual_servers", 0, "realservers", 0, "weight"), R + ".weight", NUMBER),
    (("virtual_servers", 0, "realservers", 1, "port"), V + ".realservers[1].port", NUMBER),
    (("virtual_servers", 0, "realservers", 0, "notify_up"), R + ".notify_up", TEXT),
    (("virtual_servers", 0, "realservers", 0, "notify_down"), R + ".notify_down", TEXT),
    (("virtual_servers", 0, "realservers", 0, "check", "connect_ip"), C + ".connect_ip", WORD),
    (("virtual_servers", 0, "realservers", 0, "check", "connect_port"), C + ".connect_port", NUMBER),
    (("virtual_servers", 0, "realservers", 0, "check", "connect_timeout"), C + ".connect_timeout", NUMBER),
    (("virtual_servers", 0, "realservers", 0, "check", "retry"), C + ".retry", NUMBER),
    (("virtual_servers", 0, "realservers", 0, "check", "delay_before_retry"), C + ".delay_before_retry", NUMBER),
    (("virtual_servers", 0, "realservers", 0, "check", "urls", 0, "path"), C + ".urls[0].path", WORD),
    (("virtual_servers", 0, "realservers", 0, "check", "urls", 0, "digest"), C + ".urls[0].digest", WORD),
    (("virtual_servers", 0, "realservers", 0, "check", "urls", 0, "status_code"), C + ".urls[0].status_code",
     NUMBER),
    (("virtual_servers", 0, "realservers", 0, "check", "urls", 0, "virtualhost"), C + ".urls[0].virtualhost",
     WORD),
    (("virtual_servers", 0, "realservers", 1, "check", "misc_path"), V + ".realservers[1].check.misc_path", TEXT),
    (("virtual_servers", 0, "realservers", 1, "check", "misc_timeout"), V + ".realservers[1].check.misc_timeout",
     NUMBER),
    (("virtual_servers", 0, "realservers", 1, "check", "user"), V + ".realservers[1].check.user", WORD),
    (("virtual_servers", 0, "realservers", 2, "check", "helo_name"), V + ".realservers[2].check.helo_name", WORD),
    (("virtual_servers", 0, "realservers", 3, "check", "name"), V + ".realservers[3].check.name", WORD),
    (("virtual_servers", 0, "realservers", 3, "check", "dns_type"), V + ".realservers[3].check.dns_type", WORD),
    (("header",), "ansible_managed", TEXT[:-1]),
    (("extra_config",), "keepalived_extra_config (line 1)", ["}", "x" * 5000, "a\rb", "a\x00b"]),
    (("extra_config",), "keepalived_extra_config", ["a {", "vrrp_script x {\n    script /bin/true\n"]),
]


def _set(tree, where, value):
    for key in where[:-1]:
        tree = tree[key]
    tree[where[-1]] = value


def render(kw):
    kw = dict(kw)
    return keepalived_conf(kw.pop("global_defs"), **kw)


def test_the_variables_render_and_use_every_field():
    text = render(variables())
    for word in ("auth_pass secret", "notify_up \"/bin/true rs up\"", "misc_path \"/bin/true check\"",
                 "192.0.2.101/24 brd 192.0.2.255 dev eth1 scope global label eth1:vip", "helo_name lvs.example.org",
                 "virtual_server group VSG {", "    fwmark 7", "lvs_sync_daemon eth0 VI_1 id 10"):
        assert word in text


CASES = [(where, path, value) for where, path, values in FIELDS for value in values]


@pytest.mark.parametrize("where,path,value", CASES,
                         ids=[("%s=%r" % (p, v))[:90] for _w, p, v in CASES])
def test_hostile_value_is_refused_with_its_path(where, path, value):
    kw = copy.deepcopy(variables())
    _set(kw, where, value)
    with pytest.raises(ClusterModelError) as e:
        render(kw)  # raises: nothing is rendered
    assert e.value.path == path, str(e.value)


def test_every_field_has_hostile_cases():
    assert len(FIELDS) >= 80 and len(CASES) >= 800


@pytest.mark.parametrize("where,value,expected", [
    (("instances", 0, "virtual_router_id"), "51", "virtual_router_id 51\n"),     # digits are a number
    (("instances", 0, "vips", 0), "192.0.2.100", "        192.0.2.100\n"),
    (("virtual_servers", 0, "vip"), "192.0.2.100/32", "virtual_server 192.0.2.100 80 {"),  # prefix dropped
    (("virtual_servers", 0, "mode"), "NAT", "lb_kind NAT\n"),
    (("virtual_servers", 0, "scheduler"), "sh", "lb_algo sh\n"),
    (("global_defs", "vrrp_gna_interval"), "0.000001", "vrrp_gna_interval 0.000001\n"),
])
def test_safe_values_are_written(where, value, expected):
    kw = copy.deepcopy(variables())
    _set(kw, where, value)
    assert expected in render(kw)


@pytest.mark.parametrize("where,value,path,reason", [
    (("global_defs", "vrrp_garp_interval"), 0, "keepalived_global_defs.vrrp_garp_interval", "leave vrrp_garp_interval out"),
    (("global_defs", "lvs_sync_daemon_interface"), "eth0", "keepalived_global_defs.lvs_sync_daemon_interface",
     "use lvs_sync_daemon"),
    (("global_defs", "vrrp_strict"), True, "keepalived_vrrp_instances.accept", "set accept: true"),
])
def test_global_defs_rules(where, value, path, reason):
    kw = copy.deepcopy(variables())
    _set(kw, where, value)
    if path.endswith(".accept"):
        path = "keepalived_vrrp_instances[0].accept"
    with pytest.raises(ClusterModelError) as e:
        render(kw)
    assert e.value.path == path and reason in e.value.reason, str(e.value)
    if where[-1] == "vrrp_strict":
        kw["instances"][0]["accept"] = True
        assert "    accept\n" in render(kw)


def test_blocks_from_lvs_cluster_are_named_there():
    cluster = {"vrrp": {"instances": [{"name": "VI_1", "interface": "eth0", "virtual_router_id": 51,
                                       "vips": ["192.0.2.100/32"]}]},
               "services": [{"vip": "192.0.2.100", "port": 80,
                             "realservers": [{"address": "192.0.2.21", "weight": "1\n}"}]}]}
    with pytest.raises(ClusterModelError) as e:
        keepalived_conf({}, instances=cluster["vrrp"]["instances"], virtual_servers=cluster["services"],
                        lvs_cluster=cluster)
    assert e.value.path == "lvs_cluster.services[0].realservers[0].weight"


def test_smtp_check_host_blocks():
    kw = copy.deepcopy(variables())
    kw["virtual_servers"][0]["realservers"][2]["check"]["hosts"] = [
        {"connect_ip": "192.0.2.31", "connect_port": 25}, {"connect_ip": "192.0.2.32", "bindto": "192.0.2.11"}]
    text = render(kw)
    assert ("        SMTP_CHECK {\n            helo_name lvs.example.org\n"
            "            host {\n                connect_ip 192.0.2.31\n                connect_port 25\n            }\n"
            "            host {\n                connect_ip 192.0.2.32\n                bindto 192.0.2.11\n            }\n"
            "        }\n") in text
    kw["virtual_servers"][0]["realservers"][2]["check"]["hosts"][0]["connect_port"] = "25\n}"
    with pytest.raises(ClusterModelError) as e:
        render(kw)
    assert e.value.path == V + ".realservers[2].check.hosts[0].connect_port"
    kw = copy.deepcopy(variables())
    kw["virtual_servers"][0]["realservers"][1]["check"]["hosts"] = [{"connect_ip": "192.0.2.31"}]
    with pytest.raises(ClusterModelError, match="host blocks belong to SMTP_CHECK, not MISC_CHECK"):
        render(kw)


def test_track_script_must_name_a_vrrp_script():
    kw = copy.deepcopy(variables())
    kw["instances"][0]["track_scripts"] = ["chk", "chk_missing"]
    with pytest.raises(ClusterModelError) as e:
        render(kw)
    assert e.value.path == I + ".track_scripts[1]" and "no vrrp_script is named chk_missing" in e.value.reason


def test_vrrp_scripts_from_lvs_cluster_are_named_there():
    cluster = {"vrrp": {"scripts": [{"name": "chk", "script": "/bin/true", "interval": "2\n}"}], "instances": []}}
    with pytest.raises(ClusterModelError) as e:
        keepalived_conf({}, vrrp_scripts=cluster["vrrp"]["scripts"], lvs_cluster=cluster)
    assert e.value.path == "lvs_cluster.vrrp.scripts[0].interval"


def test_extra_config_may_hold_whole_blocks():
    kw = copy.deepcopy(variables())
    kw["extra_config"] = "# raw\nvrrp_script chk_x {\n    script \"/bin/true\"  # } in a comment\n}\n"
    assert render(kw).endswith("\n# raw\nvrrp_script chk_x {\n    script \"/bin/true\"  # } in a comment\n}\n")


def test_unicast_from_inventory():
    kw = copy.deepcopy(variables())
    inst = kw["instances"][0]
    del inst["unicast_src_ip"], inst["unicast_peers"]
    inst["unicast_from_inventory"] = True
    kw["peer_addresses"] = {"dir1": "192.0.2.11", "dir2": "192.0.2.12", "dir3": "192.0.2.13"}
    text = render(kw)
    assert "    unicast_src_ip 192.0.2.11\n    unicast_peer {\n        192.0.2.12\n        192.0.2.13\n    }\n" in text
    for addresses, path in (({"dir1": "192.0.2.11", "dir2": ""}, "keepalived_vrrp_peer_addresses.dir2"),
                            ({"dir1": "192.0.2.11", "dir2": "192.0.2.12\n}"}, "keepalived_vrrp_peer_addresses.dir2"),
                            ({"dir2": "192.0.2.12"}, I + ".unicast_from_inventory"),
                            ({"dir1": "192.0.2.11"}, I + ".unicast_from_inventory")):
        kw["peer_addresses"] = addresses
        with pytest.raises(ClusterModelError) as e:
            render(kw)
        assert e.value.path == path, str(e.value)
    inst["unicast_peers"] = ["192.0.2.12"]
    with pytest.raises(ClusterModelError, match="either unicast_from_inventory or unicast_peers"):
        render(kw)


def test_track_files():
    kw = copy.deepcopy(variables())
    kw["track_files"] = [{"name": "tf", "file": "/run/lvs/maint", "weight": -10, "init_file": True}]
    kw["instances"][0]["track_files"] = ["tf"]
    text = render(kw)
    assert '\nvrrp_track_file tf {\n    file "/run/lvs/maint"\n    weight -10\n    init_file\n}\n' in text
    assert "    track_file {\n        tf\n    }\n" in text
    for where, value, path in ((("track_files", 0, "file"), "/run/x\nnotify_master /bin/sh",
                                "keepalived_vrrp_track_files[0].file"),
                               (("track_files", 0, "weight"), "1\n}", "keepalived_vrrp_track_files[0].weight"),
                               (("track_files", 0, "init_file"), "0 #", "keepalived_vrrp_track_files[0].init_file"),
                               (("instances", 0, "track_files", 0), "other", I + ".track_files[0]")):
        bad = copy.deepcopy(kw)
        _set(bad, where, value)
        with pytest.raises(ClusterModelError) as e:
            render(bad)
        assert e.value.path == path, str(e.value)


@pytest.mark.parametrize("kind,value", [(k, v) for k in ("word", "string", "shell") for v in TEXT if v]
                         + [("word", "two words"), ("shell", "$(reboot)"), ("shell", "`reboot`"),
                            ("number", "1\nx"), ("number", "x")])
def test_checked_value_refuses(kind, value):
    from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import checked_value
    with pytest.raises(ClusterModelError) as e:
        checked_value("keepalived_daemon_args", value, kind)
    assert e.value.path == "keepalived_daemon_args"


def test_checked_value_passes():
    from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import checked_value
    assert checked_value("x", "-D --log-detail", "shell") == "-D --log-detail"
    assert checked_value("x", "", "shell") == ""
    assert checked_value("x", "on-failure") == "on-failure"
    assert checked_value("x", "8080", "number") == 8080


def test_ipv6_instance_rules_apply_to_the_role_variables_too():
    """The keepalived role's own instances pass the same family rules (keepalived #1354)."""
    kw = copy.deepcopy(variables())
    kw["instances"].append({"name": "VI_6", "interface": "eth0", "virtual_router_id": 61, "version": 3,
                            "vips": ["2001:db8::100/128"]})
    with pytest.raises(ClusterModelError) as e:
        render(kw)
    assert e.value.path == "keepalived_vrrp_instances[1].vips[0]", str(e.value)
    assert "must be link-local" in e.value.reason
    kw["instances"][1]["vips"].insert(0, "fe80::61:1/64")
    text = render(kw)
    block = text[text.index("vrrp_instance VI_6"):]
    assert "    version 3\n" in block
    assert "        fe80::61:1/64\n        2001:db8::100/128\n" in block


def test_translated_description_is_not_checked_twice_but_still_names_its_blocks():
    """The keepalived role passes lvs_cluster_translated: the role cluster_model checked the rules already."""
    svc = {"vip": "192.0.2.100", "port": 80, "realservers": [{"address": "192.0.2.21"}]}
    cluster = {"vrrp": {"instances": [{"name": "VI_1", "interface": "eth0", "virtual_router_id": 51,
                                       "vips": ["192.0.2.100/32"]}]},
               "services": [svc, dict(svc)]}
    kw = dict(instances=cluster["vrrp"]["instances"], virtual_servers=cluster["services"], lvs_cluster=cluster)
    with pytest.raises(ClusterModelError, match="duplicate service"):  # a rule of cluster_model only
        keepalived_conf({}, **kw)
    assert "virtual_server 192.0.2.100 80" in keepalived_conf({}, lvs_cluster_translated=True, **kw)
    cluster["services"][1] = dict(svc, realservers=[{"address": "192.0.2.21", "weight": "1\n}"}])
    with pytest.raises(ClusterModelError) as e:
        keepalived_conf({}, instances=kw["instances"], virtual_servers=cluster["services"], lvs_cluster=cluster,
                        lvs_cluster_translated=True)
    assert e.value.path == "lvs_cluster.services[1].realservers[0].weight"
