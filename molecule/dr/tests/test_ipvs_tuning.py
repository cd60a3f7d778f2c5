"""IPVS kernel settings of lvs_cluster.ipvs.sysctl on the DR directors, and what
expire_quiescent_template does to a persistent client when its real server is drained.

The cluster is the one site.yml built from inventories/lab-dr (no ipvs.sysctl block:
the model's defaults apply). The drain goes through the rolling_maintenance playbook.
"""
import os
import re
import subprocess

from lab.testinfra_backend import host, wait_for

VIP = "192.0.2.100"
REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd())
RS = {"rs1": "192.0.2.21", "rs2": "192.0.2.22"}
# The defaults of lvs_cluster.ipvs.sysctl (docs/cluster-model.md) on the lab's 6.1 kernel:
# conn_reuse_mode auto is 1 from 5.9 on.
DEFAULTS = {"conn_reuse_mode": "1", "expire_nodest_conn": "1", "expire_quiescent_template": "1",
            "sloppy_tcp": "0", "sloppy_sctp": "0", "backup_only": "0"}


def test_ipvs_sysctls_are_set_and_persisted_on_both_directors():
    # dir2 (the backup) rebooted first: the values come back from /etc/sysctl.d at boot
    subprocess.run(["lvslab", "reboot", "dir2"], check=True)
    assert wait_for(lambda: host("dir2").run("pidof keepalived").rc == 0, timeout=30)
    for name in ("dir1", "dir2"):
        d = host(name)
        release = d.check_output("uname -r")
        assert tuple(int(x) for x in re.match(r"(\d+)\.(\d+)", release).groups()) >= (5, 9), release
        persisted = d.check_output("cat /etc/sysctl.d/90-lvs-director.conf")
        for key, value in DEFAULTS.items():
            # read back from the kernel (this host's network namespace)
            assert d.check_output("sysctl -n net.ipv4.vs." + key) == value, (name, key)
            assert re.search(r"^net\.ipv4\.vs\.%s\s*=\s*%s$" % (key, value), persisted, re.M), (name, key, persisted)


def drain(rs, *extra):
    """The drain playbook (rolling_maintenance) on one real server; JSON results, not wrapped YAML."""
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], "-i",
            os.path.join(REPO, "inventories", "lab-dr"), "lvs.cluster.rolling_maintenance",
            "-e", "lvs_maintenance_hosts=" + rs] + list(extra)
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, ANSIBLE_CALLBACK_RESULT_FORMAT="json"))


def _answers(n=5):
    """n requests from the client, each a new TCP connection; the real servers answer their name."""
    client = host("client")
    return [client.check_output("curl -s --max-time 3 http://%s/" % VIP) for _ in range(n)]


def _persistent(on):
    """The master's service made persistent (keepalived leaves an edited service alone until it reloads)."""
    host("dir1").check_output("ipvsadm -E -t %s:80 -s rr%s" % (VIP, " -p 600" if on else ""))


def test_a_drained_real_server_loses_its_pinned_client_with_expire_quiescent_template():
    dir1 = host("dir1")
    assert wait_for(lambda: all(a in host(d).check_output("ipvsadm -Sn")
                                for d in ("dir1", "dir2") for a in RS.values()), timeout=30)
    client = host("client")
    # A client loop runs through the whole test (a request every 50 ms): no request may fail.
    client.run("rm -f /tmp/tune-load.*; (while [ ! -e /tmp/tune-load.stop ]; do "
               "curl -s --max-time 2 http://%s/ || echo fail; sleep 0.05; done > /tmp/tune-load.out; "
               "touch /tmp/tune-load.done) </dev/null >/dev/null 2>&1 &" % VIP)
    _persistent(True)
    try:
        dir1.check_output("ipvsadm -Z")
        pinned = set(_answers())
        assert len(pinned) == 1, pinned  # persistence: one client, one real server
        pinned = pinned.pop()
        other = [h for h in RS if h != pinned][0]

        # Without expire_quiescent_template the pinned client keeps reaching the drained
        # server until its template expires (this is what the setting fixes: the check can fail).
        dir1.check_output("sysctl -w net.ipv4.vs.expire_quiescent_template=0")
        dir1.check_output("ipvsadm -e -t %s:80 -r %s:80 -g -w 0" % (VIP, RS[pinned]))
        assert set(_answers(3)) == {pinned}
        dir1.check_output("ipvsadm -e -t %s:80 -r %s:80 -g -w 100" % (VIP, RS[pinned]))
        dir1.check_output("sysctl -w net.ipv4.vs.expire_quiescent_template=1")  # the role's value again
        assert set(_answers(2)) == {pinned}  # still pinned (its template was kept)

        # The drain playbook on the pinned server; its maintenance tasks ask from the client
        # (a new connection each) and assert that the other real server answers.
        tasks = os.path.join(os.environ["LVSLAB_OUT"], "tune-drain-ask.yml")  # the controller writes only there
        with open(tasks, "w") as f:
            f.write("- name: New connections of the pinned client while %s is drained\n"
                    "  ansible.builtin.command: curl -s --max-time 3 http://%s/\n"
                    "  delegate_to: client\n  loop: [1, 2, 3, 4, 5]\n  register: asked\n  changed_when: false\n"
                    "- name: They reach %s only\n"
                    "  ansible.builtin.assert:\n"
                    "    that: asked.results | map(attribute='stdout') | unique == ['%s']\n"
                    "    fail_msg: \"{{ asked.results | map(attribute='stdout') | list }}\"\n"
                    % (pinned, VIP, other, other))
        res = drain(pinned, "-e", "lvs_maintenance_tasks=" + tasks)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
        # the playbook restored the weight
        assert "-r %s:80 -g -w 100" % RS[pinned] in dir1.check_output("ipvsadm -Sn")
    finally:
        _persistent(False)
        for name in ("dir1", "dir2"):  # a failed run leaves no drained server behind
            for address in RS.values():
                host(name).run("ipvsadm -e -t %s:80 -r %s:80 -g -w 100" % (VIP, address))
        client.run("touch /tmp/tune-load.stop")
    assert wait_for(lambda: client.run("test -e /tmp/tune-load.done").rc == 0, timeout=10)
    answers = client.check_output("cat /tmp/tune-load.out").split()
    assert len(answers) > 20 and set(answers) <= {"rs1", "rs2"}, [a for a in answers if a not in RS][:5]


def test_the_drain_playbook_refuses_an_mh_service_without_mh_fallback():
    dir1 = host("dir1")
    dir1.check_output("modprobe ip_vs_mh && ipvsadm -E -t %s:80 -s mh" % VIP)  # no -b mh-fallback
    try:
        res = drain("rs1")
        assert res.returncode != 0
        # ansible-playbook prints a failed task's message on stdout or stderr, depending on its settings
        printed = res.stdout + res.stderr
        assert "dir1 %s:80: scheduler mh without the mh-fallback flag" % VIP in printed, printed[-3000:]
        for name in ("dir1", "dir2"):  # refused before anything was drained
            assert "-r %s:80 -g -w 100" % RS["rs1"] in host(name).check_output("ipvsadm -Sn")
    finally:
        dir1.check_output("ipvsadm -E -t %s:80 -s rr" % VIP)
