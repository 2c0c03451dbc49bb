"""Generate a split: render every episode into its shard, then write ``meta.json``.

Episodes are independent (their own city and seed stream), so they may be rendered by several
worker processes; the bytes do not depend on the number of workers.
"""
from __future__ import annotations

import math
import multiprocessing as mp
from pathlib import Path
from typing import Callable

from .config import SimConfig, city_seed
from .format import FORMAT, VERSION, ShardWriter, class_table, write_meta
from .generator import EpisodeRenderer


def episode_plan(count: int, cfg: SimConfig) -> list[tuple[int, int, int]]:
    """(episode, first global index, number of snapshots) for ``count`` snapshots."""
    n_ep = math.ceil(count / cfg.episode_length)
    return [(e, e * cfg.episode_length, min(cfg.episode_length, count - e * cfg.episode_length))
            for e in range(n_ep)]


def shard_name(episode: int) -> str:
    return f"episode_{episode:05d}.zip"


def render_episode(root: Path, cfg: SimConfig, seed: int, split: str, episode: int, first: int,
                   count: int, rgb_format: str = "png",
                   on_snapshot: Callable[[], None] | None = None) -> dict:
    renderer = EpisodeRenderer(cfg, seed, split, episode)
    writer = ShardWriter(Path(root) / shard_name(episode), rgb_format)
    for f in range(count):
        writer.write(renderer.render(f, first + f))
        if on_snapshot:
            on_snapshot()
    writer.close()
    return {"file": shard_name(episode), "episode": episode, "city_seed": renderer.city_seed,
            "first": first, "count": count}


def _worker(job):
    return render_episode(*job)


def split_meta(cfg: SimConfig, seed: int, split: str, count: int, shards: list[dict],
               rgb_format: str) -> dict:
    from .camera import intrinsics

    return {"format": FORMAT, "version": VERSION, "split": split, "seed": seed, "count": count,
            "height": cfg.height, "width": cfg.width, "agents": cfg.agents,
            "stride": cfg.stride, "hs": cfg.height // cfg.stride, "ws": cfg.width // cfg.stride,
            "K": intrinsics(cfg.height, cfg.width, cfg.fov_deg).tolist(),
            "fov_deg": cfg.fov_deg, "period": cfg.period, "rgb_format": rgb_format,
            "config": cfg.to_dict(), "shards": shards, **class_table()}


def generate_split(root: str | Path, split: str, count: int, seed: int = 0,
                   cfg: SimConfig = SimConfig(), workers: int = 1, rgb_format: str = "png",
                   progress: bool = True) -> Path:
    """Render ``count`` snapshots of ``split`` into ``root``; returns ``root``."""
    from tqdm import tqdm

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    plan = episode_plan(count, cfg)
    bar = tqdm(total=count, unit="snap", desc=f"mash-sim {split}", disable=not progress)
    shards: list[dict] = []
    if workers <= 1:
        for e, first, n in plan:
            shards.append(render_episode(root, cfg, seed, split, e, first, n, rgb_format,
                                         lambda: bar.update(1)))
    else:
        jobs = [(root, cfg, seed, split, e, first, n, rgb_format) for e, first, n in plan]
        with mp.get_context("spawn").Pool(workers) as pool:
            for shard in pool.imap(_worker, jobs):
                shards.append(shard)
                bar.update(shard["count"])
    bar.close()
    shards.sort(key=lambda s: s["first"])
    assert all(s["city_seed"] == city_seed(seed, split, s["episode"]) for s in shards)
    write_meta(root, split_meta(cfg, seed, split, count, shards, rgb_format))
    return root
