"""Evaluating a recording without ROS: stamps join outputs with the ground truth, the numbers
equal the offline reference for the same outputs, and broken runs are never reported complete.

The recording here is written with rosbags from the offline reference's own outputs, so any
difference would be in the joining, scoring or loss accounting.
"""
import json

import numpy as np
import pytest

from mash_ros.bags import layout
from mash_ros.bags.errors import BagError
from mash_ros.bags.evaluation import evaluate_recording
from mash_ros.bags.groundtruth import camera_stamps
from mash_ros.bags.identity import marker_frame_id
from mash_ros.bags.images import image_array
from mash_ros.bags.offline import evaluate_offline, swarm_outputs
from mash_ros.bags.reader import BagFile
from mash_ros.bags.snapshots import group_snapshots
from mash_ros.bags.typestore import typestore
from mash_ros.bags.writer import BagWriter
from mash_ros.core.checkpoint import load_checkpoint
from mash_ros.sim.bag import export_bag
from mash_ros.sim.config import SimConfig
from mash_ros.swarm.agent import MashAgent
from mash_ros.swarm.params import default
from mash_ros.tools import evaluate_bag

TINY = SimConfig(height=128, width=128, agents=3, episode_length=3, blocks=4)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 3-drone, 3-snapshot split and its mcap bag."""
    from mash_ros.sim.writer import generate_split

    root = tmp_path_factory.mktemp("bag_eval")
    split = generate_split(root / "split", "test", 3, seed=7, cfg=TINY, progress=False)
    return split, export_bag(split, root / "bag", "mcap")


@pytest.fixture(scope="module")
def checkpoint(tiny, tmp_path_factory, varied_checkpoint):
    return varied_checkpoint(tmp_path_factory.mktemp("model") / "mash_cpu.pt", tiny[0])


def write_recording(bag, checkpoint, out, drop=(), markers=True, digests=True):
    """What mash-record would hold after a perfect live run: the offline outputs, stamped;
    markers as mash-replay publishes them (``digests=False``: as older versions did)."""
    ts = typestore()
    T = ts.types
    model, cfg, _ = load_checkpoint(checkpoint)
    agent = MashAgent(model, cfg)

    def header(stamp, frame_id="cam"):
        sec, nanosec = divmod(stamp, 1_000_000_000)
        return T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](
            sec=sec, nanosec=nanosec), frame_id=frame_id)

    def image(stamp, ids):
        return ts.serialize_cdr(T["sensor_msgs/msg/Image"](
            header=header(stamp), height=ids.shape[0], width=ids.shape[1], encoding="mono8",
            is_bigendian=0, step=ids.shape[1], data=ids.reshape(-1)), "sensor_msgs/msg/Image")

    with BagFile(bag) as src, BagWriter(out) as writer:
        cameras = layout.find_cameras(src.topics)
        topic_agent = {t: a for a, t in cameras.items()}
        log = 10_000_000_000
        for snap in group_snapshots(src.messages(topic_agent), topic_agent):
            images = {a: image_array(src.deserialize(m)) for a, (_, m) in snap.cameras.items()}
            encodings = default("query_encoding"), default("patch_encoding")  # as the nodes
            for target, fused, single in swarm_outputs(agent, images, *encodings):
                stamp = snap.cameras[target][0]
                log += 1_000_000
                if markers:
                    camera = snap.cameras[target][1]
                    frame_id = (marker_frame_id(camera.topic, camera.raw) if digests
                                else camera.topic)
                    marker = T["sensor_msgs/msg/TimeReference"](
                        header=header(stamp, frame_id), time_ref=T["builtin_interfaces/msg/Time"](
                            sec=log // 10**9 - 1, nanosec=log % 10**9), source=target)
                    writer.write(layout.MARKERS, layout.MARKER_TYPE, log,
                                 ts.serialize_cdr(marker, layout.MARKER_TYPE))
                if (target, stamp) in drop:
                    continue
                for pattern, ids in ((layout.FUSED, fused), (layout.SINGLE, single)):
                    writer.write(pattern.format(agent=target), "sensor_msgs/msg/Image", log,
                                 image(stamp, ids))
    return out


def test_recording_equals_offline_reference(tiny, checkpoint, tmp_path):
    split, bag = tiny
    recording = write_recording(bag, checkpoint, tmp_path / "rec")
    result = evaluate_recording(bag, recording, montage=2)
    report = result.report
    assert report["complete"] and report["problems"] == []
    assert report["frames"]["expected"] == 9 and report["frames"]["lost"] == 0
    assert report["snapshots"] == {"in_bag": 3, "replayed": 3, "with_ground_truth": 3,
                                   "scored": 3}
    assert report["latency_ms"]["mean"] == pytest.approx(1000.0)  # time_ref = log - 1 s
    offline = evaluate_offline(bag, checkpoint)
    assert report["metrics"] == offline["metrics"]
    table = report["metrics"]["table1"]
    assert table["swarm"]["full"]["pixels"] == 3 * 128 * 128
    # the model is not degenerate: fusion changed something, obstructed pixels were scored
    assert table["swarm"]["full"]["class_iou"] != table["single_agent"]["full"]["class_iou"]
    assert table["swarm"]["obstructed"]["pixels"] > 0
    assert report["metrics"]["all_drones_full"]["swarm"]["pixels"] == 9 * 128 * 128
    assert len(result.rows) == 2 and all(r["fused"] is not None for r in result.rows)
    json.dumps(report)  # the report is plain JSON


def test_lost_frames_are_reported_and_scored_frames_match_offline(tiny, checkpoint, tmp_path):
    split, bag = tiny
    with BagFile(bag) as src:
        stamps = camera_stamps(src, layout.find_cameras(src.topics))
    lost = ("drone_1", stamps["drone_1"][1])
    recording = write_recording(bag, checkpoint, tmp_path / "rec", drop={lost})
    result = evaluate_recording(bag, recording)
    report = result.report
    assert not report["complete"]
    assert report["frames"]["lost"] == 1 and report["frames"]["lost_list"] == [
        {"agent": lost[0], "stamp_ns": lost[1]}]
    assert "1 of 9 frames have no fused output" in report["problems"][0]
    offline = evaluate_offline(bag, checkpoint, frames=result.scored)
    assert report["metrics"] == offline["metrics"]

    out = tmp_path / "report.json"
    code = evaluate_bag.main([str(bag), str(recording), "--out", str(out), "--quiet"])
    assert code == evaluate_bag.INCOMPLETE
    assert json.loads(out.read_text())["complete"] is False


def test_without_markers_every_camera_image_counts_as_replayed(tiny, checkpoint, tmp_path):
    split, bag = tiny
    recording = write_recording(bag, checkpoint, tmp_path / "rec", markers=False)
    report = evaluate_recording(bag, recording).report
    assert report["frames"]["expected"] == 9 and report["latency_ms"] is None
    assert any("no /mash_replay/frames markers" in p for p in report["problems"])


def test_unusable_recording_is_an_error_and_leaves_no_report(tiny, checkpoint, tmp_path):
    split, bag = tiny
    with BagWriter(tmp_path / "empty") as writer:
        writer.add(layout.FUSED.format(agent="drone_9"), "sensor_msgs/msg/Image")
        writer.write("/chatter", "std_msgs/msg/String", 1,
                     typestore().serialize_cdr(typestore().types["std_msgs/msg/String"](
                         data="hi"), "std_msgs/msg/String"))
    with pytest.raises(BagError, match="no /<drone>/mash/segmentation topic"):
        evaluate_recording(bag, tmp_path / "empty")
    out = tmp_path / "report.json"
    out.write_text('{"complete": true}')  # an old report must not survive a failed run
    code = evaluate_bag.main([str(bag), str(tmp_path / "empty"), "--out", str(out), "--quiet"])
    assert code == 2 and not out.exists()


def test_input_without_ground_truth_needs_the_flag(tiny, checkpoint, tmp_path):
    split, bag = tiny
    with BagFile(bag) as src, BagWriter(tmp_path / "airsim") as writer:
        for msg in src.messages():
            if not msg.topic.startswith("/mash_gt"):
                writer.write(msg.topic, msg.msgtype, msg.log_ns, msg.raw)
    recording = write_recording(bag, checkpoint, tmp_path / "rec")
    with pytest.raises(BagError, match="/mash_gt/target"):
        evaluate_recording(tmp_path / "airsim", recording)
    report = evaluate_recording(tmp_path / "airsim", recording, ground_truth=False).report
    assert report["complete"] and report["metrics"] is None
    assert np.isclose(report["latency_ms"]["mean"], 1000.0)


def test_a_recording_of_another_bag_with_the_same_stamps_is_refused(tiny, checkpoint, tmp_path):
    """The issue's case: another city, exported with the same start time and period, so every
    stamp matches; its recording scored against this bag's ground truth gave nonsense."""
    from mash_ros.sim.writer import generate_split

    split, bag = tiny
    other_split = generate_split(tmp_path / "other", "test", 3, seed=8, cfg=TINY,
                                 progress=False)
    other_bag = export_bag(other_split, tmp_path / "other_bag", "mcap")
    with BagFile(bag) as a, BagFile(other_bag) as b:
        assert camera_stamps(a, layout.find_cameras(a.topics)) == \
            camera_stamps(b, layout.find_cameras(b.topics))
    recording = write_recording(other_bag, checkpoint, tmp_path / "rec")
    with pytest.raises(BagError, match="was not made from") as err:
        evaluate_recording(bag, recording)
    assert "9 of the 9 camera images" in str(err.value)
    out = tmp_path / "report.json"
    assert evaluate_bag.main([str(bag), str(recording), "--out", str(out), "--quiet"]) == 2
    assert not out.exists()
    assert evaluate_recording(other_bag, recording).report["complete"]  # its own bag: fine


def test_markers_of_an_older_replay_cannot_be_checked_and_say_so(tiny, checkpoint, tmp_path):
    split, bag = tiny
    recording = write_recording(bag, checkpoint, tmp_path / "rec", digests=False)
    report = evaluate_recording(bag, recording).report
    assert any("without image digests" in p for p in report["problems"])
