"""Module lvs.cluster.win_lvs_realserver: what can be checked without Windows.

There is no Windows host and no PowerShell (pwsh) here, so the module has never run.
These tests parse every PowerShell file of the collection with tree-sitter's PowerShell
grammar (a syntax error fails the build; a broken copy is shown to fail), the C# the
module compiles on the host with tree-sitter's C# grammar, read the
module's Ansible.Basic argument spec out of the parse tree and compare it with the
documentation stub (win_lvs_realserver.py), and check that the role
realserver_windows calls the module with options the spec has. `ansible-doc` on the
installed collection is in test_packaging.py (every module).
"""
import ast
import glob
import json
import os
import re
import subprocess
import sys

import pytest
import tree_sitter
import tree_sitter_c_sharp
import tree_sitter_powershell
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODULE_PS1 = os.path.join(REPO, "plugins", "modules", "win_lvs_realserver.ps1")
MODULE_PY = os.path.join(REPO, "plugins", "modules", "win_lvs_realserver.py")
ROLE_TASKS = os.path.join(REPO, "roles", "realserver_windows", "tasks", "main.yml")
FQCN = "lvs.cluster.win_lvs_realserver"

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
CSHARP = tree_sitter.Parser(tree_sitter.Language(tree_sitter_c_sharp.language()))


def _ps_files():
    """Every PowerShell file the collection ships or tests with."""
    found = set()
    for pattern in ("plugins/**/*.ps1", "plugins/**/*.psm1", "roles/**/*.ps1", "roles/**/*.psm1",
                    "tests/windows/**/*.ps1"):
        found.update(glob.glob(os.path.join(REPO, pattern), recursive=True))
    return sorted(found)


def _parse(source):
    return PARSER.parse(source if isinstance(source, bytes) else source.encode("utf-8"))


def syntax_errors(source):
    """(line, column, text) of every ERROR or MISSING node; empty for a clean parse."""
    data = source if isinstance(source, bytes) else source.encode("utf-8")
    tree = _parse(data)
    errors = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            text = data[node.start_byte:node.end_byte].decode("utf-8", "replace")[:60]
            errors.append((node.start_point[0] + 1, node.start_point[1] + 1,
                           ("MISSING " + node.type) if node.is_missing else text))
        stack.extend(node.children)
    assert bool(errors) == tree.root_node.has_error
    return sorted(errors)


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ------------------------------------------------------------ syntax

def test_there_is_powershell_to_parse():
    assert MODULE_PS1 in _ps_files()


@pytest.mark.parametrize("path", _ps_files(), ids=lambda p: os.path.relpath(p, REPO))
def test_powershell_parses(path):
    errors = syntax_errors(_read(path))
    assert not errors, "%s does not parse:\n%s" % (
        path, "\n".join("  line %d col %d: %s" % e for e in errors))


