"""mash_msgs through rclpy serialization, and the conversions module's validation."""
import numpy as np
import pytest
from mash_msgs.msg import BandwidthReport, TopicBandwidth
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from mash_ros import conversions
from mash_ros.core.codecs import WireFormatError
from mash_ros.core.roles import Response

RNG = np.random.default_rng(1)


def header(sec=12, nanosec=345, frame="drone_0/camera"):
    h = Header(frame_id=frame)
    h.stamp.sec, h.stamp.nanosec = sec, nanosec
    return h


def round_trip(msg):
    return deserialize_message(serialize_message(msg), type(msg))


def answer(count=5, grid=(16, 16)):
    logits = RNG.standard_normal((count, 8, 8, 8))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    cells = RNG.choice(grid[0] * grid[1], count, replace=False)
    confidence = RNG.uniform(0, 1, count).astype(np.float32)
    return Response.from_numpy(cells, probs, confidence, cells[::-1].copy(), grid)


@pytest.mark.parametrize("encoding", ["float32", "float16", "int8"])
def test_query_map_round_trip(encoding):
    query = RNG.standard_normal((8, 16, 16)).astype(np.float32)
    msg = conversions.query_to_msg(query, header(), "drone_3", 42, encoding)
    back = round_trip(msg)
    assert back == msg
    assert (back.target_id, back.sequence, back.header.stamp.sec) == ("drone_3", 42, 12)
    decoded = conversions.msg_to_query(back)
    np.testing.assert_allclose(decoded, query, atol=np.abs(query).max() / 127)


@pytest.mark.parametrize("encoding", ["float16", "uint8", "top1", "labels"])
def test_seg_patches_round_trip(encoding):
    sent = answer()
    msg = conversions.patches_to_msg(sent, header(), "drone_1", "drone_0", 7, encoding)
    back = round_trip(msg)
    assert back == msg
    got = conversions.msg_to_patches(back)
    np.testing.assert_array_equal(got.cell_ids, sent.cell_ids)
    np.testing.assert_array_equal(got.source_cells, sent.source_cells)
    np.testing.assert_array_equal(got.confidence, sent.confidence)
    got_p, sent_p = got.patches.numpy(), sent.patches.numpy()
    if encoding == "top1":  # the ArgMax only, and the top probability to 5 bits
        np.testing.assert_array_equal(got_p.argmax(1), sent_p.argmax(1))
        np.testing.assert_allclose(got_p.max(1), sent_p.max(1), atol=0.875 / 62)
    elif encoding == "labels":  # the ArgMax, and the compact form the target fuses
        np.testing.assert_array_equal(got_p.argmax(1), sent_p.argmax(1))
        top, p_top = got.labels
        np.testing.assert_array_equal(top.numpy(), sent_p.argmax(1))
        np.testing.assert_array_equal(p_top.numpy(), got_p.max(1)[:, 0, 0])
    else:
        assert got.labels is None
        np.testing.assert_allclose(got_p, sent_p, atol=1 / 500)
    assert got.grid_size == (16, 16)


def test_wire_encoding_values_match_the_message_constants():
    from mash_msgs.msg import QueryMap, SegPatches

    from mash_ros.core.codecs import PatchEncoding, QueryEncoding

    for enum, msg in ((QueryEncoding, QueryMap), (PatchEncoding, SegPatches)):
        assert {e.name: int(e) for e in enum} == {
            name[len("ENCODING_"):]: getattr(msg, name) for name in dir(msg)
            if name.startswith("ENCODING_")}


def test_bandwidth_report_round_trip():
    topic = TopicBandwidth(topic="mash/query", direction=TopicBandwidth.DIRECTION_SENT,
                           messages=3, bytes=6432, bytes_per_frame=2144.0,
                           bytes_per_second=21440.0)
    msg = BandwidthReport(header=header(), agent_id="drone_0", window_s=1.0, frames=3,
                          raw_image_bytes=245760, topics=[topic])
    assert round_trip(msg) == msg


def corrupt(msg, **fields):
    for name, value in fields.items():
        setattr(msg, name, value)
    return msg


def good_query():
    return conversions.query_to_msg(RNG.standard_normal((4, 4, 4)), header(), "drone_0", 1, "int8")


def good_patches():
    return conversions.patches_to_msg(answer(3, (4, 4)), header(), "drone_1", "drone_0", 1,
                                      "uint8")


