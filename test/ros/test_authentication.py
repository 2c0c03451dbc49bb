"""Authenticated exchange in a real DroneNode: forged, unsigned and replayed messages are
counted and never used; the same forgery is fused by a node without a key (the control that
shows the test can fail)."""
import numpy as np
import pytest
import rclpy
from rclpy.parameter import Parameter
from rclpy.serialization import serialize_message
from std_msgs.msg import Header

from mash_ros import conversions
from mash_ros.core.roles import Response
from mash_ros.nodes.drone_node import DroneNode
from mash_ros.swarm.auth import Authenticator
from mash_ros.swarm.keyfile import generate_key_file, load_key

pytestmark = pytest.mark.ros
CAMERA = "/auth_test/drone_0/image"


@pytest.fixture(scope="module")
def nodes(checkpoint, tmp_path_factory):
    """{'on': node with the swarm key, 'off': node without}; plus the key's Authenticator."""
    rclpy.init()
    key = generate_key_file(tmp_path_factory.mktemp("key") / "swarm.key")
    made = {}
    for name, key_file in (("on", str(key)), ("off", "")):
        params = {"agents": ["drone_0", "drone_1"], "model_path": str(checkpoint),
                  "preset": "cpu", "image_topic": CAMERA, "deadline_s": 30.0,
                  "peer_timeout_s": 1e6, "swarm_key_file": key_file}
        made[name] = DroneNode(namespace=f"auth_{name}/drone_0",
                               parameter_overrides=[Parameter(k, value=v)
                                                    for k, v in params.items()])
    yield made, Authenticator(load_key(key))
    for node in made.values():
        node.destroy_node()
    rclpy.try_shutdown()


def run(node, topic_suffix, msg_or_raw):
    [sub] = [s for s in node.intake.subscriptions if s.topic_name.endswith(topic_suffix)]
    raw = msg_or_raw if isinstance(msg_or_raw, bytes) else serialize_message(msg_or_raw)
    sub.callback(raw)     # the intake thread's part: size, deserialize, MAC
    node.process_inbox()  # the main thread's part


def open_frame(node, sec):
    """Feed a camera image: the node opens a frame and waits for drone_1's answer."""
    header = Header(frame_id="camera")
    header.stamp.sec = sec
    rgb = np.random.default_rng(sec).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    run(node, "image", conversions.array_to_image(rgb, "rgb8", header))
    return header, node.sequence


def forged_answer(header, sequence):
    """Well-formed, in drone_1's name, for the pending frame: every cell, class 0, sure."""
    patches = np.zeros((256, 8, 8, 8), np.float32)
    patches[:, 0] = 1.0
    answer = Response.from_numpy(np.arange(256), patches, np.ones(256), np.arange(256),
                                 (16, 16))
    return conversions.patches_to_msg(answer, header, "drone_1", "drone_0", sequence)


def test_forged_answers_are_never_fused_and_counted(nodes):
    made, auth = nodes
    node = made["on"]
    header, sequence = open_frame(node, 10)
    unsigned = forged_answer(header, sequence)
    wrong_key = Authenticator(b"k" * 32).sign(forged_answer(header, sequence))
    tampered = auth.sign(forged_answer(header, sequence))
    tampered.confidence[0] = 0.5  # changed after signing
    for msg in (unsigned, wrong_key, tampered):
        run(node, "mash/patches", msg)
    assert node.stats.fused == 0 and node.pending.frames[sequence].answers == {}
    assert node.drops.counts[("drone_1", "auth: missing mac")] == 1
    assert node.drops.counts[("drone_1", "auth: bad mac")] == 2
    # the real drone_1's answer (signed with the swarm key) completes the frame
    run(node, "mash/patches", auth.sign(forged_answer(header, sequence)))
    assert node.stats.fused == 1 and node.stats.answers_used == 1
    # and sending it again is a replay of an answer already used
    run(node, "mash/patches", auth.sign(forged_answer(header, sequence)))
    assert node.drops.counts[("drone_1", "SegPatches: late answer")] == 1


def test_without_a_key_the_same_forgery_is_fused(nodes):
    node = nodes[0]["off"]
    header, sequence = open_frame(node, 10)
    run(node, "mash/patches", forged_answer(header, sequence))
    assert node.stats.fused == 1 and node.stats.answers_used == 1


def test_queries_unsigned_replayed_or_stale_are_not_answered(nodes):
    made, auth = nodes
    node = made["on"]
    header, _ = open_frame(node, 20)
    query = np.random.default_rng(0).standard_normal((32, 16, 16)).astype(np.float32)
    msg = conversions.query_to_msg(query, header, "drone_1", 5)
    run(node, "/drone_1/mash/query", msg)  # unsigned
    assert node.stats.answers_sent == 0
    assert node.drops.counts[("drone_1", "auth: missing mac")] >= 1
    run(node, "/drone_1/mash/query", auth.sign(msg))
    assert node.stats.answers_sent == 1
    run(node, "/drone_1/mash/query", auth.sign(msg))  # the same message again
    assert node.stats.answers_sent == 1
    assert node.drops.counts[("drone_1", "auth: replay")] == 1
    old = Header(frame_id="camera")
    old.stamp.sec = 20 - 6  # older than replay_window_s (5 s) before our newest image
    run(node, "/drone_1/mash/query", auth.sign(conversions.query_to_msg(query, old, "drone_1",
                                                                        6)))
    assert node.drops.counts[("drone_1", "auth: stale")] == 1
    assert node.stats.answers_sent == 1


def test_heartbeats_must_be_signed_and_newer(nodes):
    from mash_msgs.msg import BandwidthReport

    made, auth = nodes
    node = made["on"]
    beat = BandwidthReport(agent_id="drone_1")
    beat.header.stamp.sec = 5
    run(node, "/drone_1/mash/bandwidth", beat)
    assert node.drops.counts[("drone_1", "auth: missing mac")] >= 1
    run(node, "/drone_1/mash/bandwidth", auth.sign(beat))
    run(node, "/drone_1/mash/bandwidth", auth.sign(beat))
    assert node.last_heartbeat["drone_1"] == 5 * 10 ** 9
    assert node.drops.counts[("drone_1", "auth: replay")] >= 1


def test_mac_is_never_logged_or_shown(nodes):
    assert "k" * 10 not in repr(Authenticator(b"k" * 32))
