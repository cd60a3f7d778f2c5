# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read the cluster description (docs/cluster-model.md).

The roles derive their defaults from ``lvs_cluster`` with these, so the rule
"which VIPs does this real server serve, in which mode" lives in one place.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

MODES = {"nat": "masq", "dr": "route", "tun": "tunnel"}


def _mode(service, cluster):
    mode = service.get("mode") or cluster.get("mode") or "dr"
    if mode not in MODES:
        raise ValueError("lvs_cluster: service %s: mode must be nat, dr or tun, not %r"
                         % (service.get("name", service.get("vip")), mode))
    return mode


def _vip(value):
    return str(value).split("/", maxsplit=1)[0] if value is not None else None


def cluster_services(cluster):
    """lvs_cluster.services as lvs.cluster.ipvs_table services."""
    out = []
    for svc in (cluster or {}).get("services", []) or []:
        mode = _mode(svc, cluster)
        entry = {"scheduler": svc.get("scheduler", "wlc")}
        if svc.get("fwmark"):
            entry["fwmark"] = svc["fwmark"]
        else:
            entry.update(protocol=svc.get("protocol", "tcp"), address=_vip(svc.get("vip")), port=svc.get("port"))
        for key in ("persistence", "netmask", "sched_flags", "one_packet"):
            if svc.get(key) is not None:
                entry[key] = svc[key]
        entry["destinations"] = []
        for rs in svc.get("realservers", []) or []:
            dest = {"address": rs["address"], "forward": MODES[mode], "weight": rs.get("weight", 1)}
            if rs.get("port") is not None:
                dest["port"] = rs["port"]
            for key in ("upper_threshold", "lower_threshold", "tun_type", "tun_port"):
                if rs.get(key) is not None:
                    dest[key] = rs[key]
            entry["destinations"].append(dest)
        out.append(entry)
    return out


def realserver_services(cluster, host):
    """Services whose realservers name host, each with 'mode' resolved and 'realserver' (this host's entry)."""
    out = []
    for svc in (cluster or {}).get("services", []) or []:
        for rs in svc.get("realservers", []) or []:
            if rs.get("host") == host:
                item = dict(svc)
                item["mode"] = _mode(svc, cluster)
                item["realserver"] = rs
                out.append(item)
    return out


def realserver_vips(cluster, host, modes=("dr", "tun")):
    vips = []
    for svc in realserver_services(cluster, host):
        vip = _vip(svc.get("vip"))
        if svc["mode"] in modes and vip and vip not in vips:
            vips.append(vip)
    return vips


class FilterModule(object):
    def filters(self):
        return {
            "cluster_services": cluster_services,
            "realserver_services": realserver_services,
            "realserver_vips": realserver_vips,
        }
