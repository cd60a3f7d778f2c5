"""docs/cluster-model.md documents every key the schema accepts, and names only variables that exist.

The reference part is generated from SCHEMA (cluster_docs.schema_markdown, cluster_spec.SCHEMA);
UPDATE_DOCS=1 rewrites it.
"""
import os
import re

import yaml

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import SCHEMA, schema_markdown

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(REPO, "docs", "cluster-model.md")
BEGIN = "<!-- BEGIN generated from plugins/module_utils/cluster_spec.py SCHEMA -->\n"
END = "<!-- END generated -->\n"


def read():
    with open(DOC) as f:
        return f.read()


def test_reference_is_generated_from_the_schema():
    text = read()
    head, rest = text.split(BEGIN)
    generated, tail = rest.split(END)
    if os.environ.get("UPDATE_DOCS") == "1":
        with open(DOC, "w") as f:
            f.write(head + BEGIN + schema_markdown() + END + tail)
        generated = schema_markdown()
    assert generated == schema_markdown(), "docs/cluster-model.md is stale: rerun with UPDATE_DOCS=1"


def keys(spec, out):
    for key, field in spec.items():
        out.add(key)
        if field.get("options"):
            keys(field["options"], out)
    return out


def test_every_key_is_documented():
    text = read()
    missing = sorted(k for k in keys(SCHEMA, set()) if "| `%s` |" % k not in text)
    assert not missing
    for key in ("inhibit_on_failure", "delay_loop", "sorry_server", "urls", "digest_from"):  # missing before
        assert "| `%s` |" % key in text


def role_variables():
    names = set()
    for role in os.listdir(os.path.join(REPO, "roles")):
        path = os.path.join(REPO, "roles", role, "meta", "argument_specs.yml")
        if os.path.exists(path):
            with open(path) as f:
                for spec in yaml.safe_load(f)["argument_specs"].values():
                    names.update(spec.get("options", {}))
        path = os.path.join(REPO, "roles", role, "defaults", "main.yml")
        if os.path.exists(path):
            with open(path) as f:
                names.update(yaml.safe_load(f) or {})
    return names


def test_named_role_variables_exist():
    text = read()
    named = set(re.findall(r"(?<![./\w])((?:keepalived|lvs_director|realserver_linux|realserver_windows)_[a-z_]+)(?![\w.])", text))
    assert named, "the document names role variables"
    assert not named - role_variables()


def test_mode_index_has_a_row_per_mode():
    text = read()
    for mode, inventory, topology, scenario in (("DR", "lab-dr", "dr", "dr"), ("NAT", "lab-nat", "nat", "nat"),
                                                ("TUN", "lab-tun", "tun", "tun")):
        row = [line for line in text.splitlines() if line.startswith("| %s (" % mode)]
        assert len(row) == 1
        for path in ("inventories/" + inventory, "lab/topologies/%s.yml" % topology, "molecule/" + scenario):
            assert "`%s`" % path in row[0]
            assert os.path.exists(os.path.join(REPO, path))


def test_the_examples_are_valid_descriptions():
    """Every ```yaml block with lvs_cluster in docs/cluster-model.md passes the schema."""
    from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import cluster_model
    examples = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", read(), re.S) if "lvs_cluster:" in b]
    assert examples
    for example in examples:
        cluster_model(example["lvs_cluster"])
