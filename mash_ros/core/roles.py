"""The three per-agent roles of MASH as scriptable modules, and their plain-data messages.

    target & supporter:  encode(image)            -> AgentState  (kept locally; q is broadcast)
    supporter:           respond(q_T, own state)  -> Response    (sparse patches for T)
    target:              fuse(own state, [Response, ...]) -> fused distribution

The ROS nodes call these one agent per process; the centralized training model
(``mash_ros.core.mash.MASH.forward``) calls the same modules batched over agents, with the sparse
send decision kept as a dense mask, so both paths give the same numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mash_ros.core.answer import (
    AnswerConfidence,
    answer_features,
    cell_ids,
    homography_positions,
    inside_grid,
)
from mash_ros.core.consensus import NoConsensus
from mash_ros.core.fusion import (
    SoftSelection,
    cell_pixels,
    class_pixels,
    soft_selection_from_classes,
)
from mash_ros.core.handshake import cost_volume, no_match_score
from mash_ros.core.localfit import local_homography_positions
from mash_ros.core.subcell import subcell_positions, warp_subcell
from mash_ros.core.verify import answer_agreement, answer_agreement_from_classes
from mash_ros.core.warp import match_and_confidence, patchify, select_cells


@dataclass
class AgentState:
    """What an agent keeps about its own snapshot (batch B; the roles use B = 1)."""

    features: torch.Tensor  # [B,F,Hs,Ws] backbone stride-8 feature map f
    key: torch.Tensor  # [B,K,Hs,Ws] kept locally, answers queries
    query: torch.Tensor  # [B,Q,Hs,Ws] broadcast when this agent is a target
    logits: torch.Tensor  # [B,C,H,W] own segmentation logits
    probs: torch.Tensor  # [B,C,H,W] softmax of logits (what supporters warp and send)
    self_confidence: torch.Tensor  # [B,Hs,Ws] trust in its own cells (fusion.SelfConfidence)

    def agent(self, i: int) -> AgentState:
        """The state of batch element i, kept as a batch of one."""
        return AgentState(*(t[i:i + 1] for t in self.as_tuple()))

    def as_tuple(self) -> Tuple[torch.Tensor, ...]:
        return (self.features, self.key, self.query, self.logits, self.probs, self.self_confidence)


@dataclass
class Response:
    """A supporter's sparse answer to one query: only the cells it sends. The one answer type,
    in the core and on the wire: ``conversions.msg_to_patches`` turns a SegPatches message into
    one (validated), ``conversions.patches_to_msg`` sends one.

    cell_ids index the *target's* grid row-major (y * Wt + x); source_cells the supporter's own
    grid cell each patch was cut from (the warping grid, useful for visualisation).
    """

    cell_ids: torch.Tensor  # [n] long
    patches: torch.Tensor  # [n,C,P,P] probabilities
    confidence: torch.Tensor  # [n] match confidence (max of the smoothed softmax)
    source_cells: torch.Tensor  # [n] long
    grid_size: Tuple[int, int]  # (Ht, Wt) of the target grid
    # what ``labels`` payloads carry, kept beside ``patches`` (their expansion) so the target's
    # fuse can work on class maps: (top class [n,P,P] long, top probability [n]); None otherwise
    labels: Optional[Tuple[torch.Tensor, torch.Tensor]] = None

    @property
    def num_cells(self) -> int:
        return int(self.cell_ids.numel())

    @classmethod
    def from_numpy(cls, cell_ids: np.ndarray, patches: np.ndarray, confidence: np.ndarray,
                   source_cells: np.ndarray, grid_size: Tuple[int, int],
                   labels: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> Response:
        """The same fields as numpy arrays (int [n], float [n,C,P,P], float [n], int [n];
        labels: int [n,P,P] and float [n])."""
        compact = None if labels is None else (
            torch.from_numpy(np.asarray(labels[0], np.int64)),
            torch.from_numpy(np.asarray(labels[1], np.float32)))
        return cls(torch.from_numpy(np.asarray(cell_ids, np.int64)),
                   torch.from_numpy(np.ascontiguousarray(patches, np.float32)),
                   torch.from_numpy(np.asarray(confidence, np.float32)),
                   torch.from_numpy(np.asarray(source_cells, np.int64)),
                   (int(grid_size[0]), int(grid_size[1])), compact)


def preprocess(rgb: np.ndarray, size: Tuple[int, int] | None = None) -> torch.Tensor:
    """RGB uint8 image [H,W,3] (numpy) -> float tensor [1,3,H',W'] in [0,1].

    ``size`` = (H', W') resizes (bilinear, antialiased) to the model's input size.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {rgb.shape}")
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0)
    x = x.to(torch.float32) / 255.0
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=list(size), mode="bilinear", align_corners=False, antialias=True)
    return x


