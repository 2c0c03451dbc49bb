"""Honest parameters: one clear error at start-up for unknown or mistyped ones; run-time ones
applied through the set-parameters callback (the path `ros2 param set` takes), the rest
read-only."""
import subprocess
import sys

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from mash_ros.nodes.drone_node import DroneNode
from mash_ros.tools.ros_env import ros_child_env

pytestmark = pytest.mark.ros


@pytest.mark.parametrize("yaml_line,extra,message", [
    ("    dedline_s: 0.5\n", [], "unknown parameter 'dedline_s' (did you mean 'deadline_s'?)"),
    ("    deadline_s: 1\n", [], "deadline_s must be of type double, got integer 1 (write 1.0)"),
    ("", ["-p", "deadline_s:=abc"], "deadline_s must be of type double, got string 'abc'"),
])
def test_bad_parameters_are_one_clear_error_at_start(tmp_path, yaml_line, extra, message):
    params = tmp_path / "params.yaml"
    params.write_text("/**:\n  ros__parameters:\n" + (yaml_line or "    preset: cpu\n"))
    done = subprocess.run([sys.executable, "-m", "mash_ros.nodes.drone_node", "--ros-args",
                           "-r", "__ns:=/drone_0", "--params-file", str(params), *extra],
                          env=ros_child_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.fixture(scope="module")
def node(checkpoint):
    rclpy.init()
    params = {"agents": ["drone_0", "drone_1"], "model_path": str(checkpoint), "preset": "cpu",
              "image_topic": "/params_test/image", "swarm_key_file": ""}
    drone = DroneNode(namespace="params_test/drone_0",
                      parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    yield drone
    drone.destroy_node()
    rclpy.try_shutdown()


def test_runtime_parameters_are_applied(node):
    model = node.mash.model
    assert node.set_parameters([Parameter("deadline_s", value=0.2)])[0].successful
    assert node.params.deadline_s == 0.2
    assert node.set_parameters([Parameter("confidence_threshold", value=0.7),
                                Parameter("cell_budget", value=5)])[0].successful
    assert model.confidence_threshold == 0.7 and model.cell_budget == 5
    trained = node.mash.trained
    assert node.set_parameters([Parameter("confidence_threshold", value=-1.0)])[0].successful
    assert model.confidence_threshold == trained[1]  # < 0: the model's own again
    assert node.set_parameters([Parameter("fusion", value="hard")])[0].successful
    assert type(model.fusion).__name__ == "HardSelection"
    assert node.set_parameters([Parameter("fusion_own_weight", value=3.0)])[0].successful
    assert model.own_weight == 3.0
    assert node.set_parameters([Parameter("fusion_own_weight", value=-1.0)])[0].successful
    assert model.own_weight == trained[3]  # < 0: the model's own again


@pytest.mark.parametrize("param", [
    Parameter("deadline_s", value=-1.0),           # out of range
    Parameter("fusion", value="stacked"),          # has weights this model lacks
    Parameter("fusion", value="median"),           # no such mode
    Parameter("deadline_s", value="fast"),         # wrong type
    Parameter("fusion_own_weight", value=float("nan")),  # not a number
    Parameter("fusion_own_weight", value=1e300),   # the confidences would overflow
    Parameter("preset", value="paper"),            # read-only
    Parameter("swarm_key_file", value="/tmp/k"),   # read-only
])
def test_refused_changes_change_nothing(node, param):
    before = (node.params, node.mash.model.fusion, node.mash.model.confidence_threshold)
    result = node.set_parameters([param])[0]
    assert not result.successful and result.reason
    assert (node.params, node.mash.model.fusion, node.mash.model.confidence_threshold) == before


def test_set_through_the_parameter_service(node):
    """What `ros2 param set /params_test/drone_0/mash deadline_s 0.4` does."""
    from rclpy.parameter_client import AsyncParameterClient

    client_node = rclpy.create_node("param_client")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    executor.add_node(client_node)
    try:
        client = AsyncParameterClient(client_node, "/params_test/drone_0/mash")
        assert client.wait_for_services(timeout_sec=10.0)
        future = client.set_parameters([Parameter("deadline_s", value=0.4),
                                        Parameter("torch_threads", value=4)])
        executor.spin_until_future_complete(future, timeout_sec=10.0)
        results = future.result().results
        assert [r.successful for r in results] == [True, False]
        assert node.params.deadline_s == 0.4 and node.params.torch_threads == 1
    finally:
        executor.remove_node(node)
        client_node.destroy_node()
