"""PNG montage of snapshots: views, labels, obstruction, depth, and correspondence lines.

Rows per snapshot (N columns, one per drone; the target is framed in red):
  1. obstructed RGB   2. un-obstructed labels   3. rendered labels (obstruction in its colour)
  4. depth (log scale, sky black)
  5. [target | supporter A] and [target | supporter B] with lines joining a few matched cells,
     then the target's clean RGB and its obstruction mask.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..core.classes import OBSTRUCTION, PALETTE
from .correspondence import cell_centres

PAL = np.array(PALETTE, np.uint8)


def _frame(img: np.ndarray, color=(255, 0, 0), t: int = 2) -> np.ndarray:
    img = img.copy()
    img[:t], img[-t:], img[:, :t], img[:, -t:] = color, color, color, color
    return img


def _depth_rgb(depth: np.ndarray) -> np.ndarray:
    d = depth.astype(np.float32)
    fin = np.isfinite(d)
    x = np.zeros_like(d)
    x[fin] = np.clip((np.log(np.maximum(d[fin], 1.0)) - np.log(2.0)) / (np.log(400.0)
                                                                        - np.log(2.0)), 0, 1)
    img = cv2.applyColorMap((255 - x * 255).astype(np.uint8), cv2.COLORMAP_TURBO)[..., ::-1]
    img[~fin] = 0
    return img


def _pair_panel(a: np.ndarray, b: np.ndarray, corr_ab: np.ndarray, stride: int,
                rng: np.random.Generator, lines: int = 10) -> np.ndarray:
    h, w = a.shape[:2]
    panel = np.ascontiguousarray(np.concatenate([a, b], 1))
    hs, ws = corr_ab.shape
    flat = corr_ab.ravel()
    ok = np.flatnonzero(flat < hs * ws)
    uv = cell_centres(h, w, stride)
    for k in rng.choice(ok, min(lines, len(ok)), replace=False) if len(ok) else []:
        col = tuple(int(c) for c in rng.integers(80, 256, 3))
        p = (int(round(uv[k, 0])), int(round(uv[k, 1])))
        q = (int(round(uv[flat[k], 0])) + w, int(round(uv[flat[k], 1])))
        cv2.line(panel, p, q, col, 1, cv2.LINE_AA)
        cv2.circle(panel, p, 2, col, -1)
        cv2.circle(panel, q, 2, col, -1)
    return panel


def snapshot_montage(a: dict, stride: int, seed: int = 0) -> np.ndarray:
    """Montage (RGB uint8) of one snapshot given ``SimReader.read`` arrays."""
    n = len(a["rgb"])
    target = int(a["info"]["target"])
    rng = np.random.default_rng(seed)
    row = lambda imgs: np.concatenate(  # noqa: E731
        [_frame(im) if i == target else im for i, im in enumerate(imgs)], 1)
    rows = [row(list(a["rgb"])), row(list(PAL[a["labels"]])),
            row(list(PAL[np.where(a["mask"], OBSTRUCTION, a["labels"])])),
            row([_depth_rgb(d) for d in a["depth"]])]
    hs_ws = a["corr"].shape[2] * a["corr"].shape[3]
    overlap = (a["corr"][target].reshape(n, -1) < hs_ws).mean(1)
    overlap[target] = -1
    best = np.argsort(-overlap)[:2]
    bottom = [_pair_panel(a["rgb"][target], a["rgb"][j], a["corr"][target, j], stride, rng)
              for j in best if n > 1]
    mask_rgb = np.repeat((a["mask"][target] * 255).astype(np.uint8)[..., None], 3, -1)
    bottom += [a["rgb_clean"], mask_rgb]
    bottom_img = np.concatenate(bottom, 1)
    width = rows[0].shape[1]
    if bottom_img.shape[1] < width:
        pad = np.zeros((bottom_img.shape[0], width - bottom_img.shape[1], 3), np.uint8)
        bottom_img = np.concatenate([bottom_img, pad], 1)
    rows.append(bottom_img[:, :width])
    return np.concatenate(rows, 0)


def write_preview(split_root: str | Path, out_png: str | Path, indices=(0,), scale: int = 2
                  ) -> Path:
    from .format import SimReader

    reader = SimReader(split_root)
    tiles = []
    for k in indices:
        m = snapshot_montage(reader.read(int(k)), reader.meta["stride"], seed=int(k))
        tiles.append(m)
        tiles.append(np.full((6, m.shape[1], 3), 255, np.uint8))
    img = np.concatenate(tiles[:-1], 0)
    if scale != 1:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_png), img[..., ::-1])
    return out_png
