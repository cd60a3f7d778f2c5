"""Host modules' pure logic (module_utils/host), all-or-nothing steps, lock, file writes."""
import os
import threading

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import locking, persist, routing, steps
from ansible_collections.lvs.cluster.plugins.module_utils.host import arp, policy, vip


def req(**kw):
    params = dict(address=["192.0.2.100"], interface="lo", interface_type="auto", host_route=False,
                  exclusive=False, state="present")
    params.update(kw)
    return vip.validate(params)


@pytest.mark.parametrize("kw,field,words", [
    (dict(address=["192.0.2.100/24"]), "address[0]", "must be /32"),
    (dict(address=["2001:db8::1/64"]), "address[0]", "must be /128"),
    (dict(address=["127.0.0.1/8"], state="absent"), "address[0]", "loopback"),
    (dict(address=["::1"]), "address[0]", "loopback"),
    (dict(address=["0.0.0.0"]), "address[0]", "cannot be a VIP"),
    (dict(address=["224.0.0.1"]), "address[0]", "cannot be a VIP"),
    (dict(address=["192.0.2.1", "192.0.2.1/32"]), "address[1]", "listed twice"),
    (dict(address=["192.0.2.1", "nope"]), "address[1]", "not an IP"),
    (dict(address=[]), "address", "at least one"),
    (dict(interface=""), "interface", "not a valid"),
    (dict(interface="../../../etc"), "interface", "not a valid"),
    (dict(interface="eth0", interface_type="loopback"), "interface_type", "lo"),
    (dict(interface="lo", interface_type="dummy"), "interface_type", "loopback device"),
    (dict(interface="eth0", interface_type="ipip"), "interface_type", "tunl0"),
    (dict(interface="tunl0", interface_type="gre"), "interface_type", "gre0"),
    (dict(exclusive=True, state="absent"), "exclusive", "present"),
])
def test_vip_validation_names_the_field(kw, field, words):
    with pytest.raises(vip.ValidationError) as err:
        req(**kw)
    assert str(err.value).startswith(field + ":") and words in str(err.value), str(err.value)


def test_vip_other_prefix_allowed_off_lo():
    r = req(address=["192.0.2.100/24"], interface="lvs0", interface_type="dummy")
    assert r["vips"][0]["address"] == "192.0.2.100/24"


def test_resolve_type_never_creates_by_accident():
    with pytest.raises(vip.ValidationError) as err:
        vip.resolve_type(req(interface="eht0"), False, {})
    assert "interface_type: dummy" in str(err.value)
    assert vip.resolve_type(req(interface="eht0", interface_type="dummy"), False, {}) == "dummy"
    assert vip.resolve_type(req(interface="lvs0"), False, {"type": "dummy"}) == "dummy"
    assert vip.resolve_type(req(interface="tunl0"), False, {}) == "ipip"
    assert vip.resolve_type(req(interface="gre0"), False, {}) == "gre"
    assert vip.plan(req(interface="gre0"), "gre", False, [], {})["create"]  # modprobe ip_gre makes it
    assert vip.resolve_type(req(interface="eth0"), True, {}) == "existing"
    assert vip.resolve_type(req(interface="gone0", state="absent"), False, {}) == "existing"


def entry(a):
    return {"address": a, "family": 4, "host_route": False}


def test_plan_present_and_exclusive():
    old = {"type": "loopback", "addresses": [entry("192.0.2.1/32"), entry("192.0.2.2/32")]}
    kernel = ["127.0.0.1/8", "192.0.2.1/32", "192.0.2.2/32", "192.0.2.9/32"]
    pl = vip.plan(req(address=["192.0.2.1", "192.0.2.3"]), "loopback", True, kernel, old)
    assert pl["add"] == ["192.0.2.3/32"] and pl["delete"] == []
    assert [a["address"] for a in pl["managed"]] == ["192.0.2.1/32", "192.0.2.2/32", "192.0.2.3/32"]
    ex = vip.plan(req(address=["192.0.2.1", "192.0.2.3"], exclusive=True), "loopback", True, kernel, old)
    # 192.0.2.9 is not the module's: it stays
    assert ex["delete"] == ["192.0.2.2/32"] and ex["add"] == ["192.0.2.3/32"]
    assert [a["address"] for a in ex["managed"]] == ["192.0.2.1/32", "192.0.2.3/32"]


