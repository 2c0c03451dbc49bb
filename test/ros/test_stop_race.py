"""A stop that lands inside a callback is a stop, not a bug: rclpy's Ctrl-C handler shuts the
context down from its own thread, so a callback still running may fail to publish. Such a
failure must not be logged as an internal error with a traceback, nor counted as a drop."""
import pytest
import rclpy
from rclpy.parameter import Parameter
from std_msgs.msg import Header

from mash_ros.nodes.drone_node import DroneNode

pytestmark = pytest.mark.ros


@pytest.fixture
def drone(checkpoint):
    rclpy.init()
    params = {"agents": ["drone_0", "drone_1"], "targets": ["all"],
              "model_path": str(checkpoint), "preset": "cpu", "swarm_key_file": ""}
    node = DroneNode(namespace="drone_0",
                     parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    yield node
    node.destroy_node()
    rclpy.try_shutdown()


def publish_after(drone, stop: bool):
    def handler():
        if stop:
            rclpy.shutdown(context=drone.context)  # what the signal handler's thread does
        drone.query_pub.publish(drone.query_pub.msg_type(header=Header()))
    handler.__name__ = "handler"
    return handler


def internal_drops(drone):
    return {k: n for k, n in drone.drops.counts.items() if k[1].startswith("internal:") and n}


def test_a_publish_cut_short_by_the_stop_is_not_an_internal_error(drone):
    drone.guarded("drone_1", publish_after(drone, stop=True))()  # must not raise
    assert not internal_drops(drone)


def test_the_same_failure_while_running_is_an_internal_drop(drone):
    def broken():
        raise RuntimeError("a bug")
    broken.__name__ = "broken"
    drone.guarded("drone_1", broken)()
    assert internal_drops(drone) == {("drone_1", "internal: RuntimeError"): 1}
