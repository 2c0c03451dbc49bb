"""The swarm key file, the MAC over messages and the replay window, without a ROS graph."""
import os
import stat

import numpy as np
import pytest
from mash_msgs.msg import BandwidthReport, QueryMap, SegPatches, TopicBandwidth
from rclpy.serialization import deserialize_message, serialize_message

from mash_ros.swarm.auth import MAC_BYTES, Authenticator, AuthError, canonical_bytes
from mash_ros.swarm.keyfile import KeyFileError, load_key
from mash_ros.swarm.replay import REPLAY, STALE, ReplayWindow
from mash_ros.tools import keygen

pytestmark = pytest.mark.ros


def test_keygen_writes_a_private_key_and_never_prints_it(tmp_path, capsys):
    path = tmp_path / "k" / "swarm.key"
    assert keygen.main([str(path)]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = load_key(path)
    assert len(key) == 32 and key.hex() not in capsys.readouterr().out
    assert keygen.main([str(path)]) == 1  # refuses to overwrite a key silently
    assert load_key(path) == key
    assert keygen.main([str(path), "--force"]) == 0 and load_key(path) != key


@pytest.mark.parametrize("content,mode,message", [
    ("ab" * 32, 0o644, "accessible to others"),
    ("xyz", 0o600, "does not hold 32"),
    ("ab" * 16, 0o600, "does not hold 32"),
])
def test_unusable_key_files_are_one_clear_error(tmp_path, content, mode, message):
    path = tmp_path / "swarm.key"
    path.write_text(content)
    os.chmod(path, mode)
    with pytest.raises(KeyFileError, match=message) as err:
        load_key(path)
    assert content not in str(err.value)
    with pytest.raises(KeyFileError, match="No such file"):
        load_key(tmp_path / "missing.key")


def sample_messages():
    query = QueryMap(target_id="drone_0", sequence=7, height=2, width=2, channels=1, encoding=2)
    query.header.stamp.sec, query.header.frame_id = 12, "cam"
    query.scale, query.data = [0.25], bytes(range(4))
    patches = SegPatches(source_id="drone_1", target_id="drone_0", sequence=7, grid_height=2,
                         grid_width=2, patch_size=1, num_classes=2, encoding=1)
    patches.cell_index, patches.source_cell, patches.confidence = [1], [3], [0.1]
    patches.data = b"\x10\x20"
    report = BandwidthReport(agent_id="drone_2", window_s=1.0, frames=3)
    report.topics = [TopicBandwidth(topic="mash/query", bytes=10, bytes_per_frame=0.5)]
    return [query, patches, report]


@pytest.mark.parametrize("msg", sample_messages(), ids=lambda m: type(m).__name__)
def test_mac_survives_the_wire_and_catches_every_field_change(msg):
    auth = Authenticator(os.urandom(32))
    auth.sign(msg)
    assert len(msg.mac) == MAC_BYTES
    received = deserialize_message(serialize_message(msg), type(msg))
    auth.verify(received)  # the same canonical bytes after a CDR round trip
    with pytest.raises(AuthError) as err:
        Authenticator(os.urandom(32)).verify(received)
    assert err.value.kind == "auth: bad mac"
    reference = canonical_bytes(msg)
    for name, kind in msg.get_fields_and_field_types().items():
        if name == "mac":
            continue
        changed = deserialize_message(serialize_message(msg), type(msg))
        value = getattr(changed, name)
        if name == "header":
            value.stamp.nanosec += 1
        elif name == "topics":
            value[0].bytes += 1
        elif isinstance(value, str):
            setattr(changed, name, value + "x")
        elif isinstance(value, (int, float)):
            setattr(changed, name, value + 1)
        else:  # a sequence
            setattr(changed, name, list(value) + [1])
        assert canonical_bytes(changed) != reference, name
        with pytest.raises(AuthError):
            auth.verify(changed)


def test_unsigned_message_is_a_missing_mac():
    with pytest.raises(AuthError) as err:
        Authenticator(b"0" * 32).verify(QueryMap())
    assert err.value.kind == "auth: missing mac"


def test_type_is_part_of_the_mac():
    a, b = TopicBandwidth(), TopicBandwidth()
    assert canonical_bytes(a) == canonical_bytes(b)
    assert canonical_bytes(QueryMap()) != canonical_bytes(SegPatches())


def test_float32_fields_are_covered_as_sent():
    msg = SegPatches(confidence=[0.1])
    sent = canonical_bytes(msg)
    assert np.float32(0.1).tobytes() in sent
    assert canonical_bytes(deserialize_message(serialize_message(msg), SegPatches)) == sent


def test_replay_window():
    window = ReplayWindow(window_ns=5, memory=3)
    assert window.check("a", 100, 1, own_newest_ns=100) is None
    assert window.check("a", 100, 1, own_newest_ns=100) == REPLAY
    assert window.check("b", 100, 1, own_newest_ns=100) is None  # per peer
    assert window.check("a", 94, 2, own_newest_ns=100) == STALE
    assert window.check("a", 95, 2, own_newest_ns=100) is None
    assert window.check("a", 100, 9, own_newest_ns=None) is None  # a restarted sender
    for sequence in (10, 11, 12):
        window.check("a", 200, sequence, own_newest_ns=None)
    assert window.check("a", 100, 1, own_newest_ns=None) is None  # left the memory


def test_strings_are_covered_as_the_wire_carries_them():
    """A string with a NUL arrives cut at the NUL: the MAC must still verify."""
    auth = Authenticator(os.urandom(32))
    msg = auth.sign(BandwidthReport(agent_id="drone_1", topics=[TopicBandwidth(topic="a\0b")]))
    received = deserialize_message(serialize_message(msg), BandwidthReport)
    assert received.topics[0].topic == "a"
    auth.verify(received)
