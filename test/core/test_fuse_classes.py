"""The target fuses ``labels`` answers on their class maps: the same result as on the expanded
patches, for every shape of answer set."""
import numpy as np
import pytest
import torch

from mash_ros.core import codecs
from mash_ros.core.fusion import SoftSelection, StackedFusion
from mash_ros.core.roles import FuseRole, Response

RNG = np.random.default_rng(5)


def _answers(counts, classes, grid=4, patch=4):
    answers = []
    for n in counts:
        cells = np.sort(RNG.choice(grid * grid, n, replace=False))
        logits = RNG.standard_normal((n, classes, patch, patch)) * 2
        probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        payload = codecs.encode_patches(probs, "labels")
        patches, labels = codecs.decode_patches_and_classes(payload, n, classes, patch, "labels")
        answers.append(Response.from_numpy(cells, patches, RNG.uniform(0, 1, n), cells,
                                           (grid, grid), labels))
    return answers


def _fuse(role, own_probs, own_conf, answers, compact):
    return role(own_probs, own_conf, [a.cell_ids for a in answers], [a.patches for a in answers],
                [a.confidence for a in answers],
                [a.labels for a in answers] if compact else None)


@pytest.mark.parametrize("classes", [1, 3, 8])
@pytest.mark.parametrize("verify", [0.0, 0.5])
@pytest.mark.parametrize("counts", [(16,), (5, 16, 0, 9), (3, 3)])
def test_class_map_fusion_equals_the_expanded_one(classes, verify, counts):
    own_probs = torch.softmax(torch.randn(classes, 16, 16), 0)
    own_conf = torch.rand(4, 4)
    role = FuseRole(SoftSelection(), verify_confidence=verify, verify_sharpness=4.0)
    answers = _answers(counts, classes)
    fast = _fuse(role, own_probs, own_conf, answers, compact=True)
    dense = _fuse(role, own_probs, own_conf, answers, compact=False)
    assert fast.shape == dense.shape == own_probs.shape
    torch.testing.assert_close(fast, dense, atol=1e-6, rtol=0)
    torch.testing.assert_close(fast.sum(0), torch.ones(16, 16), atol=1e-5, rtol=0)


def test_other_fusions_and_no_answers_use_the_patches():
    own_probs = torch.softmax(torch.randn(8, 16, 16), 0)
    own_conf = torch.rand(4, 4)
    answers = _answers((6, 10), 8)
    stacked = FuseRole(StackedFusion(8))
    torch.testing.assert_close(_fuse(stacked, own_probs, own_conf, answers, True),
                               _fuse(stacked, own_probs, own_conf, answers, False))
    soft = FuseRole(SoftSelection())
    torch.testing.assert_close(soft(own_probs, own_conf, [], [], [], []), own_probs)
