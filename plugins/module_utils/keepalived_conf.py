# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived.conf from the role lvs.cluster.keepalived's variables.

Every block is validated with the schema of cluster_model (aliases resolved,
defaults applied) and every value is written through cluster_model's conf_*
functions: a value that would add, cut or break a keepalived line is rejected
with its path, and nothing is rendered. The role's template only prints the
result.

Every line written is then read the way keepalived 2.2's reader (lib/parser.c:
read_line, decomment, replace_param, check_include) reads it, and refused naming
the field when keepalived would read anything but the value: a line longer than
keepalived's 1023-byte read (fgets into MAXBUF), a ``$NAME`` / ``${NAME}`` it would
replace by a definition (``$_RANDOM``, ``$_HASH`` = '#', ``$_BANG`` = '!', ...), a line
starting with ``~`` (``~SEQ``/``~LST`` loops), ``@`` (a line for another config id) or
``include``. Raw lines (``extra``, keepalived_extra_config) are tokenized like
keepalived does: their braces may not leave the block they are written in.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from collections.abc import Mapping

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import (
    ClusterModelError, DEFAULT_MODE, INSTANCE_SPEC, MAX_STRING, SERVICE_SPEC, SYNC_DAEMON_SPEC, SYNC_GROUP_SPEC,
    TRACK_FILE_SPEC, VRRP_SCRIPT_SPEC, VS_GROUP_SPEC,
    cluster_model, conf_line, conf_number, conf_string, conf_word, parse_ip, resolve_service, validate,
    instance_rules as _instance_rules, text as _text,
)

NOTIFY_KEYS = ("notify_master", "notify_backup", "notify_fault", "notify_stop", "notify")
INSTANCE_KV_KEYS = ("garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat",
                    "garp_lower_prio_delay", "garp_lower_prio_repeat", "mcast_src_ip", "dont_track_primary",
                    "accept", "no_accept", "skip_check_adv_addr", "strict_mode", "use_vmac", "debug")
SERVICE_KV_KEYS = ("persistence_granularity", "quorum", "quorum_up", "quorum_down", "hysteresis", "alpha", "omega",
                   "ha_suspend", "virtualhost", "ops", "retry", "delay_before_retry", "connect_timeout", "warmup")
CHECKER_HANDLED = ("type", "urls", "path", "status_code", "digest", "digest_from", "digest_host",
                   "misc_path", "misc_timeout", "misc_dynamic", "dns_type", "hosts", "extra")
URL_HANDLED = ("path", "digest", "digest_from", "digest_host", "status_code")


# global_defs keywords that are old recipes with a modern form
GLOBAL_LEGACY = {
    "lvs_sync_daemon_interface": "use lvs_sync_daemon: {interface: ..., instance: ...}",
}
KEYWORD = r"[a-z][a-z0-9_]*"

# keepalived reads a line with fgets() into a MAXBUF (1024-byte) buffer: 1023 bytes, and the
# rest of a longer line is read as a line of its own (lib/parser.c read_line).
MAX_LINE_BYTES = 1023
# '$' followed by a letter, '_' or '{' may name a definition (keepalived's own: _PWD,
# _INSTANCE, _RANDOM, _HASH, _BANG): replace_param() would put its value in place. A byte
# beyond ASCII may be a letter to isalpha() in some locale: refused after '$' as well.
_DEFINITION = re.compile(r"\$(?=[A-Za-z_{]|[^\x00-\x7f])")
# A line starting with one of these is no value to keepalived: "~SEQ(...)"/"~LST(...)" loop
# over the following line, "@id" keeps a line only for that config id, "include" reads files.
_LINE_START = re.compile(r"[~@]|include(\s|[rmwba]\s)")


class _Lines(list):
    """keepalived.conf lines, each checked as keepalived's reader reads it; ``path`` names the
    field of the line being written (set by add)."""

    path = "keepalived.conf"

    def add(self, path, text):
        """Append one line written for the field ``path``."""
        self.path = path
        self.append(text)

    def append(self, text):
        """Append one line; ClusterModelError naming self.path if keepalived would not read it back as written."""
        _read_back(self.path, text)
        list.append(self, text)

    def extend(self, texts):
        """Append each line of texts, checked as append does."""
        for text in texts:
            self.append(text)


