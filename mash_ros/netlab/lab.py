"""Build, measure and tear down one network lab with ``ip`` and ``tc`` (needs root).

Everything the lab makes lives inside its own namespaces: veths are created directly in them
(``ip link add … netns A type veth peer … netns B``), so the root namespace never holds a
lab interface, and deleting the namespaces removes every veth, bridge and qdisc with them.
Teardown first ends the processes still inside (a namespace with a process in it survives
``ip netns del`` invisibly), then deletes the namespaces. ``sweep_stale`` does the same for
labs whose maker died (SIGKILL leaves no chance to clean up), found by the pid in the name.

Shaping: each drone's radio link is capped in both directions with HTB, on the drone's
``radio0`` egress (uplink) and on its bridge port's egress (downlink). Under the cap, two
classes split the link so the kernel counts ground-station traffic (discovery server, to or
from the ground address) apart from drone-to-drone traffic; both may use the whole cap.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from mash_ros.netlab.topology import BRIDGE_IF, PREFIX, RADIO_IF, LabTopology, owner_of

UNCAPPED_BIT = 10_000_000_000  # "no cap": HTB still classifies, at 10 Gbit/s
GROUND_CLASS, PEER_CLASS = "1:10", "1:20"


class LabUnavailable(RuntimeError):
    """Network namespaces cannot be made here (not root, or a restricted container)."""


def _run(*args: str, check: bool = True) -> str:
    done = subprocess.run(args, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def list_namespaces() -> list[str]:
    """Names of every network namespace (`ip netns list`), ours or not."""
    out = _run("ip", "netns", "list", check=False)
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def ours() -> list[str]:
    """Namespaces any lab made (alive or stale)."""
    return [ns for ns in list_namespaces() if owner_of(ns) is not None]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _empty_and_delete(namespace: str) -> None:
    """End the processes inside ``namespace`` (SIGKILL: the lab's runner already asked them
    nicely), then delete it."""
    for pid in _run("ip", "netns", "pids", namespace, check=False).split():
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass
    _run("ip", "netns", "del", namespace, check=False)


def sweep_stale() -> list[str]:
    """Delete the namespaces of labs whose making process is gone; returns their names."""
    stale = [ns for ns in ours() if not _pid_alive(owner_of(ns))]
    for namespace in stale:
        _empty_and_delete(namespace)
    return stale


def check_permitted() -> None:
    """Raise LabUnavailable (one line) unless a network namespace can be made here."""
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        raise LabUnavailable(f"network lab unavailable: {' and '.join(missing)} (iproute2) "
                             f"not installed")
    probe = f"{PREFIX}{os.getpid()}-gs"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        raise LabUnavailable(f"network lab unavailable: cannot create a network namespace "
                             f"({reason}); it needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN)")
    _run("ip", "netns", "del", probe, check=False)


@dataclass
class LinkCounters:
    """Bytes through one drone's radio link as the kernel counted them (L2 frames)."""

    tx: int          # drone -> air
    rx: int          # air -> drone
    ground_tx: int   # of tx: to the ground station
    ground_rx: int   # of rx: from the ground station

    @property
    def total(self) -> int:
        return self.tx + self.rx

    @property
    def peers(self) -> int:
        """Drone-to-drone bytes, both directions."""
        return self.total - self.ground_tx - self.ground_rx

    def minus(self, before: LinkCounters) -> LinkCounters:
        return LinkCounters(self.tx - before.tx, self.rx - before.rx,
                            self.ground_tx - before.ground_tx, self.ground_rx - before.ground_rx)

    def as_dict(self) -> dict:
        return {"tx": self.tx, "rx": self.rx, "ground_tx": self.ground_tx,
                "ground_rx": self.ground_rx, "peers": self.peers, "total": self.total}


