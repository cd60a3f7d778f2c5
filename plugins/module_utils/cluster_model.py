# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canonical cluster description: ``cluster_model(lvs_cluster)`` validates the
description, adds the cross-field rules and returns the one canonical form the roles,
templates and playbooks read.

Pure Python (no Ansible import), shared by the filter plugins and the unit tests. The
layers below it, one job each:

* ``fields``: the vocabulary, the one gate every value passes before it is written into
  a file or command line (``word``, ``string``, ``number``, ``ifname``, ``ip``, ...);
  every error a ``FieldError`` (here ``ClusterModelError``) naming the field path
  (``lvs_cluster.services[1].realservers[0].port: ...``).
* ``cluster_spec``: ``SCHEMA`` and the spec tables of every block.
* ``cluster_validate``: ``validate(value, spec, path)``, a value checked against a spec.
* ``cluster_docs``: ``schema_markdown()``, docs/cluster-model.md generated from SCHEMA.

The names of those layers that the filters, keepalived_conf and the tests take from
here are re-exported below.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from collections.abc import Mapping

from ansible_collections.lvs.cluster.plugins.module_utils import fields
# re-exported: the filters, keepalived_conf and the tests take these names from here
from ansible_collections.lvs.cluster.plugins.module_utils.cluster_docs import (  # noqa: F401  pylint: disable=unused-import
    schema_markdown,
)
from ansible_collections.lvs.cluster.plugins.module_utils.cluster_spec import (  # noqa: F401  pylint: disable=unused-import
    CHECK_TYPES, CHECKER_SPEC, CONN_REUSE_FIXED, CONN_REUSE_MIN, DEFAULT_DELAY_LOOP, DEFAULT_MODE, DEFAULT_PROTOCOL,
    DEFAULT_SCHEDULER, DEFAULT_WEIGHT, FORWARD_OF_MODE, INSTANCE_SPEC, IPVS_SYSCTL_SPEC, LEGACY, NAME, REALSERVER_SPEC,
    SCHED_FLAGS, SCHEMA, SERVICE_SPEC, SYNC_DAEMON_SPEC, SYNC_GROUP_SPEC,
    TRACK_FILE_SPEC, TUN_FLAGS, TUN_SPEC, VIP_SPEC, VRRP_SCRIPT_SPEC, VS_GROUP_SPEC,
)
from ansible_collections.lvs.cluster.plugins.module_utils.cluster_validate import validate  # noqa: F401
from ansible_collections.lvs.cluster.plugins.module_utils.fields import (  # noqa: F401  pylint: disable=unused-import
    MAX_NUMBER, MAX_STRING, FieldError as ClusterModelError, checked_value, line as conf_line, number as conf_number,
    string as conf_string, text, word as conf_word,
)

_short = fields.short
_type_name = fields.type_name


def parse_ip(path, value):
    """An IPv4 or IPv6 address (no prefix) as ipaddress object (fields.ip)."""
    return fields.ip(path, value)


def parse_vip(path, value):
    """'address[/prefix]' -> (address, prefix or None) (fields.vip)."""
    return fields.vip(path, value)


# Bytes the director adds per tunnel type, beyond the outer IP header (kernel
# ip_vs_xmit.c, __ip_vs_get_out_rt: udphdr 8 + guehdr 4, +GUE_PLEN_REMCSUM 4 +
# GUE_LEN_PRIV 4 with remcsum; gre_calc_hlen: 4, +4 with the checksum).
TUN_ENCAP_BYTES = {"ipip": 0, "gue": 8 + 4, "gre": 4}
DEFAULT_TUN_TYPE = "ipip"  # what IPVS uses when the destination names none


def _tun_flags(rs):
    flags = rs.get("tun_flags") or []
    return [flags] if isinstance(flags, str) else list(flags)


