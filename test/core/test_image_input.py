"""Camera pixels to the model's input without ROS: channel orders, alpha, opt-in resizing."""
from __future__ import annotations

import numpy as np
import pytest

from mash_ros.core.codecs import WireFormatError
from mash_ros.core.image_input import color_to_rgb, fit_to_model

RGB = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)


@pytest.mark.parametrize("encoding, pixels", [
    ("rgb8", RGB), ("bgr8", RGB[..., ::-1]),
    ("rgba8", np.concatenate([RGB, np.full((6, 8, 1), 255, np.uint8)], -1)),
    ("bgra8", np.concatenate([RGB[..., ::-1], np.full((6, 8, 1), 7, np.uint8)], -1)),
])
def test_every_colour_encoding_gives_rgb(encoding, pixels):
    out = color_to_rgb(pixels, encoding)
    assert np.array_equal(out, RGB) and out.flags.c_contiguous


def test_wrong_channel_count_is_refused():
    with pytest.raises(WireFormatError):
        color_to_rgb(RGB, "bgra8")


def test_sizes_are_refused_unless_resizing_is_asked_for():
    assert fit_to_model(RGB, (6, 8)) is RGB
    with pytest.raises(WireFormatError, match="expects 4x4 .*resize_images"):
        fit_to_model(RGB, (4, 4))
    flat = np.full((64, 96, 3), 90, np.uint8)
    small = fit_to_model(flat, (32, 48), resize=True)
    large = fit_to_model(flat, (128, 192), resize=True)
    assert small.shape == (32, 48, 3) and large.shape == (128, 192, 3)
    assert (small == 90).all() and (large == 90).all()
    ramp = np.repeat(np.arange(0, 256, 4, dtype=np.uint8)[None, :, None], 3, 2).repeat(8, 0)
    half = fit_to_model(ramp, (4, 32), resize=True)   # area averaging of neighbouring columns
    assert np.abs(half[0, :, 0].astype(int) - (ramp[0, 0::2, 0].astype(int) + 2)).max() <= 1
