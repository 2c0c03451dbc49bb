"""What a recording of a live swarm run holds, read back without ROS.

One pass over the recording (``mash-record`` or ``ros2 bag record`` of the drone nodes' topics)
hands every output image to a callback and gathers the replay markers, the wire sizes of the
inter-drone messages and the drones' last bandwidth reports.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from mash_ros.bags import layout
from mash_ros.bags.cdr import header_stamp_ns
from mash_ros.bags.identity import marker_digest
from mash_ros.bags.images import image_array
from mash_ros.bags.reader import BagFile
from mash_ros.swarm import topics

_TOPIC = re.compile(layout.RECORDED_REGEX)
_KIND = {topics.SEGMENTATION: "fused", topics.SEGMENTATION_SINGLE: "single",
         topics.QUERY: "query", topics.PATCHES: "patches", topics.BANDWIDTH: "bandwidth"}

# on_output(kind "fused" | "single", agent, stamp ns, record time ns, uint8 ids [H, W])
OutputCallback = Callable[[str, str, int, int, np.ndarray], None]


@dataclass
class Recording:
    agents: list[str]                                            # with a fused output topic
    received: dict[str, dict[tuple[str, int], int]] = field(
        default_factory=lambda: {"fused": {}, "single": {}})     # (agent, stamp) -> record ns
    duplicates: int = 0                                          # repeated (agent, stamp)
    markers: dict[tuple[str, int], int] = field(default_factory=dict)  # -> publish wall ns
    marker_digests: dict[tuple[str, int], str] = field(default_factory=dict)  # -> image digest
    marker_repeats: int = 0                                      # images re-sent by the replay
    warmup_markers: int = 0
    has_markers: bool = False
    wire: dict[str, list[tuple[str, int, int]]] = field(
        default_factory=lambda: {"query": [], "patches": []})    # (target, stamp, bytes)
    outputs_bytes: dict[str, list[int]] = field(
        default_factory=lambda: {"fused": [], "single": []})   # of wanted outputs
    bandwidth_reports: dict[str, object] = field(default_factory=dict)  # agent -> last report


def read_recording(bag: BagFile, on_output: OutputCallback,
                   wanted: Callable[[str, int], bool] = lambda agent, stamp: True) -> Recording:
    """Read ``bag`` once. ``on_output`` gets the first output of every (agent, stamp) for which
    ``wanted(agent, stamp)`` holds (the others are only counted)."""
    agents = layout.agents_with_outputs(bag.topics)
    rec = Recording(agents=agents, has_markers=bag.counts.get(layout.MARKERS, 0) > 0)
    for msg in bag.messages():
        if msg.topic == layout.MARKERS:
            marker = bag.deserialize(msg)
            if marker.header.frame_id == layout.WARMUP:
                rec.warmup_markers += 1
                continue
            stamp = marker.header.stamp.sec * 1_000_000_000 + marker.header.stamp.nanosec
            published = marker.time_ref.sec * 1_000_000_000 + marker.time_ref.nanosec
            key = (marker.source, stamp)
            if key in rec.markers:
                rec.marker_repeats += 1
            else:
                rec.markers[key] = published
                digest = marker_digest(marker.header.frame_id)
                if digest is not None:
                    rec.marker_digests[key] = digest
            continue
        match = _TOPIC.match(msg.topic)
        if not match:
            continue
        agent, kind = match["agent"], _KIND[match["name"]]
        if kind == "bandwidth":
            rec.bandwidth_reports[agent] = bag.deserialize(msg)
            continue
        stamp = header_stamp_ns(msg.raw)
        if kind in ("query", "patches"):
            rec.wire[kind].append((agent, stamp, len(msg.raw)))
            continue
        if agent not in agents and kind == "single":
            continue
        seen = rec.received[kind]
        if (agent, stamp) in seen:
            rec.duplicates += 1
            continue
        seen[(agent, stamp)] = msg.log_ns
        if wanted(agent, stamp):
            rec.outputs_bytes[kind].append(len(msg.raw))
            ids = image_array(bag.deserialize(msg), f"{bag.path}, {msg.topic}", ("mono8",))
            on_output(kind, agent, stamp, msg.log_ns, ids)
    return rec


def node_reports(reports: dict[str, object]) -> dict:
    """The drones' last BandwidthReports (cumulative since each node started, warm-up frames
    included): {agent: {"frames", "raw_image_bytes", "sent": {topic: bytes}}}."""
    out = {}
    for agent, report in sorted(reports.items(), key=lambda kv: layout.natural_key(kv[0])):
        sent = defaultdict(int)
        for row in report.topics:
            if row.direction == 0:  # TopicBandwidth.DIRECTION_SENT
                sent[row.topic] += int(row.bytes)
        out[agent] = {"frames": int(report.frames),
                      "raw_image_bytes": int(report.raw_image_bytes), "sent": dict(sent)}
    return out
