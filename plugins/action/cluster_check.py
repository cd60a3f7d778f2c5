# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""lvs.cluster.cluster_check on the controller: the description never leaves it (it holds the
VRRP password, which a module's logged arguments would show) and no host is contacted."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_check import check


class ActionModule(ActionBase):
    """Validate lvs_cluster with the inventory's directors and real servers; fail with the field path."""
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("cluster", "directors", "realserver_hosts"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        error = check(args.get("cluster"), args.get("directors"), args.get("realserver_hosts"))
        result["changed"] = False
        if error:
            result.update(failed=True, msg=error)
        return result
