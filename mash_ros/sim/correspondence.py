"""Ground-truth correspondences by reprojection of un-obstructed depth, with an occlusion test.

A target pixel with planar depth z is lifted to 3-D with the target pose, projected into the
supporter, and matched if it lands inside the supporter image and agrees with the supporter's
own un-obstructed depth there: within ``rel_tol`` relative + ``abs_tol`` metres of the
supporter depth interpolated bilinearly in inverse depth (exact on planes, conservative at depth
edges) at the projection, and the nearest supporter pixel must see a surface. Sky pixels
(infinite depth) are points at infinity: they match where the supporter sees sky in the same
direction. Works on numpy arrays; ``torch`` is not needed.

Cell correspondences (the model's grid, stride ``s``): cell (y, x) of the target is represented
by its centre pixel coordinate ``(s*x + (s-1)/2, s*y + (s-1)/2)``; its value is the supporter cell
``y' * Ws + x'`` containing the projection, or ``Hs * Ws`` for "no match".
"""
from __future__ import annotations

import numpy as np


def cell_centres(height: int, width: int, stride: int) -> np.ndarray:
    """[Hs*Ws, 2] (u, v) pixel coordinates of the cell centres, row-major."""
    hs, ws = height // stride, width // stride
    y, x = np.mgrid[0:hs, 0:ws]
    c = (stride - 1) / 2.0
    return np.stack([x.ravel() * stride + c, y.ravel() * stride + c], 1).astype(np.float64)


