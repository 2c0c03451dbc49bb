"""Which input bag a recording belongs to: a digest of every camera image mash-replay sent.

Stamps alone do not tie a recording to its input: two bags exported with the same start time
and period share every stamp, and scoring one's recording against the other's ground truth
gave an mIoU of 15.5 instead of ~58 without a word. So each replay marker
(``/mash_replay/frames``) carries the digest of the exact serialized image it marks, in its
``header.frame_id`` after the camera topic (``<topic> sha256=<16 hex digits>``), and
mash-evaluate-bag refuses a recording whose markers do not match its input bag's images.
The digest is over the bag's own CDR bytes, which mash-replay publishes unchanged.
"""
from __future__ import annotations

import hashlib

_SEPARATOR = " sha256="


def image_digest(raw: bytes) -> str:
    """64 bits of the sha256 of a serialized camera image: enough to tell bags apart."""
    return hashlib.sha256(raw).hexdigest()[:16]


def marker_frame_id(topic: str, raw: bytes) -> str:
    """The replay marker's frame_id for the camera image ``raw`` published on ``topic``."""
    return f"{topic}{_SEPARATOR}{image_digest(raw)}"


def marker_digest(frame_id: str) -> str | None:
    """The image digest a marker's frame_id carries; None for markers of older replays."""
    _, found, digest = frame_id.partition(_SEPARATOR)
    return digest if found else None


def foreign_images(marked: dict, input_digests: dict) -> list:
    """Keys (agent, stamp) whose marked digest is not the input bag's image there (a
    different image, or no image of that drone at that stamp), sorted."""
    return sorted(key for key, digest in marked.items() if input_digests.get(key) != digest)
