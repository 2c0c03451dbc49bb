"""The offline reference: run a MASH checkpoint over a bag's camera images exactly as the
drone nodes do (one agent at a time, the query and patches through the same wire codecs), and
score it like a live recording.

The live evaluation of a recording should equal these numbers for the same frames and model;
differences can only come from answers that missed a target's deadline (the node fuses what it
has) or from the order answers arrived in (fusion ties, measure zero).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from mash_ros.bags import layout
from mash_ros.bags.evaluation import find_cameras_or_fail
from mash_ros.bags.groundtruth import read_ground_truth
from mash_ros.bags.images import CAMERA_ENCODINGS, image_array
from mash_ros.bags.reader import BagFile
from mash_ros.bags.scoring import SwarmScore
from mash_ros.bags.snapshots import group_snapshots
from mash_ros.core.checkpoint import load_checkpoint
from mash_ros.core.roles import Response
from mash_ros.core.wire_roundtrip import query_through_wire, through_wire
from mash_ros.swarm.agent import MashAgent
from mash_ros.swarm.params import default


def _wire_patches(answer: Response, encoding: str) -> Response:
    return through_wire(answer, encoding)[0]


def swarm_outputs(agent: MashAgent, images: dict[str, np.ndarray], query_encoding: str,
                  patch_encoding: str) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """images: agent -> RGB uint8 [H, W, 3] of one snapshot. Yields (target, fused ids,
    single ids), uint8 [H, W], every agent a target and every other its supporter."""
    states = {name: agent.encode(rgb) for name, rgb in images.items()}
    for target, state in states.items():
        query = query_through_wire(agent.query_of(state), query_encoding)[0]
        answers = [_wire_patches(agent.answer(query, other), patch_encoding)
                   for name, other in states.items() if name != target]
        fused = agent.fuse(state, answers).argmax(axis=0).astype(np.uint8)
        single = agent.single_agent(state).argmax(axis=0).astype(np.uint8)
        yield target, fused, single


def evaluate_offline(input_bag: str | Path, model_path: str | Path, *,
                     query_encoding: str | None = None, patch_encoding: str | None = None,
                     fusion: str = "", threshold: float = -1.0, budget: int = -1,
                     own_weight: float = -1.0, frames: set[tuple[str, int]] | None = None,
                     camera_regex: str = layout.CAMERA_REGEX, camera: str | None = None,
                     remap: dict[str, str] | None = None, threads: int = 1) -> dict:
    """Metrics of the offline reference (same structure as the recording's ``metrics``).

    Defaults mirror config/swarm.yaml. ``frames`` restricts the scoring to these (agent,
    stamp) pairs (e.g. the frames a live run has outputs for). ``threads``: torch threads, 1 like
    each drone node (other counts may round differently)."""
    query_encoding = query_encoding or default("query_encoding")
    patch_encoding = patch_encoding or default("patch_encoding")
    model, cfg, _ = load_checkpoint(model_path, expected_kind="mash")
    agent = MashAgent(model, cfg, fusion, threshold, budget, own_weight)
    score = SwarmScore()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with BagFile(input_bag) as bag:
            bag.validate()
            cameras = find_cameras_or_fail(bag, camera_regex, camera, remap)
            truth = read_ground_truth(bag, list(cameras))
            topic_agent = {topic: name for name, topic in cameras.items()}
            for snap in group_snapshots(bag.messages(topic_agent), topic_agent):
                if frames is not None and not any(
                        (a, s) in frames for a, (s, _) in snap.cameras.items()):
                    continue
                images = {name: image_array(bag.deserialize(msg), f"{bag.path}, {msg.topic}",
                                            CAMERA_ENCODINGS)
                          for name, (_, msg) in snap.cameras.items()}
                for target, fused, single in swarm_outputs(agent, images, query_encoding,
                                                           patch_encoding):
                    stamp = snap.cameras[target][0]
                    if stamp in truth and (frames is None or (target, stamp) in frames):
                        score.add(truth[stamp], target, "fused", fused)
                        score.add(truth[stamp], target, "single", single)
    finally:
        torch.set_num_threads(previous)
    return {"score": score, "metrics": score.summary()}
