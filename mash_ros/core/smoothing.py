"""Cost-volume smoothing and infilling autoencoder (paper §III "Correspondence Smoothing").

The raw volume scores each target cell on its own. Neighbouring target cells should match
neighbouring supporter cells, and the scene has priors (gravity-aligned cameras), so a conv
encoder-decoder over the target grid, with the supporter cells (and no-match) as channels,
smooths spurious matches and infills cells whose own features are unreliable (obstructions).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CostVolumeSmoother(nn.Module):
    """Residual conv autoencoder on a correspondence volume laid out as [B, V, Ht, Wt].

    V = Hs*Ws + 1 channels. The volume is first normalised to log-probabilities (so the absolute
    scale of the distances does not matter), and the network predicts an additive correction:
    ``out = log_softmax(scores) + correction``. Starting near identity lets the correspondence
    loss train quickly; the last layer is initialised small for that reason.

    The wide V-channel ends are 1x1 convs (per-cell compression/expansion); spatial context
    comes from the 3x3 layers in the narrow middle, at full and half grid resolution (U-Net-like
    skip so the half-resolution path adds context without blurring the match positions).
    """

    def __init__(self, volume_channels: int, hidden: int = 64, init_scale: float = 0.1):
        super().__init__()
        h = hidden
        self.compress = nn.Conv2d(volume_channels, h, 1)
        self.enc = nn.Conv2d(h, h, 3, padding=1)
        self.down = nn.Conv2d(h, 2 * h, 3, stride=2, padding=1)
        self.mid = nn.Conv2d(2 * h, 2 * h, 3, padding=1)
        self.up = nn.Conv2d(2 * h, h, 3, padding=1)
        self.dec = nn.Conv2d(2 * h, h, 3, padding=1)
        self.expand = nn.Conv2d(h, volume_channels, 1)
        with torch.no_grad():  # small correction at init: the smoother starts as ~identity
            self.expand.weight.mul_(init_scale)
            self.expand.bias.zero_()

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """scores [B,V,Ht,Wt] (raw cost volume) -> smoothed logits [B,V,Ht,Wt].

        A softmax over dim 1 gives each target cell's matching distribution.
        """
        x = torch.log_softmax(scores, dim=1)
        e = F.relu(self.enc(F.relu(self.compress(x))))  # [B,h,Ht,Wt]
        m = F.relu(self.mid(F.relu(self.down(e))))  # [B,2h,Ht/2,Wt/2]
        u = F.interpolate(m, size=[e.shape[-2], e.shape[-1]], mode="nearest")
        u = F.relu(self.up(u))  # [B,h,Ht,Wt]
        d = F.relu(self.dec(torch.cat([e, u], dim=1)))  # [B,h,Ht,Wt]
        return x + self.expand(d)


class IdentitySmoother(nn.Module):
    """No smoothing (ablation / tests): logits = log_softmax(raw scores)."""

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(scores, dim=1)


def build_smoother(cfg) -> nn.Module:
    if cfg.smoother_hidden <= 0:
        return IdentitySmoother()
    return CostVolumeSmoother(cfg.num_cells + 1, cfg.smoother_hidden)
