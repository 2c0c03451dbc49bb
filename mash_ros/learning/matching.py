"""How well MASH's warping grid finds the true supporter cell, on clear and obstructed cells.

Segmentation scores say whether collaboration helped; these say why (not). For every target
cell that truly has a match in a supporter (ground-truth correspondence from the simulator), the
model's warping grid (the ArgMax of the smoothed volume, consensus included) is scored as

    exact: the true supporter cell;   near: within one cell of it (Chebyshev distance <= 1)

separately for clear target cells and for obstructed ones (> half the cell's pixels behind the
obstruction: there the target's own query describes the obstruction, not the scene).
``gt_homography`` scores what one homography per view pair can explain: one fitted by RANSAC to
the ground-truth matches themselves (a reference for the geometric consensus, not a bound).
``gt_local_fit`` places obstructed cells by the supporter's local geometry (``localfit.py``)
fitted to the *true* sub-cell positions of the clear cells: how far the geometry carries once
the clear cells are matched perfectly (pixel error of the obstructed cells' positions).
``gt_warp`` is the segmentation MASH's patch exchange would reach with a perfect warping grid:
the target's own result with every obstructed cell replaced by a supporter's own segmentation
patch at the true matching cell (the first supporter that sees it). It bounds what better
matching alone can add, since patches are moved whole, unrotated and unscaled.
"""
from __future__ import annotations

import torch

from mash_ros.core.consensus import (
    cell_centres,
    denormalise,
    fit_homography,
    hypothesis_table,
    normalise,
    project,
)
from mash_ros.core.localfit import local_homography_positions
from mash_ros.core.metrics import SegmentationScore
from mash_ros.core.subcell import true_positions
from mash_ros.core.warp import patchify, unpatchify

OBSTRUCTED_CELL_FRACTION = 0.5
GT_LOCAL_FIT_SIGMA = 0.3  # image widths: the shipped local fit's (config/presets.yaml)
GT_FIT_HYPOTHESES = 256
GT_FIT_INLIER_CELLS = 1.0