def _read_back(path, line):
    """Refuse a line keepalived would not read back as written (see the module's docstring)."""
    size = len(line.encode("utf-8"))
    if size > MAX_LINE_BYTES:
        raise ClusterModelError(path, "makes a keepalived.conf line of %d bytes (UTF-8), and keepalived reads at "
                                "most %d bytes a line: it would read the rest as a line of its own"
                                % (size, MAX_LINE_BYTES))
    if line.lstrip(" \t").startswith(("#", "!")):
        return  # a comment: keepalived drops it before it expands anything
    found = _DEFINITION.search(line)
    if found:
        raise ClusterModelError(path, "must not contain %r: keepalived would replace it by the value of a "
                                "definition (e.g. $_RANDOM, $_HASH)" % line[found.start():found.start() + 2])
    if _LINE_START.match(line.lstrip(" \t")):
        raise ClusterModelError(path, "must not start with %r: keepalived would read the line as a ~SEQ/~LST "
                                "loop, a line for another config id (@) or an include" % line.lstrip(" \t")[:8])


def _raw_segments(path, line):
    """A raw line the way keepalived reads it: comment removed (outside double quotes) and
    split at each brace outside quotes; returns the pieces ("{", "}" or text)."""
    if re.search(r"[\x00-\x1f\x7f\\]", line):
        raise ClusterModelError(path, "must not contain a control character or '\\' (keepalived's escape and "
                                "line continuation)")
    out, word, quote = [], "", False
    for char in line:
        if char == '"':
            quote = not quote
        elif not quote and char in "#!":
            break
        elif not quote and char in "{}":
            out += [word, char]
            word = ""
            continue
        word += char
    if quote:
        raise ClusterModelError(path, "has an unterminated '\"'")
    out.append(word)
    return [piece.strip() for piece in out if piece.strip()]


def _raw_lines(path, lines, depth=0, start=0):
    """Raw keepalived text (``extra`` lines, keepalived_extra_config): each line as keepalived
    tokenizes it must not close a block it did not open (a balanced '} x {' would leave the
    block it is written in and open one at the top), start a ~SEQ/@/include line nor use a
    definition. Returns the depth left open."""
    for i, line in enumerate(lines):
        lpath = path(start + i)
        for piece in _raw_segments(lpath, line):
            depth += {"{": 1, "}": -1}.get(piece, 0)
            if depth < 0:
                raise ClusterModelError(lpath, "closes a block it did not open")
            if piece not in "{}":
                _read_back(lpath, piece)
        _read_back(lpath, line)
    return depth


def _kv(lines, path, key, value, indent):
    """One 'keyword value' line: true -> bare keyword, false/none -> nothing, mapping -> its values,
    list -> a block."""
    key = conf_word(path, key, KEYWORD, "a keepalived keyword")
    lines.path = path
    if value is True:
        lines.append(indent + key)
    elif value is False or value is None:
        return
    elif isinstance(value, Mapping):
        lines.append("%s%s %s" % (indent, key, " ".join(_value("%s.%s" % (path, k), v) for k, v in value.items())))
    elif isinstance(value, (list, tuple)):
        lines.append("%s%s {" % (indent, key))
        for i, item in enumerate(value):
            ipath = "%s[%d]" % (path, i)
            lines.add(ipath, "%s    %s" % (indent, _value(ipath, item)))
        lines.append(indent + "}")
    else:
        lines.append("%s%s %s" % (indent, key, _value(path, value)))


def _value(path, value):
    """A scalar written unquoted: a number as a number, else text keepalived cannot read as syntax."""
    if isinstance(value, bool):
        raise ClusterModelError(path, "must not be a boolean here")
    if isinstance(value, (int, float)):
        return str(value)
    return _text(path, value)


def _quoted(lines, path, key, value, indent):
    if value is not None:
        lines.add(path, '%s%s "%s"' % (indent, key, conf_string(path, value)))


def _extra(lines, block, indent, path):
    """The block's raw lines: each must leave every block it opens closed again."""
    extra = block.get("extra") or []
    left = _raw_lines(lambda i: "%s.extra[%d]" % (path, i), extra)
    if left:
        raise ClusterModelError(path + ".extra", "leaves %d block(s) open" % left)
    for i, line in enumerate(extra):
        lines.add("%s.extra[%d]" % (path, i), indent + line)


