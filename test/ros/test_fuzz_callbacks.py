"""No message can kill a drone node: property-based fuzzing of every subscription callback.

One real DroneNode (in this process, cpu preset, random weights, authentication on) gets
hypothesis-generated camera images, QueryMaps, SegPatches, BandwidthReports and raw byte
strings through the very callbacks its subscriptions run. The messages are signed with the
swarm key (an insider sending garbage), so they reach every validation step behind the MAC
check. Every message must be used or counted as a drop of a named kind; none may raise, and
none may end in an ``internal: ...`` drop (that would mean a check is missing and the node
only survived thanks to its last-resort guard).
"""
import itertools

import numpy as np
import pytest
import rclpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mash_msgs.msg import BandwidthReport, QueryMap, SegPatches, TopicBandwidth
from rclpy.parameter import Parameter
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from mash_ros import conversions
from mash_ros.core.roles import Response
from mash_ros.nodes.drone_node import DroneNode
from mash_ros.swarm.keyfile import generate_key_file

pytestmark = pytest.mark.ros
CAMERA = "/fuzz/drone_0/image"
HEARTBEAT_CLOCK = itertools.count(1)
PEERS = ("drone_1", "drone_2")
ENCODINGS = ["rgb8", "bgr8", "mono8", "bgra8", "rgba8", "16UC1", "32FC1", "yuv422", "", "\x00x"]


class Breaker:
    """Breaks at most two fields of each generated message (the rest stay valid), so every
    check is reached, not only the first one a message meets."""

    def __init__(self, draw, fields):
        self.draw = draw
        self.broken = draw(st.sets(st.sampled_from(sorted(fields)), max_size=2))

    def __call__(self, field, valid, *invalid):
        return self.draw(st.sampled_from(invalid)) if field in self.broken else valid


FUZZ = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    return generate_key_file(tmp_path_factory.mktemp("key") / "swarm.key")


