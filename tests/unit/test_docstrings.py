"""Every public function, class and public method of plugins/module_utils and of the lab
package (lab/*.py, lab/failover/*.py) has a docstring that says its contract.

Read with the ast module, nothing imported. Checked: the top-level functions and classes
whose name does not start with "_", and the methods not starting with "_" of every
top-level class. Nested functions are not checked.
"""
import ast
import glob
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PATTERNS = ("plugins/module_utils/**/*.py", "lab/*.py", "lab/failover/*.py")
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def sources():
    """The repo-relative paths of the checked sources, sorted."""
    paths = set()
    for pattern in PATTERNS:
        paths.update(glob.glob(os.path.join(ROOT, pattern), recursive=True))
    return sorted(os.path.relpath(p, ROOT) for p in paths)


def undocumented(path):
    """'path: name' (or 'path: Class.method') of each public definition of path without a docstring."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    out = []
    for node in tree.body:
        if not isinstance(node, FUNCS + (ast.ClassDef,)):
            continue
        if not node.name.startswith("_") and not ast.get_docstring(node):
            out.append("%s:%d: %s" % (path, node.lineno, node.name))
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, FUNCS) and not member.name.startswith("_") and not ast.get_docstring(member):
                    out.append("%s:%d: %s.%s" % (path, member.lineno, node.name, member.name))
    return out


def test_sources_found():
    paths = sources()
    assert "plugins/module_utils/genl.py" in paths
    assert "plugins/module_utils/host/vip.py" in paths
    assert "lab/client.py" in paths
    assert "lab/failover/runner.py" in paths


def test_public_definitions_have_docstrings():
    missing = [entry for path in sources() for entry in undocumented(path)]
    assert not missing, "%d public definitions without a docstring:\n%s" % (len(missing), "\n".join(missing))
