"""The paper's baselines (§IV "Baselines", Table I), with the same call as ``MASH.forward``.

``forward(images [B,N,3,H,W], target=0, gt_corr=None, gt_flow=None)`` returns at least
``logits``/``probs``/``log_probs`` [B,C,H,W] for the target. Agent order inside the stacks is
always (target, then the others in increasing index order), so the learned stack weights see
"me" in a fixed slot.
"""
from __future__ import annotations

from typing import Dict, List

import torch
import torch.nn.functional as F
from torch import nn

from mash_ros.core.backbone import build_backbone
from mash_ros.core.subcell import UNSEEN
from mash_ros.core.warp import cells_to_pixels, warp_dense


def _result(logits: torch.Tensor) -> Dict[str, torch.Tensor]:
    return {"logits": logits, "probs": torch.softmax(logits, 1),
            "log_probs": torch.log_softmax(logits, 1)}


def _order(n: int, target: int) -> List[int]:
    return [target] + [j for j in range(n) if j != target]


class StackFusionHead(nn.Module):
    """Learned conv fusion of stacked per-agent distributions -> class logits."""

    def __init__(self, in_channels: int, num_classes: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, padding=1),
                                 nn.ReLU(inplace=True), nn.Conv2d(hidden, num_classes, 1))

    def forward(self, stack: torch.Tensor) -> torch.Tensor:
        """stack [B,in,H,W] -> logits [B,C,H,W]."""
        return self.net(stack)


class Inpainting(nn.Module):
    """SegNet on the (possibly obstructed) target image alone, trained on clean labels."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, images: torch.Tensor, target: int = 0,
                gt_corr: torch.Tensor | None = None,
                gt_flow: torch.Tensor | None = None) -> Dict[str, torch.Tensor]:
        """images [B,N,3,H,W] (only agent ``target`` is used) -> logits [B,C,H,W] etc."""
        return _result(self.backbone(images[:, target])[1])


class InputStack(nn.Module):
    """SegNet on the channel concatenation of all N unwarped RGB images (3N input channels)."""

    def __init__(self, backbone: nn.Module, num_agents: int):
        super().__init__()
        self.backbone = backbone
        self.num_agents = num_agents

    def forward(self, images: torch.Tensor, target: int = 0,
                gt_corr: torch.Tensor | None = None,
                gt_flow: torch.Tensor | None = None) -> Dict[str, torch.Tensor]:
        """images [B,N,3,H,W], N == num_agents -> logits [B,C,H,W] etc."""
        _check_agents(images, self.num_agents)
        stacked = images[:, _order(images.shape[1], target)].flatten(1, 2)  # [B,3N,H,W]
        return _result(self.backbone(stacked)[1])


class OutputStack(nn.Module):
    """Shared SegNet per agent, unwarped distributions concatenated, learned conv fusion."""

    def __init__(self, backbone: nn.Module, num_agents: int, num_classes: int, hidden: int):
        super().__init__()
        self.backbone = backbone
        self.num_agents = num_agents
        self.head = StackFusionHead(num_agents * num_classes, num_classes, hidden)

    def forward(self, images: torch.Tensor, target: int = 0,
                gt_corr: torch.Tensor | None = None,
                gt_flow: torch.Tensor | None = None) -> Dict[str, torch.Tensor]:
        """images [B,N,3,H,W], N == num_agents -> logits [B,C,H,W] etc."""
        _check_agents(images, self.num_agents)
        b, n = images.shape[:2]
        images = images[:, _order(n, target)]
        probs = torch.softmax(self.backbone(images.flatten(0, 1))[1], 1)  # [B*N,C,H,W]
        return _result(self.head(probs.unflatten(0, (b, n)).flatten(1, 2)))


class WarpedOutputStack(nn.Module):
    """OutputStack with the supporters' distributions warped by the ground-truth geometry.

    With ``gt_flow`` [B,N-1,H,W,2] (per target pixel its position in each supporter, grid_sample
    units with align_corners=False, < -1.5 = out of view or occluded; ``TargetFirstDataset``'s
    ``flow``) every supporter is warped per pixel: the paper's upper bound, a perfect warp.
    Without it, ``gt_corr`` [B,N-1,Ht,Wt] (per target cell the supporter cell in [0, Hs*Ws),
    Hs*Ws = no match, negative = unknown) warps whole cells, the way MASH's paper moves patches.
    Unseen pixels are zeros, and a validity channel per supporter tells the head which are real.
    Supporters come in the order (target, then the others by index) minus the target.
    """

    def __init__(self, backbone: nn.Module, num_agents: int, num_classes: int, hidden: int,
                 patch: int):
        super().__init__()
        self.backbone = backbone
        self.num_agents = num_agents
        self.patch = patch
        self.head = StackFusionHead(num_agents * num_classes + num_agents - 1, num_classes,
                                    hidden)

    def forward(self, images: torch.Tensor, target: int = 0,
                gt_corr: torch.Tensor | None = None,
                gt_flow: torch.Tensor | None = None) -> Dict[str, torch.Tensor]:
        """images [B,N,3,H,W], gt_flow or gt_corr as in the class docstring -> logits
        [B,C,H,W] etc."""
        if gt_corr is None and gt_flow is None:
            raise ValueError("WarpedOutputStack needs gt_flow or gt_corr (the true warp)")
        _check_agents(images, self.num_agents)
        b, n, _, h, w = images.shape
        probs = torch.softmax(self.backbone(images[:, _order(n, target)].flatten(0, 1))[1], 1)
        probs = probs.unflatten(0, (b, n))  # [B,N,C,H,W], slot 0 = target
        if gt_flow is not None:
            grid = gt_flow.reshape(b * (n - 1), h, w, 2).to(probs.dtype)
            valid = (grid[..., 0] > UNSEEN).to(probs.dtype)  # [B*S,H,W]
            warped = F.grid_sample(probs[:, 1:].flatten(0, 1), grid, mode="bilinear",
                                   padding_mode="zeros", align_corners=False)
            warped = warped * valid.unsqueeze(1)
            masks = valid.view(b, n - 1, h, w)
        else:
            ht, wt = h // self.patch, w // self.patch
            corr = gt_corr.reshape(b * (n - 1), ht, wt)
            cell_valid = (corr >= 0) & (corr < ht * wt)
            warped = warp_dense(probs[:, 1:].flatten(0, 1), corr, cell_valid, self.patch)
            masks = cells_to_pixels(cell_valid.to(probs.dtype), self.patch).view(b, n - 1, h, w)
        stack = torch.cat([probs[:, 0], warped.reshape(b, -1, h, w), masks], dim=1)
        return _result(self.head(stack))


def _check_agents(images: torch.Tensor, expected: int) -> None:
    if images.shape[1] != expected:
        raise ValueError(f"this baseline was built for {expected} agents, got {images.shape[1]}")


def build_baseline(cfg, kind: str) -> nn.Module:
    if kind == "inpainting":
        return Inpainting(build_backbone(cfg))
    if kind == "input_stack":
        return InputStack(build_backbone(cfg, in_channels=3 * cfg.num_agents), cfg.num_agents)
    if kind == "output_stack":
        return OutputStack(build_backbone(cfg), cfg.num_agents, cfg.num_classes,
                           cfg.fusion_hidden)
    if kind == "warped_output_stack":
        return WarpedOutputStack(build_backbone(cfg), cfg.num_agents, cfg.num_classes,
                                 cfg.fusion_hidden, cfg.patch_size)
    raise ValueError(f"unknown baseline {kind!r}")
