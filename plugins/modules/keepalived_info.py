#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: keepalived_info
short_description: Read the running keepalived's own view of its VRRP instances
version_added: "0.1.0"
description:
  - Asks the running keepalived (its PID file) for a dump of its VRRP state and returns each instance's
    state (V(MASTER), V(BACKUP), V(FAULT), ...), virtual router ID, priorities, VIPs and counters.
  - On a keepalived built with JSON support (C(keepalived -v) lists C(JSON) among its config options;
    Debian 12's 2.2.7 is), the signal C(keepalived --signum=JSON) names makes keepalived write
    C(keepalived.json) in its C(TMPDIR); otherwise the signal C(keepalived --signum=DATA) names makes it
    write the text dump C(keepalived.data), whose VRRP section is read. Signal numbers are asked from
    keepalived, never assumed (a signal keepalived does not handle would end it).
  - The dumps are read only from a directory that root owns and no other user can write (the role
    lvs.cluster.keepalived gives keepalived such a C(TMPDIR)); in C(/tmp) a local user could put a
    directory, a FIFO or a forged dump at the fixed path. They are opened without following a symlink,
    must be regular files owned by root, and a FIFO cannot block the read.
  - Both dumps also hold the VRRP authentication password in clear; the module returns only the fields
    listed below and removes the dump (and any stale one) at once; with the text dump also the checker's
    C(keepalived_check.data), which the same signal makes keepalived write.
  - When keepalived is not running (no PID file, or its PID is not a keepalived process, as after a
    SIGKILL) it returns RV(running=false) and no instances; when keepalived writes no dump within
    O(timeout) it returns no instances and says so in RV(msg). It fails only with O(dump=json) on a build
    without JSON.
options:
  dump:
    description:
      - Which dump to ask for. V(auto) - JSON when this keepalived build has it, else the text dump;
        V(json) fails on a build without JSON; V(data) always the text dump.
    type: str
    choices: [auto, json, data]
    default: auto
  pid_file:
    description: keepalived's PID file (its parent process).
    type: path
    default: /run/keepalived.pid
  tmp_dir:
    description:
      - The folder keepalived writes its dumps to. Default - the C(TMPDIR) of the running keepalived
        (from its environment), C(/tmp) without one.
      - It must be a directory owned by root that no other user can write, else nothing is read and
        RV(msg) says why.
    type: path
  timeout:
    description: Seconds to wait for keepalived to write the dump.
    type: float
    default: 5
attributes:
  check_mode:
    description: Reads only (keepalived writes a dump file, which the module removes); runs in check mode.
    support: full
  diff_mode:
    description: Reads only; there is nothing to diff.
    support: none
notes:
  - Under C(/tmp) (a keepalived without C(TMPDIR)) nothing is read; the role lvs.cluster.keepalived sets
    C(TMPDIR) to O(tmp_dir)'s safe default, C(/var/lib/lvs-cluster/keepalived), on systemd and sysv hosts.
  - Two reads at the same time on one host share keepalived's fixed dump path; one of them may see no dump.
author:
  - lvs.cluster contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read keepalived's VRRP state
  lvs.cluster.keepalived_info:
  register: keepalived

- name: Show each instance's state
  ansible.builtin.debug:
    msg: "{{ keepalived.instances | default([], true) | items2dict(key_name='name', value_name='state') }}"
"""

RETURN = r"""
running:
  description: Whether a keepalived process runs under the PID of O(pid_file).
  returned: always
  type: bool
pid:
  description: That PID, or null.
  returned: always
  type: int
source:
  description: V(json) or V(data) (the dump read), or null when none was read.
  returned: always
  type: str
instances:
  description:
    - keepalived's VRRP instances, or null when none were read. Keys as keepalived names them in its dumps
      (C(state) from C(vrrp_t.state)); from the text dump only C(name), C(state), C(wanted_state), C(vrid),
      C(interface), C(priority), C(base_priority), C(master_priority) (when backup) and C(vips).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "VI_WEB", "state": "MASTER", "wanted_state": "MASTER", "vrid": 51, "interface": "eth0",
            "priority": 150, "base_priority": 150, "master_priority": 0, "vips": ["192.0.2.100"],
            "vips_set": true, "last_transition": 1795535917.038805, "became_master": 1, "released_master": 0,
            "adverts_received": 0, "adverts_sent": 6}]
msg:
  description: Why no instances were read, when so.
  returned: always
  type: str
