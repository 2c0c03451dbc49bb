"""Hash-based procedural noise and anti-aliased patterns, vectorised over numpy arrays.

Everything here is a pure function of its (world-space) arguments and an integer seed, so a
surface textured with it looks the same from every camera. ``footprint`` arguments are the size
(in the pattern's units) of one pixel on the surface; detail finer than a pixel fades to its mean
instead of aliasing into noise.
"""
from __future__ import annotations

import numpy as np

_M1 = np.uint32(0x8DA6B343)
_M2 = np.uint32(0xD8163841)
_M3 = np.uint32(0xCB1AB31F)
_M4 = np.uint32(0x5BD1E995)
_INV32 = np.float32(1.0 / 4294967296.0)


def _u32(a) -> np.ndarray:
    return np.asarray(a).astype(np.int64).astype(np.uint32)


def hash_u32(seed: int, *ints) -> np.ndarray:
    """Mix integer lattice coordinates (arrays, any sign) and a seed into uint32."""
    h = np.uint32((seed * 0x9E3779B9 + 0x7F4A7C15) & 0xFFFFFFFF)
    mults = (_M1, _M2, _M3)
    for k, a in enumerate(ints):
        h = h ^ (_u32(a) * mults[k % 3])
        h = h ^ (h >> np.uint32(15))
        h = h * _M4
    h = h ^ (h >> np.uint32(13))
    h = h * _M1
    h = h ^ (h >> np.uint32(16))
    return h


def hash01(seed: int, *ints) -> np.ndarray:
    """Uniform float32 in [0, 1) per lattice point."""
    return hash_u32(seed, *ints).astype(np.float32) * _INV32


def _smooth(f: np.ndarray) -> np.ndarray:
    return f * f * (3.0 - 2.0 * f)


def value_noise2(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1], feature size 1 unit."""
    xf, yf = np.floor(x), np.floor(y)
    ix, iy = xf.astype(np.int64), yf.astype(np.int64)
    sx, sy = _smooth((x - xf).astype(np.float32)), _smooth((y - yf).astype(np.float32))
    a = hash01(seed, ix, iy)
    b = hash01(seed, ix + 1, iy)
    c = hash01(seed, ix, iy + 1)
    d = hash01(seed, ix + 1, iy + 1)
    top = a + (b - a) * sx
    bot = c + (d - c) * sx
    return top + (bot - top) * sy


def value_noise3(x: np.ndarray, y: np.ndarray, z: np.ndarray, seed: int) -> np.ndarray:
    """Smooth 3-D value noise in [0, 1], feature size 1 unit."""
    xf, yf, zf = np.floor(x), np.floor(y), np.floor(z)
    ix, iy, iz = xf.astype(np.int64), yf.astype(np.int64), zf.astype(np.int64)
    sx = _smooth((x - xf).astype(np.float32))
    sy = _smooth((y - yf).astype(np.float32))
    sz = _smooth((z - zf).astype(np.float32))
    out = None
    for dz in (0, 1):
        plane = None
        for dy in (0, 1):
            a = hash01(seed, ix, iy + dy, iz + dz)
            b = hash01(seed, ix + 1, iy + dy, iz + dz)
            row = a + (b - a) * sx
            plane = row if plane is None else plane + (row - plane) * sy
        out = plane if out is None else out + (plane - out) * sz
    return out


def _fade(freq: float, footprint) -> np.ndarray | float:
    """Weight of an octave of frequency ``freq`` given the pixel footprint (1 = fully resolved)."""
    if footprint is None:
        return 1.0
    return np.clip(1.6 - 2.4 * freq * footprint, 0.0, 1.0).astype(np.float32)


def _fbm(noise, coords, seed: int, seed_step: int, octaves: int, scale: float, footprint,
         gain: float) -> np.ndarray:
    """Sum of ``octaves`` octaves of ``noise(*coords * freq, seed)``, normalised to ~[0, 1]."""
    total = np.zeros(np.shape(coords[0]), np.float32)
    norm = 0.0
    amp, freq = 1.0, 1.0 / scale
    for o in range(octaves):
        w = amp * _fade(freq, footprint)
        total += w * (noise(*(c * freq for c in coords), seed + seed_step * o) - 0.5)
        norm += amp
        amp *= gain
        freq *= 2.0
    return 0.5 + total / norm


def fbm2(x, y, seed: int, octaves: int = 4, scale: float = 1.0, footprint=None,
         gain: float = 0.5) -> np.ndarray:
    """Fractal value noise in roughly [0, 1]; ``scale`` is the largest feature size."""
    return _fbm(value_noise2, (x, y), seed, 101, octaves, scale, footprint, gain)


def fbm3(x, y, z, seed: int, octaves: int = 3, scale: float = 1.0, footprint=None,
         gain: float = 0.5) -> np.ndarray:
    """3-D fractal value noise in roughly [0, 1]."""
    return _fbm(value_noise3, (x, y, z), seed, 131, octaves, scale, footprint, gain)


def box_coverage(x: np.ndarray, lo, hi, width) -> np.ndarray:
    """Fraction of the interval [x - width/2, x + width/2] inside [lo, hi] (box-filtered step)."""
    w = np.maximum(width, 1e-4)
    a = np.maximum(lo, x - 0.5 * w)
    b = np.minimum(hi, x + 0.5 * w)
    return np.clip((b - a) / w, 0.0, 1.0).astype(np.float32)


def periodic_box(x: np.ndarray, period: float, lo: float, hi: float, footprint) -> np.ndarray:
    """Anti-aliased periodic stripe: 1 where ``lo <= frac(x / period) * period < hi``.

    When the footprint approaches the period the stripe fades to its duty cycle.
    """
    local = np.mod(x, period)
    cov = box_coverage(local, lo, hi, footprint) + box_coverage(local, lo + period, hi + period,
                                                                footprint)
    cov += box_coverage(local, lo - period, hi - period, footprint)
    duty = (hi - lo) / period
    t = np.clip(np.asarray(footprint, np.float32) / period * 2.0 - 0.5, 0.0, 1.0)
    return (cov * (1.0 - t) + duty * t).astype(np.float32)
