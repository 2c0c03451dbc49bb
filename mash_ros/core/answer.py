"""Geometric infill of the warp and the supporter's calibrated answer confidence.

Why: inside a target's obstruction its query describes the bird, not the scene behind it, so the
appearance match of an obstructed cell is wrong almost always (measured after the sub-cell warp
and one epoch: 9 % of obstructed (cell, supporter) pairs within one cell of the truth), while a
homography fitted to the clear cells' matches carries the geometry into them (DESIGN §8: 53 %
within one cell with the bundled matcher, 87.5 % fitted to the true matches). And a match's
softmax maximum does not say how likely the *patch* is right, which is what the target's
selection needs (with uncalibrated confidences the target kept its own cells nearly everywhere).

So a supporter, from what it already has (the volume and the consensus fit; no pose, no depth):

1. ``homography_positions``: where the fitted homography sends every target cell centre
   (sub-cell, in supporter cell units);
2. uses that position instead of the appearance match wherever the two disagree by more than
   ``outlier_cells`` or no-match won (the appearance match then is an outlier to the geometry
   of the whole view: typically an obstructed cell), and the appearance match elsewhere (exact
   where the scene is not planar);
3. ``AnswerConfidence``: a small net over the target grid estimates, per cell, the probability
   that the patch it would send is right, from the match's statistics and the fit's agreement;
   trained by ``losses.confidence_loss`` against the fraction of the cell the patch gets right.
   It starts as the softmax maximum (a correction initialised near zero), and its output is the
   confidence that is thresholded, sent and compared with the target's own.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import nn

from mash_ros.core.consensus import cell_centres, denormalise, normalise, project

ANSWER_FEATURES = 7  # see AnswerConfidence.features
MAX_DISAGREEMENT = 10.0  # cells; beyond this the appearance/geometry distance is capped
PROBABILITY_EPS = 1e-4  # keeps logit(p) finite


def homography_positions(h: torch.Tensor, found: torch.Tensor, target_grid: Tuple[int, int],
                         supporter_grid: Tuple[int, int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """h [B,8] (target-normalised -> supporter-normalised, ``GeometricConsensus``), found [B]
    -> (positions [B,2,Ht,Wt] (x, y) in supporter cell units, valid [B,Ht,Wt]: the pair has a
    fit and the cell maps in front of the supporter)."""
    b = h.shape[0]
    ht, wt = target_grid
    centres = normalise(cell_centres(ht, wt, h.device), ht, wt)  # [Nt,2]
    projected, depth = project(h, centres.unsqueeze(0).expand(b, -1, -1))  # [B,Nt,2]
    cells = denormalise(projected, supporter_grid[0], supporter_grid[1])
    valid = found.unsqueeze(1) & (depth > 0)  # [B,Nt]
    return cells.transpose(1, 2).reshape(b, 2, ht, wt), valid.view(b, ht, wt)


def inside_grid(positions: torch.Tensor, grid_h: int, grid_w: int) -> torch.Tensor:
    """positions [B,2,Ht,Wt] cell units -> [B,Ht,Wt] bool: within the supporter's image."""
    x, y = positions[:, 0], positions[:, 1]
    return (x >= 0) & (x < grid_w) & (y >= 0) & (y < grid_h)


def cell_ids(positions: torch.Tensor, grid_h: int, grid_w: int) -> torch.Tensor:
    """positions [B,2,Ht,Wt] -> [B,Ht,Wt] long: the supporter cell each lies in (clamped)."""
    x = positions[:, 0].floor().clamp(0, grid_w - 1).long()
    y = positions[:, 1].floor().clamp(0, grid_h - 1).long()
    return y * grid_w + x


class AnswerConfidence(nn.Module):
    """Per target cell: the probability that the supporter's patch for it is right.

    Features (each [B,Ht,Wt]): the softmax maximum, the no-match probability, whether the
    geometric position was used, the appearance-geometry distance (cells, capped, / cap),
    whether a fit exists there, the fit's inlier fraction (per pair), and log(1 + ||p||) of the
    lifted query (the paper's no-match score: how descriptive the target's own cell is).
    1x1 -> 3x3 -> 1x1 convs (neighbouring cells tell whether the geometry holds locally), a
    correction on the logit of the base confidence, ~0 at init.
    """

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(ANSWER_FEATURES, hidden, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 1, 1))
        # small, not zero: a zero last layer would pass no gradient to the layers before it
        nn.init.normal_(self.net[-1].weight, std=1e-3)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, features: torch.Tensor, base: torch.Tensor,
                eps: float = PROBABILITY_EPS) -> torch.Tensor:
        """features [B,7,Ht,Wt], base [B,Ht,Wt] in (0, 1) -> confidence [B,Ht,Wt] in (0, 1)."""
        logit = torch.logit(base.clamp(eps, 1.0 - eps)) + self.net(features)[:, 0]
        return torch.sigmoid(logit)


def answer_features(probs: torch.Tensor, use_geo: torch.Tensor, disagreement: torch.Tensor,
                    geo_valid: torch.Tensor, inlier_fraction: torch.Tensor,
                    lifted_query: torch.Tensor, cap: float = MAX_DISAGREEMENT
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """probs [B,V,Ht,Wt] (softmax of the volume), use_geo / geo_valid [B,Ht,Wt] bool,
    disagreement [B,Ht,Wt] cells, inlier_fraction [B], lifted_query [B,K,Ht,Wt] ->
    (features [B,7,Ht,Wt], base confidence [B,Ht,Wt]): the softmax maximum over real cells
    where a real cell won, else the total real-cell mass."""
    b, v, ht, wt = probs.shape
    best_real = probs[:, :v - 1].max(1).values
    no_match = probs[:, v - 1]
    real_wins = best_real >= no_match
    base = torch.where(real_wins, best_real, 1.0 - no_match)
    query_norm = torch.linalg.vector_norm(lifted_query, dim=1)
    features = torch.stack([
        best_real, no_match, use_geo.to(probs.dtype),
        disagreement.clamp_max(cap) / cap, geo_valid.to(probs.dtype),
        inlier_fraction.view(b, 1, 1).expand(b, ht, wt), torch.log1p(query_norm)], 1)
    return features, base
