"""Discovery without multicast, as on real radio links: a discovery server, or static peers.

``server``: Fast DDS's discovery server (``fast-discovery-server``, shipped in the ros-fastdds
wheel) runs on the ground station; every ROS 2 process is its client through
``ROS_DISCOVERY_SERVER``. Only discovery goes through the server; data flows drone to drone.
``static``: no server; every process is told every drone's address (``ROS_STATIC_PEERS``) and
discovers by unicast to those (automatic discovery range LOCALHOST, so no multicast).

In both, Fast DDS's shared-memory transport is switched off (UDPv4 only): in the lab all
namespaces share one kernel and one /dev/shm, and SHM would carry drone-to-drone data around
the capped links. On real, separate hosts SHM never crosses hosts, so nothing changes there.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

MODES = ("server", "static")
SERVER_PORT = 11811  # Fast DDS's default discovery-server port
SERVER_COMMAND_INDEX = "42"  # fast-discovery-server's "run a server" command (its CLI wrapper's)


def discovery_env(base: dict, mode: str, server_ip: str, peer_ips: list[str]) -> dict:
    """``base`` (a ROS child environment) set up for ``mode`` discovery over UDP only."""
    if mode not in MODES:
        raise ValueError(f"discovery mode {mode!r} not in {MODES}")
    env = dict(base)
    env["FASTDDS_BUILTIN_TRANSPORTS"] = "UDPv4"
    for key in ("ROS_DISCOVERY_SERVER", "ROS_STATIC_PEERS", "ROS_SUPER_CLIENT"):
        env.pop(key, None)
    if mode == "server":
        # SUBNET: the default range, so the rmw leaves Fast DDS's own (client) setup alone;
        # LOCALHOST would pin the participant to the loopback interface
        env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "SUBNET"
        env["ROS_DISCOVERY_SERVER"] = f"{server_ip}:{SERVER_PORT}"
    else:
        # LOCALHOST + static peers: unicast discovery with the listed hosts only, no
        # multicast (SUBNET would add multicast discovery; OFF did not match peers in the lab)
        env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
        env["ROS_STATIC_PEERS"] = ";".join(peer_ips)
    return env


def server_command(listen_ip: str) -> list[str]:
    """Command line of a discovery server listening on ``listen_ip``."""
    binary = Path(sys.prefix) / "bin" / "fast-discovery-server"
    return [str(binary), SERVER_COMMAND_INDEX, "-l", listen_ip, "-p", str(SERVER_PORT)]


def server_env(base: dict) -> dict:
    """The wheel's binary finds its shared libraries (libfastdds, the wheel's vendored
    tinyxml2/openssl) only through LD_LIBRARY_PATH."""
    env = dict(base)
    prefix = Path(sys.prefix)
    site = next(prefix.glob("lib/python3*/site-packages"), prefix)
    libs = [str(prefix / "lib"), str(site / "ros_fastdds.libs")]
    env["LD_LIBRARY_PATH"] = os.pathsep.join(libs + [p for p in
                                                     [env.get("LD_LIBRARY_PATH", "")] if p])
    return env
