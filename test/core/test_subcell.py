"""Sub-cell warping: positions from the volume, per-pixel upsampling, sampling, flow loss."""
import pytest
import torch
import torch.nn.functional as F

from mash_ros.core.backbone import SegNet
from mash_ros.core.subcell import (
    flow_loss,
    grid_centres,
    subcell_positions,
    true_positions,
    upsample_displacement,
    warp_subcell,
)

P = 8


def peaked_volume(grid: int, cell: int, neighbour: int | None = None, share: float = 0.0,
                  no_match: float = -30.0) -> torch.Tensor:
    """[1, grid*grid+1, 1, 1] logits: one target cell matching ``cell`` (and some of
    ``neighbour``); everything else (and no-match unless given) far less likely."""
    logits = torch.full((1, grid * grid + 1, 1, 1), -30.0)
    logits[0, cell] = 0.0
    if neighbour is not None:
        logits[0, neighbour] = torch.log(torch.tensor(share / (1 - share)))
    logits[0, -1] = no_match
    return logits


def test_position_is_the_cell_centre_for_a_sharp_match():
    pos, window = subcell_positions(peaked_volume(4, cell=6), 4, 4)  # cell (x=2, y=1)
    torch.testing.assert_close(pos[0, :, 0, 0], torch.tensor([2.5, 1.5]))
    assert int(window) == 6


def test_position_moves_towards_a_likely_neighbour_and_ignores_no_match():
    # 30 % on the right-hand neighbour: x = 0.7 * 2.5 + 0.3 * 3.5
    pos, _ = subcell_positions(peaked_volume(4, cell=6, neighbour=7, share=0.3, no_match=5.0),
                               4, 4)
    torch.testing.assert_close(pos[0, :, 0, 0], torch.tensor([2.8, 1.5]))


def test_cells_outside_the_window_do_not_pull():
    far = peaked_volume(4, cell=0, neighbour=15, share=0.4)  # (0,0) and the opposite corner
    pos, window = subcell_positions(far, 4, 4)
    torch.testing.assert_close(pos[0, :, 0, 0], torch.tensor([0.5, 0.5]))
    assert int(window) == 0