class NetLab:
    """A lab of ``drones`` namespaced hosts, each linked at ``cap_bit`` bit/s (None = no cap).

    Use as a context manager: the namespaces exist inside the ``with`` and never after it,
    whatever ends it (an exception, KeyboardInterrupt, SystemExit from a signal handler).
    """

    def __init__(self, drones: int, cap_bit: int | None, owner: int | None = None):
        self.topology = LabTopology(owner or os.getpid(), drones)
        self.cap_bit = cap_bit
        self.made: list[str] = []

    # --- life cycle ---------------------------------------------------------------------------
    def __enter__(self) -> NetLab:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.down()

    def up(self) -> None:
        sweep_stale()
        t = self.topology
        for namespace in t.namespaces:
            _run("ip", "netns", "add", namespace)
            self.made.append(namespace)
            self.ip(namespace, "link", "set", "lo", "up")
        g = t.ground_ns
        self.ip(g, "link", "add", BRIDGE_IF, "type", "bridge")
        self.ip(g, "addr", "add", f"{t.ground_ip}/24", "dev", BRIDGE_IF)
        self.ip(g, "link", "set", BRIDGE_IF, "up")
        for i in range(t.drones):
            d, port = t.drone_ns(i), t.port_if(i)
            _run("ip", "link", "add", RADIO_IF, "netns", d, "type", "veth",
                 "peer", "name", port, "netns", g)
            self.ip(g, "link", "set", port, "master", BRIDGE_IF)
            self.ip(g, "link", "set", port, "up")
            self.ip(d, "addr", "add", f"{t.drone_ip(i)}/24", "dev", RADIO_IF)
            self.ip(d, "link", "set", RADIO_IF, "up")
            self._shape(d, RADIO_IF, "dst")  # uplink; to the ground = ground class
            self._shape(g, port, "src")      # downlink; from the ground = ground class

    def down(self) -> None:
        for namespace in reversed(self.made):
            _empty_and_delete(namespace)
        self.made.clear()

    # --- helpers --------------------------------------------------------------------------------
    @staticmethod
    def ip(namespace: str, *args: str) -> str:
        return _run("ip", "-n", namespace, *args)

    def _shape(self, namespace: str, dev: str, ground_field: str) -> None:
        rate = str(self.cap_bit or UNCAPPED_BIT)
        tc = ("tc", "-n", namespace)
        _run(*tc, "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb",
             "default", PEER_CLASS.split(":")[1])
        _run(*tc, "class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "htb",
             "rate", rate, "ceil", rate)
        for classid in (GROUND_CLASS, PEER_CLASS):  # each may borrow the whole cap
            _run(*tc, "class", "add", "dev", dev, "parent", "1:1", "classid", classid, "htb",
                 "rate", str(max(8000, int(rate) // 2)), "ceil", rate)
        _run(*tc, "filter", "add", "dev", dev, "parent", "1:", "protocol", "ip", "prio", "1",
             "u32", "match", "ip", ground_field, f"{self.topology.ground_ip}/32",
             "flowid", GROUND_CLASS)

    def exec_prefix(self, i: int | None) -> list[str]:
        """Command prefix that runs a program in drone ``i``'s namespace (None: the ground's)."""
        t = self.topology
        return ["ip", "netns", "exec", t.ground_ns if i is None else t.drone_ns(i)]

    # --- measurement ------------------------------------------------------------------------------
    def counters(self, i: int) -> LinkCounters:
        """Drone ``i``'s link counters (cumulative since the lab was made)."""
        t = self.topology
        stats = json.loads(self.ip(t.drone_ns(i), "-s", "-j", "link", "show", "dev", RADIO_IF))
        link = stats[0]["stats64"]
        return LinkCounters(tx=link["tx"]["bytes"], rx=link["rx"]["bytes"],
                            ground_tx=_class_bytes(t.drone_ns(i), RADIO_IF, GROUND_CLASS),
                            ground_rx=_class_bytes(t.ground_ns, t.port_if(i), GROUND_CLASS))

    def qdisc_drops(self, i: int) -> int:
        """Packets the caps dropped on drone ``i``'s link (both directions)."""
        t = self.topology
        return sum(_root_drops(ns, dev) for ns, dev in ((t.drone_ns(i), RADIO_IF),
                                                        (t.ground_ns, t.port_if(i))))


def _class_bytes(namespace: str, dev: str, classid: str) -> int:
    """Bytes sent through one HTB class (iproute2 6.1 has no JSON for `tc class`: parse the
    "class htb 1:10 …" line and the " Sent N bytes" line under it)."""
    text = _run("tc", "-n", namespace, "-s", "class", "show", "dev", dev)
    match = re.search(rf"^class htb {re.escape(classid)} .*?\n\s*Sent (\d+) bytes", text,
                      re.MULTILINE)
    return int(match.group(1)) if match else 0


def _root_drops(namespace: str, dev: str) -> int:
    rows = json.loads(_run("tc", "-n", namespace, "-s", "-j", "qdisc", "show", "dev", dev))
    return sum(int(row.get("drops", 0)) for row in rows)
