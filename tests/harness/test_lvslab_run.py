"""`lvslab run` itself, on the machine: each test boots its own small lab kernel.

Run outside any lab (make test-harness): the tests start `lvslab run` and
watch it from outside, the way a user or CI does.
"""
import ast
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LVSLAB = os.path.join(REPO, "lab", "bin", "lvslab")
# One client host is the smallest topology the loader accepts.
TINY = """segments: {lan: {}}
hosts:
  client:
    groups: [lvs_clients]
    interfaces: {eth0: {segment: lan, addresses: [192.0.2.9/24]}}
"""


@pytest.fixture
def out(request):
    """An output folder of its own under .lab (never the machine's /tmp)."""
    path = os.path.join(REPO, ".lab", "harness", request.node.name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def uml_processes(out):
    """PIDs of lab kernels (and their helpers) whose output folder is `out`."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    cmd = f.read().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"linux.uml") and ("uml_dir=%s/uml" % out).encode() in cmd:
                pids.append(int(entry))
    return pids


def lvslab_run(out, *args, **kw):
    return subprocess.run([LVSLAB, "run", "--out", out] + list(args),
                          capture_output=True, text=True, timeout=kw.pop("timeout", 120), check=False, **kw)


def test_sigterm_stops_the_command_and_the_lab_kernel(out):
    p = subprocess.Popen([LVSLAB, "run", "--out", out, "--", "sleep", "600"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(out, "lab.sock")) and time.time() < deadline:
        time.sleep(0.1)
    assert uml_processes(out), "no lab kernel came up"
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=30)
    assert rc == 128 + signal.SIGTERM
    time.sleep(0.5)
    assert uml_processes(out) == []
    assert not os.path.exists(os.path.join(out, "lab.sock"))


def test_a_guest_boot_failure_ends_the_run_in_seconds_with_its_reason(out):
    t0 = time.time()
    res = lvslab_run(out, "--guest-python", "/nonexistent/python3", "--", "true")
    assert res.returncode == 125, res
    assert "/nonexistent/python3: not found in the lab kernel" in res.stderr, res.stderr
    assert time.time() - t0 < 30
    assert uml_processes(out) == []


def test_the_lab_line_carries_megabytes_both_ways_in_parallel_sessions(out):
    # Checksummed both ways: 4 sessions at once, each 1 MiB to the lab and 2 MiB back.
    script = os.path.join(REPO, "tests", "harness", "line_stress.py")
    res = lvslab_run(out, "--", sys.executable, script, "4", str(1 << 20), str(2 << 20), timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "line stress: ok" in res.stdout


def test_a_checkout_under_tmp_is_seen_by_the_lab_kernel_and_its_hosts(out):
    clone = "/tmp/lvslab-harness-clone"
    shutil.rmtree(clone, ignore_errors=True)
    try:
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", REPO, clone], check=True)
        for path in ("lab", "tests"):  # the working tree as it is now, committed or not
            shutil.rmtree(os.path.join(clone, path))
            shutil.copytree(os.path.join(REPO, path), os.path.join(clone, path),
                            ignore=shutil.ignore_patterns("__pycache__"))
        topo = os.path.join(clone, "tiny.yml")
        with open(topo, "w") as f:
            f.write(TINY)
        # The clone's own lab package (python -m lab from the clone), this venv's Python.
        res = subprocess.run([sys.executable, "-m", "lab", "run", "--out", out,
                              "-t", topo, "--", "sh", "-c",
                              "lvslab exec client -- cat %s/tiny.yml && lvslab exec --kernel -- ls %s/lab/cli.py"
                              % (clone, clone)],
                             cwd=clone, capture_output=True, text=True, timeout=180, check=False)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "lvs_clients" in res.stdout and "%s/lab/cli.py" % clone in res.stdout
    finally:
        shutil.rmtree(clone, ignore_errors=True)


# The machine's writable places a controller could touch.
WATCHED = [os.path.expanduser("~"), "/tmp", "/var/tmp", "/dev/shm"]

PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.copy: {content: "probe\\n", dest: /etc/lvslab-probe, mode: "0644"}
    - ansible.builtin.template: {src: %s, dest: /etc/lvslab-probe2, mode: "0644"}
    - ansible.builtin.fetch: {src: /etc/lvslab-probe, dest: "{{ lookup('env', 'LVSLAB_OUT') }}/fetched/"}
"""

# Run in a mount namespace of its own where each watched place is a new, empty
# tmpfs: whatever the lab run (the command on the machine, the lab kernel, its
# helpers) writes there stays there and is listed afterwards, and what other
# processes of the machine write meanwhile cannot be mistaken for it. The
# checkout, the venv and the output folder are bound back where a watched
# place covers them.
WATCH_SCRIPT = r"""
set -e
keep=/run/lvslab-harness-keep.$$
i=0
for p in $KEEP; do mkdir -p $keep/$i; mount --bind "$p" $keep/$i; i=$((i+1)); done
for d in $WATCHED; do mount -t tmpfs lvslab-watch "$d"; done
i=0
for p in $KEEP; do mkdir -p "$p"; mount --move $keep/$i "$p"; i=$((i+1)); done
rm -rf $keep
set +e
"$@"
rc=$?
echo "== written outside the output folder:"
for d in $WATCHED; do find "$d" -xdev -mindepth 1; done
exit $rc
"""


def test_a_lab_run_writes_nothing_outside_its_output_folder(out):
    topo = os.path.join(out, "tiny.yml")
    play = os.path.join(out, "play.yml")
    with open(topo, "w") as f:
        f.write(TINY)
    with open(play, "w") as f:
        f.write(PLAY % os.path.join(REPO, "README.md"))
    keep = sorted({REPO, os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix), out})
    covered = [p for p in keep if any(p == d or p.startswith(d + "/") for d in WATCHED)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".lab", "collections"),
               WATCHED=" ".join(WATCHED), KEEP=" ".join(covered))
    work = ("ansible -i $LVSLAB_INVENTORY all -m ping && ansible-playbook -i $LVSLAB_INVENTORY %s && "
            "python -m pytest -q -p no:cacheprovider --co %s/tests/unit/test_os_family_vars.py" % (play, REPO))
    res = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", WATCH_SCRIPT, "sh",
                          LVSLAB, "run", "--out", out, "-t", topo, "--", "sh", "-c", work],
                         capture_output=True, text=True, timeout=240, env=env, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    written = res.stdout.split("== written outside the output folder:\n", 1)[1].split()
    # The folders made to bind the checkout back are ours, not the run's.
    made = {d for p in covered for d in _parents(p)}
    written = [p for p in written if p not in made]
    assert written == [], written
    # ...and it did write where it may: the fetched file, Ansible's home.
    assert os.path.exists(os.path.join(out, "fetched", "client", "etc", "lvslab-probe"))
    assert os.path.isdir(os.path.join(out, "home"))