def test_plan_absent_removes_created_dummy_once_empty():
    old = {"type": "dummy", "created": True, "addresses": [entry("192.0.2.1/32")]}
    pl = vip.plan(req(address=["192.0.2.1"], interface="lvs0", state="absent"), "dummy", True,
                  ["192.0.2.1/32", "fe80::1/64"], old)
    assert pl["delete"] == ["192.0.2.1/32"] and pl["remove_device"] and pl["managed"] == []
    keep = vip.plan(req(address=["192.0.2.1"], interface="lvs0", state="absent"), "dummy", True,
                    ["192.0.2.1/32", "192.0.2.7/32"], old)
    assert not keep["remove_device"]


def test_plan_replaces_a_prefix_change():
    # of a VIP the task manages; an address the host had is kept (test_vip_existing_address.py)
    old = {"addresses": [{"address": "192.0.2.1/24"}]}
    pl = vip.plan(req(address=["192.0.2.1/32"], interface="eth0"), "existing", True, ["192.0.2.1/24"], old)
    assert pl["add"] == ["192.0.2.1/32"] and pl["delete"] == ["192.0.2.1/24"]


# ---------------------------------------------------------------- arp_sysctl

def test_arp_state_file_per_task_in_the_one_state_folder():
    assert persist.state_path("sysctl", "90-lvs-arp.conf") == "/etc/lvs-cluster/sysctl-90-lvs-arp.conf.json"
    assert arp.legacy_state_file_for("/etc/sysctl.d/91 x.conf") == "/var/lib/lvs-cluster/arp_sysctl-91_x.json"


def fake_conf(tmp_path, *ifaces):
    for i in ifaces:
        (tmp_path / i).mkdir()
    return str(tmp_path)


@pytest.mark.parametrize("kw,field", [
    (dict(name="relative.conf"), "name"), (dict(name="/etc/sysctl.d/"), "name"),
    (dict(state_file="x.json"), "state_file"), (dict(arp_ignore=True), "arp_ignore"),
    (dict(send_redirects=1), "send_redirects"), (dict(rp_filter=3), "rp_filter"),
    (dict(interfaces=["nosuch0"]), "interfaces"), (dict(interfaces=[]), "interfaces"),
    (dict(interfaces=["../x"]), "interfaces"),
])
def test_arp_validation_names_the_field(tmp_path, kw, field):
    params = dict(name="/etc/sysctl.d/90-lvs-arp.conf", state_file=None, interfaces=["lo"], arp_ignore=1,
                  arp_announce=2, rp_filter=None, send_redirects=None, state="present")
    params.update(kw)
    with pytest.raises(arp.ValidationError) as err:
        arp.validate(params, fake_conf(tmp_path, "lo", "eth0"))
    assert str(err.value).startswith(field), str(err.value)


def test_arp_plan_two_tasks_keep_their_own_originals():
    kernel = {"net.ipv4.conf.lo.arp_ignore": "0", "net.ipv4.conf.lo.arp_announce": "0",
              "net.ipv4.conf.eth0.arp_ignore": "1", "net.ipv4.conf.eth0.arp_announce": "2"}
    # task B's state knows only eth0 (set by another task): lo is not restored by it
    saved_b = {"originals": {"net.ipv4.conf.eth0.arp_ignore": "0", "net.ipv4.conf.eth0.arp_announce": "0"}}
    pl = arp.plan(True, ["lo"], {"arp_ignore": 1, "arp_announce": 2}, None, kernel.get, "/a.conf")
    assert pl["to_set"] == {"net.ipv4.conf.lo.arp_ignore": "1", "net.ipv4.conf.lo.arp_announce": "2"}
    assert pl["to_restore"] == {} and pl["data"]["originals"]["net.ipv4.conf.lo.arp_ignore"] == "0"
    assert pl["data"]["settings"] == {"net.ipv4.conf.lo.arp_ignore": "1", "net.ipv4.conf.lo.arp_announce": "2"}
    gone = arp.plan(False, [], {}, saved_b, kernel.get, "/b.conf")
    assert gone["to_restore"] == saved_b["originals"] and gone["conf"] is None and gone["data"] is None
    dropped = arp.plan(True, ["lo"], {"arp_ignore": 1}, saved_b, kernel.get, "/b.conf")
    assert dropped["to_restore"] == saved_b["originals"]


