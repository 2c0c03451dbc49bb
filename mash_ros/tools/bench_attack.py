"""Attack run: a live swarm (authentication on) under a seeded fuzzer, forgeries and replays.

N drone nodes (separate processes over Fast DDS on loopback) are fed snapshots lock-step while
a rogue node in this process sends, with every snapshot, a batch of hostile messages on every
drone's topics: malformed queries, answers and heartbeats (one or two fields broken), raw
garbage, truncated and bit-flipped copies of real messages, oversized messages, bad camera
images (each check the node makes), well-formed answers forged in a real peer's name for the
query a target just sent (unsigned, or signed with another key; they carry one class
everywhere with confidence 1, so a fused forgery shows), and replays of captured authentic
queries and answers. Reported: node crashes, frames without output, forgeries sent against
drops counted as forged, frames whose fused output shows the forged class, and the drops by
kind.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

FORGED_CLASS = 7  # the class forged answers claim everywhere
MAX_MESSAGE_BYTES = 200_000  # the drones' limit in this run; oversized messages exceed it
OVERSIZED = 300_000


def add_arguments(parser) -> None:
    parser.add_argument("--agents", type=int, default=3, help="drones in the swarm")
    parser.add_argument("--messages", type=int, default=10000, help="hostile messages in all")
    parser.add_argument("--snapshots", type=int, default=40, help="snapshots fed lock-step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None, help="weights (default: bundled mash_cpu.pt)")


class Fuzzer:
    """Seeded generator of hostile (topic, serialized message) pairs."""

    def __init__(self, rng: np.random.Generator, agents: list[str], feed: str):
        self.rng, self.agents, self.feed = rng, agents, feed
        self.captured: list[tuple[str, bytes]] = []  # authentic messages seen on the wire
        self.pending: list = []                      # (target, QueryMap) just sent
        self.sent: dict[str, int] = {}

    def _count(self, kind: str) -> None:
        self.sent[kind] = self.sent.get(kind, 0) + 1

    def batch(self, size: int) -> list[tuple[str, bytes]]:
        makers = [self.malformed_query, self.malformed_answer, self.malformed_heartbeat,
                  self.garbage, self.mangled_copy, self.bad_image, self.forged_answer,
                  self.replay, self.oversized]
        out = []
        for _ in range(size):
            item = makers[self.rng.integers(len(makers))]()
            if item is not None:
                out.append(item)
        return out

    def _agent(self) -> str:
        return self.agents[self.rng.integers(len(self.agents))]

    def _header(self):
        from std_msgs.msg import Header

        header = Header(frame_id="camera")
        header.stamp.sec = int(self.rng.integers(0, 2000))
        return header

    def malformed_query(self):
        from mash_msgs.msg import QueryMap
        from rclpy.serialization import serialize_message

        agent = self._agent()
        msg = QueryMap(header=self._header(), target_id=agent, sequence=int(self.rng.integers(9)),
                       height=16, width=16, channels=32, encoding=2)
        msg.scale = [1.0] * 32
        msg.data = self.rng.integers(0, 256, 8192, np.uint8).tobytes()
        broken = self.rng.choice(["height", "channels", "encoding", "data", "scale",
                                  "target_id", "none"])
        if broken == "height":
            msg.height = int(self.rng.choice([0, 300, 65535]))
        elif broken == "channels":
            msg.channels = int(self.rng.choice([0, 2000]))
        elif broken == "encoding":
            msg.encoding = int(self.rng.integers(3, 256))
        elif broken == "data":
            msg.data = msg.data[: int(self.rng.integers(0, 8192))]
        elif broken == "scale":
            msg.scale = [float("nan")] * 32
        elif broken == "target_id":
            msg.target_id = "drone_99"
        self._count("malformed query")
        return f"/{agent}/mash/query", serialize_message(msg)

    def malformed_answer(self):
        from mash_msgs.msg import SegPatches
        from rclpy.serialization import serialize_message

        target, source = self._agent(), self._agent()
        count = int(self.rng.integers(0, 40))
        msg = SegPatches(header=self._header(), source_id=source, target_id=target,
                         sequence=int(self.rng.integers(9)), grid_height=16, grid_width=16,
                         patch_size=8, num_classes=8, encoding=int(self.rng.integers(0, 5)))
        msg.cell_index = self.rng.integers(0, 300, count).tolist()
        msg.source_cell = self.rng.integers(0, 256, count).tolist()
        msg.confidence = self.rng.uniform(-0.5, 1.5, count).tolist()
        msg.data = self.rng.integers(0, 256, count * 64, np.uint8).tobytes()
        self._count("malformed answer")
        return f"/{target}/mash/patches", serialize_message(msg)

    def malformed_heartbeat(self):
        from mash_msgs.msg import BandwidthReport
        from rclpy.serialization import serialize_message

        agent = self._agent()
        msg = BandwidthReport(header=self._header(),
                              agent_id=str(self.rng.choice([agent, "", "drone_99"])))
        self._count("malformed heartbeat")
        return f"/{agent}/mash/bandwidth", serialize_message(msg)

    def garbage(self):
        agent = self._agent()
        topic = f"/{agent}/mash/" + str(self.rng.choice(["query", "patches", "bandwidth"]))
        self._count("garbage bytes")
        return topic, self.rng.integers(0, 256, int(self.rng.integers(0, 3000)),
                                        np.uint8).tobytes()

    def mangled_copy(self):
        if not self.captured:
            return None
        topic, raw = self.captured[self.rng.integers(len(self.captured))]
        raw = bytearray(raw)
        if self.rng.random() < 0.5:
            raw = raw[: int(self.rng.integers(0, len(raw)))]
        else:
            for index in self.rng.integers(0, len(raw), 4):
                raw[index] ^= 1 << int(self.rng.integers(8))
        self._count("truncated or bit-flipped copy")
        return topic, bytes(raw)

    def bad_image(self):
        from rclpy.serialization import serialize_message
        from sensor_msgs.msg import Image

        agent = self._agent()
        good = dict(height=128, width=128, encoding="rgb8", is_bigendian=0, step=384,
                    data=bytes(384 * 128))
        kind = str(self.rng.choice(["encoding", "bigendian", "height", "width", "step",
                                    "payload", "size", "mono8", "bigendian_valid"]))
        changes = {"encoding": dict(encoding=str(self.rng.choice(["bgra8", "16UC1", "yuv422",
                                                                   "32FC1", ""]))),
                   "bigendian": dict(is_bigendian=int(self.rng.integers(2, 256))),
                   "height": dict(height=0, data=b""),
                   "width": dict(width=9000, step=27000, data=b""),
                   "step": dict(step=10),
                   "payload": dict(data=bytes(100)),
                   "size": dict(height=64, data=bytes(384 * 64)),
                   "mono8": dict(encoding="mono8", step=128, data=bytes(128 * 128)),
                   "bigendian_valid": dict(is_bigendian=1)}[kind]
        msg = Image(header=self._header(), **{**good, **changes})
        self._count(f"camera image: {kind}")
        return self.feed.format(agent=agent), serialize_message(msg)

    def forged_answer(self):
        from rclpy.serialization import serialize_message

        from mash_ros import conversions
        from mash_ros.core.roles import Response
        from mash_ros.swarm.auth import Authenticator

        if not self.pending:
            return None
        target, query = self.pending[self.rng.integers(len(self.pending))]
        peers = [a for a in self.agents if a != target]
        patches = np.zeros((256, 8, 8, 8), np.float32)
        patches[:, FORGED_CLASS] = 1.0
        answer = Response.from_numpy(np.arange(256), patches, np.ones(256), np.arange(256),
                                     (16, 16))
        msg = conversions.patches_to_msg(answer, query.header, peers[self.rng.integers(
            len(peers))], target, query.sequence, "uint8")
        if self.rng.random() < 0.5:
            Authenticator(self.rng.bytes(32)).sign(msg)
        self._count("forged answer")
        return f"/{target}/mash/patches", serialize_message(msg)

    def replay(self):
        if not self.captured:
            return None
        self._count("replayed authentic message")
        return self.captured[self.rng.integers(len(self.captured))]

    def oversized(self):
        agent = self._agent()
        self._count("oversized")
        return f"/{agent}/mash/patches", bytes(OVERSIZED)


def run(ns) -> dict:
    import rclpy
    from mash_msgs.msg import BandwidthReport, QueryMap, SegPatches
    from rclpy.serialization import deserialize_message

    from mash_ros.core.checkpoint import load_checkpoint
    from mash_ros.core.paths import package_file
    from mash_ros.nodes import qos
    from mash_ros.tools.bench_swarm import load_snapshots
    from mash_ros.tools.ros_env import isolate_this_process
    from mash_ros.tools.swarm_harness import FEED_TOPIC, SwarmHarness

    model = Path(ns.model) if ns.model else package_file("models", "mash_cpu.pt")
    _, cfg, _ = load_checkpoint(model, expected_kind="mash")
    snapshots = load_snapshots(None, ns.snapshots, ns.agents)
    rng = np.random.default_rng(ns.seed)
    isolate_this_process()
    per_snapshot = -(-ns.messages // ns.snapshots)
    with tempfile.TemporaryDirectory() as tmp:
        rclpy.init()
        harness = SwarmHarness(ns.agents, Path(tmp), {"model_path": str(model),
                                                      "preset": cfg.name, "deadline_s": 2.0,
                                                      "max_message_bytes": MAX_MESSAGE_BYTES})
        fuzzer = Fuzzer(rng, harness.agents, FEED_TOPIC)
        types = {"query": QueryMap, "patches": SegPatches, "bandwidth": BandwidthReport}
        pubs = {}
        for agent in harness.agents:
            for name, kind in types.items():
                topic = f"/{agent}/mash/{name}"
                pubs[topic] = harness.create_publisher(kind, topic, qos.EXCHANGE)
                harness.create_subscription(
                    kind, topic, lambda raw, t=topic: fuzzer.captured.append((t, raw))
                    if len(fuzzer.captured) < 500 else None, qos.EXCHANGE, raw=True)
            pubs[FEED_TOPIC.format(agent=agent)] = harness.image_pubs[agent]

            def pending(raw, target=agent):
                try:  # our own garbage is on this topic too
                    query = deserialize_message(raw, QueryMap)
                except Exception:  # noqa: BLE001
                    return
                if len(query.mac):  # a drone's real, signed query
                    fuzzer.pending = [*fuzzer.pending[-20:], (target, query)]
            harness.create_subscription(QueryMap, f"/{agent}/mash/query", pending,
                                        qos.EXCHANGE, raw=True)
        results, crashed_during = [], []
        try:
            harness.start()
            harness.wait_ready(timeout=120)
            started = time.monotonic()
            for index in range(ns.snapshots):
                harness.send(index, snapshots[index])
                for topic, raw in fuzzer.batch(per_snapshot):
                    try:
                        pubs[topic].publish(raw)
                    except Exception:  # noqa: BLE001 - our own publisher under load
                        fuzzer.sent["rogue publish failures"] = \
                            fuzzer.sent.get("rogue publish failures", 0) + 1
                    rclpy.spin_once(harness, timeout_sec=0)
                got = harness.wait_outputs(index, 20)
                results.append(got)
                crashed_during += [a for a, ok in harness.swarm.alive().items() if not ok]
            elapsed = time.monotonic() - started
            alive = harness.swarm.alive()
        finally:
            codes = harness.stop()
            harness.destroy_node()
            rclpy.try_shutdown()
        summaries = {a: json.loads(p.read_text()) for a, p in harness.summaries.items()
                     if p.exists()}
    no_output = sum(1 for got in results for r in got.values() if r is None or r.fused is None)
    showing_forgery = 0
    for got in results:
        for r in got.values():
            if r is not None and r.fused is not None and r.single is not None:
                gained = (r.fused == FORGED_CLASS).mean() - (r.single == FORGED_CLASS).mean()
                showing_forgery += int(gained > 0.2)
    forged_dropped = sum(count for s in summaries.values()
                         for peer, kinds in s["dropped_by_peer_and_kind"].items()
                         for kind, count in kinds.items() if kind.startswith("auth: "))
    kinds: dict[str, int] = {}
    for s in summaries.values():
        for kind, count in s["dropped_by_kind"].items():
            kinds[kind] = kinds.get(kind, 0) + count
    return {
        "agents": ns.agents, "snapshots": ns.snapshots, "seed": ns.seed,
        "hostile_messages_sent": sum(v for k, v in fuzzer.sent.items()
                                     if k != "rogue publish failures"),
        "sent_by_kind": dict(sorted(fuzzer.sent.items())), "elapsed_s": elapsed,
        "nodes_alive_at_end": alive, "nodes_dead_during_run": sorted(set(crashed_during)),
        "exit_codes": codes, "summaries_written": sorted(summaries),
        "target_frames": len(results) * ns.agents, "frames_without_output": no_output,
        "frames_showing_the_forged_class": showing_forgery,
        "auth_drops": forged_dropped,
        "duplicate_answer_drops": kinds.get("SegPatches: duplicate answer", 0),
        "internal_drops": {k: v for k, v in kinds.items() if k.startswith("internal")},
        "drops_by_kind": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
        "note": "auth drops count forged answers (unsigned / wrong key) and every other unsigned "
                "hostile message; replays of captured authentic messages are dropped as "
                "replay, late answer or duplicate answer",
    }
