"""Two separate OS processes trade QueryMap and SegPatches over Fast DDS on loopback."""
import pytest

from mash_ros.tools.exchange import run_exchange

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("query_encoding,patch_encoding", [("int8", "uint8"),
                                                           ("float32", "float16"),
                                                           ("int8", "top1")])
def test_every_field_arrives_intact(tmp_path, query_encoding, patch_encoding):
    frames = 5
    logs = run_exchange(frames, tmp_path, timeout=60, query_encoding=query_encoding,
                        patch_encoding=patch_encoding)
    assert logs["target_rc"] == 0, "the target did not receive an answer for every frame"
    target, support = logs["target"], logs["support"]
    assert target["dropped"] == support["dropped"] == 0

    def digests(log, direction, kind):
        return {(m["sequence"], m["digest"]) for m in log[direction] if m["type"] == kind}

    # A digest is the sha256 of the serialized message: equal digests mean equal fields.
    queries_sent = digests(target, "sent", "QueryMap")
    queries_received = digests(support, "received", "QueryMap")
    assert {seq for seq, _ in queries_received} == set(range(frames))
    assert queries_received <= queries_sent
    patches_sent = digests(support, "sent", "SegPatches")
    patches_received = digests(target, "received", "SegPatches")
    assert {seq for seq, _ in patches_received} == set(range(frames))
    assert patches_received <= patches_sent
