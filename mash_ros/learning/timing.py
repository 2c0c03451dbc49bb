"""Compute time of each model's roles as a ratio to the backbone time t (Table I "Compute").

t = one SegNet forward of one image. Single-image calls in inference mode with one torch thread,
as a drone node runs them; medians over repeats, stages interleaved so load drifts hit all alike.
"""
from __future__ import annotations

import statistics
import time

import torch


def _median_time(fn, repeats: int) -> float:
    fn()  # first call pays one-off allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.inference_mode()
def compute_ratios(model, kind: str, cfg, num_agents: int = 6, repeats: int = 20) -> dict:
    """{"t_ms", "target", "supporting"} with roles in units of t (None where no such role)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        image = torch.rand(1, 3, cfg.image_height, cfg.image_width)
        stack = torch.rand(1, num_agents, 3, cfg.image_height, cfg.image_width)
        backbone = model.backbone
        if kind == "input_stack":  # its backbone eats 3N channels; t is the plain SegNet's
            from mash_ros.core.backbone import build_backbone

            backbone = build_backbone(cfg).eval()
        t = _median_time(lambda: backbone(image), repeats)
        if kind == "mash":
            state = model.encode(image)
            response = model.respond(state.query[0], state)
            responses = [response] * (num_agents - 1)
            target = _median_time(lambda: model.fuse(model.encode(image), responses), repeats)
            support = _median_time(lambda: model.respond(state.query[0], model.encode(image)),
                                   repeats)
            return {"t_ms": 1e3 * t, "target": target / t, "supporting": support / t}
        if kind in ("inpainting", "input_stack"):
            forward = (lambda: model(image.unsqueeze(1))) if kind == "inpainting" \
                else (lambda: model(stack))
            return {"t_ms": 1e3 * t, "target": _median_time(forward, repeats) / t,
                    "supporting": None}
        # stacks: each supporter runs its own SegNet (1.00t); the target runs its own + the head
        probs = torch.rand(1, num_agents, cfg.num_classes, cfg.image_height, cfg.image_width)
        head_input = probs.flatten(1, 2)
        if kind == "warped_output_stack":
            head_input = torch.cat([head_input, probs[:, 0, :num_agents - 1]], 1)
        head = _median_time(lambda: model.head(head_input), repeats)
        return {"t_ms": 1e3 * t, "target": 1.0 + head / t, "supporting": 1.0}
    finally:
        torch.set_num_threads(threads)
