"""Typed model configuration (``MashConfig``) and the preset loader.

The constants live in ``config/presets.yaml`` (presets ``cpu`` and ``paper``); this module only
types and validates them. Only the ``build_*`` factories read a ``MashConfig``: modules take plain
numbers, so they stay reusable and scriptable.
"""
from __future__ import annotations

import dataclasses
import pathlib
from dataclasses import dataclass, field

from mash_ros.core.classes import NUM_CLASSES
from mash_ros.core.paths import package_file

FUSION_MODES = ("hard", "soft", "stacked")
BACKBONES = ("segnet",)
# fusion_own_weight's bound: beyond it a supporter can no longer win any cell, and the float32
# confidence sums would near overflow
MAX_OWN_WEIGHT = 1000.0
FEATURE_STRIDE = 8  # SegNet stage f is taken from (after the 3rd pool): the grid cell is 8x8 px


@dataclass(frozen=True)
class MashConfig:
    """Every constant the MASH network and its baselines are built from.

    Derived quantities (grid size, patch size) are properties so they cannot disagree with the
    fields they come from.
    """

    name: str = "custom"
    image_height: int = 128
    image_width: int = 128
    backbone: str = "segnet"
    width: float = 0.25  # SegNet width multiplier, 1.0 = the paper's SegNet
    query_dim: int = 32  # Q
    key_dim: int = 32  # K, Q <= K
    query_hidden: tuple[int, ...] = (64,)
    key_hidden: tuple[int, ...] = (64,)
    smoother_hidden: int = 64
    fusion: str = "hard"
    fusion_hidden: int = 16
    confidence_threshold: float = 0.2
    cell_budget: int = 0  # 0 = unlimited
    num_agents: int = 6
    corr_loss_weight: float = 1.0
    # geometric consensus (mash_ros/core/consensus.py); off by default so weights trained
    # before it existed load unchanged
    geometric_consensus: bool = False
    consensus_candidates: int = 64  # most confident real matches the RANSAC draws from
    consensus_hypotheses: int = 256  # fixed 4-point samples tried per (target, supporter) pair
    consensus_inlier_cells: float = 1.2  # reprojection error (supporter cells) of an inlier
    consensus_min_inliers: int = 8  # fewer inliers: no prior for that pair
    # matcher and warp (off by default so weights trained before them load unchanged)
    multiscale_features: bool = False  # f = encoder s8 + decoder s8 + encoder s16 (backbone.py)
    subcell_warp: bool = False  # per-pixel sampling of the supporter's view (subcell.py)
    flow_loss_weight: float = 0.0  # weight of the sub-cell position loss in training
    confidence_loss_weight: float = 0.0  # calibration of both selection confidences (losses.py)
    geometric_infill: bool = False  # homography positions + learned answer confidence (answer.py)
    infill_outlier_cells: float = 1.5  # appearance match this far from the fit: use the fit
    local_fit_sigma: float = 0.0  # > 0: a homography per target cell fitted to its neighbours
    #                               (localfit.py), Gaussian radius as a fraction of the width
    local_fit_inlier_cells: float = 2.0  # ... from the matches this close to the global fit
    verify_own_confidence: float = 0.0  # > 0: the target checks answers on cells it is this
    #                                     sure of (verify.py); 0 = off
    verify_sharpness: float = 1.0  # answer confidences x agreement ** this
    fusion_own_weight: float = 1.0  # the target's own confidence counts this many times against
    #                                 its supporters' in the fusion (their errors are alike)
    num_classes: int = field(default=NUM_CLASSES)  # scene classes only (never OBSTRUCTION)

    def __post_init__(self):
        # yaml gives lists; keep the config hashable and immutable
        object.__setattr__(self, "query_hidden", tuple(int(c) for c in self.query_hidden))
        object.__setattr__(self, "key_hidden", tuple(int(c) for c in self.key_hidden))
        for side in (self.image_height, self.image_width):
            if side % 32:  # SegNet pools five times
                raise ValueError(f"image size {side} must be a multiple of 32")
        if self.fusion not in FUSION_MODES:
            raise ValueError(f"fusion {self.fusion!r} not in {FUSION_MODES}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone {self.backbone!r} not in {BACKBONES}")
        if self.query_dim > self.key_dim:
            raise ValueError("the paper's handshake needs Q <= K")
        if not 0.0 <= self.fusion_own_weight <= MAX_OWN_WEIGHT:  # NaN fails too
            raise ValueError(f"fusion_own_weight {self.fusion_own_weight} not in "
                             f"[0, {MAX_OWN_WEIGHT:g}]")
        if self.geometric_consensus and (self.consensus_candidates < 4
                                         or self.consensus_min_inliers < 4):
            raise ValueError("geometric consensus needs >= 4 candidates and >= 4 inliers")
        if self.geometric_infill and not (self.geometric_consensus and self.subcell_warp):
            raise ValueError("geometric_infill needs geometric_consensus and subcell_warp")
        if self.local_fit_sigma < 0 or (self.local_fit_sigma > 0 and not self.geometric_infill):
            raise ValueError("local_fit_sigma must be >= 0, and > 0 needs geometric_infill")
        if self.cell_budget < 0 or self.num_agents < 1 or self.width <= 0:
            raise ValueError("cell_budget >= 0, num_agents >= 1 and width > 0 required")

    @property
    def patch_size(self) -> int:
        """Side in pixels of the image patch behind one grid cell."""
        return FEATURE_STRIDE

    @property
    def grid_height(self) -> int:
        return self.image_height // FEATURE_STRIDE

    @property
    def grid_width(self) -> int:
        return self.image_width // FEATURE_STRIDE

    @property
    def num_cells(self) -> int:
        return self.grid_height * self.grid_width

    def replace(self, **changes) -> MashConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def presets_path() -> pathlib.Path:
    """``config/presets.yaml`` of the source tree, else the installed ``share/mash_ros/config``."""
    return package_file("config", "presets.yaml")


def load_presets(path: str | pathlib.Path | None = None) -> dict[str, dict]:
    import yaml

    text = pathlib.Path(path or presets_path()).read_text()
    return yaml.safe_load(text)


def load_preset(name: str, path: str | pathlib.Path | None = None, **overrides) -> MashConfig:
    """Build the ``MashConfig`` of preset ``name`` (``cpu`` | ``paper``), then apply overrides."""
    presets = load_presets(path)
    if name not in presets:
        raise KeyError(f"unknown preset {name!r}; have {sorted(presets)}")
    values = dict(presets[name])
    unknown = set(values) - {f.name for f in dataclasses.fields(MashConfig)}
    if unknown:
        raise KeyError(f"preset {name!r} has unknown keys {sorted(unknown)}")
    values.update(overrides)
    return MashConfig(name=name, **values)