def _tracked(lines, path, key, items, indent):
    if not items:
        return
    lines.append("%s%s {" % (indent, key))
    for i, item in enumerate(items):
        ipath = "%s[%d]" % (path, i)
        if isinstance(item, Mapping):
            entry = validate(item, {"name": dict(type="word", required=True),
                                    "weight": dict(type="int", min=-254, max=254)}, ipath)
            lines.path = ipath + ".name"
            lines.append("%s    %s%s" % (indent, entry["name"], "" if entry.get("weight") is None
                                         else " weight %d" % entry["weight"]))
        else:
            lines.add(ipath, "%s    %s" % (indent, conf_word(ipath, item)))
    lines.append(indent + "}")


def _combine(defaults, value, path):
    if not isinstance(value, Mapping):
        raise ClusterModelError(path, "must be a dict, not %s" % type(value).__name__)
    out = dict(defaults or {})
    out.update(value)
    return out


def _list(value, path):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise ClusterModelError(path, "must be a list, not %s" % ("a dict" if isinstance(value, Mapping)
                                                                  else type(value).__name__))
    return value


# ---------------------------------------------------------------- the blocks

def _global_defs(lines, defs, path):
    if not isinstance(defs, Mapping):
        raise ClusterModelError(path, "must be a dict")
    lines.append("global_defs {")
    for key, value in defs.items():
        kpath = "%s.%s" % (path, key)
        if key in GLOBAL_LEGACY:
            raise ClusterModelError(kpath, GLOBAL_LEGACY[key])
        if key == "vrrp_garp_interval" and value is not None and str(value).strip() in ("0", "0.0"):
            raise ClusterModelError(kpath, "0 is the old recipe's 'no delay', which is keepalived's default: "
                                    "leave vrrp_garp_interval out (or give a delay in seconds, e.g. 0.001)")
        if key == "notification_email":
            lines.append("    notification_email {")
            for i, addr in enumerate(value if isinstance(value, (list, tuple)) else [value]):
                apath = "%s[%d]" % (kpath, i)
                lines.add(apath, "        " + conf_word(apath, addr, r"[^@\s]+@[^@\s]+", "a mail address"))
            lines.append("    }")
        elif key == "lvs_sync_daemon" and isinstance(value, Mapping):
            d = validate(value, SYNC_DAEMON_SPEC, kpath)
            for k in ("interface", "instance"):
                _read_back("%s.%s" % (kpath, k), d[k])
            lines.path = kpath
            lines.append("    lvs_sync_daemon %s %s%s" % (d["interface"], d["instance"], "".join(
                " %s %s" % (k, d[k]) for k in ("id", "maxlen", "port", "ttl", "group") if d.get(k) is not None)))
        elif key == "extra":
            extra = [conf_line("%s[%d]" % (kpath, i), line) for i, line in enumerate(_list(value, kpath))]
            _extra(lines, {"extra": extra}, "    ", path)
        else:
            _kv(lines, kpath, key, value, "    ")
    lines.append("}")


def _vrrp_script(lines, raw, path):
    s = validate(raw, VRRP_SCRIPT_SPEC, path)
    lines.append("")
    lines.add(path + ".name", "vrrp_script %s {" % s["name"])
    lines.add(path + ".script", '    script "%s"' % s["script"])
    for key, value in s.items():
        if key not in ("name", "script", "extra"):
            _kv(lines, "%s.%s" % (path, key), key, value, "    ")
    _extra(lines, s, "    ", path)
    lines.append("}")


def _track_file(lines, raw, path):
    t = validate(raw, TRACK_FILE_SPEC, path)
    lines.append("")
    lines.add(path + ".name", "vrrp_track_file %s {" % t["name"])
    lines.add(path + ".file", '    file "%s"' % t["file"])
    if t.get("weight") is not None:
        lines.append("    weight %d" % t["weight"])
    init = t.get("init_file")
    if init is True:
        lines.append("    init_file")
    elif init is not None and init is not False:
        lines.append("    init_file %d" % conf_number(path + ".init_file", init, -254, 254))
    lines.append("}")


