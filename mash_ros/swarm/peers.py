"""Peer liveness: who answered recently."""
from __future__ import annotations


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
