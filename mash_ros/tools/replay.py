"""``mash-replay BAG``: publish a rosbag2 bag's topics with rclpy, paced for the swarm.

Works with bags of our simulator (``mash-sim``, ``mash_ros.sim.bag``) and with bags that
``ros2 bag record`` wrote from AirSim's ROS 2 wrapper (sqlite3 or mcap; rgb8 / bgr8 Scene
images). Messages are published as recorded (raw CDR, header stamps untouched), so the drone
nodes' outputs carry the bag's stamps and join with its ground truth.

Pacing. The bag is cut into snapshots (one image per camera and what was recorded around it).
Lock-step (default): after publishing a snapshot, wait until every answering drone published
its fused mash/segmentation for its image (``--step-timeout``; a drone that did not answer gets
its image once more, ``--retries``), and never publish earlier than the recorded spacing / rate.
``--rate 0`` with lock-step: as fast as the swarm keeps up. ``--no-lockstep``: recorded timing
times ``--rate`` only, like ``ros2 bag play``.

Warm-up (with lock-step): wait until every camera topic has a subscriber, then send copies of the
first snapshot with a stamp outside the bag until every answering drone answered one (a
best-effort camera sample sent the instant a subscriber is discovered can still be lost), and
with ``--wait-recorder`` until mash-record has received them too and has matched every
publisher of the topics it records (an answer sent before that match would miss the bag).
Warm-up images are marked on /mash_replay/frames (frame_id "warmup") and left out of the
evaluation.
"""
from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
from dataclasses import dataclass, field

from mash_ros.atomic import write_json_atomic
from mash_ros.bags import layout
from mash_ros.bags.errors import BagError
from mash_ros.bags.images import CAMERA_ENCODINGS, image_array
from mash_ros.bags.reader import BagFile
from mash_ros.bags.snapshots import Pacer, Snapshot, group_snapshots

WARMUP_WAIT_S = 3.0  # an unanswered warm-up snapshot is followed by another after this long


class ReplayError(RuntimeError):
    """The swarm (or the recorder) never became ready."""


@dataclass
class Plan:
    """What will be published: topics (bag name -> type), cameras (agent -> topic)."""

    topics: dict[str, str]
    cameras: dict[str, str]
    snapshots: int
    first: Snapshot | None
    min_stamp: int
    max_stamp: int
    skipped: dict[str, str] = field(default_factory=dict)

    def warmup_stamp(self, w: int) -> int:
        """A stamp outside the bag (more than 10 min away from all its camera stamps)."""
        offset = (600 + w) * 1_000_000_000
        return self.min_stamp - offset if self.min_stamp > 2 * offset else self.max_stamp + offset


def select_topics(bag: BagFile, include: list[str], exclude: list[str]) -> dict[str, str]:
    inc = [re.compile(p) for p in include]
    exc = [re.compile(p) for p in exclude]
    chosen = {t: m for t, m in bag.topics.items()
              if (not inc or any(p.search(t) for p in inc)) and not any(p.search(t) for p in exc)}
    if not chosen:
        raise BagError(f"{bag.path}: no topic left to replay after --topics/--exclude "
                       f"(topics in the bag: {', '.join(sorted(bag.topics))})")
    return chosen


def snapshots(bag: BagFile, plan: Plan, start_ns: int | None):
    topic_agent = {t: a for a, t in plan.cameras.items()}
    stream = (m for m in bag.messages(plan.topics) if start_ns is None or m.log_ns >= start_ns)
    return group_snapshots(stream, topic_agent)


def make_plan(bag: BagFile, ns) -> Plan:
    """Check the bag (every selected message read once, every camera image decoded)."""
    topics = select_topics(bag, ns.topics, ns.exclude)
    cameras = {a: t for a, t in layout.find_cameras(bag.topics, ns.camera_regex, ns.camera,
                                                    ns.remap_map).items() if t in topics}
    if ns.lockstep and not cameras:
        raise BagError(f"{bag.path}: lock-step replay needs camera images, and no replayed "
                       f"topic matches {ns.camera_regex} (use --camera-regex, or --no-lockstep)")
    plan = Plan(topics, cameras, 0, None, 0, 0)
    start_ns = None if ns.start <= 0 else bag.start_ns + int(ns.start * 1e9)
    stamps = []
    for snap in snapshots(bag, plan, start_ns):
        plan.snapshots += 1
        for agent, (stamp, msg) in snap.cameras.items():
            image_array(bag.deserialize(msg), f"{bag.path}, {msg.topic}", CAMERA_ENCODINGS)
            stamps.append(stamp)
        if plan.first is None and snap.cameras:
            plan.first = snap
    if plan.snapshots == 0:
        raise BagError(f"{bag.path}: nothing to replay after --start {ns.start} s "
                       f"(the bag lasts {(bag.end_ns - bag.start_ns) / 1e9:.1f} s)")
    if stamps:
        plan.min_stamp, plan.max_stamp = min(stamps), max(stamps)
    return plan


