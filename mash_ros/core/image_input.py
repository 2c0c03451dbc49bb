"""Camera pixels to what the model takes, without ROS: channel order, alpha, and (only when asked)
the size.

AirSim sends ``bgr8``, ``rgb8`` (Vulkan) or four-channel ``bgra8``/``rgba8`` captures; the model
takes RGB at its input size. Resizing is off by default: a silent resize changes what the network
sees and what ground truth is aligned to, so a size mismatch is refused unless the caller asks.
"""
from __future__ import annotations

import cv2
import numpy as np

from mash_ros.core.codecs import WireFormatError

COLOR_CHANNELS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}


def color_to_rgb(array: np.ndarray, encoding: str) -> np.ndarray:
    """uint8 [H, W, 3 or 4] in ``encoding``'s channel order -> uint8 [H, W, 3] RGB (alpha,
    which AirSim leaves at 255, dropped)."""
    if encoding not in COLOR_CHANNELS or array.ndim != 3 \
            or array.shape[2] != COLOR_CHANNELS[encoding]:
        raise WireFormatError(f"not a {encoding} image: shape {array.shape}")
    rgb = array[..., :3]
    return np.ascontiguousarray(rgb[..., ::-1] if encoding.startswith("bgr") else rgb)


def fit_to_model(rgb: np.ndarray, size: tuple[int, int] | None, resize: bool = False
                 ) -> np.ndarray:
    """[H, W, C] -> [h, w, C] for the model's ``size`` (h, w): unchanged when it already fits;
    resized (area averaging when shrinking, bilinear when enlarging) when ``resize``; else
    WireFormatError."""
    if size is None or rgb.shape[:2] == tuple(size):
        return rgb
    h, w = size
    if not resize:
        raise WireFormatError(f"image is {rgb.shape[0]}x{rgb.shape[1]}, the model expects "
                              f"{h}x{w} (set resize_images to resize)")
    shrink = rgb.shape[0] * rgb.shape[1] > h * w
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
