"""Role lvs.cluster.keepalived in the lab (DR topology: dir1, dir2, rs1, rs2).

Five ansible-playbook runs: converge, converge again (changed=0), a
configuration change (reload: same PID, VIP stays on the master), an options
change (restart: a new keepalived with the new options), a bad variable set
(validation fails, the old file stays). Then the status playbook on this
cluster: split brain after keepalived is SIGKILLed on the master, none once it
is restarted, and a powered-off director reported without being called split
brain. At the end keepalived is stopped, its files removed and both directors
rebooted.

The cluster also uses what the schema has beyond the example inventories:
VRRP over unicast with the peers derived from the inventory
(unicast_from_inventory; keepalived_vrrp_peer_addresses from the lab
inventory's interface addresses), a vrrp_track_file that moves the VIP, and
an SMTP_CHECK with a host block (in keepalived.conf and run by keepalived; no
mail server answers it here).
"""
import hashlib
import json
import os
import re
import subprocess
import time

import pytest
import yaml
from lab.testinfra_backend import wait_for

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOK = os.path.join(REPO, "tests", "lab", "playbooks", "keepalived_role.yml")
CONF = "/etc/keepalived/keepalived.conf"
VIP = "192.0.2.100"
SECRET = "k33pAl1v"
PAGE = "hello from rs1 (keepalived role test)\n"
DIRECTORS = ("dir1", "dir2")
TRACK_FILE = "/var/run/lvs-test-drain"
DUMP_DIR = "/var/lib/lvs-cluster/keepalived"  # the role's keepalived_tmp_dir
# A local user (nobody) on a director, as another program would run it.
AS_NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups "
# Polls keepalived.conf as fast as it can; prints what it read of the secret, and any mode
# wider than 0600 it saw.
POLLER = r"""
import os, sys, time
path, secret, stop = sys.argv[1], sys.argv[2], sys.argv[3]
seen, reads, modes = 0, 0, set()
while not os.path.exists(stop):
    try:
        st = os.stat(path)
        modes.add(oct(st.st_mode & 0o777))
        with open(path) as f:
            reads += 1
            seen += secret in f.read()
    except OSError:
        pass
print("reads=%d secret=%d modes=%s" % (reads, seen, ",".join(sorted(modes))))
"""
SMTP_PORT = 2525  # the port of the SMTP_CHECK's host block (rs1)


def cluster(rs2_weight=50, extra_service=False, vrid=51):
    services = [{
        "name": "web", "vip": VIP, "protocol": "tcp", "port": 80, "scheduler": "wlc",
        "persistence": 0, "mode": "dr",
        "check": {"type": "HTTP_GET", "connect_timeout": 2,
                  "urls": [{"path": "/", "digest_from": "/srv/www/index.html", "status_code": 200}]},
        "realservers": [
            {"host": "rs1", "address": "192.0.2.21", "port": 80, "weight": 100},
            {"host": "rs2", "address": "192.0.2.22", "port": 80, "weight": rs2_weight,
             "check": {"type": "TCP_CHECK", "connect_timeout": 2}},
        ],
    }]
    # An SMTP_CHECK with a host block: accepted by the role's validation and keepalived -t, run by
    # keepalived (2.2.7 runs the host block as a second checker besides the real server). No mail
    # server answers here (Python's smtpd on rs1 and rs2 did not bring it up within 20 s: cause not found).
    services.append({"name": "smtp", "vip": VIP, "protocol": "tcp", "port": 25, "scheduler": "rr", "mode": "dr",
                     "realservers": [{"host": "rs2", "address": "192.0.2.22", "port": 25, "weight": 1, "check": {
                         "type": "SMTP_CHECK", "alpha": True, "connect_timeout": 5, "delay_loop": 2, "retry": 2,
                         "helo_name": "lvs.test",
                         "hosts": [{"connect_ip": "192.0.2.21", "connect_port": SMTP_PORT}]}}]})
    if extra_service:
        services.append({"name": "dns", "vip": VIP, "protocol": "udp", "port": 53, "scheduler": "rr",
                         "mode": "dr", "realservers": [{"address": "192.0.2.21", "port": 53, "weight": 1}]})
    return {
        "lvs_cluster": {
            "mode": "dr",
            "vrrp": {"instances": [{
                "name": "VI_WEB", "interface": "eth0", "virtual_router_id": vrid,
                "vips": [VIP + "/32"], "authentication": {"type": "PASS", "pass": SECRET},
                "track_scripts": [{"name": "chk_true", "weight": -20}],
                "track_files": [{"name": "drain"}],
                "unicast_from_inventory": True,
            }], "track_files": [{"name": "drain", "file": TRACK_FILE, "weight": -1, "init_file": True}]},
            "services": services,
        },
        # Unicast peers from the inventory: the lab's hosts have no ansible_host (it names the lab host
        # for the connection), so the addresses come from their inventory interfaces.
        "keepalived_vrrp_peer_addresses": "{{ dict(keepalived_vrrp_peers | zip(keepalived_vrrp_peers "
                                          "| map('extract', hostvars, ['lab_interfaces', 'eth0', 0]) "
                                          "| map('regex_replace', '/.*', ''))) }}",
        # script_user + a script: what makes Debian 12's keepalived -t kill itself.
        "keepalived_global_defs": {"router_id": "{{ inventory_hostname }}", "script_user": "nobody",
                                   "enable_script_security": True},
        "keepalived_vrrp_scripts": [{"name": "chk_true", "script": "/bin/true", "interval": 2}],
    }


