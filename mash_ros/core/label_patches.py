"""The ``labels`` patch payload: per-pixel classes, bit-packed and deflated, one probability
byte per cell.

An answer cell is mostly one or two classes, so its class map compresses well where its
probabilities do not; measured on the validation split the payload is ~10x smaller than
``top1`` at the same cells, which lets a supporter send more cells within the same bytes.

Layout for n patches of P x P pixels and C classes, b = max(1, bit_length(C - 1)):
  n bytes       the cell's mean top-class probability, linear over [1/C, 1] in 0..255
  zlib stream   the top class of every pixel, row-major [n][P][P], b bits each, most
                significant bit first, zero-padded to whole bytes (ceil(n P P b / 8) bytes)
The decoder gives each pixel's top class the cell's probability and spreads the rest evenly.
Decoding is bounded: the stream may inflate to exactly the packed size and no further, so a
hostile message cannot make a node allocate more than the patches it declares.
"""
from __future__ import annotations

import zlib

import numpy as np

from mash_ros.core.wire_errors import WireFormatError

_LEVEL = 6  # zlib's default: levels 7-9 gain < 1 % on answers and cost more CPU per message


def class_bits(classes: int) -> int:
    """Bits per pixel of the packed class map."""
    return max(1, (int(classes) - 1).bit_length())


def packed_bytes(count: int, classes: int, patch: int) -> int:
    """Size of the packed class map before deflation."""
    return -(-count * patch * patch * class_bits(classes) // 8)


def max_payload_bytes(count: int, classes: int, patch: int) -> int:
    """Upper bound on the payload: n probability bytes + zlib's compressBound of the packed
    class map (what deflate can reach on incompressible data, header and checksum included)."""
    raw = packed_bytes(count, classes, patch)
    return count + raw + (raw >> 12) + (raw >> 14) + (raw >> 25) + 13


def encode(patches: np.ndarray) -> bytes:
    """float [n, C, P, P] probabilities -> payload bytes."""
    count, classes = patches.shape[:2]
    top = patches.argmax(axis=1)                                            # [n, P, P]
    p_top = np.take_along_axis(patches, top[:, None], axis=1)[:, 0]         # [n, P, P]
    floor = 1.0 / classes
    span = max(1.0 - floor, 1e-12)
    cell_p = p_top.reshape(count, -1).mean(axis=1) if count else np.zeros(0)
    level = np.rint(np.clip((cell_p - floor) / span, 0.0, 1.0) * 255.0).astype(np.uint8)
    bits = class_bits(classes)
    shifts = np.arange(bits - 1, -1, -1, dtype=np.int64)
    planes = ((top.reshape(-1, 1).astype(np.int64) >> shifts) & 1).astype(np.uint8)
    return level.tobytes() + zlib.compress(np.packbits(planes).tobytes(), _LEVEL)


def _inflate(stream: bytes, size: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(stream, size)
        if not inflater.eof and not inflater.unconsumed_tail:
            raw += inflater.flush()
    except zlib.error as error:
        raise WireFormatError(f"labels class map is not a zlib stream: {error}",
                              "compression") from None
    if len(raw) != size or not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        raise WireFormatError(f"labels class map must inflate to exactly {size} bytes and end "
                              "there", "compression")
    return raw


def decode_classes(data: bytes, count: int, classes: int,
                   patch: int) -> tuple[np.ndarray, np.ndarray]:
    """Payload -> (top class int64 [n, P, P], top probability float32 [n]), the compact form a
    target can fuse without expanding it (dimensions already range-checked)."""
    if not count + 6 <= len(data) <= max_payload_bytes(count, classes, patch):
        raise WireFormatError(f"labels payload of {count} patches has {len(data)} bytes, "
                              f"outside [{count + 6}, {max_payload_bytes(count, classes, patch)}]",
                              "payload size")
    level = np.frombuffer(data[:count], dtype=np.uint8).astype(np.float32)
    raw = _inflate(bytes(data[count:]), packed_bytes(count, classes, patch))
    bits = class_bits(classes)
    planes = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[:count * patch * patch * bits]
    weights = 1 << np.arange(bits - 1, -1, -1, dtype=np.int64)
    top = (planes.reshape(-1, bits).astype(np.int64) @ weights).reshape(count, patch, patch)
    if top.size and top.max() >= classes:
        raise WireFormatError(f"labels payload names class {int(top.max())} of {classes}",
                              "payload values")
    floor = np.float32(1.0 / classes)
    return top, (floor + level / np.float32(255.0) * (np.float32(1.0) - floor)).astype(np.float32)


def expand(top: np.ndarray, p_top: np.ndarray, classes: int) -> np.ndarray:
    """(top [n, P, P], p_top [n]) -> float32 [n, C, P, P]: the top class gets the cell's
    probability, the other classes share the rest evenly."""
    count, patch = top.shape[0], top.shape[-1]
    rest = (np.float32(1.0) - p_top) / np.float32(max(classes - 1, 1))
    values = np.broadcast_to(rest[:, None, None, None], (count, classes, patch, patch)).copy()
    np.put_along_axis(values, top[:, None],
                      np.broadcast_to(p_top[:, None, None, None], (count, 1, patch, patch)), 1)
    return values  # float32 throughout: rest and p_top are


def decode(data: bytes, count: int, classes: int, patch: int) -> np.ndarray:
    """Payload -> float32 [n, C, P, P] probabilities (dimensions already range-checked)."""
    return expand(*decode_classes(data, count, classes, patch), classes)