def _sync_group(lines, raw, path):
    g = validate(raw, SYNC_GROUP_SPEC, path)
    lines.append("")
    lines.add(path + ".name", "vrrp_sync_group %s {" % g["name"])
    lines.append("    group {")
    for m, member in enumerate(g["group"]):
        lines.add("%s.group[%d]" % (path, m), "        " + member)
    lines.append("    }")
    for key in NOTIFY_KEYS:
        _quoted(lines, "%s.%s" % (path, key), key, g.get(key), "    ")
    if g.get("smtp_alert"):
        lines.append("    smtp_alert")
    _tracked(lines, path + ".track_interfaces", "track_interface", g.get("track_interfaces"), "    ")
    _tracked(lines, path + ".track_scripts", "track_script", g.get("track_scripts"), "    ")
    _extra(lines, g, "    ", path)
    lines.append("}")


def _priority(path, value):
    return conf_number(path, value, 1, 255)


def _inventory_peers(path, host, peer_addresses):
    """This director's address and the other directors' (unicast VRRP from the inventory)."""
    where = "keepalived_vrrp_peer_addresses"
    if not isinstance(peer_addresses, Mapping) or host not in peer_addresses:
        raise ClusterModelError(path + ".unicast_from_inventory", "%s has no address for this director (%s): set "
                                "ansible_host or keepalived_vrrp_peer_addresses" % (where, host))
    addresses = {}
    for name, address in peer_addresses.items():
        if address in (None, ""):
            raise ClusterModelError("%s.%s" % (where, name), "is empty: set ansible_host of %s or "
                                    "keepalived_vrrp_peer_addresses" % name)
        addresses[name] = str(parse_ip("%s.%s" % (where, name), address))
    peers = [addresses[name] for name in sorted(addresses) if name != host]
    if not peers:
        raise ClusterModelError(path + ".unicast_from_inventory", "no other director in %s" % where)
    return addresses[host], peers


def _instance(lines, i, path, host, priority, peer_priorities, state_override, peer_addresses=None):
    if i.get("priority") is not None:
        prio = top = i["priority"]
    elif i.get("priorities") is not None:
        if not isinstance(i["priorities"], Mapping):
            raise ClusterModelError(path + ".priorities", "must be a dict {inventory_hostname: priority}")
        prios = dict((h, _priority("%s.priorities.%s" % (path, h), p)) for h, p in i["priorities"].items())
        prio = prios.get(host, _priority("keepalived_vrrp_priority", priority))
        top = max(prios.values())
    else:
        prio = _priority("keepalived_vrrp_priority", priority)
        top = max([_priority("lvs_vrrp_priority", p) for p in peer_priorities] or [prio])
    if i.get("state") is not None:
        state = i["state"]
    elif i.get("nopreempt") or i.get("preempt_delay") is not None:
        # keepalived ignores nopreempt and preempt_delay unless the initial state is BACKUP
        state = "BACKUP"
    elif state_override:
        state = conf_word("keepalived_vrrp_state", state_override, "(?i)master|backup", "MASTER or BACKUP").upper()
    else:
        state = "MASTER" if prio >= top else "BACKUP"
    lines.append("")
    lines.add(path + ".name", "vrrp_instance %s {" % i["name"])
    lines.add(path + ".state", "    state " + state)
    lines.add(path + ".interface", "    interface " + i["interface"])
    lines.append("    virtual_router_id %d" % i["virtual_router_id"])
    lines.append("    priority %d" % prio)
    lines.append("    advert_int %s" % i["advert_int"])
    if i.get("version") is not None:
        lines.append("    version %d" % i["version"])
    auth = i.get("authentication")
    if auth is not None:
        size = len(auth["pass"].encode("utf-8"))
        if size > 8:
            # keepalived cuts auth_pass to 8 bytes (not characters): the peers would not agree
            raise ClusterModelError(path + ".authentication.pass", "is %d bytes long in UTF-8; keepalived keeps "
                                    "only the first 8 bytes of auth_pass" % size)
        lines.path = path + ".authentication.pass"
        lines.extend(["    authentication {", "        auth_type " + auth["type"],
                      "        auth_pass " + auth["pass"], "    }"])
    if i.get("nopreempt"):
        lines.append("    nopreempt")
    if i.get("preempt_delay") is not None:
        lines.append("    preempt_delay %d" % i["preempt_delay"])
    src, peers = i.get("unicast_src_ip"), i.get("unicast_peers")
    if i.get("unicast_from_inventory"):
        src, peers = _inventory_peers(path, host, peer_addresses)
    if src is not None:
        lines.add(path + ".unicast_src_ip", "    unicast_src_ip " + src)
    if peers:
        lines.path = path + ".unicast_peers"
        lines.append("    unicast_peer {")
        lines.extend("        " + peer for peer in peers)
        lines.append("    }")
    _tracked(lines, path + ".track_interfaces", "track_interface", i.get("track_interfaces"), "    ")
    _tracked(lines, path + ".track_scripts", "track_script", i.get("track_scripts"), "    ")
    _tracked(lines, path + ".track_files", "track_file", i.get("track_files"), "    ")
    for key in NOTIFY_KEYS:
        _quoted(lines, "%s.%s" % (path, key), key, i.get(key), "    ")
    if i.get("smtp_alert"):
        lines.append("    smtp_alert")
    for key in INSTANCE_KV_KEYS:
        if i.get(key) is not None:
            value = i[key]
            if key in ("use_vmac", "debug") and value is not True and value is not False:
                value = conf_word("%s.%s" % (path, key), value, r"[A-Za-z0-9_.-]+", "a name or level")
            _kv(lines, "%s.%s" % (path, key), key, value, "    ")
    for section, vips in (("virtual_ipaddress", i.get("vips")), ("virtual_ipaddress_excluded", i.get("excluded_vips"))):
        if not vips:
            continue
        lines.append("    %s {" % section)
        for v, vip in enumerate(vips):
            lines.path = "%s.%s[%d]" % (path, "vips" if section == "virtual_ipaddress" else "excluded_vips", v)
            if isinstance(vip, Mapping):
                lines.append("        " + vip["address"] + "".join(
                    " %s %s" % (k, vip[k]) for k in ("brd", "dev", "scope", "label") if vip.get(k) is not None))
            else:
                lines.append("        " + vip)
        lines.append("    }")
    _extra(lines, i, "    ", path)
    lines.append("}")


