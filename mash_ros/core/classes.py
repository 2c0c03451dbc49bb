"""Semantic classes shared by the simulator, the network and the evaluation.

The network predicts the ``NUM_CLASSES`` scene classes only. ``OBSTRUCTION`` is out of
distribution: it appears in rendered (obstructed) label maps so the obstruction mask can be
derived, but never in a training target — the target's ground truth is the un-obstructed scene.
"""
from __future__ import annotations

SCENE_CLASSES: tuple[str, ...] = (
    "sky",
    "road",
    "sidewalk",
    "building",
    "vegetation",
    "terrain",
    "car",
    "pole",
)
NUM_CLASSES: int = len(SCENE_CLASSES)
OBSTRUCTION: int = NUM_CLASSES  # id 8, only in obstructed label maps
ALL_CLASSES: tuple[str, ...] = SCENE_CLASSES + ("obstruction",)

# Display palette (RGB), one row per id in ALL_CLASSES; used for segmentation_color images.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (70, 130, 180),   # sky
    (128, 64, 128),   # road
    (244, 35, 232),   # sidewalk
    (70, 70, 70),     # building
    (107, 142, 35),   # vegetation
    (152, 251, 152),  # terrain
    (0, 0, 142),      # car
    (153, 153, 153),  # pole
    (255, 200, 0),    # obstruction
)
