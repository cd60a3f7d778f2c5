"""Modules run without become say so in one line (issue 25): privilege test and message."""
import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import locking


class Failed(Exception):
    pass


class FakeModule(object):
    def fail_json(self, **kw):
        raise Failed(kw["msg"])


@pytest.mark.parametrize("capeff,privileged", [("0000000000000000", False), ("0000000000001000", True),
                                               ("000001ffffffffff", True)])
def test_cap_net_admin_counts_as_privileged(tmp_path, monkeypatch, capeff, privileged):
    status = tmp_path / "status"
    status.write_text("Name:\tpython3\nCapInh:\t0\nCapEff:\t%s\n" % capeff)
    monkeypatch.setattr(locking.os, "geteuid", lambda: 1000)
    assert locking.is_privileged(str(status)) is privileged


def test_lock_without_root_says_use_become(tmp_path, monkeypatch):
    lock_dir = tmp_path / "locks"
    lock_dir.mkdir(mode=0o500)
    monkeypatch.setattr(locking, "is_privileged", lambda: False)

    def refused(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(locking.os, "open", refused)
    with pytest.raises(Failed) as e:
        with locking.host_lock(FakeModule(), "host", lock_dir=str(lock_dir)):
            pass
    assert str(e.value).startswith("this needs root: use become") and "\n" not in str(e.value)
