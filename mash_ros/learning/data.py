"""Snapshots in the order the models expect: the target first, then the others by index.

The models are called with ``target=0``; putting the snapshot's target in slot 0 (instead of
passing a per-sample target) lets one batch mix snapshots whose targets differ. The order
(target, then increasing index) is the one the stacked baselines use internally.

Decoding a snapshot's PNGs takes ~70 ms, as long as a training step, so a split is decoded
once into compact tensors (uint8 images and labels, int16 cell correspondences, the per-pixel
ground-truth warp in float16: ~0.75 MB per 6-drone 128×128 snapshot) and cached next to the
split as ``targetfirst_cache.pt``.
"""
from __future__ import annotations

import multiprocessing as mp
import pathlib
from concurrent.futures import ProcessPoolExecutor

import torch
from tqdm import tqdm

from mash_ros.sim.dataset import MashSimDataset

KEYS = ("rgb", "labels", "obstruction_mask", "target", "corr")
CACHE_NAME = "targetfirst_cache.pt"
CACHE_VERSION = 2  # 2: per-pixel warp and every agent's obstruction mask


def agent_order(num_agents: int, target: int) -> list[int]:
    return [target] + [j for j in range(num_agents) if j != target]


def _compact(args) -> dict:
    """One snapshot, reordered target-first, in compact dtypes."""
    root, index = args
    sample = MashSimDataset(root, dense_warp=True, keys=KEYS)[index]
    target = int(sample["target"])
    order = agent_order(sample["rgb"].shape[0], target)
    return {"images": sample["rgb"][order],                        # uint8 [N,3,H,W]
            "agent_labels": sample["labels"][order].to(torch.uint8),  # [N,H,W]
            "mask": sample["obstruction_mask"][target],             # bool [H,W]
            "agent_masks": sample["obstruction_mask"][order],       # bool [N,H,W]
            "corr": sample["corr"][target][order[1:]].to(torch.int16),  # [N-1,Hs,Ws]
            # grid_sample coordinates of every target pixel in each supporter, -2 = unseen
            "flow": sample["warp_grid"][order[1:]].to(torch.float16)}  # [N-1,H,W,2]


def load_cache(root: str | pathlib.Path, workers: int = 2) -> dict:
    """Stacked compact tensors of a whole split, built on first use."""
    root = pathlib.Path(root)
    path = root / CACHE_NAME
    count = len(MashSimDataset(root, keys=KEYS))
    if path.exists():
        cache = torch.load(path, weights_only=True)
        if cache.get("version") == CACHE_VERSION and len(cache["images"]) == count:
            return cache
    jobs = [(str(root), i) for i in range(count)]
    # spawn, not fork: a forked child of a process whose torch thread pool already ran can
    # deadlock in that pool
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        items = list(tqdm(pool.map(_compact, jobs, chunksize=16), total=count,
                          desc=f"decoding {root.name}", leave=False))
    cache = {key: torch.stack([item[key] for item in items]) for key in items[0]}
    cache["version"] = CACHE_VERSION
    torch.save(cache, path)
    return cache


class TargetFirstDataset(torch.utils.data.Dataset):
    """A simulator split, target first; each item:

    images        float32 [N,3,H,W] in [0,1], slot 0 = the target
    labels        int64 [H,W]       the target's un-obstructed labels
    agent_labels  int64 [N,H,W]     every agent's un-obstructed labels, same order
    mask          bool [H,W]        the target's obstruction mask
    agent_masks   bool [N,H,W]      every agent's obstruction mask, same order
    corr          int64 [N-1,Hs,Ws] target cell -> supporter cell (Hs*Ws = no match)
    flow          float32 [N-1,H,W,2] per-pixel truth: where each target pixel lands in each
                                    supporter, grid_sample coordinates (align_corners=False);
                                    -2 where it is out of view or occluded there
    index         int64             snapshot index in the split
    """

    def __init__(self, root, workers: int = 2):
        self.root = pathlib.Path(root)
        self.cache = load_cache(self.root, workers)

    def __len__(self) -> int:
        return len(self.cache["images"])

    def __getitem__(self, index: int) -> dict:
        agent_labels = self.cache["agent_labels"][index].long()
        return {"images": self.cache["images"][index].float() / 255.0,
                "labels": agent_labels[0],
                "agent_labels": agent_labels,
                "mask": self.cache["mask"][index],
                "agent_masks": self.cache["agent_masks"][index],
                "corr": self.cache["corr"][index].long(),
                "flow": self.cache["flow"][index].float(),
                "index": torch.tensor(index)}
