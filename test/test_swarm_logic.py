"""ROS-free swarm bookkeeping: stamped states, pending frames, liveness, drops, bytes."""
import pytest

from mash_ros.core.codecs import WireFormatError
from mash_ros.swarm.bandwidth import RECEIVED, SENT, BandwidthMeter
from mash_ros.swarm.drops import DropLog
from mash_ros.swarm.frames import PendingFrame, PendingFrames, StampedBuffer
from mash_ros.swarm.peers import PeerTracker


def test_stamped_buffer_matches_within_tolerance_and_evicts_oldest():
    buffer = StampedBuffer(capacity=2, tolerance_ns=10)
    buffer.put(100, "a")
    buffer.put(200, "b")
    assert buffer.get(205) == "b" and buffer.get(150) is None
    buffer.put(300, "c")
    assert buffer.get(100) is None and buffer.newest_stamp() == 300


def frame(sequence, expected, deadline=10.0):
    return PendingFrame(stamp_ns=sequence, sequence=sequence, expected=set(expected),
                        deadline=deadline, state=None, received_at=0.0)


def test_pending_frames_complete_on_last_answer_or_deadline():
    frames = PendingFrames()
    frames.open(frame(1, {"b", "c"}))
    frames.open(frame(2, {"b"}, deadline=1.0))
    assert frames.answer(1, 1, "b", "x") is None
    with pytest.raises(WireFormatError) as err:
        frames.answer(1, 1, "b", "again")
    assert err.value.kind == "duplicate answer"
    with pytest.raises(WireFormatError) as err:
        frames.answer(1, 7, "c", "wrong stamp")
    assert err.value.kind == "stamp"
    done = frames.answer(1, 1, "c", "y")
    assert done.sequence == 1 and done.answers == {"b": "x", "c": "y"}
    with pytest.raises(WireFormatError) as err:
        frames.answer(1, 1, "c", "late")  # already fused
    assert err.value.kind == "late answer"
    assert frames.due(0.5) == [] and [f.sequence for f in frames.due(1.0)] == [2]
    assert len(frames) == 0


def test_forgetting_a_silent_peer_releases_frames():
    frames = PendingFrames()
    frames.open(frame(1, {"b", "c"}))
    frames.answer(1, 1, "b", "x")
    assert [f.sequence for f in frames.forget_peer("c")] == [1]


def test_peer_tracker_timeout_and_rejoin():
    peers = PeerTracker(["b", "c"], timeout=2.0, now=0.0)
    assert peers.live(1.0) == {"b", "c"}
    peers.heard("b", 1.5)
    assert peers.live(3.0) == {"b"}
    assert peers.heard("c", 3.0) is True and peers.live(3.0) == {"b", "c"}
    assert peers.heard("zz", 3.0) is False and not peers.known("zz")


def test_drop_log_once_per_peer_and_kind_with_periodic_summary():
    drops = DropLog()
    assert drops.drop("b", "oversized") is True
    assert drops.drop("b", "oversized") is False
    assert drops.drop("b", "late") is True
    assert drops.drop("c", "late") is True  # another peer: logged again
    assert drops.total == 4 and drops.by_peer() == {"b": 3, "c": 1}
    assert drops.by_kind() == {"oversized": 2, "late": 2}
    assert drops.by_peer_and_kind() == {"b": {"late": 1, "oversized": 2}, "c": {"late": 1}}
    assert drops.summary_line(10.0) == ("dropped 4 in 10 s (b: 2 oversized, 1 late; c: 1 late); "
                                        "4 since start")
    assert drops.summary_line(10.0) is None  # nothing new since the last summary
    drops.drop("c", "late")
    assert drops.summary_line(5.0) == "dropped 1 in 5 s (c: 1 late); 5 since start"