@pytest.fixture(scope="module")
def node(checkpoint, key_file):
    rclpy.init()
    params = {"agents": ["drone_0", *PEERS], "targets": ["all"], "model_path": str(checkpoint),
              "preset": "cpu", "image_topic": CAMERA, "deadline_s": 30.0,
              "peer_timeout_s": 1e6, "swarm_key_file": str(key_file)}
    drone = DroneNode(namespace="drone_0",
                      parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    yield drone
    drone.destroy_node()
    rclpy.try_shutdown()


def callback(node, topic):
    """The callback the node's subscription on ``topic`` runs (raw bytes in)."""
    [sub] = [s for s in node.intake.subscriptions if s.topic_name == topic]
    assert sub.raw
    return sub.callback


def header(sec: int) -> Header:
    h = Header(frame_id="camera")
    h.stamp.sec = sec
    return h


def valid_image(sec: int, seed: int = 0) -> Image:
    rgb = np.random.default_rng(seed).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    return conversions.array_to_image(rgb, "rgb8", header(sec))


def no_internal_drops(node):
    internal = {k: v for k, v in node.drops.by_kind().items() if k.startswith("internal")}
    assert not internal, f"a message got past every check and failed inside: {internal}"


def signed(node, msg) -> bytes:
    """``msg`` with a valid MAC (what a drone with the swarm key would send), serialized."""
    if hasattr(msg, "mac"):
        node.auth.sign(msg)
    return serialize_message(msg)


def delivered(node, topic, raw) -> int:
    """Run the subscription's callback on ``raw`` (bytes, or a message to sign and
    serialize); returns how many drops it counted."""
    raw = raw if isinstance(raw, bytes) else signed(node, raw)
    before = node.drops.total
    callback(node, topic)(raw)  # must not raise (the intake thread's part)
    node.process_inbox()        # the main thread's part
    no_internal_drops(node)
    return node.drops.total - before


def test_big_endian_rgb8_image_is_used(node):
    msg = valid_image(10)
    msg.is_bigendian = 1  # 8-bit channels: byte order means nothing; cv_bridge crashed on it
    frames = node.stats.frames
    assert delivered(node, CAMERA, serialize_message(msg)) == 0
    assert node.stats.frames == frames + 1


def test_four_channel_images_pass_the_size_limit_and_resize_when_asked(node, checkpoint,
                                                                        key_file):
    """AirSim's bgra8 at the model's size goes through the default node; a node with
    resize_images takes a larger capture too (its limit is then max_message_bytes)."""
    rgb = np.random.default_rng(3).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    bgra = np.concatenate([rgb[..., ::-1], np.full((256, 256, 1), 255, np.uint8)], -1)
    small = Image(header=header(11), height=128, width=128, encoding="bgra8", step=512,
                  data=bgra[::2, ::2].tobytes())
    frames = node.stats.frames
    assert delivered(node, CAMERA, serialize_message(small)) == 0
    assert node.stats.frames == frames + 1
    large = Image(header=header(12), height=256, width=256, encoding="bgra8", step=1024,
                  data=bgra.tobytes())
    assert node.drops.counts[("camera", "Image: size")] == 0
    delivered(node, CAMERA, serialize_message(large))  # the default node refuses it
    assert node.drops.counts[("camera", "Image: oversized")] \
        + node.drops.counts[("camera", "Image: size")] == 1
    params = {"agents": ["drone_3", *PEERS], "targets": ["all"], "model_path": str(checkpoint),
              "preset": "cpu", "image_topic": "/fuzz/drone_3/image", "resize_images": True,
              "peer_timeout_s": 1e6, "swarm_key_file": str(key_file)}
    resizer = DroneNode(namespace="drone_3",
                        parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    try:
        assert delivered(resizer, "/fuzz/drone_3/image", serialize_message(large)) == 0
        assert resizer.stats.frames == 1
    finally:
        resizer.destroy_node()


@st.composite
def images(draw):
    pick = Breaker(draw, ["height", "width", "encoding", "step", "size", "is_bigendian"])
    height = pick("height", 128, 0, 1, 64, 127, 129, 9000)
    width = pick("width", 128, 0, 1, 64, 200, 9000)
    encoding = pick("encoding", draw(st.sampled_from(["rgb8", "bgr8"])), *ENCODINGS)
    channels = {"rgb8": 3, "bgr8": 3, "mono8": 1}.get(encoding, 4)
    padding = draw(st.sampled_from([0, 0, 8]))
    step = pick("step", width * channels + padding, width, 0, 2 ** 31)
    size = pick("size", "exact", "short", "long", "empty")
    length = {"exact": step * height, "short": step * height - 1, "long": step * height + 3,
              "empty": 0}[size]
    length = length if 0 <= length <= 1 << 20 else 16  # never build huge payloads
    bigendian = pick("is_bigendian", draw(st.sampled_from([0, 1])), 2, 255)
    msg = Image(header=header(draw(st.integers(0, 50))), height=height, width=width,
                encoding=encoding, is_bigendian=bigendian, step=min(step, 2 ** 32 - 1))
    msg.data = np.random.default_rng(length).integers(0, 256, length, np.uint8).tobytes()
    return msg


@FUZZ
@given(msg=images())
def test_fuzzed_images(node, msg):
    frames = node.stats.frames
    drops = delivered(node, CAMERA, serialize_message(msg))
    assert drops + (node.stats.frames - frames) == 1  # used, or dropped once


def query_fields(draw, valid: QueryMap) -> QueryMap:
    pick = Breaker(draw, ["target_id", "height", "width", "channels", "encoding", "scale",
                          "data"])
    msg = QueryMap(header=valid.header, target_id=pick("target_id", "drone_1", "drone_9", ""),
                   sequence=draw(st.integers(0, 2 ** 32 - 1)),
                   height=pick("height", valid.height, 0, 1, 300, 65535),
                   width=pick("width", valid.width, 0, 8),
                   channels=pick("channels", valid.channels, 0, 1, 2000),
                   encoding=pick("encoding", valid.encoding, 0, 1, 2, 3, 255))
    scale = pick("scale", "valid", "none", "nan", "negative", "short")
    msg.scale = {"valid": list(valid.scale), "none": [], "nan": [float("nan")] * valid.channels,
                 "negative": [-1.0] * valid.channels, "short": [1.0]}[scale]
    data = pick("data", "valid", "short", "random", "nan16", "empty")
    msg.data = {"valid": bytes(valid.data), "short": bytes(valid.data)[:-1],
                "random": draw(st.binary(max_size=9000)), "nan16": b"\xff\x7f" * 8192,
                "empty": b""}[data]
    return msg


@FUZZ
@given(data=st.data())
def test_fuzzed_queries(node, data):
    stamp = 100
    delivered(node, CAMERA, serialize_message(valid_image(stamp)))  # own state to answer from
    query = np.random.default_rng(0).standard_normal((32, 16, 16)).astype(np.float32)
    valid = conversions.query_to_msg(query, header(stamp), "drone_1", 1,
                                     data.draw(st.sampled_from(["int8", "float16", "float32"])))
    msg = query_fields(data.draw, valid)
    answered, held = node.stats.answers_sent, len(node.held_queries)
    drops = delivered(node, "/drone_1/mash/query", msg)
    assert drops + (node.stats.answers_sent - answered) + (len(node.held_queries) - held) == 1


@FUZZ
@given(data=st.data())
def test_fuzzed_answers_reach_fusion_or_are_dropped(node, data):
    stamp = 200 + node.sequence
    delivered(node, CAMERA, serialize_message(valid_image(stamp, node.sequence)))
    sequence = node.sequence  # the frame now waiting for answers
    pick = Breaker(data.draw, ["cells", "classes", "encoding", "payload", "confidence",
                               "stamp", "source_id", "target_id", "sequence", "grid_height",
                               "grid_width", "source_cell", "lengths"])
    count = data.draw(st.integers(0, 256))
    cells = pick("cells", "valid", "repeat", "beyond")
    cell_index = {"valid": list(range(count)), "repeat": [0] * count,
                  "beyond": [256 + i for i in range(count)]}[cells]
    classes, patch = pick("classes", (8, 8), (8, 4), (0, 8), (300, 8), (8, 65))
    encoding = pick("encoding", data.draw(st.integers(0, 2)), 3, 255)
    payload = pick("payload", data.draw(st.sampled_from(["exact", "ones"])), "short", "nan",
                   "random")
    per_cell = patch * patch * (1 if encoding == 2 else classes * (2 if encoding == 0 else 1))
    size = count * per_cell
    raw = {"exact": np.random.default_rng(size).integers(0, 256, size, np.uint8).tobytes(),
           "short": bytes(max(size - 1, 0)), "ones": b"\x00\x3c" * (size // 2),
           "nan": b"\xff\x7f" * (size // 2), "random": data.draw(st.binary(max_size=4096))}
    confidence = pick("confidence", data.draw(st.floats(0, 1)), -0.1, 2.0, float("nan"),
                      float("inf"))
    msg = SegPatches(header=header(pick("stamp", stamp, stamp - 1)),
                     source_id=pick("source_id", data.draw(st.sampled_from(PEERS)), "drone_0",
                                    "drone_9", ""),
                     target_id=pick("target_id", "drone_0", "drone_1", ""),
                     sequence=pick("sequence", sequence, sequence - 1, 2 ** 32 - 1),
                     grid_height=pick("grid_height", 16, 0, 4, 65535),
                     grid_width=pick("grid_width", 16, 0, 4), patch_size=patch,
                     num_classes=classes, encoding=encoding)
    msg.cell_index = cell_index
    msg.source_cell = pick("source_cell", cell_index, cell_index[:-1])
    msg.confidence = [confidence] * pick("lengths", count, count + 1)
    msg.data = raw[payload][:1 << 20]
    fused, used = node.stats.fused, node.stats.answers_used
    delivered(node, "/drone_0/mash/patches", msg)
    # a second, valid answer from every peer completes the frame: fusion runs on what passed
    answer = Response.from_numpy(np.arange(4), np.full((4, 8, 8, 8), 1 / 8), np.full(4, 0.9),
                                 np.arange(4), (16, 16))
    for peer in PEERS:
        reply = conversions.patches_to_msg(answer, header(stamp), peer, "drone_0", sequence)
        delivered(node, "/drone_0/mash/patches", reply)
    assert node.stats.fused == fused + 1
    assert node.stats.answers_used == used + len(PEERS)


@FUZZ
@given(raw=st.binary(max_size=2048), topic=st.sampled_from(
    [CAMERA, "/drone_1/mash/query", "/drone_0/mash/patches", "/drone_2/mash/bandwidth"]))
def test_fuzzed_raw_bytes(node, raw, topic):
    callback(node, topic)(raw)
    node.process_inbox()
    no_internal_drops(node)


@FUZZ
@given(agent=st.sampled_from(["drone_2", "drone_2", "drone_1", "", "x" * 300]),
       rows=st.lists(st.tuples(st.text(max_size=20), st.integers(0, 255)), max_size=5))
def test_fuzzed_heartbeats(node, agent, rows):
    msg = BandwidthReport(agent_id=agent, window_s=1.0)
    msg.header.stamp.sec = next(HEARTBEAT_CLOCK)
    msg.topics = [TopicBandwidth(topic=t, direction=d) for t, d in rows]
    drops = delivered(node, "/drone_2/mash/bandwidth", msg)
    assert drops == (0 if agent == "drone_2" else 1)


def test_every_bad_image_check_is_its_own_logged_kind(node):
    """Each failed image check is a drop kind of its own, so the first of each is logged."""
    good = valid_image(1)
    bad = {"Image: encoding": dict(encoding="yuv422", step=256, data=bytes(256 * 128)),
           "Image: is_bigendian": dict(is_bigendian=7),
           "Image: image height": dict(height=0, data=b""),
           "Image: image width": dict(width=9000, step=27000, data=bytes(27000 * 128)[:16]),
           "Image: step": dict(step=10),
           "Image: payload size": dict(data=bytes(100)),
           "Image: size": dict(height=64, data=bytes(64 * 384)),
           "Image: oversized": dict(step=4096, data=bytes(4096 * 128)),
           "Image: undecodable": None}
    for kind, fields in bad.items():
        msg = Image(header=good.header, height=good.height, width=good.width,
                    encoding=good.encoding, step=good.step, data=bytes(good.data))
        for name, value in (fields or {}).items():
            setattr(msg, name, value)
        raw = serialize_message(msg) if fields is not None else b"\x00\x01\x00\x00" + bytes(9)
        before = node.drops.counts[("camera", kind)]
        assert delivered(node, CAMERA, raw) == 1
        assert node.drops.counts[("camera", kind)] == before + 1, kind