def _inline_scripts():
    """`script:` of every ansible.windows.win_powershell task in the roles and tests/windows."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            call = node.get("ansible.windows.win_powershell")
            if isinstance(call, dict) and isinstance(call.get("script"), str):
                found.append(("%s: %s" % (where, node.get("name", "?")), call["script"]))
            for value in node.values():
                walk(value, where)
        elif isinstance(node, list):
            for value in node:
                walk(value, where)

    paths = glob.glob(os.path.join(REPO, "roles", "**", "*.yml"), recursive=True)
    paths += glob.glob(os.path.join(REPO, "tests", "windows", "**", "*.yml"), recursive=True)
    for path in sorted(paths):
        with open(path, encoding="utf-8") as f:
            walk(yaml.safe_load(f), os.path.relpath(path, REPO))
    return found


INLINE = _inline_scripts()


@pytest.mark.parametrize("where, script", INLINE, ids=[entry[0] for entry in INLINE])
def test_inline_powershell_parses(where, script):
    errors = syntax_errors(script)
    assert not errors, "%s does not parse:\n%s" % (where, "\n".join("  line %d col %d: %s" % e for e in errors))


# A broken copy of the module must fail the parse check above: one typo each.
BREAKAGES = {
    "unclosed if block": ("if ($raw) {", "if ($raw) "),
    "unclosed parenthesis": ("if ($raw) {", "if ($raw {"),
    "unterminated here-string": ("\n'@\n", "\n"),
    "unbalanced hashtable": ("default = 'present' }", "default = 'present'"),
    "missing catch block body": ("catch {", "catch "),
}


@pytest.mark.parametrize("name", sorted(BREAKAGES))
def test_broken_copy_fails_to_parse(name, tmp_path):
    good, bad = BREAKAGES[name]
    source = _read(MODULE_PS1)
    assert source.count(good) >= 1, "breakage %r no longer applies to the module" % name
    broken = tmp_path / "broken.ps1"
    broken.write_text(source.replace(good, bad, 1), encoding="utf-8")
    assert syntax_errors(broken.read_text(encoding="utf-8")), "tree-sitter accepted a broken copy (%s)" % name


# C# compiled on the host at run time (Add-CSharpType): a here-string with a namespace in it.
HERE_STRING = re.compile(r"^\$(\w+) = @'\n(.*?)\n'@$", re.S | re.M)


def _csharp_sources():
    found = []
    for path in _ps_files():
        for name, code in HERE_STRING.findall(_read(path)):
            if re.search(r"^using System", code, re.M) and "namespace " in code:
                found.append(("%s: $%s" % (os.path.relpath(path, REPO), name), code))
    return found


CSHARP_SOURCES = _csharp_sources()


def csharp_errors(code):
    tree = CSHARP.parse(code.encode("utf-8"))
    errors, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            errors.append((node.start_point[0] + 1, node.start_point[1] + 1, node.type))
        stack.extend(node.children)
    return sorted(errors)


def test_module_has_csharp():
    assert [w for w, _code in CSHARP_SOURCES] == ["plugins/modules/win_lvs_realserver.ps1: $setupApiSource"]


@pytest.mark.parametrize("where, code", CSHARP_SOURCES, ids=[entry[0] for entry in CSHARP_SOURCES])
def test_csharp_parses(where, code):
    errors = csharp_errors(code)
    assert not errors, "%s: C# does not parse: %s" % (where, errors)


@pytest.mark.parametrize("good, bad", [
    ("instanceId = sb.ToString();", "instanceId = sb.ToString()"),
    ("public static void Remove(string classGuid, string instanceId)", "public static void Remove(string classGuid, string instanceId"),
])
def test_broken_csharp_fails_to_parse(good, bad):
    code = dict(CSHARP_SOURCES)["plugins/modules/win_lvs_realserver.ps1: $setupApiSource"]
    assert good in code
    assert csharp_errors(code.replace(good, bad, 1))


# ------------------------------------------------------------ the argument spec, read from the parse tree

PASS_THROUGH = {
    "pipeline", "pipeline_chain", "logical_expression", "bitwise_expression", "comparison_expression",
    "additive_expression", "multiplicative_expression", "format_expression", "range_expression",
    "array_literal_expression", "unary_expression", "parenthesized_expression", "statement_list",
    "integer_literal",
}


class NotALiteral(ValueError):
    pass


def literal(node, data):
    """Value of a PowerShell literal (hashtable, array, string, number, $true/$false/$null),
    as PowerShell builds it; anything computed raises NotALiteral."""
    text = data[node.start_byte:node.end_byte].decode("utf-8")
    named = node.named_children
    kind = node.type
    if kind == "hash_literal_expression":
        body = [c for c in named if c.type == "hash_literal_body"]
        out = {}
        for entry in (body[0].named_children if body else []):
            if entry.type != "hash_entry":
                raise NotALiteral(entry.type)
            key_node, value_node = entry.named_children[0], entry.named_children[-1]
            key = data[key_node.start_byte:key_node.end_byte].decode("utf-8").strip("'\"")
            out[key] = literal(value_node, data)
        return out
    if kind == "array_literal_expression" and len(named) > 1:  # a, b, c
        return [literal(c, data) for c in named]
    if kind == "array_expression":  # @( statements ): each statement's output, arrays unrolled once
        out = []
        for statements in named:
            for statement in statements.named_children:
                value = literal(statement, data)
                out.extend(value if isinstance(value, list) else [value])
        return out
    if kind == "expression_with_unary_operator" and text.startswith(","):  # ,x: array of one
        return [literal(named[-1], data)]
    if kind == "string_literal":
        if text.startswith("'"):
            return text[1:-1].replace("''", "'")
        if text.startswith('"') and not re.search(r"[$`]", text):
            return text[1:-1]
        raise NotALiteral(text)
    if kind == "variable":
        values = {"$true": True, "$false": False, "$null": None}
        if text.lower() in values:
            return values[text.lower()]
        raise NotALiteral(text)
    if kind in ("decimal_integer_literal",):
        return int(text)
    if kind in PASS_THROUGH and len(named) == 1:
        return literal(named[0], data)
    raise NotALiteral("%s: %s" % (kind, text[:60]))


def assignments(source, name):
    """Values of `$name = <literal>` statements at any depth."""
    data = source.encode("utf-8")
    found = []
    stack = [_parse(data).root_node]
    while stack:
        node = stack.pop()
        if node.type == "assignment_expression":
            left = node.named_children[0]
            if data[left.start_byte:left.end_byte].decode("utf-8").strip().lower() == "$" + name.lower():
                found.append(literal(node.named_children[-1], data))
        stack.extend(node.children)
    return found


@pytest.fixture(scope="module")
def spec():
    found = assignments(_read(MODULE_PS1), "spec")
    assert len(found) == 1, "expected one `$spec = @{...}` literal in the module"
    return found[0]


@pytest.fixture(scope="module")
def docs():
    tree = ast.parse(_read(MODULE_PY))
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            values[node.targets[0].id] = yaml.safe_load(node.value.value)
    assert set(values) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, "the .py is a documentation stub only"
    return values


def test_literal_reader():
    source = """$spec = @{ a = 'x''y'; b = "z"; c = 1, 'two'; d = @(); e = @(, @('p', 'q'));
                          f = @('p', 'q'); g = $true; h = $null; i = @{ j = 3 } }"""
    assert assignments(source, "spec") == [{"a": "x'y", "b": "z", "c": [1, "two"], "d": [],
                                            "e": [["p", "q"]], "f": ["p", "q"], "g": True,
                                            "h": None, "i": {"j": 3}}]
    with pytest.raises(NotALiteral):
        assignments('$spec = @{ a = "$x" }', "spec")
    with pytest.raises(NotALiteral):
        assignments("$spec = @{ a = Get-Thing }", "spec")


def test_module_is_an_ansible_basic_module():
    source = _read(MODULE_PS1)
    assert source.startswith("#!powershell\n")
    assert re.search(r"(?im)^#AnsibleRequires -CSharpUtil Ansible\.Basic\s*$", source)
    assert "[Ansible.Basic.AnsibleModule]::Create($args, $spec)" in source
    assert "GNU General Public License" in source
    # Ansible.Basic exits by throwing through PowerShell: inside the main try block errors are
    # thrown and turned into one FailJson by its catch, never FailJson'd where a catch sees them
    main = source[source.index("# ------------------------------------------------------------ main"):]
    assert main.count("FailJson(") == 1


def spec_mismatches(spec, documented):
    """Where an Ansible.Basic spec and the DOCUMENTATION options disagree (what validate-modules
    compares when pwsh is installed)."""
    problems = []
    options = spec["options"]
    if sorted(options) != sorted(documented):
        problems.append("options: spec %s, documented %s" % (sorted(options), sorted(documented)))
    for name in sorted(set(options) & set(documented)):
        arg, doc = options[name], documented[name]
        for key, fallback in (("type", "str"), ("elements", None), ("choices", None), ("required", False),
                              ("default", None), ("aliases", []), ("no_log", False)):
            if arg.get(key, fallback) != doc.get(key, fallback):
                problems.append("%s.%s: spec %r, documented %r" % (name, key, arg.get(key, fallback),
                                                                   doc.get(key, fallback)))
        if not doc.get("description"):
            problems.append("%s: no description" % name)
        if "choices" in arg and "default" in arg and arg["default"] not in arg["choices"]:
            problems.append("%s: default not among the choices" % name)
    return problems


def test_spec_options_match_documentation(spec, docs):
    assert spec_mismatches(spec, docs["DOCUMENTATION"]["options"]) == []


@pytest.mark.parametrize("good, bad", [
    ("adapter_name = @{ type = 'str'; default = 'lvs-loopback' }", "adapter_name = @{ type = 'str' }"),
    ("choices = 'present', 'absent'", "choices = 'present', 'absent', 'gone'"),
    ("lan_weak_host = @{ type = 'bool'", "lan_weak_host = @{ type = 'str'"),
    ("elements = 'str'", "elements = 'int'"),
    ("disable_netbios = @{", "netbios = @{"),
])
def test_spec_check_catches_a_drift(good, bad, docs):
    source = _read(MODULE_PS1)
    assert good in source
    mutated = assignments(source.replace(good, bad, 1), "spec")[0]
    assert spec_mismatches(mutated, docs["DOCUMENTATION"]["options"])


def test_spec_checks_and_check_mode(spec, docs):
    assert spec["supports_check_mode"] is True
    notes = " ".join(docs["DOCUMENTATION"]["notes"])
    assert "check mode" in notes and "diff mode" in notes
    for group in ("mutually_exclusive", "required_if", "required_one_of", "required_together",
                  "required_by"):
        for entry in spec.get(group, []):
            names = [n for n in (entry if isinstance(entry, list) else [entry]) if isinstance(n, str)]
            assert set(names) <= set(spec["options"]) | {"present", "absent"}, (group, entry)
    assert spec["mutually_exclusive"] == [["lan_interface", "lan_address"]]


def test_every_option_is_used(spec):
    source = _read(MODULE_PS1)
    used = set(re.findall(r"\$module\.Params\.(\w+)", source))
    assert used == set(spec["options"])


def test_documented_return_values_are_set(docs):
    source = _read(MODULE_PS1)
    set_keys = set(re.findall(r"\$module\.Result\.(\w+)\s*=", source)) - {"changed"}
    assert set_keys == set(docs["RETURN"])


def test_examples_use_documented_options(docs):
    options = set(docs["DOCUMENTATION"]["options"])
    examples = docs["EXAMPLES"]
    assert examples
    for task in examples:
        assert set(task[FQCN]) <= options, task["name"]


# ------------------------------------------------------------ the role calls the module

def test_role_calls_the_module(spec):
    with open(ROLE_TASKS, encoding="utf-8") as f:
        tasks = yaml.safe_load(f)
    calls = [t for t in tasks if FQCN in t]
    assert len(calls) == 1, "roles/realserver_windows/tasks/main.yml calls %s once" % FQCN
    assert set(calls[0][FQCN]) <= set(spec["options"])
    assert not any("ansible.windows.win_powershell" in t for t in tasks)
    # lan_interface and lan_address are mutually exclusive: the role omits the one it does not use
    for name in ("lan_interface", "lan_address"):
        assert "else omit" in calls[0][FQCN][name], name


# ------------------------------------------------------------ ansible-test's validate-modules

def _validate_modules_script():
    import ansible_test  # from ansible-core, in the venv
    return os.path.join(os.path.dirname(ansible_test.__file__), "_util", "controller", "sanity",
                        "validate-modules", "validate.py")


VALIDATE_MODULES = _validate_modules_script()

# validate-modules reads a PowerShell module's argument spec by running it under pwsh
# (ps_argspec.ps1), so without pwsh `ansible-test sanity --test validate-modules` cannot check
# the .ps1 (tests/sanity/ignore-2.19.txt skips it). This stand-in for that one pwsh call prints
# the $spec literal read from the parse tree, so validate-modules' own comparison of the spec
# with the documentation stub runs here.
PWSH_STANDIN = '''#!{python}
import importlib.util, json, sys
_spec = importlib.util.spec_from_file_location("test_win_lvs_realserver", {test_file!r})
_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tests)
assignments = _tests.assignments
if len(sys.argv) != 3 or not sys.argv[1].endswith("ps_argspec.ps1"):
    sys.exit("this pwsh only stands in for validate-modules' ps_argspec.ps1")
with open(json.loads(sys.argv[2])["module_path"], encoding="utf-8") as f:
    print(json.dumps(assignments(f.read(), "spec")[0]))
'''


def _validate_modules(tmp_path, ps1_source):
    root = tmp_path / "ansible_collections" / "lvs" / "cluster"
    (root / "plugins" / "modules").mkdir(parents=True)
    (root / "meta").mkdir()
    (root / "meta" / "runtime.yml").write_text(_read(os.path.join(REPO, "meta", "runtime.yml")))
    (root / "plugins" / "modules" / "win_lvs_realserver.ps1").write_text(ps1_source, encoding="utf-8")
    (root / "plugins" / "modules" / "win_lvs_realserver.py").write_text(_read(MODULE_PY), encoding="utf-8")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "pwsh").write_text(PWSH_STANDIN.format(python=sys.executable, test_file=os.path.abspath(__file__)))
    (bindir / "pwsh").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(PATH=str(bindir) + os.pathsep + env.get("PATH", ""),
               ANSIBLE_COLLECTIONS_PATH=str(tmp_path))
    out = subprocess.run(
        [sys.executable, VALIDATE_MODULES, "--format", "json", "--arg-spec",
         "--collection", "ansible_collections/lvs/cluster", "--collection-version", "0.1.0",
         "plugins/modules/win_lvs_realserver.ps1", "plugins/modules/win_lvs_realserver.py"],
        cwd=str(root), env=env, capture_output=True, check=False, text=True, timeout=300)
    assert out.returncode in (0, 3) and not out.stderr.strip(), out.stdout + out.stderr
    return json.loads(out.stdout)


def test_validate_modules_accepts_the_module(tmp_path):
    if not os.path.exists(VALIDATE_MODULES):
        pytest.fail("ansible-test's validate-modules not found at %s" % VALIDATE_MODULES)
    assert _validate_modules(tmp_path, _read(MODULE_PS1)) == {}


def test_validate_modules_catches_a_drift(tmp_path):
    source = _read(MODULE_PS1).replace("default = 'lvs-loopback'", "default = 'lvs-loop'", 1)
    report = _validate_modules(tmp_path, source)
    codes = [e["code"] for e in report["plugins/modules/win_lvs_realserver.ps1"]["errors"]]
    assert codes == ["doc-default-does-not-match-spec"]
