"""The network lab's names, addresses and discovery settings (no root needed)."""
import pytest

from mash_ros.netlab.discovery import discovery_env, server_command
from mash_ros.netlab.lab import LinkCounters
from mash_ros.netlab.measure import budget_for_cap
from mash_ros.netlab.topology import MAX_DRONES, LabTopology, owner_of

IFNAMSIZ = 15  # longest Linux interface name


def test_names_carry_the_owner_and_fit_the_kernel_limits():
    t = LabTopology(owner=4194303, drones=MAX_DRONES)  # the largest pid_max
    assert len(set(t.namespaces)) == MAX_DRONES + 1
    assert all(owner_of(ns) == 4194303 for ns in t.namespaces)
    assert all(len(t.port_if(i)) <= IFNAMSIZ for i in range(MAX_DRONES))
    assert owner_of("someone-elses") is None and owner_of("mlab12-x") is None
    assert len({t.drone_ip(i) for i in range(MAX_DRONES)} | {t.ground_ip}) == MAX_DRONES + 1
    with pytest.raises(ValueError):
        LabTopology(owner=1, drones=0)


def test_discovery_modes_never_use_shared_memory_or_multicast_discovery():
    base = {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "ROS_STATIC_PEERS": "stale"}
    server = discovery_env(base, "server", "10.77.0.1", ["10.77.0.10"])
    assert server["ROS_DISCOVERY_SERVER"] == "10.77.0.1:11811"
    assert server["FASTDDS_BUILTIN_TRANSPORTS"] == "UDPv4" and "ROS_STATIC_PEERS" not in server
    static = discovery_env(base, "static", "10.77.0.1", ["10.77.0.10", "10.77.0.11"])
    assert static["ROS_STATIC_PEERS"] == "10.77.0.10;10.77.0.11"
    assert static["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"  # unicast to the peers only
    assert "ROS_DISCOVERY_SERVER" not in static
    with pytest.raises(ValueError):
        discovery_env(base, "multicast", "10.77.0.1", [])
    assert server_command("10.77.0.1")[-4:] == ["-l", "10.77.0.1", "-p", "11811"]


def test_link_counters_split_ground_from_peers():
    before = LinkCounters(tx=100, rx=50, ground_tx=10, ground_rx=5)
    after = LinkCounters(tx=1100, rx=2050, ground_tx=30, ground_rx=25)
    delta = after.minus(before)
    assert delta.total == 3000 and delta.peers == 3000 - 20 - 20


def test_budget_follows_the_cap():
    assert budget_for_cap(None) == 0
    assert 0 < budget_for_cap(1_000_000) < 1_000_000 / 8


def test_multicast_profiles_name_every_query_topic():
    import xml.dom.minidom

    from mash_ros.netlab.multicast import GROUP, query_multicast_profiles

    document = xml.dom.minidom.parseString(query_multicast_profiles(["drone_0", "drone_1"]))
    readers = document.getElementsByTagName("data_reader")
    assert [r.getAttribute("profile_name") for r in readers] == ["/drone_0/mash/query",
                                                                 "/drone_1/mash/query"]
    addresses = {a.firstChild.data for a in document.getElementsByTagName("address")}
    assert addresses == {GROUP}
