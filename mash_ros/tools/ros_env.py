"""Environment for child processes that talk ROS 2: loopback-only discovery, own domain."""
from __future__ import annotations

import os
import sys


def pick_domain_id() -> int:
    """A domain id for this run, so parallel runs on one machine do not cross-talk.

    Ids 1..100 are safe with Fast DDS's default port mapping (0 is the default everyone uses).
    """
    return 1 + (os.getpid() * 7919 + int.from_bytes(os.urandom(2), "little")) % 100


def ros_child_env(domain_id: int | None = None) -> dict[str, str]:
    """os.environ plus what a child ROS 2 process of ours needs."""
    env = dict(os.environ)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["ROS_DOMAIN_ID"] = str(domain_id if domain_id is not None else
                               env.get("ROS_DOMAIN_ID") or pick_domain_id())
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    # The PyPI ROS 2 wheels install share/ and lib/ under the venv prefix.
    env.setdefault("AMENT_PREFIX_PATH", sys.prefix)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def isolate_this_process(domain_id: int | None = None) -> dict[str, str]:
    """Put this process on the same loopback-only domain its children will get.

    Call before ``rclpy.init()``: the in-process node of a harness must discover the children.
    """
    env = ros_child_env(domain_id)
    for key in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID", "RMW_IMPLEMENTATION",
                "AMENT_PREFIX_PATH"):
        os.environ[key] = env[key]
    return env
