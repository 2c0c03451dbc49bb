"""Write serialized (CDR) messages into a new rosbag2 bag with rosbags, without ROS."""
from __future__ import annotations

from pathlib import Path

from mash_ros.bags.errors import BagError
from mash_ros.bags.typestore import ensure_type, typestore

STORAGES = ("mcap", "sqlite3")


class BagWriter:
    """A new bag at ``path`` (must not exist). ``write`` takes CDR bytes as rclpy delivers them
    with ``raw=True``; connections are added per topic on first use (or with ``add``)."""

    def __init__(self, path: str | Path, storage: str = "mcap"):
        from rosbags.rosbag2 import StoragePlugin, Writer

        if storage not in STORAGES:
            raise BagError(f"storage {storage!r} is not one of {', '.join(STORAGES)}")
        self.path = Path(path)
        if self.path.exists():
            raise BagError(f"{self.path} already exists; rosbag2 writes a new directory")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        plugin = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}[storage]
        self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        self._writer.open()
        self.connections = {}
        self.counts: dict[str, int] = {}
        self.closed = False

    def add(self, topic: str, msgtype: str) -> None:
        """Declare a topic (a topic declared but never written still shows, with 0 messages)."""
        if topic in self.connections:
            return
        store = typestore()
        ensure_type(store, msgtype)
        self.connections[topic] = self._writer.add_connection(topic, msgtype, typestore=store)
        self.counts[topic] = 0

    def write(self, topic: str, msgtype: str, log_ns: int, raw: bytes) -> None:
        self.add(topic, msgtype)
        self._writer.write(self.connections[topic], log_ns, bytes(raw))
        self.counts[topic] += 1

    def close(self) -> None:
        """Finish the storage file and write metadata.yaml (idempotent)."""
        if not self.closed:
            self.closed = True
            self._writer.close()

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
