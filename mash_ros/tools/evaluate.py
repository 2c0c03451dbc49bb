"""``mash-evaluate``: Table I on the simulator's test split for every model in a directory.

For each model: full-image and obstructed-region accuracy and mIoU; bandwidth per target and
per supporting agent in bytes (from the real codecs) and in the paper's units; compute time as
a ratio to the backbone time t. MASH runs as the swarm runs it (role API + wire codecs), and is
also swept over the confidence threshold and scored with a float32 query. Writes
``results.json``, ``results.md`` and ``bandwidth.png`` to ``--out``.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

import torch

from mash_ros.core.checkpoint import ModelFileError, load_checkpoint, update_card
from mash_ros.core.consensus import GeometricConsensus, NoConsensus
from mash_ros.core.fusion import HardSelection, SoftSelection
from mash_ros.core.metrics import SegmentationScore
from mash_ros.learning.data import TargetFirstDataset
from mash_ros.learning.evaluation import evaluate_dense, evaluate_distributed
from mash_ros.learning.every_drone import evaluate_every_drone, every_drone_summary
from mash_ros.learning.matching import matching_accuracy
from mash_ros.learning.references import pixel_references
from mash_ros.learning.report import bandwidth_plot, markdown_table
from mash_ros.learning.timing import compute_ratios
from mash_ros.tools.encoding_args import add_encoding_arguments

KIND_ORDER = ("inpainting", "input_stack", "output_stack", "warped_output_stack", "mash")


def raw_bandwidth(kind: str, cfg) -> dict:
    """What the baselines send, per the paper: raw images (x) or full output maps (y)."""
    x = cfg.image_height * cfg.image_width * 3           # one rgb8 image, bytes
    y = cfg.image_height * cfg.image_width * cfg.num_classes  # one uint8 distribution map
    if kind == "input_stack":
        return {"target_bytes": None, "supporting_bytes": x, "target_x": None,
                "supporting_y": None, "supporting_x": 1.0}
    if kind == "output_stack":
        return {"target_bytes": None, "supporting_bytes": y, "target_x": None,
                "supporting_y": 1.0}
    return {"target_bytes": None, "supporting_bytes": None, "target_x": None,
            "supporting_y": None}


def evaluate_mash(model, cfg, test, ns) -> dict:
    x = cfg.image_height * cfg.image_width * 3
    y = cfg.image_height * cfg.image_width * cfg.num_classes
    run = evaluate_distributed(model, test, ns.query_encoding, ns.patch_encoding, ns.limit)
    bw = run["bandwidth"]
    row = {"segmentation": run["fused"].summary(), "single_agent": run["single"].summary(),
           "bandwidth": {**bw, "target_bytes": bw["query_bytes_per_frame"],
                         "supporting_bytes": bw["answer_bytes_per_supporter"],
                         "target_x": bw["query_bytes_per_frame"] / x,
                         "supporting_y": bw["answer_bytes_per_supporter"] / y}}
    exact = evaluate_distributed(model, test, "float32", "float16", ns.limit)
    row["float32_query"] = {"miou": exact["fused"].summary()["full"]["miou"],
                            "obstructed_miou": exact["fused"].summary()["obstructed"]["miou"],
                            "query_bytes": exact["bandwidth"]["query_bytes_per_frame"]}
    other = "top1" if ns.patch_encoding != "top1" else "uint8"
    compact = evaluate_distributed(model, test, ns.query_encoding, other, ns.limit)
    row["other_patch_encoding"] = {
        "encoding": other, "miou": compact["fused"].summary()["full"]["miou"],
        "obstructed_miou": compact["fused"].summary()["obstructed"]["miou"],
        "supporting_bytes": compact["bandwidth"]["answer_bytes_per_supporter"],
        "supporting_y": compact["bandwidth"]["answer_bytes_per_supporter"] / y}
    sweep = []
    default = model.confidence_threshold
    for threshold in ns.thresholds:
        model.confidence_threshold = threshold
        point = evaluate_distributed(model, test, ns.query_encoding, ns.patch_encoding,
                                     ns.sweep_limit or ns.limit)
        summary = point["fused"].summary()
        sweep.append({"threshold": threshold, "miou": summary["full"]["miou"],
                      "obstructed_miou": summary["obstructed"]["miou"],
                      "supporting_bytes": point["bandwidth"]["answer_bytes_per_supporter"],
                      "r": point["bandwidth"]["r"]})
        print(f"  threshold {threshold}: mIoU {summary['full']['miou']:.2f}, "
              f"{point['bandwidth']['answer_bytes_per_supporter']:.0f} B/supporter", flush=True)
    model.confidence_threshold = default
    row["threshold_sweep"] = sweep
    row["matching"] = matching_accuracy(model, test, cfg, ns.sweep_limit or ns.limit)
    row["ablations"] = ablations(model, test, ns)
    if isinstance(model.consensus, GeometricConsensus):  # ablation: the same weights without it
        consensus, model.consensus = model.consensus, NoConsensus()
        plain = evaluate_distributed(model, test, ns.query_encoding, ns.patch_encoding,
                                     ns.sweep_limit or ns.limit)
        row["without_consensus"] = {
            "miou": plain["fused"].summary()["full"]["miou"],
            "obstructed_miou": plain["fused"].summary()["obstructed"]["miou"],
            "matching": matching_accuracy(model, test, cfg, ns.sweep_limit or ns.limit,
                                          references=False)["model"]}
        model.consensus = consensus
    row["pixel_references"] = pixel_references(model, test, cfg, ns.sweep_limit or ns.limit)
    row["every_drone"] = every_drone(model, test, ns)
    return row


def every_drone(model, test, ns) -> dict:
    """Each drone of a snapshot as the target, for each weight of the target's own confidence
    (the model's own one and ``--own-weights``), on the sweep's snapshots."""
    weights = sorted({model.own_weight, *ns.own_weights})
    if not isinstance(model.fusion, (HardSelection, SoftSelection)):
        weights = [model.own_weight]  # a trained fusion takes the confidence as an input
    summary = every_drone_summary(evaluate_every_drone(
        model, test, weights, ns.query_encoding, ns.patch_encoding, ns.sweep_limit or ns.limit))
    single = summary["single"]
    print(f"  every drone, alone: target {single['target']['miou']:.2f}, others "
          f"{single['others']['miou']:.2f}", flush=True)
    for point in summary["own_weight_sweep"]:
        print(f"  every drone, own weight {point['own_weight']:g}: target "
              f"{point['target']['miou']:.2f} / {point['target']['obstructed_miou']:.2f}, "
              f"others {point['others']['miou']:.2f}", flush=True)
    return summary


def ablations(model, test, ns) -> dict:
    """The same weights run otherwise, on the sweep's snapshots: each weight-free fusion mode
    other than the trained one (SoftSelection averages every confident supporter per cell,
    HardSelection keeps the single most confident), the paper's whole-cell warp instead of the
    sub-cell one, and the supporter's global homography instead of the local fit."""
    limit = ns.sweep_limit or ns.limit
    variants = {}
    for mode, module in (("hard", HardSelection), ("soft", SoftSelection)):
        if not isinstance(model.fusion, module):
            variants[f"fusion_{mode}"] = ("fusion", module())
    if model.subcell:
        variants["whole_cell_warp"] = ("subcell", False)
    if model.local_sigma > 0:
        variants["global_fit_only"] = ("local_sigma", 0.0)
    out = {}
    for name, (attribute, value) in variants.items():
        kept = getattr(model, attribute)
        setattr(model, attribute, value)
        try:
            run = evaluate_distributed(model, test, ns.query_encoding, ns.patch_encoding, limit)
        finally:
            setattr(model, attribute, kept)
        reference = run["single"].summary()
        fused = run["fused"].summary()
        out[name] = {"miou": fused["full"]["miou"], "obstructed_miou": fused["obstructed"]["miou"],
                     "single_miou": reference["full"]["miou"],
                     "single_obstructed_miou": reference["obstructed"]["miou"],
                     "supporting_bytes": run["bandwidth"]["answer_bytes_per_supporter"],
                     "snapshots": len(test) if not limit else min(limit, len(test))}
        print(f"  ablation {name}: mIoU {fused['full']['miou']:.2f}, obstructed "
              f"{fused['obstructed']['miou']:.2f}", flush=True)
    return out


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="simulator root holding test/")
    parser.add_argument("--split", default="test",
                        help="split to score (val: for choosing inference settings)")
    parser.add_argument("--models", default="models", help="directory of *.pt with model cards")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--limit", type=int, default=0, help="first N test snapshots (0 = all)")
    parser.add_argument("--sweep-limit", type=int, default=100)
    parser.add_argument("--thresholds", type=float, nargs="+",
                        default=[0.0, 0.1, 0.2, 0.3, 0.5, 0.7])
    parser.add_argument("--own-weights", type=float, nargs="+", default=[1.0, 1.5, 2.0, 3.0],
                        help="weights of the target's own confidence (fusion_own_weight) to "
                             "score with every drone as the target, besides the model's own")
    add_encoding_arguments(parser)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--write-cards", action="store_true",
                        help="store each model's row in its model card (key 'evaluation')")
    ns = parser.parse_args(args)
    if ns.threads:
        torch.set_num_threads(ns.threads)
    out = pathlib.Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    test = TargetFirstDataset(pathlib.Path(ns.data) / ns.split)
    rows = []
    weights = sorted(pathlib.Path(ns.models).glob("*.pt"))
    if not weights:
        print(f"no weights in {ns.models}", file=sys.stderr)
        return 1
    for path in weights:
        try:
            model, cfg, card = load_checkpoint(path)
        except ModelFileError as err:
            print(f"mash-evaluate: error: {err}", file=sys.stderr)
            return 2
        kind = card["kind"]
        print(f"{path.name}: {kind}", flush=True)
        if kind == "mash":
            row = evaluate_mash(model, cfg, test, ns)
        else:
            ceiling = SegmentationScore() if kind == "inpainting" else None
            score = evaluate_dense(model, test, kind, limit=ns.limit, ceiling=ceiling)
            row = {"segmentation": score.summary(), "bandwidth": raw_bandwidth(kind, cfg)}
            if ceiling is not None:
                row["perfect_infill"] = ceiling.summary()
        row.update({"model": path.name, "kind": kind, "sha256": card["sha256"],
                    "query_dim": cfg.query_dim if kind == "mash" else None,
                    "key_dim": cfg.key_dim if kind == "mash" else None,
                    "compute": compute_ratios(model, kind, cfg)})
        rows.append(row)
    rows.sort(key=lambda r: (KIND_ORDER.index(r["kind"]), r["model"]))
    meta = {"data": str(ns.data), "split": ns.split,
            "test_snapshots": len(test) if not ns.limit else ns.limit,
            "query_encoding": ns.query_encoding, "patch_encoding": ns.patch_encoding,
            "torch_threads": torch.get_num_threads()}
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    if ns.write_cards:
        command = "mash-evaluate " + " ".join(args if args is not None else sys.argv[1:])
        for row in rows:
            update_card(pathlib.Path(ns.models) / row["model"], evaluation={
                "command": command, **meta,
                **{k: row[k] for k in ("segmentation", "bandwidth", "compute")}})
    (out / "results.md").write_text(markdown_table(rows, meta))
    bandwidth_plot(rows, out / "bandwidth.png")
    print((out / "results.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
