"""``torch.utils.data.Dataset`` over a generated split (see ``format.py``), loading lazily.

Per snapshot (N drones, H x W pixels, Hs x Ws correspondence cells)::

    rgb                [N, 3, H, W]   uint8    obstructed views (what the drones see)
    labels             [N, H, W]      int64    un-obstructed class ids 0..7 (training target)
    labels_obstructed  [N, H, W]      int64    as rendered: 8 (OBSTRUCTION) where it is visible
    obstruction_mask   [N, H, W]      bool
    target             []             int64    the agent the obstruction was placed in front of
    corr               [N, N, Hs, Ws] int64    cell correspondences, Hs*Ws = no match
    rgb_clean          [3, H, W]      uint8    the target's view without the obstruction
    depth              [N, H, W]      float32  un-obstructed planar depth, m (inf = sky)
    poses              [N, 4, 4]      float32  camera-to-world (optical frame)
    K                  [3, 3]         float32
    index              []             int64
  with ``dense_warp=True`` also (target <- every drone, for WarpedOutputStack):
    warp_grid          [N, H, W, 2]   float32  grid_sample coordinates (align_corners=False)
                                               of the drone-j pixel each target pixel sees;
                                               invalid entries are -2 (outside the image)
    warp_valid         [N, H, W]      bool

``gt_warp(i, target, supporter)`` gives the same for any pair.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..core.classes import OBSTRUCTION
from .correspondence import dense_warp
from .format import SimReader


def warp_to_grid(uv: np.ndarray, valid: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pixel coordinates [..., 2] to grid_sample coordinates; invalid -> -2."""
    grid = (uv + 0.5) / np.array([width, height], np.float32) * 2.0 - 1.0
    return np.where(valid[..., None], grid, -2.0).astype(np.float32)


class MashSimDataset(torch.utils.data.Dataset):
    """Lazily reads snapshots of the split at ``root``.

    Args:
        root: split directory written by ``mash-sim generate``.
        dense_warp: also return ``warp_grid`` / ``warp_valid`` (computed from depth on the fly).
        keys: restrict the returned keys (``None`` = all of the above); skipping ``depth`` and
            the warp saves decoding time.
    """

    def __init__(self, root: str | Path, dense_warp: bool = False, keys=None) -> None:
        self.reader = SimReader(root)
        self.meta = self.reader.meta
        self.dense_warp = dense_warp
        self.keys = None if keys is None else set(keys)
        self.K = torch.tensor(self.meta["K"], dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.reader)

    def _want(self, key: str) -> bool:
        return self.keys is None or key in self.keys

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < len(self):
            raise IndexError(i)
        need = ["info", "rgb", "labels", "mask", "corr", "poses"]
        if self._want("rgb_clean"):
            need.append("rgb_clean")
        if self._want("depth") or self.dense_warp:
            need.append("depth")
        a = self.reader.read(i, need)
        target = int(a["info"]["target"])
        labels = torch.from_numpy(a["labels"].astype(np.int64))
        mask = torch.from_numpy(a["mask"])
        out = {
            "rgb": torch.from_numpy(np.ascontiguousarray(a["rgb"].transpose(0, 3, 1, 2))),
            "labels": labels,
            "labels_obstructed": torch.where(mask, torch.tensor(OBSTRUCTION), labels),
            "obstruction_mask": mask,
            "target": torch.tensor(target, dtype=torch.int64),
            "corr": torch.from_numpy(a["corr"].astype(np.int64)),
            "poses": torch.from_numpy(a["poses"].astype(np.float32)),
            "K": self.K.clone(),
            "index": torch.tensor(i, dtype=torch.int64),
        }
        if "rgb_clean" in a:
            out["rgb_clean"] = torch.from_numpy(
                np.ascontiguousarray(a["rgb_clean"].transpose(2, 0, 1)))
        if "depth" in a and self._want("depth"):
            out["depth"] = torch.from_numpy(a["depth"].astype(np.float32))
        if self.dense_warp:
            grids, valids = zip(*(self._warp(a, target, j) for j in range(self.reader.n)))
            out["warp_grid"] = torch.from_numpy(np.stack(grids))
            out["warp_valid"] = torch.from_numpy(np.stack(valids))
        if self.keys is not None:
            out = {k: v for k, v in out.items() if k in self.keys or k.startswith("warp_")}
        return out

    def _warp(self, a: dict, target: int, supporter: int) -> tuple[np.ndarray, np.ndarray]:
        h, w = a["depth"].shape[1:]
        if supporter == target:
            v, u = np.mgrid[0:h, 0:w]
            uv = np.stack([u, v], -1).astype(np.float32)
            valid = np.ones((h, w), bool)
        else:
            uv, valid = dense_warp(a["depth"][target], a["depth"][supporter], self.reader.K,
                                   a["poses"][target], a["poses"][supporter])
        return warp_to_grid(uv, valid, h, w), valid

    def gt_warp(self, i: int, target: int | None = None, supporter: int = 0
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Dense ground-truth warp of snapshot ``i`` from ``target`` (default: the stored
        target) to ``supporter``: grid [H, W, 2] (grid_sample coordinates), valid [H, W]."""
        a = self.reader.read(i, ["info", "depth", "poses"])
        t = int(a["info"]["target"]) if target is None else target
        grid, valid = self._warp(a, t, supporter)
        return torch.from_numpy(grid), torch.from_numpy(valid)
