"""The OS-family data of the roles: the family the lab does not run (RedHat) defines
what the lab's family (Debian) defines, and renders."""
import os

import jinja2
import pytest
import yaml

from ansible_collections.lvs.cluster.plugins.filter.cluster import FilterModule

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLES_WITH_FAMILIES = ["keepalived", "lvs_director"]


def _vars(role, family):
    with open(os.path.join(REPO, "roles", role, "vars", family + ".yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("role", ROLES_WITH_FAMILIES)
def test_every_family_defines_the_same_variables(role):
    assert set(_vars(role, "RedHat")) == set(_vars(role, "Debian"))


def test_redhat_paths_are_the_redhat_ones():
    kd, ld = _vars("keepalived", "RedHat"), _vars("lvs_director", "RedHat")
    assert kd["__keepalived_sysconfig_path"] == "/etc/sysconfig/keepalived"
    assert kd["__keepalived_sysconfig_variable"] == "KEEPALIVED_OPTIONS"
    # ipvsadm.service on RHEL restores /etc/sysconfig/ipvsadm at boot
    assert ld["__lvs_director_rules_file"] == "/etc/sysconfig/ipvsadm"


@pytest.mark.parametrize("family,line", [("Debian", 'DAEMON_ARGS=""'), ("RedHat", 'KEEPALIVED_OPTIONS="-D"')])
def test_keepalived_options_file_renders_per_family(family, line):
    with open(os.path.join(REPO, "roles", "keepalived", "templates", "keepalived.sysconfig.j2"), encoding="utf-8") as f:
        env = jinja2.Environment(undefined=jinja2.StrictUndefined)
        # the collection's filters, as Ansible names them
        env.filters.update(("lvs.cluster." + name, func) for name, func in FilterModule().filters().items())
        template = env.from_string(f.read())
    v = _vars("keepalived", family)
    out = template.render(v, keepalived_daemon_args=v["__keepalived_daemon_args"], ansible_managed="managed",
                          keepalived_tmp_dir="/var/lib/lvs-cluster/keepalived", __keepalived_sysv=False)
    assert line in out.splitlines()
    assert 'TMPDIR="/var/lib/lvs-cluster/keepalived"' in out.splitlines() and "export TMPDIR" not in out
    # sysv init sources the file in a shell: TMPDIR reaches keepalived only when exported
    out = template.render(v, keepalived_daemon_args="", ansible_managed="managed",
                          keepalived_tmp_dir="/var/lib/lvs-cluster/keepalived", __keepalived_sysv=True)
    assert "export TMPDIR" in out.splitlines()


def test_keepalived_options_file_refuses_shell_expansion():
    with open(os.path.join(REPO, "roles", "keepalived", "templates", "keepalived.sysconfig.j2"), encoding="utf-8") as f:
        env = jinja2.Environment(undefined=jinja2.StrictUndefined)
        env.filters.update(("lvs.cluster." + name, func) for name, func in FilterModule().filters().items())
        template = env.from_string(f.read())
    v = _vars("keepalived", "Debian")
    with pytest.raises(Exception, match="keepalived_daemon_args: must not contain"):
        template.render(v, keepalived_daemon_args='-D"; reboot; "', ansible_managed="managed",
                        keepalived_tmp_dir="/var/lib/lvs-cluster/keepalived", __keepalived_sysv=False)
