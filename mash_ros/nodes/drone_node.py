"""The MASH drone node: one per drone, in the drone's namespace.

Thin by design: parameters in, messages ⇄ arrays (``mash_ros.conversions``), the per-role core
calls (``mash_ros.swarm.agent.MashAgent``), messages out. Bookkeeping (peer liveness, pending
frames, stored states, byte counts) lives in the ROS-free ``mash_ros.swarm`` modules.

Topics (relative names resolve under the drone's namespace, e.g. /drone_0/…):
  in   <image_topic>                sensor_msgs/Image rgb8|bgr8|rgba8|bgra8 (sensor QoS)
  out  mash/query                   mash_msgs/QueryMap        (as a target)
  in   /<peer>/mash/query           mash_msgs/QueryMap        (as a supporter)
  out  /<peer>/mash/patches         mash_msgs/SegPatches      (answers to that peer)
  in   mash/patches                 mash_msgs/SegPatches      (answers to this target)
  out  mash/segmentation            sensor_msgs/Image mono8   fused class ids
  out  mash/segmentation_color      sensor_msgs/Image rgb8    fused, coloured for viewers
  out  mash/segmentation_single     sensor_msgs/Image mono8   own result without peers
  out  mash/confidence              sensor_msgs/Image mono8   (publish_visualisation)
  out  mash/bandwidth               mash_msgs/BandwidthReport every bandwidth_period_s
  in   /<peer>/mash/bandwidth       (heartbeat: a supporter that is nobody's target is heard)

No message can stop the node: every subscription takes raw bytes (a typed subscription would
deserialize inside the executor, where a malformed message raises out of spin), checks the
size, deserializes and validates inside its callback, and every callback runs under a guard
that turns anything unexpected into a counted drop. Drops are logged once per (peer, kind)
and summarised in one line every ``drop_summary_period_s``.

Two paths (``mash_ros.swarm.intake``): the subscriptions belong to a second node in the same
process (``mash_intake``, same namespace), spun by its own single-threaded executor in its
own thread; they only size-check, deserialize and authenticate, and what passes is queued per
(stream, sender) for the main node's thread (timers, encode, answer, fuse). So a flood of
oversized or forged messages never pushes valid ones out of the DDS queues. Everything both
threads touch (drop counters, byte meter, the intake queue) is behind a lock. Two
single-threaded executors, not one MultiThreadedExecutor: measured with mash-bench swarm
(N = 6), the multi-threaded one doubled the CPU a drone spends outside the core.
"""
from __future__ import annotations

import sys
import threading
import time
import traceback

import numpy as np
import torch
from mash_msgs.msg import BandwidthReport, QueryMap, SegPatches, TopicBandwidth
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from mash_ros import conversions
from mash_ros.atomic import write_json_atomic
from mash_ros.core.checkpoint import ModelFileError, load_checkpoint
from mash_ros.core.classes import PALETTE
from mash_ros.core.codecs import WireFormatError
from mash_ros.core.paths import package_file
from mash_ros.nodes import qos
from mash_ros.nodes.lifecycle import run_node
from mash_ros.nodes.parameters import declare_drone_parameters
from mash_ros.swarm import topics
from mash_ros.swarm.agent import MashAgent
from mash_ros.swarm.auth import Authenticator, AuthError
from mash_ros.swarm.bandwidth import RECEIVED, SENT, BandwidthMeter
from mash_ros.swarm.budget import SendBudget, cell_cost, most_confident, query_cost
from mash_ros.swarm.cpu import CpuAccount
from mash_ros.swarm.drops import DropLog
from mash_ros.swarm.frames import PendingFrame, PendingFrames, StampedBuffer
from mash_ros.swarm.intake import Intake
from mash_ros.swarm.keyfile import KeyFileError, load_key
from mash_ros.swarm.params import PARAMETER_NAMES, with_runtime_changes
from mash_ros.swarm.peers import PeerTracker
from mash_ros.swarm.queries import HeldQueries
from mash_ros.swarm.replay import REPLAY, ReplayWindow
from mash_ros.swarm.stats import NodeStats

