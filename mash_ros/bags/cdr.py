"""Peek into CDR bytes without deserializing: the header stamp of a stamped message."""
from __future__ import annotations

import struct

from mash_ros.bags.errors import BagError


def header_stamp_ns(raw: bytes) -> int:
    """``header.stamp`` in ns of a CDR-serialized message whose first field is a
    std_msgs/Header (Image, CameraInfo, TimeReference, QueryMap, SegPatches, …).

    CDR: 4 bytes encapsulation (byte 1: 0x01 little endian, 0x00 big endian), then
    ``int32 sec, uint32 nanosec``.
    """
    if len(raw) < 12 or raw[0] != 0 or raw[1] not in (0, 1):
        raise BagError(f"not a CDR message with a header ({len(raw)} bytes)")
    sec, nanosec = struct.unpack("<iI" if raw[1] == 1 else ">iI", raw[4:12])
    return sec * 1_000_000_000 + nanosec
