"""Embree ray casting over layers of triangle meshes (static city, moving cars, obstruction)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from embreex import rtcore_scene
from embreex.mesh_construction import TriangleMesh

from .geometry import Mesh


class Layer:
    """One embree scene holding one ``Mesh``; primitive ids index the mesh's attribute rows."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.scene = None
        if len(mesh):
            self.scene = rtcore_scene.EmbreeScene()
            TriangleMesh(self.scene, np.ascontiguousarray(mesh.tris, np.float32))

    def intersect(self, o: np.ndarray, d: np.ndarray):
        """Nearest hit: (t [P] with inf for misses, prim [P] int32 with -1, Ng [P, 3])."""
        if self.scene is None or len(o) == 0:
            return (np.full(len(o), np.inf, np.float32), np.full(len(o), -1, np.int32),
                    np.zeros((len(o), 3), np.float32))
        r = self.scene.run(o, d, output=1)
        prim = r["primID"].astype(np.int32)
        miss = r["geomID"] < 0
        prim[miss] = -1
        t = np.where(miss, np.inf, r["tfar"]).astype(np.float32)
        return t, prim, r["Ng"]

    def occluded(self, o: np.ndarray, d: np.ndarray, dist: np.ndarray | None = None):
        """True where a ray is blocked before ``dist`` (default: anywhere)."""
        if self.scene is None or len(o) == 0:
            return np.zeros(len(o), bool)
        if dist is None:
            res = self.scene.run(o, d, query="OCCLUDED")
        else:
            res = self.scene.run(o, d, dists=np.ascontiguousarray(dist, np.float32),
                                 query="OCCLUDED")
        return np.asarray(res) >= 0


@dataclass
class Hit:
    """Nearest hits over several layers, with the attribute rows of the hit triangles."""
    t: np.ndarray        # [P] ray parameter (planar depth for z-normalised camera rays), inf: miss
    normal: np.ndarray   # [P, 3] unnormalised geometric normal
    cls: np.ndarray      # [P] uint8 class (0 = sky on misses)
    mat: np.ndarray      # [P] uint8 material (0 on misses)
    color: np.ndarray    # [P, 3]
    params: np.ndarray   # [P, 8]
    obj: np.ndarray      # [P] int32

    @property
    def valid(self) -> np.ndarray:
        return np.isfinite(self.t)


def cast(layers: list[Layer], o: np.ndarray, d: np.ndarray) -> Hit:
    """Nearest hit over ``layers`` for rays (o, d) ([P, 3] float32)."""
    n = len(o)
    best_t = np.full(n, np.inf, np.float32)
    best_layer = np.full(n, -1, np.int32)
    best_prim = np.full(n, -1, np.int32)
    normal = np.zeros((n, 3), np.float32)
    for k, layer in enumerate(layers):
        t, prim, ng = layer.intersect(o, d)
        closer = t < best_t
        best_t[closer], best_layer[closer], best_prim[closer] = t[closer], k, prim[closer]
        normal[closer] = ng[closer]
    cls = np.zeros(n, np.uint8)
    mat = np.zeros(n, np.uint8)
    color = np.zeros((n, 3), np.float32)
    params = np.zeros((n, 8), np.float32)
    obj = np.zeros(n, np.int32)
    for k, layer in enumerate(layers):
        sel = best_layer == k
        if not sel.any():
            continue
        p = best_prim[sel]
        m = layer.mesh
        cls[sel], mat[sel], color[sel] = m.cls[p], m.mat[p], m.color[p]
        params[sel], obj[sel] = m.params[p], m.obj[p]
    return Hit(best_t, normal, cls, mat, color, params, obj)


def occluded(layers: list[Layer], o: np.ndarray, d: np.ndarray, dist=None) -> np.ndarray:
    out = np.zeros(len(o), bool)
    for layer in layers:
        todo = ~out
        if todo.any():
            out[todo] = layer.occluded(o[todo], d[todo], None if dist is None else dist[todo])
    return out