_COLORS = np.array(PALETTE, dtype=np.uint8)
TICK_S = 0.01  # how often deadlines and peer liveness are checked
# Largest camera message accepted, as a multiple of the model's H x W x 4 bytes (four-channel
# captures): room for row padding and the header, while a multi-MB image is refused before it
# is deserialized. With resize_images on, images of any size are expected and the limit is
# max_message_bytes instead.
IMAGE_SIZE_SLACK = 2
# Messages per (stream, sender) waiting for the main thread: a frame's worth of traffic many
# times over; a sender with more queued is flooding, and its newcomers are refused.
INTAKE_CAPACITY = 32
CAMERA_QUEUE = 2  # images waiting to be encoded: newer ones replace the oldest (sensor data)


def stamp_ns(header: Header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


class DroneNode(Node):
    """One drone of the MASH swarm: target, supporter, or both."""

    def __init__(self, **node_options):
        """``node_options`` go to rclpy's Node (tests: namespace, parameter_overrides)."""
        super().__init__("mash", **node_options)
        self.agent = self.get_namespace().strip("/").split("/")[-1] or "drone_0"
        self.params = declare_drone_parameters(self)
        self.add_on_set_parameters_callback(self.on_set_parameters)
        torch.set_num_threads(self.params.torch_threads)
        self.mash = self._load_model()
        self.meter = BandwidthMeter()
        self.budget = SendBudget(self.params.send_budget_bps, time.monotonic())
        self.drops = DropLog()
        self.cpu = CpuAccount()
        self.lock = threading.Lock()  # drops and meter are counted from both threads
        self.inbox = Intake(INTAKE_CAPACITY)
        height, width = self.mash.image_size
        self.max_image_bytes = (self.params.max_message_bytes if self.params.resize_images
                                else IMAGE_SIZE_SLACK * height * width * 4 + 4096)
        self.states = StampedBuffer(self.params.state_buffer_size,
                                    int(self.params.stamp_tolerance_s * 1e9))
        self.pending = PendingFrames()
        self.auth = self._load_authenticator()
        self.replays = ReplayWindow(int(self.params.replay_window_s * 1e9))
        self.last_heartbeat: dict[str, int] = {}
        self.held_queries = HeldQueries(per_peer=self.params.state_buffer_size)
        self.peers = self.params.peers(self.agent)
        self.liveness = PeerTracker(self.peers, self.params.peer_timeout_s, time.monotonic())
        self.live = set(self.peers)
        self.is_target = self.params.is_target(self.agent)
        cfg = self.mash.cfg
        self.query_shape = (cfg.query_dim, cfg.grid_height, cfg.grid_width)
        self.cell_bytes = cell_cost(cfg.num_classes, cfg.patch_size, self.params.patch_encoding)
        self.sequence = 0
        self.stats = NodeStats()

        self.inbox_ready = self.create_guard_condition(self.process_inbox)
        # the network path: a node of its own, spun in its own thread (nodes.lifecycle); no
        # global arguments, or `-r __node:=mash` would give it this node's name
        self.intake = Node("mash_intake", namespace=self.get_namespace(), context=self.context,
                           use_global_arguments=False, start_parameter_services=False)

        def subscribe(kind, topic, peer, profile):
            topic = self.resolve_topic_name(topic)  # relative to this node's namespace
            self.intake.create_subscription(kind, topic, self.guarded(
                peer, self.take_in, kind, topic, peer), profile, raw=True)

        subscribe(Image, self.params.camera_topic(self.agent), "camera", qos.SENSOR)
        self.answer_pubs = {p: self.create_publisher(SegPatches, topics.of(p, topics.PATCHES),
                                                     qos.EXCHANGE) for p in self.peers}
        for peer in self.peers:
            subscribe(QueryMap, topics.of(peer, topics.QUERY), peer, qos.INTAKE)
            subscribe(BandwidthReport, topics.of(peer, topics.BANDWIDTH), peer, qos.INTAKE)
        if self.is_target:
            self.query_pub = self.create_publisher(QueryMap, topics.QUERY, qos.EXCHANGE)
            subscribe(SegPatches, topics.PATCHES, "unknown", qos.INTAKE)
            self.seg_pub = self.create_publisher(Image, topics.SEGMENTATION, qos.OUTPUT)
            self.color_pub = self.create_publisher(Image, topics.SEGMENTATION_COLOR,
                                                   qos.OUTPUT)
            self.single_pub = self.create_publisher(Image, topics.SEGMENTATION_SINGLE,
                                                    qos.OUTPUT)
            if self.params.publish_visualisation:
                self.conf_pub = self.create_publisher(Image, topics.CONFIDENCE, qos.OUTPUT)
        self.bandwidth_pub = self.create_publisher(BandwidthReport, topics.BANDWIDTH,
                                                   qos.OUTPUT)
        self.create_timer(TICK_S, self.guarded(self.agent, self.on_tick))
        self.create_timer(self.params.bandwidth_period_s,
                          self.guarded(self.agent, self.publish_bandwidth))
        self.create_timer(self.params.drop_summary_period_s, self.log_drop_summary)
        self.get_logger().info(
            f"{self.agent}: {'target + ' if self.is_target else ''}supporter of "
            f"{len(self.peers)} peers, camera {self.params.camera_topic(self.agent)}, "
            f"model {self.mash.cfg.name} {self.mash.image_size[0]}x{self.mash.image_size[1]}")

    # --- setup ------------------------------------------------------------------------------
    def on_set_parameters(self, changed: list[Parameter]) -> SetParametersResult:
        """Apply run-time parameters (``ros2 param set``): checked like at start-up, then
        all applied or none."""
        ours = {p.name: p.value for p in changed if p.name in PARAMETER_NAMES}
        if not ours:
            return SetParametersResult(successful=True)  # e.g. use_sim_time: rclpy's own
        try:
            params = with_runtime_changes(self.params, ours)
            self.mash.configure(params.fusion, params.confidence_threshold, params.cell_budget,
                                params.fusion_own_weight)
        except ValueError as err:
            return SetParametersResult(successful=False, reason=str(err))
        self.params = params
        settings = ", ".join(f"{name}={value!r}" for name, value in ours.items())
        self.get_logger().info(f"{self.agent}: set {settings}")
        return SetParametersResult(successful=True)

    def _load_model(self) -> MashAgent:
        params = self.params
        try:
            path = params.model_path or package_file("models", f"mash_{params.preset}.pt")
            model, cfg, _ = load_checkpoint(path, expected_kind="mash",
                                            expected_preset=params.preset)
            return MashAgent(model, cfg, params.fusion, params.confidence_threshold,
                             params.cell_budget, params.fusion_own_weight)
        except (ModelFileError, FileNotFoundError, ValueError) as err:
            raise SystemExit(f"{self.agent}: cannot load the model: {err}")

    def _load_authenticator(self) -> Authenticator | None:
        """The swarm key's authenticator; None (and a warning) when no key file is set."""
        path = self.params.swarm_key_file
        if not path:
            self.get_logger().warning(
                f"{self.agent}: authentication OFF (no swarm_key_file): any host on this "
                f"network can forge queries and answers in a peer's name")
            return None
        try:
            key = load_key(path)
        except KeyFileError as err:
            raise SystemExit(f"{self.agent}: {err}")
        self.get_logger().info(f"{self.agent}: queries, answers and heartbeats signed and "
                               f"verified with HMAC-SHA256 (key file {path})")
        return Authenticator(key)

    # --- helpers ----------------------------------------------------------------------------
    def publish(self, publisher, topic: str, msg, radio: bool = False) -> None:
        """Sign (if authenticating) and serialize once: the bytes counted are those sent.
        ``radio``: a message to peers, charged to the send budget once per matched
        subscription (DDS sends one unicast copy to each)."""
        if self.auth is not None and hasattr(msg, "mac"):
            self.auth.sign(msg)
        data = serialize_message(msg)
        with self.lock:
            self.meter.record(topic, SENT, len(data))
        if radio:
            self.budget.spend(len(data) * max(1, publisher.get_subscription_count()),
                              time.monotonic())
        try:
            publisher.publish(data)
        except Exception as err:  # noqa: BLE001 - RCLError "cannot publish data" under load
            self.drop(self.agent, "publish failed", f"on {topic}: {err}")

    def drop(self, peer: str, kind: str, detail: str = "") -> None:
        """Count a dropped message; log the first of each (peer, kind) with its detail."""
        with self.lock:
            first = self.drops.drop(peer, kind)
        if first:
            self.get_logger().warning(
                f"dropping from {peer}: {kind}{f' ({detail})' if detail else ''}; further "
                f"drops of this kind from {peer} are only counted (a summary line every "
                f"{self.params.drop_summary_period_s:g} s, totals in the JSON summary)")

    def log_drop_summary(self) -> None:
        with self.lock:
            line = self.drops.summary_line(self.params.drop_summary_period_s)
        if line:
            self.get_logger().info(line)

    def guarded(self, peer: str, handler, *args):
        """``handler`` as a callback that cannot raise: a WireFormatError is a drop of its
        kind, anything else a drop of kind ``internal: <exception type>`` whose first
        occurrence is logged with its traceback (a bug of ours, or a case no check covers)."""
        def callback(*more):
            try:
                handler(*args, *more)
            except WireFormatError as err:
                self.drop(peer, err.kind, str(err))
            except Exception as err:  # noqa: BLE001 - the point: nothing escapes into spin
                if not self.context.ok():
                    # a Ctrl-C's handler shuts the context down from its own thread while a
                    # callback may still publish: that failure is the stop, not a bug
                    return
                kind = f"internal: {type(err).__name__}"
                if self.drops.counts[(peer, kind)] == 0:
                    self.get_logger().error(f"{handler.__name__} failed on a message from "
                                            f"{peer}:\n{traceback.format_exc()}")
                self.drop(peer, kind, str(err))
        return callback

    def hear(self, peer: str) -> None:
        if self.liveness.heard(peer, time.monotonic()):
            self.get_logger().info(f"peer {peer} is back")

    def authentic(self, msg, peer: str) -> bool:
        """True if authentication is off or ``msg`` carries the swarm key's MAC; else a drop."""
        if self.auth is None:
            return True
        try:
            self.auth.verify(msg)
        except AuthError as err:
            self.drop(peer, err.kind, f"{type(msg).__name__}: {err}")
            return False
        return True

    def decode_raw(self, raw: bytes, kind, topic: str, peer: str, limit: int | None = None):
        """Size-check, count and deserialize a raw message; None if dropped."""
        with self.lock:
            self.meter.record(topic, RECEIVED, len(raw))
        limit = self.params.max_message_bytes if limit is None else limit
        if len(raw) > limit:
            self.drop(peer, f"{kind.__name__}: oversized",
                      f"{len(raw)} > {limit} bytes on {topic}")
            return None
        try:
            return deserialize_message(raw, kind)
        except Exception as err:  # noqa: BLE001 - rclpy raises several types for bad CDR
            self.drop(peer, f"{kind.__name__}: undecodable", f"on {topic}: {err}")
            return None

    # --- callbacks --------------------------------------------------------------------------
    # --- intake thread: cheap checks that need no node state ----------------------------------
    def take_in(self, kind, topic: str, peer: str, raw: bytes) -> None:
        """Size check, deserialize, authenticate; queue what passes for the main thread."""
        received = time.monotonic()
        limit = self.max_image_bytes if kind is Image else None
        msg = self.decode_raw(raw, kind, "camera" if kind is Image else topic, peer, limit)
        if msg is None:
            return
        if kind is SegPatches:
            # the claimed sender is only a name until the MAC is checked; an unknown name is
            # counted under "unknown" so a forger cannot create one counter per invented name
            peer = msg.source_id if self.liveness.known(msg.source_id) else "unknown"
        if kind is not Image and not self.authentic(msg, peer):
            return
        if self.inbox.offer((kind.__name__, peer), (received, msg), keep_latest=kind is Image,
                            capacity=CAMERA_QUEUE if kind is Image else None):
            self.inbox_ready.trigger()
        else:
            self.drop(peer, f"{kind.__name__}: queue full",
                      f"{INTAKE_CAPACITY} messages from {peer} already wait on {topic}")

    # --- main thread ---------------------------------------------------------------------------
    def process_inbox(self) -> None:
        """Handle everything the intake queued, in arrival order."""
        handlers = {"Image": self.on_image, "QueryMap": self.on_query,
                    "SegPatches": self.on_patches, "BandwidthReport": self.on_heartbeat}
        for (kind, peer), count in self.inbox.take_superseded().items():
            for _ in range(count):  # the node fell behind its camera: say so, count them
                self.drop(peer, f"{kind}: superseded", "a newer image arrived before it was "
                          "encoded")
        for (kind, peer), (received, msg) in self.inbox.take():
            self.guarded(peer, handlers[kind], peer, msg, received)()

    def on_image(self, peer: str, msg: Image, received: float) -> None:
        try:
            rgb = conversions.image_to_array(msg, "rgb8", self.mash.image_size,
                                             self.params.resize_images)
            self.cpu.start()
            with self.cpu.core():
                state = self.mash.encode(rgb)
        except WireFormatError as err:
            self.drop("camera", f"Image: {err.kind}", str(err))
            return
        stamp = stamp_ns(msg.header)
        self.states.put(stamp, state)
        self.stats.images += 1
        self.serve_held_queries()
        if not self.is_target:
            return
        self.sequence += 1
        self.stats.frames += 1
        with self.lock:
            self.meter.count_frame(len(msg.data), len(self.peers))
        expected = set(self.live)
        frame = PendingFrame(stamp, self.sequence, expected, received + self.params.deadline_s,
                             state={"state": state, "header": msg.header}, received_at=received)
        if expected:
            encoding = self.budget.query_encoding(self.params.query_encoding, self.query_shape,
                                                  len(expected), time.monotonic())
            query = conversions.query_to_msg(self.mash.query_of(state), msg.header, self.agent,
                                             self.sequence, encoding)
            self.pending.open(frame)
            self.publish(self.query_pub, topics.QUERY, query, radio=True)
        else:
            self.finish(frame, by_deadline=False)

    def on_query(self, peer: str, msg: QueryMap, received: float) -> None:
        topic = topics.of(peer, topics.QUERY)
        replayed = self.replays.check(peer, stamp_ns(msg.header), msg.sequence,
                                      self.states.newest_stamp())
        if replayed:
            self.drop(peer, replayed, f"QueryMap {msg.sequence} at {stamp_ns(msg.header)} ns")
            return
        try:
            if msg.target_id != peer:
                raise WireFormatError(f"target_id {msg.target_id!r} on {topic}", "sender")
            query = conversions.msg_to_query(msg)
        except WireFormatError as err:
            self.drop(peer, f"QueryMap: {err.kind}", str(err))
            return
        self.hear(peer)
        if not self.held_queries.hold(time.monotonic() + self.params.deadline_s, peer,
                                      stamp_ns(msg.header), (msg, query)):
            self.drop(peer, "QueryMap: queue full", f"{self.held_queries.per_peer} queries "
                      f"from {peer} already wait for their images")
            return
        self.serve_held_queries()

    def serve_held_queries(self) -> None:
        """Answer every held query whose stamp has a stored state; drop those now too late."""
        ready, expired = self.held_queries.release(self.states.get, time.monotonic())
        for peer, _ in expired:
            self.drop(peer, "late", "no own image within stamp tolerance of the query")
        # earliest deadline first: under a send budget the oldest query is served before
        # the budget is shared out further
        ready.sort(key=lambda item: stamp_ns(item[1][0].header))
        reserve = (query_cost(self.query_shape, self.params.query_encoding, len(self.live))
                   if self.is_target else 0)
        for left, (peer, (msg, query), state) in zip(range(len(ready), 0, -1), ready):
            try:
                with self.cpu.core():
                    answer = self.mash.answer(query, state)
            except WireFormatError as err:
                self.drop(peer, f"QueryMap: {err.kind}", str(err))
                continue
            cells = self.budget.answer_cells(time.monotonic(), left, reserve, self.cell_bytes,
                                             answer.num_cells)
            answer = most_confident(answer, cells)
            reply = conversions.patches_to_msg(answer, msg.header, self.agent, peer,
                                               msg.sequence, self.params.patch_encoding)
            self.publish(self.answer_pubs[peer], topics.of(peer, topics.PATCHES), reply,
                         radio=True)
            self.stats.answered(answer.num_cells)

    def on_patches(self, peer: str, msg: SegPatches, received: float) -> None:
        try:
            if peer == "unknown" or msg.target_id != self.agent:
                raise WireFormatError(f"from {msg.source_id!r} to {msg.target_id!r}", "sender")
            answer = conversions.msg_to_patches(msg)
            self.mash.check_answer(answer)
            frame = self.pending.answer(msg.sequence, stamp_ns(msg.header), peer, answer)
        except WireFormatError as err:
            self.drop(peer, f"SegPatches: {err.kind}", str(err))
            return
        self.hear(peer)
        if frame is not None:
            self.finish(frame, by_deadline=False)

    def on_tick(self) -> None:
        now = time.monotonic()
        live = self.liveness.live(now)
        for peer in self.live - live:
            self.get_logger().warning(f"peer {peer} silent for {self.params.peer_timeout_s} s: "
                                      f"not waiting for it until it speaks again")
            for frame in self.pending.forget_peer(peer):
                self.finish(frame, by_deadline=False)
        self.live = live
        for frame in self.pending.due(now):
            self.finish(frame, by_deadline=True)
        if self.held_queries:
            self.serve_held_queries()

    def on_heartbeat(self, peer: str, msg: BandwidthReport, received: float) -> None:
        if msg.agent_id != peer:
            self.drop(peer, "BandwidthReport: sender", f"agent_id {msg.agent_id!r}")
            return
        # a heartbeat only proves liveness if it is newer than the last one (the sender's
        # clock): a replayed old one must not keep a dead peer "live"
        sent = stamp_ns(msg.header)
        if sent <= self.last_heartbeat.get(peer, -1):
            self.drop(peer, REPLAY, f"heartbeat stamped {sent} ns, not after the last one")
            return
        self.last_heartbeat[peer] = sent
        self.hear(peer)

    def finish(self, frame: PendingFrame, by_deadline: bool) -> None:
        """Fuse what arrived for a frame and publish the result.

        Answers passed every check before they were filed; should fusing them still fail, the
        frame is published from the target's own state: peers can only add, never block.
        """
        state, header = frame.state["state"], frame.state["header"]
        answers = list(frame.answers.values())
        with self.cpu.core():
            try:
                fused = self.mash.fuse(state, answers)
            except Exception as err:  # noqa: BLE001
                self.drop(self.agent, f"internal: fusion {type(err).__name__}", str(err))
                answers, fused = [], self.mash.fuse(state, [])
            labels = fused.argmax(axis=0).astype(np.uint8)
            single = self.mash.single_agent(state).argmax(axis=0).astype(np.uint8)
        self.publish(self.seg_pub, topics.SEGMENTATION,
                     conversions.array_to_image(labels, "mono8", header))
        self.publish(self.color_pub, topics.SEGMENTATION_COLOR,
                     conversions.array_to_image(_COLORS[labels], "rgb8", header))
        self.publish(self.single_pub, topics.SEGMENTATION_SINGLE,
                     conversions.array_to_image(single, "mono8", header))
        if self.params.publish_visualisation:
            confidence = (fused.max(axis=0) * 255).astype(np.uint8)
            self.publish(self.conf_pub, topics.CONFIDENCE,
                         conversions.array_to_image(confidence, "mono8", header))
        self.stats.fused_frame(len(answers), by_deadline, time.monotonic() - frame.received_at)

    def publish_bandwidth(self) -> None:
        msg = BandwidthReport(agent_id=self.agent, window_s=self.params.bandwidth_period_s,
                              frames=self.meter.frames, raw_image_bytes=self.meter.raw_image_bytes)
        msg.header.stamp = self.get_clock().now().to_msg()
        with self.lock:
            rows = self.meter.report(self.params.bandwidth_period_s)
        for row in rows:
            direction = (TopicBandwidth.DIRECTION_SENT if row["direction"] == SENT
                         else TopicBandwidth.DIRECTION_RECEIVED)
            msg.topics.append(TopicBandwidth(
                topic=row["topic"], direction=direction, messages=row["messages"],
                bytes=row["bytes"], bytes_per_frame=float(row["bytes_per_frame"]),
                bytes_per_second=float(row["bytes_per_second"])))
        self.publish(self.bandwidth_pub, topics.BANDWIDTH, msg, radio=True)

    def summary(self) -> dict:
        with self.lock:
            return {"agent": self.agent, "target": self.is_target, "peers": list(self.peers),
                    **self.stats.summary(),
                    "dropped": self.drops.total, "dropped_by_peer": self.drops.by_peer(),
                    "dropped_by_kind": self.drops.by_kind(),
                    "dropped_by_peer_and_kind": self.drops.by_peer_and_kind(),
                    "bandwidth": self.meter.summary(), "send_budget": self.budget.summary(),
                    "cpu": self.cpu.summary(self.stats.images)}

    def destroy_node(self) -> None:
        intake = getattr(self, "intake", None)  # absent if the constructor failed early
        if intake is not None:
            intake.destroy_node()
        super().destroy_node()

    def write_summary(self) -> None:
        """The JSON summary, written atomically: complete or absent, never half a file."""
        if self.params.summary_path:
            write_json_atomic(self.params.summary_path, self.summary())


def main(args=None) -> int:
    """Run one drone node until Ctrl-C / SIGTERM (mash_ros.nodes.lifecycle.run_node)."""
    return run_node(DroneNode, args)


if __name__ == "__main__":
    sys.exit(main())
