"""The small deterministic sample used by the demo and tests: 50 snapshots, 128x128, 6 drones,
two cities from the *test* split's seeds (disjoint from training), seed 0.

``ensure_sample()`` returns its directory, generating it (~15 s) if it is missing; the copy
committed under ``data/sample/`` is found first. ``ensure_sample_bag()`` does the same for the
rosbag2 export (not committed: ~60 MB of raw images; exported in about a second).
Override the locations with ``MASH_SAMPLE_DIR`` / ``MASH_SAMPLE_BAG``.
"""
from __future__ import annotations

import os
from pathlib import Path

from .config import SimConfig

SAMPLE_COUNT = 50
SAMPLE_SEED = 0
SAMPLE_SPLIT = "test"
SAMPLE_CONFIG = SimConfig(height=128, width=128, agents=6, episode_length=25)

_REPO = Path(__file__).resolve().parents[2]


def _default_dir() -> Path:
    if os.environ.get("MASH_SAMPLE_DIR"):
        return Path(os.environ["MASH_SAMPLE_DIR"])
    repo = _REPO / "data" / "sample"
    if (repo / "meta.json").exists() or (_REPO / ".git").exists():
        return repo
    return Path.home() / ".cache" / "mash_ros" / "sample"


def _default_bag() -> Path:
    if os.environ.get("MASH_SAMPLE_BAG"):
        return Path(os.environ["MASH_SAMPLE_BAG"])
    if (_REPO / ".git").exists():
        return _REPO / "data" / "generated" / "sample_bag"
    return Path.home() / ".cache" / "mash_ros" / "sample_bag"


def generate_sample(path: str | Path, progress: bool = True) -> Path:
    from .writer import generate_split

    return generate_split(path, SAMPLE_SPLIT, SAMPLE_COUNT, SAMPLE_SEED, SAMPLE_CONFIG,
                          progress=progress)


def ensure_sample(path: str | Path | None = None, progress: bool = False) -> Path:
    path = Path(path) if path else _default_dir()
    if not (path / "meta.json").exists():
        generate_sample(path, progress)
    return path


def ensure_sample_bag(path: str | Path | None = None, storage: str = "mcap") -> Path:
    from .bag import export_bag

    path = Path(path) if path else _default_bag()
    if not (path / "metadata.yaml").exists():
        if path.exists():
            import shutil

            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        export_bag(ensure_sample(), path, storage)
    return path
