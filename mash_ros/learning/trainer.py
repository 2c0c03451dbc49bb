"""The training loop for MASH and the baselines: seeds, checkpoints and resume, CSV log,
validation mIoU, optional wall-clock budget, GPU when present."""
from __future__ import annotations

import csv
import dataclasses
import math
import pathlib
import random
import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from mash_ros.core.checkpoint import card_path, read_card, save_checkpoint, sha256_file
from mash_ros.core.config import MashConfig
from mash_ros.core.losses import mash_loss
from mash_ros.core.models import build_model
from mash_ros.learning.data import TargetFirstDataset
from mash_ros.learning.evaluation import evaluate_dense


@dataclass
class TrainSettings:
    kind: str
    train_dir: str
    val_dir: str
    out: str                    # weights path, e.g. models/mash_cpu.pt
    epochs: int = 10
    batch_size: int = 4
    lr: float = 2e-3
    weight_decay: float = 1e-4
    aux_weight: float = 0.5     # per-agent segmentation loss on every view (MASH, stacks)
    seed: int = 0
    time_budget_s: float = 0.0  # stop after the epoch that crosses it (0 = none)
    workers: int = 2            # processes decoding the split into the cache (first use)
    val_limit: int = 0          # validate on the first N val snapshots (0 = all)
    device: str = "auto"
    run_dir: str = "runs"       # resumable state <name>.state and CSV log <name>.csv
    init: str = ""              # start from these weights (fine-tuning); new modules keep init
    freeze: str = ""            # "backbone": train only what MASH adds on top of a trained one
    init_modules: str = ""      # comma list of top-level modules taken from --init ("" = all)


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def initialise_from(model, path: str, modules: str = "") -> dict:
    """Load matching weights from a checkpoint; modules it lacks keep their initialisation.

    A top-level module with a weight whose shape changed with the configuration (e.g. encoders
    over richer features) starts afresh as a whole, together with the modules initialised
    jointly with it (``model.coupled_modules``: MASH's siamese handshake). ``modules`` (comma
    list) takes only those top-level modules, e.g. a MASH model's trained backbone for a
    baseline."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if modules:
        wanted = set(modules.split(","))
        blob["state_dict"] = {k: v for k, v in blob["state_dict"].items()
                              if k.split(".")[0] in wanted}
    own = model.state_dict()
    fresh = {k.split(".")[0] for k, v in blob["state_dict"].items()
             if k in own and own[k].shape != v.shape}
    for group in getattr(model, "coupled_modules", ()):
        if fresh & set(group):
            fresh |= set(group)
    weights = {k: v for k, v in blob["state_dict"].items() if k.split(".")[0] not in fresh}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected:
        raise ValueError(f"{path} has weights this model does not: {unexpected}")
    print(f"initialised from {path}; new parameters: {missing or 'none'}")
    note = {"weights": str(path), "sha256": sha256_file(path), "new_parameters": missing}
    if card_path(path).is_file():  # keep the whole training history in the new card
        previous = read_card(path)
        note["previous"] = {k: previous.get(k) for k in ("training", "validation", "evaluation")}
    return note


def losses_for(kind: str, model, batch: dict, cfg: MashConfig, aux_weight: float) -> dict:
    """The loss of one batch; Inpainting learns from every view (Table I's stronger variant)."""
    images = batch["images"]
    if kind == "inpainting":
        b, n = images.shape[:2]
        out = model(images.flatten(0, 1).unsqueeze(1), target=0)
        return mash_loss(out, batch["agent_labels"].flatten(0, 1))
    out = model(images, target=0, gt_corr=batch["corr"], gt_flow=batch["flow"])
    return mash_loss(out, batch["labels"], corr_gt=batch["corr"],
                     corr_weight=cfg.corr_loss_weight, aux_labels=batch["agent_labels"],
                     aux_weight=aux_weight if kind in ("mash", "output_stack",
                                                       "warped_output_stack") else 0.0,
                     flow_gt=batch["flow"], flow_weight=cfg.flow_loss_weight,
                     patch=cfg.patch_size, confidence_weight=cfg.confidence_loss_weight)


def freeze(model, what: str) -> list[str]:
    """Stop training part of a model (``"backbone"`` or ``""``); returns the frozen names.

    A frozen backbone also keeps its BatchNorm statistics (``train_mode`` puts it back in eval
    mode after every ``model.train()``)."""
    if not what:
        return []
    if what != "backbone" or not hasattr(model, "backbone"):
        raise ValueError(f"cannot freeze {what!r} of this model (only 'backbone')")
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    return ["backbone"]


def train_mode(model, frozen: list[str]) -> None:
    model.train()
    for name in frozen:
        getattr(model, name).eval()


def train(settings: TrainSettings, cfg: MashConfig, command: str = "") -> dict:
    """Train one model; returns its model card. Resumes from ``<run_dir>/<name>.state``."""
    generator = seed_everything(settings.seed)
    device = pick_device(settings.device)
    out = pathlib.Path(settings.out)
    run_dir = pathlib.Path(settings.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state_path = run_dir / f"{out.stem}.state"
    log_path = run_dir / f"{out.stem}.csv"
    train_set = TargetFirstDataset(settings.train_dir, settings.workers)
    val_set = TargetFirstDataset(settings.val_dir, settings.workers)
    # the split is cached in memory as tensors: batching in the main process is cheapest
    loader = torch.utils.data.DataLoader(train_set, batch_size=settings.batch_size, shuffle=True,
                                         drop_last=True, generator=generator)
    model = build_model(cfg, settings.kind).to(device)
    init_note = None
    if settings.init:
        init_note = initialise_from(model, settings.init, settings.init_modules)
    if settings.kind == "mash":
        # At init match confidences are ~1/(Hs*Ws+1), below any useful threshold: train with
        # every matched cell sent so fusion learns from the start; the card keeps the preset's
        # threshold for inference (and mash-evaluate sweeps it).
        model.confidence_threshold = 0.0
    frozen = freeze(model, settings.freeze)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    total_steps = settings.epochs * len(loader)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.lr, total_steps=total_steps,
                                                   pct_start=0.1)
    epoch, best, elapsed = 0, {"miou": -1.0}, 0.0
    if state_path.exists():  # resume
        state = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        epoch, best, elapsed = state["epoch"], state["best"], state["elapsed"]
        torch.set_rng_state(state["rng"])
        print(f"resuming {out.name} after epoch {epoch}")
    new_log = not log_path.exists() or epoch == 0
    log_file = open(log_path, "w" if new_log else "a", newline="")
    log = csv.writer(log_file)
    if new_log:
        log.writerow(["epoch", "step", "loss", "seg", "corr", "aux", "flow", "conf", "lr",
                      "elapsed_s",
                      "val_miou", "val_obstructed_miou"])
    started = time.monotonic() - elapsed
    while epoch < settings.epochs:
        train_mode(model, frozen)
        sums: dict[str, float] = {}
        bar = tqdm(loader, desc=f"{out.stem} epoch {epoch + 1}/{settings.epochs}", leave=False)
        for step, batch in enumerate(bar):
            batch = {k: v.to(device) for k, v in batch.items()}
            parts = losses_for(settings.kind, model, batch, cfg, settings.aux_weight)
            if not math.isfinite(parts["loss"].item()):
                raise FloatingPointError(f"loss became {parts['loss'].item()} at epoch "
                                         f"{epoch + 1} step {step}")
            optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            schedule.step()
            for name, value in parts.items():
                sums[name] = sums.get(name, 0.0) + value.item()
            bar.set_postfix(loss=f"{sums['loss'] / (step + 1):.3f}")
        epoch += 1
        model.eval()
        if settings.kind == "mash":  # select the best epoch at the inference threshold
            model.confidence_threshold = cfg.confidence_threshold
        score = evaluate_dense(model, val_set, settings.kind, device, limit=settings.val_limit)
        if settings.kind == "mash":
            model.confidence_threshold = 0.0
        val = score.summary()
        steps = len(loader)
        elapsed = time.monotonic() - started
        log.writerow([epoch, epoch * steps, *(round(sums.get(k, 0.0) / steps, 5) for k in
                                               ("loss", "seg", "corr", "aux", "flow",
                                                "conf")),
                      f"{schedule.get_last_lr()[0]:.2e}", round(elapsed, 1),
                      round(val["full"]["miou"], 3), round(val["obstructed"]["miou"], 3)])
        log_file.flush()
        print(f"{out.stem} epoch {epoch}: loss {sums['loss'] / steps:.4f}, val mIoU "
              f"{val['full']['miou']:.2f}, obstructed {val['obstructed']['miou']:.2f}, "
              f"{elapsed / 60:.1f} min", flush=True)
        if val["full"]["miou"] > best["miou"]:
            best = {"miou": val["full"]["miou"], "epoch": epoch, "val": val,
                    "state_dict": {k: v.detach().cpu().clone()
                                   for k, v in model.state_dict().items()}}
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(), "epoch": epoch, "best": best,
                    "elapsed": elapsed, "rng": torch.get_rng_state()}, state_path)
        if settings.time_budget_s and elapsed >= settings.time_budget_s:
            print(f"time budget of {settings.time_budget_s:.0f} s reached after epoch {epoch}")
            break
    log_file.close()
    model.load_state_dict(best["state_dict"])
    if settings.kind == "mash":
        model.confidence_threshold = cfg.confidence_threshold
    card = {"training": {"command": command, "settings": dataclasses.asdict(settings),
                         "epochs_run": epoch, "best_epoch": best["epoch"],
                         "time_s": round(elapsed, 1), "device": str(device),
                         "train_snapshots": len(train_set), "val_snapshots": len(val_set),
                         "torch_threads": torch.get_num_threads(), "init": init_note},
            "data": {"train": str(settings.train_dir), "val": str(settings.val_dir)},
            "validation": {k: {m: v[m] for m in ("pixel_accuracy", "miou")}
                           for k, v in best["val"].items()}}
    return save_checkpoint(out, model.cpu(), cfg, settings.kind, card)
