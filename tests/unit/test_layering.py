"""The layers of plugins/module_utils (issue 23), read from the sources' imports:

* the vocabulary (fields) and the models (pure: validation, planning, formatting) import
  neither Ansible nor a netlink library (pyroute2, socket: the netlink layers' job);
* no module imports another's private (_name) names;
* the generic netlink layer is one: ipvs_netlink and fou_netlink both build on genl.
"""
import ast
import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLUGINS = os.path.join(ROOT, "plugins")
UTILS = os.path.join(PLUGINS, "module_utils")
# host/policy and host/advmss build their steps with routing.py (validation and pyroute2 in one
# file): not listed until routing is split.
PURE = ("fields", "cluster_spec", "cluster_validate", "cluster_docs", "cluster_model", "ipvs_model", "ipvs_checks",
        "host/vip", "host/gue", "host/arp")
FORBIDDEN = ("ansible.", "ansible", "pyroute2", "socket")


def sources():
    for top in ("module_utils", "modules", "filter"):
        for dirpath, _dirs, files in os.walk(os.path.join(PLUGINS, top)):
            for name in files:
                if name.endswith(".py"):
                    yield os.path.join(dirpath, name)


def imports(path):
    """(module, [names]) of every import of a source, nested ones included."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [alias.name for alias in node.names]


def local_imports(path):
    """The collection's own module_utils a source imports ("from ...module_utils import x" names x)."""
    base = "ansible_collections.lvs.cluster.plugins.module_utils"
    out = []
    for module, names in imports(path):
        if module == base or module == base + ".host":
            out += [module + "." + n for n in names]
        elif module.startswith(base):
            out.append(module)
    return out


@pytest.mark.parametrize("name", PURE)
def test_vocabulary_and_models_import_neither_ansible_nor_netlink(name):
    seen, todo = set(), [os.path.join(UTILS, name + ".py")]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module, _names in imports(path):
            top = module.split(".")[0]
            assert top not in ("ansible", "pyroute2", "socket"), "%s imports %s" % (os.path.relpath(path, ROOT), module)
        for module in local_imports(path):
            assert not module.endswith(("ipvs_netlink", "fou_netlink", "genl", "routing")), \
                "%s (a model) imports the netlink layer %s" % (os.path.relpath(path, ROOT), module)
            rest = module.split("plugins.module_utils", 1)[1].strip(".").replace(".", "/")
            candidate = os.path.join(UTILS, rest + ".py") if rest else None
            if candidate and os.path.exists(candidate):
                todo.append(candidate)
    assert len(seen) >= (2 if name != "fields" else 1)


def test_no_module_imports_another_modules_private_names():
    found = []
    for path in sources():
        for module, names in imports(path):
            if not module.startswith("ansible_collections.lvs.cluster"):
                continue
            found += ["%s: from %s import %s" % (os.path.relpath(path, ROOT), module, n)
                      for n in names if n.startswith("_") and not n.startswith("__")]
    assert found == []


def test_one_generic_netlink_layer():
    for name in ("ipvs_netlink", "fou_netlink"):
        mods = [m for m, _n in imports(os.path.join(UTILS, name + ".py"))]
        assert "ansible_collections.lvs.cluster.plugins.module_utils.genl" in mods, name
    assert "ansible_collections.lvs.cluster.plugins.module_utils.ipvs_netlink" not in \
        [m for m, _n in imports(os.path.join(UTILS, "fou_netlink.py"))]
    # the socket is genl's alone
    for name in ("ipvs_netlink", "fou_netlink"):
        with open(os.path.join(UTILS, name + ".py")) as f:
            assert "socket.socket(" not in f.read(), name
