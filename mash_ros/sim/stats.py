"""Data-set statistics comparable with the paper's (Sec. IV): pairwise pixel overlap (mean and
standard deviation over ordered agent pairs) and pose difference (mean distance in metres and
mean rotation angle in degrees over unordered pairs), plus obstruction coverage and class
frequencies.

Overlap of an ordered pair (i, j) = fraction of i's correspondence cells that have a match in j
(in view and not occluded, from un-obstructed depth). Rotation difference = geodesic angle
between the two camera orientations; the yaw difference alone is reported too.
"""
from __future__ import annotations

import numpy as np

from ..core.classes import NUM_CLASSES, SCENE_CLASSES
from .correspondence import overlap

PAPER = {"overlap_mean": 0.37, "overlap_std": 0.15, "pose_distance_m": 8.7,
         "pose_angle_deg": 50.0}


def _yaw(pose: np.ndarray) -> float:
    f = pose[:3, 2]
    return float(np.arctan2(f[1], f[0]))


class StatsAccumulator:
    def __init__(self) -> None:
        self.overlaps: list[float] = []
        self.snapshot_overlaps: list[float] = []
        self.distances: list[float] = []
        self.angles: list[float] = []
        self.yaw_diffs: list[float] = []
        self.coverage: list[float] = []
        self.class_counts = np.zeros(NUM_CLASSES, np.int64)
        self.obstructed_pixels = 0
        self.pixels = 0
        self.kinds: dict[str, int] = {}
        self.altitudes: list[float] = []
        self.snapshots = 0

    def add(self, corr: np.ndarray, poses: np.ndarray, labels=None, mask=None, target=None,
            kind: str | None = None) -> None:
        n = len(poses)
        ov = overlap(corr)
        off = ~np.eye(n, dtype=bool)
        self.overlaps += ov[off].tolist()
        if n > 1:
            self.snapshot_overlaps.append(float(ov[off].mean()))
        for i in range(n):
            for j in range(i + 1, n):
                self.distances.append(float(np.linalg.norm(poses[i, :3, 3] - poses[j, :3, 3])))
                r = poses[i, :3, :3].T @ poses[j, :3, :3]
                self.angles.append(float(np.degrees(np.arccos(np.clip((np.trace(r) - 1) / 2,
                                                                      -1, 1)))))
                dy = (_yaw(poses[i]) - _yaw(poses[j]) + np.pi) % (2 * np.pi) - np.pi
                self.yaw_diffs.append(abs(float(np.degrees(dy))))
        self.altitudes += poses[:, 2, 3].tolist()
        if labels is not None:
            self.class_counts += np.bincount(np.asarray(labels).ravel(),
                                             minlength=NUM_CLASSES)[:NUM_CLASSES]
        if mask is not None:
            self.obstructed_pixels += int(np.asarray(mask).sum())
            self.pixels += int(np.asarray(mask).size)
        if mask is not None and target is not None:
            self.coverage.append(float(np.asarray(mask)[target].mean()))
        if kind is not None:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
        self.snapshots += 1

    def summary(self) -> dict:
        ov = np.array(self.overlaps)
        out = {
            "snapshots": self.snapshots,
            "overlap_mean": float(ov.mean()) if len(ov) else None,
            "overlap_std": float(ov.std()) if len(ov) else None,
            "overlap_std_of_snapshot_means": float(np.std(self.snapshot_overlaps))
            if self.snapshot_overlaps else None,
            "overlap_zero_fraction": float((ov == 0).mean()) if len(ov) else None,
            "overlap_histogram": np.histogram(ov, bins=10, range=(0, 1))[0].tolist()
            if len(ov) else None,
            "pose_distance_m": float(np.mean(self.distances)) if self.distances else None,
            "pose_angle_deg": float(np.mean(self.angles)) if self.angles else None,
            "yaw_difference_deg": float(np.mean(self.yaw_diffs)) if self.yaw_diffs else None,
            "altitude_m": [float(np.min(self.altitudes)), float(np.mean(self.altitudes)),
                           float(np.max(self.altitudes))] if self.altitudes else None,
            "paper": PAPER,
        }
        if self.coverage:
            c = np.array(self.coverage)
            out["obstruction_coverage"] = {"mean": float(c.mean()), "min": float(c.min()),
                                           "max": float(c.max()),
                                           "in_10_35": float(((c >= 0.1) & (c <= 0.35)).mean())}
        if self.class_counts.sum():
            freq = self.class_counts / self.class_counts.sum()
            out["class_frequency"] = {name: round(float(f), 4)
                                      for name, f in zip(SCENE_CLASSES, freq)}
        if self.pixels:
            out["obstructed_pixel_fraction_all_views"] = round(self.obstructed_pixels
                                                               / self.pixels, 4)
        if self.kinds:
            out["obstruction_kinds"] = dict(sorted(self.kinds.items()))
        return out


def format_summary(s: dict) -> str:
    lines = [f"snapshots: {s['snapshots']}"]
    if s.get("overlap_mean") is not None:
        lines.append(f"pairwise overlap: {100 * s['overlap_mean']:.1f}% ± "
                     f"{100 * s['overlap_std']:.1f}% over pairs, ± "
                     f"{100 * s['overlap_std_of_snapshot_means']:.1f}% over snapshot means   "
                     "(paper 37% ± 15%)")
        lines.append(f"pair overlap histogram (10% bins): {s['overlap_histogram']}")
        lines.append(f"pose difference: {s['pose_distance_m']:.1f} m, "
                     f"{s['pose_angle_deg']:.1f}° (yaw {s['yaw_difference_deg']:.1f}°)   "
                     "(paper 8.7 m, 50°)")
    if "obstruction_coverage" in s:
        c = s["obstruction_coverage"]
        lines.append(f"obstruction coverage of the target: mean {100 * c['mean']:.1f}%, "
                     f"range {100 * c['min']:.1f}–{100 * c['max']:.1f}%, "
                     f"{100 * c['in_10_35']:.0f}% of snapshots in 10–35%")
    if "class_frequency" in s:
        lines.append("classes (un-obstructed): " + ", ".join(
            f"{k} {100 * v:.1f}%" for k, v in s["class_frequency"].items()))
    if "obstructed_pixel_fraction_all_views" in s:
        lines.append("obstructed pixels over all views: "
                     f"{100 * s['obstructed_pixel_fraction_all_views']:.1f}%")
    if "obstruction_kinds" in s:
        lines.append("obstructions: " + ", ".join(f"{k} {v}"
                                                  for k, v in s["obstruction_kinds"].items()))
    return "\n".join(lines)
