"""``mash-swarm``: run the swarm's node plan as separate OS processes (no ros2 CLI needed).

Starts exactly the nodes ``ros2 launch mash_ros swarm.launch.py`` would (same plan, same
parameters), prefixes their output with the drone name, forwards SIGINT/SIGTERM to all of them
and waits for a clean shutdown. If one node exits on its own the others keep running: the swarm
degrades, it does not stop. The nodes die with the runner (PR_SET_PDEATHSIG), even if it is
SIGKILLed. Exit status 1, naming the drones, if a node exited with an error or was killed, or
(with ``-p summary_path:=…``) left no valid summary.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import signal
import subprocess
import sys
import threading
import time

import yaml

from mash_ros.swarm.keyfile import KeyFileError
from mash_ros.swarm.plan import (
    LAUNCH_ARGUMENTS,
    NodeSpec,
    build_plan,
    prepare_keys,
    ros_arguments,
)
from mash_ros.tools.children import popen_options
from mash_ros.tools.ros_env import ros_child_env


class SwarmProcesses:
    """The running processes of a node plan."""

    def __init__(self, plan: list[NodeSpec], extra_parameters: dict | None = None,
                 env: dict | None = None, quiet: bool = False):
        self.plan, self.env, self.quiet = plan, env or ros_child_env(), quiet
        self.extra = extra_parameters or {}
        self.procs: dict[str, subprocess.Popen] = {}

    def parameters(self, spec: NodeSpec) -> dict:
        """The node's parameters; '{agent}' in a string parameter becomes the drone name
        (e.g. ``-p summary_path:=out/{agent}.json`` gives every drone its own file)."""
        return {name: value.replace("{agent}", spec.agent) if isinstance(value, str) else value
                for name, value in {**spec.parameters, **self.extra}.items()}

    def command(self, spec: NodeSpec) -> list[str]:
        """The node's command line."""
        spec = NodeSpec(spec.agent, spec.params_file, self.parameters(spec))
        return [sys.executable, "-m", spec.module, *ros_arguments(spec)]

    def start(self, agent: str | None = None) -> None:
        """Start every node (or just ``agent``'s, e.g. to restart it)."""
        prepare_keys(self.plan)
        for spec in self.plan:
            if agent is None or spec.agent == agent:
                proc = subprocess.Popen(self.command(spec), env=self.env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        **popen_options())
                self.procs[spec.agent] = proc
                threading.Thread(target=self._relay, args=(spec.agent, proc), daemon=True).start()

    def _relay(self, agent: str, proc: subprocess.Popen) -> None:
        """Quiet: errors only, but a traceback whole (everything after its first line)."""
        loud = not self.quiet
        for line in proc.stdout:
            loud = loud or "Traceback" in line
            if loud or "ERROR" in line:
                sys.stderr.write(f"[{agent}] {line}")

    def stop(self, agent: str | None = None, sig=signal.SIGINT, timeout: float = 15.0) -> dict:
        """Signal nodes (all, or one) and wait; escalate to SIGKILL. Returns exit codes."""
        chosen = {a: p for a, p in self.procs.items() if agent is None or a == agent}
        for proc in chosen.values():
            if proc.poll() is None:
                proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        codes = {}
        for name, proc in chosen.items():
            try:
                codes[name] = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        return codes

    def kill(self, agent: str) -> None:
        """Kill one node abruptly (SIGKILL), as a crash or a lost drone would."""
        self.procs[agent].kill()
        self.procs[agent].wait()

    def alive(self) -> dict[str, bool]:
        return {agent: proc.poll() is None for agent, proc in self.procs.items()}

    def problems(self, codes: dict[str, int]) -> dict[str, str]:
        """What went wrong per drone, from its exit code and its summary file (if one was
        asked for): {} when every node stopped cleanly and left a valid summary."""
        found = {}
        for spec in self.plan:
            if spec.agent not in codes:
                continue
            problem = describe_exit(codes[spec.agent])
            path = self.parameters(spec).get("summary_path")
            if path and not problem:
                problem = summary_problem(pathlib.Path(path))
            if problem:
                found[spec.agent] = problem
        return found


def describe_exit(code: int) -> str:
    """'' for a clean exit, else what the exit code says."""
    if code == 0:
        return ""
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def summary_problem(path: pathlib.Path) -> str:
    """'' if ``path`` holds a JSON summary object, else what is wrong with it."""
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        return f"left no summary ({path})"
    except (OSError, ValueError) as err:
        return f"left an unreadable summary ({path}: {err})"
    return "" if isinstance(summary, dict) else f"left a summary that is not an object ({path})"


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    for arg in LAUNCH_ARGUMENTS:
        parser.add_argument("--" + arg.name.replace("_", "-"), default=arg.default,
                            help=arg.description)


def plan_from_args(ns) -> list[NodeSpec]:
    return build_plan({arg.name: getattr(ns, arg.name) for arg in LAUNCH_ARGUMENTS})


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-swarm", description=__doc__.splitlines()[0])
    add_plan_arguments(parser)
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME:=VALUE",
                        help="extra node parameter for every drone (repeatable); '{agent}' in "
                             "a value becomes the drone's name")
    parser.add_argument("--duration", type=float, default=0.0,
                        help="stop after this many seconds (0 = until Ctrl-C / SIGTERM)")
    ns = parser.parse_args(args)
    # values as YAML, the way `ros2 run … -p` reads them (1.0 is a double, [a, b] a list)
    extra = {name: yaml.safe_load(value) for name, value in (p.split(":=", 1) for p in ns.param)}
    swarm = SwarmProcesses(plan_from_args(ns), extra_parameters=extra)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    try:
        swarm.start()
    except KeyFileError as err:
        print(f"mash-swarm: {err}", file=sys.stderr)
        return 2
    print(f"mash-swarm: {len(swarm.procs)} drone nodes running "
          f"(ROS_DOMAIN_ID={swarm.env['ROS_DOMAIN_ID']}); Ctrl-C stops them", file=sys.stderr)
    started = time.monotonic()
    while not stopping.wait(0.2):
        if ns.duration and time.monotonic() - started >= ns.duration:
            break
        if not any(swarm.alive().values()):
            break
    codes = swarm.stop()
    problems = swarm.problems(codes)
    for agent, problem in problems.items():
        print(f"mash-swarm: {agent} {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
