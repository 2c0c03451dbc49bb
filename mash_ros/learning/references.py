"""Per-pixel references: how much collaboration could give, from the split's own geometry.

A model's score says what collaboration gave; these say what it *could* give with perfect
matching, using every agent's own segmentation (the model's ``agent_logits``) and the simulator's
per-pixel ground-truth warp (``flow``: where each target pixel lands in each supporter). They
separate what the matcher loses from what the exchange format (whole P x P cells) loses:

- ``target_alone``: the target's own segmentation, no collaboration at all.
- ``gt_warp`` (from ``matching``): obstructed cells replaced by a supporter's whole patch at the
  true matching cell: the bound of MASH's whole-cell exchange with a perfect warping grid.
- ``true_subcell_fill``: the same, but the patch is the supporter's view warped per pixel from
  the true cell-centre positions (``subcell.warp_subcell``): the bound of the sub-cell exchange.
- ``oracle_fill``: every obstructed pixel takes the mean of the supporters that truly see it
  (per-pixel flow, not through cells): the bound of any exchange of the supporters' own outputs.
- ``oracle_fill_average``: the same, and clear pixels averaged with those supporters too (what
  collaboration could add where the target is not obstructed, e.g. at its own errors).
- ``answers_on_obstruction`` (MASH only): the model's *own* answers (every cell a supporter
  matched, confidence-weighted mean over the supporters) on exactly the obstructed pixels:
  perfect selection with today's matching. Below ``target_alone``, the answers are too
  misplaced to help anywhere, and selection cannot fix that; near ``true_subcell_fill``, the
  matching is right and the selection is what loses.

Everything is computed on one snapshot at a time (target first, as ``TargetFirstDataset`` gives
it); supporter s of ``flow`` is agent s + 1 of ``probs``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from mash_ros.core.metrics import SegmentationScore
from mash_ros.core.subcell import UNSEEN, true_positions, warp_subcell
from mash_ros.core.warp import unpatchify
from mash_ros.learning.matching import gt_warp, obstructed_cells

BOUNDS = {
    "target_alone": "no collaboration: the target's own segmentation",
    "gt_warp": "whole-cell exchange with a perfect warping grid (true cell matches)",
    "true_subcell_fill": "sub-cell exchange with perfect matching (true cell-centre positions)",
    "oracle_fill": "any exchange of supporters' own outputs, obstructed pixels only",
    "oracle_fill_average": "the same, clear pixels also averaged with the supporters",
    "answers_on_obstruction": "the model's own answers on exactly the obstructed pixels "
                              "(perfect selection, its matching)",
}


def supporter_views(probs: torch.Tensor, flow: torch.Tensor, agent_masks: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum and count of the supporters' own distributions at every target pixel.

    probs [N,C,H,W] every agent's own distribution (target first), flow [S,H,W,2] (S = N-1,
    grid_sample units, < -1.5 unseen), agent_masks [N,H,W] bool -> (sum [C,H,W], count [H,W]
    float): supporter s counts where it sees the pixel and is not itself obstructed there.
    """
    grid = flow.to(probs.dtype)
    # border padding: a valid position within half a pixel of the image edge must still sample
    # a full distribution, not one blended with zeros
    sampled = F.grid_sample(probs[1:], grid, mode="bilinear", padding_mode="border",
                            align_corners=False)  # [S,C,H,W]
    # nearest, so the supporter's obstruction is a yes/no at the sampled location
    blocked = F.grid_sample(agent_masks[1:, None].to(probs.dtype), grid, mode="nearest",
                            padding_mode="border", align_corners=False)[:, 0] > 0.5  # [S,H,W]
    counts = (flow[..., 0] > UNSEEN) & ~blocked  # [S,H,W]
    weight = counts.to(probs.dtype)
    return (sampled * weight.unsqueeze(1)).sum(0), weight.sum(0)


def oracle_fill(probs: torch.Tensor, flow: torch.Tensor, agent_masks: torch.Tensor,
                mask: torch.Tensor, average_clear: bool = False) -> torch.Tensor:
    """probs [N,C,H,W], flow [S,H,W,2], agent_masks [N,H,W], mask [H,W] bool (the target's
    obstruction) -> [C,H,W]: obstructed pixels seen by >= 1 counting supporter take the mean of
    those supporters; pixels nobody sees keep the target's own. With ``average_clear``, clear
    seen pixels take the mean over the target and the counting supporters, each view weighted
    equally."""
    own = probs[0]
    total, count = supporter_views(probs, flow, agent_masks)
    seen = count > 0
    fused = own.clone()
    fill = mask & seen
    fused[:, fill] = total[:, fill] / count[fill]
    if average_clear:
        clear = ~mask & seen
        fused[:, clear] = (own[:, clear] + total[:, clear]) / (1.0 + count[clear])
    return fused