def _check_tunnel(rs, rpath):
    """The tunnel options of a TUN real server, checked together (the kernel's and keepalived's rules)."""
    tun_type = rs.get("tun_type") or DEFAULT_TUN_TYPE
    if tun_type == "gue" and rs.get("tun_port") is None:
        raise ClusterModelError(rpath + ".tun_port", "is required with tun_type gue (the real server's GUE UDP port)")
    if tun_type != "gue" and rs.get("tun_port") is not None:
        raise ClusterModelError(rpath + ".tun_port", "only a gue tunnel has a port, not %s" % tun_type)
    flags = _tun_flags(rs)
    if flags and tun_type == "ipip":
        raise ClusterModelError(rpath + ".tun_flags", "checksum flags are for gue and gre tunnels, not ipip")
    if len(flags) > 1:
        raise ClusterModelError(rpath + ".tun_flags", "one of %s, not several" % ", ".join(TUN_FLAGS))
    for flag in flags:
        if flag not in TUN_FLAGS:
            raise ClusterModelError(rpath + ".tun_flags", "must be one of %s, not %r" % (", ".join(TUN_FLAGS), flag))
        if flag == "remcsum" and tun_type != "gue":
            raise ClusterModelError(rpath + ".tun_flags", "remcsum is for gue tunnels only")


# The device of a Linux real server that takes a tunnel's packets off: IPIP and GUE
# (the fou port hands the inner IPIP packet on) end on the IPIP fallback device tunl0,
# key-less GRE on the GRE fallback device gre0.
TUN_DEVICE = {"ipip": "tunl0", "gue": "tunl0", "gre": "gre0"}


def _add_tunnel(tunnels, svc, rs):
    """A real server's decapsulation needs for one TUN service: its VIP on the tunnel's
    device, the GUE port opened."""
    tun_type = rs.get("tun_type") or DEFAULT_TUN_TYPE
    if svc["address"] and svc["address"] not in tunnels[TUN_DEVICE[tun_type]]:
        tunnels[TUN_DEVICE[tun_type]].append(svc["address"])
    if tun_type == "gue" and rs["tun_port"] not in tunnels["gue_ports"]:
        tunnels["gue_ports"].append(rs["tun_port"])


def tun_mss(path_mtu, rs_family, vip_family, tun_type=None, tun_flags=()):
    """The largest TCP MSS whose segments still fit path_mtu once encapsulated by the director."""
    tun_type = tun_type or DEFAULT_TUN_TYPE
    outer = 20 if rs_family == 4 else 40
    encap = TUN_ENCAP_BYTES[tun_type]
    if tun_type == "gue" and "remcsum" in tun_flags:
        encap += 8
    if tun_type == "gre" and "csum" in tun_flags:
        encap += 4
    inner = (20 if vip_family == 4 else 40) + 20  # IP and TCP header of the client's segment
    return path_mtu - outer - encap - inner


# ---------------------------------------------------------------- the canonical model

def vip_address(vip):
    """'192.0.2.100/32' -> '192.0.2.100' (validated values only)."""
    return vip.split("/", 1)[0] if vip is not None else None


def _service_label(svc):
    if svc.get("fwmark") is not None:
        return "fwmark %s" % svc["fwmark"]
    if svc.get("group") is not None:
        return "group %s" % svc["group"]
    return "%s:%s" % (svc.get("vip"), svc.get("port"))


def _checks(obj):
    if obj.get("checks") is not None:
        return obj["checks"]
    return [obj["check"]] if obj.get("check") is not None else None


# IPv6 is built and proven for DR only (the ipv6 Molecule scenario). An IPv6 TUN real server
# needs an ip6tnl device to take the packets off the tunnel (the role sets up tunl0, IPv4's),
# IPv6 NAT needs the director's IPv6 forwarding and the real servers' route back through it:
# neither is prepared by the roles yet, so the description is refused rather than half-built.
IPV6_DR_ONLY = ("%s in a %s service: this collection prepares IPv6 services in DR mode only "
                "(IPv6 NAT and TUN real servers are not set up by its roles yet); use mode: dr")


