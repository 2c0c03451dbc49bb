"""``mash-configure``: change a MASH checkpoint's inference settings, never its weights.

Some fields of a model's configuration steer inference only: the confidence threshold and cell
budget (what a supporter sends), the weight-free fusion modes (HardSelection, SoftSelection)
and how much the target's own confidence weighs in them, the target's answer verification and
the supporter's local geometry (``localfit.py``). They can
be chosen after training, on the validation split (``mash-evaluate``'s threshold sweep and
ablations), without retraining::

    mash-configure runs/mash_cpu.pt --out models/mash_cpu.pt \\
        --set fusion=soft --set verify_own_confidence=0.8 --set verify_sharpness=8 \\
        --note "chosen on the validation split"

The weights are loaded into a network built with the new settings strictly (so nothing can
change but the listed fields) and written with a card that keeps the training history and
records what changed, from which file (sha256) and why.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import yaml

from mash_ros.core.checkpoint import ModelFileError, load_checkpoint, save_checkpoint
from mash_ros.core.models import build_model

INFERENCE_FIELDS = ("confidence_threshold", "cell_budget", "fusion", "verify_own_confidence",
                    "verify_sharpness", "fusion_own_weight", "local_fit_sigma",
                    "local_fit_inlier_cells")
WEIGHT_FREE_FUSION = ("hard", "soft")


def configure(weights: str, out: str, changes: dict, note: str = "") -> dict:
    """Write ``out``: the MASH model at ``weights`` with inference fields ``changes``."""
    unknown = sorted(set(changes) - set(INFERENCE_FIELDS))
    if unknown:
        raise ValueError(f"not inference settings: {unknown}; allowed: {list(INFERENCE_FIELDS)}")
    model, cfg, card = load_checkpoint(weights, expected_kind="mash")
    if "fusion" in changes and not (cfg.fusion in WEIGHT_FREE_FUSION
                                    and changes["fusion"] in WEIGHT_FREE_FUSION):
        raise ValueError(f"fusion {cfg.fusion!r} -> {changes['fusion']!r}: only between the "
                         f"weight-free modes {WEIGHT_FREE_FUSION}")
    if "fusion_own_weight" in changes and cfg.replace(**changes).fusion not in WEIGHT_FREE_FUSION:
        raise ValueError("fusion_own_weight weighs the target's confidence in a weight-free "
                         f"fusion {WEIGHT_FREE_FUSION}; a trained fusion takes it as an input")
    new_cfg = cfg.replace(**changes)
    network = build_model(new_cfg, "mash")
    network.load_state_dict(model.state_dict(), strict=True)  # the same weights, nothing else
    history = {k: v for k, v in card.items()
               if k not in ("name", "file", "format", "kind", "preset", "classes", "input_size",
                            "config", "parameters", "sha256", "evaluation")}
    record = {"changed": {k: {"from": getattr(cfg, k), "to": getattr(new_cfg, k)}
                          for k in changes},
              "weights_from": {"file": str(weights), "sha256": card["sha256"]}, "note": note}
    earlier = history.get("inference_settings", [])
    # a list, oldest first: configuring twice must not erase why the first change was made
    history["inference_settings"] = (earlier if isinstance(earlier, list) else [earlier]) + [record]
    return save_checkpoint(out, network.eval(), new_cfg, "mash", history)


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-configure", description=__doc__.splitlines()[0])
    parser.add_argument("weights", help="a MASH checkpoint with its model card")
    parser.add_argument("--out", help="where to write (default: replace WEIGHTS)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help=f"one of {', '.join(INFERENCE_FIELDS)}")
    parser.add_argument("--note", default="", help="why (kept in the card)")
    ns = parser.parse_args(args)
    changes = {}
    for item in ns.set:
        if "=" not in item:
            parser.error(f"--set {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        changes[key] = yaml.safe_load(value)
    if not changes:
        parser.error("nothing to change (--set KEY=VALUE)")
    out = ns.out or ns.weights
    try:
        card = configure(ns.weights, out, changes, ns.note)
    except (ValueError, ModelFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    changed = card["inference_settings"][-1]["changed"]
    print(f"wrote {pathlib.Path(out)} (sha256 {card['sha256'][:12]}…): "
          + ", ".join(f"{k}={v['to']}" for k, v in changed.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
