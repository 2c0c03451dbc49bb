"""Per-pixel references (learning/references.py) on tiny hand-made snapshots with known answers."""
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn

from mash_ros.learning.references import (
    oracle_fill,
    pixel_references,
    true_subcell_fill,
    visibility_stats,
)
from mash_ros.learning.report import _references_table

N, C, SIDE, PATCH = 3, 3, 16, 8
UNSEEN = -2.0


def identity_flow(shift_x: int = 0) -> torch.Tensor:
    """[N-1,H,W,2]: every target pixel lands on pixel (u + shift_x, v) of each supporter, in
    grid_sample units (align_corners=False: pixel centre u -> (2u + 1) / W - 1); unseen where
    that falls outside the image."""
    v, u = torch.meshgrid(torch.arange(SIDE), torch.arange(SIDE), indexing="ij")
    x = u + shift_x
    grid = torch.stack([(2 * x + 1) / SIDE - 1.0, (2 * v + 1) / SIDE - 1.0], -1).float()
    grid[x >= SIDE] = UNSEEN
    return grid.expand(N - 1, -1, -1, -1).clone()


def random_probs(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(N, C, SIDE, SIDE, generator=g).softmax(1)


def labels_of(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, C, (SIDE, SIDE), generator=g)


def one_hot(labels: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels, C).permute(2, 0, 1).float()


def block_mask() -> torch.Tensor:
    """[H,W] bool: the target's obstruction, the top-left cell and a few pixels elsewhere."""
    mask = torch.zeros(SIDE, SIDE, dtype=torch.bool)
    mask[:PATCH, :PATCH] = True
    mask[12, 3:7] = True
    return mask


def clear_masks() -> torch.Tensor:
    return torch.zeros(N, SIDE, SIDE, dtype=torch.bool)


def test_identity_flow_with_true_supporters_fills_obstruction_exactly():
    labels, mask = labels_of(1), block_mask()
    probs = random_probs(0)
    probs[1:] = one_hot(labels)  # the supporters see the truth
    fused = oracle_fill(probs, identity_flow(), clear_masks(), mask, average_clear=False)
    assert torch.allclose(fused[:, mask], one_hot(labels)[:, mask], atol=1e-6)
    assert torch.equal(fused[:, ~mask], probs[0][:, ~mask])  # clear pixels untouched
    assert (probs[0].argmax(0)[mask] != labels[mask]).any()  # the fill did change something
    averaged = oracle_fill(probs, identity_flow(), clear_masks(), mask, average_clear=True)
    assert torch.allclose(averaged[:, mask], fused[:, mask])
    expected = (probs[0] + 2 * one_hot(labels)) / 3  # target and both supporters, equal weight
    assert torch.allclose(averaged[:, ~mask], expected[:, ~mask], atol=1e-6)


def test_unseen_everywhere_keeps_the_target_own():
    probs, mask = random_probs(0), block_mask()
    flow = torch.full((N - 1, SIDE, SIDE, 2), UNSEEN)
    for average in (False, True):
        assert torch.equal(oracle_fill(probs, flow, clear_masks(), mask, average), probs[0])
    assert torch.equal(true_subcell_fill(probs, flow, mask, PATCH), probs[0])
    stats = visibility_stats(probs, flow, clear_masks(), mask, labels_of(1))
    assert stats == {"obstructed": int(mask.sum()), "seen": 0, "supporters_right": 0,
                     "target_right": 0}


def test_supporter_obstructed_at_the_sampled_location_is_ignored():
    """Supporter 1 sees target pixel u at its own u + 4 and is obstructed at its columns >= 8:
    it counts for target columns < 4 only (not < 8, where its mask is False at the *target's*
    coordinates); supporter 2 sees nothing."""
    probs = random_probs(0)
    flow = identity_flow(shift_x=4)
    flow[1] = UNSEEN
    masks = clear_masks()
    masks[1, :, 8:] = True
    mask = torch.ones(SIDE, SIDE, dtype=torch.bool)
    fused = oracle_fill(probs, flow, masks, mask)
    assert torch.allclose(fused[:, :, :4], probs[1][:, :, 4:8], atol=1e-6)
    assert torch.equal(fused[:, :, 4:], probs[0][:, :, 4:])
    stats = visibility_stats(probs, flow, masks, mask, labels_of(1))
    assert stats["obstructed"] == SIDE * SIDE and stats["seen"] == 4 * SIDE


def test_visibility_counts_right_predictions():
    labels, mask = labels_of(1), block_mask()
    probs = random_probs(0)
    probs[1:] = one_hot(labels)
    probs[0] = one_hot((labels + 1) % C)  # the target is wrong everywhere
    flow = identity_flow()
    flow[:, 12] = UNSEEN  # row 12's obstructed pixels are seen by nobody
    stats = visibility_stats(probs, flow, clear_masks(), mask, labels)
    seen = PATCH * PATCH
    assert stats == {"obstructed": seen + 4, "seen": seen, "supporters_right": seen,
                     "target_right": 0}


def test_true_subcell_fill_reproduces_the_supporter_patch():
    """Identity flow: obstructed cells take the first valid supporter's own patch exactly,
    the rest stays the target's."""
    probs = random_probs(0)
    flow = identity_flow()
    flow[0, :PATCH, :PATCH] = UNSEEN  # supporter 1 does not see the top-left cell: supporter 2
    mask = torch.zeros(SIDE, SIDE, dtype=torch.bool)
    mask[:PATCH, :PATCH] = True
    mask[PATCH:, PATCH:] = True
    mask[PATCH:, :2] = True  # a quarter of a cell: not an obstructed cell
    fused = true_subcell_fill(probs, flow, mask, PATCH)
    assert torch.allclose(fused[:, :PATCH, :PATCH], probs[2][:, :PATCH, :PATCH], atol=1e-5)
    assert torch.allclose(fused[:, PATCH:, PATCH:], probs[1][:, PATCH:, PATCH:], atol=1e-5)
    assert torch.equal(fused[:, :PATCH, PATCH:], probs[0][:, :PATCH, PATCH:])
    assert torch.equal(fused[:, PATCH:, :PATCH], probs[0][:, PATCH:, :PATCH])


def test_true_subcell_fill_follows_a_sub_cell_shift():
    """A 3-pixel shift is not a whole cell: the sub-cell warp still samples each pixel's own
    source pixel (where it is inside the supporter's image)."""
    probs = random_probs(0)
    mask = torch.ones(SIDE, SIDE, dtype=torch.bool)
    fused = true_subcell_fill(probs, identity_flow(shift_x=3), mask, PATCH)
    assert torch.allclose(fused[:, :, :SIDE - 3], probs[1][:, :, 3:], atol=1e-5)


class OwnLabels(nn.Module):
    """Stands in for MASH: every agent's own logits are its one-hot labels (the target's
    shifted, i.e. wrong everywhere), so each reference has a known score."""

    def __init__(self, agent_labels: torch.Tensor):
        super().__init__()
        self.agent_labels = agent_labels

    def forward(self, images, target=0):
        labels = self.agent_labels.clone()
        labels[0] = (labels[0] + 1) % C
        return {"agent_logits": 10.0 * F.one_hot(labels, C).permute(0, 3, 1, 2).float()[None]}


def test_pixel_references_scores_every_reference():
    labels, mask = labels_of(1), block_mask()
    item = {"images": torch.zeros(N, 3, SIDE, SIDE), "labels": labels,
            "agent_labels": labels.expand(N, -1, -1), "mask": mask, "agent_masks": clear_masks(),
            "corr": torch.arange(4).view(1, 2, 2).expand(N - 1, -1, -1),  # identity matches
            "flow": identity_flow()}
    cfg = SimpleNamespace(patch_size=PATCH, grid_height=SIDE // PATCH, grid_width=SIDE // PATCH)
    result = pixel_references(OwnLabels(item["agent_labels"]), [item, item], cfg)
    assert result["snapshots"] == 2
    assert result["target_alone"]["obstructed"]["pixel_accuracy"] == 0.0
    assert result["oracle_fill"]["obstructed"]["pixel_accuracy"] == 100.0
    # whole-cell references fill the obstructed cell only, not the 4 pixels of row 12
    for name in ("gt_warp", "true_subcell_fill"):
        assert result[name]["obstructed"]["pixels"] == 2 * (PATCH * PATCH + 4)
        assert abs(result[name]["obstructed"]["pixel_accuracy"]
                   - 100.0 * PATCH * PATCH / (PATCH * PATCH + 4)) < 1e-9
    # averaging clear pixels: two right supporters outvote the wrong target
    assert result["oracle_fill_average"]["full"]["pixel_accuracy"] == 100.0
    assert result["visibility"]["seen_percent"] == 100.0
    assert result["visibility"]["supporters_right_percent"] == 100.0
    assert result["visibility"]["target_right_percent"] == 0.0
    table = "\n".join(_references_table(result))
    assert "| oracle_fill | " in table and table.count("\n|") == 7  # header, rule, 5 rows


def test_answers_on_obstruction_use_matched_answers_on_obstructed_pixels_only():
    from mash_ros.learning.references import answers_on_obstruction

    own = one_hot(labels_of(1))
    truth = labels_of(2)
    grid = SIDE // PATCH
    cells = one_hot(truth).view(C, grid, PATCH, grid, PATCH).permute(1, 3, 0, 2, 4)
    right = cells.reshape(grid * grid, C, PATCH, PATCH)  # [Nt,C,P,P] the true patches
    wrong = one_hot((truth + 1) % C).view(C, grid, PATCH, grid, PATCH).permute(1, 3, 0, 2, 4)
    wrong = wrong.reshape(grid * grid, C, PATCH, PATCH)
    patches = torch.stack([right, wrong])  # supporter 0 right, supporter 1 wrong
    no_match = grid * grid
    match = torch.zeros(2, grid, grid, dtype=torch.long)
    confidence = torch.tensor([0.9, 0.1]).view(2, 1, 1).expand(2, grid, grid).clone()
    mask = block_mask()
    fused = answers_on_obstruction(own, patches, match, confidence, mask, no_match)
    labels = fused.argmax(0)
    assert torch.equal(labels[mask], truth[mask])  # the confident, right answer wins
    assert torch.equal(fused[:, ~mask], own[:, ~mask])  # clear pixels stay the target's
    match[0] = no_match  # the right supporter found nothing: only the wrong one is left
    labels = answers_on_obstruction(own, patches, match, confidence, mask, no_match).argmax(0)
    assert torch.equal(labels[mask], ((truth + 1) % C)[mask])
    match[1] = no_match  # nobody answers: the target keeps its own
    assert torch.equal(answers_on_obstruction(own, patches, match, confidence, mask, no_match),
                       own)