def wait_subscribers(node, plan: Plan, ns, deadline: float) -> None:
    """Until every camera topic has a matched subscription."""
    if not ns.quiet:
        print(f"mash-replay: waiting for subscribers on {len(plan.cameras)} camera topics "
              f"(up to {ns.ready_timeout:.0f} s)…", file=sys.stderr, flush=True)
    if not node.spin_until(lambda: min(node.camera_subscribers().values()) >= 1, deadline, 0.1):
        missing = [plan.cameras[a] for a, n in node.camera_subscribers().items() if n < 1]
        raise ReplayError(f"no subscriber on {', '.join(missing)} within {ns.ready_timeout:.0f} "
                          f"s: is the swarm running, with these image topics? (--topics / "
                          f"--exclude replay only some drones' cameras)")


def warm_up(node, plan: Plan, ns) -> list[str]:
    """Until the swarm answers (see the module docstring); returns the answering agents."""
    deadline = time.monotonic() + ns.ready_timeout
    wait_subscribers(node, plan, ns, deadline)
    node.spin_until(lambda: False, time.monotonic() + 0.5, 0.1)  # output publishers show up
    for w in itertools.count(1):
        watched = node.answering_agents()
        if not watched:
            if time.monotonic() > deadline:
                raise ReplayError(f"no drone publishes {ns.output_topic} for any of "
                                  f"{', '.join(plan.cameras)}: start the swarm with targets, or "
                                  f"replay with --no-lockstep")
            node.spin_until(lambda: False, time.monotonic() + 0.2, 0.1)
            continue
        stamp = plan.warmup_stamp(w)
        for agent, (_, msg) in plan.first.cameras.items():
            node.publish_camera(agent, msg.raw, stamp_ns=stamp)
        topics = [node.output_topics[a] for a in watched] + [layout.MARKERS]

        def ready() -> bool:
            swarm = all((a, stamp) in node.answers for a in watched)
            return swarm and (not ns.wait_recorder or
                              (all(node.recorder.get(t, 0) >= 1 for t in topics)
                               and not node.recorder_unmatched))

        if node.spin_until(ready, min(deadline, time.monotonic() + WARMUP_WAIT_S)):
            watched = node.answering_agents()
            if not ns.quiet:
                print(f"mash-replay: swarm ready, {len(watched)} drones answer "
                      f"({', '.join(watched)}); {w} warm-up snapshot(s)", file=sys.stderr,
                      flush=True)
            return watched
        if time.monotonic() >= deadline:
            silent = [a for a in watched if (a, stamp) not in node.answers]
            unrecorded = [t for t in topics if node.recorder.get(t, 0) < 1]
            raise ReplayError(f"warm-up failed within {ns.ready_timeout:.0f} s: no answer from "
                              f"{', '.join(silent) or 'none'}" +
                              (f"; mash-record has nothing on {', '.join(unrecorded)} (is it "
                               f"running?)" if ns.wait_recorder and unrecorded else "") +
                              (f"; mash-record has not matched every publisher of "
                               f"{', '.join(node.recorder_unmatched)}"
                               if ns.wait_recorder and node.recorder_unmatched else ""))
    return []


