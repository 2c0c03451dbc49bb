"""The paper's obstruction insertion into a recorded snapshot: placed in front of the target,
drawn into every view by a z-test against the recorded depth, consistent across views, and
written as the simulator writes obstructed snapshots."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from mash_ros.airsim.convert import ConvertOptions, convert
from mash_ros.sim.camera import project, world_to_camera
from mash_ros.sim.format import SimReader
from mash_ros.sim.insertion import insert_obstruction


@pytest.fixture(scope="module")
def recorded(synthetic):
    layers = synthetic.scene_layers()
    knobs = synthetic.Knobs()
    poses = np.stack([synthetic.camera_pose_enu(v, synthetic.image_stamp(0, v, knobs))
                      for v in range(3)])
    shape = (synthetic.H, synthetic.W)
    views = [synthetic.render(p, layers) for p in poses]
    depth = np.stack([t.reshape(shape) for t, _, _ in views]).astype(np.float32)
    rgb = np.stack([c.reshape(*shape, 3) for _, _, c in views])
    return rgb, depth, poses, synthetic.K()


def test_inserted_obstruction_is_z_tested_and_consistent_across_views(recorded):
    rgb, depth, poses, K = recorded
    checked = 0
    for seed in range(6):
        target = seed % 3
        ins = insert_obstruction(np.random.default_rng(seed), rgb, depth, K, poses, target)
        mask = ins.mask
        assert 0.05 <= mask[target].mean() <= 0.45  # about the simulator's 10-35 % of the view
        assert np.array_equal(np.isfinite(ins.depth), mask)
        assert (ins.depth[mask] < depth[mask]).all()           # in front of the recorded scene
        assert np.array_equal(ins.rgb[~mask], rgb[~mask])       # untouched elsewhere
        assert (ins.rgb[mask] != rgb[mask]).any(axis=-1).mean() > 0.5
        checked += _seen_alike(ins, depth, poses, K, target)
    assert checked >= 4


def _seen_alike(ins, depth, poses, K, target) -> int:
    """The obstruction's points the target sees land on the obstruction in the other views
    (where they are in view and not behind the scene); returns the views checked."""
    v, u = np.nonzero(ins.mask[target])
    ray = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones(len(u))], 1)
    points = (ray * ins.depth[target][v, u, None]) @ poses[target][:3, :3].T \
        + poses[target][:3, 3]
    checked = 0
    for j in range(len(poses)):
        if j == target:
            continue
        cam = world_to_camera(points, poses[j])
        front = cam[:, 2] > 0.1
        uv = np.rint(project(cam[front], K)).astype(int)
        inside = (uv >= 0).all(1) & (uv[:, 0] < depth.shape[2]) & (uv[:, 1] < depth.shape[1])
        uv, z = uv[inside], cam[front][inside, 2]
        seen = z < depth[j][uv[:, 1], uv[:, 0]]
        if seen.sum() >= 20:  # within a pixel: leaves and twigs are a pixel or two wide
            near = cv2.dilate(ins.mask[j].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
            assert near[uv[seen, 1], uv[seen, 0]].mean() > 0.9
            checked += 1
    return checked


def test_from_bag_with_obstructions_writes_the_simulators_layout(synthetic_bag, tmp_path):
    plain = convert(synthetic_bag, tmp_path / "plain")
    report = convert(synthetic_bag, tmp_path / "obs", options=ConvertOptions(obstructions=2,
                                                                            seed=4))
    assert report["snapshots_written"] == 2 * plain["snapshots_written"]
    clean, obstructed = SimReader(tmp_path / "plain" / "train"), SimReader(tmp_path / "obs" /
                                                                         "train")
    kinds = set()
    for k in range(len(obstructed)):
        a, b = obstructed.read(k), clean.read(k // 2)
        t = a["info"]["target"]
        kinds.add(a["info"]["obstruction"])
        assert a["mask"][t].mean() > 0.05
        assert np.array_equal(a["labels"], b["labels"])           # un-obstructed labels
        assert np.array_equal(a["rgb_clean"], b["rgb"][t])         # the recorded view
        assert np.array_equal(a["rgb"][~a["mask"]], b["rgb"][~a["mask"]])
        assert np.array_equal(a["corr"], b["corr"]) and np.array_equal(a["depth"], b["depth"])
        od = a["obstruction_depth"].astype(np.float32)
        assert np.array_equal(np.isfinite(od), a["mask"])
        assert np.linalg.norm(np.array(a["info"]["obstruction_center"])
                              - a["poses"][t][:3, 3]) < 6.0         # a few metres in front
    assert kinds <= {"bird", "branch", "leaves", "balloon", "bag", "kite"}
    again = convert(synthetic_bag, tmp_path / "again",
                    options=ConvertOptions(obstructions=2, seed=4))
    assert again["snapshots_written"] == report["snapshots_written"]
    assert np.array_equal(SimReader(tmp_path / "again" / "train").read(3)["rgb"],
                          obstructed.read(3)["rgb"])               # seeded: reproducible