class Runs:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.n = 0

    def play(self, variables, *extra, playbook=PLAYBOOK):
        self.n += 1
        vars_file = os.path.join(self.out_dir, "keepalived-vars-%d.yml" % self.n)
        with open(vars_file, "w") as f:
            yaml.safe_dump(dict(variables, lvs_vrrp_priority="{{ 150 if inventory_hostname == 'dir1' else 100 }}"), f)
        argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], playbook,
                "-e", "@" + vars_file, "--diff"] + list(extra)
        t0 = time.time()
        p = subprocess.run(argv, capture_output=True, text=True, cwd=REPO,
                           env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
        out = p.stdout + p.stderr
        with open(os.path.join(self.out_dir, "keepalived-run-%d.log" % self.n), "w") as f:
            f.write("$ %s\n# %.1f s, rc=%d\n%s" % (" ".join(argv), time.time() - t0, p.returncode, out))
        print("keepalived role run %d: %.1f s, rc %d" % (self.n, time.time() - t0, p.returncode))
        return p.returncode, out


def recap(out, host):
    m = re.search(r"^%s\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)" % host, out, re.M)
    assert m, "no recap for %s:\n%s" % (host, out[-3000:])
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups())))


def keepalived_pid(lab, host):
    return lab.out(host, "cat /var/run/keepalived.pid 2>/dev/null || true").strip()


def has_vip(lab, host):
    return (VIP + "/32") in lab.out(host, "ip -4 addr show dev eth0")


@pytest.fixture(scope="module")
def runs(lab):
    out_dir = os.environ["LVSLAB_OUT"]
    # Web servers for the health checks (HTTP_GET with digest on rs1, TCP_CHECK on rs2).
    for rs in ("rs1", "rs2"):
        lab.run(rs, "mkdir -p /srv/www && cat > /srv/www/index.html", input=PAGE if rs == "rs1" else "rs2\n")
        lab.run(rs, "busybox httpd -f -p 80 -h /srv/www </dev/null >/dev/null 2>&1 & echo $! > /tmp/kl-httpd.pid")
    yield Runs(out_dir)
    # Leave clean hosts for the next tests.
    for host in DIRECTORS:
        lab.run(host, "service keepalived stop >/dev/null 2>&1; rm -f %s /usr/local/sbin/keepalived-validate-config "
                      "%s; rm -rf /var/lib/lvs-cluster /etc/systemd/system/keepalived.service.d; ipvsadm -C; "
                      "ip addr del %s/32 dev eth0 2>/dev/null; true" % (CONF, TRACK_FILE, VIP),
                check=False)
        lab.lab("reboot", host)
    for rs in ("rs1", "rs2"):
        lab.run(rs, "kill $(cat /tmp/kl-httpd.pid); rm -rf /srv/www /tmp/kl-httpd.pid", check=False)


