"""Geometric consensus: a homography prior on the smoothed correspondence volume.

Why: the learned matcher is good at cells the target actually sees and poor exactly where MASH
needs it, inside the target's obstructions, where the query describes the obstruction rather than
the scene behind it; the smoothing autoencoder alone did not learn to infill those cells at our
training scale. Drones look at a mostly planar city from above, so one homography between two
views explains most correspondences, and fitted to the matcher's confident (clear) matches it
carries that geometry into the obstructed cells. ``mash-evaluate`` measures how often the warping
grid finds the true cell on clear and obstructed cells, with and without it.

How: the supporter, which holds the volume, fits H (target cell -> supporter cell) by RANSAC over
its most confident real matches, refines it by weighted least squares on the inliers, and adds
``-lam * d^2 / 2`` to every supporter-cell logit (d = distance in cells from H(target cell)) and
``-lam * rho^2 / 2`` to the no-match logit. lam and rho are learned through the correspondence
loss; the fit itself is not differentiated (it only chooses where the prior sits). Pairs without
enough inliers get no prior. Hypotheses come from a fixed table of candidate ranks, so the fit is
deterministic and the per-role and the batched paths agree.
"""
from __future__ import annotations

import math
from typing import Tuple

import torch
from torch import nn

HYPOTHESIS_SEED = 0  # the fixed table of 4-candidate samples (not a weight: rebuilt at init)
MAX_PRIOR_DISTANCE = 10.0  # cells; beyond this the prior is flat (keeps logits finite)
SOLVE_RIDGE = 1e-6  # regularises the least-squares refinement's normal equations
MIN_PIVOT = 1e-6  # a 4-point system with a smaller |det| is degenerate (collinear samples)


def homography_rows(src: torch.Tensor, dst: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Linear system of the DLT with h33 = 1.

    src, dst [..., n, 2] (x, y) -> A [..., 2n, 8], b [..., 2n]; A h = b for the 8 unknowns.
    """
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    zero, one = torch.zeros_like(x), torch.ones_like(x)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], -1)
    rows_v = torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], -1)
    return torch.cat([rows_u, rows_v], -2), torch.cat([u, v], -1)


def project(h: torch.Tensor, points: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """h [..., 8] (h33 = 1), points [..., n, 2] -> (projected [..., n, 2], depth w [..., n]).

    w <= 0 means the point maps behind the other camera's plane at infinity: no valid image.
    """
    x, y = points[..., 0], points[..., 1]
    w = h[..., 6:7] * x + h[..., 7:8] * y + 1.0
    safe_w = torch.where(w.abs() < 1e-6, torch.full_like(w, 1e-6), w)
    u = (h[..., 0:1] * x + h[..., 1:2] * y + h[..., 2:3]) / safe_w
    v = (h[..., 3:4] * x + h[..., 4:5] * y + h[..., 5:6]) / safe_w
    return torch.stack([u, v], -1), w


def fit_homography(src: torch.Tensor, dst: torch.Tensor, weight: torch.Tensor,
                   samples: torch.Tensor, inlier_threshold: float, refinements: int = 2,
                   min_pivot: float = MIN_PIVOT, ridge: float = SOLVE_RIDGE
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    """RANSAC over given 4-point samples, then weighted least squares on all inliers.

    src, dst [P,N,2] matches of P independent pairs; weight [P,N] >= 0 (0 = not a match);
    samples [P,R,4] long, indices into N of each hypothesis' four matches. inlier_threshold in
    the units of dst. Every match (not only the sampled ones) votes and joins the refinement, so
    the fit covers the whole view. Returns (h [P,8], inliers [P,N] bool); a pair whose fit
    failed everywhere has no inliers.
    """
    p, r = samples.shape[0], samples.shape[1]
    rows = torch.arange(p, device=src.device)
    flat = samples.reshape(p, r * 4)
    s4 = src[rows.unsqueeze(1), flat].view(p, r, 4, 2)
    d4 = dst[rows.unsqueeze(1), flat].view(p, r, 4, 2)
    a4, b4 = homography_rows(s4, d4)  # [P,R,8,8], [P,R,8]
    usable = ((weight[rows.unsqueeze(1), flat].view(p, r, 4) > 0).all(-1)
              & (torch.linalg.det(a4).abs() > min_pivot))
    eye = torch.eye(8, dtype=src.dtype, device=src.device)
    a4 = torch.where(usable[..., None, None], a4, eye)  # degenerate: solve something harmless
    h = torch.linalg.solve(a4, b4.unsqueeze(-1)).squeeze(-1)  # [P,R,8]
    usable = usable & torch.isfinite(h).all(-1)
    inliers = _inliers(h, src.unsqueeze(1), dst.unsqueeze(1), weight.unsqueeze(1),
                       inlier_threshold) & usable.unsqueeze(-1)  # [P,R,N]
    score = (inliers.to(weight.dtype) * weight.unsqueeze(1)).sum(-1)  # [P,R]
    best = score.argmax(1)
    h_best, in_best = h[rows, best], inliers[rows, best]  # [P,8], [P,N]
    a, b = homography_rows(src, dst)  # [P,2N,8], [P,2N]
    for _ in range(refinements):
        w = (in_best.to(weight.dtype) * weight).repeat(1, 2)  # [P,2N]
        aw = a * w.unsqueeze(-1)
        normal = aw.transpose(1, 2) @ a + ridge * eye
        refined = torch.linalg.solve(normal, (aw.transpose(1, 2) @ b.unsqueeze(-1))).squeeze(-1)
        ok = (in_best.sum(1) >= 4) & torch.isfinite(refined).all(-1)
        h_best = torch.where(ok.unsqueeze(-1), refined, h_best)
        in_best = _inliers(h_best, src, dst, weight, inlier_threshold)
    return h_best, in_best


def _inliers(h: torch.Tensor, src: torch.Tensor, dst: torch.Tensor, weight: torch.Tensor,
             threshold: float) -> torch.Tensor:
    projected, w = project(h, src)
    error = torch.linalg.vector_norm(projected - dst, dim=-1)
    return (error < threshold) & (w > 0) & (weight > 0)


def hypothesis_table(candidates: int, hypotheses: int, seed: int = HYPOTHESIS_SEED
                     ) -> torch.Tensor:
    """[R,4] long: R fixed samples of 4 distinct candidate ranks in [0, candidates)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randperm(candidates, generator=generator)[:4]
                        for _ in range(hypotheses)])


