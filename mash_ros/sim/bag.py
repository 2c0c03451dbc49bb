"""Export a generated split as a rosbag2 (MCAP by default, SQLite3 on request) with ``rosbags``,
laid out like AirSim's ROS 2 wrapper, plus the ground truth evaluation needs. No rclpy needed.

Per drone ``i`` (vehicle ``drone_i``, camera ``front_center``); image headers name the frame
``front_center_optical`` with no vehicle prefix, as AirSim's wrapper does::

    /airsim_node/drone_i/front_center/Scene         Image       bgr8   obstructed view
    /airsim_node/drone_i/front_center/Segmentation  Image       bgr8   AirSim palette colours of
                                       the classes (``config/airsim_classes.yaml``), obstruction
                                       included
    /airsim_node/drone_i/front_center/DepthPlanar   Image       32FC1  metres along the optical
                                       axis, +inf = sky (what the camera sees: obstruction
                                       included)
    /airsim_node/drone_i/front_center/camera_info   CameraInfo  plumb_bob, zero distortion

(Image = sensor_msgs/msg/Image, CameraInfo = sensor_msgs/msg/CameraInfo.) Poses, as AirSim's
wrapper publishes them (``mash_ros.sim.frames`` for the conventions)::

    /tf         tf2_msgs/msg/TFMessage  every snapshot: world_ned -> drone_i (the vehicle body,
                x forward, y right, z down, in NED; it moves)
    /tf_static  tf2_msgs/msg/TFMessage  once: drone_i -> drone_i/front_center_optical (REP 103:
                z forward, x right, y down), a fixed mount (``MOUNT``)

Ground truth (frame id: the *target's* camera frame unless noted)::

    /mash_gt/target            std_msgs/msg/UInt8  index of the target drone
    /mash_gt/labels            Image  mono8  target's un-obstructed class ids 0..7
    /mash_gt/obstruction_mask  Image  mono8  255 where the obstruction is visible
    /mash_gt/rgb_clean         Image  bgr8   target view without the obstruction
    /mash_gt/correspondences   Image  16UC1  (N*Hs) x Ws: rows j*Hs..(j+1)*Hs-1 hold
                               corr[target, j] (supporter cell y*Ws+x, Hs*Ws = no match)
    /mash_gt/drone_i/labels    Image  mono8  un-obstructed ids of drone i (frame: drone i)
    /mash_gt/drone_i/depth     Image  32FC1  un-obstructed planar depth of drone i

All messages of snapshot k share ``header.stamp = START + k * period`` (the bag record time is
the same instant), so stamps are exact keys for synchronisation.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..airsim.classes import load_class_colors
from ..core.classes import OBSTRUCTION
from .format import SimReader
from .frames import OPTICAL_IN_BODY, enu_to_ned, invert, quaternion, transform

START_NS = 1_700_000_000 * 1_000_000_000
AIRSIM = "/airsim_node/drone_{i}/front_center/{name}"
VEHICLE = "drone_{i}"
FRAME = "drone_{i}/front_center_optical"   # the tf frame of the camera
IMAGE_FRAME = "front_center_optical"       # what image headers say (AirSim: no vehicle prefix)
WORLD = "world_ned"
# The camera's fixed mount on the vehicle: 0.25 m forward, 0.05 m below the body origin,
# pitched down 20 degrees (vehicle body -> optical frame, 4x4).
_PITCH = np.deg2rad(20.0)
MOUNT = transform(np.array([[np.cos(_PITCH), 0.0, -np.sin(_PITCH)], [0.0, 1.0, 0.0],
                            [np.sin(_PITCH), 0.0, np.cos(_PITCH)]]) @ OPTICAL_IN_BODY,
                  [0.25, 0.0, 0.05])


def vehicle_pose_ned(camera_pose_enu: np.ndarray) -> np.ndarray:
    """The vehicle body pose in ``world_ned`` [4, 4] whose mounted camera has this optical-frame
    pose in our ENU world."""
    return enu_to_ned(camera_pose_enu) @ invert(MOUNT)


class _Msgs:
    def __init__(self, typestore) -> None:
        t = typestore.types
        self.ts = typestore
        self.Time = t["builtin_interfaces/msg/Time"]
        self.Header = t["std_msgs/msg/Header"]
        self.Image = t["sensor_msgs/msg/Image"]
        self.CameraInfo = t["sensor_msgs/msg/CameraInfo"]
        self.ROI = t["sensor_msgs/msg/RegionOfInterest"]
        self.UInt8 = t["std_msgs/msg/UInt8"]
        self.TFMessage = t["tf2_msgs/msg/TFMessage"]
        self.TransformStamped = t["geometry_msgs/msg/TransformStamped"]
        self.Transform = t["geometry_msgs/msg/Transform"]
        self.Vector3 = t["geometry_msgs/msg/Vector3"]
        self.Quaternion = t["geometry_msgs/msg/Quaternion"]

    def header(self, ns: int, frame: str):
        return self.Header(stamp=self.Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000),
                           frame_id=frame)

    def image(self, ns: int, frame: str, arr: np.ndarray, encoding: str):
        arr = np.ascontiguousarray(arr)
        h, w = arr.shape[:2]
        data = arr.view(np.uint8).reshape(-1)
        return self.Image(header=self.header(ns, frame), height=h, width=w, encoding=encoding,
                          is_bigendian=0, step=data.size // h, data=data)

    def camera_info(self, ns: int, frame: str, K: np.ndarray, h: int, w: int):
        P = np.zeros((3, 4))
        P[:, :3] = K
        return self.CameraInfo(
            header=self.header(ns, frame), height=h, width=w, distortion_model="plumb_bob",
            d=np.zeros(5), k=K.astype(np.float64).ravel(), r=np.eye(3).ravel(), p=P.ravel(),
            binning_x=0, binning_y=0,
            roi=self.ROI(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False))

    def tf(self, ns: int, edges: list[tuple[str, str, np.ndarray]]):
        """TFMessage of (parent, child, 4x4 child-to-parent transform) edges at ``ns``."""
        tfs = []
        for parent, child, T in edges:
            x, y, z, w = quaternion(T[:3, :3])
            tfs.append(self.TransformStamped(
                header=self.header(ns, parent), child_frame_id=child,
                transform=self.Transform(
                    translation=self.Vector3(x=float(T[0, 3]), y=float(T[1, 3]),
                                             z=float(T[2, 3])),
                    rotation=self.Quaternion(x=x, y=y, z=z, w=w))))
        return self.TFMessage(transforms=tfs)


def topics(n: int) -> dict[str, str]:
    """Topic name -> message type of the exported bag for ``n`` drones."""
    out = {}
    for i in range(n):
        out[AIRSIM.format(i=i, name="Scene")] = "sensor_msgs/msg/Image"
        out[AIRSIM.format(i=i, name="Segmentation")] = "sensor_msgs/msg/Image"
        out[AIRSIM.format(i=i, name="DepthPlanar")] = "sensor_msgs/msg/Image"
        out[AIRSIM.format(i=i, name="camera_info")] = "sensor_msgs/msg/CameraInfo"
        out[f"/mash_gt/drone_{i}/labels"] = "sensor_msgs/msg/Image"
        out[f"/mash_gt/drone_{i}/depth"] = "sensor_msgs/msg/Image"
    out.update({"/mash_gt/target": "std_msgs/msg/UInt8", "/mash_gt/labels": "sensor_msgs/msg/Image",
                "/mash_gt/obstruction_mask": "sensor_msgs/msg/Image",
                "/mash_gt/rgb_clean": "sensor_msgs/msg/Image",
                "/mash_gt/correspondences": "sensor_msgs/msg/Image",
                "/tf": "tf2_msgs/msg/TFMessage", "/tf_static": "tf2_msgs/msg/TFMessage"})
    return out


def export_bag(split_root: str | Path, bag_path: str | Path, storage: str = "mcap",
               limit: int | None = None, progress: bool = False) -> Path:
    """Write the snapshots of ``split_root`` (the first ``limit``) to a new bag directory."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore
    from tqdm import tqdm

    reader = SimReader(split_root)
    meta = reader.meta
    n, h, w = meta["agents"], meta["height"], meta["width"]
    hs, ws = meta["hs"], meta["ws"]
    K = reader.K
    period_ns = int(round(meta["period"] * 1e9))
    palette_bgr = load_class_colors().palette()[:, ::-1]
    ts = get_typestore(Stores.ROS2_KILTED)
    m = _Msgs(ts)
    plugin = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}[storage]
    bag_path = Path(bag_path)
    count = len(reader) if limit is None else min(limit, len(reader))
    with Writer(bag_path, version=9, storage_plugin=plugin) as writer:
        conns = {name: writer.add_connection(name, typ, typestore=ts)
                 for name, typ in topics(n).items()}

        def put(topic, msg):
            writer.write(conns[topic], ns, ts.serialize_cdr(msg, msg.__msgtype__))

        mounts = [(VEHICLE.format(i=i), FRAME.format(i=i), MOUNT) for i in range(n)]
        ns = START_NS
        put("/tf_static", m.tf(ns, mounts))
        for k in tqdm(range(count), unit="snap", desc="export-bag", disable=not progress):
            a = reader.read(k)
            ns = START_NS + k * period_ns
            target = int(a["info"]["target"])
            seg = np.where(a["mask"], OBSTRUCTION, a["labels"])
            depth_seen = np.minimum(a["depth"], a["obstruction_depth"]).astype(np.float32)
            for i in range(n):
                frame = FRAME.format(i=i)
                put(AIRSIM.format(i=i, name="Scene"),
                    m.image(ns, IMAGE_FRAME, a["rgb"][i][..., ::-1], "bgr8"))
                put(AIRSIM.format(i=i, name="Segmentation"),
                    m.image(ns, IMAGE_FRAME, palette_bgr[seg[i]], "bgr8"))
                put(AIRSIM.format(i=i, name="DepthPlanar"),
                    m.image(ns, IMAGE_FRAME, depth_seen[i], "32FC1"))
                put(AIRSIM.format(i=i, name="camera_info"),
                    m.camera_info(ns, IMAGE_FRAME, K, h, w))
                put(f"/mash_gt/drone_{i}/labels", m.image(ns, frame, a["labels"][i], "mono8"))
                put(f"/mash_gt/drone_{i}/depth",
                    m.image(ns, frame, a["depth"][i].astype(np.float32), "32FC1"))
            tframe = FRAME.format(i=target)
            put("/mash_gt/target", m.UInt8(data=target))
            put("/mash_gt/labels", m.image(ns, tframe, a["labels"][target], "mono8"))
            put("/mash_gt/obstruction_mask",
                m.image(ns, tframe, a["mask"][target].astype(np.uint8) * 255, "mono8"))
            put("/mash_gt/rgb_clean", m.image(ns, tframe, a["rgb_clean"][..., ::-1], "bgr8"))
            corr = a["corr"][target].reshape(n * hs, ws).astype(np.uint16)
            put("/mash_gt/correspondences", m.image(ns, tframe, corr, "16UC1"))
            put("/tf", m.tf(ns, [(WORLD, VEHICLE.format(i=i), vehicle_pose_ned(a["poses"][i]))
                                 for i in range(n)]))
    return bag_path
