"""The ``labels`` patch payload: exact classes, one probability per cell, bounded inflation."""
import zlib

import numpy as np
import pytest

from mash_ros.core import codecs, label_patches
from mash_ros.core.codecs import WireFormatError

RNG = np.random.default_rng(3)


def _probs(count, classes, patch=8, scale=3.0):
    logits = RNG.standard_normal((count, classes, patch, patch)) * scale
    return (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("classes", [1, 2, 5, 8, 16, 200])
def test_labels_keep_every_pixels_class_and_the_cells_mean_probability(classes):
    probs = _probs(6, classes)
    data = codecs.encode_patches(probs, "labels")
    assert len(data) <= codecs.patch_payload_bytes(6, classes, 8, "labels")
    back = codecs.decode_patches(data, 6, classes, 8, "labels")
    assert back.shape == probs.shape and back.dtype == np.float32
    np.testing.assert_array_equal(back.argmax(1), probs.argmax(1))
    np.testing.assert_allclose(back.sum(1), 1.0, atol=1e-5)
    if classes > 1:
        cell_mean = probs.max(1).reshape(6, -1).mean(1)
        step = (1 - 1 / classes) / 255
        assert np.abs(back.max(1)[:, 0, 0] - cell_mean).max() <= step / 2 + 1e-6
        assert (back.max(1) == back.max(1)[:, :1, :1]).all()  # one probability per cell


def test_uniform_answers_deflate_far_below_top1():
    probs = np.full((100, 8, 8, 8), 0.02, np.float32)
    probs[:, 3] = 0.86
    probs[::2, 3, :, :4], probs[::2, 5, :, :4] = 0.02, 0.86  # two classes in half the cells
    labels = codecs.encode_patches(probs, "labels")
    top1 = codecs.encode_patches(probs, "top1")
    assert len(labels) * 10 < len(top1)
    np.testing.assert_array_equal(codecs.decode_patches(labels, 100, 8, 8, "labels").argmax(1),
                                  probs.argmax(1))


def test_empty_label_set_round_trips():
    data = codecs.encode_patches(np.zeros((0, 8, 8, 8), np.float32), "labels")
    assert codecs.decode_patches(data, 0, 8, 8, "labels").shape == (0, 8, 8, 8)


def _payload(levels: bytes, classes_map: bytes) -> bytes:
    return levels + zlib.compress(classes_map)


@pytest.mark.parametrize("data,count,classes,kind", [
    (b"\x80" * 2, 2, 8, "payload size"),                                        # no stream
    (b"\x80" * 2 + b"not a zlib stream at all", 2, 8, "compression"),
    (_payload(b"\x80", bytes(23)), 1, 8, "compression"),                        # short map
    (_payload(b"\x80", bytes(25)), 1, 8, "compression"),                        # long map
    (_payload(b"\x80", bytes(24)) + b"tail", 1, 8, "compression"),              # trailing data
    (_payload(b"\x80", bytes(24))[:-2], 1, 8, "compression"),                   # truncated
    (_payload(b"\x80", b"\xff" * 24), 1, 5, "payload values"),                  # class 7 of 5
])
def test_malformed_label_payloads_are_refused_with_their_kind(data, count, classes, kind):
    with pytest.raises(WireFormatError) as err:
        codecs.decode_patches(data, count, classes, 8, "labels")
    assert err.value.kind == kind


def test_a_deflate_bomb_is_refused_without_inflating_it():
    bomb = _payload(b"\x80", bytes(50_000_000))  # ~50 MB of zeros in ~50 kB
    with pytest.raises(WireFormatError) as err:
        codecs.decode_patches(bomb, 1, 8, 8, "labels")
    assert err.value.kind in ("payload size", "compression")
    small_bomb = _payload(b"\x80", bytes(10_000))  # fits the size bound, inflates too far
    assert len(small_bomb) <= label_patches.max_payload_bytes(1, 8, 8)
    with pytest.raises(WireFormatError, match="exactly 24 bytes"):
        codecs.decode_patches(small_bomb, 1, 8, 8, "labels")
