"""Issue 25 in the lab (DR topology): the description checked before any host changes,
sysctl_set (one run for many settings, VLAN-style device names, bad names refused even in
check mode), and a VIP that is already an interface address kept with its prefix and route."""
import os
import subprocess

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SITE = os.path.join(REPO, "playbooks", "site.yml")
VS_KEY = "/proc/sys/net/ipv4/vs/expire_nodest_conn"
DEV_KEY = "/proc/sys/net/ipv4/conf/eth0.100/send_redirects"
CONF = "/etc/sysctl.d/91-lvs-test-sysctl-set.conf"


def site(cluster, name):
    out_dir = os.environ["LVSLAB_OUT"]
    vars_file = os.path.join(out_dir, "%s-vars.yml" % name)
    with open(vars_file, "w") as f:
        yaml.safe_dump({"lvs_cluster": cluster}, f)
    argv = ["ansible-playbook", "-i", os.environ["LVSLAB_INVENTORY"], SITE, "-e", "@" + vars_file]
    p = subprocess.run(argv, capture_output=True, text=True, cwd=REPO,
                       env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0"))
    with open(os.path.join(out_dir, "%s-run.log" % name), "w") as f:
        f.write("$ %s\n# rc=%d\n%s%s" % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p.returncode, p.stdout + p.stderr


def host_state(lab):
    """What a converge would change on every cluster host: addresses, sysctls, the lvs-cluster files."""
    cmd = ("ip -o addr; sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce; "
           "ls /etc/lvs-cluster /etc/sysctl.d 2>&1; cat /etc/modules-load.d/lvs-cluster.conf 2>&1; true")
    return dict((h, lab.out(h, cmd)) for h in ("dir1", "dir2", "rs1", "rs2"))


def first_error(out):
    """The first error line ansible-playbook prints, and the failed task's message; one task failed."""
    assert out.count("fatal:") == 1, out
    first = [ln for ln in out.splitlines() if ln.startswith("[ERROR]")][0]
    block = out[out.index("fatal:"):]
    msg = [ln.strip() for ln in block.splitlines() if ln.strip().startswith("msg:")][0]
    return first, msg[len("msg:"):].strip().strip("'\"")


BAD = {"mode": "dr", "services": [
    {"vip": "192.0.2.100", "port": "eighty", "realservers": [{"host": "rs1", "address": "192.0.2.21"},
                                                             {"host": "rs9", "address": "192.0.2.29"}]}]}


@pytest.mark.parametrize("cluster,first", [
    # three violations (a port, VRRP missing with two directors, a real server outside the inventory)
    (BAD, "lvs_cluster.services[0].port: must be a number"),
    # the rule that needs the inventory: once refused by the director role, after the real servers changed
    (dict(BAD, services=[dict(BAD["services"][0], port=80)]), "lvs_cluster.vrrp: is required with 2 directors"),
    (dict(BAD, services=[dict(BAD["services"][0], port=80)], vrrp={"instances": [
        {"name": "VI_1", "interface": "eth0", "virtual_router_id": 51, "vips": ["192.0.2.100"]}]}),
     "lvs_cluster.services[0].realservers[1].host: rs9 is no host"),
])
def test_an_invalid_description_fails_before_any_host_changes(lab, cluster, first):
    before = host_state(lab)
    rc, out = site(cluster, "invalid")
    assert rc != 0
    line, msg = first_error(out)
    # the first error line names the field ("[ERROR]: Task failed: Action failed: lvs_cluster.vrrp: ...")
    assert line.split("failed: ")[-1].startswith(first) and msg.startswith(first), out
    assert "Origin: <unknown>" not in out and "filter plugin" not in out, out
    recap = out.split("PLAY RECAP", 1)[1]
    assert "localhost" in recap and not any(h in recap for h in ("dir1", "dir2", "rs1", "rs2")), recap
    assert host_state(lab) == before


@pytest.fixture
def vlan_device(lab):
    lab.run("dir2", "modprobe ip_vs; ip link add eth0.100 type dummy")
    saved = lab.out("dir2", "cat %s %s" % (VS_KEY, DEV_KEY)).split()
    yield saved
    lab.run("dir2", "echo %s > %s; rm -f %s; ip link del eth0.100" % (saved[0], VS_KEY, CONF))


def test_sysctl_set_one_run_vlan_name_check_mode_and_bad_names(lab, vlan_device):
    vs0, dev0 = vlan_device
    args = dict(modules=["ip_vs"], settings={"net.ipv4.vs.expire_nodest_conn": 1 - int(vs0)},
                interfaces=["eth0.100"], interface_settings={"send_redirects": 1 - int(dev0)}, file=CONF)
    res = lab.module("dir2", "sysctl_set", check=True, **args)
    assert res["changed"] and set(res["changes"]) == {"net.ipv4.vs.expire_nodest_conn",
                                                       "net/ipv4/conf/eth0.100/send_redirects"}, res
    assert lab.out("dir2", "cat %s %s" % (VS_KEY, DEV_KEY)).split() == [vs0, dev0]
    assert lab.run("dir2", "test -e " + CONF, check=False).returncode != 0
    res = lab.module("dir2", "sysctl_set", **args)
    assert res["changed"] and not res.get("failed"), res
    assert lab.out("dir2", "cat %s %s" % (VS_KEY, DEV_KEY)).split() == [str(1 - int(vs0)), str(1 - int(dev0))]
    assert "-net/ipv4/conf/eth0.100/send_redirects = %d" % (1 - int(dev0)) in lab.out("dir2", "cat " + CONF)
    # what systemd-sysctl/procps read at boot: the file loads as written
    lab.run("dir2", "sysctl -q -p " + CONF)
    assert lab.module("dir2", "sysctl_set", **args)["changed"] is False
    # issue 23 class 5: a device variable with a blank named another sysctl, even in check mode
    for check in (True, False):
        bad = lab.module("dir2", "sysctl_set", check=check, interfaces=["eth0 net.ipv4.ip_forward"],
                         interface_settings={"send_redirects": 0})
        assert bad.get("failed") and bad["msg"].startswith("interfaces[0]: "), bad
    assert lab.out("dir2", "cat %s" % DEV_KEY).strip() == str(1 - int(dev0))
    lab.run("dir2", "echo %s > %s" % (dev0, DEV_KEY))


def test_a_vip_that_is_an_interface_address_keeps_its_prefix_and_route(lab):
    addrs, routes = lab.out("client", "ip -o addr show dev eth0"), lab.out("client", "ip route")
    assert "192.0.2.10/24" in addrs and "192.0.2.0/24 dev eth0" in routes
    for check in (True, False):
        res = lab.module("client", "vip_address", check=check, address=["192.0.2.10"], interface="eth0",
                         interface_type="existing", exclusive=True)
        assert res["changed"] is False and res["kept"] == ["192.0.2.10/24"] and res["removed"] == [], res
    assert lab.out("client", "ip -o addr show dev eth0") == addrs
    assert lab.out("client", "ip route") == routes
    assert lab.run("client", "test -e /etc/lvs-cluster/vip-eth0.json", check=False).returncode != 0
