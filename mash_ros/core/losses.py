"""Training losses (paper §III "Training"): cross entropy for segmentation and correspondence."""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn.functional as F

from mash_ros.core.subcell import flow_loss
from mash_ros.core.warp import patchify

SEG_IGNORE = 255  # label value excluded from the segmentation loss
CORR_IGNORE = -1  # correspondence value excluded (unknown); Hs*Ws is "no match", a real class


def segmentation_loss(log_probs: torch.Tensor, labels: torch.Tensor,
                      ignore_index: int = SEG_IGNORE) -> torch.Tensor:
    """log_probs [B,C,H,W] (fused, log space), labels [B,H,W] long (clean target) -> scalar."""
    return F.nll_loss(log_probs, labels, ignore_index=ignore_index)


def cell_accuracy(patches: torch.Tensor, labels: torch.Tensor, patch: int,
                  ignore_index: int = SEG_IGNORE) -> torch.Tensor:
    """Fraction of each cell's pixels a distribution gets right.

    patches [B,M,Nt,C,P,P] candidate distributions per target cell, labels [B,H,W] ->
    [B,M,Nt] in [0, 1] (cells with no valid label count as 0.5: no evidence either way)."""
    cells = patchify(labels.unsqueeze(1), patch).transpose(1, 2)  # [B,1,Nt,P,P]
    valid = cells != ignore_index
    right = (patches.argmax(3) == cells) & valid  # [B,M,Nt,P,P]
    count = valid.sum((-1, -2))
    return torch.where(count > 0, right.sum((-1, -2)) / count.clamp_min(1),
                       torch.full_like(count, 0.5, dtype=torch.float32))


def confidence_loss(out: Dict[str, torch.Tensor], labels: torch.Tensor,
                    patch: int) -> torch.Tensor:
    """Calibrates both sides of the selection: the target's own confidence against how much of
    each of its cells its own segmentation gets right, and every supporter's match confidence
    against how much of that cell its warped patch gets right (BCE).

    Why: trained through the fused segmentation alone, the straight-through HardSelection
    learnt to keep the target's own cells almost everywhere (supporters won 0.9 % of obstructed
    cells after an epoch): a wrong supporter patch costs more than a mediocre own guess, and
    the soft gradient says little about *which* cells a supporter gets right. With both
    confidences estimating the same thing, "pick the most confident" picks the likelier right.
    """
    own_probs = out["own_probs"]  # [B,C,H,W]
    own_cells = patchify(own_probs, patch).unsqueeze(1)  # [B,1,Nt,C,P,P]
    with torch.no_grad():
        own_target = cell_accuracy(own_cells, labels, patch)[:, 0]  # [B,Nt]
        sup_target = cell_accuracy(out["supporter_patches"], labels, patch)  # [B,S,Nt]
    own = out["own_confidence"].flatten(1).clamp(1e-6, 1 - 1e-6)
    sup = out["confidence"].flatten(2).clamp(1e-6, 1 - 1e-6)
    # where no-match wins, "confidence" is the no-match probability and nothing is sent
    real = out["match"].flatten(2) != out["corr_logits"].shape[2] - 1  # [B,S,Nt]
    loss = F.binary_cross_entropy(own, own_target)
    if bool(real.any()):
        loss = loss + F.binary_cross_entropy(sup[real], sup_target[real])
    return loss


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
              flow_weight: float = 0.0, patch: int = 8,
              confidence_weight: float = 0.0) -> Dict[str, torch.Tensor]:
    """Total loss of any ``build_model`` output.

    labels [B,H,W] clean target labels; corr_gt as in ``correspondence_loss`` (used when the model
    returns ``corr_logits``); aux_labels [B,N,H,W] optional per-agent labels for a per-agent
    segmentation loss on ``agent_logits`` (helps the shared backbone early in training);
    flow_gt [B,S,H,W,2] the per-pixel truth for the sub-cell position loss on ``positions``
    (models with the sub-cell warp); confidence_weight > 0 adds ``confidence_loss`` (MASH).
    Returns {"loss", "seg", and "corr"/"aux"/"flow"/"conf" when used}.
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
    if confidence_weight > 0 and "own_confidence" in out:
        losses["conf"] = confidence_loss(out, labels, patch)
        total = total + confidence_weight * losses["conf"]
    if flow_gt is not None and "positions" in out and flow_weight > 0:
        losses["flow"] = flow_loss(out["positions"].flatten(0, 1), flow_gt.flatten(0, 1),
                                   out["window"].flatten(0, 1), patch)
        total = total + flow_weight * losses["flow"]
    losses["loss"] = total
    return losses