# ---------------------------------------------------------------- policy_route

def pparams(**kw):
    p = dict(name="lvs_nat", table_id=100, routes=[], rules=[], state="present")
    p.update(kw)
    return p


@pytest.mark.parametrize("kw,field", [
    (dict(rules=[{}]), "rules[0]"), (dict(rules=[{"from": "all"}]), "rules[0]"),
    (dict(rules=[{"from": "192.0.2.1", "priority": True}]), "rules[0].priority"),
    (dict(routes=[{"dev": "eth0", "metric": True}]), "routes[0].metric"),
    (dict(routes=[{"dev": "."}]), "routes[0].dev"),
    (dict(routes=[{"dev": "eth0"}, {"dev": "eth0"}]), "routes[1]"),
    (dict(rules=[{"iif": "eth1"}, {"iif": "eth1"}]), "rules[1]"),
    (dict(table_id=True), "table_id"),
    (dict(table_id=7), "table_id"),
])
def test_policy_validation_names_the_field(kw, field):
    with pytest.raises(routing.ValidationError) as err:
        policy.validate(pparams(**kw), {}, "/x/lvs_nat.conf", lambda d: d == "eth0",
                        rt_entries=[(7, "other", "rt_tables")])
    assert str(err.value).startswith(field), str(err.value)


def test_policy_validate_ok():
    r = policy.validate(pparams(routes=[{"gateway": "192.0.2.11", "dev": "eth0"}],
                                rules=[{"from": "192.0.2.21"}]), {}, "/x/lvs_nat.conf", lambda d: True, rt_entries=[])
    assert r["tid"] == 100 and r["data"]["rules"][0]["from"] == "192.0.2.21/32"
    assert "route default via 192.0.2.11 dev eth0" in policy.show(r["data"])


# ---------------------------------------------------------------- steps, lock, files

def test_steps_undo_newest_first_and_report():
    log = []

    def step(name, fail=False, undo_fails=False):
        def do():
            if fail:
                raise OSError("refused")
            log.append("do " + name)

        def undo():
            if undo_fails:
                raise OSError("stuck")
            log.append("undo " + name)
        return steps.Step(name, do, undo)
    assert steps.run([step("a"), step("b")]) is None and log == ["do a", "do b"]
    del log[:]
    out = steps.run([step("a"), step("b"), step("c", fail=True), step("d")], errors=(OSError,))
    assert log == ["do a", "do b", "undo b", "undo a"]
    assert out["steps_done"] == ["a", "b"] and out["steps_undone"] == ["b", "a"]
    assert out["steps_not_run"] == ["d"] and out["failed_step"] == "c" and out["changed"] is False
    assert "c failed: refused" in out["msg"]
    bad = steps.run([step("a", undo_fails=True), step("b", fail=True)], errors=(OSError,))
    assert bad["changed"] is True and bad["undo_errors"] == ["undo of a: stuck"]


class FakeModule:
    def fail_json(self, **kw):
        raise AssertionError(kw["msg"])


def test_host_lock_serialises(tmp_path):
    order = []
    inside = threading.Event()
    release = threading.Event()

    def holder():
        with locking.host_lock(FakeModule(), "host", lock_dir=str(tmp_path)):
            order.append("first in")
            inside.set()
            release.wait(5)
            order.append("first out")
    t = threading.Thread(target=holder)
    t.start()
    inside.wait(5)
    threading.Timer(0.3, release.set).start()
    with locking.host_lock(FakeModule(), "host", lock_dir=str(tmp_path)):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]
    with pytest.raises(AssertionError) as err:
        with locking.host_lock(FakeModule(), "ipvs", lock_dir=str(tmp_path)):
            with locking.host_lock(FakeModule(), "ipvs", timeout=0.2, lock_dir=str(tmp_path)):
                pass
    assert "holds" in str(err.value)


def test_write_atomic_unique_temp_and_restore(tmp_path):
    path = str(tmp_path / "d" / "f.json")
    persist.write_atomic(path, "one\n", 0o600)
    assert open(path).read() == "one\n" and oct(os.stat(path).st_mode & 0o777) == "0o600"
    persist.restore_file(path, None)
    assert not os.path.exists(path)
    persist.restore_file(path, "two\n")
    assert open(path).read() == "two\n"
    assert os.listdir(str(tmp_path / "d")) == ["f.json"]  # no temp file left


