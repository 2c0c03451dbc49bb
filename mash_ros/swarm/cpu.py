"""Where a drone's CPU goes: the core (encode, answer, fuse) against everything else.

Everything else is ROS (executor, DDS, serialization), the wire codecs, authentication,
bookkeeping and Python itself: the overhead of running MASH as a node. The core runs in the
main thread with torch's intra-op threads set by ``torch_threads`` (1 by default); its time
is measured with ``time.thread_time`` around each core call, which counts that thread only,
so with more torch threads the core share is underestimated (their work lands in "other").
The process total is ``time.process_time`` (all threads), over the same window: from the
first camera image to the summary.
"""
from __future__ import annotations

import time
from contextlib import contextmanager


class CpuAccount:
    """Core and process CPU seconds since ``start()``."""

    def __init__(self):
        self.core_s = 0.0
        self.started_at: float | None = None  # process_time() at start()

    def start(self) -> None:
        """Open the window (first call only): the first camera image arrived."""
        if self.started_at is None:
            self.started_at = time.process_time()
            self.core_s = 0.0

    @contextmanager
    def core(self):
        """Count the calling thread's CPU time inside the block as core time."""
        begin = time.thread_time()
        try:
            yield
        finally:
            self.core_s += time.thread_time() - begin

    def summary(self, frames: int) -> dict | None:
        """Totals and per-frame figures; None before the first image."""
        if self.started_at is None:
            return None
        process = time.process_time() - self.started_at
        other = max(process - self.core_s, 0.0)
        per = max(frames, 1)
        return {"frames": frames, "process_s": process, "core_s": self.core_s,
                "other_s": other, "core_ms_per_frame": 1e3 * self.core_s / per,
                "other_ms_per_frame": 1e3 * other / per,
                "other_over_core": other / self.core_s if self.core_s else None}