def cell_centres(grid_h: int, grid_w: int, device: torch.device) -> torch.Tensor:
    """[grid_h*grid_w, 2] (x, y) of every cell, row-major, in cell units (centre = i + 0.5)."""
    ys, xs = torch.meshgrid(torch.arange(grid_h, device=device),
                            torch.arange(grid_w, device=device), indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], 1).to(torch.float32) + 0.5


def normalise(cells: torch.Tensor, grid_h: int, grid_w: int) -> torch.Tensor:
    """[..., 2] (x, y) in cell units of a grid_h x grid_w grid -> [-1, 1] units (solving and
    ``grid_sample`` coordinates, align_corners=False)."""
    scale = torch.tensor([2.0 / grid_w, 2.0 / grid_h], dtype=cells.dtype, device=cells.device)
    return cells * scale - 1.0


def denormalise(points: torch.Tensor, grid_h: int, grid_w: int) -> torch.Tensor:
    """Inverse of ``normalise``: [-1, 1] units -> cell units."""
    scale = torch.tensor([grid_w / 2.0, grid_h / 2.0], dtype=points.dtype, device=points.device)
    return (points + 1.0) * scale


class GeometricConsensus(nn.Module):
    """Adds the homography prior to smoothed volume logits [B, Hs*Ws+1, Ht, Wt].

    Coordinates are solved in [-1, 1]-normalised units (conditioning) and the prior is measured
    in supporter cells.
    """

    def __init__(self, supporter_grid: Tuple[int, int], candidates: int = 64,
                 hypotheses: int = 256, inlier_cells: float = 1.2, min_inliers: int = 8,
                 prior_scale: float = 1.0, no_match_radius: float = 1.5):
        super().__init__()
        if candidates < 4 or hypotheses < 1 or min_inliers < 4:
            raise ValueError("consensus needs >= 4 candidates, >= 1 hypothesis, >= 4 inliers")
        self.grid_hs, self.grid_ws = int(supporter_grid[0]), int(supporter_grid[1])
        self.candidates = int(candidates)
        self.inlier_cells = float(inlier_cells)
        self.min_inliers = int(min_inliers)
        self.max_d2 = MAX_PRIOR_DISTANCE ** 2
        self.register_buffer("samples", hypothesis_table(candidates, hypotheses),
                             persistent=False)
        self.log_scale = nn.Parameter(torch.tensor(math.log(prior_scale)))
        self.log_no_match_radius = nn.Parameter(torch.tensor(math.log(no_match_radius)))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        """logits [B,V,Ht,Wt] -> logits + prior, same shape."""
        return self.fit_and_prior(logits)[0]

    @torch.jit.export
    def fit_and_prior(self, logits: torch.Tensor
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """logits [B,V,Ht,Wt] -> (logits + prior, h [B,8] target-normalised ->
        supporter-normalised, found [B] bool, inlier fraction [B] of the target cells)."""
        b, v, ht, wt = logits.shape
        with torch.no_grad():
            h, inliers = self.fit(logits)
            found = inliers >= self.min_inliers
        supporter = cell_centres(self.grid_hs, self.grid_ws, logits.device)  # [Ns,2]
        target = normalise(cell_centres(ht, wt, logits.device), ht, wt)  # [Nt,2]
        projected, depth = project(h, target.unsqueeze(0).expand(b, -1, -1))  # [B,Nt,2]
        projected = denormalise(projected, self.grid_hs, self.grid_ws)
        d2 = (supporter.view(1, -1, 1, 2) - projected.unsqueeze(1)).square().sum(-1)  # [B,Ns,Nt]
        d2 = d2.clamp_max(self.max_d2)
        d2 = torch.where((depth > 0).unsqueeze(1), d2, torch.full_like(d2, self.max_d2))
        rho2 = torch.exp(2.0 * self.log_no_match_radius).expand(b, 1, ht * wt)
        prior = -0.5 * torch.exp(self.log_scale) * torch.cat([d2, rho2], 1)  # [B,V,Nt]
        prior = prior * found.to(prior.dtype).view(b, 1, 1)
        return (logits + prior.view(b, v, ht, wt), h, found,
                inliers.to(logits.dtype) / float(ht * wt))

    def fit(self, logits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """-> (h [B,8] target-normalised -> supporter-normalised, inlier count [B] long).

        Hypotheses are drawn from the ``candidates`` most confident real matches; every real
        match votes, weighted by its confidence.
        """
        b, v, ht, wt = logits.shape
        no_match = v - 1
        confidence, match = torch.softmax(logits, dim=1).flatten(2).max(dim=1)  # [B,Nt]
        weight = torch.where(match != no_match, confidence, torch.zeros_like(confidence))
        src = normalise(cell_centres(ht, wt, logits.device), ht, wt)
        src = src.unsqueeze(0).expand(b, -1, -1)  # [B,Nt,2]
        source = match.clamp_max(self.grid_hs * self.grid_ws - 1)
        dst = normalise(cell_centres(self.grid_hs, self.grid_ws, logits.device)[source],
                        self.grid_hs, self.grid_ws)  # [B,Nt,2]
        if weight.shape[1] < self.candidates:  # tiny grids: pad with non-matches
            pad = self.candidates - weight.shape[1]
            weight = torch.cat([weight, weight.new_zeros(b, pad)], 1)
            src = torch.cat([src, src.new_zeros(b, pad, 2)], 1)
            dst = torch.cat([dst, dst.new_zeros(b, pad, 2)], 1)
        rank = weight.topk(self.candidates, dim=1).indices  # [B,K]
        samples = rank.gather(1, self.samples.reshape(1, -1).expand(b, -1))
        samples = samples.view(b, self.samples.shape[0], 4)  # [B,R,4] indices into the cells
        threshold = 2.0 * self.inlier_cells / self.grid_ws  # cells -> normalised units
        # float64: the normal equations are poorly conditioned in float32, and the batched
        # (training) and one-pair (ROS) solves must agree to rounding
        h, inliers = fit_homography(src.double(), dst.double(), weight.double(), samples,
                                    threshold)
        return h.to(logits.dtype), inliers.sum(1)


class NoConsensus(nn.Module):
    """Consensus switched off: logits pass through unchanged."""

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits

    @torch.jit.export
    def fit_and_prior(self, logits: torch.Tensor
                      ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """No fit: (logits, identity-free zeros h [B,8], found all False, zero inliers)."""
        b = logits.shape[0]
        zeros = logits.new_zeros((b,))
        return logits, logits.new_zeros((b, 8)), zeros > 0, zeros


def build_consensus(cfg) -> nn.Module:
    if not cfg.geometric_consensus:
        return NoConsensus()
    return GeometricConsensus((cfg.grid_height, cfg.grid_width), cfg.consensus_candidates,
                              cfg.consensus_hypotheses, cfg.consensus_inlier_cells,
                              cfg.consensus_min_inliers)
