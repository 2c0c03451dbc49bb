"""Fusion of the target's own segmentation with the warped, sparse supporter patches.

All modes share one dense signature so the per-role path (sparse responses scattered into dense
tensors) and the centralized path call the same code::

    own_logits [B,C,H,W]   target's own segmentation logits
    own_conf   [B,Ht,Wt]   target's own confidence (see ``SelfConfidence``)
    sup_probs  [B,S,C,H,W] warped supporter distributions, zeros on unsent cells
    sup_conf   [B,S,Ht,Wt] their match confidences, sup_mask [B,S,Ht,Wt] 1 = cell was sent
    -> fused probabilities [B,C,H,W]

S may be 0 (no supporter answered); unsent cells (mask 0) never contribute. With S = 0, or where
no supporter sent a cell, every mode returns the target's own distribution.
"""
from __future__ import annotations

import torch
from torch import nn

from mash_ros.core.warp import cells_to_pixels

MIN_SELF_CONFIDENCE = 1e-6  # keeps SoftSelection's normaliser positive when nobody else answers


class SelfConfidence(nn.Module):
    """The target's confidence in its own cell: c_T = sigmoid(alpha * D_TO + beta).

    D_TO[x,y] = -||p_T[x,y]|| is the paper's no-match score (Eq. 2), which the target computes
    locally from its own query (p_T = QK(q_T)); the paper reads it as the target's judgement of how
    descriptive its own features are, and uses the target's own cell whenever no-match wins.
    At init (alpha = 1, beta = 0) c_T is exactly the softmax probability of no-match in a two-way
    contest against a perfectly matching supporter cell (score 0): e^D / (e^D + e^0). alpha and
    beta are learned so the scale can match the supporters' (max-softmax) confidences.
    """

    def __init__(self):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(()))
        self.beta = nn.Parameter(torch.zeros(()))
        self.floor = MIN_SELF_CONFIDENCE

    def forward(self, no_match: torch.Tensor) -> torch.Tensor:
        """no_match [B,1,Ht,Wt] (Eq. 2 scores) -> own confidence [B,Ht,Wt] in (0, 1]."""
        c = torch.sigmoid(self.alpha * no_match[:, 0] + self.beta)
        return c.clamp_min(self.floor)


def _agent_confidences(own_conf: torch.Tensor, sup_conf: torch.Tensor,
                       sup_mask: torch.Tensor) -> torch.Tensor:
    """[B,1+S,Ht,Wt]: agent 0 is the target itself; unsent supporter cells get 0."""
    return torch.cat([own_conf.unsqueeze(1), sup_conf * sup_mask], dim=1)