def _vs_group(lines, raw, path):
    g = validate(raw, VS_GROUP_SPEC, path)
    lines.append("")
    lines.add(path + ".name", "virtual_server_group %s {" % g["name"])
    for m, member in enumerate(g["members"]):
        lines.path = "%s.members[%d]" % (path, m)
        if member.get("fwmark") is not None:
            lines.append("    fwmark %d" % member["fwmark"])
        elif member.get("ip") is not None:
            lines.append("    %s%s" % (member["ip"], "" if member.get("port") is None else " %d" % member["port"]))
        else:
            raise ClusterModelError("%s.members[%d].ip" % (path, m), "is required (or fwmark)")
    lines.append("}")


def digest_key(url, rs):
    """host:digest_from of a url check (digest_host, else the real server's host, else its address)."""
    return "%s:%s" % (url.get("digest_host") or rs.get("host") or rs["address"], url["digest_from"])


def _urls(c):
    if c.get("urls") is not None:
        return c["urls"]
    return [dict((k, c[k]) for k in ("path", "status_code", "digest", "digest_from", "digest_host") if k in c)]


def _status_code(path, code):
    """An HTTP status code, or a range such as 200-299."""
    if isinstance(code, str) and "-" in code:
        return conf_word(path, code, "[1-5][0-9][0-9]-[1-5][0-9][0-9]", "a status code range")
    return str(conf_number(path, code, 100, 599))


