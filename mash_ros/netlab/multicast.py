"""Queries by multicast in the lab: one datagram per query on the sender's uplink, not one per
peer (an experiment: ``mash-netlab run --multicast-queries``).

Fast DDS's rmw loads a data_reader profile named after the ROS topic for each subscription;
a multicast locator in it makes each drone's query readers listen on one group, and a writer
whose readers share a multicast locator sends there once instead of to each reader's unicast
locator. Drone namespaces have no default route, so the lab routes the multicast range out of
``radio0``; the bridge floods a group's datagrams to every port.
"""
from __future__ import annotations

from xml.sax.saxutils import quoteattr

from mash_ros.swarm import topics

GROUP = "239.255.77.1"  # administratively scoped (site-local) group, inside the lab only
PORT = 7900             # outside Fast DDS's per-domain port ranges used by the lab's domains
MULTICAST_ROUTE = "224.0.0.0/4"


def query_multicast_profiles(agents: list[str]) -> str:
    """Fast DDS XML: every agent's query topic read through ``GROUP``:``PORT``."""
    readers = "\n".join(
        f"""    <data_reader profile_name={quoteattr(topics.of(agent, topics.QUERY))}>
      <multicastLocatorList>
        <locator><udpv4><address>{GROUP}</address><port>{PORT}</port></udpv4></locator>
      </multicastLocatorList>
    </data_reader>""" for agent in agents)
    return (f'<?xml version="1.0" encoding="UTF-8" ?>\n<dds xmlns="http://www.eprosima.com">\n'
            f"  <profiles>\n{readers}\n  </profiles>\n</dds>\n")
