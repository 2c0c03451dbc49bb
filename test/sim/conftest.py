"""Shared tiny data set for the sim tests: 128x128, 3 drones, 2 cities of 2 snapshots."""
from __future__ import annotations

import pytest

from mash_ros.sim.config import SimConfig

TINY = SimConfig(height=128, width=128, agents=3, episode_length=2, blocks=4)


@pytest.fixture(scope="session")
def tiny_cfg() -> SimConfig:
    return TINY


@pytest.fixture(scope="session")
def tiny_split(tmp_path_factory):
    from mash_ros.sim.writer import generate_split

    root = tmp_path_factory.mktemp("sim") / "train"
    return generate_split(root, "train", 4, seed=7, cfg=TINY, progress=False)
