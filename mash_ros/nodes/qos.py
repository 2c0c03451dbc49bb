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


def reliable(depth: int = 10, latched: bool = False) -> QoSProfile:
    """Reliable, keep-last ``depth``; ``latched`` = transient local (late joiners get it)."""
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=(DurabilityPolicy.TRANSIENT_LOCAL if latched
                                  else DurabilityPolicy.VOLATILE))


SENSOR = qos_profile_sensor_data
EXCHANGE = reliable()
OUTPUT = reliable()  # same settings today; a separate name so outputs can diverge from exchange
# A drone's incoming queries, answers and heartbeats (its intake thread, mash_ros.swarm.intake):
# deeper, because DDS drops the oldest unread sample when a keep-last history is full, and a
# flood (of anything, oversized included: DDS stores a sample before any code of ours sees its
# size) must not push a real one out before the intake thread, which may wait for a core on a
# loaded machine, takes it. 100 samples hold a burst 10x the default's; the price is memory
# when a flood of large messages arrives faster than the intake drains it (100 x their size).
INTAKE = reliable(depth=100)
