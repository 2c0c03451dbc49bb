"""``mash-demo``: the main job — a live 6-drone MASH swarm fed from a bag, recorded, evaluated.

The bundled sample bag (``mash_ros.sim.sample``: 50 snapshots, 6 drones, AirSim ROS 2 wrapper
layout plus ground truth) and the bundled weights (models/mash_cpu.pt) drive the same pipeline a
user runs by hand:

    mash-swarm --num-agents 6            one drone node per drone, separate processes
    mash-record out/demo/recording       the swarm's outputs and inter-drone messages
    mash-replay <sample bag>             lock-step at the recorded rate (loses no frame)
    mash-evaluate-bag <bag> <recording>  Table I metrics, bandwidth, latency, lost frames

and prints the report: mIoU and obstructed-region mIoU of the swarm against a single drone,
bytes per topic against raw images, latency; plus a PNG montage (input, single agent, swarm,
ground truth) of the snapshots with the largest obstructions. Files go to out/demo/.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from mash_ros.bags.errors import BagError
from mash_ros.core.paths import PACKAGE_ROOT
from mash_ros.swarm.keyfile import generate_key_file
from mash_ros.tools.children import popen_options
from mash_ros.tools.ros_env import ros_child_env

BANDWIDTH_PERIOD_S = 1.0  # the nodes' default: wait this long for their last report
STOP_TIMEOUT_S = 30.0


class DemoError(RuntimeError):
    """A step of the live pipeline failed; the message says which and where its log is."""


def bundled_model() -> Path:
    """The bundled weights; DemoError with what to do if they are missing or broken."""
    from mash_ros.core.paths import package_file

    try:
        path = package_file("models", "mash_cpu.pt")
    except FileNotFoundError as err:
        raise DemoError(f"the bundled weights models/mash_cpu.pt are missing ({err}). Train "
                        f"them (see README, mash-train) or run `mash-demo --model PATH` with "
                        f"a cpu-preset MASH checkpoint") from err
    check_model(path)
    return path


def check_model(path: Path) -> dict:
    from mash_ros.core.checkpoint import ModelFileError, load_checkpoint

    try:
        return load_checkpoint(path, expected_kind="mash")[2]
    except ModelFileError as err:
        raise DemoError(f"cannot use the weights: {err}") from err


def _stop(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT_S) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def _tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_live(bag: Path, model: Path, workdir: Path, num_agents: int = 6,
             node_params: dict | None = None, replay_args: list[str] | None = None,
             storage: str = "mcap", quiet: bool = False) -> dict:
    """Swarm + recorder + replay as separate processes (one ROS domain of their own).

    Returns {"recording": path, "replay": mash-replay's statistics, "timing_s": {...},
    "drones": {agent: the node's JSON summary}} (summaries in ``workdir``/drones unless
    ``node_params`` names a ``summary_path`` of its own; then "drones" is empty). Logs of the
    swarm and the recorder are in ``workdir``; DemoError if a step fails.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    recording, drones = workdir / "recording", workdir / "drones"
    for stale in (recording, drones):
        if stale.exists():
            shutil.rmtree(stale)
    env = ros_child_env()
    python = sys.executable
    params = {"model_path": str(model), "summary_path": f"{drones}/{{agent}}.json",
              **(node_params or {})}
    # the drones sign and verify every query, answer and heartbeat with a key of this run
    key = generate_key_file(workdir / "swarm.key", overwrite=True)
    swarm_cmd = [python, "-m", "mash_ros.tools.swarm", "--num-agents", str(num_agents),
                 "--swarm-key-file", str(key)]
    for name, value in params.items():
        swarm_cmd += ["-p", f"{name}:={value}"]
    record_cmd = [python, "-m", "mash_ros.tools.record", str(recording), "--num-agents",
                  str(num_agents), "--storage", storage]
    summary = workdir / "replay.json"
    replay_cmd = [python, "-m", "mash_ros.tools.replay", str(bag), "--wait-recorder",
                  "--summary", str(summary), *(replay_args or [])]
    if quiet:
        replay_cmd.append("--quiet")
    logs = {"swarm": workdir / "swarm.log", "record": workdir / "record.log"}
    timing = {}
    started = time.monotonic()
    procs = {}
    try:
        with open(logs["swarm"], "w") as swarm_log, open(logs["record"], "w") as record_log:
            # both die with the demo, however it dies (no orphan swarm)
            procs["swarm"] = subprocess.Popen(swarm_cmd, env=env, stdout=swarm_log,
                                              stderr=subprocess.STDOUT, **popen_options())
            procs["record"] = subprocess.Popen(record_cmd, env=env, stdout=record_log,
                                               stderr=subprocess.STDOUT, **popen_options())
            replay = subprocess.run(replay_cmd, env=env,
                                    stdout=subprocess.DEVNULL if quiet else None,
                                    stderr=subprocess.PIPE if quiet else None, text=True)
            timing["swarm_and_replay"] = time.monotonic() - started
            if replay.returncode != 0:
                raise DemoError(f"mash-replay failed (exit {replay.returncode})"
                                + (f": {replay.stderr.strip()}" if replay.stderr else "")
                                + f"\nswarm log ({logs['swarm']}):\n{_tail(logs['swarm'])}")
            time.sleep(BANDWIDTH_PERIOD_S + 0.5)  # the nodes' last bandwidth reports
    finally:
        codes = {name: _stop(proc) for name, proc in reversed(procs.items())}
    if codes.get("record") != 0:
        raise DemoError(f"mash-record exited with {codes.get('record')}; its log "
                        f"({logs['record']}):\n{_tail(logs['record'])}")
    if codes.get("swarm") not in (0, -signal.SIGINT):
        print(f"mash-demo: warning: mash-swarm exited with {codes['swarm']}; its log "
              f"({logs['swarm']}) ends:\n{_tail(logs['swarm'])}", file=sys.stderr)
    stats = json.loads(summary.read_text())
    timing["warmup"] = stats["warmup_s"]
    timing["replay"] = stats["replay_s"]
    return {"recording": recording, "replay": stats, "timing_s": timing,
            "drones": _read_summaries(drones)}


def _read_summaries(folder: Path) -> dict:
    """{agent: summary} of the JSON summaries the drones left in ``folder`` (a missing or
    broken one is left out; mash-swarm has already said which drone ended badly)."""
    found = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            found[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    return found


def swarm_counts(summaries: dict) -> dict:
    """What the drones counted, summed over the swarm: frames fused (and how many of them at
    their deadline, i.e. without every answer), answers sent and used, messages dropped."""
    keys = ("frames", "fused", "fused_by_deadline", "answers_sent", "answers_used", "dropped")
    return {"drones": len(summaries),
            **{k: sum(int(s.get(k) or 0) for s in summaries.values()) for k in keys}}


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-demo", description=__doc__.split("\n\n")[0]
                                     .split(": ", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--model", default=None, help="weights (default: models/mash_cpu.pt)")
    parser.add_argument("--bag", default=None, help="input bag (default: the bundled sample)")
    parser.add_argument("--out", default=str(PACKAGE_ROOT / "out" / "demo"))
    parser.add_argument("--num-agents", type=int, default=6)
    parser.add_argument("--count", type=int, default=0,
                        help="replay only the first N snapshots (0 = all)")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="replay rate (lock-step; 0 = as fast as the swarm keeps up)")
    parser.add_argument("--offline", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the model offline over the same frames (reference)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME:=VALUE",
                        help="extra drone-node parameter (repeatable)")
    ns = parser.parse_args(args)
    t0 = time.monotonic()

    def step(text: str) -> None:
        print(f"[{time.monotonic() - t0:6.1f} s] {text}", flush=True)

    from mash_ros.atomic import write_json_atomic
    from mash_ros.bags.evaluation import evaluate_recording
    from mash_ros.bags.montage import save_montage
    from mash_ros.tools.evaluate_bag import format_report

    out = Path(ns.out)
    report_path, montage_path = out / "report.json", out / "montage.png"
    for stale in (report_path, montage_path):
        if stale.exists():
            stale.unlink()
    try:
        step("checking the weights")
        model = Path(ns.model) if ns.model else bundled_model()
        card = check_model(model)
        step(f"model {model} (preset {card.get('preset')}, sha256 {card['sha256'][:12]}…)")
        if ns.bag:
            bag = Path(ns.bag)
        else:
            from mash_ros.sim.sample import ensure_sample_bag

            step("exporting the bundled sample as a rosbag2 (first run only)")
            bag = ensure_sample_bag()
        step(f"input bag {bag}")
        step(f"starting {ns.num_agents} drone nodes (mash-swarm) and mash-record; mash-replay "
             f"warms up until every drone answers (loading the model takes a while)")
        params = dict(p.split(":=", 1) for p in ns.param)
        replay_args = ["--rate", str(ns.rate)] + (["--count", str(ns.count)] if ns.count else [])
        live = run_live(bag, model, out, ns.num_agents, params, replay_args)
        step(f"replayed {live['replay']['snapshots']} snapshots in {live['timing_s']['replay']:.1f}"
             f" s (warm-up {live['timing_s']['warmup']:.1f} s); evaluating the recording")
        result = evaluate_recording(bag, live["recording"], montage=4)
        report = result.report
        if ns.offline:
            from mash_ros.bags.offline import evaluate_offline

            step("offline reference: the same model over the same frames, without ROS")
            report["offline"] = evaluate_offline(bag, model, frames=result.scored)["metrics"]
        report["demo"] = {"model": str(model), "model_card": {k: card.get(k) for k in (
            "name", "preset", "sha256", "metrics", "note", "created") if k in card},
            "num_agents": ns.num_agents, "replay": live["replay"],
            "drone_counts": swarm_counts(live["drones"]),
            "timing_s": {**live["timing_s"], "total": time.monotonic() - t0}}
        write_json_atomic(report_path, report)
        if result.rows:
            save_montage(montage_path, result.rows,
                         f"MASH, {ns.num_agents} drones, live run replayed from {bag.name}")
    except (DemoError, BagError) as err:
        print(f"mash-demo: error: {err}", file=sys.stderr)
        return 2
    step("done")
    print()
    print(f"== MASH live swarm: {ns.num_agents} drone processes, {bag.name}, weights "
          f"{model.name} ==")
    print(format_report(report))
    counts = report["demo"]["drone_counts"]
    print(f"drones ({counts['drones']} summaries, warm-up included): {counts['fused']} frames "
          f"fused, "
          f"{counts['fused_by_deadline']} of them at their deadline without every answer; "
          f"answers sent {counts['answers_sent']}, used {counts['answers_used']}; "
          f"messages dropped {counts['dropped']}")
    print()
    timing = report["demo"]["timing_s"]
    print(f"time: swarm start-up + warm-up {timing['warmup']:.1f} s, replay {timing['replay']:.1f}"
          f" s, total {timing['total']:.1f} s")
    print(f"files: {report_path}, {montage_path if result.rows else '(no montage)'}, "
          f"{live['recording']}/")
    return 0 if report["complete"] else 3


if __name__ == "__main__":
    sys.exit(main())
