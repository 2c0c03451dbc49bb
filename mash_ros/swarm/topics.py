"""Every name of the swarm: drones and topics, spelled once.

A drone's own topics are relative names (``mash/query``), resolved under its namespace
``/<agent>``; a peer's topic is the same name under the peer's namespace (``of(peer, QUERY)``
= ``/drone_1/mash/query``). Nodes, the swarm runner, the test harness, the bag tools and the
benchmarks take their names from here.
"""
from __future__ import annotations

QUERY = "mash/query"                              # QueryMap, a target's question
PATCHES = "mash/patches"                          # SegPatches, answers to this target
SEGMENTATION = "mash/segmentation"                # mono8 fused class ids
SEGMENTATION_COLOR = "mash/segmentation_color"    # rgb8 fused, for viewers
SEGMENTATION_SINGLE = "mash/segmentation_single"  # mono8 own result without peers
CONFIDENCE = "mash/confidence"                    # mono8 fused confidence (visualisation)
BANDWIDTH = "mash/bandwidth"                      # BandwidthReport, also the heartbeat
OUTPUTS = (SEGMENTATION, SEGMENTATION_SINGLE)


def agent_name(index: int) -> str:
    """The name (and namespace) of drone ``index``: drone_0, drone_1, …"""
    return f"drone_{index}"


def of(agent: str, relative: str) -> str:
    """The absolute name of ``agent``'s topic ``relative`` (``"{agent}"`` keeps a pattern)."""
    return f"/{agent}/{relative}"
