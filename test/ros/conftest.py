"""Fixtures for tests that run drone nodes: a small MASH checkpoint made on the spot."""
import numpy as np
import pytest
import torch

from mash_ros.core.checkpoint import save_checkpoint
from mash_ros.core.config import load_preset
from mash_ros.core.models import build_model


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory):
    """Randomly initialised cpu-preset MASH weights with a valid model card.

    The swarm tests check plumbing and equivalence, not accuracy, so trained weights are not
    needed; a threshold of 0 makes supporters send every matched cell.
    """
    torch.manual_seed(0)
    cfg = load_preset("cpu", confidence_threshold=0.0)
    path = tmp_path_factory.mktemp("model") / "mash_cpu.pt"
    save_checkpoint(path, build_model(cfg, "mash"), cfg, "mash", {"note": "random init, tests"})
    return path


def _smooth_images(count: int, agents: int, size: int = 128, seed: int = 0) -> np.ndarray:
    """uint8 [count, agents, size, size, 3]: blurry colour fields, views of one shared canvas
    shifted per agent, so the views overlap like a swarm's."""
    rng = np.random.default_rng(seed)
    canvas = rng.uniform(0, 255, (count, size // 8 + agents * 2, size // 8 + agents * 2, 3))
    canvas = canvas.repeat(8, axis=1).repeat(8, axis=2)
    out = np.empty((count, agents, size, size, 3), np.uint8)
    for a in range(agents):
        out[:, a] = canvas[:, 8 * a:8 * a + size, 16 * a % 16:16 * a % 16 + size]
    return out


@pytest.fixture(scope="session")
def smooth_images():
    return _smooth_images
