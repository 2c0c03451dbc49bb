"""An AirSim recording -> a ``mash-sim`` split (``mash_ros.sim.format``), so ``mash-train``,
``mash-evaluate`` and ``mash-sim stats`` read it as they read the simulator's.

Per snapshot: the views as recorded, labels from the Segmentation colours, un-obstructed depth,
poses in our ENU world, every ordered pair's cell correspondences with the simulator's occlusion
test, and a target. With ``obstructions = k`` each snapshot is written k times, each with its own
target and one of our obstructions inserted (``sim.insertion``); with 0, once, unobstructed.

What a camera cannot see comes from the simulator's ground truth when the bag carries it
(``mash-sim export-bag``): the labels and depth behind an obstruction, the target, the target's
clean view. Without it, pixels whose segmentation says "obstruction" get the ignore label.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mash_ros.airsim.classes import IGNORE, load_class_colors
from mash_ros.airsim.recording import Capture, Recording, RecordingOptions
from mash_ros.bags import layout
from mash_ros.bags.errors import BagError
from mash_ros.bags.reader import BagFile
from mash_ros.core.classes import OBSTRUCTION
from mash_ros.sim.config import SimConfig
from mash_ros.sim.correspondence import cell_correspondences_from_depth
from mash_ros.sim.format import ShardWriter, write_meta
from mash_ros.sim.frames import ned_to_enu
from mash_ros.sim.generator import Snapshot
from mash_ros.sim.insertion import insert_obstruction
from mash_ros.sim.writer import shard_name, split_meta


@dataclass(frozen=True)
class ConvertOptions:
    split: str = "train"           # written to <out>/<split>
    obstructions: int = 0          # obstructed copies per snapshot (0: the recording as is)
    seed: int = 0                  # targets and obstructions
    world_axes: str = "ned"        # axes of the fixed frame: ned (AirSim) or enu
    episode_length: int = 40       # snapshots per shard
    limit: int | None = None       # first N snapshots only
    rgb_format: str = "png"


@dataclass
class Clean:
    """A capture's un-obstructed scene. labels uint8 [N, H, W]; depth float32 [N, H, W];
    seen_mask bool [N, H, W] (an obstruction the recording itself shows); seen_depth float32
    [N, H, W] its depth (inf elsewhere); poses float64 [N, 4, 4] in ENU; corr int16
    [N, N, Hs, Ws]."""

    labels: np.ndarray
    depth: np.ndarray
    seen_mask: np.ndarray
    seen_depth: np.ndarray
    poses: np.ndarray
    corr: np.ndarray


def clean_scene(cap: Capture, K: np.ndarray, stride: int, world_axes: str) -> Clean:
    seen = cap.labels == OBSTRUCTION
    labels, depth = cap.labels.copy(), cap.depth.copy()
    truth_labels, truth_depth = cap.truth.get("labels", {}), cap.truth.get("depth", {})
    for i in range(len(labels)):
        m = seen[i]
        labels[i][m] = truth_labels[i][m] if i in truth_labels else IGNORE
        if i in truth_depth:
            depth[i][m] = truth_depth[i][m]
    depth[~np.isfinite(depth)] = np.inf
    poses = np.stack([ned_to_enu(p) for p in cap.poses]) if world_axes == "ned" else cap.poses
    corr = cell_correspondences_from_depth(depth, K, poses, stride)
    return Clean(labels, depth, seen, np.where(seen, cap.depth, np.inf).astype(np.float32),
                 poses, corr)


def convert(bag_path: str | Path, out_root: str | Path, classes: str | Path | None = None,
            recording: RecordingOptions = RecordingOptions(),
            options: ConvertOptions = ConvertOptions(), progress: bool = False) -> dict:
    """Convert; returns the report (also stored in the split's ``meta.json`` as ``source``)."""
    from tqdm import tqdm

    if options.world_axes not in ("ned", "enu"):
        raise ValueError(f"world_axes must be ned or enu, not {options.world_axes!r}")
    colors = load_class_colors(classes)
    root = Path(out_root) / options.split
    with BagFile(bag_path) as bag:
        rec = Recording(bag, colors, recording)
        if options.obstructions and bag.counts.get(layout.GT_TARGET):
            raise BagError(f"{bag.path}: the recording already holds the simulator's "
                           f"obstructions; --obstructions is for unobstructed recordings")
        n, h, w, K = len(rec.drones), rec.height, rec.width, rec.K
        stride = recording.stride
        total = len(rec.plan) if options.limit is None else min(options.limit, len(rec.plan))
        rng = np.random.default_rng(options.seed)
        root.mkdir(parents=True, exist_ok=True)
        (root / "meta.json").unlink(missing_ok=True)  # never a stale description of new shards
        shards: list[dict] = []
        writer, index, first_stamp, episode = None, 0, None, -1
        bar = tqdm(total=total, unit="snap", desc="mash-dataset", disable=not progress)
        try:
            for cap in rec.captures():
                if cap.index >= total:
                    break
                first_stamp = cap.stamp_ns if first_stamp is None else first_stamp
                scene = clean_scene(cap, K, stride, options.world_axes)
                for snap in _variants(cap, scene, K, rng, options, first_stamp):
                    if index // options.episode_length != episode:
                        episode = index // options.episode_length
                        writer = _next_shard(writer, shards, root, episode, index, options)
                    snap.index, snap.episode = index, episode
                    snap.frame = index % options.episode_length
                    writer.write(snap)
                    shards[-1]["count"] += 1
                    index += 1
                bar.update(1)
        except BaseException:
            if writer is not None:  # the unfinished shard goes, the finished ones are complete
                writer.zf.close()
                writer.tmp.unlink(missing_ok=True)
            raise
        finally:
            bar.close()
        if writer is not None:
            writer.close()
    report = _report(rec, bag_path, classes or colors.source, options, index)
    fx = float(K[0, 0])
    fov = float(np.degrees(2 * np.arctan(w / 2 / fx)))
    cfg = SimConfig(height=h, width=w, agents=n, fov_deg=fov, stride=stride,
                    episode_length=options.episode_length, period=round(rec.period_s, 6),
                    noise=0.0)
    meta = split_meta(cfg, options.seed, options.split, index, shards, options.rgb_format)
    meta["K"] = K.tolist()  # from camera_info, not from the field of view
    meta["source"] = report
    write_meta(root, meta)
    return report


def _variants(cap: Capture, scene: Clean, K: np.ndarray, rng: np.random.Generator,
              options: ConvertOptions, first_stamp: int):
    n = len(cap.rgb)
    common = dict(index=0, episode=-1, frame=0, time=(cap.stamp_ns - first_stamp) / 1e9,
                  city_seed=0, labels=scene.labels, depth=scene.depth.astype(np.float16),
                  poses=scene.poses, corr=scene.corr, exposure=np.ones(n, np.float32))
    if options.obstructions == 0:
        target = int(cap.truth["target"]) if "target" in cap.truth else int(rng.integers(n))
        clean = cap.truth.get("rgb_clean", cap.rgb[target])
        yield Snapshot(target=target, obstruction_kind="recorded" if scene.seen_mask.any()
                       else "none", obstruction_center=np.zeros(3), obstruction_radius=0.0,
                       rgb=cap.rgb, rgb_clean=clean, mask=scene.seen_mask,
                       obstruction_depth=scene.seen_depth.astype(np.float16), **common)
        return
    for _ in range(options.obstructions):
        target = int(rng.integers(n))
        ins = insert_obstruction(rng, cap.rgb, scene.depth, K, scene.poses, target)
        yield Snapshot(target=target, obstruction_kind=ins.obstruction.kind,
                       obstruction_center=ins.obstruction.center,
                       obstruction_radius=ins.obstruction.radius, rgb=ins.rgb,
                       rgb_clean=cap.rgb[target], mask=ins.mask | scene.seen_mask,
                       obstruction_depth=np.minimum(ins.depth, scene.seen_depth).astype(
                           np.float16), **common)


def _next_shard(writer, shards: list, root: Path, episode: int, first: int,
                options: ConvertOptions) -> ShardWriter:
    if writer is not None:
        writer.close()
    shards.append({"file": shard_name(episode), "episode": episode, "city_seed": 0,
                   "first": first, "count": 0})
    return ShardWriter(root / shard_name(episode), options.rgb_format)


def _report(rec: Recording, bag_path, classes, options: ConvertOptions, written: int) -> dict:
    r = rec.report
    unknown = sum(r.unknown_colors.values())
    return {
        "bag": str(bag_path), "classes": str(classes), "drones": r.drones,
        "fixed_frame": rec.opt.fixed_frame, "world_axes": options.world_axes,
        "pose_source": r.pose_source, "stamp_tolerance_s": rec.opt.tolerance_s,
        "max_stamp_spread_ms": round(r.max_spread_ms, 3), "max_depth_m": rec.opt.max_depth,
        "snapshots_in_bag": r.snapshots, "snapshots_written": written,
        "incomplete_groups_dropped": r.incomplete_groups,
        "unmatched_depth_or_segmentation_dropped": r.unmatched,
        "obstructions_per_snapshot": options.obstructions, "seed": options.seed,
        "unknown_color_pixels": int(unknown),
        "unknown_colors": [{"rgb": list(c), "pixels": k} for c, k in
                           r.unknown_colors.most_common(20)],
        "notes": r.notes,
    }


def summary(report: dict) -> str:
    """Human-readable lines of a conversion report."""
    lines = [f"drones: {', '.join(report['drones'])}; poses from {report['pose_source']} in "
             f"{report['fixed_frame']} ({report['world_axes']})",
             f"snapshots: {report['snapshots_written']} written from "
             f"{report['snapshots_in_bag']} synchronized "
             f"(stamp tolerance {report['stamp_tolerance_s'] * 1e3:g} ms, largest spread "
             f"{report['max_stamp_spread_ms']:g} ms; dropped: "
             f"{report['incomplete_groups_dropped']} without every drone, "
             f"{report['unmatched_depth_or_segmentation_dropped']} without depth/segmentation)",
             f"unknown segmentation colours: {report['unknown_color_pixels']} pixels"
             + (" (top: " + ", ".join(f"{tuple(u['rgb'])} {u['pixels']}"
                                      for u in report["unknown_colors"][:5]) + ")"
                if report["unknown_colors"] else "")]
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)

