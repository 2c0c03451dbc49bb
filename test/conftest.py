"""Test session setup: every ROS 2 process of this run stays on loopback, in its own domain."""

import pytest

from mash_ros.tools.ros_env import isolate_this_process

# Set once, before any test imports rclpy, so in-process nodes and child processes agree.
isolate_this_process()


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The 2 cores are shared: an OpenMP thread spin-waiting for a busy core makes torch tests
    ~6x slower, so every test runs torch single-threaded (restored afterwards)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