def resolve_service(svc, path, cluster_mode=DEFAULT_MODE):
    """Service cross-field rules and resolved values (mode, forward, family, real server ports and checks)."""
    svc = dict(svc)
    if svc.get("fwmark") is not None and svc.get("vip") is not None:
        raise ClusterModelError(path + ".fwmark", "a service has either fwmark or vip, not both")
    if svc.get("group") is not None and (svc.get("vip") is not None or svc.get("fwmark") is not None):
        raise ClusterModelError(path + ".group", "a service has either group, fwmark or vip, only one")
    if svc.get("vip") is None and svc.get("fwmark") is None and svc.get("group") is None:
        raise ClusterModelError(path + ".vip", "is required (or fwmark, or group)")
    if svc.get("vip") is not None and svc.get("port") is None:
        raise ClusterModelError(path + ".port", "is required with vip")
    if svc.get("fwmark") is not None and svc.get("port") is not None:
        raise ClusterModelError(path + ".port", "a fwmark service has no port (the mark selects the traffic)")
    mode = svc.get("mode") or cluster_mode
    svc["mode"] = mode
    svc["forward"] = FORWARD_OF_MODE[mode]
    svc["address"] = vip_address(svc.get("vip"))
    svc["family"] = ipaddress.ip_address(svc["address"]).version if svc["address"] else None
    if svc["family"] == 6 and mode != "dr":
        raise ClusterModelError(path + ".vip", IPV6_DR_ONLY
                                % ("the IPv6 VIP %s" % svc["address"], mode))
    service_checks = _checks(svc)
    seen = {}
    realservers = []
    for i, rs0 in enumerate(svc.get("realservers") or []):
        rs = dict(rs0)
        rpath = "%s.realservers[%d]" % (path, i)
        family = ipaddress.ip_address(rs["address"]).version
        if svc["family"] and family != svc["family"] and mode != "tun":
            raise ClusterModelError(rpath + ".address", "an IPv%d real server behind the IPv%d VIP %s: the kernel "
                                    "forwards across address families only with tun, not %s"
                                    % (family, svc["family"], svc["address"], mode))
        if family == 6 and mode != "dr":
            raise ClusterModelError(rpath + ".address", IPV6_DR_ONLY % ("the IPv6 real server %s" % rs["address"], mode))
        if mode in ("dr", "tun") and rs.get("port") is not None and svc.get("port") not in (None, 0) \
                and rs["port"] != svc["port"]:
            raise ClusterModelError(rpath + ".port", "a %s real server keeps the service's port %s, not %s"
                                    % (mode.upper(), svc["port"], rs["port"]))
        if mode != "tun":
            for key in ("tun_type", "tun_port", "tun_flags"):
                if rs.get(key) is not None:
                    raise ClusterModelError("%s.%s" % (rpath, key), "applies to tun services only, not %s" % mode)
        else:
            _check_tunnel(rs, rpath)
        key = (rs["address"], rs.get("port", svc.get("port")))
        if key in seen:
            raise ClusterModelError(rpath, "duplicate real server %s port %s (also realservers[%d])"
                                    % (key[0], key[1], seen[key]))
        seen[key] = i
        rs["forward"] = svc["forward"]
        if rs.get("port") is None and svc.get("port") is not None:
            rs["port"] = svc["port"]  # the port the director sends to (a fwmark service has none)
        rs["checks"] = _checks(rs) if _checks(rs) is not None else (service_checks or [])
        rs.pop("check", None)
        if rs.get("inhibit_on_failure") is None:
            rs["inhibit_on_failure"] = bool(svc.get("inhibit_on_failure"))
        realservers.append(rs)
    svc["realservers"] = realservers
    svc["sched_flags"] = _sched_flags(svc, path)
    return svc


