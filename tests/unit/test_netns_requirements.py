"""Where network namespaces cannot be made, the multi-host tests fail (never skip), naming what
is missing; the test network's subnet is one the machine does not use."""

import ipaddress

import pytest

from tests.fixtures.netns import CANDIDATES, NetnsError, pick_subnet, require_netns


def test_without_root_nor_iproute2_the_fixture_fails_naming_both():
    with pytest.raises(pytest.fail.Exception) as failed:
        require_netns(euid=1000, ip=None)
    assert "root" in str(failed.value) and "uid 1000" in str(failed.value)
    assert "iproute2" in str(failed.value)


def test_without_iproute2_alone():
    with pytest.raises(pytest.fail.Exception, match="iproute2") as failed:
        require_netns(euid=0, ip=None)
    assert "missing: iproute2" in str(failed.value) and "uid" not in str(failed.value)


def test_the_subnet_avoids_every_network_in_use():
    used = [ipaddress.IPv4Network("10.0.0.0/8"), ipaddress.IPv4Network("172.29.113.7/32")]
    assert pick_subnet(used) == ipaddress.IPv4Network("172.23.61.0/24")
    assert pick_subnet([]) == ipaddress.IPv4Network(CANDIDATES[0])
    with pytest.raises(NetnsError, match="in use"):
        pick_subnet([ipaddress.IPv4Network("0.0.0.0/1"), ipaddress.IPv4Network("128.0.0.0/1")])