def test_keepalived_t_script_user_bug_in_lab(lab):
    """Reproduce: Debian 12 keepalived 2.2.7 -t fails with script_user set (and a script in use)."""
    conf = ("global_defs {\n%s enable_script_security\n}\nvrrp_script chk {\n script \"/bin/true\"\n}\n"
            "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n priority 100\n"
            " track_script {\n  chk\n }\n virtual_ipaddress {\n  192.0.2.199/32\n }\n}\n")
    lab.run("dir2", "cat > /tmp/k-user.conf", input=conf % " script_user nobody\n")
    lab.run("dir2", "cat > /tmp/k-root.conf", input=conf % " script_user root\n")
    with_user = lab.run("dir2", "keepalived -t -f /tmp/k-user.conf", check=False)
    as_root = lab.run("dir2", "keepalived -t -f /tmp/k-root.conf", check=False)
    lab.run("dir2", "rm -f /tmp/k-user.conf /tmp/k-root.conf")
    print("keepalived -t with script_user nobody: rc %d; with script_user root: rc %d"
          % (with_user.returncode, as_root.returncode))
    assert as_root.returncode == 0, as_root.stderr
    assert with_user.returncode in (143, -15), (with_user.returncode, with_user.stderr)


def test_converge(lab, runs):
    # A local user polls keepalived.conf during this first deployment: the file holds auth_pass,
    # and must never be readable by others, not for an instant (Ansible's template creates a new
    # file with the umask's 0644 and only then sets the mode asked for).
    for host in DIRECTORS:
        assert lab.run(host, "test -e " + CONF, check=False).returncode != 0, "not a first deployment"
        lab.run(host, "cat > /tmp/kl-poller.py", input=POLLER)
        lab.run(host, "rm -f /tmp/kl-poll.stop; %s python3 /tmp/kl-poller.py %s %s /tmp/kl-poll.stop "
                      "> /root/kl-poll.out 2>&1 </dev/null & " % (AS_NOBODY, CONF, SECRET))
    try:
        rc, out = runs.play(cluster())
    finally:
        for host in DIRECTORS:
            lab.run(host, "touch /tmp/kl-poll.stop")
    for host in DIRECTORS:
        assert wait_for(lambda: "reads=" in lab.out(host, "cat /root/kl-poll.out"), timeout=10)
        polled = lab.out(host, "cat /root/kl-poll.out; rm -f /root/kl-poll.out /tmp/kl-poller.py /tmp/kl-poll.stop")
        print("%s: a local user polling %s during the first deployment: %s" % (host, CONF, polled.strip()))
        assert "secret=0 " in polled and "0o644" not in polled, polled
    assert rc == 0, out[-5000:]
    assert SECRET not in out  # --diff given: the config's diff is suppressed
    for host in DIRECTORS:
        assert recap(out, host)["failed"] == 0
        assert lab.out(host, "stat -c %a " + CONF).strip() == "600"
        assert lab.out(host, "pidof keepalived").strip(), "keepalived is not running on " + host
        conf = lab.out(host, "cat " + CONF)
        assert "auth_pass " + SECRET in conf
        assert "digest " + hashlib.md5(PAGE.encode()).hexdigest() in conf
    # dir1 (priority 150) is MASTER and holds the VIP; dir2 does not.
    assert "state MASTER" in lab.out("dir1", "cat " + CONF)
    assert "state BACKUP" in lab.out("dir2", "cat " + CONF)
    assert wait_for(lambda: has_vip(lab, "dir1"), timeout=20), lab.out("dir1", "ip addr")
    assert not has_vip(lab, "dir2")
    # keepalived programmed IPVS from the configuration, on both directors.
    for host in DIRECTORS:
        assert wait_for(lambda: "TCP  %s:80 wlc" % VIP in lab.out(host, "ipvsadm -Ln"), timeout=10), \
            lab.out(host, "ipvsadm -Ln")
    # VRRP over unicast, the peers from the inventory: each director sends to the other and joins no
    # VRRP multicast group; dir2 stays BACKUP, so it hears dir1's adverts.
    for host, src, peer in (("dir1", "192.0.2.11", "192.0.2.12"), ("dir2", "192.0.2.12", "192.0.2.11")):
        conf = lab.out(host, "cat " + CONF)
        assert "unicast_src_ip %s" % src in conf and re.search(r"unicast_peer \{\s+%s\s+\}" % re.escape(peer), conf)
        assert "224.0.0.18" not in lab.out(host, "ip maddr show dev eth0"), host
    # The SMTP_CHECK's host block reached keepalived.conf; keepalived runs the service (alpha: its real
    # server stays out until a check succeeds, and no mail server answers here).
    block = re.search(r"SMTP_CHECK \{[^}]*host \{([^}]*)\}", lab.out("dir1", "cat " + CONF))
    assert block and block.group(1).split() == ["connect_ip", "192.0.2.21", "connect_port", str(SMTP_PORT)]
    for host in DIRECTORS:
        assert wait_for(lambda: "TCP  %s:25 rr" % VIP in lab.out(host, "ipvsadm -Ln"), timeout=10)