def _sched_flags(svc, path):
    """The service's scheduler flags, checked against its scheduler; mh gets mh-fallback by default."""
    value = svc.get("sched_flags")
    fpath = path + ".sched_flags"
    if value is None:
        # mh keeps a weight-0 real server in its lookup table: without the fallback the
        # connections hashed to a drained server find "no destination available"
        return ["mh-fallback"] if svc["scheduler"] == "mh" else None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)):
        raise ClusterModelError(fpath, "must be a list of flags, not %s" % _type_name(value))
    flags = []
    for i, flag in enumerate(value):
        if flag not in SCHED_FLAGS:
            raise ClusterModelError("%s[%d]" % (fpath, i), "must be one of %s, not %r"
                                    % (", ".join(sorted(SCHED_FLAGS)), flag))
        if SCHED_FLAGS[flag] != svc["scheduler"]:
            raise ClusterModelError("%s[%d]" % (fpath, i), "%s is a flag of the %s scheduler, not of %s"
                                    % (flag, SCHED_FLAGS[flag], svc["scheduler"]))
        if flag not in flags:
            flags.append(flag)
    if svc["scheduler"] == "mh" and "mh-fallback" not in flags:
        for r, rs in enumerate(svc["realservers"]):
            why = "weight: 0" if rs["weight"] == 0 else "inhibit_on_failure (weight 0 when its check fails)" \
                if rs["inhibit_on_failure"] else None
            if why:
                raise ClusterModelError(fpath, "needs mh-fallback: realservers[%d] has %s, and mh drops the new "
                                        "connections hashed to a weight-0 real server without it "
                                        "(no destination available)" % (r, why))
    return sorted(flags)


def instance_rules(instances, path, global_defs=None, service_vips=()):
    """The rules between VRRP instances (names, VRIDs, one VIP in one instance) and within each
    (families, authentication, advert_int, vrrp_strict); ClusterModelError naming the field."""
    names = {}
    vrids = {}
    carriers = {}
    for i, inst in enumerate(instances):
        ipath = "%s[%d]" % (path, i)
        if inst["name"] in names:
            raise ClusterModelError(ipath + ".name", "duplicate instance name %s (also %s[%d])"
                                    % (inst["name"], path, names[inst["name"]]))
        names[inst["name"]] = i
        # one VIP in one instance: two instances carrying it fight over it (both MASTERs add
        # it, the first to go BACKUP deletes it under the other)
        for n, vip in enumerate(inst.get("vips") or []):
            address = ipaddress.ip_address(vip_address(vip if isinstance(vip, str) else vip["address"]))
            vpath = "%s.vips[%d]" % (ipath, n)
            if address in carriers:
                raise ClusterModelError(vpath, "%s is also carried by %s: one VIP belongs to one VRRP instance"
                                        % (address, carriers[address]))
            carriers[address] = vpath
        _family_rules(inst, ipath)
        families = set(ipaddress.ip_address(vip_address(v if isinstance(v, str) else v["address"])).version
                       for v in inst.get("vips") or []) or {4}
        for family in families:
            key = (inst["interface"], inst["virtual_router_id"], family)
            if key in vrids and not (inst.get("unicast_peers") or inst.get("unicast_from_inventory")):
                raise ClusterModelError(ipath + ".virtual_router_id", "VRID %s is already used on %s by %s[%d]"
                                        % (key[1], key[0], path, vrids[key]))
            vrids[key] = i
        if inst.get("unicast_from_inventory") and (inst.get("unicast_peers") or inst.get("unicast_src_ip")):
            raise ClusterModelError(ipath + ".unicast_from_inventory", "give either unicast_from_inventory or "
                                    "unicast_peers/unicast_src_ip, not both")
        auth = inst.get("authentication")
        if auth is not None and len(auth["pass"]) > 8:
            raise ClusterModelError(ipath + ".authentication.pass", "is %d characters long: keepalived uses "
                                    "only the first 8" % len(auth["pass"]))
        if auth is not None and inst.get("version") == 3:
            raise ClusterModelError(ipath + ".authentication", "VRRP version 3 has no authentication")
        if isinstance(inst.get("advert_int"), float) and inst["advert_int"] < 1 and inst.get("version") != 3:
            raise ClusterModelError(ipath + ".advert_int", "sub-second adverts need version: 3")
        if global_defs and global_defs.get("vrrp_strict") and not inst.get("accept"):
            carried = [vip_address(v if isinstance(v, str) else v["address"]) for v in inst.get("vips") or []]
            hit = [v for v in carried if v in service_vips]
            if hit:
                raise ClusterModelError(ipath + ".accept", "vrrp_strict drops traffic to the VIP %s, which carries "
                                        "a virtual server: set accept: true" % hit[0])


