"""ipvs_table's planning: linear plans and simulation, order, flush, kernel rules, netlink encoding."""
import random
import struct

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_model as m
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs_netlink as nl


def svc(**kw):
    spec = dict(address="192.0.2.100", port=80, protocol="tcp")
    spec.update(kw)
    return m.normalize_service(spec)


def dest(s, **kw):
    return m.normalize_dest(kw, s)


def table(n, rs=10, weight=1, port=80):
    out = []
    for i in range(n):
        s = svc(address="198.51.100.%d" % (i % 250 + 1), port=port + i // 250)
        out.append((s, [dest(s, address="192.0.2.%d" % (20 + j), weight=weight + j) for j in range(rs)]))
    return out


def old_simulate(table, actions):
    """The former quadratic simulate: the reference the linear one must agree with."""
    out = [(dict(s), [dict(d) for d in ds]) for s, ds in table]
    for verb, s, d in actions:
        if verb == "flush":
            out = []
            continue
        idx = [i for i, (x, _ds) in enumerate(out) if m.service_key(x) == m.service_key(s)]
        if verb == "add-service":
            out.append((dict(s), []))
        elif verb == "edit-service":
            out[idx[0]] = (dict(s), out[idx[0]][1])
        elif verb == "delete-service":
            del out[idx[0]]
        else:
            dests = out[idx[0]][1]
            keep = [x for x in dests if m.dest_key(x) != m.dest_key(d)]
            if verb != "delete-dest":
                pos = [i for i, x in enumerate(dests) if m.dest_key(x) == m.dest_key(d)]
                keep.insert(pos[0] if pos else len(keep), dict(d))
            out[idx[0]] = (out[idx[0]][0], keep)
    return out


def random_change(rng, current):
    """A desired table: some services kept, edited, dropped, added; real servers likewise."""
    desired = []
    for s, ds in current:
        r = rng.random()
        if r < 0.1:
            continue
        if r < 0.2:
            s = dict(s, scheduler="rr")
        new = []
        for d in ds:
            r = rng.random()
            if r < 0.1:
                continue
            new.append(dict(d, weight=d["weight"] + 1) if r < 0.3 else d)
        if rng.random() < 0.3:
            new.append(dest(s, address="203.0.113.%d" % rng.randint(1, 250), weight=3))
            new = list(dict((m.dest_key(d), d) for d in new).values())
        desired.append((s, new))
    for i in range(rng.randint(0, 5)):
        s = svc(address="203.0.113.%d" % (i + 1), port=8000 + rng.randint(0, 9))
        if m.service_key(s) not in set(m.service_key(x) for x, _ds in desired):
            desired.append((s, [dest(s, address="192.0.2.50")]))
    return desired


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("purge", [True, False])
def test_plan_then_simulate_reaches_the_desired_table(seed, purge):
    rng = random.Random(seed)
    current = table(rng.randint(0, 30), rs=rng.randint(0, 6))
    desired = random_change(rng, current)
    plan = m.plan_table(current, desired, purge)
    after = m.simulate(current, plan)
    assert after == old_simulate(current, plan)
    assert m.plan_table(after, desired, purge) == []
    if purge:
        assert m.format_rules(after) == m.format_rules(desired)


def test_simulate_leaves_its_input_alone():
    current = table(3, rs=2)
    snapshot = m.format_rules(current)
    s0, d0 = current[0]
    m.simulate(current, [("edit-dest", s0, dict(d0[0], weight=9)), ("delete-dest", s0, d0[1]),
                         ("edit-service", dict(s0, scheduler="rr"), None), ("delete-service", current[1][0], None)])
    assert m.format_rules(current) == snapshot


def test_planning_and_simulating_are_linear(monkeypatch):
    """service_key calls grow with the table, not its square (was 11 M at N=1,000)."""
    calls = []
    real = m.service_key

    def counting(s):
        calls.append(1)
        return real(s)

    monkeypatch.setattr(m, "service_key", counting)
    counts = {}
    for n in (200, 1000):
        current, desired = table(n), table(n, weight=2)
        del calls[:]
        plan = m.plan_table(current, desired, True)
        after = m.simulate(current, plan)
        assert len(plan) == 10 * n and m.plan_table(after, desired, True) == []
        counts[n] = len(calls)
    assert counts[1000] <= 5.5 * counts[200]
    assert counts[1000] <= 4 * 11 * 1000  # a few per service and per action


def test_adds_and_edits_before_deletes():
    a, b, c = svc(port=80), svc(port=81), svc(port=82)
    da = [dest(a, address="192.0.2.21"), dest(a, address="192.0.2.22")]
    current = [(a, da), (b, [dest(b, address="192.0.2.21")])]
    desired = [(dict(a, scheduler="rr"), [da[1], dest(a, address="192.0.2.23"), dict(da[1], weight=5)][1:]),
               (c, [dest(c, address="192.0.2.21")])]
    plan = m.plan_table(current, desired, purge=True)
    assert [m.describe(x) for x in plan] == [
        "add-service -t 192.0.2.100:82",
        "edit-service -t 192.0.2.100:80",
        "add-dest -t 192.0.2.100:80 -r 192.0.2.23:80",
        "add-dest -t 192.0.2.100:82 -r 192.0.2.21:82",
        "edit-dest -t 192.0.2.100:80 -r 192.0.2.22:80",
        "delete-dest -t 192.0.2.100:80 -r 192.0.2.21:80",
        "delete-service -t 192.0.2.100:81",
    ]
    phases = [m.PHASES[x[0]] for x in plan]
    assert phases == sorted(phases)


def test_purging_everything_is_one_flush():
    current = table(5)
    assert m.plan_table(current, [], purge=True) == [("flush", None, None)]
    assert m.describe(("flush", None, None)) == "flush"
    assert m.simulate(current, [("flush", None, None)]) == []
    assert m.plan_table([], [], purge=True) == []
    assert m.plan_table(current, [], purge=False) == []
    # A new table that keeps nothing is added first, the old one deleted after: no flush.
    plan = m.plan_table(current, table(1, port=90), purge=True)
    assert "flush" not in [x[0] for x in plan] and plan[-1][0] == "delete-service"


def test_summary_counts_each_kind():
    plan = m.plan_table(table(3), table(4, weight=2), purge=True)
    assert m.summarize(plan) == {"add-service": 1, "add-dest": 10, "edit-dest": 30}
    assert m.summarize([]) == {}


def test_kernel_rules():
    ok = svc()
    # normalize_service refuses it already (issue 14); kernel_rules is the second line
    with pytest.raises(m.IPVSValidationError, match="port 0"):
        svc(port=0)
    zero = dict(ok, port=0)
    zero_persistent = svc(port=0, persistence=60)
    six = svc(address="2001:db8::1")
    four_on_six_tun = dest(six, address="192.0.2.21", forward="tun")
    with pytest.raises(m.IPVSValidationError, match="needs forward: tunnel"):
        dest(six, address="192.0.2.21")
    four_on_six_dr = dict(four_on_six_tun, forward="route")
    assert m.kernel_rules([(ok, [dest(ok, address="192.0.2.21")]), (zero_persistent, [])]) == []
    assert m.kernel_rules([(ok, []), (zero, [])]) == [
        "services[1].port: port 0 is for persistent services only (ipvsadm refuses it)"]
    assert m.kernel_rules([(m.normalize_service(dict(fwmark=3)), [])]) == []
    assert m.kernel_rules([(six, [four_on_six_dr])]) == [
        "services[0].destinations[0].forward: an IPv4 real server on an IPv6 service needs tunnel "
        "forwarding, not route"]
    assert m.kernel_rules([(six, [four_on_six_tun])]) == []
    assert m.kernel_rules([(six, [four_on_six_tun])], sync_daemons=True) == [
        "services[0].destinations[0].address: the kernel refuses real servers of another family than the "
        "service while a connection sync daemon runs"]
    assert m.kernel_rules([(svc(scheduler="twos"), [])], schedulers={"wlc", "rr"}) == [
        "services[0].scheduler: twos is not available in this kernel (no ip_vs_twos module)"]
    assert m.kernel_rules([(svc(scheduler="twos"), [])], schedulers=None) == []


# ---------------------------------------------------------------- netlink encoding

SHAPES = [
    (dict(address="192.0.2.100", port=80, scheduler="wrr"),
     dict(address="192.0.2.21", weight=100, upper_threshold=200, lower_threshold=10)),
    (dict(protocol="udp", address="192.0.2.100", port=53, scheduler="sh", sched_flags=["sh-port", "sh-fallback"],
          one_packet=True), dict(address="10.0.0.1", port=5353, forward="nat", weight=0)),
    (dict(address="2001:db8::100", port=443, persistence=60, netmask=64, scheduler="mh",
          sched_flags=["mh-fallback"]), dict(address="2001:db8::21")),
    (dict(fwmark=7, persistence=300, netmask="255.255.255.0"),
     dict(address="192.0.2.21", forward="tun", tun_type="gue", tun_port=6080, tun_flags="csum")),
    (dict(protocol="sctp", address="192.0.2.100", port=0, persistence=30),
     dict(address="192.0.2.21", forward="tun", tun_type="gre", tun_flags="nocsum")),
]


@pytest.mark.parametrize("svc_spec,dest_spec", SHAPES)
def test_netlink_attributes_round_trip(svc_spec, dest_spec):
    s = m.normalize_service(dict(svc_spec, protocol=svc_spec.get("protocol", None if "fwmark" in svc_spec else "tcp")))
    d = m.normalize_dest(dest_spec, s)
    raw_svc = nl.parse_attrs(nl.service_attrs(s))[nl.A_SERVICE]
    assert nl.parse_service(raw_svc) == s
    raw_dest = nl.parse_attrs(nl.dest_attrs(d))[nl.A_DEST]
    assert nl.parse_dest(raw_dest, s["family"]) == d
    key = nl.parse_attrs(nl.parse_attrs(nl.service_attrs(s, full=False))[nl.A_SERVICE])
    assert nl.S_SCHED_NAME not in key and nl.S_FLAGS not in key


def test_netlink_attribute_layout():
    assert nl.nla_u16(1, 2) == struct.pack("=HHH", 6, 1, 2) + b"\0\0"  # padded to 4
    assert nl.nla_be16(4, 80) == struct.pack("=HH", 6, 4) + b"\x00\x50\0\0"  # ports in network order
    assert nl.nla_str(6, "wlc") == struct.pack("=HH", 8, 6) + b"wlc\0"
    # NLA_F_NESTED set by the kernel does not hide the type.
    assert nl.parse_attrs(struct.pack("=HH", 8, 0x8000 | 2) + b"abcd") == {2: b"abcd"}


class FakeLink:
    """Acknowledges each request of a send by sequence number, in reverse order, refusing some."""

    def __init__(self, refuse):
        self.refuse = refuse  # {action index: errno}
        self.seq = 0
        self.family_id = 30
        self.sends = []

    def message(self, msg_type, cmd, attrs, flags):
        assert flags == nl.NLM_F_REQUEST | nl.NLM_F_ACK
        self.seq += 1
        return self.seq, struct.pack("=I", self.seq)

    def send(self, data):
        self.sends.append([struct.unpack_from("=I", data, i)[0] for i in range(0, len(data), 4)])

    def messages(self):
        replies = [(nl.NLMSG_DONE, 0, 0, 0, 0, b"")]  # not an acknowledgement: skipped
        for seq in reversed(self.sends[-1]):
            payload = struct.pack("=i", -self.refuse.get(seq - 1, 0))
            replies.append((nl.NLMSG_ERROR, 0, seq, 0, 4, payload))
        return replies


def test_batches_map_each_acknowledgement_to_its_action(monkeypatch):
    monkeypatch.setattr(nl, "action_request", lambda action, keys=None: (nl.CMD["NEW_DEST"], b""))
    ipvs = nl.IPVS.__new__(nl.IPVS)
    ipvs.nl = FakeLink({300: 22, 310: 2})
    done, errors = ipvs.apply_batch([("add-dest", None, None)] * 1000)
    assert [len(x) for x in ipvs.nl.sends] == [256, 256]  # the second batch had refusals: no third
    assert sorted(errors) == [300, 310]
    assert errors[300].code == 22 and "new dest failed: EINVAL" in str(errors[300])
    assert errors[310].code == 2 and "ENOENT" in str(errors[310])
    assert done == [i for i in range(512) if i not in (300, 310)]
    ipvs.nl = FakeLink({})
    done, errors = ipvs.apply_batch([("add-dest", None, None)] * 600, batch=100)
    assert errors == {} and done == list(range(600)) and len(ipvs.nl.sends) == 6


def test_requests_encode_the_same_with_the_key_cache():
    current = table(3, rs=3)
    plan = m.plan_table(current, table(4, rs=3, weight=5), purge=True)
    plan.append(("delete-dest", current[0][0], current[0][1][0]))
    keys = {}
    for action in plan:
        assert nl.action_request(action, keys) == nl.action_request(action)
    assert len(keys) == 4


def test_an_address_that_cannot_be_encoded_fails_before_anything_is_sent(monkeypatch):
    """Issue 23 class 2: inet_pton failing on the 301st action escaped after 256 acknowledged
    adds. Every request is encoded before the first is sent: nothing reaches the kernel."""
    def request(action, keys=None):
        if action[1] == 300:
            raise OSError("illegal IP address string passed to inet_pton")
        return nl.CMD["NEW_DEST"], b""
    monkeypatch.setattr(nl, "action_request", request)
    ipvs = nl.IPVS.__new__(nl.IPVS)
    ipvs.nl = FakeLink({})
    with pytest.raises(OSError):
        ipvs.apply_batch([("add-dest", i, None) for i in range(400)])
    assert ipvs.nl.sends == []


def test_a_zone_id_is_refused_in_validation_naming_the_field():
    with pytest.raises(m.IPVSValidationError) as e:
        m.normalize_service(dict(protocol="tcp", address="fe80::5%eth0", port=80), field="services[1]")
    assert str(e.value).startswith("services[1].address: ") and "zone" in str(e.value)
    svc = m.normalize_service(dict(protocol="tcp", address="2001:db8::5", port=80))
    with pytest.raises(m.IPVSValidationError) as e:
        m.normalize_dest(dict(address="2001:db8::6%2"), svc, field="services[0].destinations[3]")
    assert str(e.value).startswith("services[0].destinations[3].address: "), str(e.value)
