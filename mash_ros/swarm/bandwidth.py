"""Byte accounting per topic and direction, from serialized message sizes."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from mash_ros.swarm import topics

SENT, RECEIVED = "sent", "received"


@dataclass
class TopicCounter:
    messages: int = 0
    bytes: int = 0
    window_bytes: int = 0  # since the last report


class BandwidthMeter:
    """Counts what one agent puts on and takes off the wire.

    ``frames`` counts the target frames this agent processed, so bytes per frame compare with
    the paper's Eq. (3); ``raw_image_bytes`` is what broadcasting each raw camera frame to every
    peer would have cost instead.
    """

    def __init__(self):
        self.counters: dict[tuple[str, str], TopicCounter] = defaultdict(TopicCounter)
        self.frames = 0
        self.raw_image_bytes = 0

    def record(self, topic: str, direction: str, size: int) -> None:
        counter = self.counters[(topic, direction)]
        counter.messages += 1
        counter.bytes += size
        counter.window_bytes += size

    def count_frame(self, raw_image_bytes: int, peers: int) -> None:
        self.frames += 1
        self.raw_image_bytes += raw_image_bytes * peers

    def report(self, window_s: float) -> list[dict]:
        """Per-topic rows for a report; starts a new rate window."""
        rows = []
        for (topic, direction), counter in sorted(self.counters.items()):
            rows.append({"topic": topic, "direction": direction, "messages": counter.messages,
                         "bytes": counter.bytes,
                         "bytes_per_frame": counter.bytes / self.frames if self.frames else 0.0,
                         "bytes_per_second": counter.window_bytes / window_s if window_s else 0.0})
            counter.window_bytes = 0
        return rows

    def summary(self) -> dict:
        rows = self.report(window_s=0.0)
        sent = sum(r["bytes"] for r in rows if r["direction"] == SENT)
        return {"frames": self.frames, "raw_image_bytes": self.raw_image_bytes,
                "sent_bytes": sent, "topics": rows}


def radio_copies(topic: str, direction: str, peers: int) -> int:
    """How many times a message counted on ``topic`` crossed this drone's radio link.

    Sent queries and heartbeats go to every peer by unicast (one copy each); an answer goes to
    its one target; everything received from a peer crossed once. Camera images and the fused
    outputs stay on board (0)."""
    peer_stream = topic.endswith((topics.QUERY, topics.PATCHES, topics.BANDWIDTH))
    if not peer_stream:
        return 0
    if direction == SENT and not topic.startswith("/"):  # our own query / heartbeat
        return peers
    return 1


def radio_bytes(rows: list[dict], peers: int) -> int:
    """Serialized bytes that crossed the radio, from BandwidthReport-style rows
    ({topic, direction, bytes})."""
    return sum(row["bytes"] * radio_copies(row["topic"], row["direction"], peers)
               for row in rows)


def radio_bytes_by_stream(rows: list[dict], peers: int) -> dict[str, int]:
    """``radio_bytes`` split into sent queries (all copies), sent answers, sent heartbeats
    (all copies) and everything received."""
    split = {"queries_sent": 0, "answers_sent": 0, "heartbeats_sent": 0, "received": 0}
    for row in rows:
        size = row["bytes"] * radio_copies(row["topic"], row["direction"], peers)
        if row["direction"] != SENT:
            split["received"] += size
        elif row["topic"].endswith(topics.QUERY):
            split["queries_sent"] += size
        elif row["topic"].endswith(topics.PATCHES):
            split["answers_sent"] += size
        elif row["topic"].endswith(topics.BANDWIDTH):
            split["heartbeats_sent"] += size
    return split

