"""Names and addresses of one network lab, ROS-free and root-free (testable anywhere).

One lab = one ground-station namespace holding a bridge (the shared radio medium) and the
ground station's own address, plus one namespace per drone with a single interface,
``radio0``, a veth whose other end is a port of that bridge. Every name carries the lab's
prefix and the pid of the process that made it, so parallel labs never collide and a lab
whose maker died can be found and swept (``stale``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "mlab"            # every namespace of ours starts with this
SUBNET = "10.77.0"         # private /24, exists only inside the lab's namespaces
GROUND_HOST = 1            # the ground station's (and discovery server's) host number
FIRST_DRONE_HOST = 10
RADIO_IF = "radio0"        # the drone's only interface besides lo
BRIDGE_IF = "air0"         # the bridge in the ground namespace: the shared medium
MAX_DRONES = 64
_OURS = re.compile(rf"^{PREFIX}(\d+)-(gs|d\d+)$")


@dataclass(frozen=True)
class LabTopology:
    """Where everything of a lab made by process ``owner`` with ``drones`` drones lives."""

    owner: int
    drones: int

    def __post_init__(self):
        if not 1 <= self.drones <= MAX_DRONES:
            raise ValueError(f"a lab holds 1..{MAX_DRONES} drones, got {self.drones}")

    @property
    def ground_ns(self) -> str:
        return f"{PREFIX}{self.owner}-gs"

    def drone_ns(self, i: int) -> str:
        return f"{PREFIX}{self.owner}-d{i}"

    @property
    def namespaces(self) -> list[str]:
        return [self.drone_ns(i) for i in range(self.drones)] + [self.ground_ns]

    @staticmethod
    def port_if(i: int) -> str:
        """The bridge-side end of drone ``i``'s veth, in the ground namespace."""
        return f"port{i}"

    @property
    def ground_ip(self) -> str:
        return f"{SUBNET}.{GROUND_HOST}"

    def drone_ip(self, i: int) -> str:
        return f"{SUBNET}.{FIRST_DRONE_HOST + i}"


def owner_of(namespace: str) -> int | None:
    """The pid in one of our namespace names; None for anybody else's namespace."""
    match = _OURS.match(namespace)
    return int(match.group(1)) if match else None
