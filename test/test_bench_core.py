"""mash-bench core runs every stage it times (a smoke test: no timing is asserted)."""
import torch

from mash_ros.tools.bench_core import _time_preset


def test_core_bench_times_every_stage_of_the_cpu_preset():
    torch.set_num_threads(1)
    result = _time_preset("cpu", repeats=2, device="cpu", send_fraction=0.3)
    stages = result["median_ms"]
    for stage in ("backbone", "encode", "encode.heads", "respond", "respond.smoother",
                  "respond.consensus", "fuse.hard", "fuse.stacked.no_responses"):
        assert stages[stage] > 0
    assert set(result["ratio_to_backbone_t"]) >= {"encode", "respond", "supporter",
                                                   "target.hard"}
