# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the running kernel offers, for validation before the first change."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.lvs.cluster.plugins.module_utils.fields import SCHEDULERS


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def available_schedulers(release=None, root="/"):
    """Names of the IPVS schedulers the kernel has loaded (/proc/modules), built in or can load
    (modules.builtin, modules.dep); None when this cannot be told (no /lib/modules for the kernel).
    The one such check: ipvs_service and ipvs_table both use it."""
    release = release or os.uname()[2]
    moddir = os.path.join(root, "lib/modules", release)
    if not os.path.isdir(moddir):
        return None
    names = set()
    for text in (_read(os.path.join(root, "proc/modules")), _read(os.path.join(moddir, "modules.builtin")),
                 _read(os.path.join(moddir, "modules.dep"))):
        for m in re.finditer(r"(?:^|/)ip_vs_([a-z0-9]+)(?:\.ko\S*)?[ :]?", text or "", re.M):
            names.add(m.group(1))
    return names


def check_scheduler(field, scheduler, available):
    """Error text when scheduler is known not to be available, else None."""
    if available is None or scheduler in available:
        return None
    return ("%s: the kernel has no %r scheduler (module ip_vs_%s is neither loaded, built in nor "
            "installed; available: %s)" % (field, scheduler, scheduler,
                                           ", ".join(sorted(available & set(SCHEDULERS))) or "none"))
