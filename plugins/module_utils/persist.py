# -*- coding: utf-8 -*-
# Copyright: lvs.cluster developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot persistence shared by the host modules (arp_sysctl, gue_port, policy_route,
source_advmss, vip_address) and ipvs_global (IPVS timeouts, which neither
ipvsadm-save nor keepalived restores).

Each module writes a declarative JSON state file under /etc/lvs-cluster/
(``<kind>-<name>.json``). One boot hook owned by the collection replays them:

* /usr/local/sbin/lvs-cluster-net   the replay script (``apply``, ``show``),
  Python 3 standard library only, running ``ip``, ``sysctl`` and ``ipvsadm``;
* /etc/init.d/lvs-cluster-net       LSB init script (rcS), enabled with update-rc.d;
* /etc/systemd/system/lvs-cluster-net.service   oneshot unit for systemd hosts.

The hook is installed with the first state file and removed with the last.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import tempfile

from ansible_collections.lvs.cluster.plugins.module_utils.steps import StepError
from ansible_collections.lvs.cluster.plugins.module_utils.host import boot_replay  # noqa: F401  (packaged with the modules)

STATE_DIR = "/etc/lvs-cluster"
SCRIPT_PATH = "/usr/local/sbin/lvs-cluster-net"
INIT_PATH = "/etc/init.d/lvs-cluster-net"
UNIT_PATH = "/etc/systemd/system/lvs-cluster-net.service"
UNIT_WANTS = "/etc/systemd/system/multi-user.target.wants/lvs-cluster-net.service"
SERVICE = "lvs-cluster-net"
KINDS = ("vip", "gue_port", "sysctl", "policy_route", "source_advmss", "ipvs")


def _boot_script():
    """The boot program's source (module_utils/host/boot_replay.py), with a shebang."""
    import inspect
    import pkgutil
    try:
        src = pkgutil.get_data("ansible_collections.lvs.cluster.plugins.module_utils.host",
                               "boot_replay.py").decode("utf-8")
    except (IOError, OSError, ValueError, AttributeError):
        src = inspect.getsource(boot_replay)
    return "#!/usr/bin/python3\n" + src


BOOT_SCRIPT = _boot_script()

INIT_SCRIPT = """#!/bin/sh
### BEGIN INIT INFO
# Provides:          lvs-cluster-net
# Required-Start:    $local_fs $network
# Required-Stop:
# Should-Start:      procps networking
# X-Start-Before:    keepalived ipvsadm
# Default-Start:     S
# Default-Stop:
# Short-Description: lvs.cluster: re-apply VIPs, sysctls, policy routes, IPVS timeouts
# Description:       Replays /etc/lvs-cluster/*.json (written by the lvs.cluster
#                    modules vip_address, arp_sysctl, policy_route, ipvs_global).
### END INIT INFO
# Written by the lvs.cluster collection; do not edit.
PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
case "$1" in
  start|restart|force-reload|reload)
    %(script)s apply
    ;;
  stop|status)
    exit 0
    ;;
  *)
    echo "Usage: $0 {start|stop|restart|reload|force-reload|status}" >&2
    exit 3
    ;;
esac
exit 0
""" % {"script": SCRIPT_PATH}

UNIT = """# Written by the lvs.cluster collection; do not edit.
[Unit]
Description=lvs.cluster: re-apply VIPs, sysctls, policy routes and IPVS timeouts
Wants=network-online.target
After=network-online.target systemd-sysctl.service systemd-modules-load.service
Before=keepalived.service ipvsadm.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%(script)s apply

[Install]
WantedBy=multi-user.target
""" % {"script": SCRIPT_PATH}

HOOK_FILES = ((SCRIPT_PATH, BOOT_SCRIPT, 0o755), (INIT_PATH, INIT_SCRIPT, 0o755), (UNIT_PATH, UNIT, 0o644))


