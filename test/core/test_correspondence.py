"""Cost volume, warping grid, patch warp and send selection on constructed inputs."""
import pytest
import torch

from mash_ros.core.handshake import PointwiseEncoder, cost_volume
from mash_ros.core.roles import RespondRole
from mash_ros.core.smoothing import IdentitySmoother
from mash_ros.core.warp import (
    cells_to_pixels,
    patchify,
    scatter_cells,
    select_cells,
    unpatchify,
    warp_dense,
)


def identity_encoder(channels):
    enc = PointwiseEncoder(channels, channels)
    with torch.no_grad():
        enc.net[0].weight.copy_(torch.eye(channels)[:, :, None, None])
        enc.net[0].bias.zero_()
    return enc


def shifted_scene(dy, dx, h=8, w=8, channels=64, seed=0):
    """Target features: a distinct random unit vector per cell. The supporter sees the same
    scene moved by (dy, dx) cells: target cell (y, x) is supporter cell (y - dy, x - dx); cells
    entering the supporter's view get fresh random vectors."""
    g = torch.Generator().manual_seed(seed)

    def unit(*shape):
        v = torch.randn(*shape, generator=g)
        return v / v.norm(dim=0, keepdim=True)

    target = unit(channels, h, w)
    support = unit(channels, h, w)
    expected = torch.full((h, w), h * w, dtype=torch.long)  # no match
    for y in range(h):
        for x in range(w):
            ys, xs = y - dy, x - dx
            if 0 <= ys < h and 0 <= xs < w:
                support[:, ys, xs] = target[:, y, x]
                expected[y, x] = ys * w + xs
    return target, support, expected


def test_known_shift_recovered_by_raw_cost_volume():
    enc = identity_encoder(64)
    for dy, dx in [(0, 0), (1, 2), (-3, 1), (2, -4)]:
        t, s, expected = shifted_scene(dy, dx)
        with torch.no_grad():
            vol = cost_volume(enc(t[None]), enc(s[None]))  # [1,65,8,8]
        match = vol.argmax(1)[0]
        assert torch.equal(match, expected), (dy, dx)
        # exact matches score ~0, the best a (negative) distance can be
        assert vol.max(1).values[0][expected < 64].abs().max() < 1e-2


def test_respond_sends_exactly_the_overlap():
    t, s, expected = shifted_scene(2, -1, channels=32)
    role = RespondRole(identity_encoder(32), IdentitySmoother(), patch=8)
    probs = torch.softmax(torch.randn(8, 64, 64), 0)
    with torch.no_grad():
        ids, patches, conf, src = role(t, s, probs, 0.0, 0)
    overlap = torch.nonzero(expected.reshape(-1) < 64).reshape(-1)
    assert torch.equal(ids, overlap)
    assert torch.equal(src, expected.reshape(-1)[overlap])
    # each patch is the supporter's 8x8 block behind its source cell
    for i, j in zip(ids.tolist()[:5], src.tolist()[:5]):
        ys, xs = divmod(j, 8)
        assert torch.equal(patches[ids.tolist().index(i)], probs[:, ys * 8:ys * 8 + 8,
                                                                  xs * 8:xs * 8 + 8])


def test_patchify_roundtrip_and_cells_to_pixels():
    x = torch.randn(2, 5, 24, 32)
    p = patchify(x, 8)
    assert p.shape == (2, 12, 5, 8, 8)
    assert torch.equal(p[1, 4 + 1], x[1, :, 8:16, 8:16])  # cell (1,1) of a 3x4 grid
    assert torch.equal(unpatchify(p, 3, 4), x)
    cells = torch.arange(12.).view(1, 3, 4)
    pix = cells_to_pixels(cells, 8)
    assert pix.shape == (1, 24, 32) and pix[0, 17, 31] == 11


