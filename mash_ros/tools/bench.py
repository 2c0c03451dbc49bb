"""``mash-bench AREA --out FILE.json``: one benchmark command, one subcommand per area.

Each area lives in ``mash_ros/tools/bench_<area>.py`` and provides
``add_arguments(parser)`` and ``run(args) -> dict``; the dict is written as JSON to ``--out``.
Benchmarks measure; they never assert timings.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import platform
import sys
import time

AREAS = {
    "attack": "mash_ros.tools.bench_attack",
    "auth": "mash_ros.tools.bench_auth",
    "core": "mash_ros.tools.bench_core",
    "lifecycle": "mash_ros.tools.bench_lifecycle",
    "network": "mash_ros.tools.bench_network",
    "sim": "mash_ros.tools.bench_sim",
    "swarm": "mash_ros.tools.bench_swarm",
}


def machine_info() -> dict:
    """Describe the hardware the figures were measured on."""
    import os

    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="area", required=True)
    for area, module_name in AREAS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue  # area not built yet
        area_parser = sub.add_parser(area, help=(module.__doc__ or area).splitlines()[0])
        area_parser.add_argument("--out", required=True, type=pathlib.Path,
                                 help="JSON file the results are written to")
        module.add_arguments(area_parser)
        area_parser.set_defaults(_module=module)
    ns = parser.parse_args(args)
    started = time.time()
    results = ns._module.run(ns)
    report = {"area": ns.area, "machine": machine_info(),
              "wall_s": round(time.time() - started, 3), "results": results}
    ns.out.parent.mkdir(parents=True, exist_ok=True)
    ns.out.write_text(json.dumps(report, indent=2))
    print(f"mash-bench {ns.area}: wrote {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
