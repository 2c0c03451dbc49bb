"""``mash-netlab``: run the swarm with each drone on its own (namespaced) host, links capped.

  mash-netlab check                      can this machine make the lab? (exit 2 if not)
  mash-netlab clean                      delete labs whose maker died (SIGKILL, power loss)
  mash-netlab run --agents 3 --cap-mbit 2 [--frames 20] [--discovery server|static]
                                         the sample through the lab at one cap; prints the
                                         measurements (and writes them with --out FILE.json)

Needs root (network namespaces, veths, tc). Everything it makes is gone when it exits, also on
Ctrl-C, SIGTERM or an error; after a SIGKILL the next run (or ``clean``) sweeps it.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import signal
import sys
import tempfile

from mash_ros.atomic import write_json_atomic
from mash_ros.netlab import lab as netlab
from mash_ros.netlab.discovery import MODES

UNAVAILABLE = 2


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared with ``mash-bench network``."""
    parser.add_argument("--agents", type=int, default=6, help="drones (namespaces)")
    parser.add_argument("--frames", type=int, default=0,
                        help="snapshots to send (0 = all of the data)")
    parser.add_argument("--period-s", type=float, default=0.5,
                        help="at least this long between snapshots (the sample's 2/s)")
    parser.add_argument("--discovery", choices=MODES, default="server",
                        help="discovery server on the ground station, or static peers")
    parser.add_argument("--no-budget", action="store_true",
                        help="leave send_budget_bps at 0 (unlimited) whatever the cap")
    parser.add_argument("--fastdds-xml", default=None,
                        help="Fast DDS XML profile for the drone processes, e.g. "
                             "config/fastdds_flow_controller.xml (its flow controller's rate is "
                             "set from the cap)")
    parser.add_argument("--multicast-queries", action="store_true",
                        help="queries by multicast to one group (an experiment: the accounting "
                             "and the budget still charge one copy per peer)")
    parser.add_argument("--deadline-s", type=float, default=None,
                        help="drone parameter deadline_s (default: config/swarm.yaml's)")
    parser.add_argument("--model", default=None, help="weights (default: bundled mash_cpu.pt)")
    parser.add_argument("--data", default=None,
                        help="simulator data directory (default: the bundled sample)")


def _raise_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the lab's ``with`` blocks tear it down."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def run_one(ns, cap_mbit: float | None, workdir: pathlib.Path) -> dict:
    """The data through the lab at one cap (None = uncapped); outputs included."""
    from mash_ros.netlab.measure import budget_for_cap, run_in_lab
    from mash_ros.tools.bench_swarm import load_snapshots

    cap_bit = None if cap_mbit is None else int(cap_mbit * 1e6)
    frames = ns.frames or _data_length(ns.data)
    images = load_snapshots(ns.data, frames, ns.agents)
    parameters = {"send_budget_bps": 0 if ns.no_budget else budget_for_cap(cap_bit),
                  **node_parameters(ns)}
    return run_in_lab(ns.agents, cap_bit, images, parameters, workdir, ns.period_s,
                      ns.discovery, fastdds_xml=ns.fastdds_xml,
                      multicast_queries=ns.multicast_queries)


def node_parameters(ns) -> dict:
    """Drone parameters the options set (lab and same-host runs alike)."""
    parameters = {"model_path": str(ns.model)} if ns.model else {}
    if ns.deadline_s is not None:
        parameters["deadline_s"] = float(ns.deadline_s)
    return parameters


def _data_length(data: str | None) -> int:
    from mash_ros.sim.dataset import MashSimDataset
    from mash_ros.sim.sample import ensure_sample

    return len(MashSimDataset(data or ensure_sample(), keys=("rgb",)))


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-netlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="exit 0 if the lab can be made here, else one line and 2")
    sub.add_parser("clean", help="delete the namespaces of labs whose maker is gone")
    run = sub.add_parser("run", help="the sample through the lab at one cap")
    add_run_arguments(run)
    run.add_argument("--cap-mbit", type=float, default=2.0,
                     help="per-drone link cap, Mbit/s each way (0 = uncapped)")
    run.add_argument("--out", type=pathlib.Path, default=None, help="JSON of the measurements")
    ns = parser.parse_args(args)
    try:
        netlab.check_permitted()
    except netlab.LabUnavailable as err:
        print(f"mash-netlab: {err}", file=sys.stderr)
        return UNAVAILABLE
    if ns.command == "check":
        print("mash-netlab: network namespaces, veths and tc available")
        return 0
    if ns.command == "clean":
        swept = netlab.sweep_stale()
        print(f"mash-netlab: removed {len(swept)} stale namespaces {swept}")
        return 0
    _raise_on_sigterm()
    from mash_ros.netlab.measure import without_outputs

    with tempfile.TemporaryDirectory(prefix="mash-netlab-") as tmp:
        try:
            result = without_outputs(run_one(ns, ns.cap_mbit or None, pathlib.Path(tmp)))
        except KeyboardInterrupt:
            print("mash-netlab: interrupted; the lab is torn down", file=sys.stderr)
            return 130
    text = json.dumps(result, indent=2)
    if ns.out:
        write_json_atomic(ns.out, result)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
