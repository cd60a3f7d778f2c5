"""The lab is one package, `lab`: no import cycle, found without any sys.path edit, and
importable in a fresh clone before `make setup` (no .lab/, no venv)."""
import ast
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(REPO, "lab")
# Scripts of the lab that run as programs, never imported: the resident Python of a lab
# host and the programs the client and real servers run.
SCRIPTS = {"lab.zygote", "lab.__main__"}
# The one kind of sys.path edit left: a lab host's own /usr/bin/python3 (started by the
# agent or the lab tests) appends the controller's site-packages *after* the
# distribution's packages, so modules meet the distribution's pyroute2 as on a real
# director, and ansible.module_utils comes from the controller; PYTHONPATH can only put
# directories before them.
HOST_PYTHON_APPENDS = {"lab/zygote.py", "tests/lab/module_runner.py"}


def python_files(*folders):
    """Every .py file (and python script without suffix) under the folders, relative to the repository."""
    for folder in folders:
        for root, dirs, files in os.walk(os.path.join(REPO, folder)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                path = os.path.join(root, name)
                if name.endswith((".py", ".cgi")):
                    yield os.path.relpath(path, REPO)


def module_name(rel):
    """lab/failover/cluster.py -> lab.failover.cluster; lab/failover/__init__.py -> lab.failover."""
    parts = rel[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def lab_imports(rel):
    """The lab modules the file imports (anywhere in it, top level or inside functions)."""
    with open(os.path.join(REPO, rel)) as f:
        tree = ast.parse(f.read(), rel)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name == "lab" or a.name.startswith("lab."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                (node.module == "lab" or node.module.startswith("lab.")):
            for alias in node.names:
                sub = node.module + "." + alias.name
                is_module = os.path.exists(os.path.join(REPO, *sub.split(".")) + ".py") or \
                    os.path.isdir(os.path.join(REPO, *sub.split(".")))
                found.add(sub if is_module else node.module)
    return found


def package_files():
    """The package's modules: lab/**.py but the programs lab hosts run (lab/clients) and
    Ansible's connection plugin (loaded by Ansible from lab/connection_plugins)."""
    return [rel for rel in python_files("lab")
            if rel.endswith(".py") and not rel.startswith(("lab/clients/", "lab/connection_plugins/"))]


def import_graph():
    """{lab module: lab modules it imports}, for every module of the package."""
    return {module_name(rel): lab_imports(rel) for rel in package_files()}


def find_cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, path + [nxt])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [start])
            if cycle:
                return cycle
    return None


def test_the_lab_package_has_no_import_cycle():
    graph = import_graph()
    assert {"lab.cli", "lab.machine", "lab.pid1", "lab.hosts", "lab.agent", "lab.failover.runner"} <= set(graph)
    assert graph["lab.agent"] and graph["lab.failover"]  # the walk sees imports
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def sys_path_edits(rel):
    """Lines of the file that change sys.path (call of a sys.path method, assignment to
    sys.path or an item of it, site.addsitedir)."""
    with open(os.path.join(REPO, rel)) as f:
        tree = ast.parse(f.read(), rel)

    def is_sys_path(node):
        return isinstance(node, ast.Attribute) and node.attr == "path" and \
            isinstance(node.value, ast.Name) and node.value.id == "sys"

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if is_sys_path(node.func.value) or node.func.attr == "addsitedir":
                lines.append(node.lineno)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                if is_sys_path(t) or (isinstance(t, ast.Subscript) and is_sys_path(t.value)):
                    lines.append(node.lineno)
    return sorted(lines)


def test_no_sys_path_edit_in_lab_tests_or_molecule():
    files = [rel for rel in python_files("lab", "tests", "molecule")
             # pip's own bootstrap script, kept as shipped for ansible-test (tests/sanity.sh)
             if rel != "tests/sanity/get_pip.py"]
    assert len(files) > 50
    edits = {rel: sys_path_edits(rel) for rel in files}
    assert {rel for rel, lines in edits.items() if lines} == HOST_PYTHON_APPENDS, edits


def test_the_sys_path_walk_sees_every_kind_of_edit(tmp_path):
    src = ("import sys, site\nsys.path.insert(0, 'a')\nsys.path += ['b']\nsys.path[:0] = ['c']\n"
           "site.addsitedir('d')\nsys.path = []\nprint(sys.path)\n")
    (tmp_path / "edits.py").write_text(src)
    rel = os.path.relpath(str(tmp_path / "edits.py"), REPO)
    assert sys_path_edits(rel) == [2, 3, 4, 5, 6]


def test_the_package_imports_in_a_fresh_clone_before_setup(tmp_path):
    """python3 -c 'import lab...' from a copy of the checkout without .lab/ and .venv: the
    Debian python3, no PYTHONPATH; importing reads no inventory, imports no collection code."""
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    clone = tmp_path / "clone"
    for rel in files:
        if rel and os.path.isfile(os.path.join(REPO, rel)) and not rel.startswith((".lab/", ".venv")):
            os.makedirs(os.path.dirname(str(clone / rel)), exist_ok=True)
            shutil.copy2(os.path.join(REPO, rel), str(clone / rel))
    assert not (clone / ".lab").exists() and not (clone / ".venv").exists()
    modules = sorted(module_name(rel) for rel in package_files() if module_name(rel) not in SCRIPTS)
    code = ("import sys\nimport %s\n"
            "assert not [m for m in sys.modules if m.startswith(('ansible', 'yaml', 'testinfra'))], "
            "sorted(m for m in sys.modules if m.startswith(('ansible', 'yaml', 'testinfra')))\n"
            % ", ".join(m for m in modules if m != "lab.testinfra_backend"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    res = subprocess.run([python, "-c", code], cwd=str(clone), env=env, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert "lab.failover.survival" in modules and "lab.cli" in modules
    res = subprocess.run([python, "-m", "lab", "--help"], cwd=str(clone), env=env, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0 and "lvslab up TOPOLOGY" in res.stdout, res.stderr


@pytest.mark.parametrize("name", ["dr", "failover", "nat", "tun", "smoke", "ipv6"])
def test_molecule_scenarios_keep_no_topology_or_platforms(name):
    """Each scenario's hosts come from lab/topologies/ (its name or LVSLAB_TOPOLOGY) through
    the lab's inventory: no topology copy, no platform list."""
    import yaml
    scenario = os.path.join(REPO, "molecule", name)
    assert not os.path.exists(os.path.join(scenario, "topology.yml"))
    with open(os.path.join(scenario, "molecule.yml")) as f:
        config = yaml.safe_load(f)
    assert "platforms" not in config
    assert config["provisioner"]["inventory"]["links"]["hosts"] == "${LVSLAB_INVENTORY}"
    topology = (config["provisioner"].get("env") or {}).get("LVSLAB_TOPOLOGY", name)
    assert os.path.exists(os.path.join(REPO, "lab", "topologies", topology + ".yml"))


def test_every_failover_name_the_tests_use_exists():
    """Each `<alias>.name` that a test, scenario or benchmark reads from lab.failover is one of its names
    (the split into cluster/clients/faults/runner/survival must keep what the callers use)."""
    import importlib
    import re
    failover = importlib.import_module("lab.failover")
    missing = []
    for folder in ("tests", "molecule", "lab"):
        for path, _dirs, files in os.walk(os.path.join(REPO, folder)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                with open(os.path.join(path, name), encoding="utf-8") as f:
                    text = f.read()
                alias = re.search(r"from lab import failover as (\w+)|import lab\.failover as (\w+)", text)
                if not alias:
                    continue
                alias = alias.group(1) or alias.group(2)
                missing += ["%s: %s.%s" % (os.path.relpath(os.path.join(path, name), REPO), alias, attr)
                            for attr in sorted(set(re.findall(r"\b%s\.(\w+)" % alias, text)))
                            if not hasattr(failover, attr)]
    assert not missing, missing