def test_warp_dense_moves_patches_and_zeros_unsent():
    src = torch.randn(1, 3, 16, 16)  # 2x2 grid
    match = torch.tensor([[[3, 0], [4, 1]]])  # 4 = no match
    mask = match < 4
    out = warp_dense(src, match, mask, 8)
    assert torch.equal(out[0, :, :8, :8], src[0, :, 8:, 8:])
    assert torch.equal(out[0, :, :8, 8:], src[0, :, :8, :8])
    assert torch.equal(out[0, :, 8:, :8], torch.zeros(3, 8, 8))
    assert torch.equal(out[0, :, 8:, 8:], src[0, :, :8, 8:])


def test_select_cells_threshold_and_no_match():
    conf = torch.tensor([[[0.9, 0.5], [0.2, 0.95]]])
    match = torch.tensor([[[0, 1], [2, 4]]])  # 4 = no match (V - 1)
    keep = select_cells(conf, match, 4, threshold=0.5, budget=0)
    assert keep.tolist() == [[[True, True], [False, False]]]  # >= threshold; no-match never
    keep = select_cells(conf, match, 4, threshold=0.0, budget=0)
    assert keep.tolist() == [[[True, True], [True, False]]]


def test_select_cells_budget_top_k_and_ties():
    conf = torch.tensor([[[0.3, 0.8, 0.8, 0.1], [0.9, 0.05, 0.8, 0.4]]]).view(1, 2, 4)
    match = torch.zeros(1, 2, 4, dtype=torch.long)
    keep = select_cells(conf, match, 99, threshold=0.2, budget=3)
    # 0.9, then the 0.8 ties in cell-id order: ids 1, 2 (id 6 loses the tie)
    assert torch.nonzero(keep.view(-1)).view(-1).tolist() == [1, 2, 4]
    assert select_cells(conf, match, 99, 0.2, 100).sum() == 6  # budget above count: no-op
    batched = select_cells(conf.repeat(3, 1, 1), match.repeat(3, 1, 1), 99, 0.2, 3)
    assert torch.equal(batched, keep.repeat(3, 1, 1))


def test_respond_budget_sends_most_confident():
    torch.manual_seed(1)
    role = RespondRole(identity_encoder(16), IdentitySmoother(), patch=8)
    q, k = torch.randn(16, 8, 8) * 3, torch.randn(16, 8, 8) * 3
    probs = torch.softmax(torch.randn(8, 64, 64), 0)
    with torch.no_grad():
        ids_all, _, conf_all, _ = role(q, k + 0.0, probs, -1.0, 0)
        ids, _, conf, _ = role(q, k, probs, -1.0, 4)
    assert ids.numel() == min(4, ids_all.numel())
    assert conf.min() >= conf_all.sort(descending=True).values[ids.numel() - 1]


def test_scatter_cells():
    patches = torch.rand(2, 3, 8, 8)
    probs, conf, mask = scatter_cells(torch.tensor([0, 3]), patches, torch.tensor([.5, .75]),
                                      2, 2, 3, 8)
    assert torch.equal(probs[:, 8:, 8:], patches[1]) and probs[:, :8, 8:].abs().sum() == 0
    assert conf.tolist() == [[.5, 0], [0, .75]] and mask.tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize("q_dim,k_dim", [(32, 32), (8, 32)])
def test_siamese_init_matches_identical_features(q_dim, k_dim):
    from mash_ros.core.config import load_preset
    from mash_ros.core.models import build_model

    torch.manual_seed(0)
    model = build_model(load_preset("cpu", query_dim=q_dim, key_dim=k_dim))
    f = torch.randn(1, model.backbone.feature_channels, 16, 16)
    with torch.no_grad():
        p, k = model.qk_transform(model.query_encoder(f)), model.key_encoder(f)
        vol = cost_volume(p, k)
    if q_dim == k_dim:
        assert torch.allclose(p, k, atol=1e-5)
    # from the first step, every cell's best raw match is itself (not noise, not no-match)
    assert torch.equal(vol.argmax(1).view(-1), torch.arange(256))
