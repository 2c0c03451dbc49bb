"""sensor_msgs/Image messages as rosbags deserializes them -> numpy arrays, with checks."""
from __future__ import annotations

import numpy as np

from mash_ros.bags.errors import BagError
from mash_ros.core.image_input import COLOR_CHANNELS, color_to_rgb

# encoding -> (dtype, channels)
ENCODINGS = {**{e: (np.uint8, c) for e, c in COLOR_CHANNELS.items()}, "mono8": (np.uint8, 1),
             "16UC1": (np.uint16, 1), "32FC1": (np.float32, 1)}
COLOR_ENCODINGS = tuple(COLOR_CHANNELS)  # AirSim's Scene / Segmentation captures
CAMERA_ENCODINGS = COLOR_ENCODINGS  # what the drone node accepts


def image_array(msg, where: str = "image", encodings=None) -> np.ndarray:
    """rgb8 / bgr8 / rgba8 / bgra8 -> uint8 [H, W, 3] in RGB order (alpha dropped); mono8 ->
    uint8 [H, W]; 16UC1 -> uint16 [H, W]; 32FC1 -> float32 [H, W]. ``encodings`` restricts
    what is accepted; ``where`` names the message in errors (e.g. "bag X, topic Y")."""
    allowed = ENCODINGS if encodings is None else {e: ENCODINGS[e] for e in encodings}
    if msg.encoding not in allowed:
        raise BagError(f"{where}: image encoding {msg.encoding!r} is not supported here "
                       f"(supported: {', '.join(allowed)})")
    dtype, channels = allowed[msg.encoding]
    dtype = np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    row = msg.width * channels * dtype.itemsize
    data = np.asarray(msg.data, dtype=np.uint8)
    if msg.height == 0 or msg.width == 0 or msg.step < row or data.size != msg.step * msg.height:
        raise BagError(f"{where}: {msg.height}x{msg.width} {msg.encoding} image with step "
                       f"{msg.step} does not fit its {data.size} data bytes")
    rows = data.reshape(msg.height, msg.step)[:, :row]
    array = np.ascontiguousarray(rows).view(dtype).reshape(msg.height, msg.width, channels)
    array = array.astype(dtype.newbyteorder("="), copy=False)
    if msg.encoding in COLOR_ENCODINGS:
        return color_to_rgb(array, msg.encoding)
    return np.ascontiguousarray(array[..., 0] if channels == 1 else array)