def wait_answers(node, snap: Snapshot, watched: list[str], ns, stats: dict) -> None:
    """Lock-step: until every watched drone answered its image of ``snap``."""
    pending = {(a, stamp): msg for a, (stamp, msg) in snap.cameras.items() if a in watched}
    published = time.monotonic()  # answers from an earlier pass (--loop) do not count

    def answered(key) -> bool:
        return node.answers.get(key, -1.0) >= published

    for attempt in range(ns.retries + 1):
        done = node.spin_until(lambda: all(map(answered, pending)),
                               time.monotonic() + ns.step_timeout)
        if done:
            return
        missing = {k: m for k, m in pending.items() if not answered(k)}
        if attempt < ns.retries:
            for (agent, _), msg in missing.items():
                node.publish_camera(agent, msg.raw)
                stats["resent"] += 1
    stats["unanswered"] += 1
    node.get_logger().warning(f"snapshot {snap.index}: no answer from "
                              f"{', '.join(a for a, _ in missing)} within "
                              f"{ns.step_timeout:.1f} s; going on")


def run(node, bag: BagFile, plan: Plan, ns) -> dict:
    from tqdm import tqdm

    stats = {"snapshots": 0, "camera_images": 0, "messages": 0, "resent": 0, "unanswered": 0}
    started = time.monotonic()
    warmup = ns.lockstep if ns.warmup is None else ns.warmup
    watched = []
    if warmup and plan.cameras:
        watched = warm_up(node, plan, ns)
    elif (ns.lockstep or ns.wait_subscribers) and plan.cameras:
        wait_subscribers(node, plan, ns, time.monotonic() + ns.ready_timeout)
        node.spin_until(lambda: False, time.monotonic() + 0.5, 0.1)
        watched = node.answering_agents()
        if ns.lockstep and not watched:
            raise ReplayError(f"no drone publishes {ns.output_topic}: lock-step has nothing "
                              f"to wait for (replay with --no-lockstep)")
    stats["warmup_s"] = time.monotonic() - started
    stats["answering"] = watched
    pacer = Pacer(ns.rate, reanchor=ns.lockstep)
    topic_agent = {t: a for a, t in plan.cameras.items()}
    start_ns = None if ns.start <= 0 else bag.start_ns + int(ns.start * 1e9)
    last_log = [bag.start_ns]
    total = None if ns.loop else min(plan.snapshots, ns.count or plan.snapshots)
    bar = tqdm(total=total, unit="snap", desc="replay", disable=ns.quiet, file=sys.stderr,
               dynamic_ncols=True)
    replay_started = time.monotonic()
    for _ in itertools.count():
        for snap in snapshots(bag, plan, start_ns):
            if ns.count and snap.index >= ns.count:
                break
            node.clock_source = (lambda s=snap: pacer.bag_time_ns(time.monotonic(),
                                                                   last_log[0], s.log_ns))
            node.spin_until(lambda: False, pacer.due(snap.log_ns, time.monotonic()))
            for msg in snap.messages:
                agent = topic_agent.get(msg.topic)
                if agent is not None:
                    node.publish_camera(agent, msg.raw)
                    stats["camera_images"] += 1
                else:
                    node.publish_raw(msg.topic, msg.raw)
                stats["messages"] += 1
            pacer.published(snap.log_ns, time.monotonic())
            last_log[0] = snap.log_ns
            node.publish_clock()
            if ns.lockstep:
                wait_answers(node, snap, watched, ns, stats)
            stats["snapshots"] += 1
            bar.update()
            if ns.lockstep and stats["unanswered"]:
                bar.set_postfix(unanswered=stats["unanswered"])
        if not ns.loop:
            break
        pacer.restart()
    bar.close()
    node.spin_until(lambda: False, time.monotonic() + ns.linger)  # let reliable data drain
    stats["replay_s"] = time.monotonic() - replay_started
    stats["publish_failures"] = node.publish_failures
    stats["skipped_topics"] = node.skipped
    return stats


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mash-replay", description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("bag", help="rosbag2 directory (sqlite3 or mcap)")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="speed-up of the recorded timing (2 = twice as fast); 0 = no "
                             "timing: as fast as the swarm keeps up (lock-step) or as fast as "
                             "possible")
    parser.add_argument("--lockstep", action=argparse.BooleanOptionalAction, default=True,
                        help="wait for the swarm's answers to each snapshot (default: on)")
    parser.add_argument("--loop", action="store_true", help="start over at the end, until Ctrl-C")
    parser.add_argument("--start", type=float, default=0.0, metavar="S",
                        help="skip the first S seconds of the bag")
    parser.add_argument("--count", type=int, default=0, metavar="N",
                        help="publish the first N snapshots only (each pass, with --loop)")
    parser.add_argument("--topics", nargs="+", default=[], metavar="REGEX",
                        help="replay only topics matching one of these (default: all)")
    parser.add_argument("--exclude", nargs="+", default=[], metavar="REGEX",
                        help="never replay topics matching these")
    parser.add_argument("--remap", action="append", default=[], metavar="FROM:=TO",
                        help="publish bag topic FROM as TO (repeatable)")
    parser.add_argument("--clock", action="store_true", help="publish bag time on /clock")
    parser.add_argument("--clock-hz", type=float, default=40.0)
    parser.add_argument("--qos", choices=("reliable", "best_effort"), default="reliable",
                        help="publisher reliability (reliable also serves best-effort "
                             "subscribers)")
    parser.add_argument("--camera-regex", default=layout.CAMERA_REGEX,
                        help="camera image topics; named group 'agent' = the drone")
    parser.add_argument("--camera", default=None,
                        help="camera name when a drone has several (default front_center)")
    parser.add_argument("--output-topic", default=layout.FUSED,
                        help="the answer lock-step waits for ('{agent}' = drone)")
    parser.add_argument("--step-timeout", type=float, default=10.0,
                        help="lock-step: seconds to wait for a snapshot's answers")
    parser.add_argument("--retries", type=int, default=1,
                        help="lock-step: re-send an unanswered image this often")
    parser.add_argument("--ready-timeout", type=float, default=180.0,
                        help="seconds to wait for the swarm (and recorder) before replaying")
    parser.add_argument("--warmup", action=argparse.BooleanOptionalAction, default=None,
                        help="warm the swarm up before the first snapshot (default: with "
                             "lock-step)")
    parser.add_argument("--wait-subscribers", action="store_true",
                        help="without lock-step: first wait until every camera topic has a "
                             "subscriber (lock-step always does)")
    parser.add_argument("--wait-recorder", action="store_true",
                        help="warm up until mash-record has received the swarm's answers")
    parser.add_argument("--linger", type=float, default=1.0,
                        help="seconds to stay up after the last snapshot")
    parser.add_argument("--summary", default=None, metavar="FILE.json",
                        help="write the replay statistics as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(args=None) -> int:
    ns = build_parser().parse_args(args)
    try:
        remap = ns.remap_map = layout.parse_remaps(ns.remap)
    except ValueError as err:
        raise SystemExit(f"mash-replay: {err}")
    if ns.rate < 0 or ns.count < 0 or ns.retries < 0:
        raise SystemExit("mash-replay: --rate, --count and --retries must not be negative")
    import rclpy
    from rclpy.executors import ExternalShutdownException

    from mash_ros.nodes.replay_node import ReplayNode

    node = None
    try:
        with BagFile(ns.bag) as bag:
            plan = make_plan(bag, ns)
            rclpy.init()
            node = ReplayNode(plan.topics, remap, plan.cameras, ns.output_topic,
                              reliable=ns.qos == "reliable", clock=ns.clock,
                              clock_hz=ns.clock_hz)
            if node.skipped:
                print("mash-replay: not replaying (type not installed here): " +
                      ", ".join(sorted(node.skipped)), file=sys.stderr)
            missing_cameras = [t for t in plan.cameras.values() if t in node.skipped]
            if missing_cameras:
                raise BagError(f"cannot publish camera topic(s) {missing_cameras}")
            stats = run(node, bag, plan, ns)
    except BagError as err:
        print(f"mash-replay: error: {err}", file=sys.stderr)
        return 2
    except ReplayError as err:
        print(f"mash-replay: error: {err}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, ExternalShutdownException):
        print("mash-replay: interrupted", file=sys.stderr)
        return 130
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    mode = (f"lock-step, rate {ns.rate:g}" if ns.lockstep else f"rate {ns.rate:g}")
    print(f"mash-replay: {stats['snapshots']} snapshots ({stats['camera_images']} camera images, "
          f"{stats['messages']} messages) in {stats['replay_s']:.1f} s ({mode}); warm-up "
          f"{stats['warmup_s']:.1f} s; unanswered {stats['unanswered']}, re-sent "
          f"{stats['resent']}, publish failures {stats['publish_failures']}", file=sys.stderr)
    if ns.summary:
        write_json_atomic(ns.summary, stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
