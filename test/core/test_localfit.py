"""Local geometry (localfit.py): a homography per target cell from its neighbours' matches."""
import torch

from mash_ros.core.answer import homography_positions
from mash_ros.core.consensus import cell_centres
from mash_ros.core.localfit import local_homography_positions

GRID = 16
IDENTITY = torch.tensor([[1.0, 0, 0, 0, 1.0, 0, 0, 0]])


def grid_positions(shift_x):
    """[1,2,G,G]: every target cell centre moved by shift_x [G,G] cells along x."""
    centres = cell_centres(GRID, GRID, torch.device("cpu")).T.reshape(1, 2, GRID, GRID)
    return centres + torch.stack([shift_x, torch.zeros_like(shift_x)]).unsqueeze(0)


def test_a_plane_gives_back_its_homography():
    shift = torch.full((GRID, GRID), 1.5)
    h = torch.tensor([[1.0, 0, 2 * 1.5 / GRID, 0, 1.0, 0, 0, 0]])  # +1.5 cells in x
    matched = grid_positions(shift)
    weight = torch.ones(1, GRID, GRID)
    local, valid = local_homography_positions(matched, weight, h, torch.tensor([True]),
                                              (GRID, GRID), sigma=0.3)
    globally, _ = homography_positions(h, torch.tensor([True]), (GRID, GRID), (GRID, GRID))
    assert valid.all()
    assert torch.allclose(local, matched, atol=1e-3)
    assert torch.allclose(local, globally, atol=1e-3)


def test_two_planes_each_keep_their_own_motion_inside_a_hole():
    # left half of the view moves 1 cell, right half 4 cells: no single homography fits both;
    # a hole (weight 0, e.g. an obstruction) in each half is filled from its own side
    shift = torch.ones(GRID, GRID)
    shift[:, GRID // 2:] = 4.0
    matched = grid_positions(shift)
    weight = torch.ones(1, GRID, GRID)
    weight[0, 6:10, 1:4] = 0.0
    weight[0, 6:10, 12:15] = 0.0
    matched[0, :, 6:10, 1:4] = 0.0  # what the matcher said there is garbage
    matched[0, :, 6:10, 12:15] = 0.0
    h = torch.tensor([[1.0, 0, 2 * 2.5 / GRID, 0, 1.0, 0, 0, 0]])  # the global compromise
    local, _ = local_homography_positions(matched, weight, h, torch.tensor([True]),
                                          (GRID, GRID), sigma=0.1)
    truth = grid_positions(shift)
    error = (local - truth).abs().amax(1)[0]  # [G,G] cells
    assert error[6:10, 1:4].max() < 0.5
    assert error[6:10, 12:15].max() < 0.5
    globally, _ = homography_positions(h, torch.tensor([True]), (GRID, GRID), (GRID, GRID))
    assert (globally - truth).abs().amax(1)[0, 6:10, 1:4].min() > 1.0  # the global fit cannot


def test_no_trusted_neighbours_fall_back_to_the_global_fit():
    h = torch.tensor([[1.1, 0.05, 0.1, -0.02, 0.95, -0.1, 0.01, 0.02]])
    matched = torch.rand(1, 2, GRID, GRID) * GRID
    local, valid = local_homography_positions(matched, torch.zeros(1, GRID, GRID), h,
                                              torch.tensor([True]), (GRID, GRID), sigma=0.3)
    globally, global_valid = homography_positions(h, torch.tensor([True]), (GRID, GRID),
                                                  (GRID, GRID))
    assert torch.equal(valid, global_valid)
    assert torch.allclose(local, globally, atol=1e-4)


def test_a_pair_without_a_global_fit_is_not_valid():
    matched = grid_positions(torch.zeros(GRID, GRID)).expand(2, -1, -1, -1)
    local, valid = local_homography_positions(matched, torch.ones(2, GRID, GRID),
                                              IDENTITY.expand(2, -1), torch.tensor([True, False]),
                                              (GRID, GRID), sigma=0.3)
    assert valid[0].all() and not valid[1].any()
    assert local.shape == (2, 2, GRID, GRID)


def test_grid_kernel_is_the_gaussian_of_cell_centre_distances():
    from mash_ros.core.consensus import normalise
    from mash_ros.core.localfit import grid_kernel

    for grid_h, grid_w in ((GRID, GRID), (4, 6)):
        centres = normalise(cell_centres(grid_h, grid_w, torch.device("cpu")).double(),
                            grid_h, grid_w)
        d2 = (centres.unsqueeze(1) - centres.unsqueeze(0)).square().sum(-1)
        direct = torch.exp(-d2 / (2.0 * (2.0 * 0.3) ** 2))  # sigma 0.3 widths = 0.6 units
        assert torch.allclose(grid_kernel(grid_h, grid_w, 0.3, torch.device("cpu")), direct,
                              atol=1e-12)