def _family_rules(inst, ipath):
    """One address family per instance; an IPv6 instance is VRRPv3 with a link-local first VIP.

    keepalived runs a VRRP instance in one family (the first VIP's) and sends IPv6 adverts
    only with VRRP version 3; RFC 5798 5.2.9 puts the virtual router's link-local address
    first in an IPv6 advert, and keepalived warns "the first IPv6 VIP address should be
    link local" (a configuration error under vrrp_strict, the FAULT of keepalived #1354).
    The model does not invent that address (it must be the same on every director and
    unique per VRID on the link): it asks for it, naming the field."""
    vips = inst.get("vips") or []
    if not vips:
        return
    ips = [ipaddress.ip_address(vip_address(v if isinstance(v, str) else v["address"])) for v in vips]
    family = ips[0].version
    for n, ip in enumerate(ips):
        if ip.version != family:
            raise ClusterModelError("%s.vips[%d]" % (ipath, n), "%s is IPv%d but the instance's first VIP %s is "
                                    "IPv%d: keepalived runs an instance in one address family; put it in an "
                                    "instance of its own" % (ip, ip.version, ips[0], family))
    for key in ("unicast_src_ip", "mcast_src_ip"):
        if inst.get(key) is not None and ipaddress.ip_address(inst[key]).version != family:
            raise ClusterModelError("%s.%s" % (ipath, key), "%s is not IPv%d like the instance's VIPs"
                                    % (inst[key], family))
    for n, peer in enumerate(inst.get("unicast_peers") or []):
        if ipaddress.ip_address(peer).version != family:
            raise ClusterModelError("%s.unicast_peers[%d]" % (ipath, n), "%s is not IPv%d like the instance's "
                                    "VIPs" % (peer, family))
    if family != 6:
        return
    if inst.get("version") != 3:
        raise ClusterModelError(ipath + ".version", "an IPv6 instance runs VRRP version 3 (VRRPv2 has no IPv6): "
                                "set version: 3%s" % ("" if inst.get("version") is None else ", not 2"))
    if not ips[0].is_link_local:
        raise ClusterModelError("%s.vips[0]" % ipath, "the first VIP of an IPv6 instance must be link-local "
                                "(fe80::/10), not %s: keepalived sends it first in the VRRPv3 advert (RFC 5798 "
                                "5.2.9; keepalived #1354); add one before it, the same on every director and "
                                "unique on the link, e.g. fe80::%x:1/64" % (ips[0], inst["virtual_router_id"]))


def instance_vip_addresses(inst):
    """The addresses (no prefix length) of an instance's vips, each given as a string or a {address: ...} dict."""
    return [vip_address(v if isinstance(v, str) else v["address"]) for v in inst.get("vips") or []]


