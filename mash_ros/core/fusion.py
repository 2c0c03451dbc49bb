"""Fusion of the target's own segmentation with the warped, sparse supporter patches.

Supporter data arrive as a flat list of *entries* (one per sent cell, from any number of
supporters, in response order). All modes share one signature, used by the per-role ``fuse``
(entries = the concatenated Responses) and by the centralized model (entries = the nonzeros of
its dense send mask), so both paths run the same code::

    own_probs     [B,C,H,W]   target's own segmentation distribution
    own_conf      [B,Ht,Wt]   target's own confidence (see ``SelfConfidence``)
    entry_batch   [M] long    batch element of each entry (0 for a single target)
    entry_cell    [M] long    target cell id (row-major y * Wt + x)
    entry_patches [M,C,P,P]   warped supporter distribution of that cell
    entry_conf    [M]         the supporter's match confidence
    -> fused probabilities [B,C,H,W]

M may be 0 (nobody answered). Cells no supporter sent keep the target's own distribution
exactly, in every mode. Working per cell on the sent entries keeps the target's fusion cost
proportional to what was received instead of to (N-1) full images.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from mash_ros.core.warp import patchify, unpatchify

MIN_SELF_CONFIDENCE = 1e-6  # keeps SoftSelection's normaliser positive when nobody else answers


class SelfConfidence(nn.Module):
    """The target's confidence in its own cell: c_T = sigmoid(alpha * D_TO + beta + g(f_T)).

    D_TO[x,y] = -||p_T[x,y]|| is the paper's no-match score (Eq. 2), which the target computes
    locally from its own query (p_T = QK(q_T)); the paper reads it as the target's judgement of how
    descriptive its own features are, and uses the target's own cell whenever no-match wins.
    g is a 1x1 conv over the target's own stride-8 features f_T, zero at init: the norm of a
    query alone cannot tell "a bird is in front of me here" (trained without g, c_T came out
    flat, 0.71 on obstructed and clear cells alike, so HardSelection never picked a supporter);
    g lets the target learn which of its cells to distrust, still from its own data only.
    At init (alpha = 1, beta = 0, g = 0) c_T is exactly the softmax probability of no-match in a
    two-way contest against a perfectly matching supporter cell (score 0): e^D / (e^D + e^0).
    """

    def __init__(self, feature_channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(()))
        self.beta = nn.Parameter(torch.zeros(()))
        self.from_features = nn.Conv2d(feature_channels, 1, 1)
        nn.init.zeros_(self.from_features.weight)
        nn.init.zeros_(self.from_features.bias)
        self.floor = MIN_SELF_CONFIDENCE

    def forward(self, no_match: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """no_match [B,1,Ht,Wt] (Eq. 2 scores), features [B,F,Ht,Wt] -> own confidence
        [B,Ht,Wt] in (0, 1]."""
        logit = self.alpha * no_match[:, 0] + self.beta + self.from_features(features)[:, 0]
        return torch.sigmoid(logit).clamp_min(self.floor)


def _keys(own_conf: torch.Tensor, entry_batch: torch.Tensor,
          entry_cell: torch.Tensor) -> torch.Tensor:
    """Flat index b * Ht*Wt + cell of each entry into the [B*Ht*Wt] cell list."""
    return entry_batch * (own_conf.shape[1] * own_conf.shape[2]) + entry_cell


def _soft_weights(own_c: torch.Tensor, key: torch.Tensor,
                  entry_conf: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Confidence-normalised weights: own [B*Nc], entries [M]; they sum to 1 per cell."""
    total = own_c.index_add(0, key, entry_conf)  # where nothing was sent: own_c exactly
    return own_c / total, entry_conf / total[key]


