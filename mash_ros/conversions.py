"""The wire: mash_msgs and sensor_msgs/Image messages to and from numpy arrays.

No math here. Payload encodings live in :mod:`mash_ros.core.codecs`; this module fills and
reads message fields and validates every incoming message, raising
:class:`~mash_ros.core.codecs.WireFormatError` for anything malformed, so a node has one
exception type to catch, count and log.
"""
from __future__ import annotations

import numpy as np
from cv_bridge import CvBridge
from mash_msgs.msg import QueryMap, SegPatches
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from mash_ros.core import codecs
from mash_ros.core.codecs import WireFormatError
from mash_ros.core.image_input import COLOR_CHANNELS, color_to_rgb, fit_to_model
from mash_ros.core.roles import Response

MAX_IMAGE_SIDE = 8192
_BRIDGE = CvBridge()
# Encodings a camera may send us, with channels per pixel (all 8-bit).
_IMAGE_CHANNELS = {**COLOR_CHANNELS, "mono8": 1}


# --- QueryMap ---------------------------------------------------------------------------

def query_to_msg(query: np.ndarray, header: Header, target_id: str, sequence: int,
                 encoding="float16") -> QueryMap:
    """Pack a query map [Q, Hs, Ws] into a QueryMap message."""
    scale, data = codecs.encode_query(query, encoding)
    channels, height, width = np.shape(query)
    msg = QueryMap(header=header, target_id=target_id, sequence=int(sequence),
                   height=height, width=width, channels=channels,
                   encoding=int(codecs.query_encoding(encoding)))
    msg.scale = scale.tolist()
    msg.data = data
    return msg


def msg_to_query(msg: QueryMap) -> np.ndarray:
    """Validate a QueryMap and return its query as float32 [Q, Hs, Ws]."""
    if not msg.target_id:
        raise WireFormatError("QueryMap without target_id", "ids")
    return codecs.decode_query(bytes(msg.data), np.asarray(msg.scale, dtype=np.float32),
                               msg.channels, msg.height, msg.width, msg.encoding)


# --- SegPatches -------------------------------------------------------------------------

def patches_to_msg(answer: Response, header: Header, source_id: str, target_id: str,
                   sequence: int, encoding="uint8") -> SegPatches:
    """Pack an answer into a SegPatches message."""
    count, classes, patch, _ = answer.patches.shape
    msg = SegPatches(header=header, source_id=source_id, target_id=target_id,
                     sequence=int(sequence), grid_height=int(answer.grid_size[0]),
                     grid_width=int(answer.grid_size[1]), patch_size=int(patch),
                     num_classes=int(classes), encoding=int(codecs.patch_encoding(encoding)))
    msg.cell_index = answer.cell_ids.numpy().astype(np.uint32).tolist()
    msg.source_cell = answer.source_cells.numpy().astype(np.uint32).tolist()
    msg.confidence = answer.confidence.numpy().astype(np.float32).tolist()
    msg.data = codecs.encode_patches(answer.patches.numpy().astype(np.float32), encoding)
    return msg


def msg_to_patches(msg: SegPatches) -> Response:
    """Validate a SegPatches message and return it as an answer (CPU tensors)."""
    if not msg.source_id or not msg.target_id:
        raise WireFormatError("SegPatches without source_id or target_id", "ids")
    height = codecs.check_dim("grid_height", msg.grid_height, 1, codecs.MAX_GRID_SIDE)
    width = codecs.check_dim("grid_width", msg.grid_width, 1, codecs.MAX_GRID_SIDE)
    cells = np.asarray(msg.cell_index, dtype=np.int64)
    sources = np.asarray(msg.source_cell, dtype=np.int64)
    confidence = np.asarray(msg.confidence, dtype=np.float32)
    count = len(cells)
    if len(sources) != count or len(confidence) != count:
        raise WireFormatError(f"SegPatches lists disagree: {count} cells, {len(sources)} "
                              f"source cells, {len(confidence)} confidences", "list lengths")
    if count and (cells.max() >= height * width or sources.max() >= height * width):
        raise WireFormatError(f"cell index beyond the {height}x{width} grid", "cell index")
    if len(np.unique(cells)) != count:
        raise WireFormatError("SegPatches repeats a cell index", "cell index")
    if not (np.isfinite(confidence).all() and (confidence >= 0).all() and (confidence <= 1).all()):
        raise WireFormatError("confidences must be finite and in [0, 1]", "confidence")
    patches, labels = codecs.decode_patches_and_classes(bytes(msg.data), count, msg.num_classes,
                                                        msg.patch_size, msg.encoding)
    return Response.from_numpy(cells, patches, confidence, sources, (height, width), labels)


