"""Drones on separate (namespaced) hosts: the network lab against a same-host run.

Needs root (network namespaces); skipped with the reason where they cannot be made.
"""
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
import rclpy

from mash_ros.netlab import lab as netlab
from mash_ros.netlab.measure import run_in_lab
from mash_ros.tools.swarm_harness import SwarmHarness

pytestmark = pytest.mark.integration
PARAMS = {"preset": "cpu", "deadline_s": 2.0}  # the shipped int8 queries, top1 answers


@pytest.fixture(scope="module")
def lab_permitted():
    try:
        netlab.check_permitted()
    except netlab.LabUnavailable as err:
        pytest.skip(str(err))


def root_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def leftovers() -> tuple[list[str], set[str]]:
    return netlab.ours(), root_links()


def same_host(tmp_path, checkpoint, images):
    """The same swarm and images on one host (loopback, shared memory allowed)."""
    rclpy.init()
    harness = SwarmHarness(images.shape[1], tmp_path / "same_host",
                           {"model_path": str(checkpoint), **PARAMS})
    (tmp_path / "same_host").mkdir()
    try:
        harness.start()
        harness.wait_ready()
        return {i: harness.run_snapshot(i, snapshot, timeout=30, answers_from=harness.agents)
                for i, snapshot in enumerate(images)}
    finally:
        harness.stop()
        harness.destroy_node()
        rclpy.try_shutdown()


def test_three_drones_in_three_namespaces(lab_permitted, tmp_path, checkpoint, smooth_images):
    images = smooth_images(3, 3)
    links_before = root_links()
    lab = run_in_lab(3, 20_000_000, images, {"model_path": str(checkpoint), **PARAMS},
                     tmp_path, period_s=0.5, timeout=30)
    assert netlab.ours() == [] and root_links() == links_before
    reference = same_host(tmp_path, checkpoint, images)
    assert lab["frames_lost"] == 0
    for index, frame in lab["outputs"].items():
        for agent, result in frame.items():
            assert result is not None and result.fused is not None, (index, agent)
            expected = reference[index][agent]
            np.testing.assert_array_equal(result.fused, expected.fused, f"{agent} {index}")
            np.testing.assert_array_equal(result.single, expected.single)
    for agent, link in lab["links"].items():
        wire, accounted = link["bytes_on_wire"]["peers"], link["bytes_accounted"]
        assert accounted > 0, agent
        assert abs(wire / accounted - 1) <= 0.10, (agent, wire, accounted)
    assert lab["exit_codes"] == {a: 0 for a in lab["links"]}


def test_lab_leaves_nothing_behind(lab_permitted):
    before = leftovers()
    for _ in range(2):  # twice in a row
        with netlab.NetLab(2, 1_000_000) as lab:
            assert len(netlab.ours()) == 3
            assert lab.counters(0).total >= 0
        assert leftovers() == before
    with pytest.raises(RuntimeError, match="boom"):
        with netlab.NetLab(2, None):
            raise RuntimeError("boom")
    assert leftovers() == before


def test_a_killed_lab_is_swept_by_the_next(lab_permitted):
    """SIGKILL leaves no chance to clean up: the next lab sweeps what a dead maker left."""
    before = leftovers()
    code = ("import sys, time\nfrom mash_ros.netlab.lab import NetLab\n"
            "lab = NetLab(2, 1_000_000); lab.up(); print('up', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "up"
    made = [ns for ns in netlab.ours() if netlab.owner_of(ns) == proc.pid]
    assert len(made) == 3
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert set(made) <= set(netlab.ours())  # still there: nobody cleaned up
    assert set(netlab.sweep_stale()) >= set(made)
    assert leftovers() == before


def test_netlab_cli_without_root_privileges_exits_2(lab_permitted):
    """As a user who may not make namespaces, one line and exit status 2."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv (util-linux) to drop privileges")
    done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           sys.executable, "-m", "mash_ros.tools.netlab", "check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "unavailable" in done.stderr



def test_static_peers_discover_without_a_server(lab_permitted, tmp_path, checkpoint,
                                                smooth_images):
    lab = run_in_lab(2, 4_000_000, smooth_images(2, 2),
                     {"model_path": str(checkpoint), **PARAMS}, tmp_path, discovery="static",
                     timeout=30)
    assert lab["frames_lost"] == 0
    for link in lab["links"].values():
        assert link["bytes_on_wire"]["ground_tx"] == link["bytes_on_wire"]["ground_rx"] == 0
        assert link["bytes_accounted"] > 0


def test_flow_controller_profile_throttles_only_the_radio_topics(tmp_path):
    import re
    import xml.dom.minidom

    from mash_ros.core.paths import package_file
    from mash_ros.netlab.run import fastdds_profile_env

    env = fastdds_profile_env(str(package_file("config", "fastdds_flow_controller.xml")),
                              1_000_000, tmp_path, ["drone_0", "drone_1"])
    text = open(env["FASTDDS_DEFAULT_PROFILES_FILE"]).read()
    document = xml.dom.minidom.parseString(text)
    writers = {w.getAttribute("profile_name") for w in document.getElementsByTagName("data_writer")}
    assert writers == {"radio_writer"} | {f"/drone_{i}/mash/{t}" for i in (0, 1)
                                          for t in ("query", "patches", "bandwidth")}
    assert not any(w.getAttribute("is_default_profile")
                   for w in document.getElementsByTagName("data_writer"))  # outputs untouched
    # 85 % of 1 Mbit/s = 106250 B/s, per 100 ms period
    assert re.findall(r"<max_bytes_per_period>(\d+)<", text) == ["10625"]
    assert env["RMW_FASTRTPS_PUBLICATION_MODE"] == "ASYNCHRONOUS"