def _mix(own_logits: torch.Tensor, sup_probs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per-cell weighted sum of distributions. weights [B,1+S,Ht,Wt] -> [B,C,H,W]."""
    patch = own_logits.shape[-1] // weights.shape[-1]
    stack = torch.cat([torch.softmax(own_logits, dim=1).unsqueeze(1), sup_probs], dim=1)
    w = cells_to_pixels(weights, patch).unsqueeze(2)  # [B,1+S,1,H,W]
    return (w * stack).sum(1)


def _normalised(conf: torch.Tensor) -> torch.Tensor:
    return conf / conf.sum(1, keepdim=True).clamp_min(1e-12)


class SoftSelection(nn.Module):
    """Per cell: every agent's distribution scaled by its confidence, summed, renormalised."""

    def forward(self, own_logits: torch.Tensor, own_conf: torch.Tensor, sup_probs: torch.Tensor,
                sup_conf: torch.Tensor, sup_mask: torch.Tensor) -> torch.Tensor:
        """See module docstring for shapes."""
        conf = _agent_confidences(own_conf, sup_conf, sup_mask)
        return _mix(own_logits, sup_probs, _normalised(conf))


class HardSelection(nn.Module):
    """Per cell: the distribution of the agent with the highest confidence (the target wins ties).

    Forward is the exact hard pick; the backward pass uses SoftSelection's weights
    (straight-through), so the confidences and ``SelfConfidence`` still learn from the
    segmentation loss.
    """

    def forward(self, own_logits: torch.Tensor, own_conf: torch.Tensor, sup_probs: torch.Tensor,
                sup_conf: torch.Tensor, sup_mask: torch.Tensor) -> torch.Tensor:
        """See module docstring for shapes."""
        conf = _agent_confidences(own_conf, sup_conf, sup_mask)
        available = torch.cat([torch.ones_like(own_conf).unsqueeze(1), sup_mask], dim=1)
        ranked = torch.where(available > 0, conf, torch.full_like(conf, -1.0))
        best = ranked.argmax(dim=1, keepdim=True)  # [B,1,Ht,Wt], first max = target on ties
        hard = torch.zeros_like(conf).scatter_(1, best, 1.0)
        soft = _normalised(conf)
        weights = hard + (soft - soft.detach())  # value: hard; gradient: soft
        return _mix(own_logits, sup_probs, weights)


class StackedFusion(nn.Module):
    """A small conv net over the stack of the target's and the supporters' distributions.

    Variable supporter count: the supporters are reduced permutation-invariantly before stacking
    (confidence-weighted mean distribution, max and sum of confidence, "any sent" mask), so the
    net sees a fixed 2C+4 channels for any S >= 0 and the arrival order of responses is irrelevant.
    The net predicts a logit correction on top of SoftSelection's result; it is applied only
    where at least one supporter sent the cell, elsewhere the output is the target's own
    distribution (unsent cells contribute nothing).
    """

    def __init__(self, num_classes: int, hidden: int = 16, init_scale: float = 0.1):
        super().__init__()
        self.soft = SoftSelection()
        self.net = nn.Sequential(
            nn.Conv2d(2 * num_classes + 4, hidden, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, num_classes, 1),
        )
        with torch.no_grad():  # start close to SoftSelection
            self.net[2].weight.mul_(init_scale)
            self.net[2].bias.zero_()

    def forward(self, own_logits: torch.Tensor, own_conf: torch.Tensor, sup_probs: torch.Tensor,
                sup_conf: torch.Tensor, sup_mask: torch.Tensor) -> torch.Tensor:
        """See module docstring for shapes."""
        patch = own_logits.shape[-1] // own_conf.shape[-1]
        base = self.soft(own_logits, own_conf, sup_probs, sup_conf, sup_mask)  # [B,C,H,W]
        w = sup_conf * sup_mask  # [B,S,Ht,Wt]
        zero = torch.zeros_like(own_conf).unsqueeze(1)
        w_max = torch.amax(torch.cat([zero, w], dim=1), dim=1)  # [B,Ht,Wt], 0 when S = 0
        w_sum = w.sum(1)
        sent = (sup_mask.sum(1) > 0).to(own_conf.dtype)
        w_pix = cells_to_pixels(w, patch).unsqueeze(2)  # [B,S,1,H,W]
        sup_mean = (w_pix * sup_probs).sum(1) / cells_to_pixels(w_sum, patch).clamp_min(1e-12)[
            :, None]
        cell_feats = cells_to_pixels(torch.stack([own_conf, w_max, w_sum, sent], dim=1), patch)
        stack = torch.cat([torch.softmax(own_logits, dim=1), sup_mean, cell_feats], dim=1)
        fused = torch.softmax(torch.log(base.clamp_min(1e-8)) + self.net(stack), dim=1)
        sent_pix = cells_to_pixels(sent, patch).unsqueeze(1) > 0  # [B,1,H,W]
        return torch.where(sent_pix, fused, base)


def build_fusion(cfg) -> nn.Module:
    if cfg.fusion == "hard":
        return HardSelection()
    if cfg.fusion == "soft":
        return SoftSelection()
    if cfg.fusion == "stacked":
        return StackedFusion(cfg.num_classes, cfg.fusion_hidden)
    raise ValueError(f"unknown fusion {cfg.fusion!r}")
