"""Per-stamp bookkeeping: an agent's recent states, and target frames awaiting answers."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from mash_ros.core.codecs import WireFormatError


class StampedBuffer:
    """The last ``capacity`` items by stamp (ns); lookup tolerates ``tolerance_ns`` of skew."""

    def __init__(self, capacity: int, tolerance_ns: int):
        self.capacity, self.tolerance_ns = capacity, tolerance_ns
        self.items: OrderedDict[int, Any] = OrderedDict()

    def put(self, stamp_ns: int, item) -> None:
        self.items[stamp_ns] = item
        self.items.move_to_end(stamp_ns)
        while len(self.items) > self.capacity:
            self.items.popitem(last=False)

    def get(self, stamp_ns: int):
        """The item whose stamp is nearest to ``stamp_ns`` within tolerance, else None."""
        if stamp_ns in self.items:
            return self.items[stamp_ns]
        best = min(self.items, key=lambda s: abs(s - stamp_ns), default=None)
        if best is not None and abs(best - stamp_ns) <= self.tolerance_ns:
            return self.items[best]
        return None

    def newest_stamp(self) -> int | None:
        return next(reversed(self.items), None)


@dataclass
class PendingFrame:
    """A target frame waiting for its supporters' answers."""

    stamp_ns: int
    sequence: int
    expected: set[str]
    deadline: float
    state: Any
    received_at: float
    answers: dict[str, Any] = field(default_factory=dict)

    def complete(self) -> bool:
        return self.expected <= set(self.answers)


class PendingFrames:
    """Target frames by sequence number, released when complete or past their deadline."""

    def __init__(self):
        self.frames: dict[int, PendingFrame] = {}

    def open(self, frame: PendingFrame) -> None:
        self.frames[frame.sequence] = frame

    def answer(self, sequence: int, stamp_ns: int, peer: str, answer) -> PendingFrame | None:
        """File an answer; returns the frame if this made it complete (and removes it).

        Raises WireFormatError (a drop, of the kind it names) for an answer to no waiting
        frame ("late answer": already fused, or never asked), one whose stamp is not the
        frame's ("stamp"), or a second answer from the same peer ("duplicate answer"): an
        answer is used only for the exact frame it was asked for, once.
        """
        frame = self.frames.get(sequence)
        if frame is None:
            raise WireFormatError(f"no frame {sequence} waits for answers", "late answer")
        if stamp_ns != frame.stamp_ns:
            raise WireFormatError(f"frame {sequence} has stamp {frame.stamp_ns}, the answer "
                                  f"{stamp_ns}", "stamp")
        if peer in frame.answers:
            raise WireFormatError(f"{peer} already answered frame {sequence}",
                                  "duplicate answer")
        frame.answers[peer] = answer
        if frame.complete():
            return self.frames.pop(sequence)
        return None

    def forget_peer(self, peer: str) -> list[PendingFrame]:
        """Stop waiting for a peer that went silent; returns frames this completed."""
        done = []
        for sequence, frame in list(self.frames.items()):
            frame.expected.discard(peer)
            if frame.complete():
                done.append(self.frames.pop(sequence))
        return done

    def due(self, now: float) -> list[PendingFrame]:
        """Frames whose deadline passed (removed), oldest first."""
        late = sorted((f for f in self.frames.values() if f.deadline <= now),
                      key=lambda f: f.sequence)
        for frame in late:
            del self.frames[frame.sequence]
        return late

    def __len__(self) -> int:
        return len(self.frames)
