"""sim: synthetic data generation speed, size on disk, and statistics vs the paper.

Measures end-to-end snapshots per second (city build + flight + rendering + correspondences +
encoding + writing, one process) at each size, bytes per 1,000 snapshots, Dataset loading speed,
and the overlap / pose statistics of ``--stats-snapshots`` snapshots at 128x128.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path


def add_arguments(parser) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--snapshots", type=int, nargs="+", default=[40, 16],
                        help="snapshots to generate per size (one episode each)")
    parser.add_argument("--agents", type=int, default=6)
    parser.add_argument("--stats-episodes", type=int, default=10)
    parser.add_argument("--stats-every", type=int, default=4,
                        help="use every k-th frame of each 40-frame episode for the statistics")
    parser.add_argument("--seed", type=int, default=0)


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run(args) -> dict:
    from mash_ros.sim.config import SimConfig
    from mash_ros.sim.dataset import MashSimDataset
    from mash_ros.sim.generator import EpisodeRenderer
    from mash_ros.sim.stats import StatsAccumulator
    from mash_ros.sim.writer import generate_split

    results: dict = {"speed": {}}
    counts = list(args.snapshots) + [args.snapshots[-1]] * (len(args.sizes) - len(args.snapshots))
    with tempfile.TemporaryDirectory() as tmp:
        for size, count in zip(args.sizes, counts):
            cfg = SimConfig(height=size, width=size, agents=args.agents, episode_length=count)
            root = Path(tmp) / f"s{size}"
            t0 = time.perf_counter()
            generate_split(root, "train", count, args.seed, cfg, progress=False)
            wall = time.perf_counter() - t0
            # rendering alone (no city build, no writing)
            er = EpisodeRenderer(cfg, args.seed + 1, "train", 0)
            t1 = time.perf_counter()
            frames = min(count, 8)
            for f in range(frames):
                er.render(f)
            render_s = (time.perf_counter() - t1) / frames
            nbytes = _dir_bytes(root)
            ds = MashSimDataset(root)
            t2 = time.perf_counter()
            for i in range(len(ds)):
                ds[i]
            load_s = (time.perf_counter() - t2) / len(ds)
            t3 = time.perf_counter()
            ds_w = MashSimDataset(root, dense_warp=True)
            for i in range(min(4, len(ds_w))):
                ds_w[i]
            warp_s = (time.perf_counter() - t3) / min(4, len(ds_w))
            results["speed"][f"{size}x{size}"] = {
                "snapshots": count, "agents": args.agents, "wall_s": round(wall, 3),
                "snapshots_per_s": round(count / wall, 3),
                "render_only_s_per_snapshot": round(render_s, 4),
                "bytes_per_snapshot": nbytes // count,
                "bytes_per_1000_snapshots": int(nbytes / count * 1000),
                "dataset_getitem_s": round(load_s, 4),
                "dataset_getitem_dense_warp_s": round(warp_s, 4),
            }
            print(f"sim {size}x{size}: {count / wall:.2f} snapshots/s, "
                  f"{nbytes / count * 1000 / 1e6:.0f} MB per 1000")
    acc = StatsAccumulator()
    cfg = SimConfig()
    t0 = time.perf_counter()
    for e in range(args.stats_episodes):
        er = EpisodeRenderer(cfg, args.seed + 1000, "train", e)
        for f in range(0, cfg.episode_length, args.stats_every):
            s = er.render(f)
            acc.add(s.corr, s.poses, s.labels, s.mask, s.target, s.obstruction_kind)
    results["statistics"] = acc.summary()
    results["statistics"]["wall_s"] = round(time.perf_counter() - t0, 2)
    return results
