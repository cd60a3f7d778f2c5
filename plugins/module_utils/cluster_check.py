# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The whole description checked with the inventory (lvs.cluster.cluster_check), pure."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import ClusterModelError, cluster_model


def inventory_errors(model, directors, realserver_hosts, path="lvs_cluster"):
    """The first rule of the inventory a canonical model breaks, as ClusterModelError (else None)."""
    known = set(directors) | set(realserver_hosts)
    for i, svc in enumerate(model.get("services") or []):
        for j, rs in enumerate(svc.get("realservers") or []):
            host = rs.get("host")
            if host and host not in known:
                return ClusterModelError("%s.services[%d].realservers[%d].host" % (path, i, j),
                                         "%s is no host of the groups lvs_realservers_linux, lvs_realservers_windows "
                                         "or lvs_directors: no role would configure it" % host)
    return None


def check(cluster, directors, realserver_hosts):
    """None when the description is valid for this inventory, else the error message (field path first)."""
    try:
        model = cluster_model(cluster or {}, directors=list(directors or []))
        error = inventory_errors(model, directors or [], realserver_hosts or [])
    except ClusterModelError as exc:
        return str(exc)
    return str(error) if error else None
