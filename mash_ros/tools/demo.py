"""``mash-demo``: the main job.

Until the distributed swarm lands, this runs the two-agent exchange: two separate OS processes
trade QueryMap and SegPatches messages over Fast DDS on loopback, and the report gives the
bytes each topic carried against what sending raw images would have cost.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from mash_ros.tools.ros_env import ros_child_env

RAW_IMAGE_BYTES = 128 * 128 * 3  # what the cpu preset's rgb8 camera frame costs


def run_exchange(frames: int, workdir: Path, timeout: float = 60.0,
                 query_encoding: str = "int8", patch_encoding: str = "uint8") -> dict:
    """Start target and supporter processes, wait for both, return their JSON logs."""
    env = ros_child_env()
    common = ["--frames", str(frames), "--timeout", str(timeout),
              "--query-encoding", query_encoding, "--patch-encoding", patch_encoding]
    roles = {"target": ("drone_0", "drone_1"), "support": ("drone_1", "drone_0")}
    procs = {}
    for role, (agent, peer) in roles.items():
        cmd = [sys.executable, "-m", "mash_ros.tools.exchange_peer", "--role", role,
               "--agent", agent, "--peer", peer, "--out", str(workdir / f"{role}.json"), *common]
        procs[role] = subprocess.Popen(cmd, env=env)
    target_rc = procs["target"].wait(timeout=timeout + 30)
    procs["support"].terminate()  # the supporter serves until told to stop
    procs["support"].wait(timeout=30)
    logs = {role: json.loads((workdir / f"{role}.json").read_text()) for role in roles}
    logs["target_rc"] = target_rc
    logs["domain_id"] = int(env["ROS_DOMAIN_ID"])
    return logs


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    ns = parser.parse_args(args)
    print("mash-demo: the distributed swarm is not built yet; running the two-process "
          "QueryMap/SegPatches exchange over Fast DDS on loopback instead.", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        logs = run_exchange(ns.frames, Path(tmp))
    if logs["target_rc"] != 0:
        print("exchange failed: the target did not get every answer in time", file=sys.stderr)
        return 1
    print(f"\n{ns.frames} frames answered (ROS_DOMAIN_ID={logs['domain_id']})")
    print(f"{'topic':<16}{'sender':<10}{'bytes':>10}{'bytes/frame':>13}{'vs raw image':>14}")
    for role in ("target", "support"):
        for topic, size in logs[role]["bytes"].items():
            per_frame = size / ns.frames
            print(f"{topic:<16}{role:<10}{size:>10}{per_frame:>13.0f}"
                  f"{per_frame / RAW_IMAGE_BYTES:>13.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
