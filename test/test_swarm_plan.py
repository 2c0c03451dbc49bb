"""The node plan, and the launch file's use of it (executed with stand-in launch modules)."""
import pathlib
import runpy
import sys
import types

import pytest
import yaml

from mash_ros.swarm.params import from_mapping, load_defaults
from mash_ros.swarm.plan import LAUNCH_ARGUMENTS, build_plan, ros_arguments

LAUNCH_FILE = pathlib.Path(__file__).resolve().parents[1] / "launch" / "swarm.launch.py"


def test_plan_defaults_to_six_namespaced_drones():
    plan = build_plan()
    assert [spec.agent for spec in plan] == [f"drone_{i}" for i in range(6)]
    assert all(spec.parameters["agents"] == [s.agent for s in plan] for spec in plan)
    assert all(spec.parameters["targets"] == ["all"] for spec in plan)
    assert plan[0].params_file.name == "swarm.yaml"


def test_plan_arguments_override_and_validate():
    plan = build_plan({"num_agents": "3", "targets": "drone_0,drone_2", "fusion": "soft",
                       "image_topic": "/cams/{agent}/rgb"})
    assert len(plan) == 3 and plan[1].parameters["targets"] == ["drone_0", "drone_2"]
    assert plan[2].parameters["image_topic"] == "/cams/drone_2/rgb"
    assert plan[0].parameters["fusion"] == "soft" and "preset" not in plan[0].parameters
    with pytest.raises(ValueError):
        build_plan({"targets": "drone_9"})
    with pytest.raises(ValueError):
        build_plan({"num_agents": "0"})
    with pytest.raises(ValueError):
        build_plan({"bogus": "1"})


def test_ros_arguments_round_trip_through_yaml():
    spec = build_plan({"num_agents": "2"})[1]
    args = ros_arguments(spec)
    assert args[:5] == ["--ros-args", "-r", "__ns:=/drone_1", "-r", "__node:=mash"]
    values = dict(a.split(":=", 1) for a in args[args.index("-p") + 1::2])
    assert yaml.safe_load(values["agents"]) == ["drone_0", "drone_1"]


def test_swarm_command_names_each_drones_own_files():
    from mash_ros.tools.swarm import SwarmProcesses

    swarm = SwarmProcesses(build_plan({"num_agents": "2"}),
                           extra_parameters={"summary_path": "out/{agent}.json", "deadline_s": 0.3})
    command = swarm.command(swarm.plan[1])
    assert command[1:3] == ["-m", "mash_ros.nodes.drone_node"]
    assert "summary_path:='out/drone_1.json'" in command and "deadline_s:=0.3" in command


def test_defaults_come_from_the_yaml_with_descriptions():
    defaults = load_defaults()
    assert defaults["deadline_s"][1], "every parameter is documented in config/swarm.yaml"
    params = from_mapping({name: value for name, (value, _) in defaults.items()})
    assert params.camera_topic("drone_3") == "/airsim_node/drone_3/front_center/Scene"
    assert params.is_target("drone_3")
    with pytest.raises(ValueError):
        from_mapping({**{n: v for n, (v, _) in defaults.items()}, "query_encoding": "int4"})


