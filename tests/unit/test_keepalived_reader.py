"""keepalived_conf against keepalived's own reader rules (lib/parser.c of keepalived 2.2).

Values that pass a character check but that keepalived's reader turns into something
else: a definition it expands ($_RANDOM: another password at every parse; $_HASH: a
'#' that cuts the line), a ~SEQ/~LST loop or an @config-id line (a value that starts a
line), a line beyond its 1023-byte read (multibyte text counts double: the tail becomes
a line of its own, e.g. an include), and raw `extra` lines whose balanced braces close
their parent block and open one at the top. Each must be refused naming the field.
tests/unit/test_keepalived_differential.py shows keepalived reads back what is written.
"""
import copy

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import ClusterModelError
from ansible_collections.lvs.cluster.plugins.module_utils.keepalived_conf import MAX_LINE_BYTES

from test_keepalived_conf import FIELDS, NUMBER, _set, render, variables

# 19 characters: keepalived -t loops 100 million times over the next line (seconds of CPU).
SEQ = "~SEQ(i,1,100000000)"
# anywhere in a line (but a comment)
DEFINITIONS = ["$_RANDOM", "a$_HASH", "x${_BANG}y", "$_PWD", "$_INSTANCE", "$MYDEF", "${MYDEF}"]
LONG = [u"\u00e9" * 600]  # 600 characters, 1,200 bytes
# at the start of a line only (keepalived reads them literally after a keyword)
LINE_START = [SEQ, "~LST(i,a,b)", "@dir2", "@^dir1"]
# the fields whose value starts a keepalived line (list items)
STARTS_A_LINE = ("notification_email", "group", "unicast_peers", "track_interfaces", "vips", "excluded_vips")


def _cases():
    for where, path, values in FIELDS:
        if values is NUMBER or where[0] in ("extra_config",) or "extra" in where:
            continue
        comment = where in (("header",), ("virtual_servers", 0, "name"))  # written as '# ...'
        starts = (isinstance(where[-1], int) and where[-2] in STARTS_A_LINE
                  or where[-1] in ("name", "ip") and where[-3] in ("track_scripts", "members"))
        for value in LONG + ([] if comment else DEFINITIONS) + (LINE_START if starts else []):
            yield where, path, value


CASES = list(_cases())


@pytest.mark.parametrize("where,path,value", CASES, ids=[("%s=%r" % (p, v))[:90] for _w, p, v in CASES])
def test_value_keepalived_would_read_otherwise_is_refused_with_its_path(where, path, value):
    kw = copy.deepcopy(variables())
    _set(kw, where, value)
    with pytest.raises(ClusterModelError) as e:
        render(kw)
    assert e.value.path == path, str(e.value)


def test_cases_cover_the_fields():
    assert len(set(path for _w, path, _v in CASES)) >= 50 and len(CASES) >= 400


def test_dollar_and_tilde_that_keepalived_reads_as_text_are_written():
    kw = variables()
    kw["instances"][0]["notify_master"] = "/bin/echo $1 costs 5$ a~b"
    assert 'notify_master "/bin/echo $1 costs 5$ a~b"' in render(kw)


@pytest.mark.parametrize("where,path", [
    (("instances", 0, "notify_master"), "keepalived_vrrp_instances[0].notify_master"),
    (("global_defs", "router_id"), "keepalived_global_defs.router_id"),
])
def test_line_limit_is_in_bytes_and_the_value_is_never_split(where, path):
    kw = variables()
    _set(kw, where, "x" * 900)  # fits
    render(kw)
    _set(kw, where, u"\u20ac" * 340)  # 340 characters, 1,020 bytes: with the keyword beyond 1,023
    with pytest.raises(ClusterModelError) as e:
        render(kw)
    assert e.value.path == path and "bytes" in e.value.reason
    assert str(MAX_LINE_BYTES) in e.value.reason


@pytest.mark.parametrize("line", [
    "} vrrp_instance EVIL {",            # balanced, but leaves the parent block
    "x { } } y {",
    "include /etc/shadow",               # include happens at any depth
    "a { include /etc/shadow }",         # keepalived splits at braces: the include starts a line
    "@otherhost }",                      # a line keepalived drops for another config id
    "foo { # }",                         # the '}' is a comment to keepalived
    '"a { b',                            # unterminated quote
    "track_interface { $IF }",
    SEQ,
    "a \\",                              # a continuation line
])
def test_raw_extra_lines_cannot_leave_their_block(line):
    kw = variables()
    kw["instances"][0]["extra"] = [line]
    with pytest.raises(ClusterModelError) as e:
        render(kw)
    assert e.value.path.startswith("keepalived_vrrp_instances[0].extra"), str(e.value)


def test_raw_lines_that_stay_in_their_block_are_written():
    kw = variables()
    kw["instances"][0]["extra"] = ["dont_track_primary", 'track_interface { eth1 weight 5 }', 'x "a b" # c']
    text = render(kw)
    assert "    track_interface { eth1 weight 5 }\n" in text and '    x "a b" # c\n' in text


@pytest.mark.parametrize("text", [
    "}\nvrrp_instance X {\n}",
    "vrrp_script x {\n  script /bin/true\n} } vrrp_script y {",
    "include /etc/shadow",
    "vrrp_script x {\n  script \"/bin/true $_RANDOM\"\n}",
    SEQ + "\nvrrp_script x$i {\n}",
])
def test_extra_config_is_read_like_keepalived(text):
    kw = variables()
    kw["extra_config"] = text
    with pytest.raises(ClusterModelError) as e:
        render(kw)
    assert e.value.path.startswith("keepalived_extra_config"), str(e.value)
