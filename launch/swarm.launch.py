"""Launch one MASH drone node per drone: ``ros2 launch mash_ros swarm.launch.py num_agents:=6``.

The nodes come from the package's node plan (mash_ros.swarm.plan), the same one ``mash-swarm``
runs where the ros2 CLI is not installed; every launch argument is a plan argument.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from mash_ros.swarm.plan import LAUNCH_ARGUMENTS, build_plan, prepare_keys


def _drone_nodes(context, *args, **kwargs):
    arguments = {arg.name: LaunchConfiguration(arg.name).perform(context)
                 for arg in LAUNCH_ARGUMENTS}
    plan = build_plan(arguments)
    prepare_keys(plan)  # authentication is on unless swarm_key_file:=none
    return [Node(package=spec.package, executable=spec.executable, name=spec.name,
                 namespace=spec.agent, parameters=[str(spec.params_file), spec.parameters],
                 output="screen", emulate_tty=True)
            for spec in plan]


def generate_launch_description():
    declared = [DeclareLaunchArgument(arg.name, default_value=arg.default,
                                      description=arg.description)
                for arg in LAUNCH_ARGUMENTS]
    return LaunchDescription([*declared, OpaqueFunction(function=_drone_nodes)])
