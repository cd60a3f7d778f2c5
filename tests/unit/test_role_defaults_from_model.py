"""The roles' derived defaults come from the canonical description (cluster_model).

The role lvs.cluster.cluster_model sets lvs_cluster_model, then the role defaults
and vars files are loaded by a real ansible-playbook run (include_vars, connection
local) and their values printed as JSON, so the Jinja of the roles is evaluated as
in a play.
"""
import json
import os
import subprocess

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: lvs.cluster.cluster_model
    - ansible.builtin.include_vars: "{repo}/roles/lvs_director/defaults/main.yml"
    - ansible.builtin.include_vars: "{repo}/roles/lvs_director/vars/main.yml"
    - ansible.builtin.include_vars: "{repo}/roles/realserver_linux/defaults/main.yml"
    - ansible.builtin.include_vars: "{repo}/roles/realserver_linux/vars/main.yml"
    - ansible.builtin.copy:
        dest: "{tmp}/{{{{ inventory_hostname }}}}.json"
        mode: "0644"
        content: >-
          {{{{ {{'ip_forward': lvs_director_ip_forward | bool, 'mode': lvs_director_mode,
               'vips': lvs_director_vips, 'keepalived': lvs_director_keepalived | bool,
               'services': lvs_director_services, 'dr_vips': realserver_linux_dr_vips,
               'tun_vips': realserver_linux_tun_vips, 'tun_mss': realserver_linux_tun_mss,
               'tun_gre_vips': realserver_linux_tun_gre_vips, 'tun_gue_ports': realserver_linux_tun_gue_ports,
               'nat_source': realserver_linux_nat_source,
               'timeouts': lvs_director_timeouts, 'conn_tab_bits': lvs_director_conn_tab_bits}} | to_json }}}}
"""

MIXED = {"mode": "dr", "services": [
    {"name": "web", "vip": "192.0.2.100/32", "port": 80, "realservers": [{"host": "rs1", "address": "192.0.2.21"}]},
    {"name": "api", "vip": "203.0.113.5", "port": 8080, "mode": "nat",
     "realservers": [{"host": "rs2", "address": "192.0.2.22", "port": 9000}]}]}


def run(tmp, cluster, directors=("dir1",)):
    inv = {"all": {"vars": {"ansible_connection": "local", "lvs_cluster": cluster,
                            "ansible_python_interpreter": os.path.join(REPO, ".venv", "bin", "python")},
                   "hosts": {"rs1": {}, "rs2": {}},
                   "children": {"lvs_directors": {"hosts": dict((d, {}) for d in directors)}}}}
    with open(os.path.join(tmp, "hosts.yml"), "w") as f:
        yaml.safe_dump(inv, f)
    with open(os.path.join(tmp, "play.yml"), "w") as f:
        f.write(PLAY.format(repo=REPO, tmp=tmp))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"),
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    p = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "-i", os.path.join(tmp, "hosts.yml"),
                        os.path.join(tmp, "play.yml")], capture_output=True, text=True, env=env, check=False)
    out = {}
    for host in ("dir1", "dir2", "rs1", "rs2"):
        path = os.path.join(tmp, host + ".json")
        if os.path.exists(path):
            with open(path) as f:
                out[host] = json.load(f)
    return p, out


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    p, out = run(str(tmp_path_factory.mktemp("mixed")), MIXED)
    assert p.returncode == 0, p.stdout[-3000:]
    return out


def test_nat_service_in_a_dr_cluster_turns_on_ip_forward(mixed):
    d = mixed["dir1"]
    assert d["mode"] == "dr" and d["ip_forward"] is True and d["keepalived"] is False
    assert d["vips"] == ["192.0.2.100", "203.0.113.5"]  # the prefix is dropped once, in the model
    assert [dest["forward"] for s in d["services"] for dest in s["destinations"]] == ["route", "masq"]


def test_realservers_by_mode(mixed):
    assert mixed["rs1"]["dr_vips"] == ["192.0.2.100"] and mixed["rs1"]["nat_source"] == ""
    assert mixed["rs2"]["dr_vips"] == [] and mixed["rs2"]["nat_source"] == "192.0.2.22"


def test_dr_only_cluster_does_not_forward(tmp_path):
    cluster = {"mode": "dr", "services": MIXED["services"][:1]}
    p, out = run(str(tmp_path), cluster)
    assert p.returncode == 0, p.stdout[-3000:]
    assert out["dir1"]["ip_forward"] is False


def test_two_directors_without_vrrp_are_refused_by_path(tmp_path):
    p, out = run(str(tmp_path), MIXED, directors=("dir1", "dir2"))
    assert p.returncode != 0 and "dir1" not in out
    assert "lvs_cluster.vrrp: is required with 2 directors (dir1, dir2)" in p.stdout + p.stderr


def test_misspelt_key_is_refused_by_path(tmp_path):
    cluster = {"services": [{"vip": "192.0.2.100", "port": 80, "schedular": "rr", "realservers": []}]}
    p, _out = run(str(tmp_path), cluster)
    assert p.returncode != 0
    assert "lvs_cluster.services[0].schedular: unknown key; did you mean 'scheduler'?" in p.stdout + p.stderr


def test_ipvs_settings_from_the_model(mixed, tmp_path):
    assert mixed["dir1"]["timeouts"] == {} and mixed["dir1"]["conn_tab_bits"] is None
    cluster = dict(MIXED, ipvs={"timeouts": {"tcp": 7200, "udp": 60}, "conn_tab_bits": 20})
    p, out = run(str(tmp_path), cluster)
    assert p.returncode == 0, p.stdout[-3000:]
    assert out["dir1"]["timeouts"] == {"tcp": 7200, "udp": 60} and out["dir1"]["conn_tab_bits"] == 20


def test_tun_mss_from_the_model(mixed, tmp_path):
    assert mixed["rs1"]["tun_mss"] == [] and mixed["rs2"]["tun_mss"] == []  # no TUN service
    cluster = dict(MIXED, tun={"path_mtu": 1400})
    cluster["services"] = [dict(MIXED["services"][0], mode="tun",
                                realservers=[{"host": "rs1", "address": "192.0.2.21", "tun_type": "gue",
                                              "tun_port": 6080}]),
                           dict(MIXED["services"][0], mode="tun", port=81, vip="192.0.2.101",
                                realservers=[{"host": "rs1", "address": "192.0.2.21", "tun_type": "gre"}])]
    p, out = run(str(tmp_path), cluster)
    assert p.returncode == 0, p.stdout[-3000:]
    # 1400 - 20 outer IPv4 - 12 UDP+GUE - 40 inner IPv4 and TCP
    assert out["rs1"]["tun_mss"] == [{"address": "192.0.2.100", "mss": 1328}, {"address": "192.0.2.101", "mss": 1336}]
    # GUE: the VIP on tunl0 and the port opened; GRE: the VIP on gre0
    assert out["rs1"]["tun_vips"] == ["192.0.2.100"] and out["rs1"]["tun_gue_ports"] == [6080]
    assert out["rs1"]["tun_gre_vips"] == ["192.0.2.101"]
    assert out["rs2"]["tun_mss"] == [] and out["rs2"]["tun_gre_vips"] == []  # not a real server of the services
