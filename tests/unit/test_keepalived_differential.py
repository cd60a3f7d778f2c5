"""Differential test: what keepalived_conf writes is what Debian's keepalived reads.

Generated values (hypothesis) for every VRRP-side field the writer emits are rendered
by keepalived_conf; a value the writer refuses is fine (counted), a value it writes
must come back exactly from keepalived itself: `keepalived -t` accepts the file
without a word, and a keepalived started with --dump-conf (-d) in a private network
and mount namespace (`unshare -m -n`: its own veth interfaces, tmpfs on /run and
/tmp, so nothing is written outside) prints its parsed configuration, in which every
value must appear as written and no more instances, VIPs or tracked interfaces than
the model's.

The virtual_server side cannot run here (keepalived's checker process needs IPVS,
which this machine's kernel lacks); its values share the same writer and checks.
Needs root (unshare); skipped otherwise.
"""
import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils.cluster_model import ClusterModelError
from ansible_collections.lvs.cluster.plugins.module_utils.keepalived_conf import keepalived_conf

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(KEEPALIVED) or not shutil.which("unshare"),
    reason="needs root, unshare and keepalived (Debian's) on the machine")

# The shell run inside the namespaces: the configuration on stdin, the interfaces as arguments.
RUN = r"""
set -e
mount -t tmpfs none /run && mount -t tmpfs none /tmp
cat > /run/k.conf
ip link set lo up
for i in "$@"; do ip link add name "$i" type veth peer name "p$i" && ip link set dev "$i" up; done
set +e
printf '%s' "$VALIDATE_SH" > /run/validate; sh /run/validate keepalived /run/k.conf > /run/t.out 2>&1; echo "config-test rc=$?"; cat /run/t.out
echo "== dump"
keepalived -P -n -l -D -d -f /run/k.conf -p /run/k.pid -r /run/v.pid -c /run/c.pid > /run/d.out 2>&1 &
n=0; until grep -q -- '------< Interfaces >------' /run/d.out || [ $n -ge 200 ]; do sleep 0.05; n=$((n+1)); done
cut -c27- /run/d.out
# the end of this shell (PID 1 of the PID namespace) ends keepalived
"""

# the role's own keepalived -t wrapper (keepalived 2.2.7's script_user bug)
# (its text: a checkout under /tmp is hidden by the namespace's own /tmp)
with open(os.path.join(os.path.dirname(__file__), "..", "..", "roles", "keepalived", "files",
                       "keepalived-validate-config"), encoding="utf-8") as _f:
    VALIDATE_SH = _f.read()
STATS = {"written": 0, "refused": 0}
# Letters and the characters keepalived's reader treats specially ($ ~ @ ' and multibyte text).
TEXT = st.text(alphabet="abcXYZ019_-.:/()$~@'%+=,\u00e9\u20ac", min_size=1, max_size=12)
NAME = st.text(alphabet="abcXYZ019_.:@-", min_size=1, max_size=12)  # the model's names
IFNAME = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
ARGS = st.lists(st.text(alphabet="abcXYZ019_-.:/()$~@%+=,\u00e9", min_size=1, max_size=8), min_size=0, max_size=3)


def keepalived_reads(text, interfaces):
    """keepalived's config-test output and its --dump-conf of text, run in private namespaces."""
    p = subprocess.run(["unshare", "-m", "-n", "-p", "-f", "--mount-proc", "--propagation", "private",
                        "sh", "-c", RUN, "sh"] + interfaces,
                       input=text, capture_output=True, text=True, timeout=60, check=False,
                       env=dict(os.environ, VALIDATE_SH=VALIDATE_SH))
    out = p.stdout + p.stderr
    test, _sep, dump = out.partition("== dump\n")
    return test, dump


