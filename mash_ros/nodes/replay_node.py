"""The replay node: publishes a bag's messages and watches the swarm's answers.

Pacing and the bag itself live in ``mash_ros.bags`` (ROS-free) and the ``mash-replay`` tool;
this node only owns the ROS side.

Topics:
  out  <bag topics> (remapped)   as recorded, raw CDR          reliable (or best effort), depth 10
  out  /mash_replay/frames       sensor_msgs/TimeReference     one per camera image published:
                                 header.stamp = the image's stamp, time_ref = wall-clock publish
                                 time, source = the drone, header.frame_id = "warmup" for
                                 warm-up images
  out  /clock                    rosgraph_msgs/Clock           bag time (with --clock)
  in   /<agent>/mash/segmentation  sensor_msgs/Image           the swarm's answers (lock-step)
  in   /mash_record/status       std_msgs/String JSON          what mash-record has received
"""
from __future__ import annotations

import json
import time

import rclpy
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, TimeReference
from std_msgs.msg import String

from mash_ros.bags import layout
from mash_ros.bags.cdr import header_stamp_ns
from mash_ros.bags.identity import marker_frame_id
from mash_ros.nodes import qos
from mash_ros.nodes.message_types import message_class

PUBLISH_RETRIES = 5  # "cannot publish data" under load is transient: try again


def replay_qos(reliable: bool) -> QoSProfile:
    """Reliable by default: it matches best-effort subscribers (delivering best effort) and
    reliable ones; a best-effort publisher would not match reliable subscribers at all."""
    if reliable:
        return qos.reliable()
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                      reliability=ReliabilityPolicy.BEST_EFFORT,
                      durability=DurabilityPolicy.VOLATILE)


MARKER_QOS = qos.reliable(depth=1000)
STATUS_QOS = qos.reliable(depth=1, latched=True)


def to_ns(stamp) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def from_ns(ns: int, stamp) -> None:
    stamp.sec, stamp.nanosec = divmod(int(ns), 1_000_000_000)


class ReplayNode(Node):
    """Publishers for the replayed topics; subscriptions to the swarm's answers."""

    def __init__(self, topics: dict[str, str], remap: dict[str, str], cameras: dict[str, str],
                 output_pattern: str = layout.FUSED, reliable: bool = True,
                 clock: bool = False, clock_hz: float = 40.0):
        super().__init__("mash_replay")
        self.cameras = cameras  # agent -> bag topic
        self.pubs, self.skipped = {}, {}
        for topic, msgtype in topics.items():
            try:
                kind = message_class(msgtype)
            except ImportError as err:
                self.skipped[topic] = str(err)
                continue
            self.pubs[topic] = self.create_publisher(kind, remap.get(topic, topic),
                                                     replay_qos(reliable))
        self.marker_pub = self.create_publisher(TimeReference, layout.MARKERS, MARKER_QOS)
        self.output_topics = {a: output_pattern.format(agent=a) for a in cameras}
        self.answers: dict[tuple[str, int], float] = {}  # (agent, stamp) -> last receipt (mono)
        for agent, topic in self.output_topics.items():
            self.create_subscription(Image, topic, lambda raw, a=agent: self._on_output(a, raw),
                                     qos.OUTPUT, raw=True)
        self.recorder: dict[str, int] = {}  # topic -> messages mash-record has written
        self.recorder_unmatched: list[str] = []  # topics it has not matched every writer of
        self.create_subscription(String, layout.RECORDER_STATUS, self._on_status, STATUS_QOS)
        self.publish_failures = 0
        self.clock_source = None  # callable -> bag time ns, set by the replay loop
        self.clock_pub = None
        if clock:
            self.clock_pub = self.create_publisher(Clock, "/clock", 10)
            self.create_timer(1.0 / clock_hz, self.publish_clock)

    # --- callbacks --------------------------------------------------------------------------
    def _on_output(self, agent: str, raw: bytes) -> None:
        self.answers[(agent, header_stamp_ns(raw))] = time.monotonic()

    def _on_status(self, msg: String) -> None:
        try:
            status = json.loads(msg.data)
            self.recorder = dict(status.get("topics", {}))
            self.recorder_unmatched = list(status.get("unmatched", []))
        except (ValueError, AttributeError, TypeError):
            pass

    # --- publishing -------------------------------------------------------------------------
    def _publish(self, publisher, payload) -> bool:
        for attempt in range(PUBLISH_RETRIES):
            try:
                publisher.publish(payload)
                return True
            except Exception:  # RCLError "cannot publish data" under load
                time.sleep(0.001 * (attempt + 1))
        self.publish_failures += 1
        return False

    def publish_raw(self, topic: str, raw: bytes) -> bool:
        publisher = self.pubs.get(topic)
        return publisher is not None and self._publish(publisher, bytes(raw))

    def publish_camera(self, agent: str, raw: bytes, stamp_ns: int | None = None) -> None:
        """Publish a camera image as recorded, or (``stamp_ns``) restamped as a warm-up image;
        then its marker."""
        topic = self.cameras[agent]
        if stamp_ns is None:
            self.publish_raw(topic, raw)
            stamp = header_stamp_ns(raw)
        else:
            msg = deserialize_message(bytes(raw), Image)
            from_ns(stamp_ns, msg.header.stamp)
            self._publish(self.pubs[topic], msg)
            stamp = stamp_ns
        marker = TimeReference(source=agent)
        # a real frame's marker names the image it marks (topic + digest): mash-evaluate-bag
        # checks the recording against its input bag with it
        marker.header.frame_id = (layout.WARMUP if stamp_ns is not None
                                  else marker_frame_id(topic, bytes(raw)))
        from_ns(stamp, marker.header.stamp)
        from_ns(time.time_ns(), marker.time_ref)
        self._publish(self.marker_pub, marker)

    def publish_clock(self) -> None:
        if self.clock_pub is not None and self.clock_source is not None:
            msg = Clock()
            from_ns(self.clock_source(), msg.clock)
            self._publish(self.clock_pub, msg)

    # --- graph ------------------------------------------------------------------------------
    def camera_subscribers(self) -> dict[str, int]:
        """Matched subscriptions per camera topic (by agent)."""
        return {a: self.pubs[t].get_subscription_count() for a, t in self.cameras.items()}

    def answering_agents(self) -> list[str]:
        """Agents whose output topic has a publisher: the swarm's targets."""
        return [a for a, t in self.output_topics.items() if self.count_publishers(t) > 0]

    def spin_until(self, done, deadline: float, step: float = 0.01) -> bool:
        """Spin until ``done()`` or ``time.monotonic() >= deadline``; returns done()."""
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            rclpy.spin_once(self, timeout_sec=min(step, remaining))
        return True
