"""How far a converted split is from a reference split of the same snapshots (e.g. the
simulator's own, before ``export-bag`` and ``from-bag``): exact equality per array, pose error,
and the share of target cells whose correspondence agrees, over every ordered pair of drones."""
from __future__ import annotations

import numpy as np

from mash_ros.sim.format import SimReader

EXACT = ("rgb", "rgb_clean", "labels", "mask", "depth", "obstruction_depth")


def compare_splits(reference: str, converted: str, limit: int | None = None) -> dict:
    a, b = SimReader(reference), SimReader(converted)
    count = min(len(a), len(b)) if limit is None else min(limit, len(a), len(b))
    equal = {key: 0 for key in EXACT}
    agree = cells = targets = 0
    pose_error = 0.0
    for k in range(count):
        x, y = a.read(k), b.read(k)
        for key in EXACT:
            equal[key] += int(np.array_equal(x[key], y[key]))
        targets += int(x["info"]["target"] == y["info"]["target"])
        pose_error = max(pose_error, float(np.abs(x["poses"] - y["poses"]).max()))
        off = ~np.eye(len(x["corr"]), dtype=bool)
        agree += int((x["corr"][off] == y["corr"][off]).sum())
        cells += x["corr"][off].size
    return {"snapshots": count, "identical": equal, "same_target": targets,
            "max_pose_error": pose_error, "correspondence_agreement": agree / max(cells, 1),
            "correspondence_cells": cells}