@st.composite
def descriptions(draw):
    """Role variables with generated values in every VRRP-side field the writer emits."""
    ifaces = draw(st.lists(IFNAME, min_size=2, max_size=2, unique=True))
    names = draw(st.lists(NAME, min_size=5, max_size=5, unique=True))
    inst, inst2, inst3, group, script = names
    args = [draw(ARGS) for dummy in range(6)]
    notify = ["/usr/bin/true" + "".join(" " + a for a in words) for words in args]
    kw = {
        "global_defs": {"script_user": "root", "enable_script_security": True, "router_id": draw(TEXT),
                        "notification_email_from": draw(TEXT) + "@" + draw(TEXT),
                        "notification_email": [draw(TEXT) + "@" + draw(TEXT)]},
        "vrrp_scripts": [{"name": script, "script": notify[5], "interval": draw(st.integers(1, 1000)),
                          "weight": draw(st.integers(-253, 253)), "rise": draw(st.integers(1, 100)),
                          "fall": draw(st.integers(1, 100))}],
        "sync_groups": [{"name": group, "group": [inst, inst2], "notify_master": notify[0]}],
        "instances": [
            {"name": inst, "interface": ifaces[0], "virtual_router_id": draw(st.integers(1, 255)),
             "priority": draw(st.integers(1, 254)), "advert_int": draw(st.integers(1, 255)),
             "authentication": {"type": "PASS",
                                "pass": draw(st.text(alphabet="abcXYZ019_-.$~@'%\u00e9", min_size=1, max_size=8))},
             "preempt_delay": draw(st.integers(0, 1000)), "track_interfaces": [ifaces[1]],
             "notify_backup": notify[1], "notify_fault": notify[2], "notify_stop": notify[3], "notify": notify[4],
             "vips": ["192.0.2.%d/32" % draw(st.integers(1, 127)),
                      {"address": "192.0.2.%d/24" % draw(st.integers(128, 254)), "dev": ifaces[1],
                       "scope": draw(st.sampled_from(["global", "link", "host"])),
                       "label": ifaces[1] + ":" + draw(st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True))}],
             "unicast_src_ip": "198.51.100.%d" % draw(st.integers(1, 127)),
             "unicast_peers": ["198.51.100.%d" % draw(st.integers(128, 254))],
             "garp_master_delay": draw(st.integers(0, 1000)), "garp_master_refresh": draw(st.integers(1, 1000))},
            {"name": inst2, "interface": ifaces[1], "virtual_router_id": 1, "priority": 100,
             "vips": ["198.51.100.%d/32" % draw(st.integers(1, 254))]},
            {"name": inst3, "interface": ifaces[1], "virtual_router_id": 2, "priority": 100,
             "track_scripts": [script], "vips": ["203.0.113.%d/32" % draw(st.integers(1, 254))]},
        ],
    }
    return kw, ifaces


SOURCES = {"keepalived_global_defs": "global_defs", "keepalived_vrrp_instances": "instances",
           "keepalived_vrrp_scripts": "vrrp_scripts", "keepalived_vrrp_sync_groups": "sync_groups"}


def _field(kw, path):
    """The value at an error path such as keepalived_vrrp_instances[2].track_scripts[0]."""
    head, _sep, rest = path.partition(".") if "[" not in path.split(".")[0] else path.partition("[")
    node = kw[SOURCES[head.split("[")[0]]]
    for part in re.findall(r"\[(\d+)\]|\.?([A-Za-z_]+)", ("[" if _sep == "[" else ".") + rest):
        node = node[int(part[0])] if part[0] else node[part[1]]
    return node


def _replace(tree, old, new):
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, value in list(items):
        if value == old:
            tree[key] = new
        elif isinstance(value, (dict, list)):
            _replace(value, old, new)


def script_words(command):
    first, _sep, rest = command.partition(" ")
    return " ".join("'%s'" % w for w in [first] + rest.split())


