"""On-disk format of a generated split (``mash-sim generate``), version 1.

One directory per split::

    <root>/meta.json              description of the split (below)
    <root>/episode_00000.zip      one shard per episode (= one city), ZIP archive
    <root>/episode_00001.zip      ...

``meta.json`` (sorted keys, no timestamps)::

    format: "mash-sim", version: 1, split: "train" | "val" | "test", seed: int, count: int,
    height, width, agents, stride, hs, ws: ints      (hs = height // stride, ws likewise)
    K: 3x3 intrinsics (OpenCV convention: pixel centres at integers), fov_deg
    rgb_format: "png" | "jpg"
    classes: class names by id (0..7 scene classes, 8 = obstruction), palette: RGB per id
    config: the full SimConfig, period: seconds between snapshots
    shards: [{file, episode, city_seed, first, count}]   snapshots first .. first+count-1

Inside a shard, snapshot ``k`` (global index, zero-padded to 6 digits) has these members; images
are stored uncompressed in the ZIP (they are PNG/JPEG already), arrays are ``.npy`` deflated::

    k/rgb.png        uint8 H x (N*W) x 3  the N *obstructed* views side by side (RGB)
    k/rgb_clean.png  uint8 H x W x 3      the target's view without the obstruction
    k/labels.png     uint8 H x (N*W)      un-obstructed class ids 0..7, side by side
    k/mask.png       uint8 H x (N*W)      255 where the obstruction is visible, else 0
    k/depth.npy      float16 [N, H, W]    un-obstructed planar depth in metres (inf = sky)
    k/obstruction_depth.npy  float16 [N, H, W]  planar depth of the obstruction (inf = none)
    k/corr.npy       int16 [N, N, Hs, Ws] corr[i, j, y, x] = cell y'*Ws+x' of drone j that
                     target cell (y, x) of drone i sees, or Hs*Ws for "no match" (out of view or
                     occluded, from un-obstructed depth); corr[i, i] is the identity
    k/poses.npy      float64 [N, 4, 4]    camera-to-world, optical frame (x right, y down,
                     z forward) in the world frame (x east, y north, z up), metres
    k/info.json      {index, episode, frame, time, target, obstruction (kind), city_seed,
                     exposure (per drone), obstruction_center (world, m), obstruction_radius}

The obstructed label map is ``where(mask, 8, labels)``; the obstructed depth (what a depth camera
sees) is ``minimum(depth, obstruction_depth)``. ZIP entries carry a fixed date, so the same seed
and configuration give byte-identical files.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import cv2
import numpy as np

from ..core.classes import ALL_CLASSES, PALETTE
from .generator import Snapshot

FORMAT = "mash-sim"
VERSION = 1
_DATE = (1980, 1, 1, 0, 0, 0)
MEMBERS = ("rgb", "rgb_clean", "labels", "mask", "depth", "obstruction_depth", "corr", "poses",
           "info")


def member(index: int, name: str) -> str:
    return f"{index:06d}/{name}"


def _tile(views: np.ndarray) -> np.ndarray:
    """[N, H, W, ...] -> [H, N*W, ...]."""
    return np.concatenate(list(views), axis=1)


def _untile(img: np.ndarray, n: int) -> np.ndarray:
    """[H, N*W, ...] -> [N, H, W, ...]."""
    return np.stack(np.split(img, n, axis=1))


def encode_image(img: np.ndarray, fmt: str = "png") -> bytes:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if fmt == "png":
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    else:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return buf.tobytes()


def decode_image(data: bytes, color: bool) -> np.ndarray:
    flag = cv2.IMREAD_COLOR if color else cv2.IMREAD_UNCHANGED
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if color else img


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
    return buf.getvalue()


class ShardWriter:
    """Writes snapshots into one ZIP shard with fixed entry dates (byte-reproducible)."""

    def __init__(self, path: Path, rgb_format: str = "png") -> None:
        self.path = Path(path)
        self.tmp = self.path.with_suffix(".zip.tmp")
        self.zf = zipfile.ZipFile(self.tmp, "w")
        self.rgb_format = rgb_format

    def _put(self, name: str, data: bytes, compress: bool) -> None:
        info = zipfile.ZipInfo(name, _DATE)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        self.zf.writestr(info, data, compresslevel=6 if compress else None)

    def write(self, s: Snapshot) -> None:
        k, ext = s.index, self.rgb_format
        self._put(member(k, f"rgb.{ext}"), encode_image(_tile(s.rgb), ext), False)
        self._put(member(k, f"rgb_clean.{ext}"), encode_image(s.rgb_clean, ext), False)
        self._put(member(k, "labels.png"), encode_image(_tile(s.labels)), False)
        self._put(member(k, "mask.png"), encode_image(_tile(s.mask.astype(np.uint8) * 255)),
                  False)
        self._put(member(k, "depth.npy"), _npy(s.depth.astype(np.float16)), True)
        self._put(member(k, "obstruction_depth.npy"),
                  _npy(s.obstruction_depth.astype(np.float16)), True)
        self._put(member(k, "corr.npy"), _npy(s.corr.astype(np.int16)), True)
        self._put(member(k, "poses.npy"), _npy(s.poses.astype(np.float64)), True)
        info = {"index": s.index, "episode": s.episode, "frame": s.frame,
                "time": round(s.time, 6), "target": s.target, "obstruction": s.obstruction_kind,
                "city_seed": s.city_seed, "exposure": [round(float(e), 6) for e in s.exposure],
                "obstruction_center": [round(float(c), 4) for c in s.obstruction_center],
                "obstruction_radius": round(float(s.obstruction_radius), 4)}
        self._put(member(k, "info.json"), json.dumps(info, sort_keys=True).encode(), True)

    def close(self) -> None:
        self.zf.close()
        os.replace(self.tmp, self.path)


def write_meta(root: Path, meta: dict) -> None:
    (Path(root) / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


def class_table() -> dict:
    return {"classes": list(ALL_CLASSES), "palette": [list(c) for c in PALETTE]}


class SimReader:
    """Random access to the snapshots of a split; ZIP handles are opened lazily per process."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.meta = json.loads((self.root / "meta.json").read_text())
        if self.meta.get("format") != FORMAT or self.meta.get("version") != VERSION:
            raise ValueError(f"{root}: not a {FORMAT} v{VERSION} split")
        self.n = self.meta["agents"]
        self.K = np.array(self.meta["K"], np.float64)
        self._starts = np.array([s["first"] for s in self.meta["shards"]])
        self._handles: dict[str, zipfile.ZipFile] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return int(self.meta["count"])

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state

    def _zip(self, index: int) -> zipfile.ZipFile:
        if not 0 <= index < len(self):
            raise IndexError(index)
        if os.getpid() != self._pid:  # forked worker: never share file offsets
            self._handles, self._pid = {}, os.getpid()
        shard = self.meta["shards"][int(np.searchsorted(self._starts, index, "right") - 1)]
        name = shard["file"]
        if name not in self._handles:
            self._handles[name] = zipfile.ZipFile(self.root / name)
        return self._handles[name]

    def raw(self, index: int, name: str) -> bytes:
        return self._zip(index).read(member(index, name))

    def read(self, index: int, keys=MEMBERS) -> dict:
        """Numpy arrays of snapshot ``index`` in the shapes of ``generator.Snapshot``."""
        n, ext = self.n, self.meta["rgb_format"]
        out: dict = {}
        for key in keys:
            if key in ("rgb", "rgb_clean"):
                img = decode_image(self.raw(index, f"{key}.{ext}"), True)
                out[key] = _untile(img, n) if key == "rgb" else img
            elif key == "labels":
                out[key] = _untile(decode_image(self.raw(index, "labels.png"), False), n)
            elif key == "mask":
                out[key] = _untile(decode_image(self.raw(index, "mask.png"), False), n) > 127
            elif key == "info":
                out[key] = json.loads(self.raw(index, "info.json"))
            else:
                out[key] = np.load(io.BytesIO(self.raw(index, f"{key}.npy")), allow_pickle=False)
        return out

    def close(self) -> None:
        for zf in self._handles.values():
            zf.close()
        self._handles = {}
