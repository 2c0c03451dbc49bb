"""rclpy message classes from type names as bags store them (``pkg/msg/Name``)."""
from __future__ import annotations

import importlib


def message_class(msgtype: str):
    """``sensor_msgs/msg/Image`` -> sensor_msgs.msg.Image; ImportError naming the package
    when it is not installed in this ROS environment."""
    parts = msgtype.split("/")
    if len(parts) != 3 or parts[1] != "msg":
        raise ImportError(f"{msgtype!r} is not a message type name (package/msg/Name)")
    package, _, name = parts
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError) as err:
        raise ImportError(f"message type {msgtype} is not installed here ({err})") from err
