"""Segmentation colours <-> our class ids, from a YAML table (``config/airsim_classes.yaml``
by default).

A colour not in the table becomes ``IGNORE`` (255, the label training and scoring skip) and is
counted, so a conversion can report which colours it did not know.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from mash_ros.bags.errors import BagError
from mash_ros.core.classes import ALL_CLASSES
from mash_ros.core.losses import SEG_IGNORE
from mash_ros.core.paths import package_file

IGNORE = SEG_IGNORE


def _key(rgb: np.ndarray) -> np.ndarray:
    """uint8 [..., 3] -> int64 [...] (one integer per colour)."""
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


@dataclass(frozen=True)
class ClassColors:
    """colors uint8 [M, 3] RGB, classes uint8 [M] ids into ``ALL_CLASSES``; source: the file."""

    colors: np.ndarray
    classes: np.ndarray
    source: str

    def labels(self, rgb: np.ndarray) -> tuple[np.ndarray, Counter]:
        """RGB uint8 [H, W, 3] -> class ids uint8 [H, W] (``IGNORE`` for unknown colours) and
        {(r, g, b): pixels} of the unknown colours."""
        keys, inverse = np.unique(_key(rgb).ravel(), return_inverse=True)
        table = dict(zip(_key(self.colors).tolist(), self.classes.tolist()))
        ids = np.array([table.get(k, IGNORE) for k in keys.tolist()], np.uint8)
        out = ids[inverse].reshape(rgb.shape[:2])
        counts = np.bincount(inverse, minlength=len(keys))
        unknown = Counter({((k >> 16) & 255, (k >> 8) & 255, k & 255): int(c)
                           for k, c, i in zip(keys.tolist(), counts.tolist(), ids.tolist())
                           if i == IGNORE})
        return out, unknown

    def palette(self) -> np.ndarray:
        """uint8 [len(ALL_CLASSES), 3]: the first colour of every class (for painting)."""
        out = np.zeros((len(ALL_CLASSES), 3), np.uint8)
        for c in range(len(ALL_CLASSES)):
            rows = np.flatnonzero(self.classes == c)
            if not len(rows):
                raise ValueError(f"{self.source}: no colour for class {ALL_CLASSES[c]!r}")
            out[c] = self.colors[rows[0]]
        return out


def default_classes_file() -> Path:
    return package_file("config", "airsim_classes.yaml")


def load_class_colors(path: str | Path | None = None) -> ClassColors:
    """Read a colour table; BagError (one line) for anything malformed."""
    path = Path(path) if path else default_classes_file()
    try:
        entries = yaml.safe_load(path.read_text())["colors"]
        colors = np.array([e["rgb"] for e in entries], np.int64)
        names = [e["class"] for e in entries]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        raise BagError(f"{path}: not a class-colour table ({type(err).__name__}: {err}); "
                       f"see {default_classes_file()} for the format") from err
    if colors.ndim != 2 or colors.shape[1] != 3 or colors.min() < 0 or colors.max() > 255:
        raise BagError(f"{path}: every `rgb` must be three values 0..255")
    unknown = sorted(set(names) - set(ALL_CLASSES))
    if unknown:
        raise BagError(f"{path}: unknown class(es) {', '.join(unknown)}; "
                       f"ours are {', '.join(ALL_CLASSES)}")
    keys = _key(colors)
    if len(set(keys.tolist())) != len(keys):
        raise BagError(f"{path}: a colour is listed twice")
    return ClassColors(colors.astype(np.uint8),
                       np.array([ALL_CLASSES.index(n) for n in names], np.uint8), str(path))
