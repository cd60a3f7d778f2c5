"""ipvs_service on the lab kernel, read back with ipvsadm (an independent client)."""
import pytest

HOST = "dir1"


@pytest.fixture(autouse=True)
def clean_table(lab):
    lab.run(HOST, "modprobe ip_vs && ipvsadm -C")
    yield
    lab.run(HOST, "ipvsadm -C")


def saved(lab):
    return lab.out(HOST, "ipvsadm -S -n")


def test_add_service_with_destinations_reads_back_exactly(lab):
    args = dict(address="192.0.2.100", port=80, scheduler="wlc", persistence=60,
                destinations=[dict(address="192.0.2.21", weight=100),
                              dict(address="192.0.2.22", weight=50, upper_threshold=200, lower_threshold=10)])
    res = lab.module(HOST, "ipvs_service", **args)
    assert res.get("changed") is True, res
    assert saved(lab) == res["diff"]["after"]
    assert "-A -t 192.0.2.100:80 -s wlc -p 60" in saved(lab)
    again = lab.module(HOST, "ipvs_service", **args)
    assert again["changed"] is False, again
