"""rosbag2 export: readable by rosbags, AirSim layout, stamps, ground truth; rclpy decodes it."""
from __future__ import annotations

import numpy as np
import pytest

from mash_ros.airsim.classes import load_class_colors
from mash_ros.core.classes import OBSTRUCTION
from mash_ros.sim.bag import export_bag, topics
from mash_ros.sim.format import SimReader
from mash_ros.sim.frames import ned_to_enu, rotation, transform


@pytest.fixture(scope="module")
def bag(tiny_split, tmp_path_factory):
    return export_bag(tiny_split, tmp_path_factory.mktemp("bag") / "sample_bag")


def _messages(bag):
    from rosbags.rosbag2 import Reader
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_KILTED)
    with Reader(bag) as r:
        conns = {c.topic: c.msgtype for c in r.connections}
        msgs = [(c.topic, t, raw, ts.deserialize_cdr(raw, c.msgtype)) for c, t, raw in
                r.messages()]
    return conns, msgs


def test_bag_layout_and_content(bag, tiny_split, tiny_cfg):
    n = tiny_cfg.agents
    conns, msgs = _messages(bag)
    assert conns == topics(n)
    assert "/airsim_node/drone_0/front_center/Scene" in conns
    assert f"/airsim_node/drone_{n - 1}/front_center/DepthPlanar" in conns
    reader = SimReader(tiny_split)
    per_snapshot = len(conns) - 1  # /tf_static is written once
    assert len(msgs) == per_snapshot * len(reader) + 1
    times = sorted({t for _, t, _, _ in msgs})
    assert len(times) == len(reader)
    assert np.allclose(np.diff(times), tiny_cfg.period * 1e9)
    for topic, t, _, m in msgs:
        if hasattr(m, "header"):
            assert m.header.stamp.sec * 10 ** 9 + m.header.stamp.nanosec == t
    k = 1
    a = reader.read(k)
    at = {topic: m for topic, t, _, m in msgs if t == times[k]}
    target = a["info"]["target"]
    assert at["/mash_gt/target"].data == target
    scene = at["/airsim_node/drone_1/front_center/Scene"]
    # AirSim's image headers name the camera's optical frame without the vehicle
    assert scene.encoding == "bgr8" and scene.header.frame_id == "front_center_optical"
    img = scene.data.reshape(scene.height, scene.width, 3)
    assert np.array_equal(img[..., ::-1], a["rgb"][1])
    gt = at["/mash_gt/labels"]
    assert gt.encoding == "mono8" and gt.header.frame_id == f"drone_{target}/front_center_optical"
    assert np.array_equal(gt.data.reshape(gt.height, gt.width), a["labels"][target])
    mask = at["/mash_gt/obstruction_mask"]
    assert np.array_equal(mask.data.reshape(mask.height, mask.width) > 0, a["mask"][target])
    depth = at[f"/airsim_node/drone_{target}/front_center/DepthPlanar"]
    assert depth.encoding == "32FC1"
    d = depth.data.view(np.float32).reshape(depth.height, depth.width)
    m = a["mask"][target]
    assert np.allclose(d[~m], a["depth"][target][~m].astype(np.float32))
    assert (d[m] < a["depth"][target][m]).all()
    corr = at["/mash_gt/correspondences"]
    assert corr.encoding == "16UC1"
    c = corr.data.view(np.uint16).reshape(corr.height, corr.width)
    assert np.array_equal(c.reshape(a["corr"][target].shape), a["corr"][target])
    info = at["/airsim_node/drone_0/front_center/camera_info"]
    assert np.allclose(np.array(info.k).reshape(3, 3), reader.K)
    tf = at["/tf"]
    assert [x.child_frame_id for x in tf.transforms] == [f"drone_{i}" for i in range(n)]
    assert {x.header.frame_id for x in tf.transforms} == {"world_ned"}
    static = [m for topic, _, _, m in msgs if topic == "/tf_static"]
    assert len(static) == 1
    mounts = {x.child_frame_id: x for x in static[0].transforms}
    assert set(mounts) == {f"drone_{i}/front_center_optical" for i in range(n)}
    for i in range(n):  # world_ned -> vehicle -> optical, in ENU, is the split's camera pose
        chain = _matrix(tf.transforms[i]) @ _matrix(mounts[f"drone_{i}/front_center_optical"])
        assert mounts[f"drone_{i}/front_center_optical"].header.frame_id == f"drone_{i}"
        assert np.allclose(ned_to_enu(chain), a["poses"][i], atol=1e-9)
    body = _matrix(tf.transforms[0])[:3, :3]   # FRD body: z (down) points down in NED
    assert body[2, 2] > 0.5
    seg = at[f"/airsim_node/drone_{target}/front_center/Segmentation"]
    colors = load_class_colors()
    labels, unknown = colors.labels(seg.data.reshape(seg.height, seg.width, 3)[..., ::-1])
    assert not unknown
    assert np.array_equal(labels, np.where(a["mask"][target], OBSTRUCTION, a["labels"][target]))
    gt_depth = at[f"/mash_gt/drone_{target}/depth"]
    assert np.array_equal(gt_depth.data.view(np.float32).reshape(gt_depth.height, -1),
                          a["depth"][target].astype(np.float32))


def _matrix(stamped) -> np.ndarray:
    t, q = stamped.transform.translation, stamped.transform.rotation
    return transform(rotation((q.x, q.y, q.z, q.w)), (t.x, t.y, t.z))


def test_bag_sqlite3(tiny_split, tmp_path):
    from rosbags.rosbag2 import Reader

    out = export_bag(tiny_split, tmp_path / "b", storage="sqlite3", limit=1)
    with Reader(out) as r:
        assert r.message_count == len(topics(3))  # one snapshot and /tf_static


def test_bag_images_deserialize_with_rclpy(bag):
    pytest.importorskip("rclpy")
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Image

    _, msgs = _messages(bag)
    seen = set()
    for topic, _, raw, ref in msgs:
        if topic.startswith("/tf") or not hasattr(ref, "encoding"):
            continue
        msg = deserialize_message(raw, Image)
        assert (msg.height, msg.width, msg.encoding) == (ref.height, ref.width, ref.encoding)
        assert msg.header.frame_id == ref.header.frame_id
        assert bytes(msg.data) == ref.data.tobytes()
        seen.add(msg.encoding)
    assert seen == {"bgr8", "mono8", "32FC1", "16UC1"}
