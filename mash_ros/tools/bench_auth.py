"""Authentication cost: bytes and CPU time of the HMAC-SHA256 on every exchanged message.

For the messages a drone really exchanges (the cpu and paper presets' query maps, answers of
typical sizes, a heartbeat), measured in this process: serialized bytes unsigned and signed,
and the median time to sign and to verify (canonical bytes + HMAC), next to the time to
serialize the same message. Per target frame of an N-drone swarm where every drone is a
target, a drone signs 1 query + N-1 answers + (per bandwidth period) 1 heartbeat, and
verifies N-1 queries + N-1 answers.
"""
from __future__ import annotations

import os
import time

import numpy as np


def add_arguments(parser) -> None:
    parser.add_argument("--repeats", type=int, default=300, help="timed calls per message")
    parser.add_argument("--agents", type=int, default=6, help="swarm size for per-frame totals")


def _median_s(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def sample_messages(answer_cells: float = 0.3) -> dict:
    """name -> message, shaped like the presets' traffic (random content)."""
    from mash_msgs.msg import BandwidthReport, TopicBandwidth
    from std_msgs.msg import Header

    from mash_ros import conversions
    from mash_ros.core.config import load_preset
    from mash_ros.core.roles import Response

    rng = np.random.default_rng(0)
    header = Header(frame_id="camera")
    out = {}
    for preset in ("cpu", "paper"):
        cfg = load_preset(preset)
        query = rng.standard_normal((cfg.query_dim, cfg.grid_height, cfg.grid_width))
        out[f"QueryMap {preset} int8"] = conversions.query_to_msg(
            query.astype(np.float32), header, "drone_0", 1, "int8")
        cells = int(cfg.num_cells * answer_cells)
        probs = rng.dirichlet(np.ones(cfg.num_classes), (cells, cfg.patch_size, cfg.patch_size))
        answer = Response.from_numpy(np.arange(cells), probs.transpose(0, 3, 1, 2),
                                     rng.uniform(0, 1, cells), np.arange(cells),
                                     (cfg.grid_height, cfg.grid_width))
        for encoding in ("top1", "uint8"):
            out[f"SegPatches {preset} {encoding} {answer_cells:.0%} cells"] = \
                conversions.patches_to_msg(answer, header, "drone_1", "drone_0", 1, encoding)
    report = BandwidthReport(agent_id="drone_0", window_s=1.0, frames=10)
    report.topics = [TopicBandwidth(topic=f"/drone_{i}/mash/patches", messages=10, bytes=1000)
                     for i in range(6)]
    out["BandwidthReport 6 topics"] = report
    return out


def run(args) -> dict:
    from rclpy.serialization import serialize_message

    from mash_ros.swarm.auth import Authenticator

    auth = Authenticator(os.urandom(32))
    rows = {}
    for name, msg in sample_messages().items():
        unsigned = len(serialize_message(msg))
        auth.sign(msg)
        signed = len(serialize_message(msg))
        rows[name] = {
            "bytes_unsigned": unsigned, "bytes_signed": signed,
            "bytes_added": signed - unsigned,
            "bytes_added_pct": round(100 * (signed - unsigned) / unsigned, 3),
            "sign_us": 1e6 * _median_s(lambda m=msg: auth.sign(m), args.repeats),
            "verify_us": 1e6 * _median_s(lambda m=msg: auth.verify(m), args.repeats),
            "serialize_us": 1e6 * _median_s(lambda m=msg: serialize_message(m), args.repeats),
        }
    peers = args.agents - 1
    per_frame = {}
    for preset in ("cpu", "paper"):
        query = rows[f"QueryMap {preset} int8"]
        answer = rows[f"SegPatches {preset} top1 30% cells"]
        per_frame[preset] = {
            "agents": args.agents,
            "cpu_us": (query["sign_us"] + peers * answer["sign_us"]
                       + peers * (query["verify_us"] + answer["verify_us"])),
            "bytes_added_sent": query["bytes_added"] + peers * answer["bytes_added"],
        }
    return {"messages": rows, "per_target_frame_per_drone": per_frame,
            "note": "one process, medians; per frame: sign 1 query + N-1 answers, verify N-1 "
                    "queries + N-1 answers (heartbeats once per bandwidth period, not counted)"}
