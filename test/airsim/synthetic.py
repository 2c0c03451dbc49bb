"""A recording laid out like AirSim's ROS 2 wrapper, written here with rosbags directly (not by
``mash-sim export-bag``): a textured ground plane and a box seen by three moving drones, with
every convention set up from first principles (NED world, FRD bodies, REP 103 cameras), and the
analytic truth of its cell correspondences (exact rays through the cell centres, visibility by
casting from the supporter to the point).

Knobs make it a bad bag on purpose (a drone without depth, no /tf, a camera_info of the wrong
size, stamps that never line up, transforms that end before the images).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

VEHICLES = ("Drone1", "Drone2", "Drone3")
H, W = 96, 96
F = 48.0                      # focal length, px (90 degrees horizontal)
PITCH = np.deg2rad(35.0)      # camera mount, pitched down
T0 = 1_800_000_000 * 10 ** 9  # first image stamp, ns
PERIOD = 500_000_000          # between snapshots, ns
ROAD, BUILDING = 1, 3         # our class ids of the plane and the box
# the box, ENU metres (x east, y north, z up)
BOX_LO, BOX_HI = np.array([-4.0, 18.0, 0.0]), np.array([4.0, 26.0, 9.0])


@dataclass
class Knobs:
    snapshots: int = 3
    encodings: tuple = ("bgra8", "rgb8", "rgba8")   # Scene encoding per drone
    jitter_ns: tuple = (0, 3_000_000, -4_000_000)    # per drone: stamps are not identical
    sky_depth: tuple = (np.inf, 65504.0, 1e7)        # what each drone writes for sky
    without_depth: str | None = None                  # this vehicle has no DepthPlanar
    without_segmentation: str | None = None           # this vehicle has no Segmentation
    no_tf: bool = False                               # poses only from odometry
    no_static: bool = False                           # no /tf_static (camera mounts)
    without_pose: str | None = None                   # this vehicle is not in /tf
    info_size: tuple | None = None                    # camera_info (h, w) instead of (H, W)
    cropped_at: int | None = None                     # this snapshot's first Scene is cropped
    stamp_offset_ns: dict = field(default_factory=dict)  # vehicle -> extra offset of its images
    tf_end_ns: int | None = None                      # no /tf sample after this stamp


def K() -> np.ndarray:
    return np.array([[F, 0, (W - 1) / 2], [0, F, (H - 1) / 2], [0, 0, 1.0]])


def vehicle_state(v: int, ns: int) -> tuple[np.ndarray, float]:
    """Position (NED, m) and yaw (rad, about down, 0 = north) of vehicle v: constant velocity
    and yaw rate, so linear/slerp interpolation between tf samples is exact."""
    t = (ns - T0) / 1e9
    start = [np.array([2.0, -12.0, -14.0]), np.array([-6.0, 6.0, -16.0]),
             np.array([6.0, 4.0, -12.0])][v]
    velocity = [np.array([1.0, 0.5, 0.0]), np.array([0.6, -0.4, 0.1]),
                np.array([0.8, 0.0, -0.1])][v]
    yaw0 = [np.deg2rad(80.0), np.deg2rad(20.0), np.deg2rad(150.0)][v]
    return start + velocity * t, yaw0 + np.deg2rad(6.0) * t * (1 if v != 1 else -1)


def body_rotation(yaw: float) -> np.ndarray:
    """FRD body axes (columns) in NED for a level vehicle heading ``yaw``."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def mount_rotation() -> np.ndarray:
    """Optical axes (columns: x right, y down, z forward) in the FRD body, pitched down."""
    c, s = np.cos(PITCH), np.sin(PITCH)
    return np.stack([[0.0, 1.0, 0.0], [-s, 0.0, c], [c, 0.0, s]], 1)


MOUNT_T = np.array([0.3, 0.0, 0.1])  # camera position in the body, m


def camera_pose_enu(v: int, ns: int) -> np.ndarray:
    """Optical-frame pose in ENU (our world), from the NED body and the mount."""
    p, yaw = vehicle_state(v, ns)
    R_ned = body_rotation(yaw) @ mount_rotation()
    c_ned = p + body_rotation(yaw) @ MOUNT_T
    swap = np.array([[0.0, 1, 0], [1, 0, 0], [0, 0, -1]])  # NED <-> ENU
    pose = np.eye(4)
    pose[:3, :3], pose[:3, 3] = swap @ R_ned, swap @ c_ned
    return pose


def scene_layers():
    from mash_ros.sim.geometry import MeshBuilder, box, quad
    from mash_ros.sim.raycast import Layer

    mb = MeshBuilder()
    mb.add(quad((-300, -300, 0), (300, -300, 0), (300, 300, 0), (-300, 300, 0)), ROAD, 0,
           (0.5, 0.5, 0.5))
    mb.add(box(BOX_LO, BOX_HI), BUILDING, 0, (0.5, 0.5, 0.5))
    return [Layer(mb.build())]