class EncodeRole(nn.Module):
    """Backbone + query/key encoders + the target's own confidence."""

    def __init__(self, backbone: nn.Module, query_encoder: nn.Module, key_encoder: nn.Module,
                 qk_transform: nn.Module, self_confidence: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.query_encoder = query_encoder
        self.key_encoder = key_encoder
        self.qk_transform = qk_transform
        self.self_confidence = self_confidence

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                    torch.Tensor, torch.Tensor, torch.Tensor]:
        """image [B,3,H,W] in [0,1] -> (features [B,F,Hs,Ws], key [B,K,Hs,Ws], query [B,Q,Hs,Ws],
        logits [B,C,H,W], probs [B,C,H,W], self_confidence [B,Hs,Ws])."""
        features, logits = self.backbone(image)
        query = self.query_encoder(features)
        key = self.key_encoder(features)
        # own no-match score uses the same Q->K lift a supporter applies to our query
        own_conf = self.self_confidence(no_match_score(self.qk_transform(query)), features)
        return features, key, query, logits, torch.softmax(logits, dim=1), own_conf


class RespondRole(nn.Module):
    """Supporter: match a received query against the own key, select and cut patches.

    ``subcell``: patches are the supporter's view sampled per pixel (``subcell.py``) instead of
    whole cells; ``infill``: the homography of the consensus replaces appearance matches that
    contradict it and ``answer_confidence`` estimates how likely each patch is right
    (``answer.py``); with ``local_sigma`` > 0 every cell's position comes from a homography
    fitted to its neighbours' matches instead (``localfit.py``), the global fit serving as the
    inlier test and the fallback.
    """

    def __init__(self, qk_transform: nn.Module, smoother: nn.Module, patch: int,
                 consensus: nn.Module | None = None, subcell: bool = False,
                 answer_confidence: nn.Module | None = None, outlier_cells: float = 1.5,
                 local_sigma: float = 0.0, local_inlier_cells: float = 2.0):
        super().__init__()
        self.qk_transform = qk_transform
        self.smoother = smoother
        self.consensus = consensus if consensus is not None else NoConsensus()
        self.patch = patch
        self.subcell = subcell
        self.infill = answer_confidence is not None
        # an unused stand-in keeps the scripted type fixed when there is no infill
        self.answer_confidence = (answer_confidence if answer_confidence is not None
                                  else AnswerConfidence())
        self.outlier_cells = float(outlier_cells)
        self.local_sigma = float(local_sigma)
        self.local_inlier_cells = float(local_inlier_cells)

    @torch.jit.export
    def answer(self, query: torch.Tensor, key: torch.Tensor
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                          torch.Tensor, torch.Tensor]:
        """query [B,Q,Ht,Wt], key [B,K,Hs,Ws] -> (logits [B,V,Ht,Wt] the smoothed volume,
        match [B,Ht,Wt] the supporter cell of each target cell (V-1 = none), confidence
        [B,Ht,Wt], positions [B,2,Ht,Wt] where each target cell centre lands (supporter cell
        units), appearance positions [B,2,Ht,Wt] and their window [B,Ht,Wt] (flow loss))."""
        lifted = self.qk_transform(query)
        logits, h, found, inliers = self.consensus.fit_and_prior(
            self.smoother(cost_volume(lifted, key)))
        confidence, match = match_and_confidence(logits)
        grid_hs, grid_ws = key.shape[-2], key.shape[-1]
        appearance, window = subcell_positions(logits, grid_hs, grid_ws)
        if not self.infill:
            return logits, match, confidence, appearance, appearance, window
        ht, wt = logits.shape[-2], logits.shape[-1]
        geometric, geo_valid = homography_positions(h, found, (ht, wt), (grid_hs, grid_ws))
        disagreement = torch.linalg.vector_norm(appearance - geometric, dim=1)  # [B,Ht,Wt]
        no_match = logits.shape[1] - 1
        if self.local_sigma > 0:  # matches the global fit accepts steer each cell's own fit
            trusted = geo_valid & (disagreement <= self.local_inlier_cells) & (match != no_match)
            geometric, geo_valid = local_homography_positions(
                appearance, torch.where(trusted, confidence, torch.zeros_like(confidence)),
                h, found, (grid_hs, grid_ws), self.local_sigma)
            disagreement = torch.linalg.vector_norm(appearance - geometric, dim=1)
        use_geo = geo_valid & ((disagreement > self.outlier_cells) | (match == no_match))
        # the local fit smooths clear cells' appearance noise too: it replaces every match
        replace = geo_valid if self.local_sigma > 0 else use_geo
        positions = torch.where(replace.unsqueeze(1), geometric, appearance)
        inside = inside_grid(positions, grid_hs, grid_ws)
        match = torch.where(inside, cell_ids(positions, grid_hs, grid_ws),
                            torch.full_like(match, no_match))
        features, base = answer_features(torch.softmax(logits, dim=1), use_geo, disagreement,
                                         geo_valid, inliers, lifted)
        # a calibrator on top of the matcher: its loss must not reshape the volume (that made
        # the correspondence loss rise, 1.63 -> 1.76 in an epoch)
        confidence = self.answer_confidence(features.detach(), base.detach())
        return logits, match, confidence, positions, appearance, window

    @torch.jit.export
    def patches(self, probs: torch.Tensor, positions: torch.Tensor, match: torch.Tensor,
                confidence: torch.Tensor, send: torch.Tensor) -> torch.Tensor:
        """The patch every target cell would get: probs [B,C,H,W] (the supporter's own),
        positions [B,2,Ht,Wt] (``answer``), match / confidence [B,Ht,Wt], send [B,Ht,Wt]
        bool -> [B, Ht*Wt, C, P, P]. Whole supporter cells (the paper's warp) or, with
        ``subcell``, the supporter's view sampled per pixel (``subcell.py``)."""
        b, ht, wt = match.shape
        if not self.subcell:
            cells = patchify(probs, self.patch)  # [B,Ns,C,P,P]
            source = match.reshape(b, ht * wt).clamp_max(cells.shape[1] - 1)
            return cells[torch.arange(b, device=probs.device).unsqueeze(1), source]
        weight = send.to(confidence.dtype) * confidence
        return patchify(warp_subcell(probs, positions, weight, self.patch), self.patch)

    def forward(self, query: torch.Tensor, key: torch.Tensor, probs: torch.Tensor,
                threshold: float, budget: int) -> Tuple[torch.Tensor, torch.Tensor,
                                                        torch.Tensor, torch.Tensor]:
        """query [Q,Ht,Wt] (decoded from the wire), key [K,Hs,Ws], probs [C,H,W] ->
        (cell_ids [n], patches [n,C,P,P], confidence [n], source_cells [n])."""
        logits, match, confidence, positions, _, _ = self.answer(query.unsqueeze(0),
                                                                 key.unsqueeze(0))
        keep = select_cells(confidence, match, logits.shape[1] - 1, threshold, budget)
        cell_ids = torch.nonzero(keep.reshape(-1)).reshape(-1)  # ascending target cell ids
        source_cells = match.reshape(-1)[cell_ids]
        patches = self.patches(probs.unsqueeze(0), positions, match, confidence,
                               keep)[0][cell_ids]
        return cell_ids, patches, confidence.reshape(-1)[cell_ids], source_cells


