"""Ground truth and camera images of an input bag, keyed by header stamp (ns).

The simulator's bags (``mash_ros.sim.bag``) give every snapshot one stamp; the ground truth
topics are listed in ``mash_ros.bags.layout``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mash_ros.bags import layout
from mash_ros.bags.cdr import header_stamp_ns
from mash_ros.bags.errors import BagError
from mash_ros.bags.identity import image_digest
from mash_ros.bags.images import CAMERA_ENCODINGS, image_array
from mash_ros.bags.reader import BagFile

LOG_TOLERANCE_NS = 20_000_000  # /mash_gt/target has no header: joined by record time


@dataclass
class GroundTruth:
    """One snapshot's truth. labels uint8 [H, W]; mask bool [H, W]; drone_labels: agent ->
    uint8 [H, W] (every drone's un-obstructed ids, when the bag has them)."""

    stamp_ns: int
    target: str
    labels: np.ndarray
    mask: np.ndarray
    drone_labels: dict[str, np.ndarray] = field(default_factory=dict)


def read_ground_truth(bag: BagFile, agents: list[str]) -> dict[int, GroundTruth]:
    """{stamp: GroundTruth} for every snapshot of the bag; BagError if the bag has none."""
    bag.require(layout.GT_TOPICS, "evaluation (ground truth)")
    drone_topics = {layout.GT_DRONE_LABELS.format(agent=a): a for a in agents
                    if bag.counts.get(layout.GT_DRONE_LABELS.format(agent=a), 0)}
    targets: list[tuple[int, int]] = []  # (log ns, index)
    labels: dict[int, tuple[int, np.ndarray]] = {}
    masks: dict[int, np.ndarray] = {}
    drones: dict[int, dict[str, np.ndarray]] = {}
    for msg in bag.messages([*layout.GT_TOPICS, *drone_topics]):
        where = f"{bag.path}, {msg.topic}"
        if msg.topic == layout.GT_TARGET:
            targets.append((msg.log_ns, int(bag.deserialize(msg).data)))
            continue
        stamp = header_stamp_ns(msg.raw)
        array = image_array(bag.deserialize(msg), where, ("mono8",))
        if msg.topic == layout.GT_LABELS:
            labels[stamp] = (msg.log_ns, array)
        elif msg.topic == layout.GT_MASK:
            masks[stamp] = array > 0
        else:
            drones.setdefault(stamp, {})[drone_topics[msg.topic]] = array
    truth = {}
    target_logs = np.array([t[0] for t in targets], dtype=np.int64)
    for stamp, (log_ns, label) in sorted(labels.items()):
        if stamp not in masks:
            raise BagError(f"{bag.path}: no {layout.GT_MASK} for stamp {stamp} ns")
        nearest = int(np.argmin(np.abs(target_logs - log_ns))) if len(targets) else -1
        if nearest < 0 or abs(target_logs[nearest] - log_ns) > LOG_TOLERANCE_NS:
            raise BagError(f"{bag.path}: no {layout.GT_TARGET} recorded with the labels of "
                           f"stamp {stamp} ns")
        agent = layout.target_agent(targets[nearest][1])
        if agent not in agents:
            raise BagError(f"{bag.path}: the target of stamp {stamp} ns is {agent}, which has "
                           f"no camera in the bag (cameras: {', '.join(agents)})")
        if masks[stamp].shape != label.shape:
            raise BagError(f"{bag.path}: obstruction mask {masks[stamp].shape} and labels "
                           f"{label.shape} of stamp {stamp} ns differ in size")
        truth[stamp] = GroundTruth(stamp, agent, label, masks[stamp], drones.get(stamp, {}))
    if not truth:
        raise BagError(f"{bag.path}: no ground-truth snapshot")
    return truth


def camera_stamps(bag: BagFile, cameras: dict[str, str],
                  digests: dict | None = None) -> dict[str, list[int]]:
    """{agent: header stamps of its camera images, in record order}; fills ``digests``
    (if given) with {(agent, stamp): image digest} (mash_ros.bags.identity)."""
    topic_agent = {topic: agent for agent, topic in cameras.items()}
    stamps: dict[str, list[int]] = {agent: [] for agent in cameras}
    for msg in bag.messages(topic_agent):
        agent, stamp = topic_agent[msg.topic], header_stamp_ns(msg.raw)
        stamps[agent].append(stamp)
        if digests is not None:
            digests.setdefault((agent, stamp), image_digest(bytes(msg.raw)))
    return stamps


def camera_images(bag: BagFile, cameras: dict[str, str], wanted: set[tuple[str, int]]
                  ) -> dict[tuple[str, int], np.ndarray]:
    """RGB uint8 [H, W, 3] camera images of the wanted (agent, stamp) pairs."""
    topic_agent = {topic: agent for agent, topic in cameras.items()}
    found = {}
    for msg in bag.messages(topic_agent):
        key = (topic_agent[msg.topic], header_stamp_ns(msg.raw))
        if key in wanted and key not in found:
            found[key] = image_array(bag.deserialize(msg), f"{bag.path}, {msg.topic}",
                                     CAMERA_ENCODINGS)
    return found
