# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read the cluster description (docs/cluster-model.md).

All of them go through plugins/module_utils/cluster_model.py: ``lvs_cluster``
is validated and translated once, in Python, and the roles, templates and
playbooks read only the canonical form. A description error is an
AnsibleFilterError whose message starts with the field path.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import (
    ClusterModelError, check_directors as _check_directors, checked_value as _checked_value,
    cluster_model as _cluster_model, director_sysctls as _director_sysctls, ipvs_services,
)
from ansible_collections.lvs.cluster.plugins.module_utils.keepalived_conf import (
    digest_sources as _digest_sources, keepalived_conf as _keepalived_conf,
)


def _model(cluster, directors=None):
    try:
        return _cluster_model(cluster or {}, directors=directors)
    except ClusterModelError as e:
        raise AnsibleFilterError(str(e))


def cluster_model(cluster, directors=None):
    """lvs_cluster validated, with every default resolved (the canonical description)."""
    return _model(cluster, directors)


def check_directors(model, directors):
    """The canonical model (cluster_model's result), refused when several directors would each carry every VIP."""
    try:
        return _check_directors(model, directors)
    except ClusterModelError as e:
        raise AnsibleFilterError(str(e))
    except (KeyError, TypeError):
        raise AnsibleFilterError("check_directors: the input must be the result of lvs.cluster.cluster_model")


def director_sysctls(model, kernel_release):
    """{net.ipv4.vs.<name>: value} of one director from the canonical model (cluster_model's result)."""
    try:
        return _director_sysctls(model, kernel_release)
    except ClusterModelError as e:
        raise AnsibleFilterError(str(e))
    except (KeyError, TypeError):
        raise AnsibleFilterError("director_sysctls: the input must be the result of lvs.cluster.cluster_model")


def cluster_services(cluster):
    """lvs_cluster.services as lvs.cluster.ipvs_table services."""
    return ipvs_services(_model(cluster))


def realserver_services(cluster, host):
    """Services whose realservers name host, each with 'mode' resolved and 'realserver' (this host's entry)."""
    return _model(cluster)["realservers"].get(host, {}).get("services", [])


def realserver_vips(cluster, host, modes=("dr", "tun")):
    """The VIPs (addresses) of the services in one of modes that list host, each once, in service order."""
    vips = []
    for svc in realserver_services(cluster, host):
        if svc["mode"] in modes and svc["address"] and svc["address"] not in vips:
            vips.append(svc["address"])
    return vips


def checked_value(value, path, kind="word"):
    """value, checked for a file or command line (see cluster_model.checked_value); errors name path."""
    try:
        return _checked_value(path, value, kind)
    except ClusterModelError as e:
        raise AnsibleFilterError(str(e))


def keepalived_conf(global_defs, **kwargs):
    """keepalived.conf text from the keepalived role's variables, every value checked (see keepalived_conf.py)."""
    try:
        return _keepalived_conf(global_defs=global_defs, **kwargs)
    except ClusterModelError as e:
        raise AnsibleFilterError(str(e))


def keepalived_digest_sources(virtual_servers, **kwargs):
    try:
        return _digest_sources(virtual_servers, **kwargs)
    except ClusterModelError as e:
        raise AnsibleFilterError(str(e))


class FilterModule(object):
    def filters(self):
        return {
            "check_directors": check_directors,
            "checked_value": checked_value,
            "cluster_model": cluster_model,
            "cluster_services": cluster_services,
            "director_sysctls": director_sysctls,
            "keepalived_conf": keepalived_conf,
            "keepalived_digest_sources": keepalived_digest_sources,
            "realserver_services": realserver_services,
            "realserver_vips": realserver_vips,
        }
