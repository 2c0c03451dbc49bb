"""Segmentation metrics of Table I, from one accumulated confusion matrix per evaluation.

Full image: every pixel of the target view against its un-obstructed labels.
Obstructed region (the paper's definition): only the pixels inside the obstruction mask,
against the un-obstructed labels — how well a model sees past the obstruction.

Accumulating counts over the whole test set (not averaging per-image scores) is the standard
way: an image that lacks a class does not score 0 or NaN for it.
"""
from __future__ import annotations

import numpy as np

from mash_ros.core.classes import NUM_CLASSES, SCENE_CLASSES


class ConfusionMatrix:
    """counts[g, p] = pixels of ground-truth class g predicted as p."""

    def __init__(self, num_classes: int = NUM_CLASSES):
        self.num_classes = num_classes
        self.counts = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, prediction: np.ndarray, truth: np.ndarray,
               mask: np.ndarray | None = None) -> None:
        """prediction, truth: integer class ids [H, W] (or any equal shapes); mask: bool, the
        pixels to score (default all). Truth ids outside [0, C) are ignored."""
        prediction, truth = np.asarray(prediction), np.asarray(truth)
        if prediction.shape != truth.shape:
            raise ValueError(f"prediction {prediction.shape} and truth {truth.shape} differ")
        keep = (truth >= 0) & (truth < self.num_classes)
        if mask is not None:
            keep &= np.asarray(mask, dtype=bool)
        index = truth[keep].astype(np.int64) * self.num_classes + prediction[keep].astype(np.int64)
        self.counts += np.bincount(index, minlength=self.num_classes ** 2).reshape(
            self.num_classes, self.num_classes)

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        self.counts += other.counts
        return self

    @property
    def pixels(self) -> int:
        return int(self.counts.sum())

    def pixel_accuracy(self) -> float:
        return float(np.trace(self.counts) / max(self.pixels, 1))

    def class_iou(self) -> np.ndarray:
        """IoU per class, NaN where the class is absent from both truth and prediction."""
        tp = np.diag(self.counts).astype(np.float64)
        union = self.counts.sum(0) + self.counts.sum(1) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, tp / union, np.nan)

    def mean_iou(self) -> float:
        iou = self.class_iou()
        return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")

    def mean_class_accuracy(self) -> float:
        tp = np.diag(self.counts).astype(np.float64)
        present = self.counts.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = np.where(present > 0, tp / present, np.nan)
        return float(np.nanmean(accuracy)) if np.isfinite(accuracy).any() else float("nan")

    def summary(self) -> dict:
        """Percentages, as Table I reports them."""
        iou = self.class_iou()
        return {"pixel_accuracy": 100 * self.pixel_accuracy(),
                "mean_accuracy": 100 * self.mean_class_accuracy(),
                "miou": 100 * self.mean_iou(), "pixels": self.pixels,
                "class_iou": {name: (None if np.isnan(v) else 100 * float(v))
                              for name, v in zip(SCENE_CLASSES, iou)}}


class SegmentationScore:
    """Full-image and obstructed-region confusion matrices of one model."""

    def __init__(self, num_classes: int = NUM_CLASSES):
        self.full = ConfusionMatrix(num_classes)
        self.obstructed = ConfusionMatrix(num_classes)

    def update(self, prediction: np.ndarray, clean_labels: np.ndarray,
               obstruction_mask: np.ndarray) -> None:
        """prediction, clean_labels [H, W] ids; obstruction_mask [H, W] bool."""
        self.full.update(prediction, clean_labels)
        self.obstructed.update(prediction, clean_labels, obstruction_mask)

    def summary(self) -> dict:
        return {"full": self.full.summary(), "obstructed": self.obstructed.summary()}
