"""A minimal two-agent exchange over the real mash_msgs topics (a test helper, run as a script:
``python test/ros/exchange_peer.py --role target|support …``; not part of the package).

The target publishes a QueryMap per frame on ``/<target>/mash/query`` and waits for the
supporter's SegPatches on ``/<target>/mash/patches``; the supporter decodes each query and
answers with patches derived deterministically from it. Both sides log a digest of every
serialized message they send or receive, so a test can prove that every field arrived intact.
No network here: payloads are seeded random tensors shaped like the cpu preset's.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import numpy as np
import rclpy
from mash_msgs.msg import QueryMap, SegPatches
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.serialization import serialize_message
from rclpy.utilities import remove_ros_args
from std_msgs.msg import Header

from mash_ros import conversions
from mash_ros.core.codecs import WireFormatError
from mash_ros.core.roles import Response
from mash_ros.nodes import qos
from mash_ros.swarm import topics
from mash_ros.swarm.auth import canonical_bytes
from mash_ros.tools.encoding_args import add_encoding_arguments

RESEND_AFTER_S = 1.0  # a query unanswered this long is sent again (lost during discovery)


def digest(msg) -> str:
    """sha256 over every field but ``mac`` (the bytes a MAC covers): equal digests ⇔ equal
    messages. (Not over the CDR bytes: the serializer leaves alignment padding uninitialised.)
    """
    return hashlib.sha256(canonical_bytes(msg)).hexdigest()


def synthetic_query(sequence: int, channels=8, grid=16) -> np.ndarray:
    """Seeded query map [Q, Hs, Ws] for frame ``sequence``."""
    rng = np.random.default_rng(sequence)
    return rng.standard_normal((channels, grid, grid)).astype(np.float32)


def synthetic_answer(query: np.ndarray, classes=8, patch=8) -> Response:
    """Patches a supporter derives from a query: the ~7 % of cells whose channel 0 exceeds 1.5."""
    _, height, width = query.shape
    cells = np.flatnonzero(query[0].ravel() > 1.5)
    rng = np.random.default_rng(int(cells.sum()))
    logits = rng.standard_normal((len(cells), classes, patch, patch))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    confidence = 1.0 / (1.0 + np.exp(-query[1].ravel()[cells]))
    return Response.from_numpy(cells, probs, confidence, cells[::-1].copy(), (height, width))


class ExchangePeer(Node):
    """One side of the exchange; role 'target' or 'support'."""

    def __init__(self, role: str, agent: str, peer: str, frames: int, query_encoding: str,
                 patch_encoding: str):
        super().__init__("exchange_peer", namespace=agent)
        self.role, self.agent, self.peer, self.frames = role, agent, peer, frames
        self.query_encoding, self.patch_encoding = query_encoding, patch_encoding
        self.log = {"sent": [], "received": [], "dropped": 0, "bytes": {}}
        if role == "target":
            self.query_pub = self.create_publisher(QueryMap, topics.QUERY, qos.EXCHANGE)
            self.create_subscription(SegPatches, topics.PATCHES, self.on_patches,
                                     qos.EXCHANGE)
            self.answered: set[int] = set()
            self.last_sent = (-1, 0.0)  # (sequence, monotonic time)
            self.create_timer(0.02, self.send_next_query)
        else:
            self.patch_pubs = self.create_publisher(SegPatches, topics.of(peer, topics.PATCHES),
                                                    qos.EXCHANGE)
            self.create_subscription(QueryMap, topics.of(peer, topics.QUERY), self.on_query,
                                     qos.EXCHANGE)

    def count(self, topic: str, msg) -> None:
        self.log["bytes"][topic] = self.log["bytes"].get(topic, 0) + len(serialize_message(msg))

    def record(self, direction: str, msg) -> None:
        self.log[direction].append({"type": type(msg).__name__, "sequence": msg.sequence,
                                    "digest": digest(msg)})

    @property
    def done(self) -> bool:
        return self.role == "target" and len(self.answered) >= self.frames

    def send_next_query(self) -> None:
        pending = [s for s in range(self.frames) if s not in self.answered]
        if not pending or self.query_pub.get_subscription_count() == 0:
            return  # done, or no supporter discovered yet
        sequence, now = pending[0], time.monotonic()
        if self.last_sent[0] == sequence and now - self.last_sent[1] < RESEND_AFTER_S:
            return
        self.last_sent = (sequence, now)
        header = Header(frame_id=f"{self.agent}/camera")
        header.stamp = self.get_clock().now().to_msg()
        msg = conversions.query_to_msg(synthetic_query(sequence), header, self.agent, sequence,
                                       self.query_encoding)
        self.query_pub.publish(msg)
        self.record("sent", msg)
        self.count(topics.QUERY, msg)

    def on_query(self, msg: QueryMap) -> None:
        self.record("received", msg)
        try:
            query = conversions.msg_to_query(msg)
        except WireFormatError as err:
            self.log["dropped"] += 1
            self.get_logger().warning(f"dropped QueryMap: {err}", once=True)
            return
        reply = conversions.patches_to_msg(synthetic_answer(query), msg.header, self.agent,
                                           msg.target_id, msg.sequence, self.patch_encoding)
        self.patch_pubs.publish(reply)
        self.record("sent", reply)
        self.count(topics.PATCHES, reply)

    def on_patches(self, msg: SegPatches) -> None:
        self.record("received", msg)
        try:
            conversions.msg_to_patches(msg)
        except WireFormatError as err:
            self.log["dropped"] += 1
            self.get_logger().warning(f"dropped SegPatches: {err}", once=True)
            return
        self.answered.add(msg.sequence)


def run(role: str, agent: str, peer: str, frames: int, out: str, timeout: float,
        query_encoding: str, patch_encoding: str, args=None) -> int:
    """Spin one peer until done (target) or until ``timeout`` (supporter); write its log."""
    rclpy.init(args=args)
    node = ExchangePeer(role, agent, peer, frames, query_encoding, patch_encoding)
    deadline = time.monotonic() + timeout
    try:
        while rclpy.ok() and not node.done and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # SIGINT/SIGTERM: write the log and leave
    finally:
        with open(out, "w") as handle:
            json.dump(node.log, handle)
        node.destroy_node()
        rclpy.try_shutdown()
    return 0 if (role != "target" or node.done) else 1


def main(args=None) -> int:
    argv = remove_ros_args(args if args is not None else sys.argv)[1:]
    parser = argparse.ArgumentParser(prog="mash-exchange-peer", description=__doc__)
    parser.add_argument("--role", choices=["target", "support"], required=True)
    parser.add_argument("--agent", required=True, help="this agent's namespace, e.g. drone_0")
    parser.add_argument("--peer", required=True, help="the other agent's namespace")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before giving up")
    add_encoding_arguments(parser)
    parser.add_argument("--out", required=True, help="JSON log of every message sent/received")
    ns = parser.parse_args(argv)
    return run(ns.role, ns.agent, ns.peer, ns.frames, ns.out, ns.timeout, ns.query_encoding,
               ns.patch_encoding, args=args)


if __name__ == "__main__":
    sys.exit(main())
