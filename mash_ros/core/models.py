"""``build_model(cfg, kind)``: the one factory the trainer, evaluator and nodes use.

Every kind is called the same way for training and evaluation:
``model(images [B,N,3,H,W], target=0, gt_corr=None, gt_flow=None) -> dict`` with at least
``probs`` and ``log_probs`` [B,C,H,W] for the target; MASH adds ``corr_logits`` for the
correspondence loss.
Only ``mash`` has the per-role API (encode / respond / fuse) that the distributed nodes use.
"""
from __future__ import annotations

from torch import nn

from mash_ros.core.baselines import build_baseline
from mash_ros.core.mash import build_mash

MODEL_KINDS = ("mash", "inpainting", "input_stack", "output_stack", "warped_output_stack")


def build_model(cfg, kind: str = "mash") -> nn.Module:
    """cfg: MashConfig; kind: one of MODEL_KINDS (MASH's fusion mode comes from cfg.fusion)."""
    if kind == "mash":
        return build_mash(cfg)
    if kind in MODEL_KINDS:
        return build_baseline(cfg, kind)
    raise ValueError(f"unknown model kind {kind!r}; choose from {MODEL_KINDS}")