def cluster_model(lvs_cluster, directors=None, path="lvs_cluster"):
    """The canonical description: validated, aliases resolved, every default applied.

    directors: the inventory names of the directors (group lvs_directors), for the rule
    "two directors must not both carry a VIP without VRRP".
    """
    if lvs_cluster is None:
        lvs_cluster = {}
    cluster = validate(lvs_cluster, SCHEMA, path)
    if cluster.get("tun") is None:
        cluster["tun"] = validate({}, TUN_SPEC, path + ".tun")  # its defaults: the canonical form has them all
    services = [resolve_service(svc, "%s.services[%d]" % (path, i), cluster["mode"])
                for i, svc in enumerate(cluster["services"])]
    names = {}
    for i, svc in enumerate(services):
        ident = (svc["protocol"], svc["address"], svc.get("port")) if svc["address"] else \
            ("fwmark", svc.get("fwmark")) if svc.get("fwmark") is not None else ("group", svc["group"], svc.get("port"))
        if ident in names:
            raise ClusterModelError("%s.services[%d]" % (path, i), "duplicate service %s (also services[%d])"
                                    % (_service_label(svc), names[ident]))
        names[ident] = i
    groups = [g["name"] for g in cluster["virtual_server_groups"]]
    for i, svc in enumerate(services):
        if svc.get("group") is not None and svc["group"] not in groups:
            raise ClusterModelError("%s.services[%d].group" % (path, i),
                                    "no virtual_server_group is named %s" % svc["group"])
    vrrp = cluster.get("vrrp")
    vips = []
    for svc in services:
        if svc["address"] and svc["address"] not in vips:
            vips.append(svc["address"])
    if vrrp is not None:
        instance_rules(vrrp["instances"], path + ".vrrp.instances", service_vips=vips)
        carried = [a for inst in vrrp["instances"] for a in instance_vip_addresses(inst)]
        for i, svc in enumerate(services):
            if svc["address"] and svc["address"] not in carried:
                raise ClusterModelError("%s.services[%d].vip" % (path, i), "%s is on no VRRP instance: no director "
                                        "would carry it (add it to an instance's vips)" % svc["address"])
        for inst in vrrp["instances"]:
            inst["addresses"] = instance_vip_addresses(inst)  # the VIPs without prefix
        inames = [inst["name"] for inst in vrrp["instances"]]
        scripts = [script["name"] for script in vrrp["scripts"]]
        for i, inst in enumerate(vrrp["instances"]):
            for t, tracked in enumerate(inst.get("track_scripts") or []):
                name = tracked.get("name") if isinstance(tracked, Mapping) else tracked
                if vrrp["scripts"] and name not in scripts:
                    raise ClusterModelError("%s.vrrp.instances[%d].track_scripts[%d]" % (path, i, t),
                                            "no script in lvs_cluster.vrrp.scripts is named %s" % name)
        files = [track["name"] for track in vrrp["track_files"]]
        for i, inst in enumerate(vrrp["instances"]):
            for t, tracked in enumerate(inst.get("track_files") or []):
                name = tracked.get("name") if isinstance(tracked, Mapping) else tracked
                if vrrp["track_files"] and name not in files:
                    raise ClusterModelError("%s.vrrp.instances[%d].track_files[%d]" % (path, i, t),
                                            "no entry of lvs_cluster.vrrp.track_files is named %s" % name)
        for g, group in enumerate(vrrp["sync_groups"]):
            for m, member in enumerate(group["group"]):
                if member not in inames:
                    raise ClusterModelError("%s.vrrp.sync_groups[%d].group[%d]" % (path, g, m),
                                            "no VRRP instance is named %s" % member)
        daemon = vrrp.get("sync_daemon")
        if daemon is not None and daemon["instance"] not in inames:
            raise ClusterModelError(path + ".vrrp.sync_daemon.instance", "no VRRP instance is named %s"
                                    % daemon["instance"])

    realservers = {}
    for svc in services:
        for rs in svc["realservers"]:
            if not rs.get("host"):
                continue
            entry = realservers.setdefault(rs["host"], {
                "services": [], "vips": {"dr": [], "tun": [], "nat": [], "dr_tun": []}, "addresses": [],
                "tun_mss": [], "tunnels": {"tunl0": [], "gre0": [], "gue_ports": []}})
            entry["services"].append(_realserver_service(svc, rs))
            if svc["address"] and svc["address"] not in entry["vips"][svc["mode"]]:
                entry["vips"][svc["mode"]].append(svc["address"])
            # DR and TUN VIPs in service order: the ones a real server carries without answering ARP
            if svc["mode"] in ("dr", "tun") and svc["address"] and svc["address"] not in entry["vips"]["dr_tun"]:
                entry["vips"]["dr_tun"].append(svc["address"])
            if svc["mode"] == "tun":
                _add_tunnel(entry["tunnels"], svc, rs)
            if svc["mode"] == "tun" and svc["address"] and svc["protocol"] == "tcp" and cluster["tun"]["clamp_mss"]:
                _add_tun_mss(entry["tun_mss"], svc, rs, cluster["tun"])
            if rs["address"] not in entry["addresses"]:
                entry["addresses"].append(rs["address"])
    modes = [svc["mode"] for svc in services]
    cluster["services"] = services
    cluster["director"] = {
        "vips": vips,
        # NAT directors route the real servers' replies: any NAT service needs ip_forward
        "ip_forward": "nat" in modes,
        "modes": sorted(set(modes)),
        "keepalived": vrrp is not None,
        "schedulers": sorted(set(svc["scheduler"] for svc in services)),
        # net.ipv4.vs.* settings, every default applied (conn_reuse_mode "auto" is resolved
        # per director by director_sysctls, from its kernel version)
        "ipvs_sysctl": validate((cluster.get("ipvs") or {}).get("sysctl") or {}, IPVS_SYSCTL_SPEC,
                                path + ".ipvs.sysctl"),
    }
    cluster["realservers"] = realservers
    # the services as lvs.cluster.ipvs_table takes them, so that the roles read them without a filter
    cluster["director"]["ipvs_services"] = ipvs_services(cluster)
    check_directors(cluster, directors, path)
    return cluster


