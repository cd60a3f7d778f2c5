testinfra_hosts = ["dir1"]


def test_virtual_service_is_in_the_kernel(host):
    table = host.check_output("ipvsadm -Ln")
    assert "TCP  192.0.2.100:80 wlc" in table


def test_director_reaches_the_client(host):
    assert host.run("ping -c 1 -W 2 192.0.2.10").rc == 0
    assert host.check_output("hostname") == "dir1"