def cell_distance(a: torch.Tensor, b: torch.Tensor, grid_w: int) -> torch.Tensor:
    """Chebyshev distance in cells between row-major cell ids a and b (same shapes)."""
    return torch.maximum((a % grid_w - b % grid_w).abs(), (a // grid_w - b // grid_w).abs())


class MatchTally:
    """Counts of exact / near matches per cell group."""

    def __init__(self, grid_h: int, grid_w: int):
        self.grid_w = grid_w
        self.no_match = grid_h * grid_w
        self.counts = {group: {"exact": 0, "near": 0, "cells": 0}
                       for group in ("clear", "obstructed")}

    def update(self, predicted: torch.Tensor, truth: torch.Tensor,
               obstructed: torch.Tensor) -> None:
        """predicted, truth [S, Nt] supporter cell ids (no-match = Hs*Ws), obstructed [Nt]."""
        grid_w = self.grid_w
        real = truth < self.no_match
        hit = predicted < self.no_match
        dist = cell_distance(predicted, truth, grid_w)
        for group, cells in (("clear", ~obstructed), ("obstructed", obstructed)):
            sel = real & cells.unsqueeze(0)
            self.counts[group]["cells"] += int(sel.sum())
            self.counts[group]["exact"] += int((sel & hit & (dist == 0)).sum())
            self.counts[group]["near"] += int((sel & hit & (dist <= 1)).sum())

    def summary(self) -> dict:
        return {group: {"cells": c["cells"],
                        "exact": 100.0 * c["exact"] / max(c["cells"], 1),
                        "near": 100.0 * c["near"] / max(c["cells"], 1)}
                for group, c in self.counts.items()}


class SubcellTally:
    """Pixel error of sub-cell positions (models with the sub-cell warp), per cell group.

    Counted on the cells whose true position is seen and whose warping grid is within one cell
    of it (elsewhere the error is the cell matcher's, which ``MatchTally`` scores)."""

    def __init__(self):
        self.errors = {"clear": [], "obstructed": []}

    def update(self, positions: torch.Tensor, flow: torch.Tensor, predicted: torch.Tensor,
               truth: torch.Tensor, obstructed: torch.Tensor, grid_w: int, patch: int) -> None:
        """positions [S,2,Ht,Wt] (cells), flow [S,H,W,2] per-pixel truth, predicted / truth
        [S,Nt] cell ids, obstructed [Nt]."""
        true_pos, valid = true_positions(flow, patch)  # [S,2,Ht,Wt], [S,Ht,Wt]
        dist = cell_distance(predicted, truth, grid_w)
        near = valid.flatten(1) & (dist <= 1)
        error = patch * torch.linalg.vector_norm(positions - true_pos, dim=1).flatten(1)
        for group, cells in (("clear", ~obstructed), ("obstructed", obstructed)):
            self.errors[group].append(error[near & cells.unsqueeze(0)])

    def summary(self) -> dict:
        return {group: pixel_error_summary(torch.cat(parts) if parts else torch.zeros(0))
                for group, parts in self.errors.items()}


def obstructed_cells(mask: torch.Tensor, patch: int) -> torch.Tensor:
    """Pixel obstruction mask [H,W] bool -> [Ht*Wt] bool, row-major cells."""
    h, w = mask.shape
    fraction = mask.float().view(h // patch, patch, w // patch, patch).mean((1, 3))
    return (fraction > OBSTRUCTED_CELL_FRACTION).flatten()


def pixel_error_summary(errors: torch.Tensor) -> dict:
    """errors [n] px -> {"cells", "median_px", "within_1px" %, "within_2px" %}."""
    n = max(int(errors.numel()), 1)
    return {"cells": int(errors.numel()),
            "median_px": float(errors.median()) if errors.numel() else None,
            "within_1px": 100.0 * float((errors <= 1.0).sum()) / n,
            "within_2px": 100.0 * float((errors <= 2.0).sum()) / n}


def fit_to_truth(dst: torch.Tensor, weight: torch.Tensor, grid_h: int, grid_w: int
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """One RANSAC homography per supporter from every target cell centre to its true position:
    dst [S,Nt,2] supporter-normalised, weight [S,Nt] (0 = no truth there) -> (h [S,8] float64,
    inliers [S,Nt] bool)."""
    s, n = weight.shape
    centres = normalise(cell_centres(grid_h, grid_w, dst.device).double(), grid_h, grid_w)
    samples = hypothesis_table(n, GT_FIT_HYPOTHESES).unsqueeze(0).expand(s, -1, -1)  # [S,R,4]
    return fit_homography(centres.expand(s, -1, -1), dst.double(), weight.double(), samples,
                          2.0 * GT_FIT_INLIER_CELLS / grid_w)


def true_local_fit_errors(flow: torch.Tensor, obstructed: torch.Tensor, grid_h: int,
                          grid_w: int, patch: int) -> torch.Tensor:
    """flow [S,H,W,2] per-pixel truth, obstructed [Nt] -> pixel errors [n] of the obstructed
    cells (seen by the supporter) placed by the local fit of the clear cells' true positions."""
    true_pos, valid = true_positions(flow, patch)  # [S,2,Ht,Wt], [S,Ht,Wt]
    clear = valid & ~obstructed.view(1, grid_h, grid_w)
    dst = normalise(true_pos.flatten(2).transpose(1, 2), grid_h, grid_w)
    h, inliers = fit_to_truth(dst, clear.flatten(1), grid_h, grid_w)
    found = inliers.sum(1) >= 4
    positions, fitted = local_homography_positions(true_pos, clear.to(true_pos.dtype),
                                                   h.to(true_pos.dtype), found,
                                                   (grid_h, grid_w), GT_LOCAL_FIT_SIGMA)
    error = patch * torch.linalg.vector_norm(positions - true_pos, dim=1)  # [S,Ht,Wt]
    wanted = valid & fitted & obstructed.view(1, grid_h, grid_w)
    return error[wanted]


def homography_matches(truth: torch.Tensor, grid_h: int, grid_w: int) -> torch.Tensor:
    """truth [S, Nt] -> [S, Nt]: the cells one RANSAC homography per supporter, fitted to the
    true matches, predicts (no-match where it maps outside the supporter's grid)."""
    no_match = grid_h * grid_w
    centres = cell_centres(grid_h, grid_w, truth.device).double()  # [Nt,2], cells
    src = normalise(centres, grid_h, grid_w).expand(truth.shape[0], -1, -1)
    dst = normalise(centres[truth.clamp_max(no_match - 1)], grid_h, grid_w)
    h, _ = fit_to_truth(dst, truth < no_match, grid_h, grid_w)
    projected, depth = project(h, src)
    cells = denormalise(projected, grid_h, grid_w).floor().long()  # [S,Nt,2] (x, y)
    inside = ((cells[..., 0] >= 0) & (cells[..., 0] < grid_w) & (cells[..., 1] >= 0)
              & (cells[..., 1] < grid_h) & (depth > 0))
    ids = cells[..., 1].clamp(0, grid_h - 1) * grid_w + cells[..., 0].clamp(0, grid_w - 1)
    return torch.where(inside, ids, torch.full_like(ids, no_match))


@torch.inference_mode()
def matching_accuracy(model, dataset, cfg, limit: int = 0, references: bool = True) -> dict:
    """Score MASH's warping grid (target = slot 0 of each snapshot) against the simulator's
    correspondences. Returns {"model": {clear, obstructed}, "snapshots"}, each group
    {"cells", "exact" %, "near" %}, plus with ``references`` "gt_homography" (same layout) and
    "gt_warp" (a SegmentationScore summary) and, for sub-cell models, "gt_local_fit" (pixel
    errors of the obstructed cells, ``pixel_error_summary``)."""
    model.eval()
    warped = SegmentationScore()
    tally = MatchTally(cfg.grid_height, cfg.grid_width)
    subcell = SubcellTally()
    reference = MatchTally(cfg.grid_height, cfg.grid_width)
    local_fit = []
    count = len(dataset) if not limit else min(limit, len(dataset))
    for i in range(count):
        item = dataset[i]
        truth = item["corr"].flatten(1)  # [S,Nt]
        obstructed = obstructed_cells(item["mask"], cfg.patch_size)
        out = model(item["images"].unsqueeze(0), target=0)
        tally.update(out["match"][0].flatten(1), truth, obstructed)
        if "warp_positions" in out:  # where the patches are sampled, geometric infill included
            subcell.update(out["warp_positions"][0], item["flow"], out["match"][0].flatten(1),
                           truth, obstructed, cfg.grid_width, cfg.patch_size)
        if not references:  # they depend on the data and the backbone only
            continue
        reference.update(homography_matches(truth, cfg.grid_height, cfg.grid_width), truth,
                         obstructed)
        if "warp_positions" in out:
            local_fit.append(true_local_fit_errors(item["flow"], obstructed, cfg.grid_height,
                                                   cfg.grid_width, cfg.patch_size))
        fused = gt_warp(out["agent_logits"][0].softmax(1), truth, obstructed, cfg)
        warped.update(fused.argmax(0).numpy(), item["labels"].numpy(), item["mask"].numpy())
    result = {"model": tally.summary(), "snapshots": count}
    if subcell.errors["clear"]:
        result["subcell"] = subcell.summary()
    if references:
        result.update(gt_homography=reference.summary(), gt_warp=warped.summary())
    if local_fit:
        result["gt_local_fit"] = pixel_error_summary(torch.cat(local_fit))
    return result


def gt_warp(probs: torch.Tensor, truth: torch.Tensor, obstructed: torch.Tensor,
            cfg) -> torch.Tensor:
    """probs [N,C,H,W] every agent's own distribution (target first), truth [S,Nt], obstructed
    [Nt] -> [C,H,W]: the target's own, each obstructed cell replaced by the patch of the first
    supporter that truly sees it."""
    no_match = cfg.grid_height * cfg.grid_width
    fused = patchify(probs[:1], cfg.patch_size)[0].clone()  # [Nt,C,P,P]
    filled = ~obstructed
    for s in range(truth.shape[0]):
        take = ~filled & (truth[s] < no_match)
        source = patchify(probs[s + 1:s + 2], cfg.patch_size)[0]  # [Ns,C,P,P]
        fused[take] = source[truth[s][take]]
        filled = filled | take
    return unpatchify(fused.unsqueeze(0), cfg.grid_height, cfg.grid_width)[0]
