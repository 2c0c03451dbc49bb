"""Triangle-mesh primitives and a builder that tags every triangle with its surface attributes.

A ``Mesh`` is a flat soup of triangles ``tris [T, 3, 3]`` (float32, world metres, z up) plus one
row of attributes per triangle: semantic class id, material id (see ``materials.Material``), a
base colour (linear RGB), eight material parameters and an object id. The renderer looks these
rows up by the primitive id embree reports.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_PARAMS = 8


@dataclass
class Mesh:
    tris: np.ndarray    # [T, 3, 3] float32
    cls: np.ndarray     # [T] uint8 class id
    mat: np.ndarray     # [T] uint8 material id
    color: np.ndarray   # [T, 3] float32 linear albedo
    params: np.ndarray  # [T, N_PARAMS] float32
    obj: np.ndarray     # [T] int32 object id

    def __len__(self) -> int:
        return len(self.tris)


class MeshBuilder:
    """Accumulates primitives; ``build()`` concatenates them into one ``Mesh``."""

    def __init__(self) -> None:
        self._parts: list[tuple] = []
        self.next_obj = 0

    def new_object(self) -> int:
        self.next_obj += 1
        return self.next_obj

    def add(self, tris: np.ndarray, cls: int, mat: int, color, params=(), obj: int = 0) -> None:
        tris = np.asarray(tris, np.float32).reshape(-1, 3, 3)
        n = len(tris)
        p = np.zeros(N_PARAMS, np.float32)
        p[: len(params)] = params
        self._parts.append((tris, np.full(n, cls, np.uint8), np.full(n, mat, np.uint8),
                            np.tile(np.asarray(color, np.float32), (n, 1)),
                            np.tile(p, (n, 1)), np.full(n, obj, np.int32)))

    def build(self) -> Mesh:
        if not self._parts:
            return Mesh(np.zeros((0, 3, 3), np.float32), np.zeros(0, np.uint8),
                        np.zeros(0, np.uint8), np.zeros((0, 3), np.float32),
                        np.zeros((0, N_PARAMS), np.float32), np.zeros(0, np.int32))
        cols = list(zip(*self._parts))
        return Mesh(*(np.concatenate(c) for c in cols))


# ---------------------------------------------------------------- primitives (return [T,3,3])

def quad(p0, p1, p2, p3) -> np.ndarray:
    """Two triangles of the planar quad p0-p1-p2-p3 (in order around the rim)."""
    p0, p1, p2, p3 = (np.asarray(p, np.float32) for p in (p0, p1, p2, p3))
    return np.stack([np.stack([p0, p1, p2]), np.stack([p0, p2, p3])])


def box(lo, hi, bottom: bool = False) -> np.ndarray:
    """Axis-aligned box from corner ``lo`` to ``hi``; the bottom face is omitted by default."""
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], np.float32)
    faces = [(4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)]
    if bottom:
        faces.append((0, 3, 2, 1))
    return np.concatenate([quad(*v[list(f)]) for f in faces])


def prism(cx: float, cy: float, z0: float, z1: float, r: float, n: int = 6,
          cap: bool = True) -> np.ndarray:
    """Vertical n-gon prism (a cheap cylinder) of radius ``r`` around (cx, cy)."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], 1)
    out = []
    for i in range(n):
        (xa, ya), (xb, yb) = ring[i], ring[(i + 1) % n]
        out.append(quad((xa, ya, z0), (xb, yb, z0), (xb, yb, z1), (xa, ya, z1)))
    if cap:
        c = np.array([cx, cy, z1], np.float32)
        for i in range(n):
            out.append(np.array([[c, (*ring[i], z1), (*ring[(i + 1) % n], z1)]], np.float32))
    return np.concatenate(out)


def segment_prism(p0, p1, r: float, n: int = 5) -> np.ndarray:
    """Prism of radius ``r`` from point p0 to p1 in any direction (branches, pole arms)."""
    p0, p1 = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    axis = p1 - p0
    length = np.linalg.norm(axis)
    axis = axis / max(length, 1e-9)
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    w = np.cross(axis, u)
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = r * (np.cos(a)[:, None] * u + np.sin(a)[:, None] * w)
    out = []
    for i in range(n):
        j = (i + 1) % n
        out.append(quad(p0 + ring[i], p0 + ring[j], p1 + ring[j], p1 + ring[i]))
    return np.concatenate(out)


_ICO_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _icosphere(subdiv: int) -> tuple[np.ndarray, np.ndarray]:
    if subdiv in _ICO_CACHE:
        return _ICO_CACHE[subdiv]
    t = (1.0 + 5 ** 0.5) / 2
    v = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t),
         (0, 1, -t), (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
         (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
         (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    verts = [np.array(p, np.float64) / np.linalg.norm(p) for p in v]
    faces = list(f)
    for _ in range(subdiv):
        cache: dict[tuple[int, int], int] = {}

        def mid(a: int, b: int) -> int:
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = verts[a] + verts[b]
                verts.append(m / np.linalg.norm(m))
                cache[key] = len(verts) - 1
            return cache[key]

        new = []
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new
    _ICO_CACHE[subdiv] = (np.array(verts), np.array(faces))
    return _ICO_CACHE[subdiv]


def ellipsoid(center, radii, subdiv: int = 1, bumps: float = 0.0,
              rng: np.random.Generator | None = None, rotation: np.ndarray | None = None
              ) -> np.ndarray:
    """Triangulated ellipsoid; ``bumps`` > 0 displaces vertices radially (lumpy crowns, rocks)."""
    verts, faces = _icosphere(subdiv)
    v = verts.copy()
    if bumps > 0 and rng is not None:
        v = v * (1.0 + bumps * rng.uniform(-1, 1, (len(v), 1)))
    v = v * np.asarray(radii, np.float64)
    if rotation is not None:
        v = v @ np.asarray(rotation, np.float64).T
    v = v + np.asarray(center, np.float64)
    return v[faces].astype(np.float32)


def transform(tris: np.ndarray, rotation: np.ndarray, translation) -> np.ndarray:
    """Apply ``x -> R x + t`` to every vertex."""
    out = tris.reshape(-1, 3).astype(np.float64) @ np.asarray(rotation, np.float64).T
    return (out + np.asarray(translation, np.float64)).reshape(tris.shape).astype(np.float32)


def rot_z(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], np.float64)
