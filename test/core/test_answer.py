"""Geometric infill and the answer confidence (mash_ros/core/answer.py)."""
import torch

from mash_ros.core.answer import (
    AnswerConfidence,
    answer_features,
    cell_ids,
    homography_positions,
    inside_grid,
)
from mash_ros.core.consensus import GeometricConsensus
from mash_ros.core.roles import RespondRole

GRID = 8


def shift_h(dx_cells: float) -> torch.Tensor:
    """[1,8] homography (normalised units) shifting by dx cells of an 8-cell grid."""
    return torch.tensor([[1.0, 0.0, 2.0 * dx_cells / GRID, 0.0, 1.0, 0.0, 0.0, 0.0]])


def test_homography_positions_are_sub_cell_and_report_validity():
    pos, valid = homography_positions(shift_h(0.25), torch.tensor([True]), (GRID, GRID),
                                      (GRID, GRID))
    assert pos.shape == (1, 2, GRID, GRID) and bool(valid.all())
    torch.testing.assert_close(pos[0, :, 2, 3], torch.tensor([3.75, 2.5]))
    _, invalid = homography_positions(shift_h(0.25), torch.tensor([False]), (GRID, GRID),
                                      (GRID, GRID))
    assert not bool(invalid.any())
    inside = inside_grid(pos, GRID, GRID)
    assert bool(inside[0, :, :GRID - 1].all())
    assert int(cell_ids(pos, GRID, GRID)[0, 2, 3]) == 2 * GRID + 3


def test_answer_confidence_starts_at_its_base():
    head = AnswerConfidence()
    base = torch.rand(2, GRID, GRID) * 0.9 + 0.05
    out = head(torch.rand(2, 7, GRID, GRID), base)
    torch.testing.assert_close(out, base, atol=5e-3, rtol=0)


def shifted_volume(shift: int, wrong_cells: list[int]) -> torch.Tensor:
    """Raw scores [1, V, 8, 8]: every target cell x matches supporter cell x + shift (same row),
    except ``wrong_cells`` (target ids), which match cell 0 strongly (an obstruction)."""
    v = GRID * GRID + 1
    scores = torch.full((1, v, GRID, GRID), -8.0)
    for t in range(GRID * GRID):
        y, x = divmod(t, GRID)
        if t in wrong_cells:
            scores[0, 0, y, x] = 0.0
        elif x + shift < GRID:
            scores[0, y * GRID + x + shift, y, x] = 0.0
        else:
            scores[0, v - 1, y, x] = 0.0
    return scores


class FixedVolume(torch.nn.Module):
    """Stands in for the learned matcher: returns a given volume, whatever the query."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores

    def forward(self, volume):
        return torch.log_softmax(self.scores.expand(volume.shape[0], -1, -1, -1), 1)


def test_infill_replaces_matches_that_contradict_the_fit():
    wrong = [GRID * 4 + 2, GRID * 4 + 3, GRID * 5 + 2]
    consensus = GeometricConsensus((GRID, GRID), candidates=32, hypotheses=128,
                                   inlier_cells=1.0, min_inliers=8, prior_scale=1e-4)
    role = RespondRole(torch.nn.Identity(), FixedVolume(shifted_volume(2, wrong)), 8,
                       consensus, subcell=True, answer_confidence=AnswerConfidence())
    query, key = torch.rand(1, 4, GRID, GRID), torch.rand(1, 4, GRID, GRID)
    _, match, confidence, positions, appearance, _ = role.answer(query, key)
    for t in wrong:  # the obstruction's matches are outliers: the fit's cell instead
        y, x = divmod(t, GRID)
        assert int(match[0, y, x]) == y * GRID + x + 2
        assert int(appearance[0, 0, y, x].floor()) == 0
    assert int(match[0, 1, 1]) == GRID + 3  # agreeing cells keep their appearance match
    assert int(match[0, 0, GRID - 1]) == GRID * GRID  # mapped outside: no match
    plain = RespondRole(torch.nn.Identity(), FixedVolume(shifted_volume(2, wrong)), 8,
                        consensus, subcell=True)
    _, plain_match, _, _, _, _ = plain.answer(query, key)
    y, x = divmod(wrong[0], GRID)
    assert int(plain_match[0, y, x]) == 0  # without infill the obstruction's match stands


def test_answer_features_shapes_and_base():
    probs = torch.softmax(torch.randn(2, GRID * GRID + 1, GRID, GRID), 1)
    flags = torch.zeros(2, GRID, GRID, dtype=torch.bool)
    features, base = answer_features(probs, flags, torch.rand(2, GRID, GRID) * 20, flags,
                                     torch.tensor([0.5, 0.1]), torch.rand(2, 4, GRID, GRID))
    assert features.shape == (2, 7, GRID, GRID) and base.shape == (2, GRID, GRID)
    assert float(features[:, 3].max()) <= 1.0  # the distance is capped
    real = probs[:, :-1].max(1).values
    assert torch.equal(base, torch.where(real >= probs[:, -1], real, 1 - probs[:, -1]))
