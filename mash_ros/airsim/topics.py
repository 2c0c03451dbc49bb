"""Which topics and tf frames of a recording belong to which drone (AirSim's ROS 2 wrapper layout).

Per drone (vehicle ``V``, camera ``C``), next to its ``/airsim_node/V/C/Scene`` topic::

    …/C/DepthPlanar     sensor_msgs/Image 32FC1      planar depth, m
    …/C/Segmentation    sensor_msgs/Image colour     AirSim's object-id colours
    …/C/camera_info     sensor_msgs/CameraInfo       (older wrappers: …/C/Scene/camera_info)

Image headers say ``C_optical`` without the vehicle, so the tf frame is built from the topic's
vehicle and camera with a pattern (default ``{vehicle}/{camera}_optical``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from mash_ros.bags import layout
from mash_ros.bags.errors import BagError

FRAME_PATTERN = "{vehicle}/{camera}_optical"
ODOM_PATTERN = "/airsim_node/{vehicle}/odom_local_ned"
IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"


@dataclass(frozen=True)
class DroneTopics:
    vehicle: str
    camera: str
    scene: str
    depth: str
    segmentation: str | None
    camera_info: str
    frame: str        # tf frame of the camera's optical frame
    odometry: str     # nav_msgs/Odometry topic, the pose source when there is no /tf


def find_drones(topics: dict[str, str], scene_regex: str = layout.CAMERA_REGEX,
                camera: str | None = None, frame_pattern: str = FRAME_PATTERN,
                odom_pattern: str = ODOM_PATTERN) -> list[DroneTopics]:
    """Every drone with a Scene topic; BagError for a drone without depth or camera_info.

    topics: {name: message type} of the bag. ``scene_regex`` needs a named group ``agent`` (the
    vehicle) and may have ``camera``; the other topics sit next to the Scene topic."""
    cameras = layout.find_cameras(topics, scene_regex, camera)
    if not cameras:
        raise BagError(f"no camera image topic matches {scene_regex}")
    pattern = re.compile(scene_regex)
    drones = []
    for vehicle, scene in cameras.items():
        cam = pattern.match(scene).groupdict().get("camera") or camera or layout.DEFAULT_CAMERA
        prefix = scene.rsplit("/", 1)[0]
        depth = f"{prefix}/DepthPlanar"
        if topics.get(depth) != IMAGE:
            raise BagError(f"drone {vehicle} has no depth: the recording lacks {depth} "
                           f"(record DepthPlanar images with the Scene)")
        info = next((t for t in (f"{prefix}/camera_info", f"{scene}/camera_info")
                     if topics.get(t) == CAMERA_INFO), None)
        if info is None:
            raise BagError(f"drone {vehicle} has no intrinsics: the recording lacks "
                           f"{prefix}/camera_info (or {scene}/camera_info)")
        seg = f"{prefix}/Segmentation"
        drones.append(DroneTopics(
            vehicle, cam, scene, depth, seg if topics.get(seg) == IMAGE else None, info,
            frame_pattern.format(vehicle=vehicle, camera=cam),
            odom_pattern.format(vehicle=vehicle, camera=cam)))
    return drones
