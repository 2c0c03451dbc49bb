"""Open and check a rosbag2 bag (sqlite3 or mcap) with rosbags, without ROS.

Every failure a user can meet — a path that is not a bag, a recording that was never closed
(no ``metadata.yaml``), a truncated or corrupt storage file, fewer messages than the metadata
promises, a missing topic — becomes one :class:`BagError` naming the bag and the problem.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple

from mash_ros.bags.errors import BagError
from mash_ros.bags.typestore import ensure_type, typestore


class BagMessage(NamedTuple):
    topic: str
    msgtype: str
    log_ns: int  # the bag's record time, ns
    raw: bytes  # CDR as stored (what rclpy publishes / deserializes as is)


class BagFile:
    """A rosbag2 directory opened for reading. Use as a context manager or call ``close``."""

    def __init__(self, path: str | Path):
        from rosbags.rosbag2 import Reader

        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f"{self.path}: no such bag")
        if self.path.is_file():
            raise BagError(f"{self.path} is a file: a rosbag2 bag is the directory holding "
                           f"metadata.yaml and the .mcap / .db3 storage files")
        if not (self.path / "metadata.yaml").is_file():
            raise BagError(f"{self.path}: no metadata.yaml, so not a rosbag2 bag, or a recording "
                           f"that was not closed cleanly (`ros2 bag reindex` rebuilds it)")
        try:
            self._reader = Reader(self.path)
            self._reader.open()
        except Exception as err:  # ReaderError, sqlite3 / mcap / yaml errors
            raise BagError(f"{self.path}: cannot open the bag, it is truncated or corrupt "
                           f"({type(err).__name__}: {err})") from err
        self.connections = list(self._reader.connections)
        self.topics: dict[str, str] = {}
        for conn in self.connections:
            if self.topics.setdefault(conn.topic, conn.msgtype) != conn.msgtype:
                raise BagError(f"{self.path}: topic {conn.topic} holds two message types, "
                               f"{self.topics[conn.topic]} and {conn.msgtype}")
        self.counts: Counter = Counter()
        for conn in self.connections:
            self.counts[conn.topic] += conn.msgcount
        self.start_ns, self.end_ns = self._reader.start_time, self._reader.end_time

    # --- context ----------------------------------------------------------------------------
    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> BagFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- checks -----------------------------------------------------------------------------
    def require(self, topics: Iterable[str], purpose: str) -> None:
        """BagError naming every topic of ``topics`` the bag lacks or holds no message on."""
        missing = [t for t in topics if self.counts.get(t, 0) == 0]
        if missing:
            have = ", ".join(sorted(self.topics)) or "none"
            raise BagError(f"{self.path}: {purpose} needs topic(s) {', '.join(missing)}, which "
                           f"the bag lacks or has no message on (topics in the bag: {have})")

    def validate(self) -> None:
        """Read every message once (no deserialization): corrupt storage or fewer messages than
        ``metadata.yaml`` lists raise BagError. An empty bag is an error too."""
        if sum(self.counts.values()) == 0:
            raise BagError(f"{self.path}: the bag holds no messages")
        for _ in self.messages():
            pass

    # --- reading ----------------------------------------------------------------------------
    def messages(self, topics: Iterable[str] | None = None,
                 start_ns: int | None = None) -> Iterator[BagMessage]:
        """Messages of ``topics`` (default all) in record-time order, from ``start_ns`` on.

        A full read (no ``start_ns``) checks at its end that every topic delivered the count
        ``metadata.yaml`` lists: a truncated bag cannot pass for a complete one.
        """
        wanted = None if topics is None else set(topics)
        conns = [c for c in self.connections if wanted is None or c.topic in wanted]
        if not conns:
            return
        seen: Counter = Counter()
        try:
            for conn, log_ns, raw in self._reader.messages(connections=conns, start=start_ns):
                seen[conn.topic] += 1
                yield BagMessage(conn.topic, conn.msgtype, log_ns, raw)
        except BagError:
            raise
        except Exception as err:
            raise BagError(f"{self.path}: reading failed after {sum(seen.values())} messages, "
                           f"the bag is truncated or corrupt ({type(err).__name__}: {err})"
                           ) from err
        if start_ns is None:
            short = {t: (seen[t], self.counts[t]) for t in {c.topic for c in conns}
                     if seen[t] != self.counts[t]}
            if short:
                detail = ", ".join(f"{t} {got} of {want}" for t, (got, want) in
                                   sorted(short.items()))
                raise BagError(f"{self.path}: the bag is truncated or corrupt: metadata.yaml "
                               f"lists more messages than the storage holds ({detail})")

    def deserialize(self, message: BagMessage):
        """rosbags message object (numpy arrays for byte/number arrays)."""
        store = typestore()
        try:
            ensure_type(store, message.msgtype)
            return store.deserialize_cdr(message.raw, message.msgtype)
        except BagError:
            raise
        except Exception as err:
            raise BagError(f"{self.path}: a {message.msgtype} message on {message.topic} does "
                           f"not deserialize ({type(err).__name__}: {err})") from err
