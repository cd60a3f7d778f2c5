"""Day-2 playbooks on the DR cluster: rolling drain under load, status."""
import json
import os
import subprocess
import time

from lab.testinfra_backend import host

VIP = "192.0.2.100"
REPO = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.getcwd())



def playbook(name, *extra):
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"],
            "-i", os.path.join(REPO, "inventories", "lab-dr"), "lvs.cluster." + name] + list(extra)
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO)


def test_rolling_drain_of_a_real_server_fails_no_request():
    client = host("client")
    # A bounded request loop (300 requests, 10 ms apart), one process in the client.
    client.run("rm -f /tmp/load.out; (n=0; while [ $n -lt 300 ]; do "
               "curl -s -o /dev/null --max-time 2 -w '%%{http_code}\\n' http://%s/ || echo fail; "
               "n=$((n+1)); sleep 0.01; done > /tmp/load.out; touch /tmp/load.done) "
               "</dev/null >/dev/null 2>&1 &" % VIP)
    res = playbook("rolling_maintenance", "-e", "lvs_maintenance_hosts=rs1")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    deadline = time.time() + 120
    while client.run("test -e /tmp/load.done").rc != 0 and time.time() < deadline:
        time.sleep(1)
    codes = client.check_output("cat /tmp/load.out").split()
    assert len(codes) == 300
    assert set(codes) == {"200"}, [c for c in codes if c != "200"][:5]
    # The weight is back on both directors.
    for name in ("dir1", "dir2"):
        assert "-a -t %s:80 -r 192.0.2.21:80 -g -w 100" % VIP in host(name).check_output("ipvsadm -S -n")


def test_status_playbook_prints_a_table_and_writes_json():
    out = os.path.join(os.environ["LVSLAB_OUT"], "lvs-status.json")  # the controller writes only there
    res = playbook("status", "-e", "lvs_status_json=" + out)
    assert res.returncode == 0, res.stdout[-3000:]
    printed = " ".join(res.stdout.split())  # the YAML callback may wrap a long line
    assert "VRRP VI_WEB: MASTER 192.0.2.100 (keepalived)" in printed
    assert "VRRP VI_WEB: BACKUP 192.0.2.100 (keepalived)" in printed
    assert "-> 192.0.2.21:80" in res.stdout
    assert "No split brain" in res.stdout
    assert "lab-only" not in res.stdout  # the VRRP password of keepalived's state dump
    with open(out) as f:
        text = f.read()
    assert "lab-only" not in text
    status = json.loads(text)
    assert status["ok"] is True and status["split_brain"] == [] and status["no_status"] == []
    dirs = status["directors"]
    assert (dirs["dir1"]["vrrp"][0]["state"], dirs["dir1"]["vrrp"][0]["state_from"]) == ("MASTER", "keepalived")
    assert (dirs["dir2"]["vrrp"][0]["state"], dirs["dir2"]["vrrp"][0]["state_from"]) == ("BACKUP", "keepalived")
    weights = {d["address"]: d["weight"] for d in dirs["dir1"]["services"][0]["destinations"]}
    assert weights == {"192.0.2.21": 100, "192.0.2.22": 100}
