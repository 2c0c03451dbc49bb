"""Wire codecs: exact byte counts, error bounds, and rejection of malformed payloads."""
import numpy as np
import pytest

from mash_ros.core import codecs
from mash_ros.core.codecs import WireFormatError

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("encoding,itemsize", [("float32", 4), ("float16", 2), ("int8", 1)])
def test_query_byte_count_is_exact(encoding, itemsize):
    query = RNG.standard_normal((16, 8, 8)).astype(np.float32)
    scale, data = codecs.encode_query(query, encoding)
    assert len(data) == 16 * 8 * 8 * itemsize
    assert len(data) + 4 * len(scale) == codecs.query_payload_bytes(16, 8, 8, encoding)


def test_query_error_bounds():
    query = (RNG.standard_normal((16, 8, 8)) * RNG.uniform(0.01, 10, (16, 1, 1))).astype(np.float32)
    for encoding in ("float32", "float16", "int8"):
        scale, data = codecs.encode_query(query, encoding)
        back = codecs.decode_query(data, scale, 16, 8, 8, encoding)
        error = np.abs(back - query)
        if encoding == "float32":
            assert error.max() == 0
        elif encoding == "float16":
            assert (error <= 2.0 ** -11 * np.abs(query) + 2.0 ** -25).all()
        else:
            assert (error <= scale[:, None, None] / 2 + 1e-7).all()


def test_int8_zero_channel_decodes_to_zero():
    query = np.zeros((2, 3, 3), np.float32)
    query[1] = 1.0
    scale, data = codecs.encode_query(query, "int8")
    back = codecs.decode_query(data, scale, 2, 3, 3, "int8")
    np.testing.assert_allclose(back, query, atol=1e-6)


@pytest.mark.parametrize("encoding,itemsize,bound", [("float16", 2, 2.0 ** -12),
                                                     ("uint8", 1, 1 / 510)])
def test_patch_round_trip(encoding, itemsize, bound):
    logits = RNG.standard_normal((5, 8, 8, 8))
    probs = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    data = codecs.encode_patches(probs, encoding)
    assert len(data) == 5 * 8 * 8 * 8 * itemsize == codecs.patch_payload_bytes(5, 8, 8, encoding)
    back = codecs.decode_patches(data, 5, 8, 8, encoding)
    assert np.abs(back - probs).max() <= bound + 1e-9


@pytest.mark.parametrize("classes", [2, 5, 8, 16])
def test_top1_patches_keep_the_argmax_in_one_byte_per_pixel(classes):
    logits = RNG.standard_normal((6, classes, 8, 8)) * 3
    probs = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    data = codecs.encode_patches(probs, "top1")
    assert len(data) == 6 * 8 * 8 == codecs.patch_payload_bytes(6, classes, 8, "top1")
    back = codecs.decode_patches(data, 6, classes, 8, "top1")
    assert back.shape == probs.shape and back.dtype == np.float32
    np.testing.assert_array_equal(back.argmax(1), probs.argmax(1))
    np.testing.assert_allclose(back.sum(1), 1.0, atol=1e-5)
    levels = 2 ** (8 - (classes - 1).bit_length()) - 1
    bound = (1 - 1 / classes) / (2 * levels)
    assert np.abs(back.max(1) - probs.max(1)).max() <= bound + 1e-6


def test_top1_rejects_what_it_cannot_hold():
    with pytest.raises(WireFormatError, match="at most"):
        codecs.encode_patches(np.full((1, 17, 2, 2), 1 / 17, np.float32), "top1")
    # 5 classes use 3 class bits: a byte naming class 7 is corrupt
    with pytest.raises(WireFormatError, match="class 7"):
        codecs.decode_patches(bytes([7 << 5]) * 4, 1, 5, 2, "top1")


def test_empty_patch_set_round_trips():
    data = codecs.encode_patches(np.zeros((0, 8, 8, 8), np.float32), "uint8")
    assert data == b"" and codecs.decode_patches(data, 0, 8, 8, "uint8").shape == (0, 8, 8, 8)


@pytest.mark.parametrize("call", [
    lambda: codecs.decode_query(b"\0" * 10, [], 4, 2, 2, "float32"),           # truncated
    lambda: codecs.decode_query(b"\0" * 64, [], 4, 4, 2, "float32"),           # dims disagree
    lambda: codecs.decode_query(b"\0" * 16, [], 4, 2, 2, 7),                   # unknown encoding
    lambda: codecs.decode_query(b"\0" * 16, [], 4, 2, 2, "bfloat16"),          # unknown name
    lambda: codecs.decode_query(np.full(16, np.nan, np.float32).tobytes(), [], 4, 2, 2,
                                "float32"),                                    # NaN
    lambda: codecs.decode_query(b"\0" * 16, [1.0, np.inf, 1.0, 1.0], 4, 2, 2, "int8"),
    lambda: codecs.decode_query(b"\0" * 16, [1.0], 4, 2, 2, "int8"),           # scale count
    lambda: codecs.decode_query(b"", [], 1, 60000, 60000, "int8"),             # absurd size
    lambda: codecs.decode_query(b"", [], 0, 2, 2, "int8"),                     # zero channels
    lambda: codecs.decode_patches(b"\0" * 7, 1, 2, 2, "uint8"),                # truncated
    lambda: codecs.decode_patches(np.full(8, np.inf, np.float16).tobytes(), 1, 2, 2, "float16"),
    lambda: codecs.decode_patches(np.full(8, 3.0, np.float16).tobytes(), 1, 2, 2, "float16"),
    lambda: codecs.decode_patches(b"", 0, 5000, 8, "uint8"),                   # absurd classes
    lambda: codecs.encode_query(np.full((1, 2, 2), np.nan), "int8"),
    lambda: codecs.encode_patches(np.zeros((2, 2, 2)), "uint8"),               # wrong rank
])
def test_malformed_payloads_raise_wire_format_error(call):
    with pytest.raises(WireFormatError):
        call()
