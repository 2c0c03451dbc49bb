"""Per-role compute of the bundled model on real snapshots, as the swarm runs it.

``bench_core``'s preset timings feed the fuse synthetic responses from untrained weights: the
target's answer verification then finds almost no cell it is sure of and skips most of its
work, and the number of cells follows ``--send-fraction`` instead of the threshold. This
measures what the issue's compute bar is about: the bundled weights and inference settings, the
sample's snapshots (a target and its five supporters), answers through the default patch codec
at the model's own threshold. t = one SegNet forward; target = encode + fuse; supporter =
encode + respond; stages interleaved as ``bench_core`` runs them, each ratio paired within
its round.
"""
from __future__ import annotations

import statistics

REPEATS_PER_SNAPSHOT = 5


def time_shipped(model_path: str, data: str, snapshots: int, patch_encoding: str) -> dict:
    """{"snapshots", "entries_per_frame", "ratio_to_backbone_t", "median_ms"} of the model at
    ``model_path`` on the first ``snapshots`` snapshots of the mash-sim split ``data``."""
    import torch

    from mash_ros.core.checkpoint import load_checkpoint
    from mash_ros.core.roles import preprocess
    from mash_ros.core.wire_roundtrip import through_wire
    from mash_ros.sim.format import SimReader
    from mash_ros.tools.bench_core import _time_interleaved

    model, cfg, _ = load_checkpoint(model_path, expected_kind="mash")
    reader = SimReader(data)
    times = {"backbone": [], "encode": [], "respond": [], "fuse": []}
    entries = []
    with torch.inference_mode():
        for index in range(min(snapshots, len(reader))):
            item = reader.read(index)
            target = int(item["info"]["target"])
            order = [target] + [a for a in range(len(item["rgb"])) if a != target]
            images = [preprocess(item["rgb"][a], (cfg.image_height, cfg.image_width))
                      for a in order]
            states = [model.encode(image) for image in images]
            query = states[0].query[0]
            responses = [through_wire(model.respond(query, state), patch_encoding)[0]
                         for state in states[1:]]
            entries.append(sum(r.num_cells for r in responses))
            stages = {"backbone": lambda: model.backbone(images[0]),
                      "encode": lambda: model.encode(images[0]),
                      "respond": lambda: model.respond(query, states[1]),
                      "fuse": lambda: model.fuse(states[0], responses)}
            for name, taken in _time_interleaved(stages, REPEATS_PER_SNAPSHOT, "cpu").items():
                times[name].extend(taken)

    def ratio(*names):
        return statistics.median(sum(times[n][i] for n in names) / times["backbone"][i]
                                 for i in range(len(times["backbone"])))

    return {
        "model": str(model_path), "data": str(data), "snapshots": len(entries),
        "patch_encoding": patch_encoding, "confidence_threshold": model.confidence_threshold,
        "entries_per_frame": statistics.mean(entries),
        "median_ms": {k: round(statistics.median(v) * 1e3, 3) for k, v in times.items()},
        "ratio_to_backbone_t": {"target": round(ratio("encode", "fuse"), 3),
                                "supporter": round(ratio("encode", "respond"), 3),
                                "encode": round(ratio("encode"), 3),
                                "fuse": round(ratio("fuse"), 3),
                                "respond": round(ratio("respond"), 3)},
    }
