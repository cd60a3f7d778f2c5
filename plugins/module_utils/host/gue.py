# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gue_port as plain data: validation and the plan (pure, unit-tested).

A request: {state, exclusive, ports: [int]}. The kernel's side is the list of
its FOU ports (module_utils/fou_netlink.py, as {port, family, type, bound});
the state file holds the ports this module manages (replayed at boot)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.module_utils import fields

ARGUMENT_SPEC = dict(
    port=dict(type="list", elements="raw", required=True, aliases=["ports"]),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    exclusive=dict(type="bool", default=False),
)
STATE_NAME = "ipv4"  # /etc/lvs-cluster/gue_port-ipv4.json: IPv4 FOU ports (TUN real servers are IPv4)


# A bad input; the message names the field (the vocabulary's error).
ValidationError = fields.FieldError


def check_port(field, value):
    """1..65535, given as a number or its digits; not a boolean (fields.port)."""
    return fields.port(field, value)


def validate(params):
    """The request of a task (module params), or ValidationError naming the field."""
    ports = params.get("port")
    if not isinstance(ports, list) or not ports:
        raise ValidationError("port: give at least one UDP port")
    out, seen = [], {}
    for i, p in enumerate(ports):
        field = "port[%d]" % i
        port = check_port(field, p)
        if port in seen:
            raise ValidationError("%s: %d is listed twice (also %s)" % (field, port, seen[port]))
        seen[port] = field
        out.append(port)
    state = params.get("state") or "present"
    if params.get("exclusive") and state == "absent":
        raise ValidationError("exclusive: only with state=present")
    return {"state": state, "exclusive": bool(params.get("exclusive")), "ports": out}


def check_kernel(req, kernel):
    """ValidationError when a wanted port is taken by a FOU port of another kind (FOU direct,
    IPv6, or bound to an address or a device): this module neither changes nor removes those."""
    if req["state"] != "present":
        return
    for i, port in enumerate(req["ports"]):
        for k in kernel:
            if k["port"] == port and not is_plain_gue(k):
                raise ValidationError("port[%d]: UDP port %d is already a FOU port of another kind (%s); "
                                      "remove it first (ip fou del port %d ...)" % (i, port, describe(k), port))


def is_plain_gue(k):
    """An IPv4 GUE port on every local address: what this module adds (ip fou add port P gue)."""
    return k["family"] == 4 and k["type"] == "gue" and not k.get("bound")


def describe(k):
    """A FOU port (parse_port dict) in words: 'IPv4 gue bound to local, peer'."""
    words = ["IPv%d" % k["family"], k["type"]]
    if k.get("bound"):
        words.append("bound to " + ", ".join(k["bound"]))
    return " ".join(words)


def plan(req, kernel, old_state):
    """What to change: dict(add, delete, managed, data, after, kernel_change).

    kernel: the kernel's FOU ports; managed: the ports the state file holds after the task."""
    have = sorted(k["port"] for k in kernel if is_plain_gue(k))
    old = list((old_state or {}).get("ports", []))
    want = req["ports"]
    if req["state"] == "present":
        managed = [p for p in old if p in want or not req["exclusive"]]
        managed += [p for p in want if p not in managed]
        add = [p for p in want if p not in have]
        delete = [p for p in old if p not in want and p in have] if req["exclusive"] else []
    else:
        add = []
        delete = [p for p in want if p in have]
        managed = [p for p in old if p not in want]
    managed = sorted(managed)
    data = {"family": 4, "ports": managed} if managed else None
    after = sorted(set(have) - set(delete) | set(add))
    return {"add": add, "delete": delete, "managed": managed, "data": data, "after": after,
            "kernel_change": bool(add or delete)}
