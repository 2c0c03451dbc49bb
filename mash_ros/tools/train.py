"""``mash-train``: train MASH or a baseline on simulator data; writes weights + model card."""
from __future__ import annotations

import argparse
import shlex
import sys

import torch
import yaml

from mash_ros.core.config import load_preset
from mash_ros.core.models import MODEL_KINDS
from mash_ros.learning.trainer import TrainSettings, train


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-train", description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=MODEL_KINDS, default="mash")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--data", required=True,
                        help="simulator root holding train/ and val/ (mash-sim generate --out)")
    parser.add_argument("--out", required=True, help="weights file, e.g. models/mash_cpu.pt")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--aux-weight", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-budget", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes decoding the data into its cache on first use")
    parser.add_argument("--val-limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--init", default="", metavar="WEIGHTS",
                        help="start from these weights (fine-tuning; new modules keep init)")
    parser.add_argument("--init-modules", default="", metavar="NAMES",
                        help="comma list of top-level modules to take from --init, e.g. "
                             "'backbone' (default: all that match)")
    parser.add_argument("--freeze", choices=("", "backbone"), default="",
                        help="backbone: keep the --init weights' SegNet fixed (and its BatchNorm "
                             "statistics) and train only what MASH adds on top")
    parser.add_argument("--run-dir", default="runs",
                        help="where the resumable state and the CSV log go")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a preset field, e.g. --set query_dim=16 --set fusion=soft")
    ns = parser.parse_args(args)
    if ns.threads:
        torch.set_num_threads(ns.threads)
    overrides = {}
    for item in ns.set:
        key, value = item.split("=", 1)
        overrides[key] = yaml.safe_load(value)
    cfg = load_preset(ns.preset, **overrides)
    settings = TrainSettings(kind=ns.kind, train_dir=f"{ns.data}/train", val_dir=f"{ns.data}/val",
                             out=ns.out, epochs=ns.epochs, batch_size=ns.batch_size, lr=ns.lr,
                             aux_weight=ns.aux_weight, seed=ns.seed, time_budget_s=ns.time_budget,
                             workers=ns.workers, val_limit=ns.val_limit, device=ns.device,
                             run_dir=ns.run_dir, init=ns.init, freeze=ns.freeze,
                             init_modules=ns.init_modules)
    command = "mash-train " + " ".join(shlex.quote(a) for a in (args if args is not None
                                                                 else sys.argv[1:]))
    card = train(settings, cfg, command)
    print(f"wrote {ns.out} (sha256 {card['sha256'][:12]}…), best val mIoU "
          f"{card['validation']['full']['miou']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
