"""Warping grid, confidence, send selection and patch-wise warping (paper §III, Fig. 3-4).

A grid cell is the P x P pixel patch (P = 8) of the full-resolution segmentation behind one cell of
the stride-8 feature grid. Cells are numbered row-major: id = y * W + x. The last id of a volume,
``Hs*Ws``, is "no match".

Every function here works on dense, batched tensors so the centralized (training) path and the
per-role (distributed) path share them: the send decision is a mask in both.
"""
from __future__ import annotations

from typing import Tuple

import torch


def match_and_confidence(logits: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Smoothed volume logits [B,V,Ht,Wt] -> (confidence [B,Ht,Wt], match [B,Ht,Wt] long).

    match = channel ArgMax (the warping grid; V-1 = no match), confidence = channel Max of the
    softmax (differentiable, so the fusion loss also shapes the matcher).
    """
    confidence, match = torch.softmax(logits, dim=1).max(dim=1)
    return confidence, match


def select_cells(confidence: torch.Tensor, match: torch.Tensor, no_match: int,
                 threshold: float, budget: int) -> torch.Tensor:
    """Which target cells a supporter sends: [B,Ht,Wt] bool.

    A cell is sent when its ArgMax is a real supporter cell (not no-match) and its confidence is
    >= ``threshold``; with ``budget > 0`` only the ``budget`` most confident of those (per message,
    i.e. per target-supporter pair). Ties in confidence go to the lower cell id (stable sort),
    so the batched and the one-at-a-time paths agree.
    """
    keep = (match != no_match) & (confidence >= threshold)
    if budget > 0:
        b = confidence.shape[0]
        flat = torch.where(keep, confidence.detach(), -torch.ones_like(confidence)).reshape(b, -1)
        _, order = torch.sort(flat, dim=1, descending=True, stable=True)  # [B,N] cell ids
        ranks = torch.arange(flat.shape[1], device=flat.device).unsqueeze(0).expand(b, -1)
        rank = torch.empty_like(order).scatter_(1, order, ranks)  # rank of each cell
        keep = keep & (rank < budget).view(keep.shape)
    return keep


def patchify(image: torch.Tensor, patch: int) -> torch.Tensor:
    """[B,C,H,W] -> [B, (H/P)*(W/P), C, P, P], cells row-major."""
    b, c, h, w = image.shape
    x = image.reshape(b, c, h // patch, patch, w // patch, patch)  # [B,C,Hc,P,Wc,P]
    x = x.permute(0, 2, 4, 1, 3, 5)  # [B,Hc,Wc,C,P,P]
    return x.reshape(b, (h // patch) * (w // patch), c, patch, patch)


def unpatchify(patches: torch.Tensor, grid_h: int, grid_w: int) -> torch.Tensor:
    """[B, Hc*Wc, C, P, P] -> [B, C, Hc*P, Wc*P] (inverse of ``patchify``)."""
    b, _, c, p, _ = patches.shape
    x = patches.reshape(b, grid_h, grid_w, c, p, p).permute(0, 3, 1, 4, 2, 5)  # [B,C,Hc,P,Wc,P]
    return x.reshape(b, c, grid_h * p, grid_w * p)


def cells_to_pixels(cell_map: torch.Tensor, patch: int) -> torch.Tensor:
    """[..., Hc, Wc] -> [..., Hc*P, Wc*P]: every cell value copied over its P x P patch."""
    return cell_map.repeat_interleave(patch, dim=-2).repeat_interleave(patch, dim=-1)


def warp_dense(source: torch.Tensor, match: torch.Tensor, mask: torch.Tensor,
               patch: int) -> torch.Tensor:
    """Warp a supporter's distribution into the target grid, patch by patch.

    source [B,C,H,W] (supporter's probabilities), match [B,Ht,Wt] supporter cell per target cell
    (any value is allowed where mask is False), mask [B,Ht,Wt] -> [B,C,Ht*P,Wt*P], zeros where
    mask is False (those cells are not sent and contribute nothing).
    """
    patches = patchify(source, patch)  # [B,Ns,C,P,P]
    b, ns, c, p, _ = patches.shape
    ht, wt = match.shape[-2], match.shape[-1]
    idx = match.reshape(b, ht * wt).clamp(0, ns - 1)  # no-match -> any cell, masked below
    warped = torch.gather(patches, 1, idx[:, :, None, None, None].expand(b, ht * wt, c, p, p))
    warped = warped * mask.reshape(b, ht * wt, 1, 1, 1).to(warped.dtype)
    return unpatchify(warped, ht, wt)


def scatter_cells(cell_ids: torch.Tensor, patches: torch.Tensor, confidence: torch.Tensor,
                  grid_h: int, grid_w: int,
                  num_classes: int, patch: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sparse response -> dense (probs [C,Ht*P,Wt*P], confidence [Ht,Wt], mask [Ht,Wt] float).

    cell_ids [n] long, patches [n,C,P,P], confidence [n]. Unsent cells are zeros everywhere.
    """
    n_cells = grid_h * grid_w
    dense = patches.new_zeros((n_cells, num_classes, patch, patch))
    dense[cell_ids] = patches
    conf = confidence.new_zeros((n_cells,))
    conf[cell_ids] = confidence
    mask = confidence.new_zeros((n_cells,))
    mask[cell_ids] = 1.0
    probs = unpatchify(dense.unsqueeze(0), grid_h, grid_w)[0]
    return probs, conf.view(grid_h, grid_w), mask.view(grid_h, grid_w)
