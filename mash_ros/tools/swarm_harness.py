"""Drive a running swarm from one process: feed camera images, collect fused outputs.

Used by the integration tests and ``mash-bench swarm``. The harness starts the node plan as
separate processes (``SwarmProcesses``), publishes each snapshot's images with one shared stamp
on every drone's camera topic, and waits for every target's ``mash/segmentation``.
"""
from __future__ import annotations

import pathlib
import time
from dataclasses import dataclass, field

import numpy as np
import rclpy
from mash_msgs.msg import SegPatches
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from mash_ros import conversions
from mash_ros.nodes import qos
from mash_ros.swarm import topics
from mash_ros.swarm.plan import build_plan
from mash_ros.tools.swarm import SwarmProcesses

FEED_TOPIC = "/feed/{agent}/image"
WARMUP_WAIT_S = 3.0  # a warm-up snapshot unanswered this long is followed by another


@dataclass
class FrameResult:
    """What one target published for one snapshot."""

    fused: np.ndarray | None = None    # uint8 [H, W] class ids
    single: np.ndarray | None = None   # uint8 [H, W] class ids without peers
    latency_s: float = float("nan")    # image publish -> fused output received
    answered_by: set = field(default_factory=set)  # peers whose SegPatches arrived


class SwarmHarness(Node):
    """Feeds and watches a swarm of ``num_agents`` drone nodes started as OS processes."""

    def __init__(self, num_agents: int, workdir: pathlib.Path, parameters: dict | None = None,
                 targets: str = "all", env: dict | None = None,
                 image_shape: tuple[int, int, int] = (128, 128, 3), swarm_key_file: str = ""):
        """``swarm_key_file``: empty = a fresh key in ``workdir`` (authentication on, as in
        the launch file); 'none' = off."""
        self.workdir = pathlib.Path(workdir)
        self.image_shape = image_shape
        self.warmup_frames = 0  # snapshots wait_ready sent, counted in the nodes' summaries
        self.key_file = swarm_key_file or str(self.workdir / "swarm.key")
        self.plan = build_plan({"num_agents": str(num_agents), "targets": targets,
                                "image_topic": FEED_TOPIC, "swarm_key_file": self.key_file})
        self.agents = [spec.agent for spec in self.plan]
        self.targets = [a for a in self.agents if targets == "all" or a in targets.split(",")]
        self.summaries = {a: self.workdir / f"summary_{a}.json" for a in self.agents}
        self.swarm = SwarmProcesses(self.plan, extra_parameters=parameters or {}, env=env,
                                    quiet=True)
        super().__init__("swarm_harness")
        self.image_pubs = {a: self.create_publisher(Image, FEED_TOPIC.format(agent=a), qos.SENSOR)
                           for a in self.agents}
        self.results: dict[tuple[int, str], FrameResult] = {}
        self.sent_at: dict[int, float] = {}
        for target in self.targets:
            self.create_subscription(Image, topics.of(target, topics.SEGMENTATION),
                                     lambda m, t=target: self._on_output(t, m, "fused"),
                                     qos.OUTPUT)
            self.create_subscription(Image, topics.of(target, topics.SEGMENTATION_SINGLE),
                                     lambda m, t=target: self._on_output(t, m, "single"),
                                     qos.OUTPUT)
            self.create_subscription(SegPatches, topics.of(target, topics.PATCHES),
                                     lambda m, t=target: self._on_patches(t, m), qos.EXCHANGE)

    # --- process control --------------------------------------------------------------------
    def start(self, agent: str | None = None) -> None:
        for spec in self.plan:
            if agent is None or spec.agent == agent:
                spec.parameters["summary_path"] = str(self.summaries[spec.agent])
        self.swarm.start(agent)

    def wait_ready(self, timeout: float = 60.0, agents=None) -> None:
        """Until the graph is connected and a warm-up snapshot went through every target.

        The graph check alone is not enough: a best-effort camera sample published the moment
        our side sees the subscription can still be lost while the other side finishes
        matching, so warm-up snapshots (negative indices) are sent until one is answered.
        """
        agents = agents or self.agents
        deadline = time.monotonic() + timeout
        self._wait_graph(agents, deadline)
        rng = np.random.default_rng(0)
        while time.monotonic() < deadline:
            self.warmup_frames += 1
            index = -self.warmup_frames
            images = rng.integers(0, 256, (len(self.agents), *self.image_shape), dtype=np.uint8)
            self.send(index, images, agents)
            results = self.wait_outputs(index, WARMUP_WAIT_S,
                                        [t for t in self.targets if t in agents])
            if all(r is not None and r.fused is not None for r in results.values()):
                return
        raise TimeoutError("no warm-up snapshot made it through the swarm in time")

    def _wait_graph(self, agents, deadline: float) -> None:
        """Until every node subscribes to its camera and every target's query has its peers."""
        while time.monotonic() < deadline:
            cams = all(self.image_pubs[a].get_subscription_count() >= 1 for a in agents)
            queries = all(self.count_subscribers(topics.of(t, topics.QUERY)) >= len(agents) - 1
                          for t in self.targets if t in agents)
            answers = all(self.count_publishers(topics.of(t, topics.PATCHES)) >= len(agents) - 1
                          for t in self.targets if t in agents)
            if cams and queries and answers:
                return
            dead = [a for a, ok in self.swarm.alive().items() if not ok]
            if dead:
                raise RuntimeError(f"drone nodes exited during start-up: {dead}")
            rclpy.spin_once(self, timeout_sec=0.1)
        raise TimeoutError("the swarm's graph did not come up in time")

    def stop(self) -> dict:
        return self.swarm.stop()

    # --- feeding ----------------------------------------------------------------------------
    def send(self, index: int, images: np.ndarray, agents=None) -> None:
        """Publish snapshot ``index``: images uint8 [N, H, W, 3] RGB, one shared stamp."""
        header = Header(frame_id="camera")
        header.stamp.sec, header.stamp.nanosec = 1000 + index, 0  # stamp identifies the frame
        self.sent_at[index] = time.monotonic()
        for agent, image in zip(self.agents, images):
            if agents is None or agent in agents:
                self.image_pubs[agent].publish(conversions.array_to_image(image, "rgb8", header))

    def wait_outputs(self, index: int, timeout: float, targets=None,
                     answers_from=None) -> dict[str, FrameResult]:
        """Spin until every target in ``targets`` (default all) published snapshot ``index``'s
        fused output and, if ``answers_from`` is given, those agents' answers were seen."""
        targets = targets or self.targets
        deadline = time.monotonic() + timeout

        def done(target, result) -> bool:
            if result is None or result.fused is None or result.single is None:
                return False
            return not answers_from or set(answers_from) - {target} <= result.answered_by

        while time.monotonic() < deadline:
            got = {t: self.results.get((index, t)) for t in targets}
            if all(done(t, r) for t, r in got.items()):
                return got
            rclpy.spin_once(self, timeout_sec=0.01)
        return {t: self.results.get((index, t)) for t in targets}

    def run_snapshot(self, index: int, images: np.ndarray, timeout: float = 10.0,
                     targets=None, answers_from=None) -> dict[str, FrameResult]:
        self.send(index, images)
        return self.wait_outputs(index, timeout, targets, answers_from)

    # --- callbacks --------------------------------------------------------------------------
    def _result(self, msg_header, target: str) -> FrameResult:
        index = msg_header.stamp.sec - 1000
        return self.results.setdefault((index, target), FrameResult())

    def _on_output(self, target: str, msg: Image, kind: str) -> None:
        result = self._result(msg.header, target)
        setattr(result, kind, conversions.image_to_array(msg, "mono8"))
        if kind == "fused":
            result.latency_s = time.monotonic() - self.sent_at.get(msg.header.stamp.sec - 1000,
                                                                   float("nan"))

    def _on_patches(self, target: str, msg: SegPatches) -> None:
        self._result(msg.header, target).answered_by.add(msg.source_id)
