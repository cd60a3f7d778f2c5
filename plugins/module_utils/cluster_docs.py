# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reference tables of docs/cluster-model.md, generated from ``cluster_spec.SCHEMA``."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_spec import SCHEMA, VIP_SPEC


def _type_doc(field):
    kind = field["type"]
    if kind == "list":
        element = field.get("elements", "raw")
        return "list of %s" % ("dict" if element == "dict" else {"vip_entry": "VIP", "word": "str"}.get(element, element))
    return {"word": "str", "vip": "VIP", "mode": "str", "lines": "list of lines", "raw": "any", "command": "str",
            "secret": "str", "ifname": "str", "label": "str"}.get(kind, kind)


def schema_markdown(spec=None, path="lvs_cluster", seen=None):
    """The reference tables of docs/cluster-model.md, one per block, generated from SCHEMA."""
    spec = SCHEMA if spec is None else spec
    seen = {} if seen is None else seen
    out = ["### `%s`" % path, "", "| key | type | default | description |", "| --- | --- | --- | --- |"]
    nested = []
    for key in sorted(spec):
        field = spec[key]
        notes = [field.get("doc", "")]
        if field.get("choices"):
            notes.append("one of %s" % ", ".join("`%s`" % c for c in field["choices"]))
        if field.get("aliases"):
            notes.append("alias %s" % ", ".join("`%s`" % a for a in field["aliases"]))
        if field.get("required"):
            notes.append("required")
        options = field.get("options") or (VIP_SPEC if field.get("elements") == "vip_entry" else None)
        sub = "%s.%s%s" % (path, key, "[]" if field["type"] == "list" else "")
        if options is not None and id(options) in seen:
            notes.append("keys as in `%s`" % seen[id(options)])
        elif options is not None:
            seen[id(options)] = sub
            nested.append((options, sub))
        default = field.get("default")
        out.append("| `%s` | %s | %s | %s |" % (key, _type_doc(field), "" if default is None else "`%s`" % (default,),
                                                "; ".join(n for n in notes if n)))
    out.append("")
    for options, sub in nested:
        out.extend(schema_markdown(options, sub, seen).split("\n"))
    return "\n".join(out)