def _checker(lines, c, path, rs, digests):
    kind = c["type"]
    if c.get("hosts") and kind != "SMTP_CHECK":
        raise ClusterModelError(path + ".hosts", "host blocks belong to SMTP_CHECK, not %s" % kind)
    lines.append("        %s {" % kind)
    for key, value in c.items():
        if key not in CHECKER_HANDLED:
            _kv(lines, "%s.%s" % (path, key), key, value, "            ")
    if kind in ("HTTP_GET", "SSL_GET"):
        for u, url in enumerate(_urls(c)):
            upath = "%s.urls[%d]" % (path, u) if c.get("urls") is not None else path
            lines.append("            url {")
            lines.add(upath + ".path", "                path " + conf_word(upath + ".path", url.get("path") or "/"))
            if url.get("digest") is not None:
                lines.append("                digest " + url["digest"])
            elif url.get("digest_from") is not None:
                key = digest_key(url, rs)
                if key not in (digests or {}):
                    raise ClusterModelError(upath + ".digest_from", "no digest was computed for %s" % key)
                digest = conf_word(upath + ".digest_from", digests[key], "[0-9a-f]{32}", "an MD5 digest")
                lines.append("                digest " + digest)
            if url.get("status_code") is not None:
                codes = url["status_code"] if isinstance(url["status_code"], (list, tuple)) else [url["status_code"]]
                lines.path = upath + ".status_code"
                lines.append("                status_code " + " ".join(
                    _status_code("%s.status_code" % upath, code) for code in codes))
            for key, value in url.items():
                if key not in URL_HANDLED:
                    _kv(lines, "%s.%s" % (upath, key), key, value, "                ")
            lines.append("            }")
    elif kind == "MISC_CHECK":
        _quoted(lines, path + ".misc_path", "misc_path", c.get("misc_path"), "            ")
        if c.get("misc_timeout") is not None:
            lines.append("            misc_timeout %d" % c["misc_timeout"])
        if c.get("misc_dynamic"):
            lines.append("            misc_dynamic")
    elif kind == "SMTP_CHECK":
        for h, host in enumerate(c.get("hosts") or []):
            lines.append("            host {")
            for key, value in host.items():
                _kv(lines, "%s.hosts[%d].%s" % (path, h, key), key, value, "                ")
            lines.append("            }")
    elif kind == "DNS_CHECK":
        if c.get("dns_type") is not None:
            lines.append("            type " + c["dns_type"])
    _extra(lines, c, "            ", path)
    lines.append("        }")


def _check_path(given_rs, given_vs, rpath, vpath, index):
    """Where a real server's check c was written: its own check(s), else the service's."""
    for where, block in ((rpath, given_rs), (vpath, given_vs)):
        if block.get("checks") is not None:
            return "%s.checks[%d]" % (where, index)
        if block.get("check") is not None:
            return where + ".check"
    return vpath + ".check"


def _virtual_server(lines, vs, given, path, digests):
    lines.append("")
    lines.path = path
    if vs.get("name") is not None:
        lines.add(path + ".name", "# service " + vs["name"])
    if vs.get("group") is not None:
        lines.append("virtual_server group %s {" % vs["group"])
    elif vs.get("fwmark") is not None:
        lines.append("virtual_server fwmark %d {" % vs["fwmark"])
    else:
        lines.append("virtual_server %s %d {" % (vs["address"], vs["port"]))
    lines.append("    delay_loop %s" % vs["delay_loop"])
    lines.append("    lb_algo " + vs["scheduler"])
    for flag in vs.get("sched_flags") or []:  # checked against SCHED_FLAGS by resolve_service
        lines.append("    " + flag)
    lines.append("    lb_kind " + vs["mode"].upper())
    if vs.get("fwmark") is None:
        lines.append("    protocol " + vs["protocol"].upper())
    if vs.get("persistence"):
        lines.append("    persistence_timeout %d" % vs["persistence"])
    for key in SERVICE_KV_KEYS:
        if vs.get(key) is not None:
            _kv(lines, "%s.%s" % (path, key), key, vs[key], "    ")
    sorry = vs.get("sorry_server")
    if sorry is not None:
        port = sorry.get("port", vs.get("port"))
        lines.path = path + ".sorry_server"
        lines.append("    sorry_server %s %s" % (sorry["address"], "" if port is None else port))
        if sorry.get("inhibit"):
            lines.append("    sorry_server_inhibit")
    _extra(lines, vs, "    ", path)
    for r, rs in enumerate(vs["realservers"]):
        rpath = "%s.realservers[%d]" % (path, r)
        port = rs.get("port", vs.get("port"))
        lines.path = rpath
        lines.append("")
        lines.append("    real_server %s%s {" % (rs["address"], "" if port is None else " %d" % port))
        lines.append("        weight %d" % rs["weight"])
        if rs.get("tun_type"):
            # the real server's tunnel (the model checked the combination); keepalived otherwise adds it as ipip
            words = ["TUN", "type", _value(rpath + ".tun_type", rs["tun_type"])]
            if rs.get("tun_port") is not None:
                words += ["port", _value(rpath + ".tun_port", rs["tun_port"])]
            flags = rs.get("tun_flags") or []
            for f, flag in enumerate([flags] if isinstance(flags, str) else flags):
                words.append(_value("%s.tun_flags[%d]" % (rpath, f), flag))
            lines.add(rpath + ".tun_type", "        lvs_method " + " ".join(words))
        if rs["inhibit_on_failure"]:
            lines.append("        inhibit_on_failure")
        _quoted(lines, rpath + ".notify_up", "notify_up", rs.get("notify_up"), "        ")
        _quoted(lines, rpath + ".notify_down", "notify_down", rs.get("notify_down"), "        ")
        _extra(lines, rs, "        ", rpath)
        for c, check in enumerate(rs["checks"]):
            _checker(lines, check, _check_path(given["realservers"][r], given, rpath, path, c), rs, digests)
        lines.append("    }")
    lines.append("}")


