"""Pinhole cameras in OpenCV convention.

Intrinsics ``K`` (3x3): pixel centres at integer coordinates, ``cx = (W - 1) / 2``; the same
matrix goes into ``sensor_msgs/CameraInfo``. Poses are camera-to-world 4x4 matrices of the
*optical* frame (x right, y down, z forward) in the world frame (x east, y north, z up).
Depth is planar: the z coordinate of the point in the camera frame (AirSim's DepthPlanar).
"""
from __future__ import annotations

import numpy as np


def intrinsics(height: int, width: int, fov_deg: float = 90.0) -> np.ndarray:
    """Square pixels; ``fov_deg`` is the horizontal field of view."""
    f = (width / 2.0) / np.tan(np.deg2rad(fov_deg) / 2.0)
    return np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0, 0, 1.0]])


def look_pose(position, yaw: float, pitch_down: float) -> np.ndarray:
    """Optical-frame pose of a camera at ``position`` heading ``yaw`` (rad, CCW from +x),
    pitched down by ``pitch_down`` (rad)."""
    cp, sp = np.cos(pitch_down), np.sin(pitch_down)
    fwd = np.array([cp * np.cos(yaw), cp * np.sin(yaw), -sp])
    right = np.array([np.sin(yaw), -np.cos(yaw), 0.0])
    down = np.cross(fwd, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, fwd, position
    return pose


def pixel_rays(K: np.ndarray, pose: np.ndarray, height: int, width: int,
               uv: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """World-space ray origins and directions (float32, [P, 3]) through pixel centres.

    Directions are scaled so that their camera-frame z is 1: embree's hit distance ``t`` is then
    the planar depth. ``uv`` ([P, 2], float pixel coordinates) overrides the full pixel grid.
    """
    if uv is None:
        v, u = np.mgrid[0:height, 0:width]
        uv = np.stack([u.ravel(), v.ravel()], 1).astype(np.float64)
    cam = np.stack([(uv[:, 0] - K[0, 2]) / K[0, 0], (uv[:, 1] - K[1, 2]) / K[1, 1],
                    np.ones(len(uv))], 1)
    d = cam @ pose[:3, :3].T
    o = np.broadcast_to(pose[:3, 3], d.shape)
    return np.ascontiguousarray(o, np.float32), np.ascontiguousarray(d, np.float32)


def world_to_camera(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """[P, 3] world points to the camera's optical frame."""
    return (points - pose[:3, 3]) @ pose[:3, :3]


def project(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """[P, 3] camera-frame points to [P, 2] pixel coordinates (z must be > 0)."""
    z = points_cam[:, 2:3]
    return points_cam[:, :2] / z * np.array([K[0, 0], K[1, 1]]) + np.array([K[0, 2], K[1, 2]])


def rotation_angle_deg(pose_a: np.ndarray, pose_b: np.ndarray) -> float:
    """Geodesic angle between two camera orientations."""
    r = pose_a[:3, :3].T @ pose_b[:3, :3]
    return float(np.degrees(np.arccos(np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0))))
