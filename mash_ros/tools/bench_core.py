"""Per-role compute of the MASH core relative to the backbone (paper Table I "Compute Time").

t = one SegNet forward. Target = encode + fuse (N-1 responses); supporter = encode + respond to one
query. The paper reports 1.09t / 1.69t (RTX 2080, 256x256). Times are medians over repeats of
single-image calls (batch 1, inference mode, as a node runs them); memory is the peak-RSS
increase of one call of each role in a fresh subprocess (VmHWM after resetting it via
/proc/self/clear_refs; torch allocations are invisible to tracemalloc). The first call includes
one-off allocator/oneDNN costs.
"""
from __future__ import annotations

import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def add_arguments(parser) -> None:
    parser.add_argument("--presets", nargs="+", default=["cpu", "paper"])
    parser.add_argument("--repeats", type=int, default=0,
                        help="timed calls per stage (0: 50 for cpu, 5 for larger presets)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (0: torch's default). Default 1: one agent "
                             "per process, several processes per machine, and on a shared 2-core "
                             "machine OpenMP spin-waits make multi-thread timings erratic")
    parser.add_argument("--send-fraction", type=float, default=0.3,
                        help="fraction r of target cells in each synthetic response fed to fuse")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-memory", action="store_true", help="skip the subprocess memory runs")
    parser.add_argument("--shipped-snapshots", type=int, default=10,
                        help="also time the bundled model on this many sample snapshots, as the "
                             "swarm runs it (0: skip; bench_shipped.py)")


def _time_interleaved(stages: dict, repeats: int, device: str) -> dict:
    """Seconds per stage and round (lists). Stages run round-robin so that load from other
    processes on a shared machine hits every stage alike instead of biasing one of them.
    Each timed call follows an untimed one of the same stage (warm caches for every stage)."""
    import torch

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    for fn in stages.values():  # warm-up: allocator, oneDNN primitive caches
        for _ in range(2):
            fn()
    sync()
    times = {name: [] for name in stages}
    for _ in range(repeats):
        for name, fn in stages.items():
            fn()  # untimed: the stage's weights are back in cache, as in a steady loop
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def _setup(preset: str, fusion: str, device: str, send_fraction: float, seed: int = 0,
           encode: bool = True):
    """Model, one image, a supporter state, a query and N-1 synthetic responses.

    With ``encode=False`` the state is random tensors of the right shapes, so that no backbone
    call has raised the process's peak RSS before a memory measurement.
    """
    import torch

    from mash_ros.core.config import load_preset
    from mash_ros.core.models import build_model
    from mash_ros.core.roles import AgentState, Response

    torch.manual_seed(seed)
    cfg = load_preset(preset, fusion=fusion)
    model = build_model(cfg).eval().to(device)
    image = torch.rand(1, 3, cfg.image_height, cfg.image_width, device=device)
    gh, gw, c = cfg.grid_height, cfg.grid_width, cfg.num_classes
    if encode:
        with torch.inference_mode():
            state = model.encode(image)
    else:
        logits = torch.randn(1, c, cfg.image_height, cfg.image_width, device=device)
        state = AgentState(torch.randn(1, model.backbone.feature_channels, gh, gw, device=device),
                           torch.randn(1, cfg.key_dim, gh, gw, device=device),
                           torch.randn(1, cfg.query_dim, gh, gw, device=device),
                           logits, torch.softmax(logits, 1), torch.rand(1, gh, gw, device=device))
    # the query a supporter receives; its own state is the same snapshot (timing only)
    query = state.query[0]
    n_send = max(1, int(round(send_fraction * cfg.num_cells)))
    p = cfg.patch_size
    responses = []
    for _ in range(cfg.num_agents - 1):
        ids = torch.randperm(cfg.num_cells, device=device)[:n_send].sort().values
        patches = torch.softmax(torch.randn(n_send, c, p, p, device=device), 1)
        responses.append(Response(ids, patches, torch.rand(n_send, device=device), ids, (gh, gw)))
    return cfg, model, image, state, query, responses


