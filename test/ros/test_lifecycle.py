"""Clean lifecycles: summaries on every exit path, double Ctrl-C, children that die with
their runner, and a runner that says which child went wrong."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import rclpy

from mash_ros.atomic import write_json_atomic
from mash_ros.swarm.plan import build_plan
from mash_ros.tools.ros_env import ros_child_env
from mash_ros.tools.swarm import SwarmProcesses
from mash_ros.tools.swarm_harness import SwarmHarness

pytestmark = pytest.mark.integration


def test_atomic_json_keeps_the_old_file_when_the_writer_fails(tmp_path, monkeypatch):
    path = write_json_atomic(tmp_path / "s.json", {"frames": 1})

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt  # a Ctrl-C in the middle of writing

    monkeypatch.setattr(json, "dump", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_json_atomic(path, {"frames": 2})
    assert json.loads(path.read_text()) == {"frames": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]  # no temporary file left


def test_runner_names_children_that_failed_or_left_no_summary(tmp_path):
    plan = build_plan({"num_agents": "4", "swarm_key_file": "none"})
    swarm = SwarmProcesses(plan, extra_parameters={"summary_path": str(tmp_path / "{agent}.json")})
    (tmp_path / "drone_0.json").write_text('{"fused": 3}')
    (tmp_path / "drone_1.json").write_text('{"fused": ')  # cut short
    (tmp_path / "drone_3.json").write_text('{"fused": 3}')
    problems = swarm.problems({"drone_0": 0, "drone_1": 0, "drone_2": 0, "drone_3": -9})
    assert set(problems) == {"drone_1", "drone_2", "drone_3"}
    assert "unreadable summary" in problems["drone_1"]
    assert "left no summary" in problems["drone_2"]
    assert problems["drone_3"] == "killed by SIGKILL"


def test_mash_swarm_exits_non_zero_naming_the_children(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mash_ros.tools.swarm", "--num-agents", "2",
                           "--model-path", str(tmp_path / "missing.pt"), "--swarm-key-file",
                           "none"], env=ros_child_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "mash-swarm: drone_0 exited with status 2" in done.stderr
    assert "mash-swarm: drone_1 exited with status 2" in done.stderr


def children_of(pid: int) -> list[int]:
    path = pathlib.Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def test_drones_die_with_a_killed_runner(tmp_path):
    env = {**ros_child_env(), "ROS_HOME": str(tmp_path)}
    runner = subprocess.Popen([sys.executable, "-m", "mash_ros.tools.swarm", "--num-agents",
                               "2"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(children_of(runner.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    drones = children_of(runner.pid)
    assert len(drones) == 2
    runner.kill()  # SIGKILL: the runner cannot forward anything
    runner.wait()
    deadline = time.monotonic() + 30
    while any(pathlib.Path(f"/proc/{p}").exists() for p in drones) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [p for p in drones if pathlib.Path(f"/proc/{p}").exists()
             and pathlib.Path(f"/proc/{p}/stat").read_text().split()[2] != "Z"]
    assert not alive, f"orphan drone processes: {alive}"


def test_double_sigint_on_busy_drones_leaves_valid_summaries(tmp_path, checkpoint, capfd):
    """Like a terminal Ctrl-C under mash-swarm: each drone gets SIGINT twice, 20 ms apart,
    while it is encoding, answering and fusing."""
    rclpy.init()
    harness = SwarmHarness(3, tmp_path, {"model_path": str(checkpoint), "preset": "cpu"})
    try:
        harness.start()
        harness.wait_ready()
        images = np.random.default_rng(0).integers(0, 256, (3, 128, 128, 3), dtype=np.uint8)
        for index in range(15):  # keep them busy: no waiting between snapshots
            harness.send(index, images)
            rclpy.spin_once(harness, timeout_sec=0.02)
        for proc in harness.swarm.procs.values():
            proc.send_signal(signal.SIGINT)
        time.sleep(0.02)
        for proc in harness.swarm.procs.values():
            proc.send_signal(signal.SIGINT)
        codes = {a: p.wait(timeout=60) for a, p in harness.swarm.procs.items()}
    finally:
        harness.stop()
        harness.destroy_node()
        rclpy.try_shutdown()
    assert codes == {a: 0 for a in harness.agents}
    for agent, path in harness.summaries.items():
        summary = json.loads(path.read_text())
        assert summary["agent"] == agent and summary["frames"] >= 1
    assert not list(tmp_path.glob(".summary_*")), "a temporary summary was left behind"
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    assert not any(os.path.exists(f"/proc/{p.pid}") and
                   open(f"/proc/{p.pid}/stat").read().split()[2] != "Z"
                   for p in harness.swarm.procs.values())
