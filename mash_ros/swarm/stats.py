"""What a drone did: frames, answers, fusions and their latency, for its JSON summary."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class NodeStats:
    """Counters of one drone node (``images``: every camera image it encoded; ``frames``: those
    it handled as a target)."""

    images: int = 0
    frames: int = 0
    fused: int = 0
    fused_by_deadline: int = 0
    answers_sent: int = 0
    cells_sent: int = 0
    answers_used: int = 0
    latency_s: list[float] = field(default_factory=list)  # image arrival -> fused output

    def answered(self, cells: int) -> None:
        self.answers_sent += 1
        self.cells_sent += cells

    def fused_frame(self, answers: int, by_deadline: bool, latency_s: float) -> None:
        self.fused += 1
        self.fused_by_deadline += int(by_deadline)
        self.answers_used += answers
        self.latency_s.append(latency_s)

    def summary(self) -> dict:
        """The counters, and the latency as mean / p50 / max (None before any fusion)."""
        latency = np.array(self.latency_s)
        return {"images": self.images, "frames": self.frames, "fused": self.fused,
                "fused_by_deadline": self.fused_by_deadline, "answers_sent": self.answers_sent,
                "cells_sent": self.cells_sent, "answers_used": self.answers_used,
                "latency_s": ({"mean": float(latency.mean()), "p50": float(np.median(latency)),
                               "max": float(latency.max())} if latency.size else None)}
