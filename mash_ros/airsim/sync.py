"""Snapshots from per-drone image stamps: one image per drone, all within a tolerance.

AirSim stamps each vehicle's captures separately, so the drones of one instant differ by a few
milliseconds; a snapshot is a set of one stamp per drone whose spread (latest - earliest) is
within ``tolerance_ns``. Groups missing a drone are dropped and counted.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from mash_ros.bags.errors import BagError


@dataclass
class Grouping:
    snapshots: list[dict[str, int]]  # drone -> Scene stamp (ns), in time order
    incomplete: int                  # groups dropped because a drone had no image in them
    max_spread_ns: int               # the largest spread inside a kept snapshot


def group_stamps(stamps: dict[str, list[int]], tolerance_ns: int) -> Grouping:
    """Greedy in time order: a stamp joins the open group if its drone is not in it yet and it
    is within ``tolerance_ns`` of the group's first stamp; otherwise it opens a new group."""
    events = sorted((s, d) for d, ss in stamps.items() for s in set(ss))
    groups: list[dict[str, int]] = []
    for s, d in events:
        if groups and d not in groups[-1] and s - min(groups[-1].values()) <= tolerance_ns:
            groups[-1][d] = s
        else:
            groups.append({d: s})
    full = [g for g in groups if len(g) == len(stamps)]
    if not full:
        raise BagError(f"the drones' image stamps never line up within {tolerance_ns / 1e6:g} ms "
                       f"(closest: {closest_spread_ns(stamps) / 1e6:.1f} ms); raise "
                       f"--stamp-tolerance if the captures are meant to be synchronized")
    spread = max(max(g.values()) - min(g.values()) for g in full)
    return Grouping(full, len(groups) - len(full), int(spread))


def closest_spread_ns(stamps: dict[str, list[int]]) -> int:
    """The smallest spread any choice of one stamp per drone reaches around a stamp of the first
    drone (what tolerance would have made at least one snapshot)."""
    drones = list(stamps)
    sorted_stamps = {d: sorted(stamps[d]) for d in drones}
    best = None
    for s in sorted_stamps[drones[0]]:
        picks = [s]
        for d in drones[1:]:
            picks.append(nearest(sorted_stamps[d], s))
        spread = max(picks) - min(picks)
        best = spread if best is None else min(best, spread)
    return int(best if best is not None else 0)


def nearest(sorted_stamps: list[int], s: int) -> int:
    """The stamp of ``sorted_stamps`` (non-empty, ascending) closest to ``s``."""
    i = bisect.bisect_left(sorted_stamps, s)
    options = sorted_stamps[max(0, i - 1):i + 1]
    return int(min(options, key=lambda t: abs(t - s)))


def match(sorted_stamps: list[int], s: int, tolerance_ns: int) -> int | None:
    """The stamp closest to ``s`` if within ``tolerance_ns``, else None."""
    if not sorted_stamps:
        return None
    t = nearest(sorted_stamps, s)
    return t if abs(t - s) <= tolerance_ns else None


def median_period_s(snapshots: list[dict[str, int]]) -> float:
    """Median time between consecutive snapshots (0 for a single one)."""
    starts = [min(g.values()) for g in snapshots]
    return float(np.median(np.diff(starts)) / 1e9) if len(starts) > 1 else 0.0
