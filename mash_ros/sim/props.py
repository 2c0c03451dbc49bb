"""City furniture added to a ``MeshBuilder``: buildings, trees, poles, traffic lights, cars."""
from __future__ import annotations

import numpy as np

from ..core.classes import SCENE_CLASSES
from .geometry import MeshBuilder, box, ellipsoid, prism, rot_z, transform
from .materials import Material

CLS = {name: i for i, name in enumerate(SCENE_CLASSES)}

FACADE_COLORS = np.array([
    (0.45, 0.22, 0.15), (0.55, 0.45, 0.33), (0.62, 0.60, 0.55), (0.35, 0.35, 0.37),
    (0.70, 0.66, 0.56), (0.30, 0.20, 0.16), (0.50, 0.50, 0.52), (0.64, 0.52, 0.40),
    (0.40, 0.45, 0.50), (0.72, 0.70, 0.66), (0.52, 0.33, 0.25), (0.25, 0.28, 0.30),
], np.float32)

CAR_COLORS = np.array([
    (0.60, 0.60, 0.62), (0.05, 0.05, 0.06), (0.75, 0.75, 0.76), (0.45, 0.03, 0.03),
    (0.03, 0.10, 0.35), (0.30, 0.30, 0.32), (0.70, 0.55, 0.10), (0.08, 0.25, 0.10),
    (0.55, 0.25, 0.05), (0.20, 0.08, 0.25),
], np.float32)


def building(mb: MeshBuilder, rng: np.random.Generator, x0: float, y0: float, x1: float,
             y1: float, height: float) -> None:
    """A block-shaped building with a façade texture, an optional tower and roof units."""
    obj = mb.new_object()
    color = FACADE_COLORS[rng.integers(len(FACADE_COLORS))] * rng.uniform(0.85, 1.15)
    fh = rng.uniform(3.0, 3.8)
    ww, wh = rng.uniform(0.35, 0.75), rng.uniform(0.35, 0.6)

    def columns(width: float) -> float:  # whole number of window columns across each face
        return width / max(1, round(width / rng.uniform(2.2, 4.0)))

    def part(xa, ya, xb, yb, za, zb):
        params = (xa, ya, 0.0, fh, columns(xb - xa), columns(yb - ya), ww, wh)
        mb.add(box((xa, ya, za), (xb, yb, zb)), CLS["building"], Material.FACADE, color,
               params, obj)

    part(x0, y0, x1, y1, 0.0, height)
    top = height
    if height > 18 and rng.random() < 0.4:  # set-back tower
        inset = rng.uniform(0.15, 0.3)
        dx, dy = (x1 - x0) * inset, (y1 - y0) * inset
        top = height + rng.uniform(6, 25)
        part(x0 + dx, y0 + dy, x1 - dx, y1 - dy, height, top)
    for _ in range(rng.integers(0, 4)):  # roof units (air conditioning, stair houses)
        w, d, h = rng.uniform(1.5, 4.0), rng.uniform(1.5, 4.0), rng.uniform(1.0, 3.0)
        if x1 - x0 < w + 2 or y1 - y0 < d + 2:
            continue
        cx, cy = rng.uniform(x0 + 1 + w / 2, x1 - 1 - w / 2), rng.uniform(y0 + 1 + d / 2,
                                                                           y1 - 1 - d / 2)
        mb.add(box((cx - w / 2, cy - d / 2, height), (cx + w / 2, cy + d / 2, height + h)),
               CLS["building"], Material.METAL, (0.45, 0.45, 0.46), (), obj)


def tree(mb: MeshBuilder, rng: np.random.Generator, x: float, y: float, z0: float = 0.0,
         scale: float = 1.0) -> None:
    """Trunk and lumpy crown; both are 'vegetation' (Cityscapes convention)."""
    obj = mb.new_object()
    trunk_h = rng.uniform(1.8, 3.0) * scale
    r = rng.uniform(1.4, 2.6) * scale
    mb.add(prism(x, y, z0, z0 + trunk_h + r * 0.5, rng.uniform(0.12, 0.22) * scale, 5, False),
           CLS["vegetation"], Material.BARK, (0.16, 0.11, 0.07), (), obj)
    centre = (x, y, z0 + trunk_h + r * 0.85)
    radii = (r * rng.uniform(0.85, 1.15), r * rng.uniform(0.85, 1.15), r * rng.uniform(0.8, 1.1))
    mb.add(ellipsoid(centre, radii, 1, 0.18, rng, rot_z(rng.uniform(0, np.pi))),
           CLS["vegetation"], Material.FOLIAGE, (0.1, 0.2, 0.05), centre, obj)