def render(pose: np.ndarray, layers, uv=None):
    """Planar depth [P] (inf: sky), class [P] and RGB [P, 3] (a world-position checkerboard,
    so a surface looks alike from every drone) of the rays through ``uv`` (default all)."""
    from mash_ros.sim.camera import pixel_rays
    from mash_ros.sim.raycast import cast

    o, d = pixel_rays(K(), pose, H, W, uv)
    hit = cast(layers, o, d)
    p = o + d * np.where(np.isfinite(hit.t), hit.t, 0)[:, None]
    check = (np.floor(p[:, 0] / 1.5) + np.floor(p[:, 1] / 1.5) + np.floor(p[:, 2] / 1.5)) % 2
    rgb = np.where(check[:, None] > 0, [200, 180, 150], [60, 80, 110])
    rgb = np.where((hit.cls == BUILDING)[:, None], rgb[:, ::-1], rgb)
    rgb = np.where(np.isfinite(hit.t)[:, None], rgb, [135, 190, 235]).astype(np.uint8)
    return hit.t, hit.cls, rgb


def odometry(T, header, child: str, position: np.ndarray, yaw: float):
    """nav_msgs/Odometry of a vehicle's body pose in NED (no twist)."""
    from mash_ros.sim.frames import quaternion

    G = "geometry_msgs/msg/"
    x, y, z, w = quaternion(body_rotation(yaw))
    zero = T[G + "Vector3"](x=0.0, y=0.0, z=0.0)
    pose = T[G + "Pose"](position=T[G + "Point"](x=position[0], y=position[1], z=position[2]),
                         orientation=T[G + "Quaternion"](x=x, y=y, z=z, w=w))
    return T["nav_msgs/msg/Odometry"](
        header=header, child_frame_id=child,
        pose=T[G + "PoseWithCovariance"](pose=pose, covariance=np.zeros(36)),
        twist=T[G + "TwistWithCovariance"](twist=T[G + "Twist"](linear=zero, angular=zero),
                                            covariance=np.zeros(36)))


def image_stamp(k: int, v: int, knobs: Knobs) -> int:
    return T0 + k * PERIOD + knobs.jitter_ns[v] + knobs.stamp_offset_ns.get(VEHICLES[v], 0)


