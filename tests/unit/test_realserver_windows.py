"""Role realserver_windows: what can be checked without a Windows host.

There is no Windows machine here. These tests check the role's documentation
and argument specs and the variables the role derives from `lvs_cluster`, by
running the role's controller-only tasks (tasks/vars.yml) with connection=local
in check mode. The module the role calls (lvs.cluster.win_lvs_realserver) is
tested in test_win_lvs_realserver.py.
The Windows side (adapter creation, VIPs, weak host, idempotence, removal,
reboot persistence) is exercised by tests/windows/ against a real host.
"""
import json
import os
import subprocess
import textwrap

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLE = os.path.join(REPO, "roles", "realserver_windows")
VENV_BIN = os.path.join(REPO, ".venv", "bin")
COLLECTIONS = os.path.join(REPO, ".lab", "collections")


def _load(path):
    with open(os.path.join(ROLE, path), encoding="utf-8") as f:
        return yaml.safe_load(f)


def _ansible_env():
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
    env["ANSIBLE_CONFIG"] = os.path.join(REPO, "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    return env


def _tool(name):
    path = os.path.join(VENV_BIN, name)
    if not os.path.exists(path):
        pytest.skip(f"{name} not in .venv (run `make setup`)")
    return path


def _options():
    return _load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]


# ------------------------------------------------------------ documentation

