"""A swarm in the network lab: one drone node and its on-board station per namespace.

``LabSwarm`` makes the lab (``NetLab``), starts the discovery server on the ground station
(discovery mode ``server``), the drone nodes (the same node plan as ``mash-swarm``, each
prefixed with ``ip netns exec <its namespace>``) and one station per drone
(``mash_ros.netlab.station``), then feeds snapshots lock-step: every station publishes its
drone's image of snapshot i, and the runner waits until every target's fused output came
back. Only queries, answers and heartbeats cross the capped links.
"""
from __future__ import annotations

import json
import pathlib
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from mash_ros.netlab.discovery import discovery_env, server_command, server_env
from mash_ros.netlab.lab import NetLab
from mash_ros.netlab.station import decode_labels
from mash_ros.netlab.topology import RADIO_IF
from mash_ros.swarm import topics
from mash_ros.swarm.plan import build_plan
from mash_ros.tools.children import popen_options
from mash_ros.tools.ros_env import ros_child_env
from mash_ros.tools.swarm import SwarmProcesses
from mash_ros.tools.swarm_harness import FEED_TOPIC, WARMUP_WAIT_S


@dataclass
class LabFrame:
    """What one target's station saw for one snapshot."""

    fused: np.ndarray | None = None
    single: np.ndarray | None = None
    latency_s: float = float("nan")   # stations' publish command -> fused output received


