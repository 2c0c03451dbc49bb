"""Render snapshots: N drones over one city at one instant, with an obstruction in front of a
randomly chosen target, clean labels for every drone, depth, poses and cell correspondences."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.classes import OBSTRUCTION
from .camera import intrinsics, pixel_rays
from .city import City, build_city
from .config import SimConfig, city_seed, rng_for
from .correspondence import cell_centres, cell_correspondences
from .obstruction import place_obstruction
from .raycast import Layer, cast
from .sensor import SensorState, develop
from .shading import shade
from .trajectory import Swarm

_DIRS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]]
                 + [[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], np.float64)
_DIRS /= np.linalg.norm(_DIRS, axis=1, keepdims=True)


@dataclass
class Snapshot:
    """One synchronized capture of all drones (arrays in the on-disk dtypes)."""
    index: int                   # global index in the split
    episode: int
    frame: int                   # index within the episode
    time: float                  # seconds since the episode start
    city_seed: int
    target: int
    obstruction_kind: str
    obstruction_center: np.ndarray  # [3] world position of the obstruction
    obstruction_radius: float      # its bounding radius, m
    rgb: np.ndarray              # [N, H, W, 3] uint8, obstructed views
    rgb_clean: np.ndarray        # [H, W, 3] uint8, target without the obstruction
    labels: np.ndarray           # [N, H, W] uint8 un-obstructed class ids 0..7
    mask: np.ndarray             # [N, H, W] bool obstruction visible
    depth: np.ndarray            # [N, H, W] float16 un-obstructed planar depth (inf: sky)
    obstruction_depth: np.ndarray  # [N, H, W] float16 planar depth of the obstruction (inf: none)
    poses: np.ndarray            # [N, 4, 4] float64 camera-to-world (optical frame)
    corr: np.ndarray             # [N, N, Hs, Ws] int16
    exposure: np.ndarray         # [N] float32

    @property
    def labels_obstructed(self) -> np.ndarray:
        return np.where(self.mask, np.uint8(OBSTRUCTION), self.labels)


class EpisodeRenderer:
    """Builds the city and the swarm flight of one episode; renders its snapshots on demand."""

    def __init__(self, cfg: SimConfig, seed: int, split: str, episode: int) -> None:
        self.cfg, self.seed, self.split, self.episode = cfg, seed, split, episode
        self.city_seed = city_seed(seed, split, episode)
        self.city: City = build_city(self.city_seed, cfg.blocks)
        self.static = Layer(self.city.static)
        self.K = intrinsics(cfg.height, cfg.width, cfg.fov_deg)
        swarm = Swarm(self.city.net, rng_for(seed, split, episode, 1), cfg.agents, cfg.swarm)
        times = np.arange(cfg.episode_length) * cfg.period
        self.flight = swarm.fly(times)

    def layers(self, t: float) -> list[Layer]:
        return [self.static, Layer(self.city.dynamic(t))]

    def _clear_poses(self, poses: np.ndarray, layers: list[Layer]) -> np.ndarray:
        """Lift any drone whose camera is within 1.5 m of geometry (tree crowns, lamps)."""
        poses = poses.copy()
        for a in range(len(poses)):
            for _ in range(10):
                o = np.ascontiguousarray(np.broadcast_to(poses[a, :3, 3], _DIRS.shape),
                                         np.float32)
                hit = cast(layers, o, _DIRS.astype(np.float32)).t
                if not (hit < 1.5).any():
                    break
                poses[a, 2, 3] += 1.0
        return poses

    def render(self, frame: int, index: int | None = None) -> Snapshot:
        cfg = self.cfg
        n, h, w = cfg.agents, cfg.height, cfg.width
        t = frame * cfg.period
        layers = self.layers(t)
        poses = self._clear_poses(self.flight["poses"][frame], layers)
        rng = rng_for(self.seed, self.split, self.episode, 2, frame)
        target = int(rng.integers(n))
        others = np.delete(poses[:, :3, 3], target, axis=0)
        obs = place_obstruction(rng, poses[target], self.K, h, w, layers, others, cfg.coverage)
        obs_layer = Layer(obs.mesh)
        # primary rays of all drones at once: [N*H*W, 3]
        rays = [pixel_rays(self.K, p, h, w) for p in poses]
        o = np.concatenate([r[0] for r in rays])
        d = np.concatenate([r[1] for r in rays])
        hit = cast(layers, o, d)
        t_obs = obs_layer.intersect(o, d)[0]
        mask = t_obs < hit.t
        fx = float(self.K[0, 0])
        rad_clean = shade(hit, o, d, fx, self.city, layers)
        rad = rad_clean.copy()
        if mask.any():
            om = np.flatnonzero(mask)
            rad[om] = shade(cast([obs_layer], o[om], d[om]), o[om], d[om], fx, self.city, layers)
        sensor = SensorState.draw(rng, n, h, w, cfg.noise)
        rgb = develop(rad.reshape(n, h, w, 3), sensor)
        rgb_clean = develop(rad_clean.reshape(n, h, w, 3)[target:target + 1], sensor,
                            [target])[0]
        depth = hit.t.reshape(n, h, w)
        # correspondences from exact cell-centre rays against the un-obstructed scene
        uvc = cell_centres(h, w, cfg.stride)
        cc = [pixel_rays(self.K, p, h, w, uvc) for p in poses]
        depth_cells = cast(layers, np.concatenate([c[0] for c in cc]),
                           np.concatenate([c[1] for c in cc])).t.reshape(n, -1)
        corr = cell_correspondences(depth_cells, depth, self.K, poses, cfg.stride)
        return Snapshot(
            index=frame if index is None else index, episode=self.episode, frame=frame, time=t,
            city_seed=self.city_seed, target=target, obstruction_kind=obs.kind,
            obstruction_center=obs.center, obstruction_radius=obs.radius, rgb=rgb,
            rgb_clean=rgb_clean, labels=hit.cls.reshape(n, h, w), mask=mask.reshape(n, h, w),
            depth=depth.astype(np.float16),
            obstruction_depth=np.where(mask, t_obs, np.inf).reshape(n, h, w).astype(np.float16),
            poses=poses, corr=corr, exposure=sensor.exposure)
