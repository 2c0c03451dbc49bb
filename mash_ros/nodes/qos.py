"""QoS profiles of the swarm, chosen per stream.

Camera images are a sensor stream: best effort, keep only the latest few (a late frame is
worth less than the next one). Queries and patches are small, and a lost one costs a whole
collaborative frame, so they are reliable with a short history; neither is latched
(volatile): a peer that joins late must not answer stale frames.
"""
from rclpy.qos import (
                       DurabilityPolicy,
                       HistoryPolicy,
                       QoSProfile,
                       ReliabilityPolicy,
                       qos_profile_sensor_data,
)

SENSOR = qos_profile_sensor_data

EXCHANGE = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)

OUTPUT = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                    reliability=ReliabilityPolicy.RELIABLE,
                    durability=DurabilityPolicy.VOLATILE)