class _Recorder:
    """Stands in for a launch action class and records how it was constructed."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def test_launch_file_builds_its_nodes_from_the_plan(monkeypatch, tmp_path):
    """Executes launch/swarm.launch.py with stand-ins for launch/launch_ros (not on PyPI)."""
    monkeypatch.setenv("ROS_HOME", str(tmp_path))  # the launch file makes its key here
    launch = types.ModuleType("launch")
    launch.LaunchDescription = lambda entities: entities
    actions = types.ModuleType("launch.actions")
    actions.DeclareLaunchArgument = _Recorder
    actions.OpaqueFunction = _Recorder
    substitutions = types.ModuleType("launch.substitutions")
    chosen = {"num_agents": "4", "targets": "drone_1"}

    class LaunchConfiguration:
        def __init__(self, name):
            self.name = name

        def perform(self, context):
            defaults = {arg.name: arg.default for arg in LAUNCH_ARGUMENTS}
            return chosen.get(self.name, defaults[self.name])

    substitutions.LaunchConfiguration = LaunchConfiguration
    launch_ros = types.ModuleType("launch_ros")
    launch_ros_actions = types.ModuleType("launch_ros.actions")
    launch_ros_actions.Node = _Recorder
    for name, module in {"launch": launch, "launch.actions": actions,
                         "launch.substitutions": substitutions, "launch_ros": launch_ros,
                         "launch_ros.actions": launch_ros_actions}.items():
        monkeypatch.setitem(sys.modules, name, module)

    description = runpy.run_path(str(LAUNCH_FILE))["generate_launch_description"]()
    declared = [e.args[0] for e in description if e.args and isinstance(e.args[0], str)]
    assert declared == [arg.name for arg in LAUNCH_ARGUMENTS]
    opaque = description[-1].kwargs["function"]
    nodes = opaque(context=None)
    assert [n.kwargs["namespace"] for n in nodes] == ["drone_0", "drone_1", "drone_2", "drone_3"]
    assert all(n.kwargs["executable"] == "drone_node" and n.kwargs["name"] == "mash"
               for n in nodes)
    params_file, overrides = nodes[0].kwargs["parameters"]
    assert params_file.endswith("swarm.yaml") and overrides["targets"] == ["drone_1"]
    key = tmp_path / "mash_swarm.key"  # authentication on by default, key made on launch
    assert overrides["swarm_key_file"] == str(key) and key.stat().st_mode & 0o077 == 0


def test_authentication_is_on_by_default_with_a_key_made_on_start(tmp_path, monkeypatch):
    from mash_ros.swarm.keyfile import load_key
    from mash_ros.swarm.plan import prepare_keys

    monkeypatch.setenv("ROS_HOME", str(tmp_path / "ros_home"))
    plan = build_plan({"num_agents": "2"})
    key_file = tmp_path / "ros_home" / "mash_swarm.key"
    assert {spec.parameters["swarm_key_file"] for spec in plan} == {str(key_file)}
    prepare_keys(plan)
    key = load_key(key_file)
    prepare_keys(plan)  # an existing key is kept: drones restarted later still verify
    assert load_key(key_file) == key
    assert build_plan({"swarm_key_file": "none"})[0].parameters["swarm_key_file"] == ""
    mine = str(tmp_path / "mine.key")
    assert build_plan({"swarm_key_file": mine})[0].parameters["swarm_key_file"] == mine


def test_given_parameters_unknown_or_mistyped_are_named():
    from mash_ros.swarm.params import check_given

    defaults = {name: value for name, (value, _) in load_defaults().items()}
    assert check_given({"deadline_s": 0.3, "agents": ["a"], "targets": [], "use_sim_time": True,
                        "qos_overrides./x.subscription.depth": 3}, defaults) == []
    problems = check_given({"dedline_s": 0.5, "deadline_s": 1, "cell_budget": "abc",
                            "publish_visualisation": 1, "agents": [1, 2]}, defaults)
    assert problems == [
        "agents must be of type string list, got list [1, 2]",
        "cell_budget must be of type integer, got string 'abc'",
        "deadline_s must be of type double, got integer 1 (write 1.0)",
        "unknown parameter 'dedline_s' (did you mean 'deadline_s'?)",
        "publish_visualisation must be of type bool, got integer 1",
    ]


def test_runtime_changes_are_checked_and_only_runtime_parameters_change():
    from mash_ros.swarm.params import with_runtime_changes

    params = from_mapping({name: value for name, (value, _) in load_defaults().items()})
    changed = with_runtime_changes(params, {"deadline_s": 0.2, "fusion": "hard"})
    assert changed.deadline_s == 0.2 and changed.fusion == "hard" and params.deadline_s == 0.5
    with pytest.raises(ValueError, match="read-only while running: preset"):
        with_runtime_changes(params, {"preset": "paper", "deadline_s": 0.2})
    with pytest.raises(ValueError, match="deadline_s must be > 0"):
        with_runtime_changes(params, {"deadline_s": 0.0})