"""

import errno
import json
import os
import stat
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_status


def keepalived_pid(pid_file):
    """The PID in pid_file if that process is a keepalived, else None (a stale file after a SIGKILL)."""
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/comm" % pid) as f:
            return pid if f.read().strip() == "keepalived" else None
    except (IOError, OSError, ValueError):
        return None


# keepalived's dumps are a few kB a VRRP instance; a larger file is not one.
MAX_DUMP = 64 * 1024 * 1024


def keepalived_signal(module, name):
    """The signal number keepalived handles for name (JSON, DATA), or None when this build has none."""
    binary = module.get_bin_path("keepalived")
    if not binary:
        return None
    rc, out, dummy = module.run_command([binary, "--signum=" + name])
    out = out.strip()
    return int(out) if rc == 0 and out.isdigit() else None


def keepalived_tmp_dir(pid):
    """TMPDIR of the running keepalived (its environment), or /tmp without one."""
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            for entry in f.read().split(b"\0"):
                if entry.startswith(b"TMPDIR=") and len(entry) > 7:
                    return entry[7:].decode("utf-8", "replace")
    except (IOError, OSError):
        pass
    return "/tmp"


def unsafe_dir(path):
    """Why another user could put a file at a fixed name in path (or any folder above it), or None."""
    if not os.path.isabs(path):
        return "%s is not an absolute path" % path
    parts = os.path.normpath(path).split("/")
    for i in range(len(parts), 0, -1):
        folder = "/".join(parts[:i]) or "/"
        try:
            st = os.lstat(folder)
        except OSError as exc:
            return "%s: %s" % (folder, exc.strerror)
        if not stat.S_ISDIR(st.st_mode):
            return "%s is not a directory (%s)" % (folder, "a symlink" if stat.S_ISLNK(st.st_mode) else "a file")
        if st.st_uid != 0 or st.st_mode & 0o022:
            return ("%s is writable by users other than root (mode %04o, owner uid %d): keepalived's dumps "
                    "there could be replaced" % (folder, stat.S_IMODE(st.st_mode), st.st_uid))
    return None


def remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def read_dump(path):
    """The text of a root-owned regular file at path, never following a symlink nor blocking on a FIFO;
    None when there is none (yet); ValueError when something else is there."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise ValueError("cannot open %s: %s" % (path, exc.strerror))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != 0:
            raise ValueError("%s is not a regular file of root's" % path)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_DUMP:
                raise ValueError("%s is larger than %d bytes" % (path, MAX_DUMP))
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def wait_for_dump(path, complete, timeout):
    """The dump's text once complete(text) holds and it stays the same for 0.1 s; None on timeout."""
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        text = read_dump(path)
        if text and complete(text) and text == last:
            return text
        last = text
        time.sleep(0.1)
    return None


def keepalived_children(pid):
    """How many keepalived processes keepalived (pid) has started (VRRP, checker, BFD)."""
    n = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/status" % entry) as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except (IOError, OSError):
            continue
        if fields.get("Name", "").strip() == "keepalived" and fields.get("PPid", "").strip() == str(pid):
            n += 1
    return n


def _has_topology(text):
    return "VRRP Topology" in text


def _is_json(text):
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


def main():
    module = AnsibleModule(argument_spec=dict(
        dump=dict(type="str", choices=["auto", "json", "data"], default="auto"),
        pid_file=dict(type="path", default="/run/keepalived.pid"),
        tmp_dir=dict(type="path"),
        timeout=dict(type="float", default=5.0),
    ), supports_check_mode=True)
    p = module.params
    result = dict(changed=False, running=False, pid=None, source=None, instances=None, msg="")
    pid = keepalived_pid(p["pid_file"])
    if pid is None:
        result["msg"] = "keepalived is not running (no keepalived process under the PID of %s)" % p["pid_file"]
        module.exit_json(**result)
    result.update(running=True, pid=pid)
    tmp_dir = p["tmp_dir"] or keepalived_tmp_dir(pid)
    why = unsafe_dir(tmp_dir)
    if why:
        result["msg"] = ("not reading keepalived's dumps in %s: %s (give keepalived a root-only TMPDIR: the role "
                         "lvs.cluster.keepalived does)" % (tmp_dir, why))
        module.exit_json(**result)
    signum = keepalived_signal(module, "JSON") if p["dump"] in ("auto", "json") else None
    if signum is None and p["dump"] == "json":
        result["msg"] = "this keepalived has no JSON dump (keepalived --signum=JSON names no signal)"
        module.fail_json(**result)
    if signum is not None:
        source, path, complete = "json", os.path.join(tmp_dir, "keepalived.json"), _is_json
    else:
        source, path, complete = "data", os.path.join(tmp_dir, "keepalived.data"), _has_topology
        signum = keepalived_signal(module, "DATA")
        if signum is None:
            result["msg"] = "keepalived --signum=DATA names no signal: no dump to ask for"
            module.exit_json(**result)
    # SIGUSR1 also makes keepalived's checker process (when it has one besides the VRRP
    # process) write its own dump: removed as well once written, to leave nothing behind.
    check_path = os.path.join(tmp_dir, "keepalived_check.data")
    with_check = source == "data" and keepalived_children(pid) > 1
    remove(path)
    if with_check:
        remove(check_path)
    try:
        os.kill(pid, signum)
        text = wait_for_dump(path, complete, p["timeout"])
        if with_check:
            wait_for_dump(check_path, bool, min(p["timeout"], 2.0))
    except OSError as exc:
        result["msg"] = "cannot signal keepalived (PID %d): %s" % (pid, exc)
        module.exit_json(**result)
    except ValueError as exc:
        result["msg"] = "not reading keepalived's dump: %s" % exc
        module.exit_json(**result)
    finally:
        remove(path)
        if with_check:
            remove(check_path)
    if text is None:
        result["msg"] = "keepalived wrote no %s within %s s" % (path, p["timeout"])
        module.exit_json(**result)
    if source == "json":
        result["instances"] = lvs_status.keepalived_json_instances(json.loads(text))
    else:
        result["instances"] = lvs_status.keepalived_data_instances(text)
    result["source"] = source
    module.exit_json(**result)


if __name__ == "__main__":
    main()