@pytest.mark.parametrize("make", [
    lambda: corrupt(good_query(), data=bytes(good_query().data)[:-1]),        # truncated
    lambda: corrupt(good_query(), height=5),                                  # dims vs payload
    lambda: corrupt(good_query(), encoding=9),                                # unknown encoding
    lambda: corrupt(good_query(), target_id=""),
    lambda: corrupt(good_query(), height=60000, width=60000),                 # absurd
    lambda: corrupt(good_query(), scale=[float("nan")] * 4),                  # NaN scale
])
def test_malformed_query_maps_raise(make):
    with pytest.raises(WireFormatError):
        conversions.msg_to_query(make())


@pytest.mark.parametrize("make", [
    lambda: corrupt(good_patches(), data=bytes(good_patches().data)[:-3]),
    lambda: corrupt(good_patches(), num_classes=9),
    lambda: corrupt(good_patches(), encoding=5),
    lambda: corrupt(good_patches(), confidence=[0.5, float("nan"), 0.1]),
    lambda: corrupt(good_patches(), confidence=[0.5, 0.2]),                   # list lengths
    lambda: corrupt(good_patches(), cell_index=[0, 1, 99]),                   # off the grid
    lambda: corrupt(good_patches(), cell_index=[2, 2, 3]),                    # repeated cell
    lambda: corrupt(good_patches(), grid_height=0),
    lambda: corrupt(good_patches(), encoding=0,
                    data=np.full(3 * 8 * 64, np.nan, np.float16).tobytes()),  # NaN payload
])
def test_malformed_seg_patches_raise(make):
    with pytest.raises(WireFormatError):
        conversions.msg_to_patches(make())


def test_images_convert_between_encodings():
    rgb = RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    rgb_msg = conversions.array_to_image(rgb, "rgb8", header())
    bgr_msg = conversions.array_to_image(rgb[..., ::-1], "bgr8")
    for msg in (rgb_msg, bgr_msg):
        back = round_trip(msg)
        np.testing.assert_array_equal(conversions.image_to_array(back, "rgb8"), rgb)
        np.testing.assert_array_equal(conversions.image_to_array(back, "bgr8"), rgb[..., ::-1])
    mono = rgb[..., 0].copy()
    got = conversions.image_to_array(round_trip(conversions.array_to_image(mono, "mono8")), "mono8")
    np.testing.assert_array_equal(got, mono)
    assert rgb_msg.header.stamp.sec == 12


def test_padded_rows_are_read_correctly():
    rgb = RNG.integers(0, 256, (4, 3, 3), dtype=np.uint8)
    padded = np.zeros((4, 16), np.uint8)
    padded[:, :9] = rgb.reshape(4, 9)
    msg = Image(height=4, width=3, encoding="rgb8", step=16, data=padded.tobytes())
    np.testing.assert_array_equal(conversions.image_to_array(msg, "rgb8"), rgb)


@pytest.mark.parametrize("msg,kwargs", [
    (Image(height=2, width=2, encoding="rgb8", step=6, data=bytes(11)), {}),          # short
    (Image(height=2, width=2, encoding="rgb8", step=5, data=bytes(10)), {}),          # step
    (Image(height=2, width=2, encoding="32FC1", step=8, data=bytes(16)), {}),         # encoding
    (Image(height=2, width=2, encoding="yuv422", step=4, data=bytes(8)), {}),
    (Image(height=0, width=2, encoding="rgb8", step=6, data=b""), {}),               # empty
    (Image(height=20000, width=1, encoding="mono8", step=1, data=bytes(20000)), {}),  # absurd
    (Image(height=2, width=2, encoding="rgb8", step=6, data=bytes(12)),
     {"expected_size": (4, 4)}),                                                     # size
    (Image(height=2, width=2, encoding="mono8", step=2, data=bytes(4)), {}),          # mono→rgb
])
def test_bad_images_raise(msg, kwargs):
    with pytest.raises(WireFormatError):
        conversions.image_to_array(msg, "rgb8", **kwargs)


def test_array_to_image_rejects_wrong_arrays():
    with pytest.raises(WireFormatError):
        conversions.array_to_image(np.zeros((2, 2, 3), np.float32), "rgb8")
    with pytest.raises(WireFormatError):
        conversions.array_to_image(np.zeros((2, 2), np.uint8), "rgb8")
