"""Trained weights on disk: ``<name>.pt`` plus its model card ``<name>.json``.

The card records what the weights are (kind, config, classes, input size), where they came from
(training command, data seed, time) and how they scored, and the sha256 of the ``.pt`` file.
Loading verifies all of it and raises :class:`ModelFileError` with the reason, so a corrupt,
truncated, swapped or mismatched file never yields a silently wrong model.
"""
from __future__ import annotations

import hashlib
import json
import pathlib

import torch

from mash_ros.core.card_schema import card_problems
from mash_ros.core.classes import SCENE_CLASSES
from mash_ros.core.config import MashConfig
from mash_ros.core.models import MODEL_KINDS, build_model

FORMAT = "mash_ros.checkpoint/1"


class ModelFileError(RuntimeError):
    """A weights file or its model card is missing, corrupt or does not fit."""


def sha256_file(path: str | pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_path(weights: str | pathlib.Path) -> pathlib.Path:
    return pathlib.Path(weights).with_suffix(".json")


def save_checkpoint(path: str | pathlib.Path, model: torch.nn.Module, cfg: MashConfig, kind: str,
                    card: dict | None = None) -> dict:
    """Write weights and model card; ``card`` adds provenance and metrics. Returns the card."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"format": FORMAT, "kind": kind, "config": cfg.to_dict(),
                "classes": list(SCENE_CLASSES), "state_dict": state}, path)
    full_card = {"name": path.stem, "file": path.name, "format": FORMAT, "kind": kind,
                 "preset": cfg.name, "classes": list(SCENE_CLASSES),
                 "input_size": [cfg.image_height, cfg.image_width], "config": cfg.to_dict(),
                 "parameters": sum(p.numel() for p in model.parameters()),
                 **(card or {}), "sha256": sha256_file(path)}
    card_path(path).write_text(json.dumps(full_card, indent=2) + "\n")
    return full_card


def read_card(path: str | pathlib.Path) -> dict:
    card_file = card_path(path)
    if not card_file.is_file():
        raise ModelFileError(f"{path}: model card {card_file.name} is missing")
    try:
        return json.loads(card_file.read_text())
    except json.JSONDecodeError as err:
        raise ModelFileError(f"{card_file}: model card is not valid JSON ({err})") from err


def update_card(path: str | pathlib.Path, **fields) -> dict:
    """Add or replace top-level fields of a model card (e.g. its evaluation row).

    The weights file and its sha256 are untouched, so the card still verifies.
    """
    card = read_card(path)
    card.update(fields)
    card_path(path).write_text(json.dumps(card, indent=2) + "\n")
    return card


def load_checkpoint(path: str | pathlib.Path, expected_kind: str | None = None,
                    expected_preset: str | None = None) -> tuple[torch.nn.Module, MashConfig, dict]:
    """Verify and load weights; returns (model in eval mode on the CPU, config, card)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise ModelFileError(f"weights file {path} does not exist")
    card = read_card(path)
    problems = card_problems(card)
    if problems:
        raise ModelFileError(f"{card_path(path)}: not a valid model card: {'; '.join(problems)}")
    actual = sha256_file(path)
    if card.get("sha256") != actual:
        raise ModelFileError(f"{path}: sha256 {actual[:12]}… does not match its model card "
                             f"({str(card.get('sha256'))[:12]}…): corrupt or replaced file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle garbage, …
        raise ModelFileError(f"{path}: not a readable torch checkpoint ({err})") from err
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a {FORMAT} file")
    kind = blob["kind"]
    if kind not in MODEL_KINDS or (expected_kind and kind != expected_kind):
        raise ModelFileError(f"{path}: holds a {kind!r} model, expected {expected_kind!r}")
    if tuple(blob["classes"]) != SCENE_CLASSES or tuple(card["classes"]) != SCENE_CLASSES:
        raise ModelFileError(f"{path}: trained for classes {blob['classes']}, "
                             f"this build has {list(SCENE_CLASSES)}")
    if json.loads(json.dumps(blob["config"])) != card["config"]:  # JSON has no tuples
        raise ModelFileError(f"{path}: config in the weights differs from the model card's")
    try:
        cfg = MashConfig(**blob["config"])
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"{path}: config does not fit this build ({err})") from err
    if expected_preset and cfg.name != expected_preset:
        raise ModelFileError(f"{path}: weights are for preset {cfg.name!r}, "
                             f"expected {expected_preset!r}")
    model = build_model(cfg, kind)
    try:
        model.load_state_dict(blob["state_dict"], strict=True)
    except RuntimeError as err:
        raise ModelFileError(f"{path}: weights do not fit the {kind} network ({err})") from err
    return model.eval(), cfg, card
