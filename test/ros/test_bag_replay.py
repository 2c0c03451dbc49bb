"""mash-replay in a real process: every message of an mcap or sqlite3 bag arrives as recorded;
broken bags and unusable encodings stop it with a clear error before anything is published."""
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, TimeReference

from mash_ros.bags import layout
from mash_ros.bags.reader import BagFile
from mash_ros.bags.typestore import typestore
from mash_ros.bags.writer import BagWriter
from mash_ros.sim.bag import export_bag
from mash_ros.sim.config import SimConfig
from mash_ros.tools.ros_env import ros_child_env

pytestmark = pytest.mark.integration
TINY = SimConfig(height=128, width=128, agents=3, episode_length=2, blocks=4)
DEEP = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=100,
                  reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    from mash_ros.sim.writer import generate_split

    return generate_split(tmp_path_factory.mktemp("replay") / "split", "test", 2, seed=3,
                          cfg=TINY, progress=False)


def replay(*args, timeout=60):
    cmd = [sys.executable, "-m", "mash_ros.tools.replay", *map(str, args), "--quiet"]
    return subprocess.Popen(cmd, env=ros_child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_every_camera_image_arrives_as_recorded(split, tmp_path, storage):
    bag = export_bag(split, tmp_path / storage, storage)
    with BagFile(bag) as reader:
        cameras = layout.find_cameras(reader.topics)
        recorded = {}
        for msg in reader.messages(cameras.values()):
            image = reader.deserialize(msg)
            recorded.setdefault(msg.topic, []).append(
                (image.header.stamp.sec, image.header.stamp.nanosec, bytes(image.data)))
    # drone_0's camera goes out under another vehicle name: the replay names the drone after
    # the topic it publishes
    renamed = "/airsim_node/uav_a/front_center/Scene"
    remapped = {topic: (renamed if agent == "drone_0" else topic)
                for agent, topic in cameras.items()}
    rclpy.init()
    try:
        node = rclpy.create_node("replay_test")
        got = {topic: [] for topic in cameras.values()}
        markers = []
        for topic, name in remapped.items():
            node.create_subscription(Image, name, lambda m, t=topic: got[t].append(
                (m.header.stamp.sec, m.header.stamp.nanosec, bytes(m.data))), DEEP)
        node.create_subscription(TimeReference, layout.MARKERS, markers.append, DEEP)
        proc = replay(bag, "--no-lockstep", "--rate", "0", "--wait-subscribers", "--topics",
                      "Scene$", "--remap", f"{cameras['drone_0']}:={renamed}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
                sum(map(len, got.values())) < 6 or len(markers) < 6):
            rclpy.spin_once(node, timeout_sec=0.05)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert got == recorded
        names = {"drone_0": "uav_a", "drone_1": "drone_1", "drone_2": "drone_2"}
        assert sorted((m.source, m.header.stamp.sec) for m in markers) == sorted(
            (names[a], s) for a, t in cameras.items() for s, _, _ in recorded[t])
        assert "2 snapshots (6 camera images" in err
    finally:
        rclpy.try_shutdown()


def test_truncated_bag_is_refused_with_a_clear_error(split, tmp_path):
    bag = export_bag(split, tmp_path / "bag", "mcap")
    data = next(bag.glob("*.mcap"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size * 2 // 3])
    proc = replay(bag)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "mash-replay: error:" in err and "truncated or corrupt" in err and str(bag) in err
    assert "Traceback" not in err


def rewrite_scenes(split, tmp_path, change):
    """The split's bag with ``change(image)`` applied to every Scene image; returns its path."""
    bag = export_bag(split, tmp_path / "bag", "mcap")
    ts = typestore()
    with BagFile(bag) as src, BagWriter(tmp_path / "changed") as writer:
        for msg in src.messages():
            raw = msg.raw
            if msg.topic.endswith("/Scene"):
                image = src.deserialize(msg)
                change(image)
                raw = ts.serialize_cdr(image, msg.msgtype)
            writer.write(msg.topic, msg.msgtype, msg.log_ns, raw)
    return tmp_path / "changed"


def test_unknown_camera_encoding_is_refused(split, tmp_path):
    def yuv(image):
        image.encoding = "yuv422"

    proc = replay(rewrite_scenes(split, tmp_path, yuv))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "'yuv422' is not supported" in err and "/Scene" in err


def test_four_channel_captures_are_replayed(split, tmp_path):
    """AirSim's bgra8 Scene images go out as recorded and read back as the node reads them."""
    from mash_ros import conversions
    from mash_ros.sim.format import SimReader

    def bgra(image):
        bgr = image.data.reshape(image.height, image.width, 3)
        alpha = np.full((image.height, image.width, 1), 255, np.uint8)
        image.data = np.concatenate([bgr, alpha], -1).reshape(-1)
        image.encoding, image.step = "bgra8", image.width * 4

    bag = rewrite_scenes(split, tmp_path, bgra)
    rclpy.init()
    try:
        node = rclpy.create_node("bgra_test")
        got = []
        node.create_subscription(Image, "/airsim_node/drone_1/front_center/Scene", got.append,
                                 DEEP)
        proc = replay(bag, "--no-lockstep", "--rate", "0", "--wait-subscribers",
                      "--count", "1", "--topics", "drone_1/front_center/Scene$")
        deadline = time.monotonic() + 60
        while not got and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
        _, err = proc.communicate(timeout=60)
    finally:
        rclpy.try_shutdown()
    assert proc.returncode == 0, err
    assert got[0].encoding == "bgra8"
    first = SimReader(split).read(0, ["rgb"])["rgb"][1]
    assert np.array_equal(conversions.image_to_array(got[0], "rgb8", first.shape[:2]), first)


def test_loop_repeats_until_interrupted(split, tmp_path):
    bag = export_bag(split, tmp_path / "bag", "mcap")
    rclpy.init()
    try:
        node = rclpy.create_node("loop_test")
        stamps = []
        node.create_subscription(Image, "/airsim_node/drone_1/front_center/Scene",
                                 lambda m: stamps.append(m.header.stamp.sec), DEEP)
        proc = replay(bag, "--no-lockstep", "--rate", "0", "--wait-subscribers", "--loop",
                      "--count", "1", "--topics", "drone_1/front_center/Scene$")
        deadline = time.monotonic() + 60
        while len(stamps) < 3 and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        rclpy.try_shutdown()
    assert len(stamps) >= 3 and len(set(stamps)) == 1  # the first snapshot, again and again
    assert proc.returncode == 130 and "interrupted" in err
