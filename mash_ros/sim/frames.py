"""Rotations and the frame conventions a recording mixes: ENU and NED worlds, FRD vehicle bodies,
REP 103 optical frames. Plain numpy; 4x4 homogeneous transforms map child to parent coordinates.

- our world (``mash-sim``): x east, y north, z up (ENU);
- AirSim's ``world_ned``: x north, y east, z down (NED);
- an AirSim vehicle body: x forward, y right, z down (FRD);
- a camera optical frame (REP 103): z forward, x right, y down.
"""
from __future__ import annotations

import numpy as np

# p_enu = NED_TO_ENU @ p_ned (the same matrix maps ENU to NED: it is its own inverse)
NED_TO_ENU = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
# columns: the optical axes (x right, y down, z forward) in FRD body axes
OPTICAL_IN_BODY = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def quaternion(R: np.ndarray) -> tuple[float, float, float, float]:
    """Rotation matrix [3, 3] to (x, y, z, w), w >= 0."""
    m = np.asarray(R, np.float64)
    w = np.sqrt(max(0.0, 1.0 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    x = np.sqrt(max(0.0, 1.0 + m[0, 0] - m[1, 1] - m[2, 2])) / 2
    y = np.sqrt(max(0.0, 1.0 - m[0, 0] + m[1, 1] - m[2, 2])) / 2
    z = np.sqrt(max(0.0, 1.0 - m[0, 0] - m[1, 1] + m[2, 2])) / 2
    x = np.copysign(x, m[2, 1] - m[1, 2])
    y = np.copysign(y, m[0, 2] - m[2, 0])
    z = np.copysign(z, m[1, 0] - m[0, 1])
    q = np.array([x, y, z, w])
    q /= np.linalg.norm(q)
    return tuple(float(v) for v in q)


def rotation(q) -> np.ndarray:
    """Quaternion (x, y, z, w), any norm > 0, to a rotation matrix [3, 3]."""
    x, y, z, w = np.asarray(q, np.float64) / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def slerp(q0, q1, f: float) -> np.ndarray:
    """Spherical interpolation between unit quaternions (x, y, z, w) at fraction ``f``."""
    q0, q1 = np.asarray(q0, np.float64), np.asarray(q1, np.float64)
    dot = float(q0 @ q1)
    if dot < 0:  # the shorter arc
        q1, dot = -q1, -dot
    if dot > 0.9995:  # nearly equal: linear is exact to rounding and avoids 0/0
        q = q0 + f * (q1 - q0)
        return q / np.linalg.norm(q)
    theta = np.arccos(dot)
    return (np.sin((1 - f) * theta) * q0 + np.sin(f * theta) * q1) / np.sin(theta)


def transform(R: np.ndarray, t) -> np.ndarray:
    """4x4 from a rotation [3, 3] and a translation [3]."""
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    return T


def invert(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform."""
    R, t = T[:3, :3], T[:3, 3]
    return transform(R.T, -R.T @ t)


def ned_to_enu(T_ned: np.ndarray) -> np.ndarray:
    """A pose [4, 4] in a NED world to the same pose in the ENU world sharing its origin."""
    return transform(NED_TO_ENU, np.zeros(3)) @ T_ned


enu_to_ned = ned_to_enu  # the axis swap is an involution