def test_local_user_cannot_blind_forge_or_hang_keepalived_info(lab, runs):
    """keepalived dumps into the root-only keepalived_tmp_dir (TMPDIR of the running daemon);
    what a local user plants at the old fixed paths in /tmp (a directory, a FIFO, a forged
    MASTER) changes nothing, and the module neither reads /tmp nor hangs when told to."""
    for host in DIRECTORS:
        pid = keepalived_pid(lab, host)
        assert ("TMPDIR=" + DUMP_DIR) in lab.out(host, "tr '\\0' '\\n' < /proc/%s/environ" % pid)
        assert lab.out(host, "stat -c '%a %U' " + DUMP_DIR).split() == ["700", "root"]
        denied = lab.run(host, AS_NOBODY + "sh -c 'mkfifo %s/keepalived.json'" % DUMP_DIR, check=False)
        assert denied.returncode != 0
    forged = ("------< VRRP Topology >------\n VRRP Instance = VI_WEB\n   State = MASTER\n"
              "   Wantstate = MASTER\n")
    for host in DIRECTORS:
        lab.run(host, AS_NOBODY + "sh -c 'mkdir /tmp/keepalived.json && mkfifo /tmp/keepalived.data && "
                                  "cat > /tmp/keepalived_check.data'", input=forged)
    try:
        for host, state in zip(DIRECTORS, ("MASTER", "BACKUP")):
            for dump in ("auto", "data"):
                t0 = time.time()
                res = lab.module(host, "keepalived_info", dump=dump, timeout=5)
                assert time.time() - t0 < 20, res
                assert [(i["name"], i["state"]) for i in res["instances"]] == [("VI_WEB", state)], res
                assert res["source"] == ("json" if dump == "auto" else "data"), res
            # Told to read /tmp: refused at once, nothing read, no hang on the FIFO.
            t0 = time.time()
            res = lab.module(host, "keepalived_info", dump="data", tmp_dir="/tmp", timeout=5)
            assert res["instances"] is None and "writable by users other than root" in res["msg"], res
            assert time.time() - t0 < 20, res
            # The planted files are untouched: nothing read or removed them.
            assert lab.out(host, "stat -c %F /tmp/keepalived.json /tmp/keepalived.data").split("\n")[:2] == \
                ["directory", "fifo"]
    finally:
        for host in DIRECTORS:
            lab.run(host, "rm -rf /tmp/keepalived.json /tmp/keepalived.data /tmp/keepalived_check.data")


