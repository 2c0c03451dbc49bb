"""The bundled sample exists, has the documented shape, and still matches the generator."""
from __future__ import annotations

import numpy as np

from mash_ros.sim.format import SimReader
from mash_ros.sim.generator import EpisodeRenderer
from mash_ros.sim.sample import (
    SAMPLE_CONFIG,
    SAMPLE_COUNT,
    SAMPLE_SEED,
    SAMPLE_SPLIT,
    ensure_sample,
)


def test_sample_matches_generator():
    root = ensure_sample()
    r = SimReader(root)
    assert len(r) == SAMPLE_COUNT
    assert (r.meta["height"], r.meta["width"], r.meta["agents"]) == (128, 128, 6)
    assert r.meta["split"] == SAMPLE_SPLIT
    er = EpisodeRenderer(SAMPLE_CONFIG, SAMPLE_SEED, SAMPLE_SPLIT, 0)
    for frame in (0, SAMPLE_CONFIG.episode_length - 1):
        s = er.render(frame, frame)
        a = r.read(frame)
        # tolerant comparison (embree may differ in the last bit on other CPUs); a generator
        # change fails here: regenerate with `mash-sim sample --force --out data/sample`
        assert a["info"]["target"] == s.target
        assert (a["labels"] == s.labels).mean() > 0.99
        assert (a["corr"] == s.corr).mean() > 0.97
        assert np.abs(a["rgb"].astype(int) - s.rgb).mean() < 2.0
        assert np.allclose(a["poses"], s.poses, atol=1e-6)
