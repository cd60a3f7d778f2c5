"""keepalived_info's dump reading: what a local user can put at a dump's fixed path.

The module reads keepalived's dumps only in a root-only directory (unsafe_dir), and
there only a root-owned regular file, opened without following a symlink and without
blocking on a FIFO (read_dump). The lab test (tests/lab/test_keepalived_role.py) runs
the module against a real keepalived with a non-root user trying the same.
"""
import os
import threading

import pytest

from ansible_collections.lvs.cluster.plugins.modules import keepalived_info as ki

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="root-owned files need root")


def test_a_fifo_at_the_path_neither_hangs_nor_is_read(tmp_path):
    path = str(tmp_path / "keepalived.data")
    os.mkfifo(path)
    done = []
    t = threading.Thread(target=lambda: done.append(pytest.raises(ValueError, ki.read_dump, path)))
    t.start()
    t.join(5)
    assert done, "read_dump blocked on a FIFO"


def test_a_symlink_or_directory_at_the_path_is_refused(tmp_path):
    target = tmp_path / "forged"
    target.write_text("------< VRRP Topology >------\n")
    os.symlink(str(target), str(tmp_path / "keepalived.data"))
    with pytest.raises(ValueError):
        ki.read_dump(str(tmp_path / "keepalived.data"))
    (tmp_path / "keepalived.json").mkdir()
    with pytest.raises(ValueError):
        ki.read_dump(str(tmp_path / "keepalived.json"))


def test_a_file_of_another_user_is_refused(tmp_path):
    path = tmp_path / "keepalived.json"
    path.write_text("[]")
    os.chown(str(path), 65534, 65534)
    with pytest.raises(ValueError):
        ki.read_dump(str(path))


def test_root_regular_file_is_read_and_no_file_is_none(tmp_path):
    path = tmp_path / "keepalived.json"
    assert ki.read_dump(str(path)) is None
    path.write_text("[]")
    assert ki.read_dump(str(path)) == "[]"


def test_only_a_root_only_directory_is_used(tmp_path):
    assert "writable by users other than root" in ki.unsafe_dir("/tmp")
    safe = tmp_path / "dumps"
    safe.mkdir(mode=0o700)
    os.chmod(str(tmp_path), 0o755)
    assert ki.unsafe_dir(str(safe)) is None or "/tmp" in ki.unsafe_dir(str(safe))  # pytest's tmp is under /tmp
    os.chmod(str(safe), 0o777)
    assert "writable" in ki.unsafe_dir(str(safe))
    link = tmp_path / "link"
    os.symlink(str(safe), str(link))
    assert "a symlink" in ki.unsafe_dir(str(link))
    assert ki.unsafe_dir("relative") is not None
