"""Reading bags without ROS: both storages, and a clear BagError for every broken bag."""
import shutil

import numpy as np
import pytest
import yaml

from mash_ros.bags import layout
from mash_ros.bags.cdr import header_stamp_ns
from mash_ros.bags.errors import BagError
from mash_ros.bags.images import CAMERA_ENCODINGS, image_array
from mash_ros.bags.reader import BagFile
from mash_ros.bags.typestore import typestore
from mash_ros.bags.writer import BagWriter
from mash_ros.sim.bag import START_NS, export_bag
from mash_ros.sim.sample import ensure_sample

SNAPSHOTS = 2


@pytest.fixture(scope="module", params=["mcap", "sqlite3"])
def bag(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("bags") / request.param
    return export_bag(ensure_sample(), path, request.param, limit=SNAPSHOTS)


def storage_file(path):
    return next(p for p in path.iterdir() if p.suffix in (".mcap", ".db3"))


def test_reads_every_message_in_time_order(bag):
    with BagFile(bag) as reader:
        reader.validate()
        cameras = layout.find_cameras(reader.topics)
        assert list(cameras) == [f"drone_{i}" for i in range(6)]
        reader.require(layout.GT_TOPICS, "test")
        logs = [m.log_ns for m in reader.messages()]
        assert logs == sorted(logs) and len(logs) == sum(reader.counts.values())
        msg = next(reader.messages([cameras["drone_0"]]))
        assert header_stamp_ns(msg.raw) == START_NS
        image = image_array(reader.deserialize(msg), "test")
        assert image.shape == (128, 128, 3) and image.dtype == np.uint8


def test_truncated_storage_is_a_clear_error(bag, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(bag, broken)
    data = storage_file(broken)
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(BagError, match="truncated or corrupt"):
        with BagFile(broken) as reader:
            reader.validate()


def test_fewer_messages_than_metadata_lists_is_a_clear_error(bag, tmp_path):
    broken = tmp_path / "short"
    shutil.copytree(bag, broken)
    meta_path = broken / "metadata.yaml"
    meta = yaml.safe_load(meta_path.read_text())
    info = meta["rosbag2_bagfile_information"]
    topic = info["topics_with_message_count"][0]
    topic["message_count"] += 1
    info["message_count"] += 1
    meta_path.write_text(yaml.safe_dump(meta))
    with pytest.raises(BagError, match="truncated or corrupt.*metadata.yaml lists more"):
        with BagFile(broken) as reader:
            reader.validate()


@pytest.mark.parametrize("damage", ["no_metadata", "file", "missing"])
def test_not_a_bag(bag, tmp_path, damage):
    target = tmp_path / "x"
    if damage == "no_metadata":
        shutil.copytree(bag, target)
        (target / "metadata.yaml").unlink()
        expected = "no metadata.yaml"
    elif damage == "file":
        target = storage_file(bag)
        expected = "is a file"
    else:
        expected = "no such bag"
    with pytest.raises(BagError, match=expected):
        BagFile(target)


def test_missing_topic_is_named(bag):
    with BagFile(bag) as reader, pytest.raises(BagError, match="/nowhere/Scene"):
        reader.require(["/nowhere/Scene"], "replay")


def _image(encoding, array, step=None):
    ts = typestore()
    Image = ts.types["sensor_msgs/msg/Image"]
    Header = ts.types["std_msgs/msg/Header"]
    Time = ts.types["builtin_interfaces/msg/Time"]
    h, w = array.shape[:2]
    rows = array.reshape(h, -1).view(np.uint8)
    step = step or rows.shape[1]
    padded = np.zeros((h, step), np.uint8)
    padded[:, :rows.shape[1]] = rows
    return Image(header=Header(stamp=Time(sec=1, nanosec=2), frame_id="f"), height=h, width=w,
                 encoding=encoding, is_bigendian=0, step=step, data=padded.reshape(-1))


def test_image_encodings_and_row_padding():
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    assert (image_array(_image("rgb8", rgb, step=16)) == rgb).all()
    assert (image_array(_image("bgr8", rgb[..., ::-1].copy())) == rgb).all()
    for encoding, pixels in (("bgra8", rgb[..., ::-1]), ("rgba8", rgb)):  # AirSim's 4 channels
        four = np.concatenate([pixels, np.full((4, 5, 1), 255, np.uint8)], -1)
        assert (image_array(_image(encoding, four, step=24), "c", CAMERA_ENCODINGS) == rgb).all()
    depth = np.linspace(0, 1, 20, dtype=np.float32).reshape(4, 5)
    assert (image_array(_image("32FC1", depth)) == depth).all()
    with pytest.raises(BagError, match="bayer_rggb8.*not supported"):
        image_array(_image("bayer_rggb8", rgb[..., 0].copy()), "topic /cam")
    with pytest.raises(BagError, match="mono8.*not supported"):
        image_array(_image("mono8", rgb[..., 0].copy()), "topic /cam", ("rgb8", "bgr8"))
    short = _image("rgb8", rgb)
    short.data = short.data[:-1]
    with pytest.raises(BagError, match="does not fit"):
        image_array(short)


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_writer_round_trip_with_mash_msgs(tmp_path, storage):
    ts = typestore()
    Report = ts.types["mash_msgs/msg/BandwidthReport"]
    Row = ts.types["mash_msgs/msg/TopicBandwidth"]
    Header = ts.types["std_msgs/msg/Header"]
    Time = ts.types["builtin_interfaces/msg/Time"]
    msg = Report(header=Header(stamp=Time(sec=3, nanosec=4), frame_id=""), agent_id="drone_1",
                 window_s=1.0, frames=7, raw_image_bytes=99,
                 topics=[Row(topic="mash/query", direction=0, messages=7, bytes=700,
                             bytes_per_frame=100.0, bytes_per_second=70.0)],
                 mac=np.zeros(0, np.uint8))
    raw = ts.serialize_cdr(msg, "mash_msgs/msg/BandwidthReport")
    with BagWriter(tmp_path / "out", storage) as writer:
        writer.write("/drone_1/mash/bandwidth", "mash_msgs/msg/BandwidthReport", 5, raw)
        writer.add("/drone_2/mash/bandwidth", "mash_msgs/msg/BandwidthReport")
    with BagFile(tmp_path / "out") as reader:
        reader.validate()
        assert reader.counts == {"/drone_1/mash/bandwidth": 1, "/drone_2/mash/bandwidth": 0}
        back = reader.deserialize(next(reader.messages()))
        assert back.agent_id == "drone_1" and back.topics[0].bytes == 700
    with pytest.raises(BagError, match="already exists"):
        BagWriter(tmp_path / "out", storage)


@pytest.mark.parametrize("mode", ["FILE", "MESSAGE"])
def test_zstd_compressed_bags_read_like_plain_ones(bag, tmp_path, mode):
    """`ros2 bag record --compression-mode file|message` bags (zstd)."""
    from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer

    out = tmp_path / "zstd"
    writer = Writer(out, version=9, storage_plugin=StoragePlugin.SQLITE3)
    writer.set_compression(CompressionMode[mode], CompressionFormat.ZSTD)
    with BagFile(bag) as src, writer:
        conns = {t: writer.add_connection(t, m, typestore=typestore())
                 for t, m in src.topics.items()}
        for msg in src.messages():
            writer.write(conns[msg.topic], msg.log_ns, msg.raw)
    with BagFile(bag) as src, BagFile(out) as copy:
        copy.validate()
        assert [m.raw for m in copy.messages()] == [m.raw for m in src.messages()]
