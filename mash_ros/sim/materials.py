"""Procedural surface materials: albedo as a function of world position (view-independent).

Each shader takes the hits of one material and returns linear albedo ``[M, 3]``, a glossiness
``[M]`` (fraction of mirror-reflected sky added by the renderer) and optionally a perturbed
shading normal. Textures depend only on world position, the triangle's parameters and its object
id, so a surface looks alike from every drone (what cost-volume matching needs).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .noise import box_coverage, fbm2, fbm3, hash01, periodic_box, value_noise3


class Material(IntEnum):
    ASPHALT = 1   # params: kind (0 road along x, 1 along y, 2 crossing), cx, cy, hw_x, hw_y,
    #               lanes per direction, segment start, segment end (along the road)
    SIDEWALK = 2  # params: tile size
    GRASS = 3
    FACADE = 4    # params: x0, y0, z0, floor height, column width on x / y faces, window w, h
    FOLIAGE = 5   # params: crown centre x, y, z, 1 = use the geometric normal (hedges)
    BARK = 6
    PAINT = 7
    GLASS = 8     # car cabins: roof faces take the paint colour
    METAL = 9
    RUBBER = 10
    SOIL = 11     # open land around the city
    FEATHER = 12  # obstructions from here on
    PLASTIC = 13
    LEAF = 14
    FABRIC = 15
    LAMP = 16


@dataclass
class Hits:
    """The hits of one material: positions, unit normals (facing the camera), attributes."""
    p: np.ndarray        # [M, 3] world position
    n: np.ndarray        # [M, 3] unit geometric normal
    d: np.ndarray        # [M, 3] unit view direction
    color: np.ndarray    # [M, 3]
    params: np.ndarray   # [M, 8]
    obj: np.ndarray      # [M] object id
    fp: np.ndarray       # [M] pixel footprint on the surface (m)
    seed: int            # world seed


def _mix(a, b, t):
    t = np.asarray(t, np.float32)[..., None] if np.ndim(t) == 1 else t
    return a + (b - a) * t


def _rgb(*c) -> np.ndarray:
    return np.array(c, np.float32)


WHITE_PAINT = _rgb(0.75, 0.75, 0.72)
YELLOW_PAINT = _rgb(0.70, 0.52, 0.08)


def asphalt(h: Hits):
    x, y = h.p[:, 0], h.p[:, 1]
    kind, cx, cy = h.params[:, 0], h.params[:, 1], h.params[:, 2]
    hwx, hwy, lanes = h.params[:, 3], h.params[:, 4], h.params[:, 5]
    fp = h.fp
    tone = 0.085 * (0.75 + 0.5 * fbm2(x, y, h.seed + 1, 3, 7.0, fp))
    tone *= 0.85 + 0.3 * fbm2(x, y, h.seed + 2, 2, 0.6, fp)
    patch = fbm2(x, y, h.seed + 3, 2, 14.0, fp) > 0.64
    tone = np.where(patch, tone * 0.7, tone)
    alb = np.repeat(tone[:, None], 3, 1) * _rgb(1.0, 1.0, 1.04)
    # markings, in road coordinates: a along the road, c across it (0 at the centre line)
    along_x = kind == 0
    a = np.where(along_x, x, y)
    c = np.abs(np.where(along_x, y - cy, x - cx))
    hw = np.where(along_x, hwy, hwx)
    lane_w = hw / np.maximum(lanes, 1)
    road = kind < 2
    yellow = (box_coverage(c, 0.10, 0.25, fp)) * road
    white = box_coverage(c, hw - 0.55, hw - 0.40, fp) * road
    dash = periodic_box(a, 9.0, 0.0, 3.0, fp)
    white = np.maximum(white, box_coverage(c, lane_w - 0.075, lane_w + 0.075, fp) * dash
                       * (lanes > 1) * road)
    # crossings: zebra stripes across the road near both ends of a segment, and stop lines
    seg0, seg1 = h.params[:, 6], h.params[:, 7]
    near = np.minimum(a - seg0, seg1 - a)
    zebra = box_coverage(near, 1.0, 4.0, fp) * periodic_box(c, 1.1, 0.0, 0.55, fp)
    zebra = zebra * (c < hw - 0.6)
    stop = box_coverage(near, 5.0, 5.4, fp) * (c < hw - 0.6)
    stop = stop * ((np.where(along_x, y - cy, x - cx) * np.where(a - seg0 < seg1 - a, 1, -1)
                    * np.where(along_x, 1, -1)) > 0)
    white = np.maximum(white, np.maximum(zebra, stop) * road)
    wear = 0.75 + 0.25 * fbm2(x, y, h.seed + 4, 2, 1.5, fp)
    alb = _mix(alb, YELLOW_PAINT * wear[:, None], yellow)
    alb = _mix(alb, WHITE_PAINT * wear[:, None], white)
    return alb, np.zeros(len(x), np.float32), None


def sidewalk(h: Hits):
    x, y, z = h.p.T
    tile = np.where(h.params[:, 0] > 0, h.params[:, 0], 1.5)
    ix, iy = np.floor(x / tile), np.floor(y / tile)
    t_var = 0.85 + 0.3 * hash01(h.seed + 11, ix, iy)
    base = h.color * t_var[:, None]
    joint = np.maximum(1.0 - periodic_box(x, tile, 0.05, tile - 0.05, h.fp),
                       1.0 - periodic_box(y, tile, 0.05, tile - 0.05, h.fp))
    stain = 0.8 + 0.35 * fbm2(x, y, h.seed + 12, 3, 4.0, h.fp)
    alb = base * stain[:, None] * (1.0 - 0.45 * joint)[:, None]
    vertical = np.abs(h.n[:, 2]) < 0.5  # curb faces
    alb[vertical] = h.color[vertical] * 0.8
    return alb, np.zeros(len(x), np.float32), None


def _grassy(x, y, seed, fp, dirt_level: float, scale: float):
    g = fbm2(x, y, seed, 3, scale, fp)
    grass = _mix(_rgb(0.06, 0.13, 0.03), _rgb(0.17, 0.24, 0.06), g)
    fine = 0.8 + 0.4 * fbm2(x, y, seed + 1, 2, 0.4, fp)
    grass = grass * fine[:, None]
    d = fbm2(x, y, seed + 2, 3, scale * 2.5, fp)
    dirt_t = np.clip((d - dirt_level) * 8.0, 0, 1)
    dirt = _rgb(0.20, 0.14, 0.09) * (0.8 + 0.4 * g)[:, None]
    return _mix(grass, dirt, dirt_t)


def grass(h: Hits):
    x, y = h.p[:, 0], h.p[:, 1]
    return _grassy(x, y, h.seed + 21, h.fp, 0.62, 3.0), np.zeros(len(x), np.float32), None


def soil(h: Hits):
    x, y = h.p[:, 0], h.p[:, 1]
    return _grassy(x, y, h.seed + 31, h.fp, 0.5, 25.0), np.zeros(len(x), np.float32), None


def facade(h: Hits):
    x, y, z = h.p.T
    x0, y0, z0, fh, ws_x, ws_y, ww, wh = h.params.T
    fp = h.fp
    roof = h.n[:, 2] > 0.5
    side_x = np.abs(h.n[:, 0]) > np.abs(h.n[:, 1])  # face normal along x: the face spans y
    s = np.where(side_x, y - y0, x - x0)
    ws = np.where(side_x, ws_y, ws_x)
    face = np.where(side_x, np.sign(h.n[:, 0]), 2 * np.sign(h.n[:, 1]))
    zr = z - z0
    col, flo = np.floor(s / ws), np.floor(zr / fh)
    # wall: base colour, large stains, fine grain, darker floor slabs
    stain = 0.8 + 0.4 * fbm2(s + 37.0 * face, zr, h.seed + 41, 3, 6.0, fp)
    grain = 0.9 + 0.2 * fbm2(s, zr, h.seed + 42, 2, 0.5, fp)
    wall = h.color * (stain * grain)[:, None]
    slab = 1.0 - periodic_box(zr, fh, 0.0, fh - 0.18, fp)
    wall = wall * (1.0 - 0.3 * slab)[:, None]
    # windows: one cell per (column, floor); the ground floor has wider shop windows
    ground = flo < 1
    w_lo = np.where(ground, 0.06, 0.5 - 0.5 * ww)
    w_hi = np.where(ground, 0.94, 0.5 + 0.5 * ww)
    v_lo = np.where(ground, 0.08, 0.28)
    v_hi = np.where(ground, 0.78, np.minimum(0.28 + wh, 0.95))
    u = np.mod(s, ws) / ws
    v = np.mod(zr, fh) / fh
    win = box_coverage(u, w_lo, w_hi, fp / ws) * box_coverage(v, v_lo, v_hi, fp / fh)
    r = hash01(h.seed + 43, h.obj, col, flo, face)
    r2 = hash01(h.seed + 44, h.obj, col, flo, face)
    tint = hash01(h.seed + 45, h.obj)
    glass = _mix(_rgb(0.03, 0.04, 0.06), _rgb(0.08, 0.10, 0.12), tint)
    glass = glass * (0.6 + 0.8 * r2)[:, None]
    lit = r > 0.88
    curtain = (r > 0.70) & ~lit
    glass = np.where(lit[:, None], _rgb(0.55, 0.45, 0.25) * (0.6 + 0.4 * r2)[:, None], glass)
    glass = np.where(curtain[:, None], _rgb(0.40, 0.36, 0.30) * (0.6 + 0.4 * r2)[:, None], glass)
    shop = ground & (hash01(h.seed + 46, h.obj, face) > 0.4)
    glass = np.where(shop[:, None], glass * 1.6 + _rgb(0.05, 0.03, 0.0), glass)
    alb = _mix(wall, glass, win)
    gloss = 0.35 * win * (~lit)
    # roofs: dark gravel with blotches, tinted by the building colour
    xr, yr = x[roof], y[roof]
    gravel = 0.18 + 0.1 * fbm2(xr, yr, h.seed + 47, 3, 3.0, fp[roof])
    alb[roof] = _mix(np.repeat(gravel[:, None], 3, 1), h.color[roof] * 0.6, 0.3)
    gloss[roof] = 0.0
    return alb, gloss.astype(np.float32), None


def foliage(h: Hits):
    x, y, z = h.p.T
    hue = hash01(h.seed + 51, h.obj)
    base = _mix(_rgb(0.05, 0.11, 0.03), _rgb(0.14, 0.18, 0.04), hue)
    autumn = hash01(h.seed + 52, h.obj) > 0.9
    base = np.where(autumn[:, None], _rgb(0.25, 0.12, 0.03), base)
    clump = fbm3(x, y, z, h.seed + 53, 3, 0.9, h.fp)
    alb = base * (0.45 + 1.1 * clump)[:, None]
    centre = h.params[:, :3]
    nn = h.p - centre
    nn /= np.linalg.norm(nn, axis=1, keepdims=True) + 1e-6
    nn = np.where(h.params[:, 3:4] > 0.5, h.n, nn)  # hedges: box normals
    jit = np.stack([value_noise3(x * 2.1, y * 2.1, z * 2.1, h.seed + 54 + k) - 0.5
                    for k in range(3)], 1)
    nn = nn + 0.8 * jit
    nn /= np.linalg.norm(nn, axis=1, keepdims=True) + 1e-6
    return alb, np.zeros(len(x), np.float32), nn.astype(np.float32)


def bark(h: Hits):
    x, y, z = h.p.T
    streak = fbm3(x * 8.0, y * 8.0, z * 0.8, h.seed + 61, 2, 1.0, h.fp * 8.0)
    return (h.color * (0.7 + 0.6 * streak)[:, None]), np.zeros(len(x), np.float32), None


def paint(h: Hits):
    x, y, z = h.p.T
    dirt = 0.9 + 0.2 * fbm3(x, y, z, h.seed + 71, 2, 0.8, h.fp)
    low = np.clip((0.55 - z) * 4.0, 0, 1)  # darker sills and wheel arches
    alb = h.color * dirt[:, None]
    alb = _mix(alb, _rgb(0.03, 0.03, 0.03), low * 0.8)
    return alb, np.full(len(x), 0.12, np.float32), None


def glass(h: Hits):
    roof = h.n[:, 2] > 0.7
    alb = np.tile(_rgb(0.03, 0.035, 0.045), (len(h.p), 1))
    alb[roof] = h.color[roof]
    gloss = np.where(roof, 0.12, 0.45).astype(np.float32)
    return alb, gloss, None


def metal(h: Hits):
    x, y, z = h.p.T
    n = 0.85 + 0.3 * fbm3(x, y, z, h.seed + 81, 2, 1.0, h.fp)
    return h.color * n[:, None], np.full(len(x), 0.08, np.float32), None


def flat(h: Hits):
    return h.color.copy(), np.zeros(len(h.p), np.float32), None


def lamp(h: Hits):
    return h.color.copy(), np.full(len(h.p), 0.3, np.float32), None


def feather(h: Hits):
    """Birds: banded plumage along the local x-axis, speckles, darker tips."""
    x, y, z = h.p.T
    u = h.params[:, 0] * x + h.params[:, 1] * y + h.params[:, 2] * z
    bands = periodic_box(u, 0.09, 0.0, 0.035, h.fp)
    speck = fbm3(x, y, z, h.seed + 91, 3, 0.06, h.fp)
    alb = h.color * (0.6 + 0.7 * speck)[:, None]
    alb = _mix(alb, alb * 0.35, bands * h.params[:, 3])
    return alb, np.zeros(len(x), np.float32), None


def plastic(h: Hits):
    x, y, z = h.p.T
    crease = fbm3(x, y, z, h.seed + 92, 3, 0.15, h.fp)
    return h.color * (0.7 + 0.5 * crease)[:, None], np.full(len(x), 0.25, np.float32), None


def leaf(h: Hits):
    x, y, z = h.p.T
    vein = fbm3(x, y, z, h.seed + 93, 3, 0.05, h.fp)
    return h.color * (0.55 + 0.9 * vein)[:, None], np.zeros(len(x), np.float32), None


def fabric(h: Hits):
    x, y, z = h.p.T
    u = h.params[:, 0] * x + h.params[:, 1] * y + h.params[:, 2] * z
    stripe = periodic_box(u, 0.25, 0.0, 0.12, h.fp)
    alt = h.params[:, 4:7]
    alb = _mix(h.color, alt, stripe)
    return alb, np.full(len(x), 0.05, np.float32), None


SHADERS = {
    Material.ASPHALT: asphalt, Material.SIDEWALK: sidewalk, Material.GRASS: grass,
    Material.FACADE: facade, Material.FOLIAGE: foliage, Material.BARK: bark,
    Material.PAINT: paint, Material.GLASS: glass, Material.METAL: metal,
    Material.RUBBER: flat, Material.SOIL: soil, Material.FEATHER: feather,
    Material.PLASTIC: plastic, Material.LEAF: leaf, Material.FABRIC: fabric,
    Material.LAMP: lamp,
}
