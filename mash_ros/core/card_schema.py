"""What a model card must hold, checked before anything reads it.

A card is JSON a person may edit or truncate; a field missing or of the wrong type must be one
clear error naming the card and the fields, not a KeyError traceback from deep in loading (a
card with only its sha256 used to end that way). Extra fields (training history, evaluation
rows, notes) are free.
"""
from __future__ import annotations

import re

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _size(value) -> bool:
    return (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value))


# field -> (check, what it must be)
CARD_SCHEMA = {
    "format": (lambda v: isinstance(v, str), "a string"),
    "kind": (lambda v: isinstance(v, str), "a string"),
    "preset": (lambda v: isinstance(v, str), "a string"),
    "classes": (_strings, "a list of class names"),
    "input_size": (_size, "[height, width] in pixels"),
    "config": (lambda v: isinstance(v, dict), "an object (the network's configuration)"),
    "sha256": (lambda v: isinstance(v, str) and bool(_SHA256.match(v)),
               "the weights file's sha256, 64 lowercase hex digits"),
}


def card_problems(card) -> list[str]:
    """Everything wrong with ``card`` against CARD_SCHEMA; [] when it fits."""
    if not isinstance(card, dict):
        return [f"the card is a JSON {type(card).__name__}, not an object"]
    missing = [name for name in CARD_SCHEMA if name not in card]
    problems = [f"missing {', '.join(missing)}"] if missing else []
    for name, (check, what) in CARD_SCHEMA.items():
        if name in card and not check(card[name]):
            problems.append(f"{name} must be {what}")
    return problems