def test_every_option_defaulted_and_documented():
    options = _options()
    defaults = _load("defaults/main.yml")
    with open(os.path.join(ROLE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as f:
        defaults_text = f.read()
    assert set(options) == set(defaults), "argument_specs and defaults/main.yml differ"
    for name, spec in options.items():
        assert name.startswith("realserver_windows_"), name
        assert spec.get("description"), f"{name}: no description in argument_specs"
        assert "type" in spec, f"{name}: no type"
        # a default derived from lvs_cluster is described, not given as `default`
        # (which must be a value of the option's type)
        derived = str(defaults[name]).startswith("{{")
        description = spec["description"] if isinstance(spec["description"], str) else " ".join(spec["description"])
        assert derived or "default" in spec, f"{name}: no default in argument_specs"
        assert not derived or "default" in description.lower(), f"{name}: derived default not described"
        assert name in readme, f"{name}: not in README.md"
        # a comment directly above the variable in defaults/main.yml
        lines = defaults_text.splitlines()
        idx = next(i for i, line in enumerate(lines) if line.startswith(name + ":"))
        assert lines[idx - 1].startswith("#"), f"{name}: no comment in defaults/main.yml"
        if "choices" in spec and not str(defaults[name]).startswith("{{"):
            assert defaults[name] in spec["choices"], name


def test_meta_platforms():
    meta = _load("meta/main.yml")
    platforms = meta["galaxy_info"]["platforms"]
    assert platforms == [{"name": "Windows", "versions": ["2016", "2019", "2022", "2025"]}]


def test_ansible_doc_renders():
    out = subprocess.run(
        [_tool("ansible-doc"), "-t", "role", "lvs.cluster.realserver_windows"],
        cwd=REPO, env=_ansible_env(), capture_output=True, check=False, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    for name in _options():
        assert name in out.stdout


# ------------------------------------------------------------ PowerShell
# The role's PowerShell is the module lvs.cluster.win_lvs_realserver: its parse (tree-sitter),
# argument spec and the role's call to it are tested in test_win_lvs_realserver.py.

def test_role_ships_no_script():
    files_dir = os.path.join(ROLE, "files")
    assert not (os.path.isdir(files_dir) and [f for f in os.listdir(files_dir) if f.endswith(".ps1")]), \
        "the role calls lvs.cluster.win_lvs_realserver; PowerShell belongs in plugins/modules/"


# ------------------------------------------------------------ derivation

CLUSTER = {
    "mode": "dr",
    "services": [
        {"name": "web", "vip": "192.0.2.100", "protocol": "tcp", "port": 80,
         "realservers": [{"host": "win1", "address": "192.0.2.31", "port": 80},
                         {"host": "rs1", "address": "192.0.2.21", "port": 80}]},
        {"name": "web-tls", "vip": "192.0.2.100", "protocol": "tcp", "port": 443,
         "realservers": [{"host": "win1", "address": "192.0.2.31", "port": 443}]},
        {"name": "web6", "vip": "2001:db8::100", "protocol": "tcp", "port": 80, "mode": "dr",
         "realservers": [{"host": "win1", "address": "2001:db8::31", "port": 80}]},
        {"name": "dns", "vip": "192.0.2.53/32", "protocol": "udp", "port": 53,
         "realservers": [{"host": "win1", "address": "192.0.2.31"},
                         {"host": "win3", "address": "192.0.2.33"}]},
        {"name": "app-nat", "vip": "192.0.2.101", "protocol": "tcp", "port": 8080, "mode": "nat",
         "realservers": [{"host": "win1", "address": "10.0.0.31", "port": 8080},
                         {"host": "win2", "address": "10.0.0.32", "port": 8080}]},
        {"name": "marked", "fwmark": 1, "protocol": "tcp",
         "realservers": [{"host": "win3", "address": "192.0.2.33"}]},
        {"name": "tunnelled", "vip": "198.51.100.7", "protocol": "tcp", "port": 80, "mode": "tun",
         "realservers": [{"host": "win4", "address": "203.0.113.4"}]},
        {"name": "empty", "vip": "192.0.2.200", "protocol": "tcp", "port": 80},
    ],
}

PLAYBOOK = """
- name: Derive realserver_windows variables (controller only)
  hosts: all
  gather_facts: false
  connection: local
  tasks:
    - name: Derive
      ansible.builtin.include_role:
        name: lvs.cluster.realserver_windows
        tasks_from: vars.yml
    - name: Show the plan
      ansible.builtin.debug:
        var: realserver_windows_plan
"""


def _inventory(hostvars=None):
    hosts = {h: dict((hostvars or {}).get(h, {}), ansible_python_interpreter=os.path.join(VENV_BIN, "python"))
             for h in ("win1", "win2", "win3", "win4", "win5")}
    return {"all": {"vars": {"lvs_cluster": CLUSTER},
                    "children": {"lvs_realservers_windows": {"hosts": hosts}}}}


def _run_plan(tmp_path, hostvars=None, extra=None):
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(_inventory(hostvars)))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    cmd = [_tool("ansible-playbook"), "--check", "-i", str(tmp_path / "inventory.yml"),
           str(tmp_path / "play.yml")]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    env = _ansible_env()
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, check=False, text=True, timeout=300)
    start = out.stdout.find("{")
    assert start >= 0, out.stdout + out.stderr
    result = json.loads(out.stdout[start:])
    plans, failed = {}, {}
    for play in result["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("failed"):
                    failed[host] = res.get("msg")
                # from set_fact (ansible_facts) and from the debug task
                fact = res.get("ansible_facts", {}).get("realserver_windows_plan")
                plan = res.get("realserver_windows_plan", fact)
                if plan is not None:
                    plans[host] = plan
    return out.returncode, plans, failed


@pytest.fixture(scope="module")
def default_plans(tmp_path_factory):
    rc, plans, failed = _run_plan(tmp_path_factory.mktemp("rsw"))
    return rc, plans, failed


def test_derived_vips_dr(default_plans):
    _rc, plans, _failed = default_plans
    win1 = plans["win1"]
    # DR services listing win1 (mode inherited or explicit), prefix stripped,
    # duplicates removed; the NAT service's VIP is not on the loopback
    assert sorted(win1["vips"]) == ["192.0.2.100", "192.0.2.53", "2001:db8::100"]
    assert sorted(win1["vips_ipv4"]) == ["192.0.2.100", "192.0.2.53"]
    assert win1["vips_ipv6"] == ["2001:db8::100"]
    assert win1["mode"] == "dr"
    assert win1["nat_gateway_note"] is True          # also serves a NAT service
    assert win1["lan_select"] == "address"            # auto -> address of win1 in lvs_cluster
    assert win1["lan_address"] == "192.0.2.31"
    assert win1["state"] == "present"
    assert win1["adapter_name"] == "lvs-loopback"


def test_derived_nat_only(default_plans):
    _rc, plans, _failed = default_plans
    assert plans["win2"]["vips"] == []
    assert plans["win2"]["mode"] == "nat"
    assert plans["win2"]["nat_gateway_note"] is True


def test_derived_fwmark_and_unlisted(default_plans):
    _rc, plans, _failed = default_plans
    # fwmark service has no vip: only the DNS service VIP
    assert plans["win3"]["vips"] == ["192.0.2.53"]
    # a host no service lists
    assert plans["win5"]["vips"] == []
    assert plans["win5"]["mode"] == "none"
    assert plans["win5"]["lan_select"] == "default_route"
    assert plans["win5"]["lan_address"] == ""


def test_tun_refused_without_opt_in(default_plans):
    rc, plans, failed = default_plans
    assert plans["win4"]["mode"] == "tun"
    assert plans["win4"]["vips"] == ["198.51.100.7"]
    assert "win4" in failed and "allow_tun" in str(failed["win4"])
    assert set(failed) == {"win4"}
    assert rc != 0


def test_overrides_win(tmp_path):
    rc, plans, failed = _run_plan(
        tmp_path,
        hostvars={"win4": {"realserver_windows_allow_tun": True},
                  "win5": {"realserver_windows_vips": ["203.0.113.9/24", "2001:DB8::9"],
                           "realserver_windows_lan_select": "alias",
                           "realserver_windows_lan_alias": "LAN",
                           "realserver_windows_adapter_name": "vip-loop",
                           "realserver_windows_state": "absent"}},
    )
    assert rc == 0 and not failed, failed
    assert plans["win4"]["vips"] == ["198.51.100.7"]
    win5 = plans["win5"]
    assert win5["vips"] == ["203.0.113.9", "2001:DB8::9"]
    assert win5["lan_select"] == "alias" and win5["lan_alias"] == "LAN"
    assert win5["adapter_name"] == "vip-loop" and win5["state"] == "absent"


def test_invalid_settings_fail(tmp_path):
    rc, _plans, failed = _run_plan(
        tmp_path,
        hostvars={"win1": {"realserver_windows_vips": ["192.0.2.300"]},
                  "win2": {"realserver_windows_lan_select": "alias"}},
        extra={"realserver_windows_allow_tun": True},
    )
    assert rc != 0
    assert set(failed) == {"win1", "win2"}


# ------------------------------------------------------------ playbooks

@pytest.mark.parametrize("playbook", ["test_realserver_windows.yml"])
def test_windows_playbook_syntax(playbook):
    out = subprocess.run(
        [_tool("ansible-playbook"), "--syntax-check",
         "-i", os.path.join(REPO, "tests", "windows", "inventory.example.yml"),
         os.path.join(REPO, "tests", "windows", playbook)],
        cwd=REPO, env=_ansible_env(), capture_output=True, check=False, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_role_syntax(tmp_path):
    play = tmp_path / "role.yml"
    play.write_text(textwrap.dedent("""
        - hosts: lvs_realservers_windows
          gather_facts: false
          roles:
            - lvs.cluster.realserver_windows
    """))
    out = subprocess.run(
        [_tool("ansible-playbook"), "--syntax-check",
         "-i", os.path.join(REPO, "tests", "windows", "inventory.example.yml"), str(play)],
        cwd=REPO, env=_ansible_env(), capture_output=True, check=False, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