def _parents(path):
    parts = []
    while path not in ("/", ""):
        parts.append(path)
        path = os.path.dirname(path)
    return parts


# What the command sees of its lab kernel: the distinct CPU sets of the kernel's processes.
# (the lab package comes from the PYTHONPATH `lvslab run` gives its command)
AFFINITY_PROBE = ("import os; from lab.machine import lab_kernel_pids; "
                  "print(sorted(set(tuple(sorted(os.sched_getaffinity(p))) for p in lab_kernel_pids())))")


@pytest.mark.parametrize("cpu", ["auto", "none"])
def test_the_lab_kernel_runs_on_one_cpu_unless_told_not_to(out, cpu):
    p = lvslab_run(out, "--cpu", cpu, "--", sys.executable, "-c", AFFINITY_PROBE)
    assert p.returncode == 0, p.stdout + p.stderr
    sets = ast.literal_eval(p.stdout.strip().splitlines()[-1])
    machine = tuple(sorted(os.sched_getaffinity(0)))
    if cpu == "auto":
        assert len(sets) == 1 and len(sets[0]) == 1 and sets[0][0] in machine, sets
    else:
        assert sets == [machine], sets


def test_auto_takes_the_cpu_the_fewest_lab_kernels_run_on():
    from lab.machine import choose_cpu
    assert choose_cpu("auto", {0: 1, 1: 0}) == 1
    assert choose_cpu("auto", {0: 0, 1: 0}) == 0
    assert choose_cpu("auto", {0: 2, 1: 1, 2: 1}) == 1
    assert choose_cpu("none") is None
    assert choose_cpu("1") == 1
