"""Same seed -> identical bytes; different seeds and splits -> different data and cities."""
from __future__ import annotations

from pathlib import Path

from mash_ros.sim.config import city_seed
from mash_ros.sim.writer import generate_split


def _files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


def test_same_seed_identical_bytes(tmp_path, tiny_split, tiny_cfg):
    again = generate_split(tmp_path / "again", "train", 4, seed=7, cfg=tiny_cfg, progress=False)
    a, b = _files(tiny_split), _files(again)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], name


def test_parallel_workers_identical_bytes(tmp_path, tiny_split, tiny_cfg):
    par = generate_split(tmp_path / "par", "train", 4, seed=7, cfg=tiny_cfg, workers=2,
                         progress=False)
    assert _files(par) == _files(tiny_split)


def test_other_seed_differs(tmp_path, tiny_split, tiny_cfg):
    other = generate_split(tmp_path / "other", "train", 2, seed=8, cfg=tiny_cfg, progress=False)
    assert _files(other)["episode_00000.zip"] != _files(tiny_split)["episode_00000.zip"]


def test_split_city_seeds_disjoint():
    seeds = {split: {city_seed(0, split, e) for e in range(2000)}
             for split in ("train", "val", "test")}
    assert not seeds["train"] & seeds["val"]
    assert not seeds["train"] & seeds["test"]
    assert not seeds["val"] & seeds["test"]
    assert all(len(s) == 2000 for s in seeds.values())
