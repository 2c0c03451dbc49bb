"""Table I scores of a swarm run, from per-(agent, snapshot) predictions and the ground truth.

The live evaluation of a recording and the offline reference feed the same scorer, so their
numbers compare one to one.
"""
from __future__ import annotations

import numpy as np

from mash_ros.bags.groundtruth import GroundTruth
from mash_ros.core.metrics import ConfusionMatrix, SegmentationScore

KINDS = ("fused", "single")  # the swarm's output, and the drone alone


class SwarmScore:
    """Per kind: the snapshot target's full-image + obstructed-region scores (Table I), and the
    full-image score of every drone against its own un-obstructed labels."""

    def __init__(self):
        self.target = {kind: SegmentationScore() for kind in KINDS}
        self.all_drones = {kind: ConfusionMatrix() for kind in KINDS}
        self.frames = {kind: 0 for kind in KINDS}  # target frames scored

    def add(self, truth: GroundTruth, agent: str, kind: str, prediction: np.ndarray) -> None:
        """prediction: uint8 class ids [H, W] of ``agent``'s ``kind`` output for this snapshot."""
        if prediction.shape != truth.labels.shape:
            raise ValueError(f"{kind} output of {agent} is {prediction.shape[0]}x"
                             f"{prediction.shape[1]}, the ground truth "
                             f"{truth.labels.shape[0]}x{truth.labels.shape[1]}")
        if agent == truth.target:
            self.target[kind].update(prediction, truth.labels, truth.mask)
            self.frames[kind] += 1
        if agent in truth.drone_labels:
            self.all_drones[kind].update(prediction, truth.drone_labels[agent])

    def summary(self) -> dict:
        names = {"fused": "swarm", "single": "single_agent"}
        out = {"table1": {"frames": self.frames["fused"]}, "all_drones_full": {}}
        for kind, name in names.items():
            out["table1"][name] = self.target[kind].summary()
            out["all_drones_full"][name] = (self.all_drones[kind].summary()
                                            if self.all_drones[kind].pixels else None)
        return out