def test_bandwidth_meter_per_frame_and_window():
    meter = BandwidthMeter()
    meter.record("mash/query", SENT, 100)
    meter.record("mash/query", SENT, 100)
    meter.record("mash/patches", RECEIVED, 50)
    meter.count_frame(raw_image_bytes=1000, peers=2)
    meter.count_frame(raw_image_bytes=1000, peers=2)
    rows = {(r["topic"], r["direction"]): r for r in meter.report(window_s=2.0)}
    assert rows[("mash/query", SENT)]["bytes_per_frame"] == 100
    assert rows[("mash/query", SENT)]["bytes_per_second"] == 100
    assert meter.report(window_s=2.0)[0]["bytes_per_second"] == 0  # window restarted
    summary = meter.summary()
    assert summary["sent_bytes"] == 200 and summary["raw_image_bytes"] == 4000


def test_intake_refuses_newcomers_to_a_full_queue_and_keeps_arrival_order():
    from mash_ros.swarm.intake import Intake

    intake = Intake(capacity=2)
    assert intake.offer("flood", 1) and intake.offer("peer", "a") and intake.offer("flood", 2)
    assert not intake.offer("flood", 3)  # refused: what was accepted stays
    assert intake.offer("peer", "b")     # another sender's queue is not affected
    assert intake.offer("camera", "i1", keep_latest=True)
    assert intake.offer("camera", "i2", keep_latest=True)
    assert intake.offer("camera", "i3", keep_latest=True)  # replaces the oldest image
    assert intake.take_superseded() == {"camera": 1} and intake.take_superseded() == {}
    assert len(intake) == 6
    assert intake.take() == [("flood", 1), ("peer", "a"), ("flood", 2), ("peer", "b"),
                             ("camera", "i2"), ("camera", "i3")]
    assert intake.take() == [] and intake.offer("flood", 4)
    assert intake.offer("cam", 1, keep_latest=True, capacity=1)
    assert intake.offer("cam", 2, keep_latest=True, capacity=1)
    assert intake.take() == [("flood", 4), ("cam", 2)]


def test_cpu_account_splits_core_from_the_rest():
    import time

    from mash_ros.swarm.cpu import CpuAccount

    def spin(seconds):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    cpu = CpuAccount()
    assert cpu.summary(0) is None
    cpu.start()
    with cpu.core():
        spin(0.05)
    spin(0.02)
    summary = cpu.summary(frames=2)
    assert summary["core_s"] >= 0.05 and summary["process_s"] >= summary["core_s"] + 0.02
    assert summary["core_ms_per_frame"] == pytest.approx(1e3 * summary["core_s"] / 2)
    assert summary["other_over_core"] == pytest.approx(summary["other_s"] / summary["core_s"])


def test_held_queries_are_served_in_order_expire_and_are_capped_per_peer():
    from mash_ros.swarm.queries import HeldQueries

    held = HeldQueries(per_peer=2)
    assert held.hold(10.0, "b", 100, "q1") and held.hold(5.0, "b", 200, "q2")
    assert not held.hold(10.0, "b", 300, "q3")  # b has 2 waiting: refused
    assert held.hold(10.0, "c", 300, "q4")
    states = {300: "s300"}
    ready, expired = held.release(states.get, now=6.0)
    assert ready == [("c", "q4", "s300")] and expired == [("b", "q2")]
    assert len(held) == 1 and held.hold(10.0, "b", 400, "q5")  # room again
    states[100] = "s100"
    ready, expired = held.release(states.get, now=7.0)
    assert ready == [("b", "q1", "s100")] and expired == [] and len(held) == 1


def test_node_stats_summary():
    from mash_ros.swarm.stats import NodeStats

    stats = NodeStats()
    assert stats.summary()["latency_s"] is None
    stats.answered(cells=5)
    stats.fused_frame(answers=2, by_deadline=False, latency_s=0.1)
    stats.fused_frame(answers=1, by_deadline=True, latency_s=0.3)
    summary = stats.summary()
    assert summary["answers_sent"] == 1 and summary["cells_sent"] == 5
    assert summary["fused"] == 2 and summary["fused_by_deadline"] == 1
    assert summary["answers_used"] == 3
    assert summary["latency_s"] == pytest.approx({"mean": 0.2, "p50": 0.2, "max": 0.3})
