"""Two separate OS processes trade QueryMap and SegPatches over Fast DDS on loopback."""
import json
import pathlib
import subprocess
import sys
from pathlib import Path

import pytest

from mash_ros.tools.ros_env import ros_child_env

pytestmark = pytest.mark.integration
PEER = pathlib.Path(__file__).with_name("exchange_peer.py")  # one side, run as a script


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
        cmd = [sys.executable, str(PEER), "--role", role,
               "--agent", agent, "--peer", peer, "--out", str(workdir / f"{role}.json"), *common]
        procs[role] = subprocess.Popen(cmd, env=env)
    target_rc = procs["target"].wait(timeout=timeout + 30)
    procs["support"].terminate()  # the supporter serves until told to stop
    procs["support"].wait(timeout=30)
    logs = {role: json.loads((workdir / f"{role}.json").read_text()) for role in roles}
    logs["target_rc"] = target_rc
    logs["domain_id"] = int(env["ROS_DOMAIN_ID"])
    return logs


@pytest.mark.parametrize("query_encoding,patch_encoding", [("int8", "uint8"),
                                                           ("float32", "float16"),
                                                           ("int8", "top1")])
def test_every_field_arrives_intact(tmp_path, query_encoding, patch_encoding):
    frames = 5
    logs = run_exchange(frames, tmp_path, timeout=60, query_encoding=query_encoding,
                        patch_encoding=patch_encoding)
    assert logs["target_rc"] == 0, "the target did not receive an answer for every frame"
    target, support = logs["target"], logs["support"]
    assert target["dropped"] == support["dropped"] == 0

    def digests(log, direction, kind):
        return {(m["sequence"], m["digest"]) for m in log[direction] if m["type"] == kind}

    # A digest is the sha256 of the serialized message: equal digests mean equal fields.
    queries_sent = digests(target, "sent", "QueryMap")
    queries_received = digests(support, "received", "QueryMap")
    assert {seq for seq, _ in queries_received} == set(range(frames))
    assert queries_received <= queries_sent
    patches_sent = digests(support, "sent", "SegPatches")
    patches_received = digests(target, "received", "SegPatches")
    assert {seq for seq, _ in patches_received} == set(range(frames))
    assert patches_received <= patches_sent