def true_subcell_fill(probs: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor,
                      patch: int) -> torch.Tensor:
    """probs [N,C,H,W], flow [S,H,W,2], mask [H,W] bool, patch P -> [C,H,W]: the target's own,
    every obstructed cell (``obstructed_cells``) replaced by the first supporter whose true
    cell-centre position is valid, that supporter's view warped per pixel (``warp_subcell``)
    from the true centres. Like ``gt_warp``, but sub-cell: what MASH's sub-cell exchange reaches
    with a perfect matcher (supporters' own obstructions are not checked, as in ``gt_warp``)."""
    n, c, h, w = probs.shape
    ht, wt = h // patch, w // patch
    positions, valid = true_positions(flow.to(probs.dtype), patch)  # [S,2,Ht,Wt], [S,Ht,Wt]
    # weight = valid: a pixel follows the displacement of its valid neighbouring cells only
    warped = warp_subcell(probs[1:], positions, valid.to(probs.dtype), patch)  # [S,C,H,W]
    valid = valid.flatten(1)  # [S,Nt]
    take = obstructed_cells(mask, patch) & valid.any(0)  # [Nt]
    first = valid.to(torch.int8).argmax(0)  # [Nt] first valid supporter (argmax: first max)
    cell = torch.arange(ht * wt, device=probs.device).view(ht, wt)
    pixel_cell = cell.repeat_interleave(patch, 0).repeat_interleave(patch, 1)  # [H,W]
    source = first[pixel_cell]  # [H,W] supporter each pixel's cell would take
    chosen = warped.gather(0, source.view(1, 1, h, w).expand(1, c, h, w))[0]  # [C,H,W]
    return torch.where(take[pixel_cell].unsqueeze(0), chosen, probs[0])


def answers_on_obstruction(own: torch.Tensor, patches: torch.Tensor, match: torch.Tensor,
                           confidence: torch.Tensor, mask: torch.Tensor, no_match: int
                           ) -> torch.Tensor:
    """own [C,H,W] the target's distribution, patches [S,Nt,C,P,P] what each supporter would
    send for every target cell (``MASH.forward``'s ``supporter_patches``), match / confidence
    [S,Ht,Wt], mask [H,W] the target's obstruction -> [C,H,W]: obstructed pixels the
    confidence-weighted mean of the supporters that matched their cell, the rest the target's
    own."""
    ht, wt = match.shape[-2:]
    dense = unpatchify(patches, ht, wt)  # [S,C,H,W]
    patch = dense.shape[-1] // wt
    weight = torch.where(match < no_match, confidence, torch.zeros_like(confidence))
    weight = weight.repeat_interleave(patch, -2).repeat_interleave(patch, -1)  # [S,H,W]
    total = weight.sum(0)
    mean = (dense * weight.unsqueeze(1)).sum(0) / total.clamp_min(1e-12)
    return torch.where((mask & (total > 0)).unsqueeze(0), mean, own)


def visibility_stats(probs: torch.Tensor, flow: torch.Tensor, agent_masks: torch.Tensor,
                     mask: torch.Tensor, labels: torch.Tensor) -> dict:
    """Counts (ints) on the target's obstructed pixels: "obstructed"; "seen" by >= 1 counting
    supporter (as in ``oracle_fill``); among those, "supporters_right" (the supporters' mean
    predicts ``labels`` [H,W]) and "target_right" (the target's own does)."""
    total, count = supporter_views(probs, flow, agent_masks)
    seen = mask & (count > 0)
    return {"obstructed": int(mask.sum()), "seen": int(seen.sum()),
            "supporters_right": int((seen & (total.argmax(0) == labels)).sum()),
            "target_right": int((seen & (probs[0].argmax(0) == labels)).sum())}


@torch.inference_mode()
def pixel_references(model, dataset, cfg, limit: int = 0) -> dict:
    """Score the references above on the first ``limit`` (0 = all) snapshots of ``dataset``
    (a ``TargetFirstDataset``), the agents' own segmentations taken from one forward of
    ``model`` (target = slot 0). Returns {name: SegmentationScore summary + "bounds" (what it
    bounds), "visibility": percentages of obstructed pixels seen and, among the seen, of the
    supporters' mean / the target's own being right, "snapshots": n}."""
    model.eval()
    scores = {}
    tally = {"obstructed": 0, "seen": 0, "supporters_right": 0, "target_right": 0}
    count = len(dataset) if not limit else min(limit, len(dataset))
    for i in range(count):
        item = dataset[i]
        out = model(item["images"].unsqueeze(0), target=0)
        probs = out["agent_logits"][0].softmax(1)
        flow, mask, masks = item["flow"], item["mask"], item["agent_masks"]
        obstructed = obstructed_cells(mask, cfg.patch_size)
        fused = {
            "target_alone": probs[0],
            "gt_warp": gt_warp(probs, item["corr"].flatten(1), obstructed, cfg),
            "true_subcell_fill": true_subcell_fill(probs, flow, mask, cfg.patch_size),
            "oracle_fill": oracle_fill(probs, flow, masks, mask, average_clear=False),
            "oracle_fill_average": oracle_fill(probs, flow, masks, mask, average_clear=True),
        }
        if "supporter_patches" in out:
            fused["answers_on_obstruction"] = answers_on_obstruction(
                probs[0], out["supporter_patches"][0], out["match"][0], out["confidence"][0],
                mask, cfg.grid_height * cfg.grid_width)
        labels_np, mask_np = item["labels"].numpy(), mask.numpy()
        for name, dist in fused.items():
            score = scores.setdefault(name, SegmentationScore())
            score.update(dist.argmax(0).numpy(), labels_np, mask_np)
        for key, value in visibility_stats(probs, flow, masks, mask, item["labels"]).items():
            tally[key] += value
    result = {name: {**score.summary(), "bounds": BOUNDS[name]}
              for name, score in scores.items()}
    seen = max(tally["seen"], 1)
    result["visibility"] = {
        "obstructed_pixels": tally["obstructed"],
        "seen_percent": 100.0 * tally["seen"] / max(tally["obstructed"], 1),
        "supporters_right_percent": 100.0 * tally["supporters_right"] / seen,
        "target_right_percent": 100.0 * tally["target_right"] / seen}
    result["snapshots"] = count
    return result
