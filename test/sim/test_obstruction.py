"""The obstruction: visible in the target, one 3-D object, ground truth differs only inside."""
from __future__ import annotations

import numpy as np

from mash_ros.core.classes import OBSTRUCTION
from mash_ros.sim.camera import intrinsics, look_pose, pixel_rays
from mash_ros.sim.format import SimReader
from mash_ros.sim.obstruction import KINDS, place_obstruction
from mash_ros.sim.raycast import Layer


def test_obstruction_in_target_and_gt_differs_only_inside(tiny_split):
    r = SimReader(tiny_split)
    for k in range(len(r)):
        a = r.read(k)
        t = a["info"]["target"]
        mask = a["mask"][t]
        cov = mask.mean()
        assert 0.04 <= cov <= 0.45, cov
        obstructed = np.where(a["mask"], OBSTRUCTION, a["labels"])
        # the un-obstructed ground truth differs from the rendered labels exactly inside the mask
        assert np.array_equal(obstructed[t] != a["labels"][t], mask)
        # the clean RGB equals the obstructed one outside the mask, and mostly differs inside
        diff = np.abs(a["rgb"][t].astype(int) - a["rgb_clean"].astype(int)).sum(-1)
        assert (diff[~mask] == 0).all()
        assert (diff[mask] > 0).mean() > 0.8
        # the obstruction is closer than the scene behind it
        od = a["obstruction_depth"].astype(np.float32)
        assert np.isfinite(od[a["mask"]]).all() and not np.isfinite(od[~a["mask"]]).any()
        assert (od[a["mask"]] < a["depth"].astype(np.float32)[a["mask"]]).all()
        assert od[t][mask].max() < 8.0


def test_obstruction_is_one_3d_object_in_every_view(tiny_split):
    """Every masked pixel of every drone lifts (pose + obstruction depth) into the obstruction's
    bounding sphere: the same world-space object is rendered in all views."""
    r = SimReader(tiny_split)
    for k in range(len(r)):
        a = r.read(k)
        c = np.array(a["info"]["obstruction_center"])
        rad = a["info"]["obstruction_radius"]
        for j in range(len(a["rgb"])):
            ys, xs = np.nonzero(a["mask"][j])
            z = a["obstruction_depth"][j][ys, xs].astype(np.float64)
            ray = np.stack([(xs - r.K[0, 2]) / r.K[0, 0], (ys - r.K[1, 2]) / r.K[1, 1],
                            np.ones(len(xs))], 1)
            p = (ray * z[:, None]) @ a["poses"][j][:3, :3].T + a["poses"][j][:3, 3]
            dist = np.linalg.norm(p - c, axis=1)
            assert (dist <= rad * 1.02 + 0.02).all(), (k, j, dist.max(), rad)
            cam_gap = np.linalg.norm(a["poses"][j][:3, 3] - c) - rad
            if j != a["info"]["target"]:
                assert cam_gap > 0.5  # not absurdly close to a supporter


def test_every_kind_places_with_requested_coverage():
    rng = np.random.default_rng(0)
    K = intrinsics(64, 64, 90)
    pose = look_pose([0, 0, 10], 0.3, 0.3)
    o, d = pixel_rays(K, pose, 64, 64)
    for kind in KINDS:
        obs = place_obstruction(rng, pose, K, 64, 64, [], np.zeros((0, 3)), kind=kind)
        assert obs.kind == kind
        assert 1.0 < obs.distance < 4.5
        assert (obs.mesh.cls == OBSTRUCTION).all()
        cov = np.isfinite(Layer(obs.mesh).intersect(o, d)[0]).mean()
        assert 0.05 < cov < 0.5, (kind, cov)
