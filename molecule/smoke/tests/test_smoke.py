"""lvs.cluster.site from the installed tarball (the scenario's dependency step),
checked on the hosts and with a request through the VIP."""
import json
import os

import yaml
from lab.testinfra_backend import host, wait_for

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
INSTALLED = os.path.join(REPO, ".lab", "installed", "collections", "ansible_collections", "lvs", "cluster")
VIP = "192.0.2.100"


def test_the_installed_copy_is_the_built_collection():
    with open(os.path.join(INSTALLED, "MANIFEST.json")) as f:
        info = json.load(f)["collection_info"]
    with open(os.path.join(REPO, "galaxy.yml")) as f:
        galaxy = yaml.safe_load(f)
    assert (info["namespace"], info["name"], info["version"]) == (galaxy["namespace"], galaxy["name"], galaxy["version"])
    # a copy, not a link back to the source tree
    assert os.path.realpath(INSTALLED).startswith(os.path.realpath(os.path.join(REPO, ".lab", "installed")) + os.sep)
    assert os.path.isfile(os.path.join(INSTALLED, "FILES.json"))


def test_the_director_was_configured_from_the_installed_copy():
    header = host("dir1").check_output("head -n 3 /etc/keepalived/keepalived.conf")
    template = os.path.join(INSTALLED, "roles", "keepalived", "templates", "keepalived.conf.j2")
    assert "Ansible managed: %s" % template in header, header


def test_keepalived_programs_the_service():
    rules = host("dir1").check_output("ipvsadm -S -n")
    assert "-A -t %s:80 -s rr" % VIP in rules
    assert "-a -t %s:80 -r 192.0.2.21:80 -g -w 100" % VIP in rules


def test_the_vip_answers():
    client = host("client")
    assert wait_for(lambda: client.run("curl -s --max-time 3 http://%s/" % VIP).stdout.strip() == "rs1",
                    timeout=30)
