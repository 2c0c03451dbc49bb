"""Lighting: sun with ray-traced shadows, hemispherical sky light, sky dome with clouds,
glossy sky reflections and aerial haze. Produces linear radiance; ``sensor.py`` develops it.
"""
from __future__ import annotations

import numpy as np

from .materials import SHADERS, Hits, Material
from .noise import fbm2
from .raycast import Hit, Layer, occluded

HAZE_DIST = 1400.0


def sky_radiance(d: np.ndarray, city) -> np.ndarray:
    """Radiance of the sky for unit view directions ``d`` [P, 3] (a function of direction only,
    so every drone sees the same clouds)."""
    z = d[:, 2]
    up = np.sqrt(np.clip(z, 0.0, 1.0))[:, None]
    horizon = np.array([0.74, 0.80, 0.88], np.float32)
    zenith = np.array([0.22, 0.38, 0.75], np.float32)
    col = horizon + (zenith - horizon) * up
    cos_sun = np.clip(d @ city.sun_dir, 0.0, 1.0)
    col = col + city.sun_rgb * (0.06 * cos_sun ** 16 + 0.5 * cos_sun ** 400)[:, None]
    zc = np.maximum(z, 0.04)
    u, v = d[:, 0] / zc * 1000.0, d[:, 1] / zc * 1000.0
    c = fbm2(u, v, city.world_seed + 7, 5, 1800.0)
    cover = np.clip((c - (0.75 - 0.4 * city.cloud_cover)) * 5.0, 0.0, 1.0)
    cover *= np.clip(z * 6.0, 0.0, 1.0)
    shade = 0.8 + 0.35 * fbm2(u, v, city.world_seed + 8, 3, 400.0)
    cloud = np.array([0.95, 0.95, 0.97], np.float32) * shade[:, None]
    return (col + (cloud - col) * cover[:, None]).astype(np.float32) * 1.1


def shade(hit: Hit, o: np.ndarray, d: np.ndarray, fx: float, city, shadow_layers: list[Layer]
          ) -> np.ndarray:
    """Linear radiance [P, 3] for rays (o, d) with hits ``hit`` (misses show the sky)."""
    n_rays = len(d)
    dn = d / np.linalg.norm(d, axis=1, keepdims=True)
    out = np.empty((n_rays, 3), np.float32)
    miss = ~hit.valid
    out[miss] = sky_radiance(dn[miss], city)
    sel = np.flatnonzero(~miss)
    if len(sel) == 0:
        return out
    t = hit.t[sel]
    p = o[sel] + d[sel] * t[:, None]
    ng = hit.normal[sel].astype(np.float32)
    ng /= np.linalg.norm(ng, axis=1, keepdims=True) + 1e-12
    v = dn[sel]
    facing = np.einsum("ij,ij->i", ng, v)
    ng[facing > 0] *= -1.0
    dist = t * np.linalg.norm(d[sel], axis=1)
    cos_v = np.abs(facing)
    fp = (dist / fx / np.maximum(cos_v, 0.25)).astype(np.float32)
    albedo = np.empty((len(sel), 3), np.float32)
    gloss = np.empty(len(sel), np.float32)
    ns = ng.copy()
    mats = hit.mat[sel]
    order = np.argsort(mats, kind="stable")
    bounds = np.flatnonzero(np.diff(mats[order])) + 1
    for idx in np.split(order, bounds):  # one group per material
        rows = sel[idx]
        h = Hits(p[idx], ng[idx], v[idx], hit.color[rows], hit.params[rows], hit.obj[rows],
                 fp[idx], city.world_seed)
        a, g, nrm = SHADERS[Material(int(mats[idx[0]]))](h)
        albedo[idx], gloss[idx] = a, g
        if nrm is not None:
            ns[idx] = nrm
    L = city.sun_dir.astype(np.float32)
    ndl = np.clip(ns @ L, 0.0, 1.0) * (ng @ L > -0.2)
    lit = np.flatnonzero(ndl > 0)
    vis = np.zeros(len(sel), np.float32)
    if len(lit):
        so = (p[lit] + ng[lit] * 0.03).astype(np.float32)
        sd = np.broadcast_to(L, so.shape).astype(np.float32)
        vis[lit] = ~occluded(shadow_layers, so, sd)
    nz = ns[:, 2:3]
    ambient = city.sky_rgb * (0.55 + 0.45 * nz) + np.float32(0.12) * (1.0 - nz) * 0.5
    rad = albedo * (city.sun_rgb * (ndl * vis)[:, None] + ambient)
    if (gloss > 0).any():
        g = np.flatnonzero(gloss > 0)
        refl = v[g] - 2.0 * np.einsum("ij,ij->i", v[g], ng[g])[:, None] * ng[g]
        fres = 0.25 + 0.75 * (1.0 - cos_v[g]) ** 5
        rad[g] += (gloss[g] * fres)[:, None] * sky_radiance(refl, city) * 0.6
    haze = 1.0 - np.exp(-dist / HAZE_DIST)
    haze_col = np.array([0.78, 0.82, 0.88], np.float32)
    out[sel] = rad + (haze_col - rad) * haze[:, None]
    return out