def _time_preset(preset: str, repeats: int, device: str, send_fraction: float) -> dict:
    import torch

    from mash_ros.core.handshake import cost_volume, no_match_score
    from mash_ros.core.warp import match_and_confidence, select_cells

    cfg, model, image, state, query, responses = _setup(preset, "hard", device, send_fraction)
    repeats = repeats or (50 if preset == "cpu" else 5)
    q1, k1 = query.unsqueeze(0), state.key
    with torch.inference_mode():
        volume = cost_volume(model.qk_transform(q1), k1)
        smoothed = model.smoother(volume)
        logits = model.consensus(smoothed)
        features, seg_logits = model.backbone(image)

    def heads():
        """Everything encode adds to the backbone: query/key encoders, own confidence, softmax."""
        q = model.query_encoder(features)
        return (q, model.key_encoder(features), torch.softmax(seg_logits, 1),
                model.self_confidence(no_match_score(model.qk_transform(q)), features))

    def select():
        conf, match = match_and_confidence(logits)
        return select_cells(conf, match, logits.shape[1] - 1, model.confidence_threshold,
                            model.cell_budget)

    stages = {
        "backbone": lambda: model.backbone(image),
        "encode": lambda: model.encode(image),
        "encode.heads": heads,
        "respond": lambda: model.respond(query, state),
        "respond.qk_and_cost_volume": lambda: cost_volume(model.qk_transform(q1), k1),
        "respond.smoother": lambda: model.smoother(volume),
        "respond.consensus": lambda: model.consensus(smoothed),
        "respond.softmax_select": select,
    }
    for fusion in ("hard", "soft", "stacked"):
        _, m2, _, st2, _, resp2 = _setup(preset, fusion, device, send_fraction)
        stages[f"fuse.{fusion}"] = (lambda m=m2, s=st2, r=resp2: m.fuse(s, r))
        stages[f"fuse.{fusion}.no_responses"] = (lambda m=m2, s=st2: m.fuse(s, []))
    with torch.inference_mode():
        times = _time_interleaved(stages, repeats, device)
    ms = {k: statistics.median(v) for k, v in times.items()}

    def ratio(*names):
        """Median over rounds of (sum of the stages) / backbone, paired within each round, so
        that load from other processes cancels instead of adding noise to a ratio of medians."""
        return statistics.median(sum(times[n][i] for n in names) / times["backbone"][i]
                                 for i in range(repeats))

    ratios = {
        "encode": ratio("encode"),
        "respond": ratio("respond"),
        **{f"target.{f}": ratio("encode", f"fuse.{f}") for f in ("hard", "soft", "stacked")},
        "supporter": ratio("encode", "respond"),
        **{f"fuse.{f}": ratio(f"fuse.{f}") for f in ("hard", "soft", "stacked")},
        "encode.heads": ratio("encode.heads"),
    }
    # the same totals from the small parts (1 + what each role adds to the backbone): robust to
    # the +-5% noise that load from other processes puts on the backbone-sized encode time
    parts = {
        **{f"target.{f}": 1 + ratios["encode.heads"] + ratios[f"fuse.{f}"]
           for f in ("hard", "soft", "stacked")},
        "supporter": 1 + ratios["encode.heads"] + ratios["respond"],
    }
    params = {name: sum(p.numel() for p in mod.parameters())
              for name, mod in model.named_children()}
    return {
        "config": cfg.to_dict(),
        "repeats": repeats,
        "responses_fused": cfg.num_agents - 1,
        "cells_per_response": max(1, int(round(send_fraction * cfg.num_cells))),
        "median_ms": {k: round(v * 1e3, 3) for k, v in ms.items()},
        "min_ms": {k: round(min(v) * 1e3, 3) for k, v in times.items()},
        "ratio_to_backbone_t": {k: round(v, 3) for k, v in ratios.items()},
        "ratio_to_backbone_t_from_parts": {k: round(v, 3) for k, v in parts.items()},
        "paper_ratio_to_t": {"target": 1.09, "supporter": 1.69},
        "parameters": params,
    }


def _status_mib(field: str) -> float:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0  # kB
    raise KeyError(field)


def _reset_peak_rss() -> bool:
    """Linux >= 4.0: writing 5 to clear_refs resets VmHWM (peak RSS) to the current RSS."""
    try:
        pathlib.Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure_role_memory(preset: str, role: str, device: str = "cpu",
                        send_fraction: float = 0.3) -> dict:
    """Run in a fresh process: peak-RSS increase (MiB) of the first call of one role."""
    import torch

    cfg, model, image, state, query, responses = _setup(preset, cfg_fusion(preset), device,
                                                        send_fraction, encode=False)
    calls = {"backbone": lambda: model.backbone(image), "encode": lambda: model.encode(image),
             "respond": lambda: model.respond(query, state),
             "fuse": lambda: model.fuse(state, responses)}
    with torch.inference_mode():
        before = _status_mib("VmRSS")
        if not _reset_peak_rss():  # fall back to the lifetime peak (may hide the call's peak)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        calls[role]()
        peak = _status_mib("VmHWM")
    return {"role": role, "rss_before_mib": round(before, 1),
            "peak_increase_mib": round(peak - before, 1)}


def cfg_fusion(preset: str) -> str:
    from mash_ros.core.config import load_preset

    return load_preset(preset).fusion


def _memory(preset: str, device: str, threads: int, send_fraction: float) -> dict:
    result = {}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    for role in ("backbone", "encode", "respond", "fuse"):
        code = ("import json, torch\n"
                f"torch.set_num_threads({threads})\n" if threads else "import json\n")
        code += ("from mash_ros.tools.bench_core import measure_role_memory\n"
                 f"print(json.dumps(measure_role_memory({preset!r}, {role!r}, {device!r}, "
                 f"{send_fraction!r})))\n")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, check=False)
        if proc.returncode != 0:
            result[role] = {"error": proc.stderr.strip().splitlines()[-1:]}
        else:
            result[role] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run(args) -> dict:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    results = {"torch_threads": torch.get_num_threads(), "device": args.device,
               "send_fraction": args.send_fraction, "presets": {}}
    for preset in args.presets:
        entry = _time_preset(preset, args.repeats, args.device, args.send_fraction)
        if not args.no_memory:
            entry["memory"] = _memory(preset, args.device, args.threads, args.send_fraction)
        results["presets"][preset] = entry
        print(f"{preset}: " + json.dumps(entry["ratio_to_backbone_t"]), flush=True)
        print(f"{preset} from parts: " + json.dumps(entry["ratio_to_backbone_t_from_parts"]),
              flush=True)
    if args.shipped_snapshots:
        from mash_ros.core.paths import package_file
        from mash_ros.sim.sample import ensure_sample
        from mash_ros.swarm.params import default
        from mash_ros.tools.bench_shipped import time_shipped

        shipped = time_shipped(str(package_file("models", "mash_cpu.pt")), str(ensure_sample()),
                               args.shipped_snapshots, default("patch_encoding"))
        results["shipped"] = shipped
        print(f"shipped (bundled weights, sample, {shipped['entries_per_frame']:.0f} answer cells "
              "per frame): " + json.dumps(shipped["ratio_to_backbone_t"]), flush=True)
    return results