# --- sensor_msgs/Image ------------------------------------------------------------------

def _check_image(msg: Image) -> int:
    """Validate an Image's geometry against its payload; returns channels per pixel.

    Every check raises WireFormatError with its own ``kind`` (the field that is wrong), so a
    node logs each kind of bad image once and counts the rest.
    """
    channels = _IMAGE_CHANNELS.get(msg.encoding)
    if channels is None:
        raise WireFormatError(f"image encoding {msg.encoding!r} not supported; "
                              f"send one of {sorted(_IMAGE_CHANNELS)}", "encoding")
    # One byte per channel: byte order means nothing, so both values are valid (a camera
    # driver on a big-endian host may set it). Anything else is not a boolean.
    if msg.is_bigendian not in (0, 1):
        raise WireFormatError(f"is_bigendian={msg.is_bigendian} is not 0 or 1", "is_bigendian")
    codecs.check_dim("image height", msg.height, 1, MAX_IMAGE_SIDE)
    codecs.check_dim("image width", msg.width, 1, MAX_IMAGE_SIDE)
    row = msg.width * channels
    if msg.step < row:
        raise WireFormatError(f"image step {msg.step} < width x channels = {row}", "step")
    if len(msg.data) != msg.step * msg.height:
        raise WireFormatError(f"image payload has {len(msg.data)} bytes, step {msg.step} x "
                              f"height {msg.height} = {msg.step * msg.height}", "payload size")
    return channels


def image_to_array(msg: Image, desired_encoding: str = "rgb8",
                   expected_size: tuple[int, int] | None = None,
                   resize: bool = False) -> np.ndarray:
    """Validate an Image and convert it: rgb8/bgr8/rgba8/bgra8 → uint8 [H, W, 3] in
    ``desired_encoding`` order (rgb8 or bgr8; alpha dropped); mono8 → uint8 [H, W]
    (``desired_encoding='mono8'``).

    ``expected_size`` (H, W), when given, must match exactly unless ``resize``: resizing
    silently would change what the network sees and what the ground truth is aligned to.

    Plain numpy, not cv_bridge: the encodings we accept are 8-bit, where a view of the bytes
    is the whole conversion, and PyPI cv-bridge 1.13 calls NumPy-1-only APIs on some paths
    (``is_bigendian=1`` raised AttributeError under NumPy 2 and killed a drone).
    """
    channels = _check_image(msg)
    if desired_encoding not in ("rgb8", "bgr8", "mono8"):
        raise WireFormatError(f"cannot convert to {desired_encoding!r}", "encoding")
    if (channels == 1) != (desired_encoding == "mono8"):
        raise WireFormatError(f"cannot convert a {msg.encoding} image to {desired_encoding}",
                              "encoding")
    if expected_size is not None and not resize \
            and (msg.height, msg.width) != tuple(expected_size):
        raise WireFormatError(f"image is {msg.height}x{msg.width}, the model expects "
                              f"{expected_size[0]}x{expected_size[1]} (set resize_images to "
                              f"resize)", "size")
    rows = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.step)
    pixels = rows[:, :msg.width * channels]  # drop row padding (step > width * channels)
    if channels > 1:
        pixels = color_to_rgb(pixels.reshape(msg.height, msg.width, channels), msg.encoding)
        if desired_encoding == "bgr8":
            pixels = pixels[..., ::-1]
    # writable, contiguous, not a view of the message
    return fit_to_model(pixels, expected_size, resize).copy(order="C")


def array_to_image(array: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """Pack uint8 [H, W, 3] (rgb8/bgr8) or [H, W] (mono8) into a sensor_msgs/Image."""
    array = np.asarray(array)
    if encoding not in _IMAGE_CHANNELS or array.dtype != np.uint8:
        raise WireFormatError(f"array_to_image packs uint8 {sorted(_IMAGE_CHANNELS)}, "
                              f"got {array.dtype} as {encoding!r}")
    if array.ndim != (2 if _IMAGE_CHANNELS[encoding] == 1 else 3):
        raise WireFormatError(f"{encoding} needs {'[H, W]' if encoding == 'mono8' else '[H, W, 3]'}"
                              f", got shape {array.shape}")
    msg = _BRIDGE.cv2_to_imgmsg(np.ascontiguousarray(array), encoding=encoding)
    if header is not None:
        msg.header = header
    return msg
