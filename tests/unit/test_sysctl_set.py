"""lvs.cluster.sysctl_set's pure part: names, values, module detection, the files (issue 25)."""
import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import sysctl_set as m


def test_one_task_for_director_settings_and_vlan_devices():
    settings, modules = m.validate(dict(
        settings={"net.ipv4.vs.expire_nodest_conn": 1, "net.ipv4.ip_forward": True},
        interfaces=["all", "eth0.100"], interface_settings={"send_redirects": 0},
        modules=["ip_vs", "ip_vs_wlc", "ip_vs"], file="/etc/sysctl.d/90-x.conf"))
    assert [(k, v) for k, c, v in settings] == [
        ("net.ipv4.vs.expire_nodest_conn", "1"), ("net.ipv4.ip_forward", "1"),
        ("net.ipv4.conf.all.send_redirects", "0"), ("net/ipv4/conf/eth0.100/send_redirects", "0")]
    assert m.proc_path(settings[3][1]) == "/proc/sys/net/ipv4/conf/eth0.100/send_redirects"
    assert modules == ["ip_vs", "ip_vs_wlc"]
    assert m.render_conf(settings).splitlines()[1:] == [
        "net.ipv4.vs.expire_nodest_conn = 1", "net.ipv4.ip_forward = 1",
        "net.ipv4.conf.all.send_redirects = 0", "-net/ipv4/conf/eth0.100/send_redirects = 0"]


@pytest.mark.parametrize("params,words", [
    # issue 23 class 5: a device name with a blank would name another sysctl
    (dict(interfaces=["eth0 net.ipv4.ip_forward"], interface_settings={"send_redirects": 0}), "interfaces[0]"),
    (dict(interfaces=["../../vs"], interface_settings={"send_redirects": 0}), "interfaces[0]"),
    (dict(interfaces=["eth0/x"], interface_settings={"send_redirects": 0}), "interfaces[0]"),
    (dict(interfaces=["a-very-long-device-name"], interface_settings={"send_redirects": 0}), "interfaces[0]"),
    (dict(settings={"net.ipv4.conf.eth0 x.send_redirects": 0}), "settings"),
    (dict(settings={"net/ipv4/../../kernel/x": 0}), "settings"),
    (dict(settings={"/proc/sys/net/ipv4/ip_forward": 1}), "settings"),
    (dict(settings={"ip_forward": 1}), "settings"),
    (dict(settings={"net.ipv4.ip_forward": "1\nkernel.x = 1"}), "settings.net.ipv4.ip_forward"),
    (dict(settings={"net.ipv4.ip_forward": None}), "settings.net.ipv4.ip_forward"),
    (dict(settings={"net.ipv4.ip_forward": 1, "net/ipv4/ip_forward": 0}), "given twice"),
    (dict(modules=["ip_vs; reboot"]), "modules[0]"),
    (dict(file="relative.conf"), "file"),
    (dict(modules_file="/etc/modules-load.d/x"), "modules_file"),
])
def test_bad_input_is_refused_naming_the_field(params, words):
    with pytest.raises(m.ValidationError) as e:
        m.validate(params)
    assert words in str(e.value)


def test_values_compare_up_to_blanks():
    assert m.value_text("f", "32768\t60999") == "32768 60999"
    assert m.same("32768 60999", "32768 60999") and not m.same(None, "1") and not m.same("0", "1")


def test_module_loaded_or_built_in(tmp_path):
    (tmp_path / "ip_vs").mkdir()
    assert m.module_loaded("ip_vs", "", "", str(tmp_path))
    assert m.module_loaded("ip_vs_wlc", "ip_vs_wlc 16384 0 - Live 0x0\n", "", str(tmp_path))
    assert m.module_loaded("ip_vs_rr", "", "kernel/net/netfilter/ipvs/ip_vs_rr.ko\n", str(tmp_path))
    assert not m.module_loaded("ip_vs_sh", "ip_vs_shx 1 0\n", "kernel/net/ip_vs_shx.ko\n", str(tmp_path))
