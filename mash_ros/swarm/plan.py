"""The swarm's node plan: which drone nodes to start, with which parameters.

Shared by ``launch/swarm.launch.py`` (``ros2 launch``) and ``mash-swarm`` (separate OS
processes where the ros2 CLI is not installed), so both start exactly the same swarm.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

from mash_ros.swarm import topics
from mash_ros.swarm.keyfile import default_key_path, ensure_key_file
from mash_ros.swarm.params import ALL, swarm_yaml

AUTO_KEY, NO_KEY = "auto", "none"


@dataclass(frozen=True)
class LaunchArgument:
    name: str
    default: str
    description: str


# Launch arguments (strings, as ros2 launch hands them over); empty = keep the YAML value.
LAUNCH_ARGUMENTS = (
    LaunchArgument("num_agents", "6", "number of drones, named drone_0 … drone_{N-1}"),
    LaunchArgument("targets", ALL, "comma-separated drones that ask for help, or 'all'"),
    LaunchArgument("params_file", "", "parameter YAML; empty = the package's config/swarm.yaml"),
    LaunchArgument("model_path", "", "trained weights; empty = the YAML value"),
    LaunchArgument("preset", "", "model preset (cpu | paper); empty = the YAML value"),
    LaunchArgument("fusion", "", "hard | soft | stacked; empty = the YAML value"),
    LaunchArgument("query_encoding", "", "float32 | float16 | int8; empty = the YAML value"),
    LaunchArgument("patch_encoding", "", "float16 | uint8 | top1 | labels; empty = the YAML value"),
    LaunchArgument("image_topic", "", "camera topic pattern, '{agent}' is replaced by the drone "
                   "name; empty = AirSim's /airsim_node/<vehicle>/<camera>/Scene"),
    LaunchArgument("swarm_key_file", AUTO_KEY, "swarm key (mash-keygen) every drone signs and "
                   "verifies with; 'auto' = $ROS_HOME/mash_swarm.key, made if missing; 'none' "
                   "= authentication off"),
)


@dataclass(frozen=True)
class NodeSpec:
    """One drone node: namespace = agent name, node name ``mash``."""

    agent: str
    params_file: pathlib.Path
    parameters: dict = field(default_factory=dict)
    package: str = "mash_ros"
    executable: str = "drone_node"
    module: str = "mash_ros.nodes.drone_node"
    name: str = "mash"


def agent_names(num_agents: int) -> list[str]:
    if not 1 <= num_agents <= 64:
        raise ValueError(f"num_agents must be in 1..64, got {num_agents}")
    return [topics.agent_name(i) for i in range(num_agents)]


def build_plan(arguments: dict[str, str] | None = None) -> list[NodeSpec]:
    """Node plan from launch-argument strings (missing ones take their defaults)."""
    values = {arg.name: arg.default for arg in LAUNCH_ARGUMENTS}
    unknown = set(arguments or {}) - set(values)
    if unknown:
        raise ValueError(f"unknown swarm arguments {sorted(unknown)}")
    values.update({k: str(v) for k, v in (arguments or {}).items()})
    agents = agent_names(int(values.pop("num_agents")))
    params_file = pathlib.Path(values.pop("params_file") or swarm_yaml())
    targets = [t.strip() for t in values.pop("targets").split(",") if t.strip()]
    stray = set(targets) - set(agents) - {ALL}
    if stray or not targets:
        raise ValueError(f"targets {targets} must be 'all' or drones of {agents}")
    topic_pattern = values.pop("image_topic")
    key = values.pop("swarm_key_file")
    shared = {"agents": agents, "targets": targets,
              "swarm_key_file": {AUTO_KEY: str(default_key_path()), NO_KEY: ""}.get(key, key)}
    shared.update({name: value for name, value in values.items() if value != ""})
    plan = []
    for agent in agents:
        parameters = dict(shared)
        if topic_pattern:
            parameters["image_topic"] = topic_pattern.replace("{agent}", agent)
        plan.append(NodeSpec(agent=agent, params_file=params_file, parameters=parameters))
    return plan


def prepare_keys(plan: list[NodeSpec]) -> None:
    """Make the plan's swarm key file if it does not exist yet (KeyFileError if it is
    unusable): the launch file and mash-swarm call this before starting any node."""
    for path in {spec.parameters.get("swarm_key_file") for spec in plan} - {"", None}:
        ensure_key_file(path)


def _param_literal(value) -> str:
    """A -p value rclpy parses back to the same type (it reads them as YAML)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_param_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def ros_arguments(spec: NodeSpec) -> list[str]:
    """Command-line ROS arguments that configure one node like ros2 launch would."""
    args = ["--ros-args", "-r", f"__ns:=/{spec.agent}", "-r", f"__node:={spec.name}",
            "--params-file", str(spec.params_file)]
    for name, value in spec.parameters.items():
        args += ["-p", f"{name}:={_param_literal(value)}"]
    return args