def keepalived_conf(global_defs=None, vrrp_scripts=None, sync_groups=None, instances=None, instance_defaults=None,
                    vs_groups=None, virtual_servers=None, vs_defaults=None, lvs_mode="dr", host="localhost",
                    priority=100, peer_priorities=None, state=None, digests=None, extra_config="",
                    header=None, lvs_cluster=None, names=None, peer_addresses=None, track_files=None,
                    lvs_cluster_translated=False):
    """The text of keepalived.conf, or ClusterModelError naming the field.

    names: the variable each argument came from, for the error paths (a block that is the
    default from lvs_cluster is named by its place there).
    peer_addresses: {inventory host: address} of the directors, for unicast_from_inventory.
    lvs_cluster_translated: lvs_cluster has passed cluster_model in this play already (the role
    lvs.cluster.cluster_model), so its cross-field rules are not checked a second time.
    """
    names_given = names
    names = dict({"global_defs": "keepalived_global_defs", "vrrp_scripts": "keepalived_vrrp_scripts",
                  "track_files": "keepalived_vrrp_track_files",
                  "sync_groups": "keepalived_vrrp_sync_groups", "instances": "keepalived_vrrp_instances",
                  "vs_groups": "keepalived_virtual_server_groups", "virtual_servers": "keepalived_virtual_servers"},
                 **(names or {}))
    if lvs_cluster:
        # a block that is the default from lvs_cluster is named by its place there
        for arg, value, key in (("vrrp_scripts", vrrp_scripts, "vrrp.scripts"),
                                ("track_files", track_files, "vrrp.track_files"),
                                ("instances", instances, "vrrp.instances"),
                                ("sync_groups", sync_groups, "vrrp.sync_groups"),
                                ("vs_groups", vs_groups, "virtual_server_groups"),
                                ("virtual_servers", virtual_servers, "services")):
            piece = lvs_cluster
            for part in key.split("."):
                piece = piece.get(part) if isinstance(piece, Mapping) else None
            if piece is not None and piece == value and arg not in (names_given or {}):
                names[arg] = "lvs_cluster." + key
        if not lvs_cluster_translated:
            cluster_model(lvs_cluster)  # the description's own cross-field rules, with lvs_cluster paths
    mode = conf_word("keepalived_lvs_mode", lvs_mode or DEFAULT_MODE).lower()
    services = []
    for i, raw in enumerate(_list(virtual_servers, names["virtual_servers"])):
        path = "%s[%d]" % (names["virtual_servers"], i)
        svc = validate(_combine(vs_defaults, raw, path), SERVICE_SPEC, path)
        services.append((resolve_service(svc, path, mode), svc, path))
    service_vips = [svc["address"] for svc, _g, _p in services if svc["address"]]
    validated_instances = []
    for i, raw in enumerate(_list(instances, names["instances"])):
        path = "%s[%d]" % (names["instances"], i)
        validated_instances.append(validate(_combine(instance_defaults, raw, path), INSTANCE_SPEC, path))
    _instance_rules(validated_instances, names["instances"], global_defs or {}, service_vips)

    lines = _Lines()
    if header is not None:
        lines.add("ansible_managed", "# " + _text("ansible_managed", header))
    lines.path = "keepalived.conf"
    lines.append('# Role lvs.cluster.keepalived; validated with "keepalived -t" before being put in place.')
    _global_defs(lines, global_defs or {}, names["global_defs"])
    for i, raw in enumerate(_list(vrrp_scripts, names["vrrp_scripts"])):
        _vrrp_script(lines, raw, "%s[%d]" % (names["vrrp_scripts"], i))
    for i, raw in enumerate(_list(track_files, names["track_files"])):
        _track_file(lines, raw, "%s[%d]" % (names["track_files"], i))
    for i, raw in enumerate(_list(sync_groups, names["sync_groups"])):
        _sync_group(lines, raw, "%s[%d]" % (names["sync_groups"], i))
    for i, inst in enumerate(validated_instances):
        lines.path = "%s[%d]" % (names["instances"], i)
        _instance(lines, inst, "%s[%d]" % (names["instances"], i), host, priority, peer_priorities or [], state,
                  peer_addresses)
    for i, raw in enumerate(_list(vs_groups, names["vs_groups"])):
        _vs_group(lines, raw, "%s[%d]" % (names["vs_groups"], i))
    for svc, given, path in services:
        _virtual_server(lines, svc, given, path, digests)
    # after the blocks are written (so a bad name is refused as a value first)
    script_names = [s.get("name") for s in _list(vrrp_scripts, names["vrrp_scripts"]) if isinstance(s, Mapping)]
    for i, inst in enumerate(validated_instances):
        for t, tracked in enumerate(inst.get("track_scripts") or []):
            name = tracked.get("name") if isinstance(tracked, Mapping) else tracked
            if name not in script_names:
                raise ClusterModelError("%s[%d].track_scripts[%d]" % (names["instances"], i, t),
                                        "no vrrp_script is named %s (keepalived would track nothing)" % name)
    file_names = [f.get("name") for f in _list(track_files, names["track_files"]) if isinstance(f, Mapping)]
    for i, inst in enumerate(validated_instances):
        for t, tracked in enumerate(inst.get("track_files") or []):
            name = tracked.get("name") if isinstance(tracked, Mapping) else tracked
            if name not in file_names:
                raise ClusterModelError("%s[%d].track_files[%d]" % (names["instances"], i, t),
                                        "no vrrp_track_file is named %s (keepalived would track nothing)" % name)
    if extra_config:
        lines.append("")
        for i, line in enumerate(_extra_config(str(extra_config))):
            lines.add("keepalived_extra_config (line %d)" % (i + 1), line)
    return "\n".join(lines) + "\n"


