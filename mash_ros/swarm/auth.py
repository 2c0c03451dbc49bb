"""Message authentication for the swarm: HMAC-SHA256 with a shared swarm key.

SROS2 (DDS security) is not available from the PyPI ROS 2 wheels (Fast DDS is built without
it), so authentication is done in the application: every QueryMap, SegPatches and
BandwidthReport carries ``mac`` = HMAC-SHA256(key, canonical bytes of all its other fields,
header included). A receiver with the key recomputes it; a message without a MAC or with a
wrong one is dropped and counted, never used. Replays of authentic messages are refused by
:mod:`mash_ros.swarm.replay`.

The canonical bytes are built from the field values, not from the CDR serialization: the
serializer leaves alignment padding uninitialised, so the same message can serialize to
different bytes. Fields are taken in declaration order with their ROS types; scalars are
packed little-endian at their declared width (a float32 field set from a Python float is
rounded exactly as the wire rounds it), strings and sequences are length-prefixed, nested
messages recurse. The message type's name comes first (a QueryMap's MAC is not a valid
SegPatches MAC).

A swarm key is a *group* key: any holder can speak in any drone's name. It keeps out everyone
without the key (the threat the issue's forged answers came from), not a compromised drone.
No ROS import here: messages are handled through their generated-class interface only.
"""
from __future__ import annotations

import hashlib
import hmac
import struct

import numpy as np

MAC_FIELD = "mac"
MAC_BYTES = hashlib.sha256().digest_size  # 32
_DOMAIN = b"mash_ros/auth/v1\0"
_SCALARS = {"bool": "<?", "octet": "<B", "byte": "<B", "char": "<B", "uint8": "<B",
            "int8": "<b", "uint16": "<H", "int16": "<h", "uint32": "<I", "int32": "<i",
            "uint64": "<Q", "int64": "<q", "float": "<f", "double": "<d"}
_ARRAYS = {"uint8": "<u1", "octet": "<u1", "byte": "<u1", "int8": "<i1", "uint16": "<u2",
           "int16": "<i2", "uint32": "<u4", "int32": "<i4", "uint64": "<u8", "int64": "<i8",
           "float": "<f4", "double": "<f8"}


class AuthError(ValueError):
    """A message's MAC is missing or wrong; ``kind`` is 'auth: missing mac' | 'auth: bad mac'."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


def _length(n: int) -> bytes:
    return struct.pack("<Q", n)


def _value_bytes(kind: str, value, out: list) -> None:
    if kind in _SCALARS:
        out.append(struct.pack(_SCALARS[kind], value))
    elif kind in ("string", "wstring") or kind.startswith(("string<", "wstring<")):
        # CDR strings end at the first NUL: cover what the wire carries, not what was set
        data = value.split("\0", 1)[0].encode("utf-8")
        out += [_length(len(data)), data]
    elif kind.startswith("sequence<") or "[" in kind:
        inner = kind[len("sequence<"):-1] if kind.startswith("sequence<") else kind.split("[")[0]
        inner = inner.split(",")[0].strip()  # bounded sequences: "sequence<uint8, 10>"
        if inner in _ARRAYS:
            data = _as_bytes(value, _ARRAYS[inner])
            out += [_length(len(data)), data]
        else:
            out.append(_length(len(value)))
            for item in value:
                _value_bytes(inner, item, out)
    else:  # a nested message
        _fields_bytes(value, out)


def _as_bytes(value, dtype: str) -> bytes:
    """A sequence of numbers (array.array, bytes, list, numpy) → little-endian bytes at the
    field's width."""
    if isinstance(value, (bytes, bytearray)):  # uint8[] fields may hold bytes
        return bytes(value)
    return np.asarray(value).astype(dtype, copy=False).tobytes()


def _fields_bytes(msg, out: list) -> None:
    for name, kind in msg.get_fields_and_field_types().items():
        if name == MAC_FIELD:
            continue
        out += [_length(len(name)), name.encode()]
        _value_bytes(kind, getattr(msg, name), out)


def canonical_bytes(msg) -> bytes:
    """The bytes a MAC covers: type name + every field but ``mac``, header included."""
    out = [_DOMAIN, type(msg).__name__.encode(), b"\0"]
    _fields_bytes(msg, out)
    return b"".join(out)


class Authenticator:
    """Signs and verifies messages with one swarm key (bytes, at least 16 of them)."""

    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("a swarm key needs at least 16 bytes")
        self._key = key  # never logged, never in a repr

    def __repr__(self) -> str:
        return "Authenticator(<key hidden>)"

    def mac(self, msg) -> bytes:
        return hmac.new(self._key, canonical_bytes(msg), hashlib.sha256).digest()

    def sign(self, msg):
        """Set ``msg.mac``; returns ``msg``."""
        setattr(msg, MAC_FIELD, self.mac(msg))
        return msg

    def verify(self, msg) -> None:
        """Raise AuthError unless ``msg.mac`` is this key's MAC of ``msg``."""
        received = bytes(getattr(msg, MAC_FIELD))
        if not received:
            raise AuthError(f"{type(msg).__name__} carries no MAC", "auth: missing mac")
        if not hmac.compare_digest(received, self.mac(msg)):
            raise AuthError(f"{type(msg).__name__} MAC does not match the swarm key",
                            "auth: bad mac")
