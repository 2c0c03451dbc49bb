"""Ground-truth correspondences: geometry on a known plane, class and colour consistency."""
from __future__ import annotations

import numpy as np

from mash_ros.sim.camera import intrinsics, look_pose
from mash_ros.sim.correspondence import cell_centres, dense_warp, reproject
from mash_ros.sim.format import SimReader


def _plane_depth(K, pose, h, w):
    """Planar depth of the ground plane z = 0 seen by ``pose``."""
    v, u = np.mgrid[0:h, 0:w]
    ray = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones((h, w))], -1)
    d = ray @ pose[:3, :3].T
    t = -pose[2, 3] / d[..., 2]
    return np.where(d[..., 2] < 0, t, np.inf)


def test_reproject_plane_exact():
    h = w = 64
    K = intrinsics(h, w, 90)
    a = look_pose([0, 0, 10], 0.0, np.deg2rad(45))
    b = look_pose([3, 1, 11], np.deg2rad(20), np.deg2rad(40))
    da, db = _plane_depth(K, a, h, w), _plane_depth(K, b, h, w)
    uv, valid = dense_warp(da, db, K, a, b)
    assert valid.mean() > 0.3
    # lift both to the world and compare
    sel = np.argwhere(valid)
    for (y, x) in sel[:: max(1, len(sel) // 50)]:
        pa = a[:3, :3] @ (np.array([(x - K[0, 2]) / K[0, 0], (y - K[1, 2]) / K[1, 1], 1])
                          * da[y, x]) + a[:3, 3]
        u, v = uv[y, x]
        ray = np.array([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], 1.0])
        d = b[:3, :3] @ ray
        pb = b[:3, 3] + d * (-b[2, 3] / d[2])
        assert np.linalg.norm(pa - pb) < 1e-3 * np.linalg.norm(pa - a[:3, 3])
    # a point hidden behind a closer surface in the supporter is rejected
    db_occ = db.copy()
    db_occ[:] = np.where(np.isfinite(db), db * 0.5, db)
    _, valid_occ = dense_warp(da, db_occ, K, a, b)
    assert not (valid_occ & np.isfinite(da)).any()


def test_cell_centres():
    uv = cell_centres(16, 32, 8)
    assert uv.shape == (8, 2)
    assert tuple(uv[0]) == (3.5, 3.5) and tuple(uv[5]) == (11.5, 11.5)


def _pairs(split):
    r = SimReader(split)
    for k in range(len(r)):
        a = r.read(k, ["labels", "depth", "poses", "corr", "rgb", "info", "mask"])
        n = len(a["labels"])
        for i in range(n):
            for j in range(n):
                if i != j:
                    yield r, a, i, j


def test_dense_warp_class_and_colour_consistency(tiny_split):
    same, total = 0, 0
    d_match, d_random = [], []
    rng = np.random.default_rng(0)
    for r, a, i, j in _pairs(tiny_split):
        uv, valid = dense_warp(a["depth"][i], a["depth"][j], r.K, a["poses"][i], a["poses"][j])
        clear = valid & ~a["mask"][i]
        ys, xs = np.nonzero(clear)
        if len(ys) == 0:
            continue
        h, w = a["labels"].shape[1:]
        ui = np.clip(np.rint(uv[ys, xs, 0]).astype(int), 0, w - 1)
        vi = np.clip(np.rint(uv[ys, xs, 1]).astype(int), 0, h - 1)
        ok = ~a["mask"][j][vi, ui]
        ys, xs, ui, vi = ys[ok], xs[ok], ui[ok], vi[ok]
        same += int((a["labels"][i][ys, xs] == a["labels"][j][vi, ui]).sum())
        total += len(ys)
        ci = a["rgb"][i][ys, xs].astype(float)
        d_match.append(np.abs(ci - a["rgb"][j][vi, ui]).mean(1))
        ry, rx = rng.integers(0, h, len(ys)), rng.integers(0, w, len(ys))
        d_random.append(np.abs(ci - a["rgb"][j][ry, rx]).mean(1))
    assert total > 5000
    assert same / total >= 0.98, same / total
    dm, dr = np.concatenate(d_match).mean(), np.concatenate(d_random).mean()
    assert dm < 0.6 * dr, (dm, dr)


def test_cell_correspondences_consistent(tiny_split):
    hits, total = 0, 0
    for r, a, i, j in _pairs(tiny_split):
        corr = a["corr"][i, j].ravel()
        h, w = a["labels"].shape[1:]
        hs, ws = h // 8, w // 8
        uv = cell_centres(h, w, 8)
        for c in np.flatnonzero(corr < hs * ws):
            x, y = int(uv[c, 0]), int(uv[c, 1])  # a pixel next to the cell centre
            cls = a["labels"][i][y, x]
            sy, sx = divmod(int(corr[c]), ws)
            patch = a["labels"][j][sy * 8:(sy + 1) * 8, sx * 8:(sx + 1) * 8]
            hits += bool((patch == cls).any())
            total += 1
    assert total > 100
    assert hits / total >= 0.98, hits / total


def test_reproject_sky_points_match_sky():
    h = w = 32
    K = intrinsics(h, w, 90)
    a = look_pose([0, 0, 10], 0.0, np.deg2rad(-10))  # looking up a little: some sky
    b = look_pose([5, 0, 10], np.deg2rad(10), np.deg2rad(-10))
    inf = np.full((h, w), np.inf)
    uv_t = np.array([[15.5, 5.0]])
    uv, valid = reproject(uv_t, np.array([np.inf]), K, a, b, inf)
    assert valid[0]
    _, valid2 = reproject(uv_t, np.array([np.inf]), K, a, b, np.full((h, w), 50.0))
    assert not valid2[0]
