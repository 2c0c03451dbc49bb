"""Training losses (paper §III "Training"): cross entropy for segmentation and correspondence."""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F

from mash_ros.core.subcell import flow_loss

SEG_IGNORE = 255  # label value excluded from the segmentation loss
CORR_IGNORE = -1  # correspondence value excluded (unknown); Hs*Ws is "no match", a real class


def segmentation_loss(log_probs: torch.Tensor, labels: torch.Tensor,
                      ignore_index: int = SEG_IGNORE) -> torch.Tensor:
    """log_probs [B,C,H,W] (fused, log space), labels [B,H,W] long (clean target) -> scalar."""
    return F.nll_loss(log_probs, labels, ignore_index=ignore_index)


def correspondence_loss(corr_logits: torch.Tensor, corr_gt: torch.Tensor,
                        ignore_index: int = CORR_IGNORE) -> torch.Tensor:
    """corr_logits [B,S,V,Ht,Wt], corr_gt [B,S,Ht,Wt] or [B,S,Ht*Wt] long in [0, V-1]
    (V-1 = no match) -> scalar cross entropy over all (target cell, supporter) pairs."""
    b, s, v, ht, wt = corr_logits.shape
    return F.cross_entropy(corr_logits.reshape(b * s, v, ht, wt),
                           corr_gt.reshape(b * s, ht, wt), ignore_index=ignore_index)


def mash_loss(out: Dict[str, torch.Tensor], labels: torch.Tensor,
              corr_gt: torch.Tensor | None = None, corr_weight: float = 1.0,
              aux_labels: torch.Tensor | None = None,
              aux_weight: float = 0.0, flow_gt: torch.Tensor | None = None,
              flow_weight: float = 0.0, patch: int = 8) -> Dict[str, torch.Tensor]:
    """Total loss of any ``build_model`` output.

    labels [B,H,W] clean target labels; corr_gt as in ``correspondence_loss`` (used when the model
    returns ``corr_logits``); aux_labels [B,N,H,W] optional per-agent labels for a per-agent
    segmentation loss on ``agent_logits`` (helps the shared backbone early in training);
    flow_gt [B,S,H,W,2] the per-pixel truth for the sub-cell position loss on ``positions``
    (models with the sub-cell warp). Returns {"loss", "seg", and "corr"/"aux"/"flow" when used}.
    """
    losses = {"seg": segmentation_loss(out["log_probs"], labels)}
    total = losses["seg"]
    if corr_gt is not None and "corr_logits" in out and corr_weight > 0:
        losses["corr"] = correspondence_loss(out["corr_logits"], corr_gt)
        total = total + corr_weight * losses["corr"]
    if aux_labels is not None and "agent_logits" in out and aux_weight > 0:
        logits = out["agent_logits"].flatten(0, 1)
        losses["aux"] = F.cross_entropy(logits, aux_labels.flatten(0, 1), ignore_index=SEG_IGNORE)
        total = total + aux_weight * losses["aux"]
    if flow_gt is not None and "positions" in out and flow_weight > 0:
        losses["flow"] = flow_loss(out["positions"].flatten(0, 1), flow_gt.flatten(0, 1),
                                   out["window"].flatten(0, 1), patch)
        total = total + flow_weight * losses["flow"]
    losses["loss"] = total
    return losses