def test_upsampling_a_constant_and_an_affine_field_is_exact():
    ht = wt = 4
    centres = grid_centres(ht, wt, torch.device("cpu")).view(1, 2, ht, wt)
    shifted = centres + torch.tensor([0.25, -0.5]).view(1, 2, 1, 1)
    out = upsample_displacement(shifted, torch.ones(1, ht, wt), P)
    pixels = grid_centres(ht * P, wt * P, torch.device("cpu")).view(1, 2, ht * P, wt * P) / P
    torch.testing.assert_close(out, pixels + torch.tensor([0.25, -0.5]).view(1, 2, 1, 1))
    # a rotation by 90 degrees about the grid centre is affine: bilinear reproduces it inside
    # the hull of the cell centres
    rotated = torch.stack([4.0 - centres[:, 1], centres[:, 0]], 1)
    out = upsample_displacement(rotated, torch.ones(1, ht, wt), P)
    expect = torch.stack([4.0 - pixels[:, 1], pixels[:, 0]], 1)
    inner = slice(P // 2, ht * P - P // 2)
    torch.testing.assert_close(out[..., inner, inner], expect[..., inner, inner])


def test_unsent_cells_do_not_bend_their_neighbours():
    ht = wt = 4
    centres = grid_centres(ht, wt, torch.device("cpu")).view(1, 2, ht, wt)
    positions = centres.clone()
    positions[0, :, 1, 2] += 50.0  # a wild match in a cell that is not sent
    weight = torch.ones(1, ht, wt)
    weight[0, 1, 2] = 0.0
    out = upsample_displacement(positions, weight, P)
    pixels = grid_centres(ht * P, wt * P, torch.device("cpu")).view(1, 2, ht * P, wt * P) / P
    sent = torch.ones(ht, wt, dtype=torch.bool)
    sent[1, 2] = False
    sent_pixels = sent.repeat_interleave(P, 0).repeat_interleave(P, 1)
    torch.testing.assert_close(out[0][:, sent_pixels], pixels[0][:, sent_pixels])


def test_warp_with_identity_positions_returns_the_source_and_a_shift_shifts_it():
    torch.manual_seed(0)
    source = torch.rand(1, 3, 32, 32).softmax(1)
    centres = grid_centres(4, 4, torch.device("cpu")).view(1, 2, 4, 4)
    same = warp_subcell(source, centres, torch.ones(1, 4, 4), P)
    torch.testing.assert_close(same, source)
    # target pixel u sees supporter pixel u + 3 (3 px = 3/8 cell to the right)
    shifted = warp_subcell(source, centres + torch.tensor([3.0 / P, 0.0]).view(1, 2, 1, 1),
                           torch.ones(1, 4, 4), P)
    torch.testing.assert_close(shifted[..., :29], source[..., 3:])
    assert torch.allclose(shifted.sum(1), torch.ones(1, 32, 32))  # still distributions


def identity_flow(b: int, h: int, w: int) -> torch.Tensor:
    """[B,H,W,2] grid_sample coordinates of every pixel onto itself."""
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    grid = torch.stack([(xs + 0.5) / w * 2 - 1, (ys + 0.5) / h * 2 - 1], -1)
    return grid.unsqueeze(0).expand(b, -1, -1, -1).clone()


def test_true_positions_from_a_per_pixel_flow():
    flow = identity_flow(1, 32, 32)
    flow[0, 3, 12] = -2.0  # one central pixel of cell (x=1, y=0) is unseen
    pos, valid = true_positions(flow, P)
    centres = grid_centres(4, 4, torch.device("cpu")).view(1, 2, 4, 4)
    torch.testing.assert_close(pos[:, :, valid[0]], centres[:, :, valid[0]])
    assert not valid[0, 0, 1] and int(valid.sum()) == 15


def test_flow_loss_is_zero_at_the_truth_and_skips_unreachable_cells():
    flow = identity_flow(1, 32, 32)
    truth, _ = true_positions(flow, P)
    window = torch.arange(16).view(1, 4, 4)
    assert float(flow_loss(truth, flow, window, P)) == 0.0
    off = truth + 0.5
    assert float(flow_loss(off, flow, window, P)) > 0.0
    # windows centred two rows away: nothing the sub-cell step could fix, nothing counted
    far = (window + 8) % 16
    assert float(flow_loss(off, flow, far, P)) == 0.0


def test_flow_loss_trains_the_volume_towards_the_true_sub_cell_position():
    logits = torch.zeros(1, 17, 4, 4)
    logits[0, torch.arange(16), torch.arange(16) // 4, torch.arange(16) % 4] = 4.0  # identity
    logits.requires_grad_(True)
    flow = identity_flow(1, 32, 32)
    flow = flow + torch.tensor([2.0 / 32, 0.0])  # truth: 1/4 cell to the right of each centre
    optimiser = torch.optim.Adam([logits], lr=0.1)
    for _ in range(100):
        pos, window = subcell_positions(logits, 4, 4)
        loss = flow_loss(pos, flow, window, P)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    pos, _ = subcell_positions(logits.detach(), 4, 4)
    truth, _ = true_positions(flow, P)
    assert (pos - truth)[..., 1:3, 1:3].abs().max() < 0.05  # interior cells reach it


@pytest.mark.parametrize("width", [0.125, 0.25])
def test_multiscale_features_keep_the_stride_8_map_first(width):
    torch.manual_seed(0)
    plain = SegNet(8, width=width).eval()
    multi = SegNet(8, width=width, multiscale=True).eval()
    multi.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        f_plain, logits_plain = plain(x)
        f_multi, logits_multi = multi(x)
    assert f_multi.shape == (2, multi.feature_channels, 8, 8)
    assert multi.feature_channels > plain.feature_channels
    torch.testing.assert_close(f_multi[:, :plain.feature_channels], f_plain)
    torch.testing.assert_close(logits_multi, logits_plain)


def test_warped_output_stack_uses_the_per_pixel_flow():
    from mash_ros.core.config import load_preset
    from mash_ros.core.models import build_model

    cfg = load_preset("cpu", image_height=32, image_width=32, num_agents=3, width=0.125)
    model = build_model(cfg, "warped_output_stack").eval()
    images = torch.rand(1, 3, 3, 32, 32)
    flow = identity_flow(2, 32, 32).unsqueeze(0)  # [1,S,H,W,2]
    unseen = torch.full_like(flow, -2.0)
    with torch.no_grad():
        seen_out = model(images, gt_flow=flow)["probs"]
        unseen_out = model(images, gt_flow=unseen)["probs"]
        # an unseen supporter contributes exactly what a supporter of zeros would
        zeros = images.clone()
        zeros[:, 1:] = 0.0
        probs = F.softmax(model.backbone(images.flatten(0, 1))[1], 1).view(1, 3, 8, 32, 32)
        stack = torch.cat([probs[:, 0], torch.zeros(1, 16, 32, 32), torch.zeros(1, 2, 32, 32)],
                          1)
        torch.testing.assert_close(unseen_out, model.head(stack).softmax(1))
    assert not torch.allclose(seen_out, unseen_out)
    with pytest.raises(ValueError, match="gt_flow or gt_corr"):
        model(images)


def test_cell_accuracy_and_confidence_loss_calibrate_both_sides():
    from mash_ros.core.losses import cell_accuracy, confidence_loss

    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[0, :8, :8] = 1  # cell 0 is class 1, the other three cells class 0
    labels[0, 8:, 8:] = 255  # cell 3 has no valid label
    right = F.one_hot(labels.clamp_max(1), 2).permute(0, 3, 1, 2).float()  # [1,2,16,16]
    from mash_ros.core.warp import patchify

    cells = patchify(right, P).unsqueeze(1)  # [1,1,4,2,8,8]
    torch.testing.assert_close(cell_accuracy(cells, labels, P),
                               torch.tensor([[[1.0, 1.0, 1.0, 0.5]]]))
    wrong = cells.flip(3)
    torch.testing.assert_close(cell_accuracy(wrong, labels, P)[0, 0, :3], torch.zeros(3))
    # a supporter whose patches are all wrong is pushed to low confidence, the target whose own
    # cells are right to high; cells where no-match wins are left out
    out = {"own_probs": right, "own_confidence": torch.full((1, 2, 2), 0.5),
           "supporter_patches": wrong, "confidence": torch.full((1, 1, 2, 2), 0.5),
           "match": torch.tensor([[[[0, 1], [2, 4]]]]), "corr_logits": torch.zeros(1, 1, 5, 2, 2)}
    own = out["own_confidence"].requires_grad_(True)
    sup = out["confidence"].requires_grad_(True)
    confidence_loss(out, labels, P).backward()
    assert (own.grad[0].flatten()[:3] < 0).all()  # raise own confidence
    assert (sup.grad[0, 0].flatten()[:3] > 0).all()  # lower the wrong supporter's
    assert sup.grad[0, 0, 1, 1] == 0  # no-match cell: not calibrated
