"""Test session setup: every ROS 2 process of this run stays on loopback, in its own domain."""
import os

import pytest

from mash_ros.tools.ros_env import ros_child_env

# Set once, before any test imports rclpy, so in-process nodes and child processes agree.
os.environ.update({key: value for key, value in ros_child_env().items()
                   if key in ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DOMAIN_ID",
                              "RMW_IMPLEMENTATION", "AMENT_PREFIX_PATH")})


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The 2 cores are shared: an OpenMP thread spin-waiting for a busy core makes torch tests
    ~6x slower, so every test runs torch single-threaded (restored afterwards)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
