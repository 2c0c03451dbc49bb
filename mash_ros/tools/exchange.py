"""The two-agent exchange: two separate OS processes (``mash_ros.tools.exchange_peer``) trade
QueryMap and SegPatches messages over Fast DDS on loopback; each logs what it sent and received.

Used by test/ros/test_exchange_integration.py (the wire, field by field, between processes).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mash_ros.tools.ros_env import ros_child_env


def run_exchange(frames: int, workdir: Path, timeout: float = 60.0,
                 query_encoding: str | None = None, patch_encoding: str | None = None) -> dict:
    """Start target and supporter processes, wait for both, return their JSON logs."""
    env = ros_child_env()
    common = ["--frames", str(frames), "--timeout", str(timeout)]
    for flag, value in (("--query-encoding", query_encoding), ("--patch-encoding", patch_encoding)):
        if value:  # otherwise mash-exchange-peer's own default, the swarm's
            common += [flag, value]
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