def safe_name(name):
    """File-name-safe form of a state name (interface, table name)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def state_path(kind, name, state_dir=STATE_DIR):
    """The path of the state file of kind and name in state_dir: KIND-NAME.json."""
    return os.path.join(state_dir, "%s-%s.json" % (kind, safe_name(name)))


def render_state(kind, name, data):
    """The JSON text of a state file: data with kind, name and version 1, keys sorted."""
    state = {"kind": kind, "name": name, "version": 1}
    state.update(data)
    return json.dumps(state, indent=2, sort_keys=True) + "\n"


def read_text(path):
    """The content of the file at path, or None if it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def read_json(path):
    """The parsed JSON of the file at path, or None if it is missing, unreadable or not JSON."""
    text = read_text(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def write_atomic(path, content, mode=0o644):
    """Write through a unique temporary file in the same folder, fsync it, rename it
    over path and fsync the folder: a crash leaves the old or the new file, never half."""
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.makedirs(d, 0o755)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".%s." % os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(d)


def fsync_dir(d):
    """fsync the directory d so a rename or unlink in it is durable; errors are ignored."""
    try:
        dfd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def restore_file(path, content, mode=0o644):
    """Put a file back as it was read (content None: it did not exist)."""
    if content is None:
        remove(path)
    elif read_text(path) != content:
        write_atomic(path, content, mode)


def remove(path):
    """Delete the file at path (and fsync its directory); True if deleted, False if it could not be."""
    try:
        os.unlink(path)
        fsync_dir(os.path.dirname(path))
        return True
    except (IOError, OSError):
        return False


def other_states(exclude, state_dir=STATE_DIR):
    """The names of the .json state files in state_dir other than the path exclude, sorted; [] if no such dir."""
    if not os.path.isdir(state_dir):
        return []
    return [f for f in sorted(os.listdir(state_dir))
            if f.endswith(".json") and os.path.join(state_dir, f) != exclude]


def _rc_links():
    links = []
    for d in ("/etc/rcS.d", "/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d"):
        if os.path.isdir(d):
            links += [os.path.join(d, f) for f in os.listdir(d)
                      if re.match(r"^[SK]\d\d%s$" % re.escape(SERVICE), f)]
    return links


def hook_needs_install():
    """Whether the boot hook is missing or stale: a hook file's content differs, the systemd wants link
    is missing, or /etc/init.d exists without rc links."""
    for path, content, _mode in HOOK_FILES:
        if read_text(path) != content:
            return True
    if not os.path.islink(UNIT_WANTS):
        return True
    return os.path.isdir("/etc/init.d") and not _rc_links()


class HookError(StepError):
    """The boot hook could not be installed (a helper program failed); what this call
    installed is removed again before it is raised."""


def ensure_hook(module):
    """Install the boot hook (script, init script, unit) and enable it.
    Returns True when something changed (or would in check mode); HookError, with
    what it installed removed again, when a helper program fails."""
    if not hook_needs_install():
        return False
    if module.check_mode:
        return True
    before = [(path, read_text(path), mode) for path, _content, mode in HOOK_FILES]
    made_link = False
    try:
        for path, content, mode in HOOK_FILES:
            if read_text(path) != content:
                write_atomic(path, content, mode)
        if not os.path.islink(UNIT_WANTS):
            if not os.path.isdir(os.path.dirname(UNIT_WANTS)):
                os.makedirs(os.path.dirname(UNIT_WANTS), 0o755)
            os.symlink(UNIT_PATH, UNIT_WANTS)
            made_link = True
        if not _rc_links():
            update_rc = module.get_bin_path("update-rc.d")
            if update_rc:
                # _SKIP_SYSTEMD_NATIVE: the unit is enabled above, by its symlink.
                rc, _out, err = module.run_command([update_rc, SERVICE, "defaults"],
                                                   environ_update={"_SKIP_SYSTEMD_NATIVE": "1"})
                if rc != 0:
                    raise HookError("update-rc.d %s defaults failed (rc %d): %s" % (SERVICE, rc, err.strip()))
    except Exception:
        if made_link:
            remove(UNIT_WANTS)
        for path, content, mode in before:
            restore_file(path, content, mode)
        raise
    if os.path.isdir("/run/systemd/system"):
        systemctl = module.get_bin_path("systemctl")
        if systemctl:
            module.run_command([systemctl, "daemon-reload"])
    return True


def remove_hook_if_unused(module, exclude):
    """Remove the boot hook when no state file other than `exclude` remains."""
    if other_states(exclude):
        return False
    present = [p for p, _c, _m in HOOK_FILES if os.path.exists(p)] + _rc_links()
    if os.path.islink(UNIT_WANTS):
        present.append(UNIT_WANTS)
    if not present:
        return False
    if module.check_mode:
        return True
    update_rc = module.get_bin_path("update-rc.d")
    if update_rc and _rc_links():
        module.run_command([update_rc, "-f", SERVICE, "remove"],
                           environ_update={"_SKIP_SYSTEMD_NATIVE": "1"})
    for link in _rc_links():
        remove(link)
    if os.path.islink(UNIT_WANTS):
        remove(UNIT_WANTS)
    for path, _c, _m in HOOK_FILES:
        remove(path)
    if os.path.isdir(STATE_DIR) and not os.listdir(STATE_DIR):
        os.rmdir(STATE_DIR)
    return True


def sync_state(module, kind, name, data):
    """Write (data is not None) or remove (data is None) one state file and
    install / remove the boot hook accordingly. Returns (changed, path)."""
    path = state_path(kind, name)
    changed = False
    if data is None:
        if os.path.exists(path):
            changed = True
            if not module.check_mode:
                remove(path)
        changed = remove_hook_if_unused(module, path) or changed
        return changed, path
    content = render_state(kind, name, data)
    old = read_text(path)
    if old != content:
        changed = True
        if not module.check_mode:
            write_atomic(path, content, 0o644)
    try:
        changed = ensure_hook(module) or changed
    except Exception:
        if not module.check_mode:
            restore_file(path, old)  # the state file goes back with the hook: one step, all or nothing
        raise
    return changed, path
