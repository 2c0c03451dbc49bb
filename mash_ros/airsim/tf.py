"""A recording's transform tree (``/tf``, ``/tf_static``, or odometry turned into edges), looked up
at any stamp between recorded samples: translation linear, rotation slerp, as tf2 does.

Every frame has one parent. Static edges hold at every time; a dynamic edge answers only inside
the span of its samples (a lookup outside it is an error, never an extrapolation).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from mash_ros.bags.errors import BagError
from mash_ros.sim.frames import invert, rotation, slerp, transform


@dataclass
class _Edge:
    parent: str
    static: bool
    stamps: list[int] = field(default_factory=list)        # ns, sorted after ``freeze``
    values: list[np.ndarray] = field(default_factory=list)  # [7]: x, y, z, qx, qy, qz, qw

    def at(self, child: str, ns: int) -> np.ndarray:
        """4x4 child -> parent at ``ns``."""
        if self.static:
            v = self.values[-1]
            return transform(rotation(v[3:]), v[:3])
        i = bisect.bisect_left(self.stamps, ns)
        if i < len(self.stamps) and self.stamps[i] == ns:
            v = self.values[i]
            return transform(rotation(v[3:]), v[:3])
        if i == 0 or i == len(self.stamps):
            raise BagError(f"the transform {self.parent} -> {child} is needed at "
                           f"{ns / 1e9:.6f} s, outside its recorded span "
                           f"{self.stamps[0] / 1e9:.6f} .. {self.stamps[-1] / 1e9:.6f} s")
        t0, t1 = self.stamps[i - 1], self.stamps[i]
        f = (ns - t0) / (t1 - t0)
        v0, v1 = self.values[i - 1], self.values[i]
        q = slerp(v0[3:] / np.linalg.norm(v0[3:]), v1[3:] / np.linalg.norm(v1[3:]), f)
        return transform(rotation(q), v0[:3] + f * (v1[:3] - v0[:3]))


class TransformBuffer:
    """Edges parent -> child with their samples; ``lookup`` composes a chain."""

    def __init__(self) -> None:
        self.edges: dict[str, _Edge] = {}

    def add(self, parent: str, child: str, ns: int, translation, quaternion,
            static: bool = False) -> None:
        """One sample of child's pose in parent (quaternion x, y, z, w)."""
        parent, child = parent.lstrip("/"), child.lstrip("/")
        edge = self.edges.get(child)
        if edge is None:
            edge = self.edges[child] = _Edge(parent, static)
        elif edge.parent != parent:
            raise BagError(f"frame {child} has two parents in the recording: {edge.parent} and "
                           f"{parent}")
        edge.static = edge.static or static
        edge.stamps.append(int(ns))
        edge.values.append(np.array([*translation, *quaternion], np.float64))

    def freeze(self) -> None:
        """Sort every edge's samples by stamp (call once after adding)."""
        for edge in self.edges.values():
            order = np.argsort(edge.stamps, kind="stable")
            edge.stamps = [edge.stamps[i] for i in order]
            edge.values = [edge.values[i] for i in order]

    def _path(self, frame: str) -> list[str]:
        """[frame, its parent, …, root]."""
        path = [frame]
        while path[-1] in self.edges:
            path.append(self.edges[path[-1]].parent)
            if len(path) > 64:
                raise BagError(f"the transform tree has a cycle through {frame}")
        return path

    def _to_ancestor(self, path: list[str], ancestor: str, ns: int) -> np.ndarray:
        T = np.eye(4)
        for child in path[:path.index(ancestor)]:
            T = self.edges[child].at(child, ns) @ T
        return T

    def lookup(self, fixed: str, frame: str, ns: int) -> np.ndarray:
        """Pose of ``frame`` in ``fixed`` at ``ns`` (4x4, frame -> fixed coordinates)."""
        fixed, frame = fixed.lstrip("/"), frame.lstrip("/")
        up, down = self._path(frame), self._path(fixed)
        common = next((f for f in up if f in down), None)
        if common is None:
            known = ", ".join(sorted({*self.edges, *(e.parent for e in self.edges.values())}))
            raise BagError(f"no transform chain from {fixed} to {frame} in the recording "
                           f"(frames: {known or 'none'})")
        return invert(self._to_ancestor(down, common, ns)) @ self._to_ancestor(up, common, ns)