def _centre_window(depth: np.ndarray, stride: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Inverse depth (sky = 0) of the 4x4 pixels around every cell centre [N, Hs*Ws, 4, 4] (rows,
    columns; fewer for strides below 4), their (u, v) offsets from the centre [4*4, 2], and
    where the centre's 2x2 starts inside the window."""
    n, h, w = depth.shape
    hs, ws = h // stride, w // stride
    d = depth[:, :hs * stride, :ws * stride].astype(np.float64).reshape(n, hs, stride, ws, stride)
    c = (stride - 1) // 2
    lo, hi = max(c - 1, 0), min(c + 3, stride)
    win = d[:, :, lo:hi, :, lo:hi].transpose(0, 1, 3, 2, 4).reshape(n, hs * ws, hi - lo, hi - lo)
    off = np.arange(lo, hi) - (stride - 1) / 2.0
    v, u = np.meshgrid(off, off, indexing="ij")
    return 1.0 / win, np.stack([u.ravel(), v.ravel()], 1), c - lo


def _depth(inverse: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.where(inverse > 0, 1.0 / np.where(inverse > 0, inverse, 1.0), np.inf)


def _two_surface(inv: np.ndarray, uv: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Inverse depth at the centre [N, M] of windows [N, M, P] (P pixels at offsets ``uv``
    [P, 2]; ``inner``: the four around the centre) that straddle a depth edge.

    The pixels split at the largest gap of their inverse depths into a near and a far surface.
    The centre is on the side most of the four inner pixels are on; two and two, on the side
    of a straight boundary fitted (least squares) to all pixels' sides. Its inverse depth is
    that surface's plane (affine in u, v; fitted to the surface's pixels) at the centre, kept
    within the values the surface shows."""
    X = np.concatenate([uv, np.ones((len(uv), 1))], 1)                    # [P, 3]
    srt = np.sort(inv, -1)
    k = np.diff(srt, axis=-1).argmax(-1)[..., None]
    near = inv > (np.take_along_axis(srt, k, -1) + np.take_along_axis(srt, k + 1, -1)) / 2
    boundary = np.where(near, 1.0, -1.0) @ np.linalg.pinv(X).T            # [N, M, 3]
    inner_near = near[..., inner].sum(-1)
    side_near = np.where(inner_near == 2, boundary[..., 2] > 0, inner_near > 2)
    member = np.where(side_near[..., None], near, ~near).astype(np.float64)
    A = np.einsum("...p,pi,pj->...ij", member, X, X) + 1e-9 * np.eye(3)
    b = np.einsum("...p,pi,...p->...i", member, X, inv)
    plane = np.linalg.solve(A, b[..., None])[..., 2, 0]  # the plane's value at the centre
    count = member.sum(-1)
    mean = (member * inv).sum(-1) / np.maximum(count, 1)
    centre = np.where(count >= 4, plane, mean)  # fewer pixels: too few for a plane
    lo = np.where(member > 0, inv, np.inf).min(-1)
    hi = np.where(member > 0, inv, -np.inf).max(-1)
    return np.clip(centre, lo, hi)


def cell_correspondences_from_depth(depth: np.ndarray, K: np.ndarray, poses: np.ndarray,
                                    stride: int) -> np.ndarray:
    """``cell_correspondences`` for recordings, where only per-pixel planar depth [N, H, W]
    (inf: sky) is known and no ray can be cast through a cell centre; poses [N, 4, 4] ->
    int16 [N, N, Hs, Ws].

    An even stride puts the centre between four pixels. Where the 4x4 pixels around it lie on
    one surface (inverse depth is affine on a plane: its second differences vanish along rows
    and columns) the centre's depth is the mean of the four inverse depths, exact on planes;
    so it is where that mean finds a match (a surface there that the supporter sees). Otherwise
    the centre is at a depth edge: its depth comes from the surface it is judged to be on
    (``_two_surface``)."""
    if stride % 2:  # the centre is a pixel
        c = (stride - 1) // 2
        n, h, w = depth.shape
        centre = depth[:, c:h // stride * stride:stride, c:w // stride * stride:stride]
        return cell_correspondences(centre.reshape(len(depth), -1), depth, K, poses, stride)
    inv, uv, o = _centre_window(depth, stride)
    bend = np.zeros(inv.shape[:2])
    if inv.shape[-1] > 2:
        bend = np.maximum(np.abs(np.diff(inv, 2, axis=-1)).max((-1, -2)),
                          np.abs(np.diff(inv, 2, axis=-2)).max((-1, -2)))
    planar = bend <= 0.01 * inv.max((-1, -2)) + 1e-9                      # [N, Hs*Ws]
    quad = inv[..., o:o + 2, o:o + 2].reshape(*inv.shape[:2], 4)
    mean = cell_correspondences(_depth(quad.mean(-1)), depth, K, poses, stride)
    n, _, hs, ws = mean.shape
    edge = ~planar.reshape(n, 1, hs, ws) & (mean == hs * ws)
    if not edge.any():
        return mean
    inner = np.zeros(inv.shape[-2:], bool)
    inner[o:o + 2, o:o + 2] = True
    flat = inv.reshape(*inv.shape[:2], -1)
    surface = cell_correspondences(_depth(_two_surface(flat, uv, inner.ravel())), depth, K,
                                   poses, stride)
    return np.where(edge, surface, mean).astype(np.int16)


def reproject(uv_t: np.ndarray, depth_uv: np.ndarray, K: np.ndarray, pose_t: np.ndarray,
              pose_s: np.ndarray, depth_s: np.ndarray, rel_tol: float = 0.03,
              abs_tol: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Target pixel coordinates ``uv_t`` [P, 2] with planar depths ``depth_uv`` [P] (inf: sky)
    to supporter pixel coordinates [P, 2] (float) and a validity mask [P]."""
    h, w = depth_s.shape
    depth_uv = np.asarray(depth_uv, np.float64)
    sky = ~np.isfinite(depth_uv)
    ray = np.stack([(uv_t[:, 0] - K[0, 2]) / K[0, 0], (uv_t[:, 1] - K[1, 2]) / K[1, 1],
                    np.ones(len(uv_t))], 1)
    r_st = pose_s[:3, :3].T @ pose_t[:3, :3]          # target cam -> supporter cam rotation
    t_st = pose_s[:3, :3].T @ (pose_t[:3, 3] - pose_s[:3, 3])
    z = np.where(sky, 1.0, depth_uv)
    pts = (ray * z[:, None]) @ r_st.T + np.where(sky[:, None], 0.0, t_st)
    zs = pts[:, 2]
    front = zs > 1e-6
    zsafe = np.where(front, zs, 1.0)
    u = pts[:, 0] / zsafe * K[0, 0] + K[0, 2]
    v = pts[:, 1] / zsafe * K[1, 1] + K[1, 2]
    inside = front & (u > -0.5) & (u < w - 0.5) & (v > -0.5) & (v < h - 0.5)
    ui = np.clip(np.rint(u), 0, w - 1).astype(np.int64)
    vi = np.clip(np.rint(v), 0, h - 1).astype(np.int64)
    d_near = depth_s[vi, ui].astype(np.float64)
    # bilinear interpolation of inverse depth (exact on planes; sky = 0)
    inv = 1.0 / depth_s.astype(np.float64)
    uc, vc = np.clip(u, 0, w - 1), np.clip(v, 0, h - 1)
    u0 = np.minimum(np.floor(uc).astype(np.int64), w - 2) if w > 1 else np.zeros_like(ui)
    v0 = np.minimum(np.floor(vc).astype(np.int64), h - 2) if h > 1 else np.zeros_like(vi)
    fu, fv = uc - u0, vc - v0
    u1, v1 = np.minimum(u0 + 1, w - 1), np.minimum(v0 + 1, h - 1)
    inv_s = ((inv[v0, u0] * (1 - fu) + inv[v0, u1] * fu) * (1 - fv)
             + (inv[v1, u0] * (1 - fu) + inv[v1, u1] * fu) * fv)
    d_interp = 1.0 / np.maximum(inv_s, 1e-12)
    ok_surface = np.isfinite(d_near) & (np.abs(zs - d_interp) <= rel_tol * zs + abs_tol)
    ok_sky = ~np.isfinite(d_near)
    valid = inside & np.where(sky, ok_sky, ok_surface)
    return np.stack([u, v], 1).astype(np.float32), valid


def cell_correspondences(depth_cells: np.ndarray, depth: np.ndarray, K: np.ndarray,
                         poses: np.ndarray, stride: int) -> np.ndarray:
    """All ordered pairs: ``depth_cells`` [N, Hs*Ws] planar depth at the cell centres, ``depth``
    [N, H, W] full-resolution un-obstructed depth, ``poses`` [N, 4, 4] -> int16 [N, N, Hs, Ws]."""
    n, h, w = depth.shape
    hs, ws = h // stride, w // stride
    uv = cell_centres(h, w, stride)
    out = np.empty((n, n, hs, ws), np.int16)
    ident = np.arange(hs * ws).reshape(hs, ws)
    for i in range(n):
        for j in range(n):
            if i == j:
                out[i, j] = ident
                continue
            uv_s, valid = reproject(uv, depth_cells[i], K, poses[i], poses[j], depth[j])
            cx = np.clip(np.floor((uv_s[:, 0] + 0.5) / stride), 0, ws - 1).astype(np.int64)
            cy = np.clip(np.floor((uv_s[:, 1] + 0.5) / stride), 0, hs - 1).astype(np.int64)
            out[i, j] = np.where(valid, cy * ws + cx, hs * ws).reshape(hs, ws)
    return out


def dense_warp(depth_t: np.ndarray, depth_s: np.ndarray, K: np.ndarray, pose_t: np.ndarray,
               pose_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel ground-truth warp target -> supporter from stored (float16) depth.

    Returns supporter pixel coordinates [H, W, 2] (u, v; float32) and validity [H, W] bool.
    For ``torch.nn.functional.grid_sample(align_corners=False)`` use
    ``grid = (uv + 0.5) / (W, H) * 2 - 1``.
    """
    h, w = depth_t.shape
    v, u = np.mgrid[0:h, 0:w]
    uv = np.stack([u.ravel(), v.ravel()], 1).astype(np.float64)
    uv_s, valid = reproject(uv, depth_t.ravel(), K, pose_t, pose_s,
                            depth_s.astype(np.float32))
    return uv_s.reshape(h, w, 2), valid.reshape(h, w)


def overlap(corr: np.ndarray) -> np.ndarray:
    """Fraction of target cells with a match, per ordered pair: [N, N] (diagonal = 1)."""
    n, _, hs, ws = corr.shape
    return (corr.reshape(n, n, -1) < hs * ws).mean(-1)
