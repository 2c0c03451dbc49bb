"""Out-of-distribution obstructions: birds, branches, leaves, balloons, plastic bags, kites.

An obstruction is real 3-D geometry placed in world space a few metres in front of the target
camera, sized so that it covers a chosen fraction of the target view; every drone renders it
(supporters may see it too). It casts no shadow on the city (like the paper's post-hoc insertion
rendering), so outside its mask an obstructed view equals the clean one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.classes import OBSTRUCTION
from .camera import pixel_rays
from .geometry import Mesh, MeshBuilder, ellipsoid, quad, segment_prism, transform
from .materials import Material
from .raycast import Layer, cast

KINDS = ("bird", "branch", "leaves", "balloon", "bag", "kite")

BIRD_COLORS = np.array([(0.25, 0.17, 0.10), (0.05, 0.05, 0.05), (0.75, 0.75, 0.72),
                        (0.45, 0.45, 0.47), (0.05, 0.35, 0.35), (0.50, 0.30, 0.12)], np.float32)
BRIGHT = np.array([(0.8, 0.05, 0.05), (0.05, 0.2, 0.8), (0.9, 0.7, 0.05), (0.1, 0.6, 0.1),
                   (0.8, 0.3, 0.6), (0.9, 0.4, 0.05), (0.85, 0.85, 0.85)], np.float32)


@dataclass
class Obstruction:
    kind: str
    mesh: Mesh
    center: np.ndarray  # world position
    radius: float       # bounding radius, m
    distance: float     # from the target camera, m


def random_rotation(rng: np.random.Generator, upright: bool) -> np.ndarray:
    if upright:  # yaw anywhere, modest roll and pitch
        y, p, r = rng.uniform(-np.pi, np.pi), rng.normal(0, 0.3), rng.normal(0, 0.4)
    else:
        y, p, r = rng.uniform(-np.pi, np.pi, 3)
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    return rz @ ry @ rx


def _shape(kind: str, rng: np.random.Generator, R: np.ndarray, scale: float,
           c: np.ndarray) -> Mesh:
    """The obstruction of ``kind`` (local size about 1 m) rotated, scaled and centred at c."""
    mb = MeshBuilder()
    obj = 2_000_000

    def add(tris, mat, color, params=()):
        mb.add(transform(np.asarray(tris) * scale, R, c), OBSTRUCTION, mat, color, params, obj)

    if kind == "bird":
        col = BIRD_COLORS[rng.integers(len(BIRD_COLORS))] * rng.uniform(0.8, 1.2)
        axis = R @ np.array([0.0, 1.0, 0.0])
        band = (*axis, rng.uniform(0.0, 0.8))
        add(ellipsoid((0, 0, 0), (0.32, 0.11, 0.11), 1), Material.FEATHER, col, band)
        add(ellipsoid((0.33, 0, 0.05), (0.09, 0.08, 0.08), 1), Material.FEATHER, col * 0.7, band)
        add(ellipsoid((0.44, 0, 0.04), (0.06, 0.02, 0.02), 0), Material.PLASTIC,
            (0.7, 0.55, 0.1))
        flap = rng.uniform(-0.35, 0.5)
        for side in (-1, 1):
            rot = np.array([[1, 0, 0], [0, np.cos(flap), -side * np.sin(flap)],
                            [0, side * np.sin(flap), np.cos(flap)]])
            add(ellipsoid((0.0, side * 0.28, 0.0), (0.16, 0.28, 0.015), 1, rotation=rot),
                Material.FEATHER, col * rng.uniform(0.8, 1.1), band)
        add(ellipsoid((-0.38, 0, 0.01), (0.14, 0.07, 0.012), 1), Material.FEATHER, col * 0.8,
            band)
    elif kind in ("branch", "leaves"):
        bark = np.array((0.22, 0.15, 0.09), np.float32) * rng.uniform(0.7, 1.3)
        leaf_col = np.array([(0.12, 0.30, 0.06), (0.30, 0.35, 0.05), (0.45, 0.22, 0.04),
                             (0.08, 0.20, 0.05)][rng.integers(4)], np.float32)
        pts = [np.array([-0.5, 0.0, 0.0])]
        for k in range(4):
            pts.append(pts[-1] + np.array([0.25, rng.normal(0, 0.08), rng.normal(0, 0.08)]))
        stems = list(zip(pts[:-1], pts[1:]))
        for k in range(1, 4):
            tip = pts[k] + np.array([rng.uniform(0.05, 0.2), rng.normal(0, 0.3),
                                     rng.normal(0, 0.3)])
            stems.append((pts[k], tip))
        r0 = 0.035 if kind == "branch" else 0.012
        for a, b in stems:
            add(segment_prism(a, b, r0, 5), Material.BARK, bark)
        n_leaves = rng.integers(6, 14) if kind == "branch" else rng.integers(10, 20)
        for _ in range(n_leaves):
            a, b = stems[rng.integers(len(stems))]
            p = a + (b - a) * rng.uniform(0.2, 1.0) + rng.normal(0, 0.07, 3)
            size = rng.uniform(0.07, 0.13) * (1.0 if kind == "branch" else 1.4)
            add(ellipsoid(p, (size, size * 0.45, 0.008), 1, rotation=random_rotation(rng, False)),
                Material.LEAF, leaf_col * rng.uniform(0.7, 1.3))
    elif kind == "balloon":
        col = BRIGHT[rng.integers(len(BRIGHT))]
        add(ellipsoid((0, 0, 0.1), (0.32, 0.32, 0.4), 2), Material.PLASTIC, col)
        add(segment_prism((0, 0, -0.3), (0.05, 0.02, -0.9), 0.006, 3), Material.PLASTIC,
            (0.8, 0.8, 0.8))
    elif kind == "bag":
        col = np.array([(0.85, 0.85, 0.82), (0.15, 0.25, 0.7), (0.1, 0.1, 0.1),
                        (0.7, 0.15, 0.1)][rng.integers(4)], np.float32)
        add(ellipsoid((0, 0, 0), (0.4, 0.3, 0.35), 2, 0.25, rng), Material.PLASTIC, col)
    else:  # kite: two triangles of a diamond and a ribbon tail
        col = BRIGHT[rng.integers(len(BRIGHT))]
        alt = BRIGHT[rng.integers(len(BRIGHT))]
        axis = R @ np.array([1.0, 0.0, 0.0])
        p = (*axis, 0.0, *alt)
        add(quad((0, 0, 0.55), (0.4, 0, 0.05), (0, 0, -0.45), (-0.4, 0, 0.05)), Material.FABRIC,
            col, p)
        add(quad((0, 0.01, 0.55), (-0.4, 0.01, 0.05), (0, 0.01, -0.45), (0.4, 0.01, 0.05)),
            Material.FABRIC, col, p)
        add(segment_prism((0, 0, -0.45), (0.1, 0.05, -1.1), 0.02, 3), Material.FABRIC, alt, p)
    return mb.build()


def _sample_depth(depth: np.ndarray, K: np.ndarray, Kl: np.ndarray, lh: int, lw: int
                  ) -> np.ndarray:
    """Planar depth [lh*lw] of the low-resolution camera ``Kl`` read from the full-resolution
    view's depth [H, W] (intrinsics ``K``) at the nearest pixel: the same rays, the same depth."""
    v, u = np.mgrid[0:lh, 0:lw]
    x = (u.ravel() - Kl[0, 2]) / Kl[0, 0]
    y = (v.ravel() - Kl[1, 2]) / Kl[1, 1]
    uf = np.clip(np.rint(x * K[0, 0] + K[0, 2]), 0, depth.shape[1] - 1).astype(np.int64)
    vf = np.clip(np.rint(y * K[1, 1] + K[1, 2]), 0, depth.shape[0] - 1).astype(np.int64)
    return depth[vf, uf].astype(np.float32)


