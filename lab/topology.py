"""Topologies: the YAML description of a lab's segments and hosts, read and checked."""
import ipaddress

from lab.core import LabError

HOST_INITS = ("sysv", "systemd")
SYSTEMD_UNIT_PROFILES = ("minimal", "full")
# The documentation ranges (RFC 5737, RFC 3849) and IPv6 link-local: no lab
# address can be one that exists outside the lab.
DOC_RANGES = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "fe80::/10"))


def in_doc_ranges(text):
    """address[/prefix] inside DOC_RANGES (the prefix, if any, too)."""
    try:
        net = ipaddress.ip_interface(str(text)).network
    except ValueError:
        return False
    return any(net.version == r.version and net.subnet_of(r) for r in DOC_RANGES)


def load_topology(path):
    """The topology in the YAML file at path, checked (LabError naming what is wrong)."""
    import yaml  # only needed where topologies are read
    with open(path) as f:
        topo = yaml.safe_load(f)
    validate_topology(topo, path)
    return topo


def validate_topology(topo, where="topology"):
    """Check a topology (and fill in its defaults): segments, hosts, addresses in the
    documentation ranges, init and unit profile; LabError names the first problem."""
    if not isinstance(topo, dict) or "hosts" not in topo:
        raise LabError("%s: needs a 'hosts' mapping" % where)
    segments = topo.setdefault("segments", {}) or {}
    topo["segments"] = segments
    for seg in segments:
        if len("br-" + seg) > 15:
            raise LabError("%s: segment name %r is too long (12 characters at most)" % (where, seg))
    if not any("lvs_clients" in (h or {}).get("groups", []) for h in topo["hosts"].values()):
        raise LabError("%s: every topology has a host in group 'lvs_clients' (a client that sends traffic to the VIPs)" % where)
    for name, host in topo["hosts"].items():
        host = host or {}
        topo["hosts"][name] = host
        for ifname, iface in (host.get("interfaces") or {}).items():
            if iface.get("segment") not in segments:
                raise LabError("%s: host %s interface %s: unknown segment %r"
                               % (where, name, ifname, iface.get("segment")))
            for addr in iface.get("addresses", []):
                if not in_doc_ranges(addr):
                    raise LabError("%s: host %s address %s is outside the documentation ranges"
                                   % (where, name, addr))
        if host.get("init", "sysv") not in HOST_INITS:
            raise LabError("%s: host %s: init must be one of %s, not %r"
                           % (where, name, ", ".join(HOST_INITS), host.get("init")))
        if host.get("systemd_units", "minimal") not in SYSTEMD_UNIT_PROFILES:
            raise LabError("%s: host %s: systemd_units must be one of %s"
                           % (where, name, ", ".join(SYSTEMD_UNIT_PROFILES)))
        gw = host.get("gateway")
        if gw and not in_doc_ranges(gw):
            raise LabError("%s: host %s gateway %s is outside the documentation ranges" % (where, name, gw))

