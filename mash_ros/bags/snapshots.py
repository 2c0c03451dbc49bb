"""Replay without ROS: cut a bag's message stream into snapshots and pace them.

A *snapshot* is one image per camera plus the messages recorded around them. Lock-step replay
publishes a snapshot, waits until the swarm answered every camera image of it, then publishes
the next; rate replay keeps the recorded spacing scaled by a factor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from mash_ros.bags.cdr import header_stamp_ns
from mash_ros.bags.reader import BagMessage


@dataclass
class Snapshot:
    """Messages published together. ``cameras``: agent -> (header stamp ns, camera message)."""

    index: int
    log_ns: int  # record time of its first message: when recorded timing publishes it
    messages: list[BagMessage] = field(default_factory=list)
    cameras: dict[str, tuple[int, BagMessage]] = field(default_factory=dict)
    last_camera_log_ns: int | None = None

    @property
    def first_stamp(self) -> int | None:
        return next(iter(self.cameras.values()))[0] if self.cameras else None


def group_snapshots(messages: Iterable[BagMessage], camera_topics: dict[str, str],
                    tolerance_ns: int = 20_000_000) -> Iterator[Snapshot]:
    """Cut record-time-ordered ``messages`` into snapshots.

    camera_topics: {topic: agent}. A new snapshot starts at a camera image whose agent already
    has one in the current snapshot, or whose header stamp is more than ``tolerance_ns`` from
    the snapshot's first camera stamp (the drone nodes' own stamp tolerance), and at any other
    message recorded more than ``tolerance_ns`` after the snapshot's last camera image.
    """
    current: Snapshot | None = None
    index = 0

    def fresh(msg: BagMessage) -> Snapshot:
        nonlocal index
        index += 1
        return Snapshot(index - 1, msg.log_ns)

    for msg in messages:
        agent = camera_topics.get(msg.topic)
        if agent is not None:
            stamp = header_stamp_ns(msg.raw)
            if current is not None and current.cameras and (
                    agent in current.cameras or abs(stamp - current.first_stamp) > tolerance_ns):
                yield current
                current = None
            current = current or fresh(msg)
            current.cameras[agent] = (stamp, msg)
            current.last_camera_log_ns = msg.log_ns
        else:
            if current is not None and current.last_camera_log_ns is not None and \
                    msg.log_ns > current.last_camera_log_ns + tolerance_ns:
                yield current
                current = None
            current = current or fresh(msg)
        current.messages.append(msg)
    if current is not None:
        yield current


class Pacer:
    """When to publish each snapshot, in wall-clock seconds (``time.monotonic()``).

    rate > 0: recorded spacing divided by ``rate`` (2.0 = twice as fast), measured from an
    anchor (the first snapshot). rate <= 0: no timing, as soon as allowed. With ``reanchor``
    (lock-step), a snapshot published late because the swarm was slow moves the anchor, so the
    following ones keep their recorded spacing instead of bursting to catch up.
    """

    def __init__(self, rate: float, reanchor: bool):
        self.rate, self.reanchor = rate, reanchor
        self.anchor: tuple[float, int] | None = None  # (wall s, log ns)

    def due(self, log_ns: int, now: float) -> float:
        if self.rate <= 0 or self.anchor is None:
            return now
        wall, log = self.anchor
        return wall + (log_ns - log) / 1e9 / self.rate

    def published(self, log_ns: int, wall: float) -> None:
        if self.anchor is None or (self.reanchor and wall > self.due(log_ns, wall) + 1e-3):
            self.anchor = (wall, log_ns)

    def restart(self) -> None:
        """The bag starts over (loop): the next snapshot is due at once."""
        self.anchor = None

    def bag_time_ns(self, now: float, last_log_ns: int, next_log_ns: int | None) -> int:
        """Bag time for /clock: runs at ``rate`` from the last published snapshot, never past
        the next one (it stands still while lock-step waits)."""
        if self.anchor is None:
            return last_log_ns
        wall, log = self.anchor
        speed = self.rate if self.rate > 0 else 1.0
        value = max(last_log_ns, log + int((now - wall) * speed * 1e9))
        return value if next_log_ns is None else min(value, next_log_ns)
