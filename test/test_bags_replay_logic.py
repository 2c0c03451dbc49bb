"""Replay logic without ROS: snapshots cut from a bag, pacing, camera topics."""
import struct

import pytest

from mash_ros.bags import layout
from mash_ros.bags.errors import BagError
from mash_ros.bags.reader import BagFile, BagMessage
from mash_ros.bags.snapshots import Pacer, group_snapshots
from mash_ros.sim.bag import START_NS, export_bag
from mash_ros.sim.sample import ensure_sample

MS = 1_000_000


def stamped(topic: str, stamp_ns: int, log_ns: int) -> BagMessage:
    """A CDR message whose first field is a header with ``stamp_ns``."""
    sec, nanosec = divmod(stamp_ns, 1_000_000_000)
    return BagMessage(topic, "sensor_msgs/msg/Image", log_ns,
                      b"\x00\x01\x00\x00" + struct.pack("<iI", sec, nanosec) + b"\x00" * 8)


def test_simulator_bag_gives_one_snapshot_per_stamp(tmp_path):
    bag = export_bag(ensure_sample(), tmp_path / "bag", "mcap", limit=3)
    with BagFile(bag) as reader:
        cameras = layout.find_cameras(reader.topics)
        topic_agent = {t: a for a, t in cameras.items()}
        snaps = list(group_snapshots(reader.messages(), topic_agent))
    assert len(snaps) == 3
    for k, snap in enumerate(snaps):
        stamps = {stamp for stamp, _ in snap.cameras.values()}
        assert stamps == {START_NS + k * 500 * MS} and len(snap.cameras) == 6
        # the snapshot's ground truth travels with it
        assert {m.topic for m in snap.messages} >= set(layout.GT_TOPICS)


def test_cameras_with_jitter_and_a_dropped_frame():
    """AirSim-like: per-drone stamps a few ms apart at 10 Hz; drone b misses frame 1."""
    cams = {"/a/Scene": "a", "/b/Scene": "b"}
    msgs = []
    for k in range(3):
        t = k * 100 * MS
        msgs.append(stamped("/a/Scene", t, t + 1 * MS))
        if k != 1:
            msgs.append(stamped("/b/Scene", t + 3 * MS, t + 4 * MS))
        msgs.append(BagMessage("/imu", "sensor_msgs/msg/Imu", t + 50 * MS, b""))
    snaps = list(group_snapshots(msgs, cams, tolerance_ns=20 * MS))
    assert [sorted(s.cameras) for s in snaps] == [["a", "b"], ["a"], ["a", "b"], []]
    assert [s.index for s in snaps] == [0, 1, 2, 3]
    # a message recorded well after a snapshot's images is published before the next one's
    assert [m.topic for m in snaps[1].messages] == ["/imu", "/a/Scene"]
    assert snaps[1].log_ns == 50 * MS and snaps[1].first_stamp == 100 * MS


def test_pacer_recorded_rate_and_lockstep_reanchor():
    pacer = Pacer(rate=2.0, reanchor=True)
    assert pacer.due(0, now=10.0) == 10.0
    pacer.published(0, 10.0)
    assert pacer.due(1_000_000_000, now=10.1) == pytest.approx(10.5)  # 1 s recorded / 2
    # the swarm was slow: published at 12.0 instead of 10.5, next keeps its spacing
    pacer.published(1_000_000_000, 12.0)
    assert pacer.due(2_000_000_000, now=12.0) == pytest.approx(12.5)
    assert pacer.bag_time_ns(12.25, 1_000_000_000, 2_000_000_000) == 1_500_000_000
    assert pacer.bag_time_ns(20.0, 1_000_000_000, 2_000_000_000) == 2_000_000_000  # stands
    pacer.restart()
    assert pacer.due(0, now=30.0) == 30.0


def test_pacer_without_reanchor_catches_up_and_rate_zero_never_waits():
    pacer = Pacer(rate=1.0, reanchor=False)
    pacer.published(0, 0.0)
    pacer.published(1_000_000_000, 5.0)  # late
    assert pacer.due(2_000_000_000, now=5.0) == pytest.approx(2.0)  # due already: no wait
    fast = Pacer(rate=0.0, reanchor=True)
    fast.published(0, 0.0)
    assert fast.due(10_000_000_000, now=1.0) == 1.0


def test_find_cameras_picks_front_center_or_asks():
    image = "sensor_msgs/msg/Image"
    topics = {"/airsim_node/d0/front_center/Scene": image, "/airsim_node/d0/bottom/Scene": image,
              "/airsim_node/d1/front_center/Scene": image,
              "/airsim_node/d1/front_center/camera_info": "sensor_msgs/msg/CameraInfo"}
    assert layout.find_cameras(topics) == {"d0": "/airsim_node/d0/front_center/Scene",
                                           "d1": "/airsim_node/d1/front_center/Scene"}
    with pytest.raises(BagError, match="d1 has no camera 'bottom'"):
        layout.find_cameras(topics, camera="bottom")
    odd = {"/airsim_node/d0/left/Scene": image, "/airsim_node/d0/right/Scene": image}
    with pytest.raises(BagError, match="several cameras"):
        layout.find_cameras(odd)
    assert layout.find_cameras(odd, camera="left") == {"d0": "/airsim_node/d0/left/Scene"}
    # the regex sees the published (remapped) name; the bag topic is kept
    assert layout.find_cameras(topics, remap={"/airsim_node/d1/front_center/Scene":
                                              "/airsim_node/drone_1/front_center/Scene"}) == {
        "d0": "/airsim_node/d0/front_center/Scene",
        "drone_1": "/airsim_node/d1/front_center/Scene"}
    assert layout.parse_remaps(["/a:=/b"]) == {"/a": "/b"}
    with pytest.raises(ValueError, match="FROM:=TO"):
        layout.parse_remaps(["/a=/b"])
    custom = {"/drone_2/camera/image_raw": image}
    assert layout.find_cameras(custom, r"^/(?P<agent>[^/]+)/camera/image_raw$") == {
        "drone_2": "/drone_2/camera/image_raw"}
