"""Typed drone-node parameters, with defaults and descriptions from ``config/swarm.yaml``.

The YAML is the one source: its values are the defaults, its end-of-line comments the
parameter descriptions the node declares (visible in ``ros2 param describe``).
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import pathlib
import re
from dataclasses import dataclass

import yaml

from mash_ros.core.codecs import PATCH_ENCODINGS, QUERY_ENCODINGS
from mash_ros.core.config import MAX_OWN_WEIGHT
from mash_ros.core.paths import package_file

ALL = "all"
# Applied while the node runs (a set-parameters callback); every other parameter is read-only:
# it shapes subscriptions, the model or the key, which a running node cannot change safely.
RUNTIME = ("confidence_threshold", "cell_budget", "deadline_s", "fusion", "fusion_own_weight")
# Keys any ROS 2 node accepts besides its own parameters.
_ROS_KEYS = ("use_sim_time", "start_type_description_service")
_ROS_PREFIXES = ("qos_overrides.",)
_TYPE_NAMES = {bool: "bool", int: "integer", float: "double", str: "string",
               list: "string list"}
_COMMENT = re.compile(r"^\s{4}(\w+):.*?#\s*(.+)$")


@dataclass(frozen=True)
class DroneParams:
    """Everything a drone node is configured with (see config/swarm.yaml for meanings)."""

    agents: tuple[str, ...]
    targets: tuple[str, ...]
    vehicle_name: str
    camera_name: str
    image_topic: str
    resize_images: bool
    model_path: str
    preset: str
    fusion: str
    confidence_threshold: float
    cell_budget: int
    fusion_own_weight: float
    query_encoding: str
    patch_encoding: str
    send_budget_bps: int
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


def _type_name(value) -> str:
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        return "list"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def check_given(given: dict, defaults: dict) -> list[str]:
    """Problems with parameters a user gave (params file, -p): unknown names and values whose
    type is not the parameter's. ``defaults`` maps name -> default value. ROS 2 does not
    convert between types, so an integer for a double is an error (with the fix in it)."""
    problems = []
    for name, value in sorted(given.items()):
        if name not in defaults:
            if name in _ROS_KEYS or name.startswith(_ROS_PREFIXES):
                continue
            close = difflib.get_close_matches(name, defaults, n=1)
            problems.append(f"unknown parameter {name!r}" +
                            (f" (did you mean {close[0]!r}?)" if close else ""))
            continue
        default = defaults[name]
        if isinstance(default, list):
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = type(value) is type(default)
        if not ok:
            hint = (f" (write {float(value)!r})" if isinstance(default, float)
                    and type(value) is int else "")
            problems.append(f"{name} must be of type {_type_name(default)}, got "
                            f"{_type_name(value)} {value!r}{hint}")
    return problems


PARAMETER_NAMES = frozenset(f.name for f in dataclasses.fields(DroneParams))


def with_runtime_changes(params: DroneParams, changes: dict) -> DroneParams:
    """``params`` with ``changes`` applied, checked as at start-up; ValueError if one of them
    is read-only while running (not in RUNTIME) or invalid."""
    fixed = sorted(set(changes) - set(RUNTIME))
    if fixed:
        raise ValueError(f"read-only while running: {', '.join(fixed)}")
    return from_mapping({**dataclasses.asdict(params), **changes})


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
    if params.send_budget_bps < 0:
        raise ValueError("send_budget_bps must be >= 0 (0 = unlimited)")
    if params.state_buffer_size < 1 or params.max_message_bytes < 1 or params.torch_threads < 1:
        raise ValueError("state_buffer_size, max_message_bytes and torch_threads must be >= 1")
    if not math.isfinite(params.fusion_own_weight) or params.fusion_own_weight > MAX_OWN_WEIGHT:
        raise ValueError(f"fusion_own_weight must be at most {MAX_OWN_WEIGHT:g} (< 0 = the "
                         f"model's own)")
    if params.fusion not in ("", "hard", "soft", "stacked"):
        raise ValueError(f"fusion {params.fusion!r} not in hard | soft | stacked")
    return params
