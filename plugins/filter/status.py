# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the status playbook (playbooks/status.yml); the logic is
plugins/module_utils/lvs_status.py (pure, unit-tested)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_status


def director_status(model, director, addresses, keepalived, services):
    """One director's status from the canonical model, `ip -o addr show`, keepalived_info and ipvs_info."""
    return lvs_status.director_status(director, model, addresses, keepalived, services)


def cluster_status(statuses, directors):
    """Every director's status, split brain findings and the directors without a status."""
    return lvs_status.cluster_status(statuses or {}, list(directors or []))


def status_lines(cluster):
    """The cluster status as printed lines."""
    return lvs_status.status_lines(cluster)


class FilterModule(object):
    def filters(self):
        return {
            "director_status": director_status,
            "cluster_status": cluster_status,
            "status_lines": status_lines,
        }
