"""Segmentation backbones: the interface MASH needs, and SegNet (the paper's choice).

MASH uses two outputs of the backbone (paper §III, "Semantic Segmentation Backbone"): an
intermediate spatial feature map f at stride 8, and the full-resolution segmentation logits.
Any network that provides both can be plugged in by subclassing ``SegmentationBackbone``.
"""
from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

# VGG16 convolution widths per block; SegNet's encoder is exactly VGG16's 13 conv layers.
VGG16_BLOCKS: Tuple[Tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)
FEATURE_BLOCK = 3  # f = output of the 3rd pool: stride 2**3 = 8 (DESIGN §4: 32x32 grid at 256 px)


class SegmentationBackbone(nn.Module):
    """Interface: ``forward(image) -> (features, logits)``.

    Subclasses set the int attributes ``feature_channels`` (F), ``num_classes`` (C) and
    ``feature_stride`` (8: MASH's grid cell is the backbone's feature stride) in ``__init__``.
    (No class-level annotations: TorchScript would try to resolve them.)
    """

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """image [B,3,H,W] -> features [B,F,H/8,W/8], logits [B,C,H,W]."""
        raise NotImplementedError


def conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),  # bias is redundant before BN
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def scaled(channels: int, width: float) -> int:
    return max(4, int(round(channels * width)))


class SegNet(SegmentationBackbone):
    """SegNet (Badrinarayanan et al.): VGG16 encoder, max-pool indices reused by the decoder.

    Encoder: 5 blocks (2,2,3,3,3 convs), each followed by 2x2 max-pool that keeps its indices.
    Decoder: mirror image; each block max-unpools with the matching indices, then convolves.
    The last decoder conv maps to C class logits (no BN/ReLU). ``width`` scales every layer.
    """

    def __init__(self, num_classes: int, width: float = 1.0, in_channels: int = 3,
                 multiscale: bool = False):
        super().__init__()
        widths = [[scaled(c, width) for c in block] for block in VGG16_BLOCKS]
        self.num_classes = num_classes
        self.feature_stride = 2**FEATURE_BLOCK
        self.feature_block = FEATURE_BLOCK  # attribute: TorchScript cannot read module globals
        # multiscale: f = [encoder stride 8, decoder stride 8, encoder stride 16 upsampled].
        # The encoder's stride-8 map alone describes a cell by its local texture; the decoder's
        # has seen the whole image (what the cell belongs to) and stride 16 the context around
        # it, which is what a matcher needs to find a cell in another view (DESIGN §8: these
        # maps doubled the obstructed cells matched within one cell in a probe).
        self.multiscale = multiscale
        self.feature_channels = widths[FEATURE_BLOCK - 1][-1]
        if multiscale:
            self.feature_channels = (2 * widths[FEATURE_BLOCK - 1][-1]
                                     + widths[FEATURE_BLOCK][-1])

        encoder = []
        cin = in_channels
        for block in widths:
            layers = []
            for cout in block:
                layers.append(conv_bn_relu(cin, cout))
                cin = cout
            encoder.append(nn.Sequential(*layers))
        self.encoder = nn.ModuleList(encoder)

        # Decoder block i mirrors encoder block (4 - i): same widths walked backwards, ending at
        # the width that enters the mirrored encoder block (the next decoder block's input).
        decoder = []
        for i, block in enumerate(reversed(widths)):
            rev = list(reversed(block))  # e.g. (256,256,256) -> convs 256->256->256->128
            nxt = widths[len(widths) - 2 - i][-1] if i < len(widths) - 1 else None
            outs = rev[1:] + [nxt if nxt is not None else rev[-1]]
            layers = []
            cin = rev[0]
            for j, cout in enumerate(outs):
                last_of_net = nxt is None and j == len(outs) - 1
                if last_of_net:
                    layers.append(nn.Conv2d(cin, num_classes, 3, padding=1))
                else:
                    layers.append(conv_bn_relu(cin, cout))
                cin = cout
            decoder.append(nn.Sequential(*layers))
        self.decoder = nn.ModuleList(decoder)

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """image [B,Cin,H,W] (H, W multiples of 32) -> features [B,F,H/8,W/8], logits [B,C,H,W]."""
        x = image
        indices: List[torch.Tensor] = []
        sizes: List[List[int]] = []
        features = x
        coarse = x
        for stage, block in enumerate(self.encoder):
            x = block(x)
            sizes.append([x.shape[-2], x.shape[-1]])
            x, idx = F.max_pool2d_with_indices(x, 2, 2)
            indices.append(idx)
            if stage == self.feature_block - 1:
                features = x  # stride 8
            if stage == self.feature_block:
                coarse = x  # stride 16
        for stage, block in enumerate(self.decoder):
            k = len(indices) - 1 - stage
            x = F.max_unpool2d(x, indices[k], 2, 2, output_size=sizes[k])
            x = block(x)
            if self.multiscale and k == self.feature_block:  # decoder back at stride 8
                up = F.interpolate(coarse, size=[features.shape[-2], features.shape[-1]],
                                   mode="bilinear", align_corners=False)
                features = torch.cat([features, x, up], dim=1)
        return features, x


def build_backbone(cfg, in_channels: int = 3) -> SegmentationBackbone:
    if cfg.backbone == "segnet":
        return SegNet(cfg.num_classes, width=cfg.width, in_channels=in_channels,
                      multiscale=cfg.multiscale_features)
    raise ValueError(f"unknown backbone {cfg.backbone!r}")
