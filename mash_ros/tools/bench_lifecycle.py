"""Lifecycle run: a terminal's double Ctrl-C on a busy `mash-swarm`, repeated.

Each run starts `mash-swarm` in a process group of its own (as a shell starts a foreground
job), feeds every drone camera images at a steady rate until the swarm publishes fused
outputs and for a few seconds more, then sends SIGINT twice, 20 ms apart, to the whole group
(what two Ctrl-C in a terminal do: every drone gets them directly and once more from the
runner). Reported per run: the runner's exit status, which drones left a valid JSON summary,
and whether any output held a traceback.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FEED = "/lifecycle/{agent}/image"


def add_arguments(parser) -> None:
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--agents", type=int, default=6)
    parser.add_argument("--busy-s", type=float, default=4.0,
                        help="seconds of feeding after the first fused output")
    parser.add_argument("--rate", type=float, default=10.0, help="images per second per drone")


def one_run(ns, workdir: Path, env: dict) -> dict:
    import rclpy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from mash_ros import conversions
    from mash_ros.nodes import qos
    from mash_ros.swarm import topics
    from mash_ros.swarm.plan import agent_names

    agents = agent_names(ns.agents)
    log = workdir / "swarm.log"
    command = [sys.executable, "-m", "mash_ros.tools.swarm", "--num-agents", str(ns.agents),
               "--image-topic", FEED, "--swarm-key-file", str(workdir / "swarm.key"),
               "-p", f"summary_path:={workdir}/{{agent}}.json"]
    with open(log, "w") as out:
        runner = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    node = rclpy.create_node("lifecycle_feeder")
    pubs = {a: node.create_publisher(Image, FEED.format(agent=a), qos.SENSOR) for a in agents}
    fused = []
    node.create_subscription(Image, topics.of(agents[0], topics.SEGMENTATION),
                             lambda msg: fused.append(msg.header.stamp.sec), qos.OUTPUT)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (len(agents), 128, 128, 3), dtype=np.uint8)
    started, busy_until, sent = time.monotonic(), None, 0
    try:
        while time.monotonic() - started < 120:
            header = Header(frame_id="camera")
            header.stamp.sec = 1000 + sent
            for agent, image in zip(agents, images):
                pubs[agent].publish(conversions.array_to_image(image, "rgb8", header))
            sent += 1
            deadline = time.monotonic() + 1.0 / ns.rate
            while time.monotonic() < deadline:
                rclpy.spin_once(node, timeout_sec=max(deadline - time.monotonic(), 0))
            if fused and busy_until is None:
                busy_until = time.monotonic() + ns.busy_s
            if busy_until is not None and time.monotonic() >= busy_until:
                break
            if runner.poll() is not None:
                break
        group = os.getpgid(runner.pid)
        os.killpg(group, signal.SIGINT)
        time.sleep(0.02)
        os.killpg(group, signal.SIGINT)
        code = runner.wait(timeout=90)
    finally:
        if runner.poll() is None:
            os.killpg(os.getpgid(runner.pid), signal.SIGKILL)
            runner.wait()
        node.destroy_node()
    valid = []
    for agent in agents:
        try:
            summary = json.loads((workdir / f"{agent}.json").read_text())
            if summary.get("agent") == agent:
                valid.append(agent)
        except (OSError, ValueError):
            pass
    text = log.read_text(errors="replace")
    return {"exit_code": code, "fused_outputs_seen": len(fused), "images_sent_per_drone": sent,
            "valid_summaries": len(valid), "missing_or_invalid": sorted(set(agents) - set(valid)),
            "tracebacks": text.count("Traceback"),
            "runner_complaints": [line for line in text.splitlines()
                                  if line.startswith("mash-swarm: drone")]}


def run(ns) -> dict:
    import rclpy

    from mash_ros.tools.ros_env import isolate_this_process

    env = isolate_this_process()
    runs = []
    rclpy.init()
    try:
        for index in range(ns.runs):
            with tempfile.TemporaryDirectory() as tmp:
                print(f"mash-bench lifecycle: run {index + 1} of {ns.runs} …", flush=True)
                runs.append(one_run(ns, Path(tmp), {**os.environ, **env,
                                                    "ROS_HOME": tmp}))
    finally:
        rclpy.try_shutdown()
    return {"agents": ns.agents, "runs": runs,
            "runs_with_every_summary_valid": sum(r["valid_summaries"] == ns.agents
                                                 for r in runs),
            "runs_exit_0": sum(r["exit_code"] == 0 for r in runs),
            "tracebacks": sum(r["tracebacks"] for r in runs)}
