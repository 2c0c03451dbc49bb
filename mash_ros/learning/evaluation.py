"""Offline evaluation on a simulator split: Table I segmentation metrics and bandwidth.

``evaluate_dense`` runs a model's centralized forward (any kind). ``evaluate_distributed``
runs MASH exactly as the swarm does — one agent at a time through the role API, with the query
and the patches passing through the real wire codecs — and measures the bytes each would put on
the wire.
"""
from __future__ import annotations

import numpy as np
import torch

from mash_ros.core.metrics import SegmentationScore
from mash_ros.core.wire_roundtrip import query_through_wire, through_wire
from mash_ros.swarm.params import default

# Per sent cell a SegPatches message also carries cell_index, source_cell (uint32) and
# confidence (float32).
INDEX_BYTES_PER_CELL = 12


def _limit(dataset, limit: int) -> range:
    return range(len(dataset) if not limit else min(limit, len(dataset)))


@torch.inference_mode()
def evaluate_dense(model, dataset, kind: str, device=torch.device("cpu"),
                   limit: int = 0, ceiling: SegmentationScore | None = None) -> SegmentationScore:
    """Centralized forward for the target (slot 0) of every snapshot.

    ``ceiling``, if given, also scores the prediction with its obstructed pixels replaced by the
    true labels: what perfect collaboration could add on top of this model.
    """
    score = SegmentationScore()
    model.eval()
    for i in _limit(dataset, limit):
        item = dataset[i]
        images = item["images"].unsqueeze(0).to(device)
        if kind == "inpainting":
            images = images[:, :1]
        out = model(images, target=0, gt_corr=item["corr"].unsqueeze(0).to(device),
                    gt_flow=item["flow"].unsqueeze(0).to(device))
        prediction = out["probs"][0].argmax(0).cpu().numpy()
        labels, mask = item["labels"].numpy(), item["mask"].numpy()
        score.update(prediction, labels, mask)
        if ceiling is not None:
            ceiling.update(np.where(mask, labels, prediction), labels, mask)
    return score


@torch.inference_mode()
def evaluate_distributed(model, dataset, query_encoding: str | None = None,
                         patch_encoding: str | None = None, limit: int = 0) -> dict:
    """MASH through the role API and the wire codecs, as the drone nodes run it (encodings
    default to the drone nodes' parameters).

    Returns {"fused": SegmentationScore, "single": SegmentationScore (the target alone),
    "bandwidth": per-frame byte and cell statistics}.
    """
    query_encoding = query_encoding or default("query_encoding")
    patch_encoding = patch_encoding or default("patch_encoding")
    fused, single = SegmentationScore(), SegmentationScore()
    query_bytes, answer_bytes, cells = [], [], []
    num_cells = None
    for i in _limit(dataset, limit):
        item = dataset[i]
        states = [model.encode(image.unsqueeze(0)) for image in item["images"]]
        query = states[0].query[0].numpy()
        decoded, sent = query_through_wire(query, query_encoding)
        query_bytes.append(sent)
        received = torch.from_numpy(decoded)
        responses = []
        for state in states[1:]:
            response, payload_bytes = through_wire(model.respond(received, state),
                                                   patch_encoding)
            answer_bytes.append(payload_bytes + INDEX_BYTES_PER_CELL * response.num_cells)
            cells.append(response.num_cells)
            responses.append(response)
        num_cells = query.shape[1] * query.shape[2]
        labels, mask = item["labels"].numpy(), item["mask"].numpy()
        fused.update(model.fuse(states[0], responses).argmax(0).numpy(), labels, mask)
        single.update(states[0].probs[0].argmax(0).numpy(), labels, mask)
    cells_arr = np.array(cells, dtype=np.float64)
    return {"fused": fused, "single": single, "bandwidth": {
        "query_bytes_per_frame": float(np.mean(query_bytes)),
        "answer_bytes_per_supporter": float(np.mean(answer_bytes)),
        "cells_per_answer": float(cells_arr.mean()),
        "r": float(cells_arr.mean() / num_cells),
        "answers_with_cells": float((cells_arr > 0).mean()),
    }}
