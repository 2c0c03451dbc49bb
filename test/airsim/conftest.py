"""Shared recordings for the AirSim conversion tests: a simulator split with its exported bag,
and a bag written independently of the project's exporter (``synthetic.py``)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from mash_ros.sim.config import SimConfig

# the default city, 4 drones, the cpu preset's 128x128: about 2 s to render
ROUNDTRIP = SimConfig(height=128, width=128, agents=4, episode_length=3)


@pytest.fixture(scope="session")
def sim_split_and_bag(tmp_path_factory):
    from mash_ros.sim.bag import export_bag
    from mash_ros.sim.writer import generate_split

    root = tmp_path_factory.mktemp("roundtrip")
    split = generate_split(root / "sim" / "train", "train", 3, seed=5, cfg=ROUNDTRIP,
                           progress=False)
    return split, export_bag(split, root / "bag")


@pytest.fixture(scope="session")
def synthetic():
    """The module ``synthetic.py`` (tests import with importlib mode: no package path)."""
    spec = importlib.util.spec_from_file_location("airsim_synthetic",
                                                  Path(__file__).with_name("synthetic.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def synthetic_bag(tmp_path_factory, synthetic):
    return synthetic.write_bag(tmp_path_factory.mktemp("synthetic") / "bag")