def write_bag(path: Path, knobs: Knobs = Knobs()) -> Path:
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    from mash_ros.airsim.classes import load_class_colors
    from mash_ros.sim.frames import quaternion

    ts = get_typestore(Stores.ROS2_HUMBLE)  # a wrapper of another distribution wrote it
    T = ts.types
    palette = load_class_colors().palette()
    layers = scene_layers()

    def header(ns, frame):
        return T["std_msgs/msg/Header"](
            stamp=T["builtin_interfaces/msg/Time"](sec=ns // 10 ** 9, nanosec=ns % 10 ** 9),
            frame_id=frame)

    def image(ns, arr, encoding):
        data = np.ascontiguousarray(arr).view(np.uint8).reshape(-1)
        return T["sensor_msgs/msg/Image"](header=header(ns, "front_center_optical"),
                                         height=arr.shape[0], width=arr.shape[1],
                                         encoding=encoding, is_bigendian=0,
                                         step=data.size // arr.shape[0], data=data)

    def stamped(ns, parent, child, R, t):
        x, y, z, w = quaternion(R)
        G = "geometry_msgs/msg/"
        return T[G + "TransformStamped"](
            header=header(ns, parent), child_frame_id=child,
            transform=T[G + "Transform"](translation=T[G + "Vector3"](x=t[0], y=t[1], z=t[2]),
                                         rotation=T[G + "Quaternion"](x=x, y=y, z=z, w=w)))

    with Writer(path, version=8) as writer:
        conns = {}

        def put(topic, msgtype, ns, msg):
            if topic not in conns:
                conns[topic] = writer.add_connection(topic, msgtype, typestore=ts)
            writer.write(conns[topic], ns, ts.serialize_cdr(msg, msgtype))

        TF = "tf2_msgs/msg/TFMessage"
        if not knobs.no_static:
            put("/tf_static", TF, T0 - PERIOD, T[TF](transforms=[
                stamped(T0 - PERIOD, v, f"{v}/front_center_optical", mount_rotation(),
                        MOUNT_T.astype(float)) for v in VEHICLES]))
        # pose samples every 0.2 s from before the first image to after the last one
        tf_end = T0 + knobs.snapshots * PERIOD if knobs.tf_end_ns is None else knobs.tf_end_ns
        for ns in range(T0 - 100_000_000, tf_end + 1, 200_000_000):
            if knobs.no_tf:
                for v, name in enumerate(VEHICLES):
                    put(f"/airsim_node/{name}/odom_local_ned", "nav_msgs/msg/Odometry", ns,
                        odometry(T, header(ns, "world_ned"), name, *vehicle_state(v, ns)))
            else:
                put("/tf", TF, ns, T[TF](transforms=[
                    stamped(ns, "world_ned", name, body_rotation(vehicle_state(v, ns)[1]),
                            vehicle_state(v, ns)[0]) for v, name in enumerate(VEHICLES)
                    if name != knobs.without_pose]))
        for k in range(knobs.snapshots):
            for v, name in enumerate(VEHICLES):
                ns = image_stamp(k, v, knobs)
                t, cls, rgb = render(camera_pose_enu(v, ns), layers)
                base = f"/airsim_node/{name}/front_center"
                enc = knobs.encodings[v]
                scene = rgb.reshape(H, W, 3)
                if enc.startswith("bgr"):
                    scene = scene[..., ::-1]
                if enc.endswith("a8"):
                    scene = np.concatenate([scene, np.full((H, W, 1), 255, np.uint8)], -1)
                if k == knobs.cropped_at and v == 0:
                    scene = scene[: H // 2]
                put(f"{base}/Scene", "sensor_msgs/msg/Image", ns, image(ns, scene, enc))
                if name != knobs.without_depth:
                    depth = np.where(np.isfinite(t), t, knobs.sky_depth[v]).astype(np.float32)
                    put(f"{base}/DepthPlanar", "sensor_msgs/msg/Image", ns,
                        image(ns, depth.reshape(H, W), "32FC1"))
                seg = palette[cls.reshape(H, W)][..., ::-1]  # AirSim publishes bgr8
                if name != knobs.without_segmentation:
                    put(f"{base}/Segmentation", "sensor_msgs/msg/Image", ns,
                        image(ns, np.ascontiguousarray(seg), "bgr8"))
                h, w = knobs.info_size or (H, W)
                P = np.zeros((3, 4))
                P[:, :3] = K()
                put(f"{base}/camera_info", "sensor_msgs/msg/CameraInfo", ns,
                    T["sensor_msgs/msg/CameraInfo"](
                        header=header(ns, "front_center_optical"), height=h, width=w,
                        distortion_model="plumb_bob", d=np.zeros(5), k=K().ravel(),
                        r=np.eye(3).ravel(), p=P.ravel(), binning_x=0, binning_y=0,
                        roi=T["sensor_msgs/msg/RegionOfInterest"](
                            x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)))
    return path


def truth_correspondences(k: int, knobs: Knobs = Knobs(), stride: int = 8) -> np.ndarray:
    """Analytic cell correspondences of snapshot k: int [N, N, Hs, Ws] (Hs*Ws = no match)."""
    from mash_ros.sim.camera import pixel_rays
    from mash_ros.sim.correspondence import cell_centres
    from mash_ros.sim.raycast import cast

    layers = scene_layers()
    n, hs, ws = len(VEHICLES), H // stride, W // stride
    poses = [camera_pose_enu(v, image_stamp(k, v, knobs)) for v in range(n)]
    uv = cell_centres(H, W, stride)
    out = np.full((n, n, hs * ws), hs * ws, np.int64)
    for i in range(n):
        o, d = pixel_rays(K(), poses[i], H, W, uv)
        t = cast(layers, o, d).t
        for j in range(n):
            if i == j:
                out[i, j] = np.arange(hs * ws)
                continue
            Rj, cj = poses[j][:3, :3], poses[j][:3, 3]
            sky = ~np.isfinite(t)
            p = o + d * np.where(sky, 1.0, t)[:, None]
            cam = np.where(sky[:, None], d @ Rj, (p - cj) @ Rj)   # direction for sky
            front = cam[:, 2] > 1e-9
            z = np.where(front, cam[:, 2], 1.0)
            u = cam[:, 0] / z * F + K()[0, 2]
            v = cam[:, 1] / z * F + K()[1, 2]
            inside = front & (u > -0.5) & (u < W - 0.5) & (v > -0.5) & (v < H - 0.5)
            # visible: the supporter's ray towards the point hits nothing before it
            to = np.where(sky[:, None], d, p - cj)
            dist = np.linalg.norm(to, axis=1)
            unit = (to / dist[:, None]).astype(np.float32)
            hit = cast(layers, np.broadcast_to(cj, unit.shape).astype(np.float32).copy(), unit).t
            visible = np.where(sky, ~np.isfinite(hit), hit >= dist * (1 - 1e-3))
            cell = (np.clip(np.floor((v + 0.5) / stride), 0, hs - 1) * ws
                    + np.clip(np.floor((u + 0.5) / stride), 0, ws - 1)).astype(np.int64)
            out[i, j] = np.where(inside & visible, cell, hs * ws)
    return out.reshape(n, n, hs, ws)
