"""Typed drone-node parameters, with defaults and descriptions from ``config/swarm.yaml``.

The YAML is the one source: its values are the defaults, its end-of-line comments the
parameter descriptions the node declares (visible in ``ros2 param describe``).
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
from dataclasses import dataclass

import yaml

from mash_ros.core.codecs import PATCH_ENCODINGS, QUERY_ENCODINGS
from mash_ros.core.paths import package_file

ALL = "all"
_COMMENT = re.compile(r"^\s{4}(\w+):.*?#\s*(.+)$")


@dataclass(frozen=True)
class DroneParams:
    """Everything a drone node is configured with (see config/swarm.yaml for meanings)."""

    agents: tuple[str, ...]
    targets: tuple[str, ...]
    vehicle_name: str
    camera_name: str
    image_topic: str
    model_path: str
    preset: str
    fusion: str
    confidence_threshold: float
    cell_budget: int
    query_encoding: str
    patch_encoding: str
    deadline_s: float
    stamp_tolerance_s: float
    peer_timeout_s: float
    state_buffer_size: int
    max_message_bytes: int
    swarm_key_file: str
    replay_window_s: float
    bandwidth_period_s: float
    drop_summary_period_s: float
    summary_path: str
    publish_visualisation: bool
    torch_threads: int

    def camera_topic(self, agent: str) -> str:
        """The image topic: explicit, else AirSim ROS 2 wrapper's Scene topic."""
        vehicle = self.vehicle_name or agent
        return self.image_topic or f"/airsim_node/{vehicle}/{self.camera_name}/Scene"

    def is_target(self, agent: str) -> bool:
        return ALL in self.targets or agent in self.targets

    def peers(self, agent: str) -> tuple[str, ...]:
        return tuple(a for a in self.agents if a != agent)


def swarm_yaml() -> pathlib.Path:
    return package_file("config", "swarm.yaml")


def load_defaults(path: str | pathlib.Path | None = None) -> dict[str, tuple[object, str]]:
    """{name: (default value, description)} from the `/**: ros__parameters:` block."""
    path = pathlib.Path(path or swarm_yaml())
    text = path.read_text()
    values = yaml.safe_load(text)["/**"]["ros__parameters"]
    docs = {m.group(1): m.group(2).strip() for m in map(_COMMENT.match, text.splitlines()) if m}
    fields = {f.name for f in dataclasses.fields(DroneParams)}
    if set(values) != fields:
        raise ValueError(f"{path} and DroneParams disagree: {sorted(set(values) ^ fields)}")
    return {name: (value, docs.get(name, "")) for name, value in values.items()}


def default(name: str):
    """The drone-node default of one parameter (config/swarm.yaml), for tools that mirror it."""
    return load_defaults()[name][0]


def from_mapping(values: dict) -> DroneParams:
    """Check types and ranges; raise ValueError naming the bad parameter."""
    kwargs = {}
    for field in dataclasses.fields(DroneParams):
        value = values[field.name]
        kind = field.type
        if kind.startswith("tuple"):
            value = tuple(str(v) for v in (value or ()))
        elif kind == "bool":
            value = bool(value)
        elif kind == "int":
            value = int(value)
        elif kind == "float":
            value = float(value)
        else:
            value = str(value)
        kwargs[field.name] = value
    params = DroneParams(**kwargs)
    if params.query_encoding not in QUERY_ENCODINGS:
        raise ValueError(f"query_encoding {params.query_encoding!r} not in {QUERY_ENCODINGS}")
    if params.patch_encoding not in PATCH_ENCODINGS:
        raise ValueError(f"patch_encoding {params.patch_encoding!r} not in {PATCH_ENCODINGS}")
    for name in ("deadline_s", "peer_timeout_s", "bandwidth_period_s", "drop_summary_period_s",
                 "replay_window_s"):
        if getattr(params, name) <= 0:
            raise ValueError(f"{name} must be > 0")
    if params.state_buffer_size < 1 or params.max_message_bytes < 1 or params.torch_threads < 1:
        raise ValueError("state_buffer_size, max_message_bytes and torch_threads must be >= 1")
    if params.fusion not in ("", "hard", "soft", "stacked"):
        raise ValueError(f"fusion {params.fusion!r} not in hard | soft | stacked")
    return params
