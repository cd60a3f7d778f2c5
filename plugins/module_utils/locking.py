# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A per-host lock around a module's read-plan-apply, so that two runs (two
playbooks, a playbook and a handler on another connection) never interleave
their reads and changes of the same kernel tables or files."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import os
import time

LOCK_DIR = "/run/lvs-cluster"
DEFAULT_TIMEOUT = 120


CAP_NET_ADMIN = 12


def is_privileged(status_path="/proc/self/status"):
    """True as root, or with CAP_NET_ADMIN in the effective set (what the kernel tables need)."""
    if os.geteuid() == 0:
        return True
    try:
        with open(status_path) as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_NET_ADMIN & 1)
    except (IOError, OSError, ValueError, IndexError):
        pass
    return False


def fail_needs_root(module, detail):
    """Fail in one line that says what to do: the module changes kernel tables or root's files."""
    module.fail_json(msg="this needs root: use become (become: true); %s" % detail)


@contextlib.contextmanager
def host_lock(module, family, timeout=DEFAULT_TIMEOUT, lock_dir=LOCK_DIR):
    """Hold an exclusive flock on <lock_dir>/<family>.lock; fail the module after timeout seconds."""
    try:
        if not os.path.isdir(lock_dir):
            os.makedirs(lock_dir, 0o755)
        fd = os.open(os.path.join(lock_dir, "%s.lock" % family), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM) and not is_privileged():
            fail_needs_root(module, "cannot open the lock %s/%s.lock: %s" % (lock_dir, family, exc.strerror))
        module.fail_json(msg="cannot open the lock %s/%s.lock: %s" % (lock_dir, family, exc))
    try:
        deadline = time.time() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.time() > deadline:
                    module.fail_json(msg="another lvs.cluster task holds %s/%s.lock (waited %d s)"
                                     % (lock_dir, family, timeout))
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock
