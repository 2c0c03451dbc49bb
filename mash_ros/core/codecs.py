"""Wire codecs for the two MASH payloads: query maps and segmentation patches.

Plain numpy, no ROS: the ROS message layer (``mash_ros.conversions``) only moves these bytes.
Every decoder validates what it is given and raises :class:`WireFormatError`, the one
exception type for "this payload is not something we can trust".

Query payload, shape [Q, Hs, Ws] (channel-major, little-endian):
  float32  4 bytes/element, exact
  float16  2 bytes/element, |err| <= 2**-11 * |x| (+ subnormal floor 2**-25)
  int8     1 byte/element + 4 bytes/channel of scale; symmetric per-channel quantisation,
           x_hat = int8 * scale, scale = max|x_c| / 127, |err| <= scale / 2
Patch payload, shape [n, C, P, P] of class probabilities in [0, 1]:
  float16  2 bytes/element, |err| <= 2**-12 (values <= 1 have ulp <= 2**-11)
  uint8    1 byte/element, p_hat = round(p * 255) / 255, |err| <= 1/510
Patch payload ``top1``, shape [n, P, P]: one byte per pixel, C times smaller than uint8. The
  byte holds the most likely class (b = bit_length(C - 1) high bits, C <= 16) and its probability
  (8 - b low bits, linear over [1/C, 1]); the decoder spreads the rest evenly over the other
  classes. The ArgMax survives exactly; the top probability's error is at most
  (1 - 1/C) / (2 (2^(8-b) - 1)), 0.014 for C = 8. Enough for HardSelection, which keeps the
  ArgMax and trusts the confidences sent beside the patches.
Patch payload ``labels``, shape [n, P, P] of classes plus one probability per cell: about ten
  times smaller than top1 on real answers (``mash_ros.core.label_patches``). The ArgMax survives
  exactly; every pixel of a cell gets the cell's mean top probability.
"""
from __future__ import annotations

import enum

import numpy as np

from mash_ros.core import label_patches
from mash_ros.core.wire_errors import WireFormatError  # noqa: F401  (re-exported: the one error)

# Sanity limits: anything beyond is a corrupt or hostile message, not a real map.
MAX_GRID_SIDE = 256        # query grid rows/columns (paper preset: 32)
MAX_QUERY_CHANNELS = 1024  # Q (paper: up to 64)
MAX_PATCH_SIDE = 64        # P (stride-8 backbones: 8)
MAX_CLASSES = 256
PROBABILITY_SLACK = 1e-3   # float16 rounding may step slightly outside [0, 1]


class QueryEncoding(enum.IntEnum):
    """Values match mash_msgs/QueryMap ENCODING_* constants."""

    FLOAT32 = 0
    FLOAT16 = 1
    INT8 = 2


class PatchEncoding(enum.IntEnum):
    """Values match mash_msgs/SegPatches ENCODING_* constants."""

    FLOAT16 = 0
    UINT8 = 1
    TOP1 = 2
    LABELS = 3


QUERY_ENCODINGS = tuple(e.name.lower() for e in QueryEncoding)  # names for CLIs and parameters
PATCH_ENCODINGS = tuple(e.name.lower() for e in PatchEncoding)
_QUERY_ITEMSIZE = {QueryEncoding.FLOAT32: 4, QueryEncoding.FLOAT16: 2, QueryEncoding.INT8: 1}
_PATCH_ITEMSIZE = {PatchEncoding.FLOAT16: 2, PatchEncoding.UINT8: 1}
MAX_TOP1_CLASSES = 16  # keeps >= 4 bits for the probability


def _enum(kind, value):
    if isinstance(value, str):
        try:
            return kind[value.upper()]
        except KeyError:
            raise WireFormatError(f"unknown {kind.__name__} {value!r}; "
                                  f"known: {[e.name.lower() for e in kind]}",
                                  "encoding") from None
    try:
        return kind(int(value))
    except ValueError:
        raise WireFormatError(f"unknown {kind.__name__} {value!r}; "
                              f"known: {[int(e) for e in kind]}", "encoding") from None


def query_encoding(value) -> QueryEncoding:
    """Parse a query encoding from its name ('int8') or wire value (2)."""
    return _enum(QueryEncoding, value)


def patch_encoding(value) -> PatchEncoding:
    """Parse a patch encoding from its name ('uint8') or wire value (1)."""
    return _enum(PatchEncoding, value)


def check_dim(name: str, value: int, low: int, high: int) -> int:
    """Return ``value`` as int, or raise WireFormatError when outside [low, high]."""
    value = int(value)
    if not low <= value <= high:
        raise WireFormatError(f"{name}={value} outside [{low}, {high}]", name)
    return value


def _finite_array(values, what: str, layout: str) -> np.ndarray:
    """float32 array of the rank ``layout`` names, all finite, else WireFormatError."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != layout.count(",") + 1:
        raise WireFormatError(f"{what} must be {layout}, got shape {values.shape}", "shape")
    if not np.isfinite(values).all():
        raise WireFormatError(f"{what} contain NaN or Inf", "non-finite")
    return values


def query_payload_bytes(channels: int, height: int, width: int, encoding) -> int:
    """Exact size of the query payload (data plus int8 scales) in bytes."""
    enc = query_encoding(encoding)
    scales = 4 * channels if enc == QueryEncoding.INT8 else 0
    return channels * height * width * _QUERY_ITEMSIZE[enc] + scales


def encode_query(query: np.ndarray, encoding) -> tuple[np.ndarray, bytes]:
    """Encode a query map.

    Args:
        query: float array [Q, Hs, Ws], finite.
        encoding: QueryEncoding, its name or its wire value.
    Returns:
        (scale float32 [Q] for int8 else empty [0], payload bytes).
    """
    enc = query_encoding(encoding)
    query = _finite_array(query, "query", "[Q, Hs, Ws]")
    no_scale = np.zeros(0, dtype=np.float32)
    if enc == QueryEncoding.FLOAT32:
        return no_scale, query.astype("<f4").tobytes()
    if enc == QueryEncoding.FLOAT16:
        return no_scale, query.astype("<f2").tobytes()
    peak = np.abs(query).reshape(query.shape[0], -1).max(axis=1)
    scale = (peak / 127.0).astype(np.float32)
    safe = np.where(scale > 0, scale, 1.0)[:, None, None]
    quantised = np.clip(np.rint(query / safe), -127, 127).astype(np.int8)
    return scale, quantised.tobytes()


def decode_query(data: bytes, scale, channels: int, height: int, width: int,
                 encoding) -> np.ndarray:
    """Decode and validate a query payload into float32 [Q, Hs, Ws]."""
    enc = query_encoding(encoding)
    channels = check_dim("channels", channels, 1, MAX_QUERY_CHANNELS)
    height = check_dim("height", height, 1, MAX_GRID_SIDE)
    width = check_dim("width", width, 1, MAX_GRID_SIDE)
    count = channels * height * width
    expected = count * _QUERY_ITEMSIZE[enc]
    if len(data) != expected:
        raise WireFormatError(f"query payload has {len(data)} bytes, {channels}x{height}x{width} "
                              f"{enc.name.lower()} needs {expected}", "payload size")
    shape = (channels, height, width)
    if enc == QueryEncoding.INT8:
        scale = np.asarray(scale, dtype=np.float32)
        if scale.shape != (channels,):
            raise WireFormatError(f"int8 query needs {channels} scales, got {scale.size}",
                                  "scales")
        if not (np.isfinite(scale).all() and (scale >= 0).all()):
            raise WireFormatError("int8 query scales must be finite and non-negative", "scales")
        values = np.frombuffer(data, dtype=np.int8).reshape(shape)
        return values.astype(np.float32) * scale[:, None, None]
    if len(scale):
        raise WireFormatError(f"{enc.name.lower()} query must carry no scales, got {len(scale)}",
                              "scales")
    dtype = "<f4" if enc == QueryEncoding.FLOAT32 else "<f2"
    values = np.frombuffer(data, dtype=dtype).reshape(shape).astype(np.float32)
    if not np.isfinite(values).all():
        raise WireFormatError("query payload contains NaN or Inf", "non-finite")
    return values


def patch_payload_bytes(count: int, classes: int, patch: int, encoding) -> int:
    """Size of a patch payload in bytes for ``count`` patches of C x P x P: exact, except for
    ``labels`` (deflated), where it is the most the payload can take."""
    enc = patch_encoding(encoding)
    if enc == PatchEncoding.LABELS:
        return label_patches.max_payload_bytes(count, classes, patch)
    if enc == PatchEncoding.TOP1:
        return count * patch * patch
    return count * classes * patch * patch * _PATCH_ITEMSIZE[enc]


def _top1_prob_bits(classes: int) -> int:
    """Bits of a top1 byte left for the probability once bit_length(C - 1) hold the class."""
    if classes > MAX_TOP1_CLASSES:
        raise WireFormatError(f"top1 patches hold at most {MAX_TOP1_CLASSES} classes, "
                              f"not {classes}", "num_classes")
    return 8 - (classes - 1).bit_length()


def _encode_top1(patches: np.ndarray) -> bytes:
    classes = patches.shape[1]
    prob_bits = _top1_prob_bits(classes)
    levels = (1 << prob_bits) - 1
    top = patches.argmax(axis=1)  # [n,P,P]
    p = np.take_along_axis(patches, top[:, None], axis=1)[:, 0]
    floor = 1.0 / classes  # the top class of a distribution has at least 1/C
    span = max(1.0 - floor, 1e-12)
    q = np.rint(np.clip((p - floor) / span, 0.0, 1.0) * levels).astype(np.uint8)
    return ((top.astype(np.uint8) << prob_bits) | q).tobytes()


def _decode_top1(data: bytes, count: int, classes: int, patch: int) -> np.ndarray:
    prob_bits = _top1_prob_bits(classes)
    levels = (1 << prob_bits) - 1
    raw = np.frombuffer(data, dtype=np.uint8).reshape(count, patch, patch)
    top = (raw >> prob_bits).astype(np.int64)
    if top.size and top.max() >= classes:
        raise WireFormatError(f"top1 payload names class {int(top.max())} of {classes}",
                              "payload values")
    floor = 1.0 / classes
    p = floor + (raw & levels).astype(np.float32) / levels * (1.0 - floor)  # [n,P,P]
    rest = (1.0 - p) / max(classes - 1, 1)
    values = np.broadcast_to(rest[:, None], (count, classes, patch, patch)).copy()
    np.put_along_axis(values, top[:, None], p[:, None], axis=1)
    return values.astype(np.float32)


def encode_patches(patches: np.ndarray, encoding) -> bytes:
    """Encode class-probability patches.

    Args:
        patches: float array [n, C, P, P] with values in [0, 1].
        encoding: PatchEncoding, its name or its wire value.
    """
    enc = patch_encoding(encoding)
    patches = _finite_array(patches, "patches", "[n, C, P, P]")
    if enc == PatchEncoding.FLOAT16:
        return patches.astype("<f2").tobytes()
    if enc == PatchEncoding.TOP1:
        return _encode_top1(patches)
    if enc == PatchEncoding.LABELS:
        return label_patches.encode(patches)
    return np.rint(np.clip(patches, 0.0, 1.0) * 255.0).astype(np.uint8).tobytes()


def decode_patches_and_classes(data: bytes, count: int, classes: int, patch: int, encoding
                               ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """``decode_patches`` plus, for ``labels`` payloads, their compact form (top class int64
    [n, P, P], top probability float32 [n]) that the target's fuse uses directly; None
    otherwise."""
    if patch_encoding(encoding) != PatchEncoding.LABELS:
        return decode_patches(data, count, classes, patch, encoding), None
    count, classes, patch = _patch_dims(count, classes, patch)
    compact = label_patches.decode_classes(data, count, classes, patch)
    return label_patches.expand(*compact, classes), compact


def _patch_dims(count: int, classes: int, patch: int) -> tuple[int, int, int]:
    return (check_dim("patch count", count, 0, MAX_GRID_SIDE * MAX_GRID_SIDE),
            check_dim("num_classes", classes, 1, MAX_CLASSES),
            check_dim("patch_size", patch, 1, MAX_PATCH_SIDE))


def decode_patches(data: bytes, count: int, classes: int, patch: int, encoding) -> np.ndarray:
    """Decode and validate a patch payload into float32 [n, C, P, P] probabilities."""
    enc = patch_encoding(encoding)
    count, classes, patch = _patch_dims(count, classes, patch)
    if enc == PatchEncoding.LABELS:
        return label_patches.decode(data, count, classes, patch)
    expected = patch_payload_bytes(count, classes, patch, enc)
    if len(data) != expected:
        raise WireFormatError(f"patch payload has {len(data)} bytes, {count} patches of "
                              f"{classes}x{patch}x{patch} {enc.name.lower()} need {expected}",
                              "payload size")
    shape = (count, classes, patch, patch)
    if enc == PatchEncoding.TOP1:
        return _decode_top1(data, count, classes, patch)
    if enc == PatchEncoding.UINT8:
        return np.frombuffer(data, dtype=np.uint8).reshape(shape).astype(np.float32) / 255.0
    values = np.frombuffer(data, dtype="<f2").reshape(shape).astype(np.float32)
    if not np.isfinite(values).all():
        raise WireFormatError("patch payload contains NaN or Inf", "non-finite")
    low, high = values.min(initial=0.0), values.max(initial=0.0)
    if low < -PROBABILITY_SLACK or high > 1 + PROBABILITY_SLACK:
        raise WireFormatError("patch payload holds values outside [0, 1]: not probabilities",
                              "payload values")
    return values