@dataclass
class LabSwarm:
    """``num_agents`` drones, each in its own namespace, links capped at ``cap_bit``."""

    num_agents: int
    cap_bit: int | None
    workdir: pathlib.Path
    images: np.ndarray                       # uint8 [snapshots, agents, H, W, 3]
    parameters: dict = field(default_factory=dict)
    discovery: str = "server"
    fastdds_xml: str | None = None           # Fast DDS profile for the drones (not stations)
    multicast_queries: bool = False          # queries by multicast (mash_ros.netlab.multicast)
    frames: dict = field(default_factory=dict)  # (index, agent) -> LabFrame

    def __post_init__(self):
        self.workdir = pathlib.Path(self.workdir)
        self.lab = NetLab(self.num_agents, self.cap_bit)
        self.plan = build_plan({"num_agents": str(self.num_agents), "image_topic": FEED_TOPIC,
                                "swarm_key_file": str(self.workdir / "swarm.key")})
        self.agents = [spec.agent for spec in self.plan]
        self.summaries = {a: self.workdir / f"summary_{a}.json" for a in self.agents}
        self.sent_at: dict[int, float] = {}
        self.events: queue.Queue = queue.Queue()
        self.stations: dict[str, subprocess.Popen] = {}
        self.server: subprocess.Popen | None = None
        self.warmups = 0

    # --- life cycle ------------------------------------------------------------------------------
    def __enter__(self) -> LabSwarm:
        self.lab.__enter__()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        t = self.lab.topology
        env = discovery_env(ros_child_env(), self.discovery, t.ground_ip,
                            [t.drone_ip(i) for i in range(self.num_agents)])
        if self.discovery == "server":
            self.server = subprocess.Popen(self.lab.exec_prefix(None) +
                                           server_command(t.ground_ip), env=server_env(env),
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           **popen_options())
        images_path = self.workdir / "images.npy"
        np.save(images_path, self.images)
        for spec in self.plan:
            spec.parameters["summary_path"] = str(self.summaries[spec.agent])
        prefixes = {a: self.lab.exec_prefix(i) for i, a in enumerate(self.agents)}
        drone_env = dict(env)
        if self.fastdds_xml and self.multicast_queries:
            raise ValueError("a Fast DDS profile file and multicast queries do not combine")
        if self.fastdds_xml:
            drone_env.update(fastdds_profile_env(self.fastdds_xml, self.cap_bit, self.workdir,
                                                 self.agents))
        if self.multicast_queries:
            drone_env.update(self._multicast_env())
        self.drones = NamespacedProcesses(self.plan, prefixes, self.parameters, drone_env)
        self.drones.start()
        for i, agent in enumerate(self.agents):
            proc = subprocess.Popen(
                prefixes[agent] + [sys.executable, "-m", "mash_ros.netlab.station",
                                   "--agent", agent, "--column", str(i),
                                   "--images", str(images_path)],
                env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                **popen_options())
            self.stations[agent] = proc
            threading.Thread(target=self._relay, args=(agent, proc), daemon=True).start()

    def _multicast_env(self) -> dict:
        """Route multicast out of each drone's radio; the query readers' multicast profile."""
        from mash_ros.netlab.multicast import MULTICAST_ROUTE, query_multicast_profiles

        for i in range(self.num_agents):
            self.lab.ip(self.lab.topology.drone_ns(i), "route", "add", MULTICAST_ROUTE, "dev",
                        RADIO_IF)
        path = self.workdir / "multicast_queries.xml"
        path.write_text(query_multicast_profiles(self.agents))
        return {"FASTDDS_DEFAULT_PROFILES_FILE": str(path)}

    def close(self) -> dict:
        """Stop stations, drones (SIGINT: they write their summaries) and server; delete the
        lab. Returns the drones' exit codes."""
        codes = {}
        try:
            for proc in self.stations.values():
                self._command(proc, {"cmd": "quit"})
            if hasattr(self, "drones"):
                codes = self.drones.stop()
            for proc in [*self.stations.values(), self.server]:
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    try:
                        proc.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
        finally:
            self.lab.down()
        return codes

    # --- stations ----------------------------------------------------------------------------
    def _relay(self, agent: str, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                self.events.put((agent, json.loads(line)))
            except ValueError:
                sys.stderr.write(f"[{agent} station] {line}")

    @staticmethod
    def _command(proc: subprocess.Popen, command: dict) -> None:
        try:
            proc.stdin.write(json.dumps(command) + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the station is gone; the runner notices missing outputs

    def _drain(self, timeout: float) -> list[tuple[str, dict]]:
        """Events that arrive within ``timeout`` (at least one wait), outputs filed."""
        got = []
        try:
            got.append(self.events.get(timeout=timeout))
            while True:
                got.append(self.events.get_nowait())
        except queue.Empty:
            pass
        for agent, event in got:
            if event.get("event") == "output":
                frame = self.frames.setdefault((event["index"], agent), LabFrame())
                setattr(frame, event["kind"], decode_labels(event))
                if event["kind"] == "fused":
                    frame.latency_s = event["t"] - self.sent_at.get(event["index"], np.nan)
        return got

    def status(self, timeout: float = 5.0) -> dict[str, dict]:
        """Every station's status event (camera subscribers, its drone's latest report)."""
        for proc in self.stations.values():
            self._command(proc, {"cmd": "status"})
        found: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(self.agents) and time.monotonic() < deadline:
            for agent, event in self._drain(0.05):
                if event.get("event") == "status":
                    found[agent] = event
        return found

    # --- feeding -------------------------------------------------------------------------------
    def send(self, index: int) -> None:
        self.sent_at[index] = time.monotonic()
        for proc in self.stations.values():
            self._command(proc, {"cmd": "send", "index": index})

    def wait_outputs(self, index: int, timeout: float) -> dict[str, LabFrame | None]:
        deadline = time.monotonic() + timeout

        def done() -> bool:
            return all((f := self.frames.get((index, a))) is not None and f.fused is not None
                       and f.single is not None for a in self.agents)

        while not done() and time.monotonic() < deadline:
            self._drain(0.01)
        return {a: self.frames.get((index, a)) for a in self.agents}

    def run_snapshot(self, index: int, timeout: float = 10.0) -> dict[str, LabFrame | None]:
        self.send(index)
        return self.wait_outputs(index, timeout)

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until every camera has its subscriber and a warm-up snapshot went through every
        target (discovery through the server and over the capped links takes a while)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [a for a, ok in self.drones.alive().items() if not ok]
            if dead:
                raise RuntimeError(f"drone nodes exited during start-up: {dead}")
            states = self.status()
            if len(states) == len(self.agents) and all(s["subscribers"] >= 1
                                                       for s in states.values()):
                break
            time.sleep(0.5)
        while time.monotonic() < deadline:
            self.warmups += 1
            results = self.run_snapshot(-self.warmups, WARMUP_WAIT_S)
            if all(r is not None and r.fused is not None for r in results.values()):
                return
        raise TimeoutError("no warm-up snapshot made it through the lab in time")


RADIO_WRITER = "radio_writer"  # the data_writer profile copied for every radio topic
RADIO_TOPICS = (topics.QUERY, topics.PATCHES, topics.BANDWIDTH)


def fastdds_profile_env(xml: str, cap_bit: int | None, workdir: pathlib.Path,
                        agents: list[str]) -> dict:
    """Environment that loads ``xml`` as the drones' Fast DDS profiles: its flow controller's
    max_bytes_per_period (if any) rewritten to the send budget of ``cap_bit`` per its
    period_ms, its ``radio_writer`` data_writer profile (if any) copied under the name of
    every radio topic of ``agents`` (rmw_fastrtps looks writer profiles up by topic name);
    publication mode asynchronous (flow controllers need it)."""
    from mash_ros.netlab.measure import budget_for_cap

    text = pathlib.Path(xml).read_text()
    writer = re.search(rf'<data_writer profile_name="{RADIO_WRITER}">.*?</data_writer>', text,
                       re.DOTALL)
    if writer:
        copies = "".join(writer.group(0).replace(f'"{RADIO_WRITER}"', f'"{topics.of(a, t)}"')
                         + "\n" for a in agents for t in RADIO_TOPICS)
        text = text[:writer.end()] + "\n" + copies + text[writer.end():]
    period = re.search(r"<period_ms>(\d+)</period_ms>", text)
    if cap_bit and period:
        per_period = max(1, budget_for_cap(cap_bit) * int(period.group(1)) // 1000)
        text = re.sub(r"<max_bytes_per_period>\d+</max_bytes_per_period>",
                      f"<max_bytes_per_period>{per_period}</max_bytes_per_period>", text)
    path = workdir / "fastdds_profile.xml"
    path.write_text(text)
    return {"FASTDDS_DEFAULT_PROFILES_FILE": str(path),
            "RMW_FASTRTPS_PUBLICATION_MODE": "ASYNCHRONOUS"}


class NamespacedProcesses(SwarmProcesses):
    """The node plan's processes, each started inside its drone's namespace."""

    def __init__(self, plan, prefixes: dict[str, list[str]], extra_parameters: dict,
                 env: dict):
        super().__init__(plan, extra_parameters=extra_parameters, env=env, quiet=True)
        self.prefixes = prefixes

    def command(self, spec) -> list[str]:
        return self.prefixes[spec.agent] + super().command(spec)
