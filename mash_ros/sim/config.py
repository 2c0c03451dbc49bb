"""Generator configuration and seed derivation.

A data set split is a sequence of *episodes*; each episode is one procedural city (its own seed)
flown over by the swarm for ``episode_length`` snapshots spaced ``period`` seconds apart.
Every random draw derives from ``(seed, split, episode[, frame, stream])`` through
``numpy.random.SeedSequence``, so any snapshot can be regenerated on its own and episodes can be
rendered in parallel with identical bytes. Splits use disjoint city seeds: the split id is part of
the entropy, and ``city_seed`` is additionally tagged with the split in its low bits.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .trajectory import SwarmConfig

SPLITS = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class SimConfig:
    height: int = 128
    width: int = 128
    agents: int = 6
    fov_deg: float = 90.0          # horizontal field of view (AirSim's default)
    stride: int = 8                # correspondence grid: Hs = height // stride
    episode_length: int = 40       # snapshots per city
    period: float = 0.5            # seconds of flight between snapshots (= bag period)
    blocks: int = 7                # city blocks along each axis
    coverage: tuple[float, float] = (0.10, 0.35)  # obstruction share of the target view
    noise: float = 1.0             # sensor noise scale (0 = none)
    swarm: SwarmConfig = field(default_factory=SwarmConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict) -> "SimConfig":
        d = dict(d)
        swarm = SwarmConfig(**{k: tuple(v) if isinstance(v, list) else v
                               for k, v in d.pop("swarm", {}).items()})
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()
             if k in {f.name for f in dataclasses.fields(SimConfig)}}
        return SimConfig(swarm=swarm, **d)


def split_id(split: str) -> int:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {sorted(SPLITS)}")
    return SPLITS[split]


def seed_sequence(seed: int, split: str, episode: int, *more: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), split_id(split), int(episode), *map(int, more)])


def city_seed(seed: int, split: str, episode: int) -> int:
    """City seed of an episode; the two low bits encode the split, so splits never share one."""
    raw = int(seed_sequence(seed, split, episode, 0xC17).generate_state(1, np.uint32)[0])
    return (raw & ~3) | split_id(split)


def rng_for(seed: int, split: str, episode: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(seed_sequence(seed, split, episode, *stream))