def test_boot_program_is_a_real_file():
    from ansible_collections.lvs.cluster.plugins.module_utils.host import boot_replay
    with open(boot_replay.__file__) as f:
        src = f.read()
    assert persist.BOOT_SCRIPT == "#!/usr/bin/python3\n" + src
    state = {"kind": "vip", "interface": "lvs0", "type": "dummy",
             "addresses": [{"address": "192.0.2.1/32", "family": 4}]}
    cmds = [" ".join(a) for a, _t, _c in boot_replay.commands(state)]
    assert cmds == ["modprobe dummy", "ip link add lvs0 type dummy", "ip link set lvs0 up",
                    "ip -4 addr replace 192.0.2.1/32 dev lvs0"]


def test_any_exception_of_a_step_rolls_back_the_steps_before():
    """Issue 23 class 4: not only the errors a caller names: a helper's failure, a bug
    (KeyError), SystemExit-free errors of any kind undo what was done and say which steps ran."""
    log = []

    def boom():
        raise KeyError("no such key")
    todo = [steps.Step("a", lambda: log.append("do a"), lambda: log.append("undo a")),
            steps.Step("b", boom, lambda: log.append("undo b")),
            steps.Step("c", lambda: log.append("do c"))]
    out = steps.run(todo, errors=(OSError,))
    assert log == ["do a", "undo a"], log
    assert out["failed_step"] == "b" and out["steps_undone"] == ["a"] and out["steps_not_run"] == ["c"]
    assert "b failed: 'no such key' (KeyError)" in out["msg"], out["msg"]


def test_a_failing_helper_program_in_the_boot_hook_leaves_no_state_file_nor_hook(tmp_path, monkeypatch):
    """Issue 23 class 4: update-rc.d exits non-zero while the state file is written: the step
    raises (no fail_json inside a step), the state file and every hook file go back as they were."""
    from ansible_collections.lvs.cluster.plugins.module_utils import persist
    root = tmp_path
    state_dir = str(root / "etc/lvs-cluster")
    monkeypatch.setattr(persist, "STATE_DIR", state_dir)
    monkeypatch.setattr(persist, "state_path", lambda kind, name, _p=persist.state_path: _p(kind, name, state_dir))
    monkeypatch.setattr(persist, "SCRIPT_PATH", str(root / "sbin/lvs-cluster-net"))
    monkeypatch.setattr(persist, "INIT_PATH", str(root / "init.d/lvs-cluster-net"))
    monkeypatch.setattr(persist, "UNIT_PATH", str(root / "system/lvs-cluster-net.service"))
    monkeypatch.setattr(persist, "UNIT_WANTS", str(root / "system/wants/lvs-cluster-net.service"))
    monkeypatch.setattr(persist, "HOOK_FILES", ((persist.SCRIPT_PATH, "script", 0o755),
                                                (persist.INIT_PATH, "init", 0o755),
                                                (persist.UNIT_PATH, "unit", 0o644)))
    monkeypatch.setattr(persist, "_rc_links", lambda: [])
    monkeypatch.setattr(persist.os.path, "isdir", lambda p, _isdir=persist.os.path.isdir:
                        True if p == "/etc/init.d" else _isdir(p))

    class Module:
        check_mode = False

        def get_bin_path(self, name):
            return "/usr/sbin/" + name

        def run_command(self, argv, **kw):
            if argv[0].endswith("update-rc.d"):
                return 1, "", "update-rc.d: error: no runlevel symlinks"
            return 0, "", ""

        def fail_json(self, **kw):
            raise AssertionError("fail_json inside a step: %s" % kw)

    state = persist.state_path("vip", "lo")
    assert state.startswith(str(root))
    log = []
    todo = [steps.Step("ip addr add", lambda: log.append("add"), lambda: log.append("del")),
            steps.Step("write state", lambda: persist.sync_state(Module(), "vip", "lo", {"vips": ["192.0.2.1/32"]}),
                       lambda: persist.sync_state(Module(), "vip", "lo", None))]
    out = steps.run(todo)
    assert out is not None and out["failed_step"] == "write state", out
    assert "update-rc.d" in out["msg"] and log == ["add", "del"], (out, log)
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())
    assert left == [] and not os.path.exists(state), left
