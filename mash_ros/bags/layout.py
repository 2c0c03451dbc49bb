"""Topic names the bag tools agree on: cameras, ground truth, swarm outputs, replay markers.

Input bags follow AirSim's ROS 2 wrapper (``/airsim_node/<vehicle>/<camera>/Scene``) plus the
simulator's ground truth (``mash_ros.sim.bag``); outputs are the drone nodes' topics under the
drone's namespace (``/<agent>/mash/…``, agent = AirSim vehicle name by default).
"""
from __future__ import annotations

import re

from mash_ros.bags.errors import BagError
from mash_ros.swarm import topics

CAMERA_REGEX = r"^/airsim_node/(?P<agent>[^/]+)/(?P<camera>[^/]+)/Scene$"
DEFAULT_CAMERA = "front_center"

GT_TARGET = "/mash_gt/target"                   # std_msgs/UInt8: index i of drone_i
GT_LABELS = "/mash_gt/labels"                   # mono8, the target's un-obstructed class ids
GT_MASK = "/mash_gt/obstruction_mask"           # mono8, 255 inside the obstruction
GT_DRONE_LABELS = "/mash_gt/{agent}/labels"     # mono8, every drone's un-obstructed ids
GT_DRONE_DEPTH = "/mash_gt/{agent}/depth"       # 32FC1, every drone's un-obstructed depth
GT_RGB_CLEAN = "/mash_gt/rgb_clean"             # bgr8, the target's view without obstruction
GT_TOPICS = (GT_TARGET, GT_LABELS, GT_MASK)

# the drones' topics (names from mash_ros.swarm.topics), as patterns over the agent
FUSED = topics.of("{agent}", topics.SEGMENTATION)
SINGLE = topics.of("{agent}", topics.SEGMENTATION_SINGLE)
QUERY = topics.of("{agent}", topics.QUERY)
PATCHES = topics.of("{agent}", topics.PATCHES)
BANDWIDTH = topics.of("{agent}", topics.BANDWIDTH)
OUTPUT_REGEX = "^" + re.escape(FUSED).replace(re.escape("{agent}"), "(?P<agent>[^/]+)") + "$"
# what mash-record takes from every drone: the outputs and the exchange
RECORDED = (topics.SEGMENTATION, topics.SEGMENTATION_SINGLE, topics.QUERY, topics.PATCHES,
            topics.BANDWIDTH)
RECORDED_REGEX = (r"^/(?P<agent>[^/]+)/(?P<name>"
                  + "|".join(re.escape(name) for name in RECORDED) + ")$")

# Written by mash-replay: one sensor_msgs/TimeReference per camera image it publishes,
# header.stamp = the image's stamp, time_ref = wall-clock publish time, source = the agent,
# header.frame_id = WARMUP for warm-up images (not part of the bag's frames), else the camera
# topic and the digest of the image (mash_ros.bags.identity).
MARKERS = "/mash_replay/frames"
WARMUP = "warmup"
# Written by mash-record: std_msgs/String JSON {"topics": {topic: messages}, "path": …}.
RECORDER_STATUS = "/mash_record/status"

# Topics mash-record takes by default, with their types.
RECORD_TYPES = {FUSED: "sensor_msgs/msg/Image", SINGLE: "sensor_msgs/msg/Image",
                QUERY: "mash_msgs/msg/QueryMap", PATCHES: "mash_msgs/msg/SegPatches",
                BANDWIDTH: "mash_msgs/msg/BandwidthReport"}
MARKER_TYPE = "sensor_msgs/msg/TimeReference"


def parse_remaps(values: list[str]) -> dict[str, str]:
    """["FROM:=TO", …] -> {FROM: TO}; ValueError for anything else."""
    remap = {}
    for value in values:
        source, sep, target = value.partition(":=")
        if not sep or not source or not target:
            raise ValueError(f"--remap wants FROM:=TO, got {value!r}")
        remap[source] = target
    return remap


def target_agent(index: int) -> str:
    """Agent name of the target index in ``/mash_gt/target`` (the simulator's naming)."""
    return topics.agent_name(index)


def natural_key(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def find_cameras(topics: dict[str, str], regex: str = CAMERA_REGEX,
                 camera: str | None = None, remap: dict[str, str] | None = None
                 ) -> dict[str, str]:
    """{agent: camera topic} of the Image topics matching ``regex`` (named group ``agent``,
    optional group ``camera``). With several cameras per agent, ``camera`` picks one
    (default: front_center if there, else BagError naming the choices). ``remap`` (bag topic
    -> published name): the regex sees the published name, the result keeps the bag's."""
    pattern = re.compile(regex)
    if "agent" not in pattern.groupindex:
        raise ValueError(f"camera regex {regex!r} needs a named group (?P<agent>…)")
    found: dict[str, dict[str, str]] = {}
    for topic, msgtype in topics.items():
        match = pattern.match((remap or {}).get(topic, topic))
        if match and msgtype == "sensor_msgs/msg/Image":
            cam = match.groupdict().get("camera") or ""
            found.setdefault(match["agent"], {})[cam] = topic
    cameras = {}
    for agent in sorted(found, key=natural_key):
        options = found[agent]
        if camera is not None:
            if camera not in options:
                raise BagError(f"agent {agent} has no camera {camera!r} "
                               f"(cameras: {', '.join(sorted(options))})")
            cameras[agent] = options[camera]
        elif len(options) == 1:
            cameras[agent] = next(iter(options.values()))
        elif DEFAULT_CAMERA in options:
            cameras[agent] = options[DEFAULT_CAMERA]
        else:
            raise BagError(f"agent {agent} has several cameras ({', '.join(sorted(options))}): "
                           f"choose one with --camera")
    return cameras


def agents_with_outputs(topics) -> list[str]:
    """Agents whose fused segmentation topic is among ``topics``."""
    pattern = re.compile(OUTPUT_REGEX)
    return sorted((m["agent"] for m in map(pattern.match, topics) if m), key=natural_key)