def test_second_run_changes_nothing(lab, runs):
    rc, out = runs.play(cluster())
    assert rc == 0, out[-5000:]
    for host in DIRECTORS:
        assert recap(out, host)["changed"] == 0, out[-5000:]


def test_config_change_reloads_without_vip_flap(lab, runs):
    pids = {h: keepalived_pid(lab, h) for h in DIRECTORS}
    assert all(pids.values())
    # Sample the VIP on both directors every 0.5 s while the change is applied
    # (two process starts per sample: process creation is slow in the lab kernel).
    for host in DIRECTORS:
        lab.run(host, "rm -f /tmp/vipwatch; (while :; do a=$(ip -4 -o addr show dev eth0); case \"$a\" in "
                      "*' %s/32 '*) echo 1;; *) echo 0;; esac >> /tmp/vipwatch; sleep 0.5; done) "
                      "</dev/null >/dev/null 2>&1 & echo $! > /tmp/vipwatch.pid" % VIP)
    try:
        rc, out = runs.play(cluster(rs2_weight=7, extra_service=True))
        time.sleep(3)  # keepalived re-reads asynchronously after SIGHUP; watch a little longer
    finally:
        for host in DIRECTORS:
            lab.run(host, "kill $(cat /tmp/vipwatch.pid)", check=False)
    assert rc == 0, out[-5000:]
    # sysv init in the lab: the reload goes through the init script (SIGHUP).
    handler = out.split("RUNNING HANDLER [lvs.cluster.keepalived : Reload keepalived through its init script")
    assert len(handler) == 2, out[-5000:]
    assert "changed: [dir1]" in handler[1].split("PLAY RECAP")[0]
    assert "changed: [dir2]" in handler[1].split("PLAY RECAP")[0]
    assert "RUNNING HANDLER [lvs.cluster.keepalived : Restart keepalived]" not in out
    for host in DIRECTORS:
        assert recap(out, host)["changed"] >= 1
        assert keepalived_pid(lab, host) == pids[host], "keepalived was restarted on " + host
    samples = {h: lab.out(h, "cat /tmp/vipwatch").split() for h in DIRECTORS}
    print("VIP samples during the change: dir1 %d, dir2 %d" % (len(samples["dir1"]), len(samples["dir2"])))
    assert len(samples["dir1"]) > 5
    assert set(samples["dir1"]) == {"1"}, "the VIP left the master during the reload"
    assert set(samples["dir2"]) == {"0"}, "the backup took the VIP during the reload"
    for host in DIRECTORS:
        lab.run(host, "rm -f /tmp/vipwatch /tmp/vipwatch.pid")

    def reloaded(host):
        ipvs = lab.out(host, "ipvsadm -Ln")
        return "UDP  %s:53 rr" % VIP in ipvs and re.search(r"192\.0\.2\.22:80\s+Route\s+7\b", ipvs)
    for host in DIRECTORS:
        assert wait_for(lambda: reloaded(host), timeout=15), lab.out(host, "ipvsadm -Ln")


def test_options_change_restarts_keepalived(lab, runs):
    """A DAEMON_ARGS change restarts keepalived (sysv: stop, wait for it to exit, start)."""
    pids = {h: keepalived_pid(lab, h) for h in DIRECTORS}
    rc, out = runs.play(dict(cluster(rs2_weight=7, extra_service=True), keepalived_daemon_args="--log-detail"))
    assert rc == 0, out[-5000:]
    assert "RUNNING HANDLER [lvs.cluster.keepalived : Restart keepalived through its init script" in out
    for host in DIRECTORS:
        assert "--log-detail" in lab.out(host, "cat /etc/default/keepalived")
        # running again, as a new process started with the new options
        assert wait_for(lambda: keepalived_pid(lab, host) not in ("", pids[host]), timeout=20), host
        pid = keepalived_pid(lab, host)
        assert "--log-detail" in lab.out(host, "tr '\\0' ' ' < /proc/%s/cmdline" % pid), host
    assert wait_for(lambda: has_vip(lab, "dir1") and not has_vip(lab, "dir2"), timeout=30)


