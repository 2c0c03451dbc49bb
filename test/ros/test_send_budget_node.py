"""A drone node under a tight send budget: cheaper queries, cut answers, every frame fused."""
import json

import pytest
import rclpy

from mash_ros.tools.swarm_harness import SwarmHarness

pytestmark = pytest.mark.integration
FLOAT32_QUERY_BYTES = 32 * 16 * 16 * 4  # the cpu preset's query payload alone


def run(tmp_path, checkpoint, images, budget):
    rclpy.init()
    harness = SwarmHarness(3, tmp_path, {"model_path": str(checkpoint), "preset": "cpu",
                                         "deadline_s": 1.0, "query_encoding": "float32",
                                         "send_budget_bps": budget})
    codes = {}
    try:
        harness.start()
        harness.wait_ready()
        results = [harness.run_snapshot(i, snapshot, timeout=30, answers_from=harness.agents)
                   for i, snapshot in enumerate(images)]
    finally:
        codes = harness.stop()
        harness.destroy_node()
        rclpy.try_shutdown()
    problems = harness.swarm.problems(codes)  # say which drone, and how it ended, if one did not
    assert not problems, problems
    summaries = {a: json.loads(p.read_text()) for a, p in harness.summaries.items()}
    return results, summaries


def test_a_tight_budget_sends_less_and_loses_no_frame(tmp_path, checkpoint, smooth_images):
    images = smooth_images(3, 3)
    # 20 kB/s: two float32 query copies (2 x 32.8 kB) never fit the bucket, two int8 ones
    # (2 x 8.4 kB) do; the answers share what is left beyond a reserved float32 query: none
    results, summaries = run(tmp_path / "tight", checkpoint, images, 20_000)
    for frame in results:
        for target, result in frame.items():
            assert result is not None and result.fused is not None, target
            # empty answers still arrive: the target did not wait for its deadline
            assert result.answered_by == set(frame) - {target}
    for agent, summary in summaries.items():
        budget = summary["send_budget"]
        assert budget["rate_bytes_per_s"] == 20_000
        assert budget["trimmed_cells"] > 0 and summary["cells_sent"] == 0, agent
        queries = [r for r in summary["bandwidth"]["topics"] if r["topic"] == "mash/query"
                   and r["direction"] == "sent"][0]
        # every query went out cheaper than the configured float32 (int8, or float16 when a
        # peer was not live yet and one copy fitted)
        assert budget["cheaper_queries"] == queries["messages"] >= len(images), agent
        assert queries["bytes"] < queries["messages"] * FLOAT32_QUERY_BYTES
