"""One measured run of a swarm in the network lab: paced snapshots, latency, lost frames, and
the bytes on each drone's link against the bytes the drone accounted for.

The measured window starts after warm-up and a settling pause (discovery and the warm-up's
exchange are over, a fresh BandwidthReport is out) and ends a settling pause after the last
snapshot (late answers have landed, the last report is out). Kernel counters and the nodes'
reports are both read at the window's two ends, so they cover the same traffic.
"""
from __future__ import annotations

import json
import pathlib
import time

import numpy as np

from mash_ros.netlab.run import LabSwarm
from mash_ros.swarm.bandwidth import radio_bytes, radio_bytes_by_stream

SETTLE_S = 1.5  # > bandwidth_period_s: a report newer than the last exchange is out


def paced(run_snapshot, frames: int, period_s: float, timeout: float) -> dict:
    """Send ``frames`` snapshots lock-step, never faster than one per ``period_s``;
    ``run_snapshot(i, timeout)`` -> {agent: frame or None}. Returns {index: that dict}."""
    results = {}
    for index in range(frames):
        started = time.monotonic()
        results[index] = run_snapshot(index, timeout)
        time.sleep(max(0.0, period_s - (time.monotonic() - started)))
    return results


def latency_summary(latencies: list[float]) -> dict:
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {"p50": float(np.median(lat)), "p95": float(np.percentile(lat, 95)),
            "max": float(lat.max()), "count": len(latencies)}


def _report_rows(states: dict[str, dict]) -> dict[str, list[dict]]:
    return {a: (s.get("report") or {}).get("topics", []) for a, s in states.items()}


def run_in_lab(num_agents: int, cap_bit: int | None, images: np.ndarray, parameters: dict,
               workdir: pathlib.Path, period_s: float = 0.5, discovery: str = "server",
               timeout: float = 10.0, fastdds_xml: str | None = None,
               multicast_queries: bool = False) -> dict:
    """Run ``images`` (uint8 [snapshots, agents, H, W, 3]) through a lab swarm; returns the
    measurements and the outputs ({index: {agent: LabFrame | None}})."""
    peers = num_agents - 1
    with LabSwarm(num_agents, cap_bit, workdir, images, parameters, discovery,
                  fastdds_xml, multicast_queries) as swarm:
        started = time.monotonic()
        swarm.wait_ready()
        ready_s = time.monotonic() - started
        time.sleep(SETTLE_S)
        before = ([swarm.lab.counters(i) for i in range(num_agents)],
                  _report_rows(swarm.status()))
        outputs = paced(swarm.run_snapshot, len(images), period_s, timeout)
        time.sleep(SETTLE_S)
        after = ([swarm.lab.counters(i) for i in range(num_agents)],
                 _report_rows(swarm.status()))
        drops = [swarm.lab.qdisc_drops(i) for i in range(num_agents)]
        codes = swarm.close()
        summaries = {a: json.loads(p.read_text()) for a, p in swarm.summaries.items()
                     if p.exists()}
    links = {}
    for i, agent in enumerate(swarm.agents):
        wire = after[0][i].minus(before[0][i])
        accounted = (radio_bytes(after[1].get(agent, []), peers)
                     - radio_bytes(before[1].get(agent, []), peers))
        split_after = radio_bytes_by_stream(after[1].get(agent, []), peers)
        split_before = radio_bytes_by_stream(before[1].get(agent, []), peers)
        links[agent] = {"bytes_on_wire": wire.as_dict(), "bytes_accounted": accounted,
                        "accounted_by_stream": {k: split_after[k] - split_before[k]
                                                for k in split_after},
                        "wire_over_accounted": wire.peers / accounted if accounted else None,
                        "qdisc_drops": drops[i]}
    latencies = [f.latency_s for frame in outputs.values() for f in frame.values()
                 if f is not None and f.fused is not None]
    lost = sum(1 for frame in outputs.values() for f in frame.values()
               if f is None or f.fused is None)
    window_s = sum(1 for _ in outputs) * period_s
    return {"cap_mbit": None if cap_bit is None else cap_bit / 1e6, "discovery": discovery,
            "fastdds_xml": fastdds_xml, "multicast_queries": multicast_queries,
            "send_budget_bps": parameters.get("send_budget_bps", 0),
            "frames_expected": len(outputs) * num_agents, "frames_lost": lost,
            "latency_s": latency_summary(latencies), "ready_s": ready_s,
            "window_s_nominal": window_s, "links": links,
            "exit_codes": codes,
            "fused_by_deadline": sum(s.get("fused_by_deadline", 0) for s in summaries.values()),
            "send_budget": {a: s.get("send_budget") for a, s in summaries.items()},
            "outputs": outputs}


# The send budget a drone gets from its link's cap: the rest of the cap is left for what the
# node cannot choose or does not count (RTPS, UDP, IP and Ethernet headers, acknowledgements,
# discovery) — measured as wire over accounted bytes by ``mash-bench network``.
BUDGET_SHARE = 0.85


def budget_for_cap(cap_bit: int | None) -> int:
    """send_budget_bps (bytes/s) for a link of ``cap_bit`` bit/s; 0 (unlimited) if uncapped."""
    return 0 if cap_bit is None else int(BUDGET_SHARE * cap_bit / 8)


def without_outputs(result: dict) -> dict:
    """A run's measurements without the label arrays (for JSON)."""
    return {k: v for k, v in result.items() if k != "outputs"}