def test_bad_variables_fail_validation_and_keep_the_old_file(lab, runs):
    before = {h: lab.out(h, "md5sum %s" % CONF) for h in DIRECTORS}
    pids = {h: keepalived_pid(lab, h) for h in DIRECTORS}
    rc, out = runs.play(cluster(vrid=300))
    assert rc != 0
    # refused by the cluster schema, with the field's path, before keepalived -t is needed
    assert "lvs_cluster.vrrp.instances[0].virtual_router_id: must be between 1 and 255, not 300" in out
    assert SECRET not in out
    for host in DIRECTORS:
        assert recap(out, host)["failed"] == 1
        assert lab.out(host, "md5sum %s" % CONF) == before[host]
        assert lab.out(host, "stat -c %a " + CONF).strip() == "600"
        assert keepalived_pid(lab, host) == pids[host]
    assert has_vip(lab, "dir1") and not has_vip(lab, "dir2")


def test_track_file_moves_the_vip_over_unicast_vrrp(lab, runs):
    """A number in the vrrp_track_file lowers dir1's priority (150 - 100): dir2 hears it in dir1's
    unicast adverts and takes the VIP; 0 gives it back."""
    assert lab.out("dir1", "cat " + TRACK_FILE).strip() == "0"  # init_file
    assert has_vip(lab, "dir1") and not has_vip(lab, "dir2")
    lab.run("dir1", "echo 100 > " + TRACK_FILE)
    assert wait_for(lambda: has_vip(lab, "dir2") and not has_vip(lab, "dir1"), timeout=20)
    lab.run("dir1", "echo 0 > " + TRACK_FILE)
    assert wait_for(lambda: has_vip(lab, "dir1") and not has_vip(lab, "dir2"), timeout=20)



# ---------------------------------------------------------------- the status playbook (issue 17)

STATUS = "lvs.cluster.status"
LAST_CLUSTER = dict(cluster(rs2_weight=7, extra_service=True))  # what runs since the options change


def status(runs, name):
    """lvs.cluster.status on this cluster: (rc, output, the JSON it wrote)."""
    path = os.path.join(runs.out_dir, "status-%s.json" % name)
    if os.path.exists(path):
        os.unlink(path)
    rc, out = runs.play(LAST_CLUSTER, "-e", "lvs_status_json=" + path, playbook=STATUS)
    assert os.path.exists(path), out[-5000:]  # written also when it fails
    with open(path) as f:
        text = f.read()
    assert SECRET not in out and SECRET not in text  # keepalived's dump holds it in clear
    return rc, out, json.loads(text)


def printed(out, line):
    """line is in the output (the YAML callback may wrap a long line of the printed table)."""
    return " ".join(line.split()) in " ".join(out.split())


def vrrp_entry(report, director):
    (entry,) = report["directors"][director]["vrrp"]
    return entry


