"""Evaluate a recorded live swarm run against the ground truth of the bag it was fed from.

Joins by header stamp: every drone node stamps its outputs with its input image's stamp.

Reported (see ``DEFINITIONS``): Table I metrics of the snapshot's target (full image and
obstructed region) for the swarm's fused output and the drone alone, every drone's full-image
score, frames with no output (lost), bytes per topic against raw images, and latency.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mash_ros.bags import layout
from mash_ros.bags.errors import BagError
from mash_ros.bags.groundtruth import camera_images, camera_stamps, read_ground_truth
from mash_ros.bags.identity import foreign_images
from mash_ros.bags.images import CAMERA_ENCODINGS, image_array
from mash_ros.bags.reader import BagFile
from mash_ros.bags.recording import node_reports, read_recording
from mash_ros.bags.scoring import SwarmScore

DEFINITIONS = {
    "frame": "one camera image of one drone that has swarm outputs (agent, stamp)",
    "lost": "a replayed frame with no fused mash/segmentation output in the recording "
            "(replayed = a /mash_replay/frames marker exists; without markers, every camera "
            "image of the input bag)",
    "table1": "the snapshot's target drone (/mash_gt/target): fused output vs the un-obstructed "
              "labels, full image and inside the obstruction mask; accumulated confusion "
              "matrices, percentages",
    "all_drones_full": "every drone's output vs its own un-obstructed labels, full image",
    "latency_ms": "end to end: mash-replay publishes a camera image (wall clock, its marker's "
                  "time_ref) -> the recorder receives that drone's fused output (wall clock, "
                  "the recording's log time); one machine, one clock",
    "bandwidth": "serialized CDR bytes of the recorded inter-drone messages of the input "
                 "bag's frames (warm-up excluded); per target frame = one target's query plus "
                 "every answer to it; raw image = H*W*3 bytes of one rgb8/bgr8 camera image",
}


def _stats_ms(values_ns: list[int]) -> dict | None:
    if not values_ns:
        return None
    ms = np.asarray(values_ns, dtype=np.float64) / 1e6
    return {"count": int(ms.size), "mean": float(ms.mean()), "p50": float(np.median(ms)),
            "p95": float(np.percentile(ms, 95)), "max": float(ms.max())}


def _montage_stamps(truth: dict, count: int) -> list[int]:
    """The ``count`` snapshots with the largest obstruction, in time order."""
    ranked = sorted(truth, key=lambda s: -int(truth[s].mask.sum()))
    return sorted(ranked[:count])


def _bandwidth(rec, frames: dict[str, set[int]], raw: dict) -> dict:
    """Bytes per topic of the bag's frames (warm-up and foreign stamps excluded)."""
    in_bag = {kind: [(a, s, n) for a, s, n in rows if s in frames.get(a, ())]
              for kind, rows in rec.wire.items()}
    query_frames = {(a, s) for a, s, _ in in_bag["query"]}
    target_frames = len(query_frames) or len(rec.received["fused"])
    topics = {}
    payload = raw["payload_bytes"]
    for kind, rows in in_bag.items():
        if not rows:
            continue
        sizes = np.array([n for _, _, n in rows], dtype=np.float64)
        topics[f"mash/{kind}"] = {
            "messages": int(sizes.size), "bytes": int(sizes.sum()),
            "bytes_per_message": float(sizes.mean()),
            "bytes_per_target_frame": float(sizes.sum() / max(target_frames, 1)),
            "message_vs_raw_image": float(sizes.mean() / payload)}
    if "mash/patches" in topics:
        topics["mash/patches"]["answers_per_target_frame"] = \
            topics["mash/patches"]["messages"] / max(target_frames, 1)
    for kind, name in (("fused", "mash/segmentation"), ("single", "mash/segmentation_single")):
        sizes = rec.outputs_bytes[kind]
        if sizes:
            topics[name] = {"messages": len(sizes), "bytes": int(sum(sizes)),
                            "bytes_per_message": float(np.mean(sizes)),
                            "message_vs_raw_image": float(np.mean(sizes) / payload)}
    out = {"raw_image": raw, "target_frames": target_frames, "topics": topics,
           "node_reports": node_reports(rec.bandwidth_reports)}
    if "mash/query" in topics:
        exchange = sum(topics[t]["bytes_per_target_frame"] for t in ("mash/query", "mash/patches")
                       if t in topics)
        peers = max(len(frames) - 1, 1)
        out["exchange_per_target_frame"] = {
            "bytes": exchange, "vs_raw_image": exchange / payload,
            "vs_raw_images_from_peers": exchange / (peers * payload)}
    return out


