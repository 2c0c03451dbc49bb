"""Peer liveness and per-peer accounting of dropped messages."""
from __future__ import annotations

from collections import Counter


class PeerTracker:
    """A peer is live while it was heard within ``timeout`` seconds; it rejoins when it speaks.

    Peers start live (a fresh swarm should wait for everyone's first answers), with their
    clock starting at construction.
    """

    def __init__(self, peers, timeout: float, now: float):
        self.timeout = timeout
        self.last_heard = {peer: now for peer in peers}

    def heard(self, peer: str, now: float) -> bool:
        """Record a message from ``peer``; True if it was gone and is back."""
        if peer not in self.last_heard:
            return False
        was_gone = now - self.last_heard[peer] > self.timeout
        self.last_heard[peer] = now
        return was_gone

    def live(self, now: float) -> set[str]:
        return {p for p, t in self.last_heard.items() if now - t <= self.timeout}

    def known(self, peer: str) -> bool:
        return peer in self.last_heard


class DropCounter:
    """Counts dropped messages by (peer, reason); says when a pair is new, to log it once."""

    def __init__(self):
        self.counts: Counter = Counter()

    def drop(self, peer: str, reason: str) -> bool:
        """Count one drop; True the first time this peer is dropped for this kind of reason."""
        key = (peer, reason.split(":")[0])
        self.counts[key] += 1
        return self.counts[key] == 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def by_kind(self) -> dict[str, int]:
        totals: Counter = Counter()
        for (_, kind), count in self.counts.items():
            totals[kind] += count
        return dict(totals)

    def by_peer(self) -> dict[str, int]:
        totals: Counter = Counter()
        for (peer, _), count in self.counts.items():
            totals[peer] += count
        return dict(totals)
