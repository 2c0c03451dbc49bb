"""Swarm flight: drones stay over the streets, apart from each other, and yaw differently."""
from __future__ import annotations

import numpy as np

from mash_ros.sim.city import build_city
from mash_ros.sim.trajectory import Swarm


def _over_block(net, xy):
    """True where a point lies over a block interior (inside the building area)."""
    x, y = xy[..., 0], xy[..., 1]
    in_x = np.zeros(x.shape, bool)
    in_y = np.zeros(y.shape, bool)
    for i in range(len(net.xs) - 1):
        in_x |= (x > net.xs[i] + net.hw_x[i] + net.sidewalk) & (
            x < net.xs[i + 1] - net.hw_x[i + 1] - net.sidewalk)
    for j in range(len(net.ys) - 1):
        in_y |= (y > net.ys[j] + net.hw_y[j] + net.sidewalk) & (
            y < net.ys[j + 1] - net.hw_y[j + 1] - net.sidewalk)
    return in_x & in_y


def test_swarm_stays_in_street_corridors():
    city = build_city(11, blocks=4)
    swarm = Swarm(city.net, np.random.default_rng(1), 6)
    fl = swarm.fly(np.arange(120) * 0.5)
    pos = fl["positions"]
    assert pos.shape == (120, 6, 3) and fl["poses"].shape == (120, 6, 4, 4)
    assert not _over_block(city.net, pos[..., :2]).any()
    assert pos[..., 2].min() > 5.0
    d = np.linalg.norm(pos[:, :, None, :2] - pos[:, None, :, :2], axis=-1)
    d[:, np.arange(6), np.arange(6)] = np.inf
    assert d.min() > 1.0
    # moving: the swarm covers ground, and explores at least one intersection
    assert np.linalg.norm(pos[-1].mean(0) - pos[0].mean(0)) > 10.0
    assert fl["exploring"].any() and not fl["exploring"].all()
    # different yaw rates: per-drone yaw series are not identical
    yaw = np.unwrap(fl["yaw"], axis=0)
    rates = np.abs(np.diff(yaw, axis=0)).mean(0)
    assert np.ptp(rates) > 0.01


def test_flight_is_deterministic():
    city = build_city(5, blocks=4)
    a = Swarm(city.net, np.random.default_rng(3), 4).fly(np.arange(20) * 0.5)
    b = Swarm(city.net, np.random.default_rng(3), 4).fly(np.arange(20) * 0.5)
    assert np.array_equal(a["poses"], b["poses"])
