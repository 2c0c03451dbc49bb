"""The recorder node: subscribes to topics (raw CDR) and writes them into a rosbag2 bag.

Writing is ``mash_ros.bags.writer.BagWriter`` (rosbags, no rosbag2 needed); the record time of
each message is the wall clock when it arrived (ns), which is what mash-evaluate-bag measures
latency against.

Topics:
  in   <recorded topics>          any type with an installed .msg definition
  out  /mash_record/status        std_msgs/String JSON {"topics": {topic: messages},
                                  "path": bag}, reliable + transient local; sent when a topic
                                  gets its first message, when "unmatched" changes and
                                  every second; "unmatched": recordable topics whose
                                  publishers are not all matched by a subscription of ours yet
                                  (mash-replay --wait-recorder waits until it is empty)
"""
from __future__ import annotations

import json
import re
import time

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from mash_ros.bags import layout
from mash_ros.bags.errors import BagError
from mash_ros.bags.writer import BagWriter
from mash_ros.nodes.message_types import message_class
from mash_ros.nodes.replay_node import STATUS_QOS

DISCOVERY_PERIOD_S = 0.5


def record_qos(reliable: bool) -> QoSProfile:
    """Deep history: a burst of answers must not overwrite unread samples."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1000,
                      reliability=(ReliabilityPolicy.RELIABLE if reliable
                                   else ReliabilityPolicy.BEST_EFFORT),
                      durability=DurabilityPolicy.VOLATILE)


def all_matched(matched: int, reliability, publisher_reliabilities: list) -> bool:
    """Whether a subscription of ``reliability`` that has matched ``matched`` writers has
    matched every writer in the graph it can (a reliable reader never matches a best-effort
    writer)."""
    if reliability == ReliabilityPolicy.RELIABLE:
        publisher_reliabilities = [r for r in publisher_reliabilities
                                   if r == ReliabilityPolicy.RELIABLE]
    return matched >= len(publisher_reliabilities)


class RecorderNode(Node):
    """Records ``topics`` (name -> type, or None: learn the type from the graph) and every
    topic matching one of ``patterns`` as it appears."""

    def __init__(self, writer: BagWriter, topics: dict[str, str | None],
                 patterns: list[str] = ()):
        super().__init__("mash_record")
        self.writer = writer
        self.wanted = dict(topics)
        self.patterns = [re.compile(p) for p in patterns]
        self.subscribed: dict[str, str] = {}
        self.subscriptions_by_topic: dict = {}  # topic -> (reliability, subscription)
        self.unmatched: list[str] = []
        self.unusable: dict[str, str] = {}
        self.messages = 0
        self.status_pub = self.create_publisher(String, layout.RECORDER_STATUS, STATUS_QOS)
        for topic, msgtype in self.wanted.items():
            if msgtype:
                self.subscribe(topic, msgtype, reliable=True)
        self.discover()
        self.create_timer(DISCOVERY_PERIOD_S, self.discover)
        self.create_timer(1.0, self.publish_status)

    def subscribe(self, topic: str, msgtype: str, reliable: bool) -> None:
        try:
            kind = message_class(msgtype)
            self.writer.add(topic, msgtype)
        except (ImportError, BagError) as err:
            if topic not in self.unusable:
                self.unusable[topic] = str(err)
                self.get_logger().warning(f"not recording {topic}: {err}")
            return
        profile = record_qos(reliable)
        self.subscriptions_by_topic[topic] = (profile.reliability, self.create_subscription(
            kind, topic, lambda raw, t=topic, m=msgtype: self.on_message(t, m, raw), profile,
            raw=True))
        self.subscribed[topic] = msgtype

    def discover(self) -> None:
        """Subscribe to wanted topics whose type the graph now tells, and to new matches."""
        for topic, types in self.get_topic_names_and_types():
            if topic in self.subscribed or topic in self.unusable or topic == \
                    layout.RECORDER_STATUS:
                continue
            if topic in self.wanted or any(p.search(topic) for p in self.patterns):
                infos = self.get_publishers_info_by_topic(topic)
                if not infos:
                    continue
                reliable = all(i.qos_profile.reliability == ReliabilityPolicy.RELIABLE
                               for i in infos)
                self.subscribe(topic, types[0], reliable)
        unmatched = self.find_unmatched()
        if unmatched != self.unmatched:
            self.unmatched = unmatched
            self.publish_status()

    def find_unmatched(self) -> list[str]:
        """Recorded topics with a publisher in the graph that our subscription has not matched
        yet: what a publisher sends before the match is lost to the bag (a reliable writer
        only keeps it for readers it knows). A best-effort publisher on a topic we subscribed
        reliably can never match, so it is not waited for."""
        return sorted(topic for topic, (reliability, subscription)
                      in self.subscriptions_by_topic.items()
                      if not all_matched(subscription.get_publisher_count(), reliability,
                                         [i.qos_profile.reliability for i in
                                          self.get_publishers_info_by_topic(topic)]))

    def on_message(self, topic: str, msgtype: str, raw: bytes) -> None:
        first = self.writer.counts.get(topic, 0) == 0
        self.writer.write(topic, msgtype, time.time_ns(), raw)
        self.messages += 1
        if first:
            self.publish_status()

    def publish_status(self) -> None:
        status = {"topics": dict(self.writer.counts), "unmatched": self.unmatched,
                  "path": str(self.writer.path)}
        self.status_pub.publish(String(data=json.dumps(status)))
