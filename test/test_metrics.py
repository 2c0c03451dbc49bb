"""Table I metrics from confusion matrices."""
import numpy as np
import pytest

from mash_ros.core.metrics import ConfusionMatrix, SegmentationScore


def test_perfect_prediction_scores_100():
    truth = np.random.default_rng(0).integers(0, 8, (16, 16))
    cm = ConfusionMatrix()
    cm.update(truth, truth)
    assert cm.pixel_accuracy() == 1.0 and cm.mean_iou() == 1.0


def test_known_confusion():
    truth = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    cm = ConfusionMatrix(num_classes=3)
    cm.update(pred, truth)
    assert cm.pixel_accuracy() == pytest.approx(0.75)
    # class 0: tp 1, union 2 -> 0.5; class 1: tp 2, union 3 -> 2/3; class 2 absent -> NaN
    np.testing.assert_allclose(cm.class_iou()[:2], [0.5, 2 / 3])
    assert np.isnan(cm.class_iou()[2])
    assert cm.mean_iou() == pytest.approx((0.5 + 2 / 3) / 2)
    assert cm.mean_class_accuracy() == pytest.approx((0.5 + 1.0) / 2)


def test_obstructed_region_scores_only_masked_pixels_and_ignores_foreign_ids():
    truth = np.array([[0, 1, 8, 2]])  # 8 = obstruction id, never a target: ignored
    pred = np.array([[0, 0, 3, 2]])
    mask = np.array([[False, True, True, False]])
    score = SegmentationScore()
    score.update(pred, truth, mask)
    assert score.full.pixels == 3 and score.obstructed.pixels == 1
    assert score.obstructed.pixel_accuracy() == 0.0
    summary = score.summary()
    assert summary["full"]["pixel_accuracy"] == pytest.approx(200 / 3)


def test_shapes_must_agree():
    with pytest.raises(ValueError):
        ConfusionMatrix().update(np.zeros((2, 2)), np.zeros((2, 3)))
