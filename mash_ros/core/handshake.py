"""Spatial handshake: query/key encoders, the query-key transform and the cost volume.

Paper §III "Data Compression" and "Data Correspondence": 1x1 conv stacks compress the stride-8
feature map f (F channels) into a query q (Q) that the target broadcasts and a key k (K) that every
supporter keeps. A supporter lifts the received query to p = QK(q) (1x1, Q->K) and scores every
target cell against every one of its own cells, plus a "no-match" score (Eq. 1, 2).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

SIAMESE_EXTRA_SCALE = 0.1  # see siamese_init
DISTANCE_EPS = 1e-6  # inside the sqrt: d/dx sqrt(x) is infinite at 0 (exact matches)
# (passed as a default argument: TorchScript cannot read module-level floats)


class PointwiseEncoder(nn.Module):
    """A stack of 1x1 convs (ReLU between, none after): per-cell map F -> out channels.

    1x1 only, so each cell's code depends on its own feature vector alone (paper: "learned
    convolutional kernels of spatial size 1x1").
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: Sequence[int] = ()):
        super().__init__()
        widths = [in_channels, *hidden, out_channels]
        layers = []
        for i in range(len(widths) - 1):
            layers.append(nn.Conv2d(widths[i], widths[i + 1], 1))
            if i < len(widths) - 2:
                layers.append(nn.ReLU(inplace=True))
        self.net = nn.Sequential(*layers)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B,F,h,w] -> [B,out,h,w]."""
        return self.net(x)


def pairwise_l2(p: torch.Tensor, k: torch.Tensor, eps: float = DISTANCE_EPS) -> torch.Tensor:
    """p [B,K,Ht,Wt], k [B,K,Hs,Ws] -> L2 distances [B, Hs*Ws, Ht, Wt].

    Expanded as |p|^2 + |k|^2 - 2 p.k: one matmul instead of an Ht*Wt*Hs*Ws*K difference tensor.
    The supporter-cell axis is the channel axis so the smoother can convolve over the target grid.
    """
    b, c, ht, wt = p.shape
    pf = p.flatten(2)  # [B,K,Nt]
    kf = k.flatten(2)  # [B,K,Ns]
    d2 = (kf * kf).sum(1).unsqueeze(2) + (pf * pf).sum(1).unsqueeze(1)  # [B,Ns,Nt]
    d2 = d2 - 2.0 * torch.bmm(kf.transpose(1, 2), pf)  # [B,Ns,Nt]
    d2 = d2.clamp_min(0.0)  # rounding can make it slightly negative
    return torch.sqrt(d2 + eps).view(b, kf.shape[2], ht, wt)


def no_match_score(p: torch.Tensor, eps: float = DISTANCE_EPS) -> torch.Tensor:
    """Eq. 2: D_TO[x,y] = -||p[x,y] - 0||.  p [B,K,Ht,Wt] -> [B,1,Ht,Wt]."""
    return -torch.sqrt((p * p).sum(1, keepdim=True) + eps)


def cost_volume(p: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Raw correspondence scores of target query p against supporter key k.

    p [B,K,Ht,Wt], k [B,K,Hs,Ws] -> scores [B, Hs*Ws+1, Ht, Wt]: channel j < Hs*Ws is
    -||p[x,y] - k[j]|| (Eq. 1, supporter cell j row-major), the last channel the no-match score.
    A softmax over channels turns a target cell's column into its matching distribution.
    """
    return torch.cat([-pairwise_l2(p, k), no_match_score(p)], dim=1)


@torch.no_grad()
def siamese_init(query_encoder: PointwiseEncoder, key_encoder: PointwiseEncoder,
                 qk_transform: nn.Conv2d) -> None:
    """Start the handshake as a plain feature matcher: QK(query(f)) == key(f) for every f.

    Independently initialised encoders give unrelated p and k at init, so the cost volume starts
    as noise and the correspondence loss first has to align two random maps (slow: hundreds of
    steps before any real match wins over no-match, even though raw backbone features already
    match most cells). Here the query encoder copies the key encoder's layers, the key's last
    K-Q output channels and the transform's matching rows start small (not zero: a dimension
    where p = k = 0 exactly gets no gradient and would stay dead), and the Q->K transform starts
    as the embedding [I; small], so p ~= k for identical features. Training is free to make the
    two sides asymmetric. Needs identical hidden widths; otherwise the encoders keep their
    default init.
    """
    q_layers = [m for m in query_encoder.net if isinstance(m, nn.Conv2d)]
    k_layers = [m for m in key_encoder.net if isinstance(m, nn.Conv2d)]
    if [m.weight.shape for m in q_layers[:-1]] != [m.weight.shape for m in k_layers[:-1]]:
        return
    q_dim = q_layers[-1].out_channels
    for q_conv, k_conv in zip(q_layers[:-1], k_layers[:-1]):
        q_conv.weight.copy_(k_conv.weight)
        q_conv.bias.copy_(k_conv.bias)
    k_layers[-1].weight[q_dim:].mul_(SIAMESE_EXTRA_SCALE)
    k_layers[-1].bias[q_dim:].mul_(SIAMESE_EXTRA_SCALE)
    q_layers[-1].weight.copy_(k_layers[-1].weight[:q_dim])
    q_layers[-1].bias.copy_(k_layers[-1].bias[:q_dim])
    qk_transform.weight.mul_(SIAMESE_EXTRA_SCALE)
    qk_transform.weight[:q_dim, :, 0, 0].copy_(torch.eye(q_dim))
    qk_transform.bias.zero_()


def build_query_encoder(cfg, feature_channels: int) -> PointwiseEncoder:
    return PointwiseEncoder(feature_channels, cfg.query_dim, cfg.query_hidden)


def build_key_encoder(cfg, feature_channels: int) -> PointwiseEncoder:
    return PointwiseEncoder(feature_channels, cfg.key_dim, cfg.key_hidden)


def build_query_key_transform(cfg) -> nn.Conv2d:
    """The 1x1 Q->K conv a supporter applies to a received query (handles Q != K)."""
    return nn.Conv2d(cfg.query_dim, cfg.key_dim, 1)
