"""Issue 23, class 4 on the lab's real kernel: a helper program exiting non-zero in the
middle of a multi-step change (update-rc.d while the boot hook is installed) is a failed
step like any other: the steps before it are undone and the host is byte-identical
(addresses, the state file, the boot hook) afterwards.

    lab/bin/lvslab run -t lab/topologies/dr.yml -- python -m pytest -q tests/lab/test_all_or_nothing.py
"""
HOST = "rs2"
FILES = ("/etc/lvs-cluster /usr/local/sbin/lvs-cluster-net /etc/init.d/lvs-cluster-net "
         "/etc/systemd/system/lvs-cluster-net.service /etc/systemd/system/multi-user.target.wants "
         "/etc/rcS.d /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d")
SNAPSHOT = ("echo '## addr'; ip -j addr; echo '## link'; ip -o link; echo '## files'; "
            "find %s \\( -type f -o -type l \\) 2>/dev/null | grep -v '/rc.\\.d/[SK][0-9][0-9][^l]' | sort "
            "| xargs -r ls -la --time-style=+; true" % FILES)
UPDATE_RC = "/usr/sbin/update-rc.d"
# The lab host's root is an overlay on tmpfs: this replaces the program inside the lab only.
BREAK = ("test -x %(p)s && ! test -e %(p)s.lab-real && mv %(p)s %(p)s.lab-real && "
         "printf '#!/bin/sh\\necho update-rc.d: error: broken in the lab >&2\\nexit 1\\n' > %(p)s && chmod 755 %(p)s"
         % {"p": UPDATE_RC})
MEND = "test -e %(p)s.lab-real && mv -f %(p)s.lab-real %(p)s; true" % {"p": UPDATE_RC}


def test_a_failing_helper_program_undoes_the_vip_the_state_file_and_the_hook(lab):
    hook = lab.run(HOST, "ls /etc/lvs-cluster/*.json /usr/local/sbin/lvs-cluster-net 2>/dev/null", check=False)
    assert not hook.stdout.strip(), "the test needs %s without lvs.cluster state: %s" % (HOST, hook.stdout)
    before = lab.out(HOST, SNAPSHOT)
    lab.run(HOST, BREAK)
    try:
        res = lab.module(HOST, "vip_address", address=["192.0.2.100"])
    finally:
        lab.run(HOST, MEND)
    after = lab.out(HOST, SNAPSHOT)
    assert res.get("failed") is True, res
    assert "update-rc.d" in res["msg"] and res.get("steps_undone"), res
    assert "Traceback" not in res["msg"], res
    assert after == before, "the failed task changed %s:\n%s" % (HOST, _diff(before, after))
    # the same task with a working update-rc.d goes through: the failure above was the helper's
    res = lab.module(HOST, "vip_address", address=["192.0.2.100"])
    try:
        assert res["changed"] and not res.get("failed"), res
    finally:
        res = lab.module(HOST, "vip_address", address=["192.0.2.100"], state="absent")
        assert not res.get("failed"), res


def _diff(a, b):
    import difflib
    return "\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=1))
