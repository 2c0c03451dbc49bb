"""mash-record in a real process: it finds the swarm's topics as they appear, writes what
arrives, and closes the bag cleanly on SIGTERM and SIGINT."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import rclpy
from sensor_msgs.msg import Image
from std_msgs.msg import Header, String

from mash_ros import conversions
from mash_ros.bags import layout
from mash_ros.bags.cdr import header_stamp_ns
from mash_ros.bags.reader import BagFile
from mash_ros.nodes import qos
from mash_ros.nodes.replay_node import STATUS_QOS
from mash_ros.tools.ros_env import ros_child_env

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("sig,storage", [(signal.SIGTERM, "mcap"), (signal.SIGINT, "sqlite3")])
def test_records_discovered_topics_and_closes_on_signal(tmp_path, sig, storage):
    out = tmp_path / "rec"
    proc = subprocess.Popen([sys.executable, "-m", "mash_ros.tools.record", str(out),
                             "--storage", storage], env=ros_child_env(), text=True,
                            stderr=subprocess.PIPE)
    rclpy.init()
    try:
        node = rclpy.create_node("record_test")
        status = []
        node.create_subscription(String, layout.RECORDER_STATUS,
                                 lambda m: status.append(json.loads(m.data)), STATUS_QOS)
        seg = node.create_publisher(Image, "/drone_7/mash/segmentation", qos.OUTPUT)
        other = node.create_publisher(String, "/not/recorded", 10)
        deadline = time.monotonic() + 30
        while seg.get_subscription_count() < 1 and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)  # the recorder discovers the topic
        assert seg.get_subscription_count() == 1, "mash-record never subscribed"
        for k in range(5):
            header = Header()
            header.stamp.sec = 100 + k
            seg.publish(conversions.array_to_image(np.full((4, 4), k, np.uint8), "mono8",
                                                   header))
            other.publish(String(data="x"))
        while time.monotonic() < deadline and not any(
                s["topics"].get("/drone_7/mash/segmentation", 0) >= 5 for s in status):
            rclpy.spin_once(node, timeout_sec=0.1)
    finally:
        rclpy.try_shutdown()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert status[-1]["unmatched"] == []  # its one writer matched
    assert proc.returncode == 0, err
    assert "wrote 5 messages on 1 topics" in err
    with BagFile(out) as bag:
        bag.validate()
        # the replay markers are always subscribed (none were sent); /not/recorded is not
        assert dict(bag.counts) == {"/drone_7/mash/segmentation": 5, layout.MARKERS: 0}
        assert [header_stamp_ns(m.raw) // 10**9 for m in bag.messages()] == [100, 101, 102,
                                                                              103, 104]


def test_a_topic_is_matched_when_every_compatible_writer_is():
    from rclpy.qos import ReliabilityPolicy as R

    from mash_ros.nodes.recorder_node import all_matched

    assert all_matched(2, R.RELIABLE, [R.RELIABLE, R.RELIABLE])
    assert not all_matched(1, R.RELIABLE, [R.RELIABLE, R.RELIABLE])  # one not matched yet
    # a best-effort writer can never match a reliable reader: not waited for
    assert all_matched(1, R.RELIABLE, [R.RELIABLE, R.BEST_EFFORT])
    assert not all_matched(1, R.BEST_EFFORT, [R.RELIABLE, R.BEST_EFFORT])
