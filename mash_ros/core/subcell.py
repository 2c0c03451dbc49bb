"""Sub-cell warping: the supporter samples its own segmentation per pixel, not per cell.

Whole-cell warping copies one supporter cell's P x P patch, unrotated and unscaled, into a target
cell. Across views tens of degrees apart that loses more than half of what a perfect matcher
could give (DESIGN §7: 43 % of the per-pixel oracle's gain with the *true* cell matches, 67 %
with a cell-centre flow upsampled per pixel, 82 % with sub-cell accurate centres). So:

1. ``subcell_positions``: where each target cell centre lands in the supporter, in fractions of a
   cell: the expectation of the smoothed matching distribution over the 3 x 3 supporter cells
   around its ArgMax (a local soft-argmax: differentiable, and trained by ``flow_loss`` against
   the true sub-cell positions).
2. ``upsample_displacement``: the displacements (supporter position - target cell centre) of the
   cells being sent are interpolated bilinearly to every target pixel, weighted by the cells'
   confidence (normalised convolution), so a pixel follows its neighbouring cells' flow
   (rotation, scale, perspective) and never a cell that is not sent.
3. ``warp_subcell``: the supporter's own probabilities are sampled bilinearly at those per-pixel
   positions. The sent patch of a target cell is then a real per-pixel warp of the supporter's
   view, in the same wire format (P x P per sent cell) as before: nothing extra on the wire.

Coordinates: supporter positions are in *cell units* (x, y), cell i spanning [i, i + 1), so its
centre is i + 0.5; a pixel u spans [u, u + 1) in pixel units, i.e. [u / P, (u + 1) / P) in cells.
"""
from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

from mash_ros.core.consensus import cell_centres

UNSEEN = -1.5  # per-pixel warps mark unseen pixels with -2, outside grid_sample's [-1, 1]
WEIGHT_EPS = 1e-6  # pixels whose neighbourhood sends nothing keep a zero displacement
# (passed as a default argument: TorchScript cannot read module-level floats)


def grid_centres(grid_h: int, grid_w: int, device: torch.device) -> torch.Tensor:
    """[2, grid_h*grid_w] (x, y) of every cell centre in cell units, row-major: channel-first
    ``consensus.cell_centres``, the layout the position maps here use."""
    return cell_centres(grid_h, grid_w, device).t()


