"""Read an AirSim recording (rosbag2, rosbags only) into synchronized multi-drone captures.

Two passes over the bag: the first reads the small messages (``/tf``, ``/tf_static``,
odometry, ``camera_info``) and only the header stamps of the images, groups the images into
snapshots (``sync``), resolves every pose and checks intrinsics against image sizes, so a bad
bag fails before anything is written; the second decodes the images of one snapshot at a time.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from mash_ros.airsim import sync
from mash_ros.airsim.classes import IGNORE, ClassColors
from mash_ros.airsim.tf import TransformBuffer
from mash_ros.airsim.topics import FRAME_PATTERN, ODOM_PATTERN, DroneTopics, find_drones
from mash_ros.bags import layout
from mash_ros.bags.cdr import header_stamp_ns
from mash_ros.bags.errors import BagError
from mash_ros.bags.images import COLOR_ENCODINGS, image_array
from mash_ros.bags.reader import BagFile
from mash_ros.sim.frames import OPTICAL_IN_BODY, quaternion

TF, TF_STATIC = "/tf", "/tf_static"


@dataclass(frozen=True)
class RecordingOptions:
    fixed_frame: str = "world_ned"          # poses are looked up in this frame
    frame_pattern: str = FRAME_PATTERN      # tf frame of a camera from its vehicle and camera
    odom_pattern: str = ODOM_PATTERN        # pose source when the bag has no /tf
    scene_regex: str = layout.CAMERA_REGEX  # camera topics (named groups agent, camera)
    camera: str | None = None               # which camera when a vehicle has several
    tolerance_s: float = 0.02               # drones' stamps of one snapshot, at most this apart
    max_depth: float = 10000.0              # depth >= this (or not finite) is sky: +inf
    stride: int = 8                         # the model's cell size; image sides must divide


@dataclass
class Capture:
    """One snapshot of N drones. rgb uint8 [N, H, W, 3]; depth float32 [N, H, W] (m, +inf sky);
    labels uint8 [N, H, W] (class ids, 255 unknown); poses float64 [N, 4, 4] camera optical
    frame -> fixed frame; truth: the simulator's ground truth when the bag carries it (keys
    target, rgb_clean, labels, depth)."""

    index: int
    stamp_ns: int
    rgb: np.ndarray
    depth: np.ndarray
    labels: np.ndarray
    poses: np.ndarray
    truth: dict = field(default_factory=dict)


@dataclass
class Report:
    """What a conversion met, for its summary."""

    drones: list[str]
    snapshots: int = 0
    incomplete_groups: int = 0      # a drone had no Scene image within the tolerance
    unmatched: int = 0              # a drone's depth or segmentation had no stamp to match
    max_spread_ms: float = 0.0
    pose_source: str = "/tf"
    unknown_colors: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


class Recording:
    """A bag opened for conversion; ``captures()`` yields its snapshots in time order."""

    def __init__(self, bag: BagFile, colors: ClassColors | None,
                 options: RecordingOptions = RecordingOptions()) -> None:
        self.bag, self.colors, self.opt = bag, colors, options
        self.drones: list[DroneTopics] = find_drones(
            bag.topics, options.scene_regex, options.camera, options.frame_pattern,
            options.odom_pattern)
        self.report = Report([d.vehicle for d in self.drones])
        self.report.notes += [f"{d.vehicle} has no Segmentation: its labels are all 255 (ignored)"
                              for d in self.drones if d.segmentation is None]
        self.tol = int(round(options.tolerance_s * 1e9))
        self._read_small()
        self._plan()

    # --- pass 1 -----------------------------------------------------------------------------
    def _image_topics(self) -> list[str]:
        topics = []
        for d in self.drones:
            topics += [d.scene, d.depth] + ([d.segmentation] if d.segmentation else [])
        return topics

    def _truth_topics(self) -> dict[str, tuple[str, str]]:
        """GT topic -> (kind, vehicle) of the simulator's ground truth present in the bag."""
        out = {}
        for d in self.drones:
            for kind, pattern in (("labels", layout.GT_DRONE_LABELS),
                                  ("depth", layout.GT_DRONE_DEPTH)):
                topic = pattern.format(agent=d.vehicle)
                if self.bag.counts.get(topic):
                    out[topic] = (kind, d.vehicle)
        if self.bag.counts.get(layout.GT_RGB_CLEAN):
            out[layout.GT_RGB_CLEAN] = ("rgb_clean", "")
        return out

    def _read_small(self) -> None:
        bag, opt = self.bag, self.opt
        use_tf = bool(bag.counts.get(TF))
        small = {TF_STATIC, *(d.camera_info for d in self.drones)}
        if use_tf:
            small.add(TF)
        else:
            missing = [d for d in self.drones if not bag.counts.get(d.odometry)]
            if missing:
                raise BagError(f"{bag.path}: drone {missing[0].vehicle} has no pose: the bag has "
                               f"no /tf and no {missing[0].odometry}")
            small |= {d.odometry for d in self.drones}
            self.report.pose_source = "odometry (" + ", ".join(d.odometry for d in self.drones) \
                + ")"
        if bag.counts.get(layout.GT_TARGET):
            small.add(layout.GT_TARGET)
        image_topics = set(self._image_topics())
        self.buffer = TransformBuffer()
        self.stamps: dict[str, list[int]] = {t: [] for t in image_topics}
        self.sizes: dict[str, tuple[int, int, str]] = {}
        infos: dict[str, set] = {d.camera_info: set() for d in self.drones}
        self.targets: list[tuple[int, int]] = []  # (record ns, index)
        odom = {d.odometry: d for d in self.drones}
        for msg in bag.messages(small | image_topics):
            if msg.topic in image_topics:
                self.stamps[msg.topic].append(header_stamp_ns(msg.raw))
                if msg.topic not in self.sizes:
                    m = bag.deserialize(msg)
                    self.sizes[msg.topic] = (int(m.height), int(m.width), m.encoding)
                continue
            m = bag.deserialize(msg)
            if msg.topic in (TF, TF_STATIC):
                for t in m.transforms:
                    tr, q = t.transform.translation, t.transform.rotation
                    self.buffer.add(t.header.frame_id, t.child_frame_id, _ns(t.header.stamp),
                                    (tr.x, tr.y, tr.z), (q.x, q.y, q.z, q.w),
                                    static=msg.topic == TF_STATIC)
            elif msg.topic in infos:
                infos[msg.topic].add((int(m.height), int(m.width),
                                      tuple(np.asarray(m.k, np.float64).round(9).tolist())))
            elif msg.topic in odom:
                p, q = m.pose.pose.position, m.pose.pose.orientation
                self.buffer.add(opt.fixed_frame, odom[msg.topic].vehicle, _ns(m.header.stamp),
                                (p.x, p.y, p.z), (q.x, q.y, q.z, q.w))
            elif msg.topic == layout.GT_TARGET:
                self.targets.append((msg.log_ns, int(m.data)))
        if not use_tf:
            for d in self.drones:  # the camera mount, unless /tf_static recorded it
                if d.frame.lstrip("/") not in self.buffer.edges:
                    self.buffer.add(d.vehicle, d.frame, 0, (0.0, 0.0, 0.0),
                                    quaternion(OPTICAL_IN_BODY), static=True)
                    self.report.notes.append(
                        f"{d.frame}: no camera mount in /tf_static, assumed at the body origin "
                        f"looking along the body's x axis")
        self.buffer.freeze()
        self._check_intrinsics(infos)

    def _check_intrinsics(self, infos: dict[str, set]) -> None:
        path, Ks = self.bag.path, set()
        for d in self.drones:
            seen = infos[d.camera_info]
            if not seen:
                raise BagError(f"{path}: drone {d.vehicle} has no intrinsics: no message on "
                               f"{d.camera_info}")
            if len(seen) > 1:
                raise BagError(f"{path}: {d.camera_info} changes during the recording "
                               f"({len(seen)} different size/K); one camera model is needed")
            h, w, k = next(iter(seen))
            for topic in (d.scene, d.depth, d.segmentation):
                if topic and topic in self.sizes and self.sizes[topic][:2] != (h, w):
                    ih, iw, _ = self.sizes[topic]
                    raise BagError(f"{path}: intrinsics disagree with the image size: "
                                   f"{d.camera_info} says {h}x{w}, {topic} is {ih}x{iw}")
            Ks.add((h, w, k))
        if len(Ks) > 1:
            raise BagError(f"{path}: the drones' cameras differ (size or K); a data set needs "
                           f"one camera model: {sorted(Ks)}")
        self.height, self.width, k = Ks.pop()
        self.K = np.array(k, np.float64).reshape(3, 3)
        s = self.opt.stride
        if self.height % s or self.width % s:
            raise BagError(f"{path}: images are {self.height}x{self.width}; the model's cells "
                           f"need both sides to be multiples of {s}")
        if self.K[0, 0] <= 0 or self.K[1, 1] <= 0:
            raise BagError(f"{path}: camera_info K has no focal length ({k})")

    def _plan(self) -> None:
        scene = {d.vehicle: self.stamps[d.scene] for d in self.drones}
        for d in self.drones:
            if not scene[d.vehicle]:
                raise BagError(f"{self.bag.path}: drone {d.vehicle} has no image on {d.scene}")
            if not self.stamps[d.depth]:
                raise BagError(f"{self.bag.path}: drone {d.vehicle} has no depth: no message "
                               f"on {d.depth}")
        grouping = sync.group_stamps(scene, self.tol)
        self.report.incomplete_groups = grouping.incomplete
        self.report.max_spread_ms = grouping.max_spread_ns / 1e6
        sorted_stamps = {t: sorted(s) for t, s in self.stamps.items()}
        self.plan: list[dict[str, tuple[int, int, int | None]]] = []
        for group in grouping.snapshots:
            entry = {}
            for d in self.drones:
                s = group[d.vehicle]
                depth = sync.match(sorted_stamps[d.depth], s, self.tol)
                seg = sync.match(sorted_stamps[d.segmentation], s, self.tol) \
                    if d.segmentation else None
                if depth is None or (d.segmentation and seg is None):
                    entry = None
                    break
                entry[d.vehicle] = (s, depth, seg)
            if entry is None:
                self.report.unmatched += 1
            else:
                self.plan.append(entry)
        if not self.plan:
            raise BagError(f"{self.bag.path}: no snapshot has every drone's depth and "
                           f"segmentation within {self.opt.tolerance_s * 1e3:g} ms of its image")
        self.poses = [self._poses(entry) for entry in self.plan]  # fails early, before writing
        self.report.snapshots = len(self.plan)

    def _poses(self, entry) -> np.ndarray:
        out = np.empty((len(self.drones), 4, 4))
        for i, d in enumerate(self.drones):
            try:
                out[i] = self.buffer.lookup(self.opt.fixed_frame, d.frame, entry[d.vehicle][0])
            except BagError as err:
                raise BagError(f"{self.bag.path}: no pose for drone {d.vehicle}: {err}") from None
        return out

    @property
    def period_s(self) -> float:
        return sync.median_period_s([{k: v[0] for k, v in e.items()} for e in self.plan])

    # --- pass 2 -----------------------------------------------------------------------------
    def captures(self) -> Iterator[Capture]:
        """Decoded snapshots in time order (one at a time in memory, plus what is in flight)."""
        truth_topics = self._truth_topics()
        wanted: dict[tuple[str, int], list[int]] = {}
        for k, entry in enumerate(self.plan):
            for d in self.drones:
                s, depth, seg = entry[d.vehicle]
                keys = [(d.scene, s), (d.depth, depth)] + ([(d.segmentation, seg)]
                                                           if d.segmentation else [])
                keys += [(t, s) for t, (_, v) in truth_topics.items() if v == d.vehicle]
                keys += [(t, s) for t, (kind, _) in truth_topics.items() if kind == "rgb_clean"]
                for key in keys:
                    wanted.setdefault(key, []).append(k)
        need = Counter(k for ks in wanted.values() for k in ks)
        have: dict[tuple[str, int], np.ndarray] = {}
        got = Counter()
        next_k = 0
        for msg in self.bag.messages([*self._image_topics(), *truth_topics]):
            key = (msg.topic, header_stamp_ns(msg.raw))
            if key not in wanted or key in have:
                continue
            where = f"{self.bag.path}, {msg.topic} at {key[1] / 1e9:.6f} s"
            have[key] = image_array(self.bag.deserialize(msg), where)
            if have[key].shape[:2] != (self.height, self.width):
                raise BagError(f"{where}: the image is {have[key].shape[0]}x"
                               f"{have[key].shape[1]}, camera_info says {self.height}x"
                               f"{self.width} (intrinsics disagree with the image size)")
            for k in wanted[key]:
                got[k] += 1
            while next_k < len(self.plan) and got[next_k] == need[next_k]:
                yield self._assemble(next_k, have, truth_topics)
                self._release(next_k, have, wanted)
                next_k += 1
        while next_k < len(self.plan):  # ground truth that never came: convert without it
            yield self._assemble(next_k, have, truth_topics)
            self._release(next_k, have, wanted)
            next_k += 1

    @staticmethod
    def _release(k: int, have: dict, wanted: dict) -> None:
        """Drop decoded images no later snapshot needs."""
        for key in [key for key in have if max(wanted[key]) <= k]:
            del have[key]

    def _assemble(self, k: int, have: dict, truth_topics: dict) -> Capture:
        entry, n = self.plan[k], len(self.drones)
        h, w = self.height, self.width
        rgb = np.empty((n, h, w, 3), np.uint8)
        depth = np.empty((n, h, w), np.float32)
        labels = np.full((n, h, w), IGNORE, np.uint8)
        truth: dict = {}
        for i, d in enumerate(self.drones):
            s, ds, ss = entry[d.vehicle]
            where = f"{self.bag.path}, snapshot at {s / 1e9:.6f} s, drone {d.vehicle}"
            try:
                rgb[i] = _color(have[(d.scene, s)], where)
                depth[i] = self._depth(have[(d.depth, ds)], where)
            except KeyError:
                raise BagError(f"{where}: an image listed in the bag could not be read back") \
                    from None
            if d.segmentation and self.colors is not None:
                labels[i], unknown = self.colors.labels(_color(have[(d.segmentation, ss)], where))
                self.report.unknown_colors.update(unknown)
            for t, (kind, v) in truth_topics.items():
                if v == d.vehicle and (t, s) in have:
                    truth.setdefault(kind, {})[i] = have[(t, s)]
        first = min(e[0] for e in entry.values())
        clean = next((have[(t, e[0])] for t, (kind, _) in truth_topics.items()
                      if kind == "rgb_clean" for e in entry.values() if (t, e[0]) in have), None)
        if clean is not None:
            truth["rgb_clean"] = clean
        target = [t for log, t in self.targets if abs(log - first) <= self.tol]
        if target:
            truth["target"] = target[0]
        return Capture(k, first, rgb, depth, labels, self.poses[k], truth)

    def _depth(self, array: np.ndarray, where: str) -> np.ndarray:
        if array.dtype != np.float32 or array.ndim != 2:
            raise BagError(f"{where}: depth must be 32FC1 (metres along the optical axis)")
        out = array.astype(np.float32, copy=True)
        out[~np.isfinite(out) | (out >= self.opt.max_depth)] = np.inf  # sky
        if (out <= 0).any():
            raise BagError(f"{where}: depth has values <= 0")
        return out


def _color(array: np.ndarray, where: str) -> np.ndarray:
    if array.ndim != 3 or array.dtype != np.uint8:
        raise BagError(f"{where}: a colour image must be one of {', '.join(COLOR_ENCODINGS)}")
    return array


def _ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)