@dataclass
class Evaluation:
    """report: the JSON report; rows: montage rows {"stamp", "target", "image" RGB [H,W,3],
    "single", "fused", "labels" [H,W] ids (None = no output), "mask" bool [H,W]};
    scored: the (agent, stamp) frames of the bag that have a fused output."""

    report: dict
    rows: list[dict]
    scored: set[tuple[str, int]]


def evaluate_recording(input_bag: str | Path, recording: str | Path, *,
                       camera_regex: str = layout.CAMERA_REGEX, camera: str | None = None,
                       ground_truth: bool = True, montage: int = 0,
                       remap: dict[str, str] | None = None) -> Evaluation:
    """Evaluate a recording against its input bag. Raises BagError for unusable bags.

    montage: how many snapshots (largest obstruction first) to return images of. remap: the
    replay's --remap (bag topic -> published name), so drones are named as the swarm saw them.
    """
    with BagFile(input_bag) as src:
        src.validate()
        cameras = find_cameras_or_fail(src, camera_regex, camera, remap)
        input_digests: dict = {}
        stamps = camera_stamps(src, cameras, input_digests)
        truth = read_ground_truth(src, list(cameras)) if ground_truth else {}
        first = next(src.messages([next(iter(cameras.values()))]))
        image = image_array(src.deserialize(first), f"{src.path}, {first.topic}",
                            CAMERA_ENCODINGS)
        raw = {"payload_bytes": int(image.size), "message_bytes": len(first.raw),
               "height": image.shape[0], "width": image.shape[1]}
        show = _montage_stamps(truth, montage) if truth else []
        images = camera_images(src, cameras, {(truth[s].target, s) for s in show})
    frames = {agent: set(values) for agent, values in stamps.items()}
    score = SwarmScore()
    kept: dict[tuple[str, str, int], np.ndarray] = {}
    latency_keys = {}

    def on_output(kind, agent, stamp, log_ns, ids):
        if kind == "fused":
            latency_keys[(agent, stamp)] = log_ns
        if stamp in truth:
            score.add(truth[stamp], agent, kind, ids)
            if stamp in show and agent == truth[stamp].target:
                kept[(kind, agent, stamp)] = ids

    with BagFile(recording) as rec_bag:
        rec_bag.validate()
        agents = [a for a in layout.agents_with_outputs(rec_bag.topics) if a in cameras]
        if not agents:
            raise BagError(f"{rec_bag.path}: no /<drone>/mash/segmentation topic of a drone "
                           f"with a camera in {input_bag} (drones: {', '.join(cameras)}; "
                           f"recorded topics: {', '.join(sorted(rec_bag.topics)) or 'none'})")
        missing_targets = sorted({t.target for t in truth.values()} - set(agents),
                                 key=layout.natural_key)
        if missing_targets:
            raise BagError(f"{rec_bag.path}: no fused output topic of {', '.join(missing_targets)}"
                           f", target(s) of snapshots of the input bag (recorded outputs of: "
                           f"{', '.join(agents)})")
        rec = read_recording(rec_bag, on_output,
                             wanted=lambda agent, stamp: stamp in frames.get(agent, ()))
    foreign = foreign_images(rec.marker_digests, input_digests)
    if foreign:
        agent, stamp = foreign[0]
        raise BagError(f"{recording} was not made from {input_bag}: {len(foreign)} of the "
                       f"{len(rec.marker_digests)} camera images its replay markers name are "
                       f"not this bag's (first: {agent} at stamp {stamp} ns); evaluate it "
                       f"against the bag it was replayed from")
    # what was replayed, and so expected to have an output
    if rec.has_markers:
        expected = {(a, s) for (a, s) in rec.markers if a in agents and s in frames.get(a, ())}
    else:
        expected = {(a, s) for a in agents for s in frames[a]}
    lost = {kind: sorted(expected - set(rec.received[kind])) for kind in ("fused", "single")}
    outside = sum(1 for (a, s) in rec.received["fused"] if s not in frames.get(a, ()))
    gt_stamps = set(truth)
    replayed_gt = {s for s in gt_stamps if (truth[s].target, s) in expected}
    all_snapshots = set().union(*frames.values())
    replayed_snapshots = {s for (_, s) in expected}

    latencies = [latency_keys[k] - rec.markers[k] for k in expected
                 if k in latency_keys and k in rec.markers]
    problems = []
    if lost["fused"]:
        problems.append(f"{len(lost['fused'])} of {len(expected)} frames have no fused output "
                        f"(lost)")
    if lost["single"]:
        problems.append(f"{len(lost['single'])} frames have no single-agent output")
    if len(replayed_snapshots) < len(all_snapshots):
        problems.append(f"partial replay: {len(replayed_snapshots)} of {len(all_snapshots)} "
                        f"snapshots of the input bag were replayed")
    if truth and len(replayed_gt) < len(gt_stamps):
        problems.append(f"Table I covers {len(replayed_gt)} of {len(gt_stamps)} ground-truth "
                        f"snapshots")
    if not rec.has_markers:
        problems.append("no /mash_replay/frames markers in the recording: latency unknown, "
                        "every camera image of the input bag counted as replayed")
    elif len(rec.marker_digests) < len(rec.markers):
        problems.append("replay markers without image digests (an older mash-replay): cannot "
                        "check that the recording belongs to this input bag")
    metrics = score.summary() if truth else None
    report = {
        "input_bag": str(input_bag), "recording": str(recording),
        "complete": not lost["fused"] and not lost["single"]
        and len(replayed_snapshots) == len(all_snapshots),
        "problems": problems,
        "agents": agents,
        "snapshots": {"in_bag": len(all_snapshots), "replayed": len(replayed_snapshots),
                      "with_ground_truth": len(gt_stamps), "scored": score.frames["fused"]},
        "frames": {"expected": len(expected), "fused": len(expected) - len(lost["fused"]),
                   "single": len(expected) - len(lost["single"]), "lost": len(lost["fused"]),
                   "lost_single": len(lost["single"]),
                   "lost_list": [{"agent": a, "stamp_ns": s} for a, s in lost["fused"][:50]],
                   "duplicates": rec.duplicates, "outside_bag": outside,
                   "warmup_images": rec.warmup_markers, "resent_images": rec.marker_repeats},
        "metrics": metrics,
        "bandwidth": _bandwidth(rec, frames, raw),
        "latency_ms": _stats_ms(latencies),
        "definitions": DEFINITIONS,
    }
    origin = min(truth) if truth else 0
    rows = [{"stamp": s, "time_s": (s - origin) / 1e9, "target": truth[s].target,
             "image": images.get((truth[s].target, s)),
             "single": kept.get(("single", truth[s].target, s)),
             "fused": kept.get(("fused", truth[s].target, s)),
             "labels": truth[s].labels, "mask": truth[s].mask} for s in show]
    scored = {k for k in expected if k in rec.received["fused"]}
    return Evaluation(report, rows, scored)


def find_cameras_or_fail(bag: BagFile, regex: str, camera: str | None,
                         remap: dict[str, str] | None = None) -> dict[str, str]:
    cameras = layout.find_cameras(bag.topics, regex, camera, remap)
    if not cameras:
        raise BagError(f"{bag.path}: no camera Image topic matches {regex} (topics: "
                       f"{', '.join(sorted(bag.topics))})")
    return cameras