def expected_lines(kw):
    g, i = kw["global_defs"], kw["instances"][0]
    lines = [" Router ID = " + g["router_id"], " Email notification from = " + g["notification_email_from"],
             "   " + g["notification_email"][0]]
    for inst in kw["instances"]:
        lines += [" VRRP Instance = " + inst["name"], "   Interface = " + inst["interface"],
                  "   Virtual Router ID = %d" % inst["virtual_router_id"], "   Priority = %d" % inst["priority"],
                  "     %s dev %s scope global" % (inst["vips"][0].split("/")[0], inst["interface"])]
    lines += ["   Advert interval = %d sec" % i["advert_int"], "   Password = " + i["authentication"]["pass"],
              "     %s weight 0" % i["track_interfaces"][0],
              " VRRP Sync Group = %s," % kw["sync_groups"][0]["name"]]  # then its state
    lines += ["     " + member for member in kw["sync_groups"][0]["group"]]
    v = i["vips"][1]
    lines += ["     %s dev %s scope %s label %s" % (v["address"], v["dev"], v["scope"], v["label"]),
              "   Using src_ip = %s (from configuration)" % i["unicast_src_ip"],
              "     %s min_ttl 0 max_ttl 255" % i["unicast_peers"][0],
              "   Gratuitous ARP delay = %d" % i["garp_master_delay"],
              "   Gratuitous ARP refresh = %d" % i["garp_master_refresh"]]
    if i["preempt_delay"]:
        lines.append("   Preempt delay = %d secs" % i["preempt_delay"])
    for label, key in (("Backup", "notify_backup"), ("Fault", "notify_fault"), ("Stop", "notify_stop"),
                       ("Generic", "notify")):
        lines.append("   %s state transition script = %s, uid:gid 0:0" % (label, script_words(i[key])))
    lines.append("   Master state transition script = %s, uid:gid 0:0"
                 % script_words(kw["sync_groups"][0]["notify_master"]))
    s = kw["vrrp_scripts"][0]
    lines += ["     %s weight %d" % (s["name"], s["weight"]), " VRRP Script = " + s["name"],
              "   Command = " + script_words(s["script"]), "   Interval = %d sec" % s["interval"],
              "   Weight = %d" % s["weight"], "   Rise = %d" % s["rise"], "   Fall = %d" % s["fall"]]
    return lines


@hypothesis.settings(max_examples=int(os.environ.get("KEEPALIVED_DIFF_EXAMPLES", "25")), deadline=None,
                     suppress_health_check=list(hypothesis.HealthCheck), database=None,
                     phases=(hypothesis.Phase.explicit, hypothesis.Phase.generate))
@hypothesis.given(descriptions())
def test_keepalived_reads_back_every_value_written(case):
    kw, ifaces = case
    for attempt in range(30):
        try:
            text = keepalived_conf(kw["global_defs"], vrrp_scripts=kw["vrrp_scripts"],
                                   sync_groups=kw["sync_groups"], instances=kw["instances"], host="dir1",
                                   priority=100)
            break
        except ClusterModelError as e:
            # a refusal names the field: that value is counted and replaced by a plain one (everywhere
            # it is used, e.g. a script name and its track_script), and the rest is tried again
            STATS["refused"] += 1
            old = _field(kw, e.path)
            new = "plain%d" % attempt + ("@example.org" if "@" in old and "email" in e.path else "")
            if "notify" in e.path or e.path.endswith(".script"):
                new = "/usr/bin/true " + new
            _replace(kw, old, new)
    STATS["written"] += 1
    test, dump = keepalived_reads(text, ifaces)
    assert test.strip() == "config-test rc=0", "keepalived -t:\n%s\n%s" % (test, text)
    got = dump.splitlines()
    missing = [line for line in expected_lines(kw)
               if line not in got and not (line.endswith(",") and any(g.startswith(line) for g in got))]
    assert not missing, "keepalived read otherwise: %r\n--- written\n%s--- read\n%s" % (missing, text, dump)
    assert sum(1 for line in got if line.startswith(" VRRP Instance = ")) == 3, dump
    assert sum(1 for line in got if line.startswith(" VRRP Sync Group = ")) == 1, dump


def test_the_run_wrote_cases():
    """The generated cases above were mostly written, not all refused (the test compared something)."""
    print("keepalived differential: %(written)d configurations written and read back; %(refused)d generated "
          "values refused by the writer (replaced by plain ones)" % STATS)
    assert STATS["written"] >= 10