def hedge(mb: MeshBuilder, x0: float, y0: float, x1: float, y1: float, h: float) -> None:
    obj = mb.new_object()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    mb.add(box((x0, y0, 0.0), (x1, y1, h)), CLS["vegetation"], Material.FOLIAGE,
           (0.1, 0.2, 0.05), (cx, cy, 0.0, 1.0), obj)  # params[3] = 1: geometric normals


def street_lamp(mb: MeshBuilder, rng: np.random.Generator, x: float, y: float,
                arm_dir: tuple[float, float], z0: float = 0.15) -> None:
    obj = mb.new_object()
    h = rng.uniform(6.0, 8.0)
    grey = (0.32, 0.33, 0.35)
    mb.add(prism(x, y, z0, z0 + h, 0.11, 6), CLS["pole"], Material.METAL, grey, (), obj)
    ax, ay = arm_dir
    ex, ey = x + ax * 1.8, y + ay * 1.8
    lo = (min(x, ex) - 0.06, min(y, ey) - 0.06, z0 + h - 0.12)
    hi = (max(x, ex) + 0.06, max(y, ey) + 0.06, z0 + h)
    mb.add(box(lo, hi, True), CLS["pole"], Material.METAL, grey, (), obj)
    mb.add(box((ex - 0.3, ey - 0.3, z0 + h - 0.3), (ex + 0.3, ey + 0.3, z0 + h - 0.1), True),
           CLS["pole"], Material.LAMP, (0.6, 0.58, 0.5), (), obj)


def traffic_light(mb: MeshBuilder, x: float, y: float, arm_dir: tuple[float, float]) -> None:
    obj = mb.new_object()
    dark = (0.08, 0.09, 0.08)
    mb.add(prism(x, y, 0.15, 5.2, 0.1, 6), CLS["pole"], Material.METAL, (0.12, 0.13, 0.12),
           (), obj)
    ax, ay = arm_dir
    ex, ey = x + ax * 3.5, y + ay * 3.5
    mb.add(box((min(x, ex) - 0.07, min(y, ey) - 0.07, 4.9), (max(x, ex) + 0.07,
                                                            max(y, ey) + 0.07, 5.05), True),
           CLS["pole"], Material.METAL, dark, (), obj)
    mb.add(box((ex - 0.2, ey - 0.2, 4.0), (ex + 0.2, ey + 0.2, 4.9), True), CLS["pole"],
           Material.PLASTIC, (0.45, 0.35, 0.05), (), obj)


def car_template(rng: np.random.Generator) -> tuple[list[tuple], float]:
    """Parts of a car in its local frame (x forward, z up): list of (tris, material, colour)."""
    length = rng.uniform(3.9, 4.9)
    width = rng.uniform(1.7, 1.95)
    color = CAR_COLORS[rng.integers(len(CAR_COLORS))] * rng.uniform(0.8, 1.15)
    l2, w2 = length / 2, width / 2
    body_top = rng.uniform(0.95, 1.1)
    van = rng.random() < 0.15
    cab_top = body_top + (rng.uniform(0.8, 1.0) if van else rng.uniform(0.45, 0.6))
    cab0 = -l2 + (0.3 if van else rng.uniform(0.7, 1.0))
    cab1 = l2 - (0.8 if van else rng.uniform(1.0, 1.4))
    parts = [(box((-l2, -w2, 0.3), (l2, w2, body_top)), Material.PAINT, color),
             (box((cab0, -w2 + 0.08, body_top), (cab1, w2 - 0.08, cab_top)), Material.GLASS,
              color)]
    for sx in (-1, 1):
        for sy in (-1, 1):
            cx, cy = sx * (l2 - 0.8), sy * (w2 - 0.12)
            parts.append((box((cx - 0.33, cy - 0.13, 0.0), (cx + 0.33, cy + 0.13, 0.62)),
                          Material.RUBBER, (0.025, 0.025, 0.025)))
    return parts, length


def add_car(mb: MeshBuilder, rng: np.random.Generator, x: float, y: float, yaw: float) -> None:
    obj = mb.new_object()
    parts, _ = car_template(rng)
    for tris, mat, color in parts:
        mb.add(transform(tris, rot_z(yaw), (x, y, 0.0)), CLS["car"], mat, color, (), obj)
