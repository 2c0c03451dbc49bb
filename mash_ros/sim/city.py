"""Procedural city: a grid of roads with markings, sidewalks, blocks of buildings, parks, plazas,
street trees, lamps, traffic lights, parked and moving cars, open land and a distant skyline.

World frame: x east, y north, z up, metres; the ground is z = 0. Everything random comes from
``np.random.default_rng(seed)``, so a city is a pure function of its seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Mesh, MeshBuilder, box, quad
from .materials import Material
from .props import CLS, add_car, building, hedge, street_lamp, traffic_light, tree
from .traffic import Traffic

LANE_W = 3.3
SIDEWALK_H = 0.15
LAWN_H = 0.12
FAR = 3000.0


@dataclass
class RoadNet:
    """Road centre lines: ``xs`` of roads running along y, ``ys`` of roads running along x."""
    xs: np.ndarray
    ys: np.ndarray
    hw_x: np.ndarray     # half width of the road at x = xs[i]
    hw_y: np.ndarray     # half width of the road at y = ys[j]
    lanes_x: np.ndarray  # lanes per direction
    lanes_y: np.ndarray
    sidewalk: float      # sidewalk width on both sides of every road

    @property
    def extent(self) -> float:
        return float(max(np.abs(self.xs).max(), np.abs(self.ys).max()))


@dataclass
class City:
    seed: int
    net: RoadNet
    static: Mesh
    traffic: Traffic
    sun_dir: np.ndarray      # unit vector towards the sun
    sun_rgb: np.ndarray      # sun irradiance (linear RGB)
    sky_rgb: np.ndarray      # ambient sky irradiance
    cloud_cover: float
    world_seed: int          # seed of the texture noise

    def dynamic(self, t: float) -> Mesh:
        """Moving objects (cars) at time ``t`` seconds."""
        return self.traffic.mesh(t)


def _road_net(rng: np.random.Generator, blocks: int) -> RoadNet:
    def lines():
        gaps = rng.uniform(55.0, 85.0, blocks)
        c = np.concatenate([[0.0], np.cumsum(gaps)])
        return c - c.mean()

    def widths(n):
        lanes = rng.choice([1, 2], n, p=[0.55, 0.45])
        parking = rng.random(n) < 0.6
        return lanes * LANE_W + np.where(parking, 2.4, 0.7), lanes

    xs, ys = lines(), lines()
    hw_x, lanes_x = widths(len(xs))
    hw_y, lanes_y = widths(len(ys))
    return RoadNet(xs, ys, hw_x, hw_y, lanes_x, lanes_y, float(rng.uniform(2.6, 4.0)))


def _roads(mb: MeshBuilder, net: RoadNet) -> None:
    obj = mb.new_object()
    far = net.extent + 700.0
    for j, (y, hw) in enumerate(zip(net.ys, net.hw_y)):
        xe = np.concatenate([[-far], net.xs, [far]])
        he = np.concatenate([[0.0], net.hw_x, [0.0]])
        for a in range(len(xe) - 1):
            x0, x1 = xe[a] + he[a], xe[a + 1] - he[a + 1]
            mb.add(quad((x0, y - hw, 0), (x1, y - hw, 0), (x1, y + hw, 0), (x0, y + hw, 0)),
                   CLS["road"], Material.ASPHALT, (0.1,) * 3,
                   (0, 0, y, 0, hw, net.lanes_y[j], x0, x1), obj)
    for i, (x, hw) in enumerate(zip(net.xs, net.hw_x)):
        ye = np.concatenate([[-far], net.ys, [far]])
        he = np.concatenate([[0.0], net.hw_y, [0.0]])
        for a in range(len(ye) - 1):
            y0, y1 = ye[a] + he[a], ye[a + 1] - he[a + 1]
            mb.add(quad((x - hw, y0, 0), (x + hw, y0, 0), (x + hw, y1, 0), (x - hw, y1, 0)),
                   CLS["road"], Material.ASPHALT, (0.1,) * 3,
                   (1, x, 0, hw, 0, net.lanes_x[i], y0, y1), obj)
        for j, (y, hwy) in enumerate(zip(net.ys, net.hw_y)):
            mb.add(quad((x - hw, y - hwy, 0), (x + hw, y - hwy, 0), (x + hw, y + hwy, 0),
                        (x - hw, y + hwy, 0)), CLS["road"], Material.ASPHALT, (0.1,) * 3,
                   (2, x, y, hw, hwy, 0), obj)


def _block(mb: MeshBuilder, rng: np.random.Generator, net: RoadNet, x0: float, y0: float,
           x1: float, y1: float, parking: tuple[bool, bool, bool, bool]) -> None:
    """One block between road edges (x0, y0)-(x1, y1); ``parking`` for sides S, N, W, E."""
    sw = net.sidewalk
    concrete = np.array((0.42, 0.41, 0.39), np.float32) * rng.uniform(0.85, 1.1)
    obj = mb.new_object()
    for lo, hi in (((x0, y0), (x1, y0 + sw)), ((x0, y1 - sw), (x1, y1)),
                   ((x0, y0 + sw), (x0 + sw, y1 - sw)), ((x1 - sw, y0 + sw), (x1, y1 - sw))):
        mb.add(box((*lo, 0.0), (*hi, SIDEWALK_H)), CLS["sidewalk"], Material.SIDEWALK, concrete,
               (rng.choice([1.0, 1.5, 2.0]),), obj)
    ix0, iy0, ix1, iy1 = x0 + sw, y0 + sw, x1 - sw, y1 - sw
    kind = rng.choice(["built", "park", "plaza"], p=[0.78, 0.13, 0.09])
    if kind == "plaza":
        mb.add(box((ix0, iy0, 0.0), (ix1, iy1, SIDEWALK_H)), CLS["sidewalk"], Material.SIDEWALK,
               concrete * 1.1, (3.0,), mb.new_object())
    else:
        mb.add(box((ix0, iy0, 0.0), (ix1, iy1, LAWN_H)), CLS["terrain"], Material.GRASS,
               (0.1, 0.2, 0.05), (), mb.new_object())
    if kind == "built":
        _lots(mb, rng, ix0, iy0, ix1, iy1)
    else:
        n = rng.integers(8, 22) if kind == "park" else rng.integers(2, 7)
        for _ in range(n):
            tree(mb, rng, rng.uniform(ix0 + 3, ix1 - 3), rng.uniform(iy0 + 3, iy1 - 3),
                 LAWN_H, rng.uniform(0.9, 1.3))
        if kind == "park":
            cy = rng.uniform(iy0 + 8, iy1 - 8)
            mb.add(box((ix0, cy - 1.5, 0.0), (ix1, cy + 1.5, LAWN_H + 0.02)), CLS["sidewalk"],
                   Material.SIDEWALK, concrete, (1.0,), mb.new_object())
    _street_side(mb, rng, net, x0, y0, x1, y1, parking)


def _lots(mb: MeshBuilder, rng: np.random.Generator, x0, y0, x1, y1) -> None:
    def cuts(a, b):
        k = int(np.clip((b - a) // rng.uniform(16, 30), 1, 3))
        inner = np.sort(rng.uniform(0.3, 0.7, k - 1)) if k > 1 else np.zeros(0)
        inner = a + (b - a) * (np.arange(1, k) / k + (inner - 0.5) * 0.2) if k > 1 else inner
        return np.concatenate([[a], inner, [b]])

    cx, cy = cuts(x0, x1), cuts(y0, y1)
    for i in range(len(cx) - 1):
        for j in range(len(cy) - 1):
            lx0, lx1, ly0, ly1 = cx[i], cx[i + 1], cy[j], cy[j + 1]
            if rng.random() < 0.88:
                s = rng.uniform(0.5, 4.5, 4)
                bx0, bx1 = lx0 + s[0], lx1 - s[1]
                by0, by1 = ly0 + s[2], ly1 - s[3]
                if bx1 - bx0 < 6 or by1 - by0 < 6:
                    continue
                r = rng.random()
                h = rng.uniform(8, 24) if r < 0.65 else (rng.uniform(24, 45) if r < 0.93
                                                        else rng.uniform(45, 80))
                building(mb, rng, bx0, by0, bx1, by1, h)
            else:
                for _ in range(rng.integers(1, 5)):
                    if lx1 - lx0 > 6 and ly1 - ly0 > 6:
                        tree(mb, rng, rng.uniform(lx0 + 3, lx1 - 3),
                             rng.uniform(ly0 + 3, ly1 - 3), LAWN_H)
                if rng.random() < 0.5 and lx1 - lx0 > 4:
                    hedge(mb, lx0 + 1, ly0 + 0.5, lx1 - 1, ly0 + 1.5, rng.uniform(0.8, 1.6))


def _street_side(mb: MeshBuilder, rng: np.random.Generator, net: RoadNet, x0, y0, x1, y1,
                 parking) -> None:
    """Street trees and lamps on the four sidewalks, parked cars on the adjacent lanes."""
    # side: (start point, unit direction along the side, outward normal towards the road)
    sides = [((x0, y0), (1, 0), (0, -1), x1 - x0), ((x0, y1), (1, 0), (0, 1), x1 - x0),
             ((x0, y0), (0, 1), (-1, 0), y1 - y0), ((x1, y0), (0, 1), (1, 0), y1 - y0)]
    for k, ((sx, sy), (dx, dy), (nx, ny), length) in enumerate(sides):
        trees_here = rng.random() < 0.55
        placed: list[float] = []
        if trees_here:
            a = rng.uniform(4, 9)
            spacing = rng.uniform(8, 13)
            while a < length - 4:
                px, py = sx + dx * a - nx * 0.9, sy + dy * a - ny * 0.9
                tree(mb, rng, px, py, SIDEWALK_H, rng.uniform(0.8, 1.1))
                placed.append(a)
                a += spacing
        if rng.random() < 0.7:
            a = rng.uniform(6, 15)
            while a < length - 5:
                if all(abs(a - b) > 2.5 for b in placed):
                    street_lamp(mb, rng, sx + dx * a - nx * 0.4, sy + dy * a - ny * 0.4,
                                (nx, ny))
                a += rng.uniform(24, 34)
        if parking[k]:
            a = 7.0
            while a < length - 7:
                if rng.random() < 0.45:
                    yaw = np.arctan2(dy, dx) + (np.pi if rng.random() < 0.5 else 0.0)
                    add_car(mb, rng, sx + dx * a + nx * 1.25, sy + dy * a + ny * 1.25, yaw)
                a += rng.uniform(5.8, 7.0)


def _skyline(mb: MeshBuilder, rng: np.random.Generator, net: RoadNet) -> None:
    r0 = net.extent + 60.0
    for _ in range(90):
        ang = rng.uniform(0, 2 * np.pi)
        r = rng.uniform(r0 + 20, r0 + 500)
        cx, cy = r * np.cos(ang), r * np.sin(ang)
        if (np.abs(net.ys - cy) < net.hw_y + 8).any() or (np.abs(net.xs - cx) < net.hw_x + 8).any():
            continue
        w, d = rng.uniform(15, 45), rng.uniform(15, 45)
        building(mb, rng, cx - w / 2, cy - d / 2, cx + w / 2, cy + d / 2, rng.uniform(10, 70))


def build_city(seed: int, blocks: int = 7) -> City:
    """Generate the city for ``seed``; ``blocks`` is the number of blocks along each axis."""
    rng = np.random.default_rng(seed)
    net = _road_net(rng, blocks)
    mb = MeshBuilder()
    mb.add(quad((-FAR, -FAR, -0.02), (FAR, -FAR, -0.02), (FAR, FAR, -0.02), (-FAR, FAR, -0.02)),
           CLS["terrain"], Material.SOIL, (0.1, 0.2, 0.05), (), mb.new_object())
    _roads(mb, net)
    has_parking = lambda hw, lanes: hw - lanes * LANE_W > 1.5  # noqa: E731
    for i in range(len(net.xs) - 1):
        for j in range(len(net.ys) - 1):
            x0, x1 = net.xs[i] + net.hw_x[i], net.xs[i + 1] - net.hw_x[i + 1]
            y0, y1 = net.ys[j] + net.hw_y[j], net.ys[j + 1] - net.hw_y[j + 1]
            parking = (has_parking(net.hw_y[j], net.lanes_y[j]),
                       has_parking(net.hw_y[j + 1], net.lanes_y[j + 1]),
                       has_parking(net.hw_x[i], net.lanes_x[i]),
                       has_parking(net.hw_x[i + 1], net.lanes_x[i + 1]))
            _block(mb, rng, net, x0, y0, x1, y1, parking)
    for i, x in enumerate(net.xs):
        for j, y in enumerate(net.ys):
            if rng.random() < 0.5:
                ox, oy = net.hw_x[i] + net.sidewalk * 0.5, net.hw_y[j] + net.sidewalk * 0.5
                traffic_light(mb, x - ox, y - oy, (1, 0))
                traffic_light(mb, x + ox, y + oy, (-1, 0))
    _skyline(mb, rng, net)
    traffic = Traffic(rng, net)
    return City(seed=seed, net=net, static=mb.build(), traffic=traffic, **draw_lighting(rng))


def draw_lighting(rng: np.random.Generator) -> dict:
    """Sun direction and colour, sky light, cloud cover and texture seed (``City``'s fields that
    ``shading.shade`` reads), drawn in this order."""
    elev = np.deg2rad(rng.uniform(30, 68))
    azim = rng.uniform(0, 2 * np.pi)
    sun = np.array([np.cos(elev) * np.cos(azim), np.cos(elev) * np.sin(azim), np.sin(elev)])
    warm = rng.uniform(0.0, 0.12)
    sun_rgb = np.array([1.0, 0.96 - warm * 0.5, 0.9 - warm], np.float32) * rng.uniform(2.6, 3.4)
    sky_rgb = np.array([0.50, 0.58, 0.75], np.float32) * rng.uniform(0.8, 1.1)
    return {"sun_dir": sun, "sun_rgb": sun_rgb, "sky_rgb": sky_rgb,
            "cloud_cover": float(rng.uniform(0.2, 0.7)), "world_seed": int(rng.integers(1 << 30))}