def subcell_positions(logits: torch.Tensor, grid_hs: int, grid_ws: int
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Smoothed volume logits [B, Hs*Ws+1, Ht, Wt] -> (positions [B, 2, Ht, Wt] (x, y) in
    supporter cell units, window centre [B, Ht, Wt] long): the matching distribution's mean
    over the 3 x 3 supporter cells around its most likely real cell (the no-match channel does
    not take part)."""
    b, v, ht, wt = logits.shape
    ns = grid_hs * grid_ws
    probs = torch.softmax(logits, dim=1)[:, :ns].flatten(2)  # [B,Ns,Nt]
    best = probs.argmax(1)  # [B,Nt] most likely real cell
    centres = grid_centres(grid_hs, grid_ws, logits.device)  # [2,Ns]
    best_xy = centres[:, best]  # [2,B,Nt]
    # Chebyshev distance <= 1 from the best cell: its 3 x 3 window (cut at the grid's border)
    near = ((centres[0].view(1, ns, 1) - best_xy[0].unsqueeze(1)).abs() < 1.5) & (
        (centres[1].view(1, ns, 1) - best_xy[1].unsqueeze(1)).abs() < 1.5)  # [B,Ns,Nt]
    weight = probs * near.to(probs.dtype)
    total = weight.sum(1).clamp_min(1e-30)  # [B,Nt]; the best cell's own p > 0 anyway
    pos = torch.einsum("bjt,cj->bct", weight, centres) / total.unsqueeze(1)  # [B,2,Nt]
    return pos.view(b, 2, ht, wt), best.view(b, ht, wt)


def upsample_displacement(positions: torch.Tensor, weight: torch.Tensor, patch: int,
                          eps: float = WEIGHT_EPS) -> torch.Tensor:
    """positions [B,2,Ht,Wt] (supporter, cell units), weight [B,Ht,Wt] >= 0 (0 = not sent) ->
    supporter positions of every target pixel [B,2,Ht*P,Wt*P], cell units.

    Bilinear interpolation between cell centres (``align_corners=False`` puts the cell centres
    exactly where the P x P upsampling samples them), normalised by the interpolated weight.
    """
    b, _, ht, wt = positions.shape
    target = grid_centres(ht, wt, positions.device).view(1, 2, ht, wt)
    w = weight.unsqueeze(1)  # [B,1,Ht,Wt]
    h, w_px = ht * patch, wt * patch
    num = F.interpolate((positions - target) * w, size=[h, w_px], mode="bilinear",
                        align_corners=False)  # [B,2,H,W]
    den = F.interpolate(w, size=[h, w_px], mode="bilinear", align_corners=False)
    displacement = num / den.clamp_min(eps)
    pixel = grid_centres(h, w_px, positions.device).view(1, 2, h, w_px) / patch  # cell units
    return pixel + displacement


def warp_subcell(source: torch.Tensor, positions: torch.Tensor, weight: torch.Tensor,
                 patch: int) -> torch.Tensor:
    """Warp a supporter's distribution into the target's image, per pixel.

    source [B,C,H,W] the supporter's own probabilities, positions [B,2,Ht,Wt] from
    ``subcell_positions``, weight [B,Ht,Wt] (send mask x confidence) -> [B,C,Ht*P,Wt*P]
    (probabilities: bilinear sampling keeps every pixel a distribution). Pixels of cells with
    zero weight get some value; callers cut only the sent cells.
    """
    hs, ws = source.shape[-2] // patch, source.shape[-1] // patch
    cells = upsample_displacement(positions, weight, patch)  # [B,2,H,W]
    scale = torch.tensor([2.0 / ws, 2.0 / hs], dtype=cells.dtype, device=cells.device)
    grid = cells.permute(0, 2, 3, 1) * scale - 1.0  # [B,H,W,2], align_corners=False units
    return F.grid_sample(source, grid.to(source.dtype), mode="bilinear", padding_mode="border",
                         align_corners=False)


def true_positions(flow: torch.Tensor, patch: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel ground truth [B,H,W,2] (grid_sample units, < -1.5 = unseen) -> the true
    supporter position of every target cell centre [B,2,Ht,Wt] in cell units and its validity
    [B,Ht,Wt]: the mean of the cell's four central pixels, valid when all four are seen."""
    b, h, w, _ = flow.shape
    c = patch // 2
    centre = flow.view(b, h // patch, patch, w // patch, patch, 2)[:, :, c - 1:c + 1, :,
                                                                   c - 1:c + 1]
    valid = (centre[..., 0] > UNSEEN).all(2).all(-1)  # [B,Ht,Wt]
    mean = centre.mean((2, 4))  # [B,Ht,Wt,2] grid units
    size = torch.tensor([w / patch, h / patch], dtype=mean.dtype, device=mean.device)
    return ((mean + 1.0) * 0.5 * size).permute(0, 3, 1, 2), valid


def flow_loss(positions: torch.Tensor, flow: torch.Tensor, match: torch.Tensor,
              patch: int, beta: float = 0.25) -> torch.Tensor:
    """Sub-cell refinement loss: smooth L1 (cells) between predicted and true positions.

    positions [B,2,Ht,Wt] from ``subcell_positions``, flow [B,H,W,2] per-pixel truth, match
    [B,Ht,Wt] the supporter cell each target cell's window is centred on. Counted where the
    truth is seen and the window contains the true position (farther errors are the
    correspondence loss's job: the window cannot reach them).
    """
    truth, valid = true_positions(flow, patch)
    ws = flow.shape[2] // patch
    centre = torch.stack([match % ws, match // ws], 1).to(truth.dtype) + 0.5  # [B,2,Ht,Wt]
    reachable = ((truth - centre).abs() <= 1.5).all(1) & valid
    if not bool(reachable.any()):
        return positions.sum() * 0.0
    error = F.smooth_l1_loss(positions, truth, beta=beta, reduction="none").sum(1)
    return error[reachable].mean()