def check_directors(model, directors, path="lvs_cluster"):
    """The rule that needs the inventory: several directors (inventory names) without VRRP
    would each carry every VIP. model: cluster_model's result."""
    vips = model["director"]["vips"]
    if model.get("vrrp") is None and directors is not None and len(directors) > 1 and vips:
        raise ClusterModelError(path + ".vrrp", "is required with %d directors (%s): without VRRP each of them "
                                "would carry %s" % (len(directors), ", ".join(directors), ", ".join(vips)))
    return model


def _add_tun_mss(entries, svc, rs, tun):
    """One {address, mss} per TUN VIP of a real server: the smallest MSS of its services there."""
    rs_family = ipaddress.ip_address(rs["address"]).version
    mss = tun.get("mss") or tun_mss(tun["path_mtu"], rs_family, svc["family"], rs.get("tun_type"), _tun_flags(rs))
    for entry in entries:
        if entry["address"] == svc["address"]:
            entry["mss"] = min(entry["mss"], mss)
            return
    entries.append({"address": svc["address"], "mss": mss})


def _realserver_service(svc, rs):
    """A service as one real server sees it (the shape of the realserver_services filter)."""
    item = dict((k, v) for k, v in svc.items() if k != "realservers")
    item["realserver"] = rs
    return item


def kernel_version(release):
    """(major, minor) of a kernel release string ("6.1.0-27-amd64"), or None."""
    match = re.match(r"\s*(\d+)\.(\d+)", str(release or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def director_sysctls(model, kernel_release):
    """{net.ipv4.vs.<name>: "value"} for one director, from the canonical model's
    director.ipvs_sysctl; conn_reuse_mode "auto" resolved by the director's kernel
    (kernel_release as uname -r prints it)."""
    settings = model["director"]["ipvs_sysctl"]
    out = {}
    for name in sorted(settings):
        value = settings[name]
        if name == "conn_reuse_mode" and value == "auto":
            version = kernel_version(kernel_release)
            if version is None:
                raise ClusterModelError("lvs_cluster.ipvs.sysctl.conn_reuse_mode", "auto needs the director's "
                                        "kernel version, not %r: give 0, 1 or 2" % _short(str(kernel_release)))
            if version < CONN_REUSE_MIN:
                continue  # the kernel has no conn_reuse_mode
            value = "1" if version >= CONN_REUSE_FIXED else "0"
        out["net.ipv4.vs." + name] = str(int(value)) if isinstance(value, bool) else value
    return out


def ipvs_services(model):
    """The canonical services in the format of lvs.cluster.ipvs_table."""
    out = []
    for svc in model["services"]:
        entry = {"scheduler": svc["scheduler"]}
        if svc.get("fwmark") is not None:
            entry["fwmark"] = svc["fwmark"]
        else:
            entry.update(protocol=svc["protocol"], address=svc["address"], port=svc.get("port"))
        for key in ("persistence", "netmask", "sched_flags", "one_packet"):
            if svc.get(key) is not None:
                entry[key] = svc[key]
        entry["destinations"] = []
        for rs in svc["realservers"]:
            dest = {"address": rs["address"], "forward": rs["forward"], "weight": rs["weight"]}
            for key in ("port", "upper_threshold", "lower_threshold", "tun_type", "tun_port"):
                if rs.get(key) is not None:
                    dest[key] = rs[key]
            if _tun_flags(rs):
                dest["tun_flags"] = _tun_flags(rs)[0]  # one flag (checked): ipvs_table takes it as a word
            entry["destinations"].append(dest)
        out.append(entry)
    return out