def place_obstruction(rng: np.random.Generator, pose_t: np.ndarray, K: np.ndarray,
                      height: int, width: int, scene: list[Layer] | np.ndarray,
                      other_centres: np.ndarray, coverage: tuple[float, float] = (0.10, 0.35),
                      kind: str | None = None) -> Obstruction:
    """Random obstruction in front of the target camera covering about ``coverage`` of its view,
    clear of the scene and at least ~1 m from every other drone's camera.

    ``scene``: the scene's geometry (ray-cast layers), or, for a recorded scene, the target
    view's planar depth [H, W] (m, inf = sky)."""
    kind = kind or KINDS[rng.integers(len(KINDS))]
    # low-resolution view of the target for coverage estimates
    lh, lw = max(height // 4, 16), max(width // 4, 16)
    Kl = K.copy()
    Kl[0] *= lw / width
    Kl[1] *= lh / height
    Kl[0, 2], Kl[1, 2] = (lw - 1) / 2, (lh - 1) / 2
    o, d = pixel_rays(Kl, pose_t, lh, lw)
    if isinstance(scene, np.ndarray):
        scene_t = _sample_depth(scene, K, Kl, lh, lw)
    else:
        scene_t = cast(scene, o, d).t
    best = None
    for attempt in range(12):
        want = rng.uniform(*coverage)
        uv = np.array([[rng.uniform(0.25, 0.75) * (lw - 1), rng.uniform(0.25, 0.75) * (lh - 1)]])
        _, ray = pixel_rays(Kl, pose_t, lh, lw, uv)
        ray = ray[0].astype(np.float64)
        dist = rng.uniform(1.5, 4.0)
        centre = pose_t[:3, 3] + ray * dist  # planar depth = dist
        R = random_rotation(rng, kind in ("bird", "balloon", "kite"))
        shape_seed = int(rng.integers(1 << 31))
        scale = 2.0 * dist * np.sqrt(want)  # first guess: a disc of that area
        for _ in range(3):
            mesh = _shape(kind, np.random.default_rng(shape_seed), R, scale, centre)
            cov = float(np.isfinite(Layer(mesh).intersect(o, d)[0]).mean())
            if cov <= 0:
                scale *= 1.5
                continue
            scale *= float(np.clip(np.sqrt(want / cov), 0.5, 2.0))
        mesh = _shape(kind, np.random.default_rng(shape_seed), R, scale, centre)
        t_obs = Layer(mesh).intersect(o, d)[0]
        cov = float(np.isfinite(t_obs).mean())
        radius = float(np.linalg.norm(mesh.tris.reshape(-1, 3) - centre, axis=1).max())
        covered = np.isfinite(t_obs)
        clear_scene = (not covered.any()) or bool(
            (scene_t[covered] > t_obs[covered] + radius + 0.5).all())
        gaps = np.linalg.norm(np.asarray(other_centres) - centre, axis=1) - radius
        clear_drones = len(gaps) == 0 or gaps.min() > 1.0
        score = abs(cov - want) + (0 if clear_scene else 1) + (0 if clear_drones else 1)
        cand = Obstruction(kind, mesh, centre, radius, dist)
        if best is None or score < best[0]:
            best = (score, cand)
        if clear_scene and clear_drones and coverage[0] <= cov <= coverage[1]:
            return cand
    return best[1]
