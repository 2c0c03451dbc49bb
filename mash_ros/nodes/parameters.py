"""The drone node's ROS parameters: declared from config/swarm.yaml, checked, read-only or not.

Kept out of the node class: declaring is the same for every run, and the checks themselves
are ROS-free (``mash_ros.swarm.params``).
"""
from __future__ import annotations

from rcl_interfaces.msg import ParameterDescriptor, ParameterType
from rclpy.node import Node
from rclpy.parameter import Parameter

from mash_ros.swarm.params import RUNTIME, DroneParams, check_given, from_mapping, load_defaults

_PARAM_TYPES = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
                float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING,
                list: ParameterType.PARAMETER_STRING_ARRAY}


def declare_drone_parameters(node: Node) -> DroneParams:
    """Declare every parameter of config/swarm.yaml on ``node``; the run-time ones (RUNTIME)
    can be set while it runs, the others are read-only. Unknown or mistyped parameters given
    on start (params file, -p) are one SystemExit naming each of them: rclpy would ignore the
    unknown ones and print a traceback for a wrong type."""
    defaults = load_defaults()
    # rclpy keeps what the params file and -p gave in _parameter_overrides; it has no public
    # accessor before the parameters are declared
    given = {name: param.value for name, param in node._parameter_overrides.items()}
    problems = check_given(given, {name: value for name, (value, _) in defaults.items()})
    if problems:
        raise SystemExit(f"{node.get_fully_qualified_name()}: bad parameters: "
                         + "; ".join(problems))
    values = {}
    for name, (default, doc) in defaults.items():
        descriptor = ParameterDescriptor(
            name=name, type=_PARAM_TYPES[type(default)], read_only=name not in RUNTIME,
            description=doc + ("" if name in RUNTIME else " (read-only)"))
        if default == []:  # an empty list says nothing of its element type: declare it
            param = node.declare_parameter(name, Parameter.Type.STRING_ARRAY, descriptor)
            values[name] = [] if param.type_ == Parameter.Type.NOT_SET else param.value
        else:
            values[name] = node.declare_parameter(name, default, descriptor).value
    try:
        return from_mapping(values)
    except ValueError as err:
        raise SystemExit(f"{node.get_fully_qualified_name()}: bad parameter: {err}")
