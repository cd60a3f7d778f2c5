# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validator of ``lvs_cluster``: a value checked against a spec of ``cluster_spec``,
field by field through the vocabulary (``fields``); aliases resolved, defaults applied,
every error a ``FieldError`` naming the field path."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

from collections.abc import Mapping

from ansible_collections.lvs.cluster.plugins.module_utils import fields
from ansible_collections.lvs.cluster.plugins.module_utils.cluster_spec import FORWARD_OF_MODE, LEGACY, VIP_SPEC
from ansible_collections.lvs.cluster.plugins.module_utils.fields import FieldError as ClusterModelError


def _unknown(path, key, spec):
    names = sorted(set(spec) | set(a for f in spec.values() for a in f.get("aliases", ())))
    legacy = LEGACY.get(key)
    if legacy:
        return ClusterModelError("%s.%s" % (path, key), legacy)
    near = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    hint = "; did you mean %r?" % near[0] if near else "; valid keys: %s" % ", ".join(sorted(spec))
    return ClusterModelError("%s.%s" % (path, key), "unknown key%s" % hint)


def validate(value, spec, path):
    """Check the dict ``value`` against ``spec``: a new dict, aliases resolved, defaults applied."""
    if not isinstance(value, Mapping):
        raise ClusterModelError(path, "must be a dict, not %s" % fields.type_name(value))
    alias_of = {}
    for key, field in spec.items():
        for alias in field.get("aliases", ()):
            alias_of[alias] = key
    given = {}
    for key in value:
        name = alias_of.get(key, key)
        if name not in spec:
            raise _unknown(path, key, spec)
        if name in given:
            raise ClusterModelError("%s.%s" % (path, key), "is %s given twice (as %s and %s)"
                                    % (name, given[name], key))
        given[name] = key
    out = {}
    # the given keys first, in their order (keepalived writes open-ended keywords in that order)
    for name, key in given.items():
        if value[key] is not None:
            out[name] = _field(value[key], spec[name], "%s.%s" % (path, key))
    for name, field in spec.items():
        if name in out:
            continue
        if field.get("required"):
            raise ClusterModelError("%s.%s" % (path, name), "is required")
        if "default" in field:
            default = field["default"]
            out[name] = list(default) if isinstance(default, list) else default
    return out


def _field(value, field, path):
    kind = field["type"]
    if kind == "dict":
        result = validate(value, field["options"], path)
    elif kind == "list":
        if not isinstance(value, (list, tuple)):
            raise ClusterModelError(path, "must be a list, not %s" % fields.type_name(value))
        element = dict(field, type=field.get("elements", "raw"))
        element.pop("choices", None)
        result = [_field(item, element, "%s[%d]" % (path, i)) for i, item in enumerate(value)]
    else:
        result = _scalar(value, field, path)
    choices = field.get("choices")
    if choices is not None and result not in choices:
        near = difflib.get_close_matches(str(result), [str(c) for c in choices], n=1)
        raise ClusterModelError(path, "must be one of %s, not %r%s" % (
            ", ".join(str(c) for c in choices), result, "; did you mean %r?" % near[0] if near else ""))
    return result


def _scalar(value, field, path):
    kind = field["type"]
    if kind == "secret":
        # a refused password must not end up in the play's output: say what is wrong, not what it is
        return fields.secret(path, value)
    if kind == "dict" or kind == "list":
        return _field(value, field, path)
    if kind == "raw":
        return value
    if kind == "vip_entry":
        if isinstance(value, Mapping):
            return validate(value, VIP_SPEC, path)
        return _scalar(value, dict(type="vip"), path)
    if kind == "lines":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ClusterModelError(path, "must be a list of lines, not %s" % fields.type_name(value))
        return [fields.line("%s[%d]" % (path, i), line) for i, line in enumerate(value)]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("yes", "true", "no", "false"):
            return value.lower() in ("yes", "true")
        raise ClusterModelError(path, "must be true or false, not %r" % (value,))
    if kind == "int":
        return fields.number(path, value, field.get("min"), field.get("max"))
    if kind == "number":
        return fields.number(path, value, field.get("min"), field.get("max"), integer=False)
    if kind == "ip":
        return str(fields.ip(path, value))
    if kind == "vip":
        ip, prefix = fields.vip(path, value)
        return str(ip) if prefix is None else "%s/%d" % (ip, prefix)
    if kind == "mode":
        text = fields.word(path, value).lower()
        if text not in FORWARD_OF_MODE:
            raise ClusterModelError(path, "must be nat, dr or tun, not %r" % fields.short(str(value)))
        return text
    if kind in ("str", "command"):
        return fields.string(path, value)
    if kind == "ifname":
        return fields.ifname(path, value)
    if kind == "label":
        return fields.address_label(path, value)
    if kind == "word":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        text = fields.word(path, value, field.get("pattern"), field.get("what"))
        if field.get("upper"):
            text = text.upper()
        if field.get("lower"):
            text = text.lower()
        return text
    raise AssertionError("unknown field type %r at %s" % (kind, path))  # a defect of SCHEMA
