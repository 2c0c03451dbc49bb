"""mash-sim: synthetic multi-drone data (procedural city, embree ray casting).

Subcommands:
  generate     render a split:  mash-sim generate --out data/generated/sim --split train
               --count 1000 --size 128 --agents 6 --seed 0   (writes <out>/<split>/)
  export-bag   split -> rosbag2 (AirSim ROS 2 wrapper layout + /mash_gt ground truth)
  preview      PNG montage of some snapshots
  stats        overlap / pose / obstruction / class statistics vs the paper's
  sample       generate the bundled sample (data/sample) and its bag
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _config(ns):
    from mash_ros.sim.config import SimConfig

    h = ns.height or ns.size
    w = ns.width or ns.size
    return SimConfig(height=h, width=w, agents=ns.agents, episode_length=ns.episode_length,
                     period=ns.period, fov_deg=ns.fov, noise=ns.noise)


def cmd_generate(ns) -> int:
    from mash_ros.sim.bag import export_bag
    from mash_ros.sim.writer import generate_split

    cfg = _config(ns)
    for split in ns.split.split(","):
        root = Path(ns.out) / split
        generate_split(root, split, ns.count, ns.seed, cfg, ns.workers, ns.rgb_format,
                       progress=not ns.quiet)
        print(f"mash-sim: wrote {ns.count} snapshots to {root}")
        if ns.to_bag:
            bag = Path(ns.out) / f"{split}_bag"
            export_bag(root, bag, ns.storage, progress=not ns.quiet)
            print(f"mash-sim: wrote {bag}")
    return 0


def cmd_export_bag(ns) -> int:
    from mash_ros.sim.bag import export_bag

    out = Path(ns.out) if ns.out else Path(ns.split_dir).with_name(Path(ns.split_dir).name + "_bag")
    export_bag(ns.split_dir, out, ns.storage, ns.limit, progress=not ns.quiet)
    print(f"mash-sim: wrote {out}")
    return 0


def cmd_preview(ns) -> int:
    from mash_ros.sim.preview import write_preview

    out = write_preview(ns.split_dir, ns.out, ns.index, ns.scale)
    print(f"mash-sim: wrote {out}")
    return 0


def cmd_stats(ns) -> int:
    from tqdm import tqdm

    from mash_ros.sim.format import SimReader
    from mash_ros.sim.stats import StatsAccumulator, format_summary

    reader = SimReader(ns.split_dir)
    acc = StatsAccumulator()
    n = len(reader) if ns.limit is None else min(ns.limit, len(reader))
    for k in tqdm(range(n), unit="snap", disable=ns.quiet):
        a = reader.read(k, ["corr", "poses", "labels", "mask", "info"])
        acc.add(a["corr"], a["poses"], a["labels"], a["mask"], a["info"]["target"],
                a["info"]["obstruction"])
    summary = acc.summary()
    print(format_summary(summary))
    if ns.json:
        Path(ns.json).write_text(json.dumps(summary, indent=2))
    return 0


def cmd_sample(ns) -> int:
    from mash_ros.sim.sample import ensure_sample, ensure_sample_bag, generate_sample

    path = Path(ns.out) if ns.out else None
    root = generate_sample(path, not ns.quiet) if (path and ns.force) else ensure_sample(path)
    print(f"mash-sim: sample at {root}")
    if ns.bag:
        print(f"mash-sim: sample bag at {ensure_sample_bag()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mash-sim", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[2:]))
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="render a split (or several, comma separated)")
    g.add_argument("--out", required=True, help="output root; each split goes to <out>/<split>")
    g.add_argument("--split", default="train", help="train | val | test (comma list allowed)")
    g.add_argument("--count", type=int, default=100, help="snapshots per split")
    g.add_argument("--size", type=int, default=128, help="image height = width")
    g.add_argument("--height", type=int, default=None)
    g.add_argument("--width", type=int, default=None)
    g.add_argument("--agents", type=int, default=6)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--episode-length", type=int, default=40, help="snapshots per city")
    g.add_argument("--period", type=float, default=0.5, help="seconds between snapshots")
    g.add_argument("--fov", type=float, default=90.0, help="horizontal field of view, degrees")
    g.add_argument("--noise", type=float, default=1.0, help="sensor noise scale (0 = none)")
    g.add_argument("--workers", type=int, default=1, help="processes (one episode each)")
    g.add_argument("--rgb-format", choices=["png", "jpg"], default="png")
    g.add_argument("--to-bag", action="store_true", help="also export <out>/<split>_bag")
    g.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=cmd_generate)

    b = sub.add_parser("export-bag", help="export a split as a rosbag2")
    b.add_argument("split_dir")
    b.add_argument("--out", help="bag directory (default: <split_dir>_bag)")
    b.add_argument("--storage", choices=["mcap", "sqlite3"], default="mcap")
    b.add_argument("--limit", type=int, default=None, help="first N snapshots only")
    b.add_argument("--quiet", action="store_true")
    b.set_defaults(func=cmd_export_bag)

    v = sub.add_parser("preview", help="PNG montage of snapshots")
    v.add_argument("split_dir")
    v.add_argument("--out", default="sim_preview.png")
    v.add_argument("--index", type=int, nargs="+", default=[0])
    v.add_argument("--scale", type=int, default=2)
    v.set_defaults(func=cmd_preview)

    s = sub.add_parser("stats", help="statistics vs the paper's")
    s.add_argument("split_dir")
    s.add_argument("--limit", type=int, default=None)
    s.add_argument("--json", help="also write the numbers to this file")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_stats)

    m = sub.add_parser("sample", help="make sure the bundled sample (and its bag) exist")
    m.add_argument("--out", help="directory (default: data/sample)")
    m.add_argument("--force", action="store_true", help="regenerate into --out")
    m.add_argument("--bag", action="store_true", help="also export the sample bag")
    m.add_argument("--quiet", action="store_true")
    m.set_defaults(func=cmd_sample)
    return p


def main(args=None) -> int:
    ns = build_parser().parse_args(args)
    return ns.func(ns)


if __name__ == "__main__":
    sys.exit(main())
