"""The drone node's image conversion: AirSim's four-channel captures, and resizing only when the
node's ``resize_images`` parameter asks for it (default off)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rclpy")

from sensor_msgs.msg import Image  # noqa: E402

from mash_ros import conversions  # noqa: E402
from mash_ros.core.codecs import WireFormatError  # noqa: E402
from mash_ros.swarm.params import load_defaults  # noqa: E402

RGB = np.random.default_rng(1).integers(0, 256, (16, 24, 3), dtype=np.uint8)


def four_channel(encoding: str) -> Image:
    pixels = RGB[..., ::-1] if encoding == "bgra8" else RGB
    data = np.concatenate([pixels, np.full((16, 24, 1), 255, np.uint8)], -1)
    return Image(height=16, width=24, encoding=encoding, step=24 * 4, data=data.tobytes())


@pytest.mark.parametrize("encoding", ["bgra8", "rgba8"])
def test_four_channel_captures_are_read(encoding):
    msg = four_channel(encoding)
    assert np.array_equal(conversions.image_to_array(msg, "rgb8", (16, 24)), RGB)
    assert np.array_equal(conversions.image_to_array(msg, "bgr8"), RGB[..., ::-1])


def test_resizing_is_a_parameter_off_by_default():
    assert load_defaults()["resize_images"][0] is False
    msg = four_channel("bgra8")
    with pytest.raises(WireFormatError, match="expects 8x12"):
        conversions.image_to_array(msg, "rgb8", (8, 12))
    out = conversions.image_to_array(msg, "rgb8", (8, 12), resize=True)
    assert out.shape == (8, 12, 3)
    assert np.abs(out.astype(int).mean() - RGB.astype(int).mean()) < 2
