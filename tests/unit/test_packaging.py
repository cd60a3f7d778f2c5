"""The collection as Galaxy ships it: build the tarball, install it into a clean
path (no network, --no-deps), read every module's and role's documentation
from the installed copy with ansible-doc, lint it with antsibull-docs, check
that the committed reference pages (docs/reference, docs/build.sh) are what
antsibull-docs makes of the installed copy, and make the execution
environment's build context from the tarball."""
import difflib
import glob
import json
import os
import re
import shutil
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
FILTERS = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(REPO, "plugins", "filter", "*.yml")))
REFERENCE = os.path.join(REPO, "docs", "reference")

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


@pytest.fixture(scope="module")
def docs_lint_messages(installed):
    """antsibull-docs' collection linter on the installed copy: schema and markup of every
    plugin's and role's documentation, and rstcheck on the docsite RST made from it."""
    root = os.path.join(installed["path"], "ansible_collections", "lvs", "cluster")
    out = subprocess.run([os.path.join(BIN, "antsibull-docs"), "lint-collection-docs", "--plugin-docs",
                          "--message-format", "json", root],
                         cwd=installed["cwd"], capture_output=True, check=False, text=True, timeout=300,
                         # antsibull-docs runs ansible-doc and ansible-galaxy by name
                         env=dict(installed["env"], PATH=BIN + os.pathsep + os.environ.get("PATH", "")))
    try:
        messages = json.loads(out.stdout)["messages"]
    except ValueError:
        pytest.fail("antsibull-docs lint-collection-docs: no JSON report (exit %d)\n%s%s"
                    % (out.returncode, out.stdout, out.stderr))
    assert messages or out.returncode == 0, out.stderr
    return [dict(m, path=os.path.relpath(m["path"], root)) for m in messages]


def test_every_filter_has_documentation():
    import importlib
    names = []
    for path in glob.glob(os.path.join(REPO, "plugins", "filter", "*.py")):
        plugin = importlib.import_module("ansible_collections.lvs.cluster.plugins.filter."
                                         + os.path.basename(path)[:-3])
        names += plugin.FilterModule().filters()
    assert sorted(names) == FILTERS


def test_docs_lint(docs_lint_messages):
    problems = ["%s:%s: %s" % (m["path"], m["row"], m["message"]) for m in docs_lint_messages]
    assert not problems, "\n".join(problems)


def test_reference_pages_are_up_to_date(installed, tmp_path):
    generated_dir = tmp_path / "reference"
    _run([os.path.join(REPO, "docs", "build.sh"), "reference", str(generated_dir)],
         cwd=installed["cwd"], env=dict(installed["env"], VENV=os.path.dirname(BIN)))

    def pages(folder):
        out = {}
        for name in sorted(os.listdir(str(folder))):
            with open(os.path.join(str(folder), name), encoding="utf-8") as f:
                out[name] = f.read()
        return out

    generated = pages(generated_dir)
    committed = pages(REFERENCE) if os.path.isdir(REFERENCE) else {}
    hint = "docs/reference/ is not what the code documents: run `make docs` and commit docs/reference/"
    assert sorted(committed) == sorted(generated), hint
    stale = [name for name in generated if generated[name] != committed[name]]
    if stale:
        diff = difflib.unified_diff(committed[stale[0]].splitlines(), generated[stale[0]].splitlines(),
                                    "docs/reference/" + stale[0], "generated", lineterm="", n=1)
        pytest.fail("%s\nstale: %s\n%s" % (hint, ", ".join(stale), "\n".join(list(diff)[:40])))


def test_reference_has_a_page_for_everything_and_readme_links_it():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    pages = (["%s_module.rst" % m for m in MODULES] + ["%s_filter.rst" % f for f in FILTERS]
             + ["%s_role.rst" % r for r in ROLES] + ["index.rst"])
    for page in pages:
        assert os.path.isfile(os.path.join(REFERENCE, page)), page
        assert "(docs/reference/%s)" % page in readme, "README.md does not link docs/reference/" + page


@pytest.mark.parametrize("page", sorted(os.listdir(REFERENCE)) if os.path.isdir(REFERENCE) else [])
def test_reference_page_renders_without_errors(page):
    """As a forge renders RST (docutils, raw HTML allowed): no error-level problems."""
    docutils_core = pytest.importorskip("docutils.core")
    with open(os.path.join(REFERENCE, page), encoding="utf-8") as f:
        source = f.read()
    docutils_core.publish_doctree(source, source_path=page, settings_overrides={
        "halt_level": 3, "report_level": 4, "raw_enabled": True, "file_insertion_enabled": False})


def test_execution_environment_build_context(installed, tmp_path):
    """`ansible-builder create` on execution-environment.yml (no container runtime needed for
    that), then what the Containerfile's galaxy and builder stages would run, here: the
    collection installed from the context's requirements.yml, and the context's own
    introspect.py reading the installed collection's dependencies (meta/execution-environment.yml)."""
    env = dict(installed["env"], PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    shutil.copy(os.path.join(REPO, "execution-environment.yml"), str(tmp_path))
    # where `make ee` puts the tarball, relative to the definition
    (tmp_path / ".lab" / "ee").mkdir(parents=True)
    shutil.copy(installed["tarball"], str(tmp_path / ".lab" / "ee" / "lvs-cluster.tar.gz"))
    _run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context",
          "--output-filename", "Containerfile"], cwd=str(tmp_path), env=env)

    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "introspect.py introspect --write-bindep=" in containerfile
    assert "/output/scripts/install-from-bindep" in containerfile
    build = context / "_build"
    with tarfile.open(str(build / "collections" / "lvs-cluster.tar.gz")) as tar:
        assert "meta/execution-environment.yml" in tar.getnames()

    # galaxy stage: COPY _build /build; WORKDIR /build; ansible-galaxy collection install -r requirements.yml
    # (into an empty path that is the only one configured: else "already installed" skips it)
    collections = tmp_path / "collections"
    out = _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps",
                "-r", "requirements.yml", "--collections-path", str(collections)],
               cwd=str(build), env=dict(env, ANSIBLE_COLLECTIONS_PATH=str(collections)))
    assert (collections / "ansible_collections" / "lvs" / "cluster" / "MANIFEST.json").is_file(), out
    # builder stage: introspect.py writes what pip and bindep install into the image
    _run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect", str(collections),
          "--write-pip", str(tmp_path / "pip.txt"), "--write-bindep", str(tmp_path / "bindep.txt")],
         cwd=str(tmp_path), env=env)
    pip = (tmp_path / "pip.txt").read_text()
    bindep = (tmp_path / "bindep.txt").read_text()
    for requirement in ("pyroute2>=0.7.2", "netaddr>=0.8.0"):
        assert re.search(r"^%s +# from collection lvs\.cluster$" % re.escape(requirement), pip, re.M), pip
    for package in ("keepalived", "ipvsadm"):
        assert re.search(r"^%s \[[^]]*platform:rpm[^]]*\] +# from collection lvs\.cluster$" % package, bindep, re.M), bindep
