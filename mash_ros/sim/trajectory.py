"""Swarm flight: drones move roughly together along the streets, each with its own yaw rate,
and explore every intersection independently (as in the paper's AirSim data collection).

A virtual leader drives along the interior road lines. Between intersections each drone flies at
a drifting offset from the leader (Ornstein-Uhlenbeck along and across the street) and sweeps its
yaw around the travel heading with its own amplitude, period and maximum yaw rate. At an
intersection the leader stops for a few seconds while every drone flies to a random point of the
crossing and turns towards a random heading. Drones stay inside the street corridors (roads and
sidewalks, never above blocks), so they cannot enter buildings.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import look_pose

DT = 0.1


@dataclass(frozen=True)
class SwarmConfig:
    speed: tuple[float, float] = (3.5, 6.5)          # leader speed, m/s
    explore_time: tuple[float, float] = (4.0, 9.0)   # seconds at each intersection
    altitude: tuple[float, float] = (8.0, 14.0)      # m above the road
    pitch_deg: tuple[float, float] = (15.0, 32.0)    # camera pitched down
    spread_along: float = 3.5                        # std of the along-street offset, m
    spread_across: float = 0.5                       # std across, fraction of the corridor
    yaw_amp_deg: tuple[float, float] = (20.0, 62.0)  # yaw sweep amplitude around the heading
    yaw_period: tuple[float, float] = (7.0, 22.0)    # seconds per sweep
    yaw_rate_deg: tuple[float, float] = (25.0, 70.0)  # max yaw rate
    yaw_bias_deg: float = 15.0                       # constant per-drone yaw offset (std)
    explore_yaw_deg: float = 115.0                   # explore: random yaw within ± of the heading
    min_separation: float = 2.5
    warmup: float = 8.0


def _wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


class Swarm:
    def __init__(self, net, rng: np.random.Generator, agents: int,
                 cfg: SwarmConfig = SwarmConfig()) -> None:
        self.net, self.rng, self.n, self.cfg = net, rng, agents, cfg
        nx, ny = len(net.xs), len(net.ys)
        self.ii = np.arange(1, nx - 1)  # interior road lines the swarm uses
        self.jj = np.arange(1, ny - 1)
        # corridors: (x0, x1, y0, y1) rectangles over the interior streets
        half = lambda hw: hw + 0.5 * net.sidewalk  # noqa: E731
        xlo, xhi = net.xs[1] - half(net.hw_x[1]), net.xs[-2] + half(net.hw_x[-2])
        ylo, yhi = net.ys[1] - half(net.hw_y[1]), net.ys[-2] + half(net.hw_y[-2])
        rects = [(xlo, xhi, net.ys[j] - half(net.hw_y[j]), net.ys[j] + half(net.hw_y[j]))
                 for j in self.jj]
        rects += [(net.xs[i] - half(net.hw_x[i]), net.xs[i] + half(net.hw_x[i]), ylo, yhi)
                  for i in self.ii]
        self.rects = np.array(rects)

    # ------------------------------------------------------------------ geometry helpers
    def node(self, i: int, j: int) -> np.ndarray:
        return np.array([self.net.xs[i], self.net.ys[j]])

    def corridor_half(self, i: int, j: int, horizontal: bool) -> float:
        hw = self.net.hw_y[j] if horizontal else self.net.hw_x[i]
        return float(hw + 0.5 * self.net.sidewalk)

    def clamp(self, xy: np.ndarray) -> np.ndarray:
        """Project [N, 2] points onto the union of the corridor rectangles."""
        r = self.rects
        px = np.clip(xy[:, None, 0], r[None, :, 0] + 0.3, r[None, :, 1] - 0.3)
        py = np.clip(xy[:, None, 1], r[None, :, 2] + 0.3, r[None, :, 3] - 0.3)
        d = (px - xy[:, None, 0]) ** 2 + (py - xy[:, None, 1]) ** 2
        k = d.argmin(1)
        rows = np.arange(len(xy))
        return np.stack([px[rows, k], py[rows, k]], 1)

    def _neighbours(self, i: int, j: int) -> list[tuple[int, int]]:
        out = []
        for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            a, b = i + di, j + dj
            if self.ii[0] <= a <= self.ii[-1] and self.jj[0] <= b <= self.jj[-1]:
                out.append((a, b))
        return out

    # ------------------------------------------------------------------ simulation
    def fly(self, times: np.ndarray) -> dict:
        """Simulate and sample at ``times`` (s, increasing, >= 0): positions [T, N, 3],
        yaw [T, N], pitch [T, N], poses [T, N, 4, 4], exploring [T] bool."""
        cfg, rng, n = self.cfg, self.rng, self.n
        u = lambda lo_hi, size=None: rng.uniform(*lo_hi, size)  # noqa: E731
        # leader: start somewhere on a random interior segment, heading to its far node
        cur = (int(rng.choice(self.ii)), int(rng.choice(self.jj)))
        nxt = self._neighbours(*cur)[rng.integers(len(self._neighbours(*cur)))]
        seg = self.node(*nxt) - self.node(*cur)
        s = rng.uniform(0.2, 0.8) * np.linalg.norm(seg)
        speed = u(cfg.speed)
        phase, timer = "move", 0.0
        heading = np.arctan2(seg[1], seg[0])
        # drones
        alt = u(cfg.altitude, n)
        pitch0 = np.deg2rad(u(cfg.pitch_deg, n))
        yaw_amp = np.deg2rad(u(cfg.yaw_amp_deg, n))
        yaw_per = u(cfg.yaw_period, n)
        yaw_rate = np.deg2rad(u(cfg.yaw_rate_deg, n))
        yaw_bias = np.deg2rad(rng.normal(0, cfg.yaw_bias_deg, n))
        phi = rng.uniform(0, 2 * np.pi, (4, n))
        along = rng.normal(0, cfg.spread_along, n)
        across = rng.normal(0, cfg.spread_across, n)
        z_per = rng.uniform(8, 20, n)
        leader = self.node(*cur) + seg / np.linalg.norm(seg) * s
        xy = self.clamp(leader + rng.normal(0, 4, (n, 2)))
        yaw = heading + yaw_bias
        goal_xy, goal_yaw = xy.copy(), yaw.copy()
        t_end = float(times[-1]) + cfg.warmup
        out_t = np.asarray(times, float) + cfg.warmup
        res = {k: [] for k in ("positions", "yaw", "pitch", "exploring")}
        k_out, t = 0, 0.0
        tau = 12.0
        while k_out < len(out_t):
            # ---- leader
            if phase == "move":
                seg = self.node(*nxt) - self.node(*cur)
                seg_len = np.linalg.norm(seg)
                s += speed * DT
                if s >= seg_len:
                    phase, timer, s = "explore", u(cfg.explore_time), seg_len
                    c = self.node(*nxt)
                    for a in range(n):
                        arm = rng.integers(4)
                        horiz = arm < 2
                        dirv = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]][arm], float)
                        perp = np.array([-dirv[1], dirv[0]])
                        half = self.corridor_half(nxt[0], nxt[1], horiz)
                        goal_xy[a] = c + dirv * rng.uniform(-4, 16) + perp * rng.uniform(
                            -half, half) * 0.8
                        goal_yaw[a] = heading + np.deg2rad(rng.uniform(-1, 1) * cfg.explore_yaw_deg)
                leader = self.node(*cur) + seg / max(seg_len, 1e-9) * s
                heading_target = np.arctan2(seg[1], seg[0])
            else:
                timer -= DT
                leader = self.node(*nxt)
                if timer <= 0:
                    opts = [o for o in self._neighbours(*nxt) if o != cur] or [cur]
                    cur, nxt = nxt, opts[rng.integers(len(opts))]
                    phase, s, speed = "move", 0.0, u(cfg.speed)
                    seg = self.node(*nxt) - self.node(*cur)
                heading_target = np.arctan2(seg[1], seg[0])
            heading += np.clip(_wrap(heading_target - heading), -np.deg2rad(40) * DT,
                               np.deg2rad(40) * DT)
            # ---- drones
            along += -along / tau * DT + cfg.spread_along * np.sqrt(2 * DT / tau) * rng.normal(
                size=n)
            across += -across / tau * DT + cfg.spread_across * np.sqrt(
                2 * DT / tau) * rng.normal(size=n)
            if phase == "move":
                horiz = abs(np.cos(heading)) > abs(np.sin(heading))
                half = self.corridor_half(cur[0], cur[1], horiz)
                fwd = np.array([np.cos(heading), np.sin(heading)])
                left = np.array([-fwd[1], fwd[0]])
                target = leader + np.outer(along, fwd) + np.outer(np.clip(across, -1, 1) * half,
                                                                  left)
                sweep = yaw_amp * np.sin(2 * np.pi * t / yaw_per + phi[0])
                yaw_goal = heading + yaw_bias + sweep
            else:
                target, yaw_goal = goal_xy, goal_yaw
            step = target - xy
            dist = np.linalg.norm(step, axis=1, keepdims=True)
            xy = xy + step * np.minimum(0.25, 1.0 / np.maximum(dist, 1e-9))  # <= 10 m/s
            xy = self._separate(self.clamp(xy))
            yaw = yaw + np.clip(_wrap(yaw_goal - yaw), -yaw_rate * DT, yaw_rate * DT)
            t += DT
            while k_out < len(out_t) and t >= out_t[k_out] - 1e-9:
                z = alt + 1.2 * np.sin(2 * np.pi * t / z_per + phi[1])
                pitch = pitch0 + np.deg2rad(3.0) * np.sin(2 * np.pi * t / z_per + phi[2])
                res["positions"].append(np.concatenate([xy, z[:, None]], 1))
                res["yaw"].append(_wrap(yaw.copy()))
                res["pitch"].append(pitch)
                res["exploring"].append(phase == "explore")
                k_out += 1
            if t > t_end + 1:
                break
        out = {k: np.array(v) for k, v in res.items()}
        out["poses"] = np.array([[look_pose(p, y, pt) for p, y, pt in zip(P, Y, PT)]
                                 for P, Y, PT in zip(out["positions"], out["yaw"], out["pitch"])])
        return out

    def _separate(self, xy: np.ndarray) -> np.ndarray:
        for _ in range(3):
            diff = xy[:, None] - xy[None]
            d = np.linalg.norm(diff, axis=2) + np.eye(len(xy)) * 1e9
            close = d < self.cfg.min_separation
            if not close.any():
                break
            push = (diff / d[..., None] * (self.cfg.min_separation - d)[..., None] * 0.5
                    * close[..., None]).sum(1)
            xy = self.clamp(xy + push)
        return xy
