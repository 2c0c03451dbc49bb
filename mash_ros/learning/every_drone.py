"""Every drone as the target: what the swarm does to the drones that are not obstructed.

A split's snapshots have one obstructed target (slot 0), and Table I scores that drone. But a
swarm runs with every drone fusing its peers' answers (``targets: all``), so a fusion that helps
the obstructed drone while it spoils the clear views of the other five is a net loss. Here each
drone of a snapshot is the target in turn: its query through the wire codec, every other drone's
answer through the patch codec, its fuse, scored against its own un-obstructed labels. Answers
are computed once per (target, supporter) pair and fused for every weight of the target's own
confidence in ``own_weights`` (``fusion_own_weight``), so a sweep costs little more than one run.
"""
from __future__ import annotations

from typing import Sequence

import torch

from mash_ros.core.metrics import SegmentationScore
from mash_ros.core.wire_roundtrip import query_through_wire, through_wire
from mash_ros.swarm.params import default


@torch.inference_mode()
def evaluate_every_drone(model, dataset, own_weights: Sequence[float],
                         query_encoding: str | None = None, patch_encoding: str | None = None,
                         limit: int = 0) -> dict:
    """-> {"snapshots": n, "single": {"target", "others"}, "fused": [{"own_weight": k,
    "target", "others"} per k]}, each a SegmentationScore: "target" the obstructed drone
    (slot 0), "others" every other drone (their own labels; obstructed regions are theirs)."""
    query_encoding = query_encoding or default("query_encoding")
    patch_encoding = patch_encoding or default("patch_encoding")
    count = len(dataset) if not limit else min(limit, len(dataset))
    single = {"target": SegmentationScore(), "others": SegmentationScore()}
    fused = [{"own_weight": float(k), "target": SegmentationScore(),
              "others": SegmentationScore()} for k in own_weights]
    kept = model.own_weight
    try:
        for i in range(count):
            item = dataset[i]
            states = [model.encode(image.unsqueeze(0)) for image in item["images"]]
            for target, state in enumerate(states):
                received = torch.from_numpy(
                    query_through_wire(state.query[0].numpy(), query_encoding)[0])
                responses = [through_wire(model.respond(received, other), patch_encoding)[0]
                             for j, other in enumerate(states) if j != target]
                labels = item["agent_labels"][target].numpy()
                mask = item["agent_masks"][target].numpy()
                group = "target" if target == 0 else "others"
                single[group].update(state.probs[0].argmax(0).numpy(), labels, mask)
                for entry in fused:
                    model.own_weight = entry["own_weight"]
                    entry[group].update(model.fuse(state, responses).argmax(0).numpy(), labels,
                                        mask)
    finally:
        model.own_weight = kept
    return {"snapshots": count, "single": single, "fused": fused}


def every_drone_summary(run: dict) -> dict:
    """``evaluate_every_drone``'s scores as the numbers results.json keeps."""
    def miou(score: SegmentationScore) -> dict:
        summary = score.summary()
        return {"miou": summary["full"]["miou"], "obstructed_miou": summary["obstructed"]["miou"]}

    return {"snapshots": run["snapshots"],
            "single": {group: miou(score) for group, score in run["single"].items()},
            "own_weight_sweep": [{"own_weight": entry["own_weight"],
                                  "target": miou(entry["target"]),
                                  "others": miou(entry["others"])}
                                 for entry in run["fused"]]}
