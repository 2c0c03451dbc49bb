"""``mash-record OUT``: record the swarm's topics into a rosbag2 bag (mcap by default).

By default it records, per drone, the fused ``mash/segmentation``, ``mash/segmentation_single``,
the inter-drone ``mash/query`` and ``mash/patches`` (their serialized sizes are the bandwidth
the evaluation reports) and ``mash/bandwidth``, plus mash-replay's ``/mash_replay/frames``
markers. With ``--num-agents`` / ``--agents`` it subscribes to them at once; otherwise it
subscribes to every matching topic as it appears. Ctrl-C (SIGINT) or SIGTERM closes the bag
cleanly (metadata.yaml written); so does ``--duration``.
"""
from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import time

from mash_ros.bags import layout
from mash_ros.bags.errors import BagError
from mash_ros.bags.writer import STORAGES, BagWriter
from mash_ros.swarm.topics import agent_name

DEFAULT_REGEX = f"{layout.RECORDED_REGEX}|^{re.escape(layout.MARKERS)}$"


def default_topics(agents: list[str]) -> dict[str, str]:
    topics = {pattern.format(agent=a): msgtype for a in agents
              for pattern, msgtype in layout.RECORD_TYPES.items()}
    topics[layout.MARKERS] = layout.MARKER_TYPE
    return topics


def parse_topic(value: str) -> tuple[str, str | None]:
    """``/name`` or ``/name:pkg/msg/Type``."""
    name, _, msgtype = value.partition(":")
    return name, msgtype or None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mash-record", description=__doc__.split("\n\n")[0]
                                     .split(": ", 1)[1], epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("out", help="new bag directory to write")
    parser.add_argument("--storage", choices=STORAGES, default="mcap")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--num-agents", type=int, default=0,
                       help="drones drone_0 … drone_{N-1}: subscribe to their topics at once")
    group.add_argument("--agents", default="", help="comma-separated drone names (same)")
    parser.add_argument("--topic", action="append", default=[], metavar="NAME[:TYPE]",
                        help="also record this topic (type: from the graph if not given)")
    parser.add_argument("--regex", action="append", default=[],
                        help="also record every topic matching this as it appears")
    parser.add_argument("--no-defaults", action="store_true",
                        help="record only --topic / --regex")
    parser.add_argument("--duration", type=float, default=0.0,
                        help="stop after this many seconds (0 = until Ctrl-C / SIGTERM)")
    return parser


def main(args=None) -> int:
    ns = build_parser().parse_args(args)
    agents = ([agent_name(i) for i in range(ns.num_agents)] if ns.num_agents
              else [a.strip() for a in ns.agents.split(",") if a.strip()])
    topics: dict[str, str | None] = {} if ns.no_defaults else default_topics(agents)
    topics.update(dict(map(parse_topic, ns.topic)))
    patterns = list(ns.regex)
    if not ns.no_defaults and not agents:
        patterns.append(DEFAULT_REGEX)
    if not topics and not patterns:
        raise SystemExit("mash-record: nothing to record (give --topic or --regex)")
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from mash_ros.nodes.recorder_node import RecorderNode

    try:
        writer = BagWriter(ns.out, ns.storage)
    except BagError as err:
        print(f"mash-record: error: {err}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    node = None
    try:
        node = RecorderNode(writer, topics, patterns)
        print(f"mash-record: recording into {ns.out} ({ns.storage}): {len(node.subscribed)} "
              f"topics" + (f" + whatever matches {patterns}" if patterns else "") +
              "; Ctrl-C stops", file=sys.stderr, flush=True)
        started = time.monotonic()
        while not stop.is_set():
            if ns.duration and time.monotonic() - started >= ns.duration:
                break
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        writer.close()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    recorded = {t: n for t, n in writer.counts.items() if n}
    print(f"mash-record: wrote {sum(recorded.values())} messages on {len(recorded)} topics to "
          f"{ns.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