def _answer_index(cell_ids: List[torch.Tensor]) -> torch.Tensor:
    """Per entry of the concatenated responses, the index of the response it came from [M]."""
    return torch.cat([torch.full_like(ids, i, dtype=torch.long) for i, ids in enumerate(cell_ids)])


class FuseRole(nn.Module):
    """Target: fuse its own distribution with the cells of any number of sparse responses."""

    def __init__(self, fusion: nn.Module, verify_confidence: float = 0.0,
                 verify_sharpness: float = 1.0, own_weight: float = 1.0):
        super().__init__()
        self.fusion = fusion
        self.own_weight = float(own_weight)  # x the own confidence in the fusion, not in checks
        # only SoftSelection has a class-map form (``soft_selection_from_classes``); a plain
        # attribute because TorchScript cannot test a module's type in forward
        self.fuses_class_maps = type(fusion) is SoftSelection
        self.verify_confidence = float(verify_confidence)
        self.verify_sharpness = float(verify_sharpness)

    def forward(self, own_probs: torch.Tensor, own_conf: torch.Tensor,
                cell_ids: List[torch.Tensor], patches: List[torch.Tensor],
                confidences: List[torch.Tensor],
                labels: Optional[List[Tuple[torch.Tensor, torch.Tensor]]] = None
                ) -> torch.Tensor:
        """own_probs [C,H,W], own_conf [Ht,Wt], per response: cell_ids [n_i],
        patches [n_i,C,P,P], confidences [n_i] -> fused probabilities [C,H,W]. ``labels``
        (per response: top class [n_i,P,P], top probability [n_i], as ``labels`` payloads
        carry them) lets SoftSelection work on class maps instead of the patches (same result)."""
        c, p = own_probs.shape[0], own_probs.shape[-1] // own_conf.shape[-1]
        if labels is not None and len(cell_ids) > 0 and self.fuses_class_maps:
            return self._soft_from_classes(own_probs, own_conf, cell_ids, confidences, labels)
        if len(cell_ids) == 0:  # nobody answered
            cells = torch.zeros(0, dtype=torch.long, device=own_probs.device)
            entry_patches = own_probs.new_zeros((0, c, p, p))
            conf = own_conf.new_zeros((0,))
        else:
            cells = torch.cat(cell_ids).to(torch.long)
            entry_patches = torch.cat(patches).to(own_probs.dtype)  # wire may give float16
            conf = torch.cat(confidences).to(own_conf.dtype)
            if self.verify_confidence > 0:
                answer = _answer_index(cell_ids)
                conf = conf * answer_agreement(
                    own_probs.unsqueeze(0), own_conf.unsqueeze(0), torch.zeros_like(cells),
                    answer, cells, entry_patches, len(cell_ids), self.verify_confidence,
                    self.verify_sharpness)[answer]
        fused = self.fusion(own_probs.unsqueeze(0), (own_conf * self.own_weight).unsqueeze(0),
                            torch.zeros_like(cells), cells, entry_patches, conf)
        return fused[0]

    def _soft_from_classes(self, own_probs: torch.Tensor, own_conf: torch.Tensor,
                           cell_ids: List[torch.Tensor], confidences: List[torch.Tensor],
                           labels: List[Tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        cells = torch.cat(cell_ids).to(torch.long)
        top = torch.cat([pair[0] for pair in labels]).to(torch.long)
        p_top = torch.cat([pair[1] for pair in labels]).to(own_probs.dtype)
        conf = torch.cat(confidences).to(own_conf.dtype)
        height, width = own_probs.shape[-2], own_probs.shape[-1]
        pixels = cell_pixels(cells, own_conf.shape[-1], top.shape[-1], width)
        where = class_pixels(top, pixels, height, width)
        if self.verify_confidence > 0:
            answer = _answer_index(cell_ids)
            conf = conf * answer_agreement_from_classes(
                own_probs.unsqueeze(0), own_conf.unsqueeze(0), cells, answer, where,
                len(cell_ids), self.verify_confidence, self.verify_sharpness)[answer]
        return soft_selection_from_classes(own_probs.unsqueeze(0),
                                           (own_conf * self.own_weight).unsqueeze(0), cells,
                                           where, p_top, conf)[0]
