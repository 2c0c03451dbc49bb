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


def test_shipped_bench_times_the_bundled_model_on_real_answers():
    from mash_ros.core.paths import package_file
    from mash_ros.sim.sample import ensure_sample
    from mash_ros.tools.bench_shipped import time_shipped

    torch.set_num_threads(1)
    result = time_shipped(str(package_file("models", "mash_cpu.pt")), str(ensure_sample()), 1,
                          "labels")
    assert result["snapshots"] == 1 and result["patch_encoding"] == "labels"
    assert result["entries_per_frame"] > 0  # real answers reach the fuse
    ratios = result["ratio_to_backbone_t"]
    assert set(ratios) == {"target", "supporter", "encode", "fuse", "respond"}
    # the totals are the sums of their parts' paired ratios (up to the median's pairing)
    assert ratios["target"] > ratios["fuse"] > 0 and ratios["supporter"] > ratios["respond"] > 0
