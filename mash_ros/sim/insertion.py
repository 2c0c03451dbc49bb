"""The paper's post-hoc obstruction insertion (Sec. IV): place one of our 3-D obstructions in front
of a target camera of a *recorded* snapshot and render it into every view from the recorded
poses, intrinsics and depth.

The scene itself is known only through its depth maps, so the obstruction is drawn where it is
nearer than the recorded depth (a z-test per pixel), is lit by a drawn sun and sky (it shadows
itself; the unknown scene casts no shadow on it, as in the simulator, where it casts none on the
scene) and developed by our sensor model; outside its mask every image is left as recorded.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .camera import pixel_rays
from .city import draw_lighting
from .obstruction import Obstruction, place_obstruction
from .raycast import Layer, cast
from .sensor import SensorState, develop
from .shading import shade


@dataclass
class Insertion:
    """rgb uint8 [N, H, W, 3] obstructed views; mask bool [N, H, W] (obstruction visible);
    depth float32 [N, H, W] the obstruction's planar depth (inf where it is not visible)."""

    rgb: np.ndarray
    mask: np.ndarray
    depth: np.ndarray
    obstruction: Obstruction


def insert_obstruction(rng: np.random.Generator, rgb: np.ndarray, depth: np.ndarray,
                       K: np.ndarray, poses: np.ndarray, target: int,
                       coverage: tuple[float, float] = (0.10, 0.35), noise: float = 1.0,
                       kind: str | None = None) -> Insertion:
    """rgb uint8 [N, H, W, 3] and planar depth [N, H, W] (m, inf = sky) of N views with one
    intrinsics K [3, 3] and camera-to-world poses [N, 4, 4] (optical frame, world z up)."""
    n, h, w = depth.shape
    others = np.delete(poses[:, :3, 3], target, axis=0)
    obs = place_obstruction(rng, poses[target], K, h, w, depth[target], others, coverage, kind)
    layer = Layer(obs.mesh)
    rays = [pixel_rays(K, p, h, w) for p in poses]
    o = np.concatenate([r[0] for r in rays])
    d = np.concatenate([r[1] for r in rays])
    t_obs = layer.intersect(o, d)[0]                      # planar depth: rays have camera z = 1
    mask = t_obs < depth.reshape(-1)                      # the z-test against the scene
    lighting = SimpleNamespace(**draw_lighting(rng))
    sensor = SensorState.draw(rng, n, h, w, noise)
    out = rgb.copy()
    if mask.any():
        idx = np.flatnonzero(mask)
        radiance = np.zeros((n * h * w, 3), np.float32)
        radiance[idx] = shade(cast([layer], o[idx], d[idx]), o[idx], d[idx], float(K[0, 0]),
                              lighting, [layer])
        developed = develop(radiance.reshape(n, h, w, 3), sensor)
        m = mask.reshape(n, h, w)
        out[m] = developed[m]
    obstruction_depth = np.where(mask, t_obs, np.inf).reshape(n, h, w).astype(np.float32)
    return Insertion(out, mask.reshape(n, h, w), obstruction_depth, obs)