def _mix(own_probs: torch.Tensor, own_conf: torch.Tensor, key: torch.Tensor,
         entry_patches: torch.Tensor, w_own: torch.Tensor, w_entry: torch.Tensor) -> torch.Tensor:
    """fused cell = w_own * own cell + sum over its entries of w_entry * patch -> [B,C,H,W]."""
    b, ht, wt = own_conf.shape
    own = patchify(own_probs, own_probs.shape[-1] // wt).flatten(0, 1)  # [B*Nc,C,P,P]
    fused = own * w_own[:, None, None, None]  # a fresh tensor: safe to add into in place
    fused.index_add_(0, key, entry_patches * w_entry[:, None, None, None])
    return unpatchify(fused.unflatten(0, (b, ht * wt)), ht, wt)


def cell_pixels(cells: torch.Tensor, grid_w: int, patch: int, width: int) -> torch.Tensor:
    """Row-major pixel index [M,P,P] of every pixel of target cells [M] (grid width ``grid_w``,
    image width ``width``): where a cell's patch lies in the flattened H x W image."""
    y, x = cells // grid_w, cells % grid_w
    offset = torch.arange(patch, device=cells.device)
    rows = (y[:, None] * patch + offset)[:, :, None]  # [M,P,1]
    cols = (x[:, None] * patch + offset)[:, None, :]  # [M,1,P]
    return rows * width + cols


def soft_selection_from_classes(own_probs: torch.Tensor, own_conf: torch.Tensor,
                                entry_cell: torch.Tensor, entry_where: torch.Tensor,
                                entry_p: torch.Tensor, entry_conf: torch.Tensor) -> torch.Tensor:
    """SoftSelection of one target (B = 1) whose answers came as ``labels`` payloads:
    entry_where [M,P,P] long, where each pixel's class lies in the flattened [C,H,W] probabilities
    (``class_pixels``), entry_p [M] (the cell's top probability; the other classes share the
    rest evenly), entry_conf [M] -> fused [1,C,H,W], equal to SoftSelection on the expanded
    patches up to float rounding.

    Why: expanded, M answer cells are M*C*P*P floats to gather, compare and weigh, which made
    the target's fuse cost 0.16t on real answers at threshold 0; as class maps each cell adds
    one even share to all of its pixels and a correction at one class per pixel, computed in
    the image's own layout (no cell-major copies)."""
    _, ht, wt = own_conf.shape
    c, h, w = own_probs.shape[1:]
    p = h // ht
    w_own, w_entry = _soft_weights(own_conf.reshape(-1), entry_cell, entry_conf)
    rest = (1.0 - entry_p) / max(c - 1, 1)  # [M]
    even = torch.zeros_like(w_own).index_add(0, entry_cell, w_entry * rest)  # [Nc]
    per_pixel = torch.stack([w_own, even]).view(2, ht, 1, wt, 1)
    per_pixel = per_pixel.expand(2, ht, p, wt, p).reshape(2, h, w)  # each cell's weight, [2,H,W]
    fused = torch.addcmul(per_pixel[1], own_probs, per_pixel[0])  # [1,C,H,W], fresh, contiguous
    extra = (w_entry * (entry_p - rest))[:, None, None].expand(-1, p, p)
    fused.view(-1).index_add_(0, entry_where.reshape(-1), extra.reshape(-1).to(fused.dtype))
    return fused


def class_pixels(entry_top: torch.Tensor, pixels: torch.Tensor, height: int,
                 width: int) -> torch.Tensor:
    """entry_top [M,P,P] (each pixel's class), pixels [M,P,P] (``cell_pixels``) -> [M,P,P]:
    where each pixel's class lies in flattened [C,H,W] probabilities."""
    return entry_top * (height * width) + pixels


class SoftSelection(nn.Module):
    """Per cell: every agent's distribution scaled by its confidence, summed, renormalised."""

    def forward(self, own_probs: torch.Tensor, own_conf: torch.Tensor, entry_batch: torch.Tensor,
                entry_cell: torch.Tensor, entry_patches: torch.Tensor,
                entry_conf: torch.Tensor) -> torch.Tensor:
        """See module docstring for shapes."""
        key = _keys(own_conf, entry_batch, entry_cell)
        w_own, w_entry = _soft_weights(own_conf.reshape(-1), key, entry_conf)
        return _mix(own_probs, own_conf, key, entry_patches, w_own, w_entry)


class HardSelection(nn.Module):
    """Per cell: the distribution of the most confident agent (top-1, the paper's choice).

    Ties go to the target itself, then to the earliest entry (response order). Forward is the
    exact hard pick; backward uses SoftSelection's weights (straight-through), so confidences and
    ``SelfConfidence`` still learn from the segmentation loss.
    """

    def forward(self, own_probs: torch.Tensor, own_conf: torch.Tensor, entry_batch: torch.Tensor,
                entry_cell: torch.Tensor, entry_patches: torch.Tensor,
                entry_conf: torch.Tensor) -> torch.Tensor:
        """See module docstring for shapes."""
        key = _keys(own_conf, entry_batch, entry_cell)
        own_c = own_conf.reshape(-1)
        conf = entry_conf.detach()
        best = torch.full_like(own_c, -1.0).scatter_reduce(0, key, conf, "amax")  # [B*Nc]
        supporter_wins = best > own_c.detach()  # strict: the target keeps ties
        candidate = supporter_wins[key] & (conf == best[key])  # [M]
        m = conf.shape[0]
        order = torch.arange(m, device=conf.device)
        first = torch.full(own_c.shape, m, dtype=torch.long, device=conf.device).scatter_reduce(
            0, key, torch.where(candidate, order, torch.full_like(order, m)), "amin")
        hard_entry = (candidate & (first[key] == order)).to(own_c.dtype)
        hard_own = (~supporter_wins).to(own_c.dtype)
        soft_own, soft_entry = _soft_weights(own_c, key, entry_conf)
        w_own = hard_own + (soft_own - soft_own.detach())  # value: hard; gradient: soft
        w_entry = hard_entry + (soft_entry - soft_entry.detach())
        return _mix(own_probs, own_conf, key, entry_patches, w_own, w_entry)


class StackedFusion(nn.Module):
    """A small conv net over the stack of the target's and the supporters' distributions.

    Variable supporter count: per cell, the supporters' entries are reduced permutation-
    invariantly (confidence-weighted mean distribution, max and sum of confidence, and how many
    sent it), so the net always sees 2C+4 channels, for any number of supporters and in any
    response order. The net (two 1x1 convs, i.e. a per-pixel MLP) predicts a logit correction on top
    of SoftSelection's result; it runs only on the pixels of cells some supporter sent, so its
    cost follows the data received and unsent cells keep the target's own distribution exactly.
    1x1 rather than 3x3: a 3x3 layer on the full-resolution stack cost ~0.4t on the cpu preset,
    against the paper's 0.09t budget for everything the target adds to its backbone; spatial
    context is already in the inputs (SegNet outputs, smoothed matches).
    """

    def __init__(self, num_classes: int, hidden: int = 16, init_scale: float = 0.1):
        super().__init__()
        self.soft = SoftSelection()
        self.net = nn.Sequential(
            nn.Conv2d(2 * num_classes + 4, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, num_classes, 1),
        )
        with torch.no_grad():  # start close to SoftSelection
            self.net[2].weight.mul_(init_scale)
            self.net[2].bias.zero_()

    def forward(self, own_probs: torch.Tensor, own_conf: torch.Tensor, entry_batch: torch.Tensor,
                entry_cell: torch.Tensor, entry_patches: torch.Tensor,
                entry_conf: torch.Tensor) -> torch.Tensor:
        """See module docstring for shapes."""
        key = _keys(own_conf, entry_batch, entry_cell)
        own_c = own_conf.reshape(-1)
        w_own, w_entry = _soft_weights(own_c, key, entry_conf)
        base = _mix(own_probs, own_conf, key, entry_patches, w_own, w_entry)  # SoftSelection
        if entry_conf.shape[0] == 0:
            return base
        b, ht, wt = own_conf.shape
        patch = own_probs.shape[-1] // wt
        # per-cell reductions over whatever supporters sent it: [B*Nc]
        w_sum = torch.zeros_like(own_c).index_add(0, key, entry_conf)
        w_max = torch.zeros_like(own_c).scatter_reduce(0, key, entry_conf, "amax")
        count = torch.zeros_like(own_c).index_add(0, key, torch.ones_like(entry_conf))
        mean = torch.zeros((b * ht * wt,) + entry_patches.shape[1:], dtype=own_probs.dtype,
                           device=own_probs.device)
        mean = mean.index_add(0, key, entry_patches * entry_conf[:, None, None, None])
        cells = torch.nonzero(count).reshape(-1)  # the sent cells, [Ms]
        mean = mean[cells] / w_sum[cells].clamp_min(1e-12)[:, None, None, None]
        feats = torch.stack([own_c, w_max, w_sum, count], dim=1)[cells][:, :, None, None]
        own = patchify(own_probs, patch).flatten(0, 1)[cells]  # [Ms,C,P,P]
        stack = torch.cat([own, mean, feats.expand(-1, -1, patch, patch)], dim=1)  # [Ms,2C+4,P,P]
        fused = patchify(base, patch).flatten(0, 1)  # [B*Nc,C,P,P]
        corrected = torch.softmax(torch.log(fused[cells].clamp_min(1e-8)) + self.net(stack), 1)
        fused = fused.index_copy(0, cells, corrected)
        return unpatchify(fused.unflatten(0, (b, ht * wt)), ht, wt)


def build_fusion(cfg) -> nn.Module:
    if cfg.fusion == "hard":
        return HardSelection()
    if cfg.fusion == "soft":
        return SoftSelection()
    if cfg.fusion == "stacked":
        return StackedFusion(cfg.num_classes, cfg.fusion_hidden)
    raise ValueError(f"unknown fusion {cfg.fusion!r}")
