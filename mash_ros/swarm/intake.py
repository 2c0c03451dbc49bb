"""The queue between a drone's network intake and its main thread.

Why a separate path: DDS keeps at most ``depth`` unread samples per subscription, and a
burst arriving while the node computes (encode, answer, fuse) used to evict valid answers
from those slots: a few multi-MB messages were enough. So the node's subscriptions run in a
callback group of their own, on their own executor thread, doing only what is cheap and
needs no node state: size check (oversized bytes are dropped before they are even
deserialized), deserialization and the MAC check. What passes lands here, in a bounded FIFO
per (stream, sender), and the main thread takes it from here. A flood can then only fill
the flooder's own queue (with authentication on: only a key holder's), never push out
another sender's messages, and never a message already accepted: a full queue refuses the
newcomer. Camera streams are the exception (``keep_latest``): like sensor QoS, a newer image
replaces the oldest waiting one.
"""
from __future__ import annotations

import threading
from collections import deque


class Intake:
    """Thread-safe bounded FIFO queues keyed by (stream, sender), taken in arrival order."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._lock = threading.Lock()
        self._items: deque = deque()  # (key, item) in arrival order
        self._counts: dict = {}
        self._superseded: dict = {}   # key -> items a keep_latest offer pushed out

    def offer(self, key, item, keep_latest: bool = False, capacity: int | None = None) -> bool:
        """Queue ``item``; False if ``key``'s queue is full (and ``item`` was refused).

        With ``keep_latest`` a full queue drops its oldest item instead (returns True).
        ``capacity`` overrides the queue's size for this key (e.g. fewer camera images)."""
        with self._lock:
            if self._counts.get(key, 0) >= (capacity or self.capacity):
                if not keep_latest:
                    return False
                for queued in self._items:
                    if queued[0] == key:
                        self._items.remove(queued)
                        break
                self._counts[key] -= 1
                self._superseded[key] = self._superseded.get(key, 0) + 1
            self._items.append((key, item))
            self._counts[key] = self._counts.get(key, 0) + 1
            return True

    def take(self) -> list:
        """Everything queued, oldest first; the queues are empty afterwards."""
        with self._lock:
            items, self._items = list(self._items), deque()
            self._counts.clear()
            return items

    def take_superseded(self) -> dict:
        """{key: items replaced by newer ones} since the last call (to count as drops)."""
        with self._lock:
            superseded, self._superseded = self._superseded, {}
            return superseded

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
