"""What users read speaks of their cluster, not of the project's history.

Module documentation (DOCUMENTATION, EXAMPLES, RETURN), filter documentation,
role argument specs and READMEs, playbooks, the example inventories, README.md and
docs/*.md must not refer to the project's seeds or issues ("seed 001", "issue 6",
"the seed recipes"), and no `version_added` may be later than the collection's version
in galaxy.yml.
"""
import ast
import glob
import os
import re

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# "seed" in any form, and "issue" followed by a number ("issue 6", "issue #6", "issues 6-7").
HISTORY = re.compile(r"\bseeds?\b|\bissues?\s*#?\d", re.IGNORECASE)
DOC_STRINGS = ("DOCUMENTATION", "EXAMPLES", "RETURN")


def module_docs(path):
    """The documentation strings of a module's Python file, by name."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in DOC_STRINGS:
                    out[target.id] = node.value.value
    return out


def user_texts():
    """(label, text) of every user-facing text the rule covers."""
    texts = []
    for path in sorted(glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))):
        for name, text in module_docs(path).items():
            texts.append(("%s %s" % (os.path.relpath(path, REPO), name), text))
    patterns = ("plugins/filter/*.yml", "roles/*/meta/argument_specs.yml", "roles/*/README.md",
                "playbooks/*.yml", "inventories/**/*", "README.md", "docs/*.md")
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(REPO, pattern), recursive=True)):
            if os.path.isfile(path):
                with open(path) as f:
                    texts.append((os.path.relpath(path, REPO), f.read()))
    return texts


TEXTS = user_texts()


def history_references(text):
    """The lines of text that name a seed or an issue."""
    return [line.strip() for line in text.splitlines() if HISTORY.search(line)]


def test_the_rule_finds_history_references():
    assert history_references("- name: Timeouts as in seed 000\n") == ["- name: Timeouts as in seed 000"]
    assert history_references("the seed recipes do it by hand") == ["the seed recipes do it by hand"]
    assert history_references("drain (issue 6)\nissue #12") == ["drain (issue 6)", "issue #12"]
    assert history_references("VIP 192.0.2.100, weight 100; an issue with the link") == []


def test_covers_every_kind_of_user_text():
    labels = " ".join(pair[0] for pair in TEXTS)
    for part in ("plugins/modules/ipvs_table.py EXAMPLES", "plugins/filter/cluster_model.yml",
                 "roles/keepalived/meta/argument_specs.yml", "roles/realserver_windows/README.md",
                 "playbooks/site.yml", "inventories/lab-nat/group_vars/all.yml", "docs/benchmarks.md"):
        assert part in labels


@pytest.mark.parametrize("label,text", TEXTS, ids=[pair[0] for pair in TEXTS])
def test_no_project_history_in_user_text(label, text):
    assert history_references(text) == []


def version(text):
    """A version string as a tuple of ints ("0.1.0" -> (0, 1, 0))."""
    return tuple(int(p) for p in str(text).split("."))


def versions_added(doc, where=""):
    """Every (where, version_added) in a documentation tree."""
    out = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "version_added":
                out.append((where or "top", value))
            else:
                out.extend(versions_added(value, "%s.%s" % (where, key) if where else str(key)))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out.extend(versions_added(value, "%s[%d]" % (where, i)))
    return out


def documentation_trees():
    """(label, parsed documentation) of every module, filter and role argument spec."""
    trees = []
    for path in sorted(glob.glob(os.path.join(REPO, "plugins", "modules", "*.py"))):
        doc = module_docs(path).get("DOCUMENTATION")
        if doc:
            trees.append((os.path.relpath(path, REPO), yaml.safe_load(doc)))
    for pattern in ("plugins/filter/*.yml", "roles/*/meta/argument_specs.yml"):
        for path in sorted(glob.glob(os.path.join(REPO, pattern))):
            with open(path) as f:
                trees.append((os.path.relpath(path, REPO), yaml.safe_load(f)))
    return trees


def test_version_added_is_not_later_than_the_collection():
    with open(os.path.join(REPO, "galaxy.yml")) as f:
        collection = version(yaml.safe_load(f)["version"])
    trees = documentation_trees()
    assert len(trees) > 20
    later = [(label, where, added) for label, doc in trees for where, added in versions_added(doc)
             if version(added) > collection]
    assert later == []
