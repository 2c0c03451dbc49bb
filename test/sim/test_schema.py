"""On-disk format and torch Dataset: keys, shapes, dtypes, value ranges."""
from __future__ import annotations

import json

import numpy as np
import torch

from mash_ros.core.classes import ALL_CLASSES, NUM_CLASSES, OBSTRUCTION
from mash_ros.sim.dataset import MashSimDataset
from mash_ros.sim.format import FORMAT, VERSION, SimReader


def test_meta(tiny_split, tiny_cfg):
    meta = json.loads((tiny_split / "meta.json").read_text())
    assert meta["format"] == FORMAT and meta["version"] == VERSION
    assert meta["count"] == 4 and meta["agents"] == tiny_cfg.agents
    assert (meta["hs"], meta["ws"]) == (tiny_cfg.height // 8, tiny_cfg.width // 8)
    assert meta["classes"] == list(ALL_CLASSES)
    assert [s["first"] for s in meta["shards"]] == [0, 2]
    assert all((tiny_split / s["file"]).exists() for s in meta["shards"])
    K = np.array(meta["K"])
    assert K.shape == (3, 3) and K[0, 2] == (tiny_cfg.width - 1) / 2


def test_dataset_item(tiny_split, tiny_cfg):
    ds = MashSimDataset(tiny_split)
    assert len(ds) == 4
    n, h, w = tiny_cfg.agents, tiny_cfg.height, tiny_cfg.width
    hs = h // 8
    for i in range(len(ds)):
        x = ds[i]
        expect = {"rgb": ((n, 3, h, w), torch.uint8), "labels": ((n, h, w), torch.int64),
                  "labels_obstructed": ((n, h, w), torch.int64),
                  "obstruction_mask": ((n, h, w), torch.bool), "target": ((), torch.int64),
                  "corr": ((n, n, hs, hs), torch.int64), "rgb_clean": ((3, h, w), torch.uint8),
                  "depth": ((n, h, w), torch.float32), "poses": ((n, 4, 4), torch.float32),
                  "K": ((3, 3), torch.float32), "index": ((), torch.int64)}
        assert set(x) == set(expect)
        for key, (shape, dtype) in expect.items():
            assert tuple(x[key].shape) == shape, key
            assert x[key].dtype == dtype, key
        t = int(x["target"])
        assert 0 <= t < n
        assert x["labels"].min() >= 0 and x["labels"].max() < NUM_CLASSES
        assert set(x["labels_obstructed"].unique().tolist()) <= set(range(NUM_CLASSES + 1))
        assert (x["labels_obstructed"] == OBSTRUCTION).equal(x["obstruction_mask"])
        assert x["corr"].min() >= 0 and x["corr"].max() <= hs * hs
        for a in range(n):
            assert x["corr"][a, a].flatten().equal(torch.arange(hs * hs))
        assert torch.isfinite(x["poses"]).all()
        assert (x["depth"][torch.isfinite(x["depth"])] > 0).all()


def test_dense_warp_keys(tiny_split, tiny_cfg):
    ds = MashSimDataset(tiny_split, dense_warp=True)
    x = ds[0]
    n = tiny_cfg.agents
    h, w = tiny_cfg.height, tiny_cfg.width
    assert x["warp_grid"].shape == (n, h, w, 2) and x["warp_grid"].dtype == torch.float32
    assert x["warp_valid"].shape == (n, h, w) and x["warp_valid"].dtype == torch.bool
    t = int(x["target"])
    assert x["warp_valid"][t].all()  # identity onto itself
    grid, valid = ds.gt_warp(0, supporter=(t + 1) % n)
    assert grid.equal(x["warp_grid"][(t + 1) % n]) and valid.equal(x["warp_valid"][(t + 1) % n])
    g = x["warp_grid"][x["warp_valid"]]
    assert (g.abs() <= 1).all()


def test_dataloader_batches(tiny_split):
    ds = MashSimDataset(tiny_split, keys=["rgb", "labels", "target"])
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2, num_workers=0)))
    assert set(batch) == {"rgb", "labels", "target"}
    assert batch["rgb"].shape[0] == 2 and batch["target"].shape == (2,)


def test_reader_arrays(tiny_split):
    r = SimReader(tiny_split)
    a = r.read(3)
    assert a["info"]["index"] == 3 and a["info"]["episode"] == 1 and a["info"]["frame"] == 1
    assert a["depth"].dtype == np.float16 and a["corr"].dtype == np.int16
    assert a["poses"].dtype == np.float64
    R = a["poses"][:, :3, :3]
    assert np.allclose(R @ R.transpose(0, 2, 1), np.eye(3), atol=1e-6)
