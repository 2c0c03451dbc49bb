"""Accounting of dropped messages: counted per (peer, kind), logged once per pair.

A *kind* names the check a message failed ("QueryMap: payload size", "auth: bad mac", "late"),
never the values that failed it: those go into the log line of the first drop of that kind
and into nothing else. So the number of distinct warnings a node writes is bounded by
peers x checks, whatever a sender puts on the wire (keying by the message text once gave
258 kinds and 1,012 warnings per drone in one run).
"""
from __future__ import annotations

from collections import Counter


class DropLog:
    """Counts drops; says which to log; summarises what happened since the last summary."""

    def __init__(self):
        self.counts: Counter = Counter()   # (peer, kind) -> drops since start
        self.window: Counter = Counter()   # (peer, kind) -> drops since the last summary

    def drop(self, peer: str, kind: str) -> bool:
        """Count one drop; True the first time ``peer`` is dropped for ``kind`` (log it)."""
        key = (peer, kind)
        self.counts[key] += 1
        self.window[key] += 1
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

    def by_peer_and_kind(self) -> dict[str, dict[str, int]]:
        table: dict[str, dict[str, int]] = {}
        for (peer, kind), count in sorted(self.counts.items()):
            table.setdefault(peer, {})[kind] = count
        return table

    def summary_line(self, period_s: float) -> str | None:
        """One line of the drops since the last call (None if there were none); restarts the
        window. Largest counts first, e.g.
        ``dropped 12 in 10 s (drone_1: 9 QueryMap: payload size, 1 late; camera: 2 Image:
        size); 40 since start``."""
        if not self.window:
            return None
        peers: dict[str, list[tuple[int, str]]] = {}
        for (peer, kind), count in self.window.items():
            peers.setdefault(peer, []).append((count, kind))
        parts = []
        for peer in sorted(peers, key=lambda p: -sum(c for c, _ in peers[p])):
            kinds = ", ".join(f"{c} {k}" for c, k in sorted(peers[peer], key=lambda x: -x[0]))
            parts.append(f"{peer}: {kinds}")
        line = (f"dropped {sum(self.window.values())} in {period_s:g} s ({'; '.join(parts)}); "
                f"{self.total} since start")
        self.window.clear()
        return line
