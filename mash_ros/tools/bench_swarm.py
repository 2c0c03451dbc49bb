"""Swarm benchmark: latency, per-agent CPU time and bytes per topic against Eq. (3).

For N = 2 … 6 drone nodes (separate OS processes over Fast DDS on loopback, every drone a
target), snapshots are fed lock-step: one snapshot, wait for every target's fused output, next.
Latency is image publish → fused output received (one machine, one clock).
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mash_ros.core import codecs
from mash_ros.core.checkpoint import load_checkpoint
from mash_ros.core.paths import package_file
from mash_ros.tools.encoding_args import add_encoding_arguments
from mash_ros.tools.ros_env import isolate_this_process


def add_arguments(parser) -> None:
    parser.add_argument("--agents", default="2,3,4,5,6", help="swarm sizes to run")
    parser.add_argument("--frames", type=int, default=10, help="snapshots per swarm size")
    parser.add_argument("--model", default=None, help="weights (default: bundled mash_cpu.pt)")
    parser.add_argument("--data", default=None,
                        help="simulator data directory (default: the bundled sample)")
    add_encoding_arguments(parser)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_snapshots(data: str | None, count: int, agents: int) -> np.ndarray:
    """uint8 [count, agents, H, W, 3] camera images from the simulator's data set."""
    from mash_ros.sim.dataset import MashSimDataset
    from mash_ros.sim.sample import ensure_sample

    dataset = MashSimDataset(data or ensure_sample(), keys=("rgb",))
    images = [dataset[i % len(dataset)]["rgb"].permute(0, 2, 3, 1).numpy()
              for i in range(count)]
    if images[0].shape[0] < agents:
        raise ValueError(f"the data has {images[0].shape[0]} drones per snapshot, need {agents}")
    return np.stack(images)[:, :agents]


def eq3_prediction(cfg, num_agents: int, cells_per_answer: float, query_encoding: str,
                   patch_encoding: str) -> dict:
    """Paper Eq. (3) in bytes per target frame, with our codecs' element sizes."""
    query = codecs.query_payload_bytes(cfg.query_dim, cfg.grid_height, cfg.grid_width,
                                       query_encoding)
    per_answer = codecs.patch_payload_bytes(1, cfg.num_classes, cfg.patch_size,
                                            patch_encoding) * cells_per_answer
    return {"query_bytes": query, "answer_bytes_per_supporter": per_answer,
            "r": cells_per_answer / cfg.num_cells,
            "total_bytes": query + (num_agents - 1) * per_answer}


def bench_size(num_agents: int, ns, model_path: Path, cfg, snapshots: np.ndarray) -> dict:
    import rclpy

    from mash_ros.tools.swarm_harness import SwarmHarness

    isolate_this_process()
    with tempfile.TemporaryDirectory() as tmp:
        rclpy.init()
        harness = SwarmHarness(num_agents, Path(tmp), {
            "model_path": str(model_path), "preset": cfg.name,
            "query_encoding": ns.query_encoding, "patch_encoding": ns.patch_encoding})
        try:
            harness.start()
            harness.wait_ready(timeout=120)
            pids = {a: p.pid for a, p in harness.swarm.procs.items()}
            cpu_before = {a: cpu_seconds(pid) for a, pid in pids.items()}
            latencies, lost = [], 0
            started = time.monotonic()
            for index in range(ns.frames):
                results = harness.run_snapshot(index, snapshots[index, :num_agents], timeout=10)
                for result in results.values():
                    if result is None or result.fused is None:
                        lost += 1
                    else:
                        latencies.append(result.latency_s)
            wall = time.monotonic() - started
            cpu = {a: (cpu_seconds(pid) - cpu_before[a]) / ns.frames for a, pid in pids.items()}
        finally:
            harness.stop()
            harness.destroy_node()
            rclpy.try_shutdown()
        summaries = [json.loads(p.read_text()) for p in harness.summaries.values()]
    frames = sum(s["bandwidth"]["frames"] for s in summaries)
    topics: dict[str, dict] = {}
    for summary in summaries:
        for row in summary["bandwidth"]["topics"]:
            name = row["topic"]
            if name.endswith("/mash/patches"):  # answers to the peers, one topic per peer
                name = "/<peer>/mash/patches"
            entry = topics.setdefault(f"{name} ({row['direction']})", {"messages": 0, "bytes": 0})
            entry["messages"] += row["messages"]
            entry["bytes"] += row["bytes"]
    for entry in topics.values():
        entry["bytes_per_target_frame"] = entry["bytes"] / frames
    # per drone: CPU in the core calls (encode, answer, fuse) and in the rest (ROS, codecs,
    # authentication, Python), measured by each node from its first image to its summary
    # (warm-up and its idle waits included); and the rest within the measured snapshots:
    # the process CPU per snapshot from /proc minus the node's core time per frame
    cpu_split = {}
    for s in summaries:
        if s.get("cpu"):
            split = {k: s["cpu"][k] for k in ("frames", "core_ms_per_frame",
                                              "other_ms_per_frame", "other_over_core")}
            core = split["core_ms_per_frame"]
            window_other = 1e3 * cpu[s["agent"]] - core
            split["window_other_ms_per_snapshot"] = window_other
            split["window_other_over_core"] = window_other / core if core else None
            cpu_split[s["agent"]] = split
    answers = sum(s["answers_sent"] for s in summaries)
    cells = sum(s["cells_sent"] for s in summaries)
    query_sent = topics.get("mash/query (sent)", {}).get("bytes_per_target_frame", 0.0)
    patches_sent = topics.get("/<peer>/mash/patches (sent)", {}).get("bytes_per_target_frame", 0.0)
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {
        "num_agents": num_agents, "frames": ns.frames, "lost_outputs": lost,
        "wall_s_per_snapshot": wall / ns.frames,
        "latency_s": {"mean": float(lat.mean()), "p50": float(np.median(lat)),
                      "p90": float(np.percentile(lat, 90)), "max": float(lat.max())},
        "cpu_s_per_snapshot_per_agent": cpu,
        "cpu_core_vs_other_per_agent": cpu_split,
        "cpu_other_over_core_max": max((c["other_over_core"] or 0.0
                                        for c in cpu_split.values()), default=None),
        "cpu_window_other_over_core_max": max((c["window_other_over_core"] or 0.0
                                               for c in cpu_split.values()), default=None),
        "topics": topics,
        "measured_bytes_per_target_frame": {"query": query_sent,
                                            "answers_all_supporters": patches_sent},
        "eq3_prediction": eq3_prediction(cfg, num_agents, cells / max(answers, 1),
                                         ns.query_encoding, ns.patch_encoding),
        "raw_images_bytes_per_target_frame": (num_agents - 1) * cfg.image_height
        * cfg.image_width * 3,
    }


def run(ns) -> dict:
    model_path = Path(ns.model) if ns.model else package_file("models", "mash_cpu.pt")
    _, cfg, card = load_checkpoint(model_path, expected_kind="mash")
    sizes = [int(n) for n in ns.agents.split(",")]
    snapshots = load_snapshots(ns.data, ns.frames, max(sizes))
    runs = []
    for num_agents in sizes:
        print(f"mash-bench swarm: N = {num_agents} …", flush=True)
        runs.append(bench_size(num_agents, ns, model_path, cfg, snapshots))
    return {"model": str(model_path), "model_sha256": card["sha256"], "preset": cfg.name,
            "query_encoding": ns.query_encoding, "patch_encoding": ns.patch_encoding,
            "runs": runs}
