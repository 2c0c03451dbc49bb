"""Network benchmark: the sample through the network lab at several link caps.

One namespace per drone, every drone a target, links capped with tc at each of
``--caps-mbit`` (each way), discovery through a discovery server on the ground station, the
send budget set from the cap (``BUDGET_SHARE`` of it). Per cap: frames lost, latency, bytes
on each drone's link (kernel counters) against the bytes the node accounted for, and the
target's swarm vs single-agent mIoU. The same swarm on one host (loopback, no cap, no
budget) is the reference for latency and outputs. A plot of quality and latency against the
cap is written next to ``--out``.
"""
from __future__ import annotations

import pathlib
import tempfile

import numpy as np

from mash_ros.core.metrics import SegmentationScore
from mash_ros.netlab.measure import BUDGET_SHARE, latency_summary, paced, without_outputs
from mash_ros.swarm.topics import agent_name
from mash_ros.tools.netlab import add_run_arguments, node_parameters, run_one


def add_arguments(parser) -> None:
    add_run_arguments(parser)
    parser.add_argument("--caps-mbit", default="20,4,2,1",
                        help="per-drone link caps to run, Mbit/s each way")


def load_truth(data: str | None, count: int) -> list[dict]:
    """Per snapshot: the target drone, its clean labels and obstruction mask."""
    from mash_ros.sim.dataset import MashSimDataset
    from mash_ros.sim.sample import ensure_sample

    dataset = MashSimDataset(data or ensure_sample(), keys=("labels", "obstruction_mask",
                                                           "target"))
    out = []
    for i in range(count):
        item = dataset[i % len(dataset)]
        target = int(item["target"])
        out.append({"target": target, "labels": item["labels"][target].numpy(),
                    "mask": item["obstruction_mask"][target].numpy()})
    return out


def score(outputs: dict, truth: list[dict]) -> dict:
    """Full and obstructed mIoU of the snapshots' targets, fused (swarm) and single."""
    scores = {"swarm": SegmentationScore(), "single": SegmentationScore()}
    for index, frame in outputs.items():
        t = truth[index]
        result = frame.get(agent_name(t["target"]))
        if result is None or result.fused is None:
            continue  # a lost frame scores nothing (counted in frames_lost)
        scores["swarm"].update(result.fused, t["labels"], t["mask"])
        scores["single"].update(result.single, t["labels"], t["mask"])
    return {kind: {"full": s.full.mean_iou() * 100, "obstructed": s.obstructed.mean_iou() * 100}
            for kind, s in scores.items()}


def same_fraction(outputs: dict, reference: dict) -> float:
    """Share of (snapshot, drone) fused outputs identical to the same-host run's."""
    pairs = [(f, reference[i].get(a)) for i, frame in outputs.items() for a, f in frame.items()]
    same = sum(1 for f, r in pairs if f is not None and r is not None and f.fused is not None
               and r.fused is not None and np.array_equal(f.fused, r.fused))
    return same / max(1, len(pairs))


def same_host(ns, images: np.ndarray, workdir: pathlib.Path) -> dict:
    """The reference: the same swarm on one host, paced the same, no budget."""
    import rclpy

    from mash_ros.tools.ros_env import isolate_this_process
    from mash_ros.tools.swarm_harness import SwarmHarness

    isolate_this_process()
    rclpy.init()
    harness = SwarmHarness(ns.agents, workdir, node_parameters(ns))
    try:
        harness.start()
        harness.wait_ready(timeout=120)
        outputs = paced(lambda i, timeout: harness.run_snapshot(i, images[i], timeout),
                        len(images), ns.period_s, 10.0)
    finally:
        harness.stop()
        harness.destroy_node()
        rclpy.try_shutdown()
    latencies = [r.latency_s for frame in outputs.values() for r in frame.values()
                 if r is not None and r.fused is not None]
    lost = sum(1 for frame in outputs.values() for r in frame.values()
               if r is None or r.fused is None)
    return {"frames_expected": len(images) * ns.agents, "frames_lost": lost,
            "latency_s": latency_summary(latencies), "outputs": outputs}


