"""TransformBuffer: chains through static and moving edges, interpolation, and its errors."""
from __future__ import annotations

import numpy as np
import pytest

from mash_ros.airsim.tf import TransformBuffer
from mash_ros.bags.errors import BagError
from mash_ros.sim.frames import quaternion, rotation, slerp


def rot_z(a):
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1.0]])


@pytest.fixture()
def buffer():
    b = TransformBuffer()
    for ns, x, yaw in ((0, 0.0, 0.0), (10, 1.0, np.pi / 2)):
        b.add("world", "base", ns, (x, 0.0, 0.0), quaternion(rot_z(yaw)))
    b.add("/base", "cam", 0, (0.0, 2.0, 0.0), quaternion(np.eye(3)), static=True)
    b.freeze()
    return b


def test_interpolates_translation_linearly_and_rotation_by_slerp(buffer):
    T = buffer.lookup("world", "cam", 5)
    R = rot_z(np.pi / 4)
    assert np.allclose(T[:3, :3], R)
    assert np.allclose(T[:3, 3], [0.5, 0, 0] + R @ [0, 2.0, 0])
    assert np.allclose(buffer.lookup("world", "cam", 10)[:3, 3], [1 - 2.0, 0, 0])


def test_lookup_between_siblings_and_inverse(buffer):
    assert np.allclose(buffer.lookup("cam", "world", 5) @ buffer.lookup("world", "cam", 5),
                       np.eye(4))
    assert np.allclose(buffer.lookup("cam", "cam", 3), np.eye(4))


def test_errors_name_the_problem(buffer):
    with pytest.raises(BagError, match=r"outside its recorded span 0.000000 .. 0.000000"):
        buffer.lookup("world", "cam", 11)
    with pytest.raises(BagError, match="no transform chain from map to cam"):
        buffer.lookup("map", "cam", 5)
    with pytest.raises(BagError, match="two parents"):
        buffer.add("other", "cam", 0, (0, 0, 0), (0, 0, 0, 1))


def test_quaternion_round_trip_and_slerp_halfway():
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        R = rotation(q)
        assert np.allclose(R @ R.T, np.eye(3)) and np.isclose(np.linalg.det(R), 1)
        assert np.allclose(rotation(quaternion(R)), R)
    half = slerp(quaternion(np.eye(3)), quaternion(rot_z(2.0)), 0.5)
    assert np.allclose(rotation(half), rot_z(1.0))
