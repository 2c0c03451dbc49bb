"""Camera sensor model: per-drone exposure and white balance, vignetting, a filmic tone curve,
sRGB gamma, and shot + read noise, quantised to uint8.

``SensorState`` draws the per-drone random values once per snapshot, so the target's clean and
obstructed views get the same exposure *and* the same noise realisation (they differ only where
the obstruction is).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXPOSURE = 0.8
SHOULDER = 0.3


@dataclass
class SensorState:
    exposure: np.ndarray  # [N] linear gain
    white: np.ndarray     # [N, 3] white-balance gains
    noise: np.ndarray     # [N, H, W, 3] standard normal draws (float32)
    read_sigma: float     # read noise, 8-bit units
    shot_gain: float      # shot noise: sigma = shot_gain * sqrt(value in 8-bit units)

    @staticmethod
    def draw(rng: np.random.Generator, n: int, height: int, width: int,
             noise_level: float = 1.0) -> "SensorState":
        exposure = np.exp(rng.normal(0.0, 0.18, n)).astype(np.float32)
        white = np.exp(rng.normal(0.0, 0.03, (n, 3))).astype(np.float32)
        noise = rng.standard_normal((n, height, width, 3), dtype=np.float32)
        return SensorState(exposure, white, noise, 1.2 * noise_level, 0.12 * noise_level)


def _vignette(height: int, width: int) -> np.ndarray:
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((u - (width - 1) / 2) / (width / 2)) ** 2 + ((v - (height - 1) / 2) / (height / 2)) ** 2
    return (1.0 - 0.12 * r2)[..., None].astype(np.float32)


def develop(radiance: np.ndarray, state: SensorState, agents=None) -> np.ndarray:
    """Linear radiance [K, H, W, 3] of drones ``agents`` (default: all) to uint8 RGB."""
    idx = np.arange(len(radiance)) if agents is None else np.asarray(agents)
    k, h, w, _ = radiance.shape
    gain = (state.exposure[idx, None] * state.white[idx])[:, None, None, :] * EXPOSURE
    x = radiance * gain * _vignette(h, w)
    x = x * (1.0 + SHOULDER) / (1.0 + SHOULDER * x)  # soft shoulder, 1 stays 1
    x = np.clip(x, 0.0, 1.0) ** (1.0 / 2.2) * 255.0
    sigma = np.sqrt(state.read_sigma ** 2 + state.shot_gain ** 2 * x)
    x = x + sigma * state.noise[idx]
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)
