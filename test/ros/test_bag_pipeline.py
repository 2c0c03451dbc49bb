"""End to end in real processes: a bag -> mash-replay -> 3 drone nodes (mash-swarm) ->
mash-record -> mash-evaluate-bag. Nothing is lost at the default rate, and the live run scores
what the offline reference scores for the same frames and model."""
import json
import subprocess
import sys

import pytest

from mash_ros.bags.evaluation import evaluate_recording
from mash_ros.bags.offline import evaluate_offline
from mash_ros.sim.bag import export_bag
from mash_ros.sim.config import SimConfig
from mash_ros.tools.demo import run_live, swarm_counts

pytestmark = pytest.mark.integration
TINY = SimConfig(height=128, width=128, agents=3, episode_length=3, blocks=4)


def what_the_drones_said(summaries, swarm_log) -> str:
    """The drones' drops and answer counts, and the swarm's log: why answers are missing."""
    lines = []
    for agent, summary in summaries.items():
        counts = {k: summary.get(k) for k in ("images", "frames", "fused", "fused_by_deadline",
                                              "answers_sent", "answers_used")}
        lines.append(f"{agent}: {counts} dropped {summary.get('dropped_by_peer_and_kind')}")
    return "\n".join(lines + ["swarm log:", swarm_log.read_text(errors="replace")])


def test_replay_swarm_record_evaluate(tmp_path, varied_checkpoint):
    from mash_ros.sim.writer import generate_split

    split = generate_split(tmp_path / "split", "test", 3, seed=7, cfg=TINY, progress=False)
    bag = export_bag(split, tmp_path / "bag", "mcap")
    model = varied_checkpoint(tmp_path / "mash_cpu.pt", split)
    # a generous deadline: on a loaded machine no answer may miss it, or the fused output
    # would (rightly) differ from the offline reference
    live = run_live(bag, model, tmp_path / "run", num_agents=3,
                    node_params={"deadline_s": 5.0}, quiet=True)
    assert live["replay"]["snapshots"] == 3 and live["replay"]["unanswered"] == 0

    result = evaluate_recording(bag, live["recording"])
    report = result.report
    assert report["complete"], report["problems"]
    assert report["frames"]["expected"] == 9 and report["frames"]["lost"] == 0
    assert report["snapshots"]["scored"] == 3
    assert report["latency_ms"]["count"] == 9 and report["latency_ms"]["max"] < 5000
    topics = report["bandwidth"]["topics"]
    assert topics["mash/query"]["messages"] == 9
    assert topics["mash/patches"]["answers_per_target_frame"] == pytest.approx(2.0), \
        what_the_drones_said(live["drones"], tmp_path / "run" / "swarm.log")
    assert set(report["bandwidth"]["node_reports"]) == {"drone_0", "drone_1", "drone_2"}
    # every drone left its summary; their counts include the warm-up, whose first frames may
    # rightly wait for a peer still being discovered, so only the total is checked
    counts = swarm_counts(live["drones"])
    assert counts["drones"] == 3 and counts["fused"] >= 9 and counts["answers_sent"] >= 18

    offline = evaluate_offline(bag, model, frames=result.scored)["metrics"]
    for model_name in ("swarm", "single_agent"):
        for region in ("full", "obstructed"):
            live_row = report["metrics"]["table1"][model_name][region]
            offline_row = offline["table1"][model_name][region]
            assert live_row["pixels"] == offline_row["pixels"]
            for metric in ("pixel_accuracy", "miou", "mean_accuracy"):
                assert live_row[metric] == pytest.approx(offline_row[metric], abs=1e-6), \
                    (model_name, region, metric)

    # the command-line tool says the same, with the offline reference and a montage
    out, png = tmp_path / "report.json", tmp_path / "montage.png"
    done = subprocess.run([sys.executable, "-m", "mash_ros.tools.evaluate_bag", str(bag),
                           str(live["recording"]), "--out", str(out), "--model", str(model),
                           "--montage", str(png)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    written = json.loads(out.read_text())
    assert written["metrics"] == report["metrics"]
    assert written["offline"]["table1"]["swarm"]["full"]["miou"] == pytest.approx(
        report["metrics"]["table1"]["swarm"]["full"]["miou"], abs=1e-6)
    assert "COMPLETE" in done.stdout and png.stat().st_size > 10_000
