"""The collection as Galaxy ships it: build the tarball, install it into a clean
path (no network, --no-deps), and read every module's and role's documentation
from the installed copy with ansible-doc."""
import glob
import json
import os
import subprocess
import sys
import tarfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))
                 if not os.path.basename(p).startswith("_"))
ROLES = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
               for p in glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml")))

pytestmark = pytest.mark.skipif(
    not os.path.exists(os.path.join(REPO, "galaxy.yml")) or not os.access(os.path.join(BIN, "ansible-galaxy"), os.X_OK),
    reason="needs the source tree (galaxy.yml) and ansible-galaxy next to the Python running the tests")


def _env(collections_path, config):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_CONFIG=config,
               ANSIBLE_NOCOLOR="1", ANSIBLE_GALAXY_SERVER_LIST="", ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1")
    return env


def _run(cmd, cwd, env, timeout=300):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=False, text=True, timeout=timeout)
    assert out.returncode == 0, "%s\n%s%s" % (" ".join(cmd), out.stdout, out.stderr)
    return out.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    build = tmp_path_factory.mktemp("build")
    dest = tmp_path_factory.mktemp("installed")
    config = build / "ansible.cfg"  # empty: none of the repository's settings
    config.write_text("")
    env = _env(str(dest), str(config))
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(build), REPO],
         cwd=str(build), env=env)
    tarballs = glob.glob(os.path.join(str(build), "lvs-cluster-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--no-deps", "--offline",
          "-p", str(dest), tarballs[0]], cwd=str(build), env=env)
    return {"tarball": tarballs[0], "path": str(dest), "env": env, "cwd": str(build)}


def test_tarball_has_no_development_files(installed):
    with tarfile.open(installed["tarball"]) as tar:
        names = tar.getnames()
    top = {n.split("/")[0] for n in names}
    assert {"plugins", "roles", "meta", "playbooks", "MANIFEST.json", "FILES.json"} <= top
    for excluded in (".lab", ".venv", ".git", "lab", "molecule", ".ci", ".config"):
        assert excluded not in top, excluded
    assert not [n for n in names if n.startswith(("tests/lab/", "tests/bench/")) or "__pycache__" in n
                or n.endswith((".pyc", ".tar.gz"))]
    assert "meta/execution-environment.yml" in names
    assert {"requirements.txt", "bindep.txt"} <= top


def test_installed_where_expected(installed):
    root = os.path.join(installed["path"], "ansible_collections", "lvs", "cluster")
    with open(os.path.join(root, "MANIFEST.json")) as f:
        info = json.load(f)["collection_info"]
    assert (info["namespace"], info["name"]) == ("lvs", "cluster")
    assert "community.general" in info["dependencies"]
    assert os.path.exists(os.path.join(root, "plugins", "modules", "ipvs_service.py"))


def test_ipvs_service_doc_renders(installed):
    out = _run([os.path.join(BIN, "ansible-doc"), "-t", "module", "lvs.cluster.ipvs_service"],
               cwd=installed["cwd"], env=installed["env"])
    assert "lvs.cluster.ipvs_service" in out
    assert installed["path"] in out  # read from the installed copy
    assert "OPTIONS" in out and "EXAMPLES" in out


@pytest.mark.parametrize("module", MODULES)
def test_module_doc_renders(installed, module):
    out = _run([os.path.join(BIN, "ansible-doc"), "-t", "module", "lvs.cluster." + module],
               cwd=installed["cwd"], env=installed["env"])
    assert "lvs.cluster." + module in out and "OPTIONS" in out


@pytest.mark.parametrize("role", ROLES)
def test_role_argument_spec_renders(installed, role):
    out = _run([os.path.join(BIN, "ansible-doc"), "-t", "role", "lvs.cluster." + role],
               cwd=installed["cwd"], env=installed["env"])
    assert "lvs.cluster." + role in out and "ENTRY POINT" in out