def per_cap_row(result: dict, truth: list[dict], reference: dict, ref_quality: dict) -> dict:
    links = result["links"]
    quality = score(result["outputs"], truth)
    ratios = [v["wire_over_accounted"] for v in links.values() if v["wire_over_accounted"]]
    return {
        "cap_mbit": result["cap_mbit"],
        "frames_expected": result["frames_expected"], "frames_lost": result["frames_lost"],
        "latency_s": result["latency_s"],
        "bytes_on_wire": {a: v["bytes_on_wire"] for a, v in links.items()},
        "bytes_accounted": {a: v["bytes_accounted"] for a, v in links.items()},
        "accounted_by_stream": {a: v["accounted_by_stream"] for a, v in links.items()},
        "wire_over_accounted": {a: v["wire_over_accounted"] for a, v in links.items()},
        "wire_over_accounted_range": [min(ratios), max(ratios)] if ratios else None,
        "qdisc_drops": {a: v["qdisc_drops"] for a, v in links.items()},
        "miou": quality,
        "swarm_miou_drop_vs_same_host": {
            k: ref_quality["swarm"][k] - quality["swarm"][k] for k in ("full", "obstructed")},
        "fused_identical_to_same_host": same_fraction(result["outputs"], reference),
        "fused_by_deadline": result["fused_by_deadline"],
        "send_budget": result["send_budget"],
        "ready_s": result["ready_s"], "exit_codes": result["exit_codes"],
    }


def plot(rows: list[dict], reference: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    caps = [r["cap_mbit"] for r in rows]
    fig, (ax_q, ax_l) = plt.subplots(1, 2, figsize=(9, 3.4))
    for kind, style in (("swarm", "o-"), ("single", "s--")):
        for region, colour in (("full", "tab:blue"), ("obstructed", "tab:red")):
            ax_q.plot(caps, [r["miou"][kind][region] for r in rows], style, color=colour,
                      label=f"{kind}, {region}")
    ax_q.set(xscale="log", xlabel="link cap per drone (Mbit/s)", ylabel="target mIoU (%)",
             title="quality")
    ax_q.legend(fontsize=7)
    for q, style in (("p50", "o-"), ("p95", "s-")):
        ax_l.plot(caps, [r["latency_s"][q] for r in rows], style, label=f"lab {q}")
    ax_l.axhline(reference["latency_s"]["p95"], color="grey", ls="--", label="same host p95")
    ax_l.set(xscale="log", xlabel="link cap per drone (Mbit/s)", ylabel="latency (s)",
             title="image -> fused output")
    ax_l.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(ns) -> dict:
    from mash_ros.tools.bench_swarm import load_snapshots
    from mash_ros.tools.netlab import _data_length

    frames = ns.frames or _data_length(ns.data)
    images = load_snapshots(ns.data, frames, ns.agents)
    truth = load_truth(ns.data, frames)
    caps = [float(c) for c in ns.caps_mbit.split(",")]
    with tempfile.TemporaryDirectory(prefix="mash-bench-network-") as tmp:
        tmp = pathlib.Path(tmp)
        print("mash-bench network: same host …", flush=True)
        (tmp / "same_host").mkdir()
        reference = same_host(ns, images, tmp / "same_host")
        ref_quality = score(reference["outputs"], truth)
        rows = []
        for cap in caps:
            print(f"mash-bench network: {cap:g} Mbit/s …", flush=True)
            workdir = tmp / f"cap_{cap:g}"
            workdir.mkdir()
            result = run_one(ns, cap, workdir)
            rows.append(per_cap_row(result, truth, reference["outputs"], ref_quality))
    out_plot = ns.out.with_suffix(".png")
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    plot(rows, reference, out_plot)
    ref = without_outputs(reference)
    ref["miou"] = ref_quality
    return {"agents": ns.agents, "frames": frames, "period_s": ns.period_s,
            "deadline_s": ns.deadline_s, "fastdds_xml": ns.fastdds_xml,
            "discovery": ns.discovery, "budget_share_of_cap": 0 if ns.no_budget else BUDGET_SHARE,
            "same_host": ref, "caps": rows, "plot": str(out_plot)}