def _extra_config(text):
    """The operator's raw text: it may open blocks over several lines, but must close every one it opens."""
    out = text.rstrip("\n").split("\n")
    for i, line in enumerate(out):
        if len(line) > MAX_STRING:
            raise ClusterModelError("keepalived_extra_config (line %d)" % (i + 1),
                                    "must be a line of at most %d characters" % MAX_STRING)
    depth = _raw_lines(lambda i: "keepalived_extra_config (line %d)" % (i + 1),
                       [line.replace("\t", " ") for line in out])
    if depth:
        raise ClusterModelError("keepalived_extra_config", "leaves %d block(s) open" % depth)
    return out


def digest_sources(virtual_servers, vs_defaults=None, lvs_mode="dr", source="keepalived_virtual_servers"):
    """Files whose MD5 is an HTTP_GET/SSL_GET digest: [{host, path, key}], each once."""
    out = []
    for i, raw in enumerate(_list(virtual_servers, source)):
        path = "%s[%d]" % (source, i)
        svc = resolve_service(validate(_combine(vs_defaults, raw, path), SERVICE_SPEC, path), path,
                              (lvs_mode or DEFAULT_MODE).lower())
        for rs in svc["realservers"]:
            for c in rs["checks"]:
                if c["type"] not in ("HTTP_GET", "SSL_GET"):
                    continue
                for url in _urls(c):
                    if url.get("digest") is None and url.get("digest_from"):
                        host = url.get("digest_host") or rs.get("host") or rs["address"]
                        item = {"host": host, "path": url["digest_from"], "key": digest_key(url, rs)}
                        if item not in out:
                            out.append(item)
    return out
