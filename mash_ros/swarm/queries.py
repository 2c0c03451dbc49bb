"""Queries a supporter holds until it has its own image of their stamp.

A peer's query can arrive before this drone's camera image of the same instant; it is held
until that image is encoded, and dropped as "late" once the answer could no longer be used
(the asking target's deadline). At most ``per_peer`` are held per peer: a peer with that
many waiting is flooding or far ahead, and its newcomers are refused rather than letting the
held list (and the work of scanning it) grow without bound.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable


class HeldQueries:
    """Held (expires, peer, stamp_ns, query) entries, served in arrival order."""

    def __init__(self, per_peer: int):
        self.per_peer = per_peer
        self.items: list[tuple[float, str, int, Any]] = []
        self.count: Counter = Counter()

    def hold(self, expires: float, peer: str, stamp_ns: int, query) -> bool:
        """Hold a query; False (and not held) if ``peer`` already has ``per_peer`` waiting."""
        if self.count[peer] >= self.per_peer:
            return False
        self.items.append((expires, peer, stamp_ns, query))
        self.count[peer] += 1
        return True

    def release(self, lookup: Callable[[int], Any], now: float):
        """Take out what can be answered now and what expired.

        Returns (ready: [(peer, query, state)], expired: [(peer, query)]), where ``state`` is
        ``lookup(stamp_ns)`` (None = not available yet)."""
        ready, expired, kept = [], [], []
        for expires, peer, stamp_ns, query in self.items:
            state = lookup(stamp_ns)
            if state is not None:
                ready.append((peer, query, state))
            elif expires <= now:
                expired.append((peer, query))
            else:
                kept.append((expires, peer, stamp_ns, query))
                continue
            self.count[peer] -= 1
        self.items = kept
        return ready, expired

    def __len__(self) -> int:
        return len(self.items)
