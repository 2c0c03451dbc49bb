"""Moving cars: each drives along one lane of a straight road line at constant speed and wraps
around at the ends of the city. Their mesh at time ``t`` is rebuilt by one vectorised transform.
"""
from __future__ import annotations

import numpy as np

from .geometry import N_PARAMS, Mesh
from .props import CLS, car_template

LANE_W = 3.3


class Traffic:
    def __init__(self, rng: np.random.Generator, net) -> None:
        span = net.extent + 120.0
        specs = []  # (axis, lateral, direction)
        for axis, centres, lanes in ((0, net.ys, net.lanes_y), (1, net.xs, net.lanes_x)):
            for c, n_lanes in zip(centres, lanes):
                for direction in (1, -1):
                    for lane in range(int(n_lanes)):
                        # right-hand traffic: +x drives at -y, +y drives at +x
                        side = -direction if axis == 0 else direction
                        lateral = c + side * (lane + 0.5) * LANE_W
                        for _ in range(rng.poisson(2 * span / 110.0)):
                            specs.append((axis, lateral, direction))
        n = len(specs)
        self.axis = np.array([s[0] for s in specs], np.int64)
        self.lateral = np.array([s[1] for s in specs], np.float64)
        self.direction = np.array([s[2] for s in specs], np.float64)
        self.s0 = rng.uniform(-span, span, n)
        self.speed = rng.uniform(5.0, 11.0, n)
        self.span = span
        tris, mat, color, obj = [], [], [], []
        for k in range(n):
            parts, _ = car_template(rng)
            t = np.concatenate([p[0] for p in parts])
            tris.append(t)
            mat.append(np.concatenate([np.full(len(p[0]), p[1], np.uint8) for p in parts]))
            color.append(np.concatenate([np.tile(np.asarray(p[2], np.float32), (len(p[0]), 1))
                                         for p in parts]))
            obj.append(np.full(len(t), 1_000_000 + k, np.int32))
        self.count = n
        self.tris_per_car = len(tris[0]) if n else 0
        self.template = np.stack(tris) if n else np.zeros((0, 0, 3, 3), np.float32)
        total = n * self.tris_per_car
        self.mat = np.concatenate(mat) if n else np.zeros(0, np.uint8)
        self.color = np.concatenate(color) if n else np.zeros((0, 3), np.float32)
        self.obj = np.concatenate(obj) if n else np.zeros(0, np.int32)
        self.cls = np.full(total, CLS["car"], np.uint8)
        self.params = np.zeros((total, N_PARAMS), np.float32)

    def positions(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Car centres [C, 2] and headings [C] at time ``t``."""
        s = np.mod(self.s0 + self.direction * self.speed * t + self.span, 2 * self.span) - self.span
        xy = np.where(self.axis[:, None] == 0, np.stack([s, self.lateral], 1),
                      np.stack([self.lateral, s], 1))
        yaw = np.where(self.axis == 0, np.where(self.direction > 0, 0.0, np.pi),
                       np.where(self.direction > 0, np.pi / 2, -np.pi / 2))
        return xy, yaw

    def mesh(self, t: float) -> Mesh:
        xy, yaw = self.positions(t)
        c, s = np.cos(yaw), np.sin(yaw)
        rot = np.zeros((self.count, 3, 3))
        rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = c, -s, s, c
        rot[:, 2, 2] = 1.0
        tris = np.einsum("cij,ctvj->ctvi", rot, self.template.astype(np.float64))
        tris[..., 0] += xy[:, None, None, 0]
        tris[..., 1] += xy[:, None, None, 1]
        return Mesh(tris.reshape(-1, 3, 3).astype(np.float32), self.cls, self.mat, self.color,
                    self.params, self.obj)
