"""Refusing replayed messages: a window on stamps and a memory of (stamp, sequence) pairs.

A MAC proves a message came from a key holder, not that it is new: an eavesdropper can send
a captured authentic message again. Each peer's accepted messages are remembered by
(header stamp, sequence number); a message already seen is a replay. A message whose stamp is
more than ``window_ns`` older than the receiver's own newest camera stamp is stale: it could
only be answered from a state the receiver no longer holds, and its pair may have left the
memory. The window is anchored on the receiver's own camera time, not on the peer's newest
stamp, so a swarm replaying a bag again (stamps jump back for every drone at once) or a peer
restarting (sequence numbers start again at 1, stamps do not repeat) keeps working.
"""
from __future__ import annotations

from collections import OrderedDict

STALE, REPLAY = "auth: stale", "auth: replay"


class ReplayWindow:
    """Per-peer memory of the last ``memory`` accepted (stamp_ns, sequence) pairs."""

    def __init__(self, window_ns: int, memory: int = 1024):
        self.window_ns, self.memory = window_ns, memory
        self.seen: dict[str, OrderedDict] = {}

    def check(self, peer: str, stamp_ns: int, sequence: int, own_newest_ns: int | None):
        """None if new (and remember it); else the drop kind, STALE or REPLAY."""
        if own_newest_ns is not None and stamp_ns < own_newest_ns - self.window_ns:
            return STALE
        seen = self.seen.setdefault(peer, OrderedDict())
        key = (stamp_ns, sequence)
        if key in seen:
            return REPLAY
        seen[key] = None
        while len(seen) > self.memory:
            seen.popitem(last=False)
        return None