def test_status_flags_split_brain_after_keepalived_is_sigkilled_and_passes_once_restarted(lab, runs):
    """SIGKILL leaves the VIP on the master (keepalived cannot remove it) while the backup,
    hearing no adverts, takes it too: two holders, two MASTERs."""
    assert has_vip(lab, "dir1") and not has_vip(lab, "dir2")
    # Frozen first, then killed: a surviving parent would respawn or stop its children cleanly.
    lab.run("dir1", "p=$(pidof keepalived); kill -STOP $p; kill -KILL $p")
    try:
        assert wait_for(lambda: has_vip(lab, "dir2"), timeout=20), lab.out("dir2", "ip addr")
        assert has_vip(lab, "dir1")
        rc, out, report = status(runs, "split-brain")
        assert rc != 0, out[-5000:]
        # Everything printed and written before the failure.
        assert "-> 192.0.2.21:80" in out and "== dir1 ==" in out and "== dir2 ==" in out
        assert printed(out, "VRRP VI_WEB: MASTER 192.0.2.100 (ip addr; keepalived not running)  << SPLIT BRAIN")
        assert printed(out, "VRRP VI_WEB: MASTER 192.0.2.100 (keepalived)  << SPLIT BRAIN")
        assert printed(out, "SPLIT BRAIN: VIP 192.0.2.100 (VI_WEB) is held by dir1, dir2")
        assert printed(out, "SPLIT BRAIN: VI_WEB is MASTER on dir1 (addresses), dir2 (keepalived)")
        assert "TASK [Fail on split brain" in out and recap(out, "dir1")["failed"] == 1
        assert report["ok"] is False and report["complete"] is True and report["no_status"] == []
        assert report["split_brain"] == [
            {"kind": "vip", "instance": "VI_WEB", "vip": VIP, "directors": ["dir1", "dir2"]},
            {"kind": "master", "instance": "VI_WEB", "directors": ["dir1", "dir2"],
             "state_from": {"dir1": "addresses", "dir2": "keepalived"}}]
        assert report["directors"]["dir1"]["keepalived"]["running"] is False
        assert report["directors"]["dir2"]["keepalived"]["source"] == "json"
        assert vrrp_entry(report, "dir2")["keepalived_state"] == "MASTER"
    finally:
        # What a supervisor does (the README's note on SIGKILLed keepalived): a new keepalived
        # on dir1 (its pidfile is stale) takes the VIP over, and dir2 gives it up.
        lab.run("dir1", "rm -f /run/keepalived*.pid; service keepalived start")
    assert wait_for(lambda: has_vip(lab, "dir1") and not has_vip(lab, "dir2"), timeout=30)
    rc, out, report = status(runs, "restored")
    assert rc == 0, out[-5000:]
    assert printed(out, "VRRP VI_WEB: MASTER 192.0.2.100 (keepalived)")
    assert printed(out, "VRRP VI_WEB: BACKUP 192.0.2.100 (keepalived)")
    assert "No split brain" in out and "SPLIT BRAIN" not in out
    assert report["ok"] is True and report["split_brain"] == []
    assert [(vrrp_entry(report, d)["state"], vrrp_entry(report, d)["state_from"]) for d in DIRECTORS] == \
        [("MASTER", "keepalived"), ("BACKUP", "keepalived")]
    assert vrrp_entry(report, "dir1")["held"] == [VIP] and vrrp_entry(report, "dir2")["held"] == []
    # The text dump (what builds without JSON give) tells the same states.
    for host, state in zip(DIRECTORS, ("MASTER", "BACKUP")):
        res = lab.module(host, "keepalived_info", dump="data")
        assert res["source"] == "data", res
        assert [(i["name"], i["state"], i["vips"]) for i in res["instances"]] == [("VI_WEB", state, [VIP])]
        assert SECRET not in json.dumps(res)
    # keepalived's dumps do not stay behind (in its root-only TMPDIR, nor in /tmp)
    for host in DIRECTORS:
        assert lab.out(host, "ls /tmp/keepalived.json /tmp/keepalived.data /tmp/keepalived_check.data "
                             "%s/keepalived.json %s/keepalived.data %s/keepalived_check.data 2>/dev/null || true"
                       % (DUMP_DIR, DUMP_DIR, DUMP_DIR)).strip() == ""


def test_status_reports_an_unreachable_director_without_calling_it_split_brain(lab, runs):
    lab.lab("poweroff", "dir2")
    try:
        rc, out, report = status(runs, "unreachable")
    finally:
        lab.lab("poweron", "dir2")
    assert rc != 0  # ansible-playbook's own failure for an unreachable host
    assert recap(out, "dir2")["unreachable"] == 1
    assert report["no_status"] == ["dir2"] and report["complete"] is False
    assert report["split_brain"] == [] and report["ok"] is True and list(report["directors"]) == ["dir1"]
    assert printed(out, "NO STATUS from dir2 (unreachable or a read failed, see above): split brain checked among "
                        "dir1 only")
    assert "SPLIT BRAIN" not in out  # neither a finding nor the failure that lists them
