"""The on-board station of one lab drone: its camera and its logger, on the drone's own host.

On a real drone the camera and the recorder sit on board, so camera images and fused outputs
never cross the radio. In the lab this process runs inside the drone's namespace next to the
drone node (its traffic stays on that namespace's loopback) and is driven by the lab runner
over stdin/stdout, one JSON object per line, so all stations move in lock-step:

  in   {"cmd": "send", "index": i}   publish snapshot i's image for this drone (stamp 1000 + i;
                                      i < 0: a random warm-up image)
  in   {"cmd": "status"}             answer with the camera's subscriber count
  in   {"cmd": "quit"}
  out  {"event": "output", "index": i, "kind": "fused"|"single", "t": monotonic seconds,
        "labels": base64 of the uint8 [H, W] class ids}
  out  {"event": "status", "subscribers": n, "report": the latest BandwidthReport or null}

Time stamps are CLOCK_MONOTONIC, which every namespace of one kernel shares, so the runner
can subtract its own send times.
"""
from __future__ import annotations

import argparse
import base64
import json
import queue
import sys
import threading
import time

import numpy as np
import rclpy
from mash_msgs.msg import BandwidthReport
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from mash_ros import conversions
from mash_ros.nodes import qos
from mash_ros.swarm import topics
from mash_ros.tools.swarm_harness import FEED_TOPIC

STAMP_BASE_S = 1000  # snapshot i carries stamp 1000 + i s; the stamp identifies the frame


class Station(Node):
    """Feeds one drone's camera from an image file and reports its outputs."""

    def __init__(self, agent: str, images: np.ndarray, column: int):
        super().__init__("station", namespace=f"/{agent}_station")
        self.agent, self.images, self.column = agent, images, column
        self.rng = np.random.default_rng(column)
        self.camera = self.create_publisher(Image, FEED_TOPIC.format(agent=agent), qos.SENSOR)
        self.report: dict | None = None
        for kind, topic in (("fused", topics.SEGMENTATION), ("single",
                                                              topics.SEGMENTATION_SINGLE)):
            self.create_subscription(Image, topics.of(agent, topic),
                                     lambda m, k=kind: self.on_output(k, m), qos.OUTPUT)
        self.create_subscription(BandwidthReport, topics.of(agent, topics.BANDWIDTH),
                                 self.on_report, qos.OUTPUT)

    def send(self, index: int) -> None:
        if index >= 0:
            image = self.images[index % len(self.images), self.column]
        else:
            image = self.rng.integers(0, 256, self.images.shape[2:], dtype=np.uint8)
        header = Header(frame_id="camera")
        header.stamp.sec, header.stamp.nanosec = STAMP_BASE_S + index, 0
        self.camera.publish(conversions.array_to_image(np.ascontiguousarray(image), "rgb8",
                                                       header))

    def on_output(self, kind: str, msg: Image) -> None:
        labels = conversions.image_to_array(msg, "mono8")
        emit({"event": "output", "index": msg.header.stamp.sec - STAMP_BASE_S, "kind": kind,
              "t": time.monotonic(), "labels": base64.b64encode(labels.tobytes()).decode(),
              "shape": list(labels.shape)})

    def on_report(self, msg: BandwidthReport) -> None:
        self.report = {"frames": msg.frames, "topics": [
            {"topic": t.topic, "direction": "sent" if t.direction == t.DIRECTION_SENT
             else "received", "messages": t.messages, "bytes": t.bytes} for t in msg.topics]}

    def status(self) -> None:
        emit({"event": "status", "subscribers": self.camera.get_subscription_count(),
              "report": self.report})


def emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def decode_labels(event: dict) -> np.ndarray:
    """The uint8 [H, W] class ids of an output event."""
    return np.frombuffer(base64.b64decode(event["labels"]), np.uint8).reshape(event["shape"])


def _read_commands(inbox: queue.Queue) -> None:
    for line in sys.stdin:
        try:
            inbox.put(json.loads(line))
        except ValueError:
            continue  # not ours: the runner only writes JSON lines
    inbox.put({"cmd": "quit"})  # the runner closed our stdin (or died)


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-netlab-station",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--agent", required=True)
    parser.add_argument("--column", type=int, required=True,
                        help="this drone's index in the image file's second axis")
    parser.add_argument("--images", required=True,
                        help=".npy file, uint8 [snapshots, drones, H, W, 3] RGB")
    ns = parser.parse_args(args)
    images = np.load(ns.images, mmap_mode="r")
    rclpy.init()
    station = Station(ns.agent, images, ns.column)
    inbox: queue.Queue = queue.Queue()
    threading.Thread(target=_read_commands, args=(inbox,), daemon=True).start()
    handlers = {"send": lambda c: station.send(int(c["index"])),
                "status": lambda c: station.status()}
    try:
        while True:
            rclpy.spin_once(station, timeout_sec=0.005)
            try:
                command = inbox.get_nowait()
            except queue.Empty:
                continue
            if command.get("cmd") == "quit":
                break
            handler = handlers.get(command.get("cmd"))
            if handler is not None:
                handler(command)
    except KeyboardInterrupt:
        pass
    finally:
        station.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
