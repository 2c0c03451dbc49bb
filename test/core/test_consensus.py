"""Geometric consensus: RANSAC homography fit and the prior it adds to the volume."""
import math

import pytest
import torch

from mash_ros.core.config import load_preset
from mash_ros.core.consensus import (
    GeometricConsensus,
    NoConsensus,
    build_consensus,
    cell_centres,
    fit_homography,
    hypothesis_table,
    project,
)

GRID = 12
NO_MATCH = GRID * GRID
# a mild perspective map between two views, in [-1, 1]-normalised coordinates (h33 = 1)
TRUE_H = torch.tensor([0.9, 0.12, 0.5, -0.08, 0.85, -0.1, 0.08, -0.05], dtype=torch.float64)


def normalised_centres() -> torch.Tensor:
    return cell_centres(GRID, GRID, torch.device("cpu")).double() * (2.0 / GRID) - 1.0


def true_matches() -> torch.Tensor:
    """[Nt] supporter cell of every target cell under TRUE_H (no-match outside the grid)."""
    projected, _ = project(TRUE_H, normalised_centres())
    cells = ((projected + 1.0) * (GRID / 2.0)).floor().long()
    inside = ((cells >= 0) & (cells < GRID)).all(-1)
    ids = cells[:, 1].clamp(0, GRID - 1) * GRID + cells[:, 0].clamp(0, GRID - 1)
    return torch.where(inside, ids, torch.full_like(ids, NO_MATCH))


def test_fit_recovers_a_homography_despite_outliers():
    gen = torch.Generator().manual_seed(1)
    src = normalised_centres()[:64].unsqueeze(0)  # [1,64,2]
    dst, _ = project(TRUE_H, src)
    outliers = torch.randperm(64, generator=gen)[:25]  # 39 % wrong matches
    dst = dst.clone()
    dst[0, outliers] = torch.rand(25, 2, generator=gen, dtype=torch.float64) * 2 - 1
    weight = torch.ones(1, 64, dtype=torch.float64)
    h, inliers = fit_homography(src, dst, weight, hypothesis_table(64, 256)[None], 0.05)
    torch.testing.assert_close(h[0], TRUE_H, atol=1e-4, rtol=0)  # the ridge biases it slightly
    expected = torch.ones(64, dtype=torch.bool)
    expected[outliers] = False
    # a random outlier may land on the true map by chance: allow that, nothing else
    assert inliers[0][expected].all() and inliers[0].sum() <= 64 - 25 + 2


def test_zero_weight_candidates_are_never_used():
    src = normalised_centres()[:16].unsqueeze(0)
    dst, _ = project(TRUE_H, src)
    weight = torch.zeros(1, 16, dtype=torch.float64)
    _, inliers = fit_homography(src, dst, weight, hypothesis_table(16, 32)[None], 0.05)
    assert not inliers.any()


def volume_from_matches(matches: torch.Tensor, confident: torch.Tensor) -> torch.Tensor:
    """[1, V, GRID, GRID] logits: a sharp peak at ``matches`` where ``confident``, flat
    elsewhere (the no-match channel included), as the matcher gives under an obstruction."""
    logits = torch.zeros(1, NO_MATCH + 1, GRID * GRID)
    cells = torch.arange(GRID * GRID)
    peaks = confident & (matches < NO_MATCH)
    logits[0, matches[peaks], cells[peaks]] = 8.0
    return logits.view(1, NO_MATCH + 1, GRID, GRID)


def consensus(scale: float = 6.0) -> GeometricConsensus:
    return GeometricConsensus((GRID, GRID), candidates=48, hypotheses=128, inlier_cells=1.0,
                              min_inliers=8, prior_scale=scale)


def test_prior_infills_cells_the_matcher_could_not_match():
    truth = true_matches()
    obstructed = torch.zeros(GRID, GRID, dtype=torch.bool)
    obstructed[3:8, 1:6] = True  # 25 cells with no usable evidence
    obstructed = obstructed.flatten()
    logits = volume_from_matches(truth, ~obstructed)
    before = logits.argmax(1).flatten()
    after = consensus()(logits).argmax(1).flatten()
    real = obstructed & (truth < NO_MATCH)
    assert real.sum() >= 15
    assert (before[real] == truth[real]).float().mean() < 0.1
    # the fit sees matches rounded to cells, so a cell near a boundary may land next door
    assert (after[real] == truth[real]).float().mean() > 0.5
    off = torch.maximum((after % GRID - truth % GRID).abs(), (after // GRID - truth // GRID).abs())
    assert (off[real] <= 1).all() and (after[real] < NO_MATCH).all()
    clear = ~obstructed & (truth < NO_MATCH)
    assert torch.equal(after[clear], truth[clear])  # confident matches are kept


def test_cells_mapping_far_outside_the_supporter_prefer_no_match():
    truth = true_matches()
    projected, _ = project(TRUE_H, normalised_centres())
    beyond = ((projected + 1.0) * (GRID / 2.0) - GRID).clamp_min(0).amax(-1)  # cells past edge
    far = beyond > 1.5  # the nearest cell centre (0.5 inside the edge) is beyond radius 1.5
    assert far.sum() >= 5
    logits = volume_from_matches(truth, torch.ones_like(far))  # flat there: no evidence
    after = consensus()(logits).argmax(1).flatten()
    assert (after[far] == NO_MATCH).all()


def test_too_few_candidates_leave_the_volume_untouched():
    logits = torch.randn(2, NO_MATCH + 1, GRID, GRID) * 0.01  # nothing confident, no peaks
    logits[:, -1] += 5.0  # every argmax is no-match: no candidates at all
    torch.testing.assert_close(consensus()(logits), logits, atol=0, rtol=0)


def test_batched_and_single_pair_agree():
    torch.manual_seed(0)
    truth = true_matches()
    logits = torch.cat([volume_from_matches(truth, torch.rand(NO_MATCH) > 0.3)
                        + 0.5 * torch.randn(1, NO_MATCH + 1, GRID, GRID) for _ in range(3)])
    module = consensus()
    batched = module(logits)
    for i in range(3):
        torch.testing.assert_close(module(logits[i:i + 1]), batched[i:i + 1], atol=1e-6,
                                   rtol=1e-6)


def test_prior_strength_is_learned_through_the_logits():
    truth = true_matches()
    logits = volume_from_matches(truth, torch.rand(NO_MATCH) > 0.5)
    module = consensus(scale=1.0)
    loss = torch.nn.functional.cross_entropy(module(logits), truth.view(1, GRID, GRID))
    loss.backward()
    assert module.log_scale.grad is not None and math.isfinite(module.log_scale.grad.item())
    assert module.log_scale.grad.item() < 0  # a stronger prior would lower this loss


def test_config_switches_consensus_and_validates():
    assert isinstance(build_consensus(load_preset("cpu")), GeometricConsensus)
    assert isinstance(build_consensus(load_preset("cpu", geometric_consensus=False,
                                                  geometric_infill=False,
                                                  local_fit_sigma=0.0)),
                      NoConsensus)
    with pytest.raises(ValueError):
        load_preset("cpu", consensus_candidates=3)
