"""Test session setup: every ROS 2 process of this run stays on loopback, in its own domain."""
import os

from mash_ros.tools.ros_env import ros_child_env

# Set once, before any test imports rclpy, so in-process nodes and child processes agree.
os.environ.update({key: value for key, value in ros_child_env().items()
                   if key in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID",
                              "RMW_IMPLEMENTATION", "AMENT_PREFIX_PATH")})
