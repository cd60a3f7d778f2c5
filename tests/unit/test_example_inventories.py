"""The example inventories: each loads without a warning, and its keepalived.conf is byte-identical
to the render before the cluster model.

inventories/lab-dr, lab-nat, lab-tun and the smoke scenario's inventory
(molecule/smoke/group_vars) are rendered by the real keepalived role
(package, service and options tasks off) and compared with
tests/unit/golden/keepalived/, captured from the template as it was before
plugins/module_utils/keepalived_conf.py wrote the file. inventories/lab-ipv6
came later: its golden files are its first render, the one the ipv6 Molecule
scenario ran with. Each render must pass
keepalived -t (in a private network namespace, see test_keepalived_template).
"""
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from test_keepalived_template import KEEPALIVED, UNSHARE, keepalived_t

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "keepalived")
pytestmark = pytest.mark.skipif(not os.access(KEEPALIVED, os.X_OK), reason="keepalived is not installed")

PLAY = """\
- hosts: lvs_directors
  gather_facts: false
  vars:
    ansible_connection: local
    ansible_python_interpreter: {python}
    keepalived_manage_package: false
    keepalived_manage_service: false
    keepalived_manage_sysconfig: false
    keepalived_validate: false
    keepalived_config_path: "{out}/{{{{ inventory_hostname }}}}.conf"
  roles: [lvs.cluster.keepalived]
"""


def smoke_inventory(tmp):
    """The smoke scenario's inventory: its group_vars, with one director and one real server."""
    with open(os.path.join(REPO, "molecule", "smoke", "group_vars", "all.yml")) as f:
        group_vars = {"all": yaml.safe_load(f)}
    inv = {"all": {"vars": group_vars["all"], "children": {
        "lvs_directors": {"hosts": {"dir1": {}}}, "lvs_realservers_linux": {"hosts": {"rs1": {}}}}}}
    path = os.path.join(tmp, "hosts.yml")
    with open(path, "w") as f:
        yaml.safe_dump(inv, f)
    return path


def lab_inventory(tmp, name):
    """A copy of inventories/<name> as a user copies it: its hosts.yml, group_vars, host_vars."""
    inv = os.path.join(tmp, name)
    shutil.copytree(os.path.join(REPO, "inventories", name), inv)
    return inv


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    out = {}
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"),
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    for name in ("lab-dr", "lab-nat", "lab-tun", "lab-ipv6", "smoke"):
        tmp = str(tmp_path_factory.mktemp(name))
        inv = smoke_inventory(tmp) if name == "smoke" else lab_inventory(tmp, name)
        play = os.path.join(tmp, "play.yml")
        with open(play, "w") as f:
            f.write(PLAY.format(python=os.path.join(REPO, ".venv", "bin", "python"), out=tmp))
        p = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-playbook"), "-i", inv, play],
                           capture_output=True, text=True, env=env, cwd=REPO, check=False)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        for director in ("dir1", "dir2"):
            path = os.path.join(tmp, director + ".conf")
            if os.path.exists(path):
                out["%s-%s" % (name, director)] = path
    return out


CONFS = sorted(f[:-5] for f in os.listdir(GOLDEN) if f.endswith(".conf"))


def test_every_example_inventory_has_a_golden_file():
    assert CONFS == ["lab-dr-dir1", "lab-dr-dir2", "lab-ipv6-dir1", "lab-ipv6-dir2", "lab-nat-dir1", "lab-nat-dir2",
                     "lab-tun-dir1", "lab-tun-dir2", "smoke-dir1"]


@pytest.mark.parametrize("conf", CONFS)
def test_render_is_byte_identical_to_before(renders, conf):
    with open(renders[conf]) as f:
        text = f.read()
    # the smoke scenario's ansible_managed names the template's absolute path
    text = re.sub(r"\A# Ansible managed: .*/roles/keepalived/", "# Ansible managed: REPO/roles/keepalived/", text)
    with open(os.path.join(GOLDEN, conf + ".conf")) as f:
        assert text == f.read()


@pytest.mark.parametrize("conf", CONFS)
def test_keepalived_t_accepts_the_render(renders, conf):
    if not UNSHARE:
        pytest.skip("keepalived -t needs the private network namespace")
    p = keepalived_t(renders[conf])
    assert p.returncode == 0, p.stderr


INVENTORIES = ("lab-dr", "lab-ipv6", "lab-nat", "lab-tun")


@pytest.mark.parametrize("name", INVENTORIES)
def test_example_inventory_loads_without_warning(name):
    """`ansible-inventory -i inventories/<name>` parses the folder (its hosts.yml) with no
    Ansible warning, and puts the directors and real servers in the groups site.yml reads."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"))
    p = subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-inventory"), "-i",
                        os.path.join("inventories", name), "--list"],
                       capture_output=True, text=True, env=env, cwd=REPO, check=False)
    assert p.returncode == 0, p.stderr
    warnings = [line for line in (p.stdout + p.stderr).splitlines() if "[WARNING]" in line or "Unable to parse" in line]
    assert warnings == []
    inv = json.loads(p.stdout)
    assert inv["lvs_directors"]["hosts"] == ["dir1", "dir2"]
    assert inv["lvs_realservers_linux"]["hosts"] == ["rs1", "rs2"]
    assert "lvs_cluster" in inv["_meta"]["hostvars"]["dir1"]
