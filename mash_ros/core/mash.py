"""MASH: the per-role API (encode / respond / fuse) and the centralized training forward.

One ``MASH`` object holds the weights every agent shares. A ROS node uses the role methods for
its own agent; training calls ``forward`` on a batch of snapshots of N agents, which runs the same
role modules batched over agents and over (target, supporter) pairs. The send selection is a mask
there, so ``forward`` and encode -> respond -> fuse agree to float rounding (see test_roles.py).
"""
from __future__ import annotations

from typing import Dict, Sequence

import torch
from torch import nn

from mash_ros.core.answer import AnswerConfidence
from mash_ros.core.backbone import build_backbone
from mash_ros.core.consensus import NoConsensus, build_consensus
from mash_ros.core.fusion import SelfConfidence, build_fusion
from mash_ros.core.handshake import (
    build_key_encoder,
    build_query_encoder,
    build_query_key_transform,
    siamese_init,
)
from mash_ros.core.roles import AgentState, EncodeRole, FuseRole, RespondRole, Response
from mash_ros.core.smoothing import build_smoother
from mash_ros.core.verify import answer_agreement
from mash_ros.core.warp import select_cells


class MASH(nn.Module):
    """Multi-Agent Spatial Handshaking network (paper Fig. 2).

    ``confidence_threshold`` and ``cell_budget`` are plain attributes (not weights): a node may
    change them at run time. Deployment: ``model.eval()`` and call the roles under
    ``torch.inference_mode()``; each role call wraps the shared submodules in a fresh role
    module (~10 us), so weights loaded or thresholds changed later are always the ones used.
    """

    # initialised together (siamese_init): fine-tuning re-initialises all of them or none
    coupled_modules = (("query_encoder", "key_encoder", "qk_transform"),)

    def __init__(self, backbone: nn.Module, query_encoder: nn.Module, key_encoder: nn.Module,
                 qk_transform: nn.Module, smoother: nn.Module, fusion: nn.Module,
                 num_classes: int, patch: int, confidence_threshold: float = 0.0,
                 cell_budget: int = 0, consensus: nn.Module | None = None,
                 subcell: bool = False, answer_confidence: nn.Module | None = None,
                 outlier_cells: float = 1.5, local_sigma: float = 0.0,
                 local_inlier_cells: float = 2.0, calibrated: bool = False,
                 verify_confidence: float = 0.0, verify_sharpness: float = 1.0,
                 own_weight: float = 1.0):
        super().__init__()
        self.backbone = backbone
        self.query_encoder = query_encoder
        self.key_encoder = key_encoder
        self.qk_transform = qk_transform
        self.self_confidence = SelfConfidence(backbone.feature_channels)
        self.smoother = smoother
        self.consensus = consensus if consensus is not None else NoConsensus()
        self.fusion = fusion
        self.num_classes = num_classes
        self.patch = patch
        self.confidence_threshold = float(confidence_threshold)
        self.cell_budget = int(cell_budget)
        self.subcell = bool(subcell)
        if answer_confidence is not None:  # geometric infill (answer.py); absent: no weights
            self.answer_confidence = answer_confidence
        self.outlier_cells = float(outlier_cells)
        self.local_sigma = float(local_sigma)  # 0 = the global fit only (localfit.py)
        self.local_inlier_cells = float(local_inlier_cells)
        # confidences trained by losses.confidence_loss only: through the fused segmentation
        # (straight-through HardSelection) they learnt to trust whichever side helped on
        # average, and the target stayed sure of its obstructed cells (0.95 vs 0.73 right)
        self.calibrated = bool(calibrated)
        self.verify_confidence = float(verify_confidence)  # 0 = off (verify.py)
        self.verify_sharpness = float(verify_sharpness)
        self.own_weight = float(own_weight)  # fusion only: verification uses the raw confidence

    # --- role modules: thin wrappers sharing this model's submodules (script/export these) ---
    def encode_role(self) -> EncodeRole:
        return EncodeRole(self.backbone, self.query_encoder, self.key_encoder, self.qk_transform,
                          self.self_confidence)

    def respond_role(self) -> RespondRole:
        return RespondRole(self.qk_transform, self.smoother, self.patch, self.consensus,
                           self.subcell, getattr(self, "answer_confidence", None),
                           self.outlier_cells, self.local_sigma, self.local_inlier_cells)

    def fuse_role(self) -> FuseRole:
        return FuseRole(self.fusion, self.verify_confidence, self.verify_sharpness,
                        self.own_weight)

    # --- per-role API: one agent per call ---
    def encode(self, image: torch.Tensor) -> AgentState:
        """image [B,3,H,W] RGB in [0,1] -> AgentState (batch B; respond/fuse want B = 1)."""
        return AgentState(*self.encode_role()(image))

    def respond(self, query: torch.Tensor, own_state: AgentState) -> Response:
        """query [Q,Ht,Wt] received from a target (decoded float), own_state of this supporter
        (B = 1) -> the sparse Response for that target."""
        _check_single(own_state)
        cell_ids, patches, confidence, source = self.respond_role()(
            query.to(own_state.key.dtype), own_state.key[0], own_state.probs[0],
            self.confidence_threshold, self.cell_budget)
        return Response(cell_ids, patches, confidence, source,
                        (int(query.shape[-2]), int(query.shape[-1])))

    def fuse(self, own_state: AgentState, responses: Sequence[Response]) -> torch.Tensor:
        """own_state (B = 1), any number of Responses -> fused probabilities [C,H,W]."""
        _check_single(own_state)
        labels = [r.labels for r in responses]
        return self.fuse_role()(own_state.probs[0], own_state.self_confidence[0],
                                [r.cell_ids for r in responses], [r.patches for r in responses],
                                [r.confidence for r in responses],
                                labels if all(x is not None for x in labels) else None)

    # --- centralized, dense, differentiable: training and evaluation ---
    def forward(self, images: torch.Tensor, target: int = 0,
                gt_corr: torch.Tensor | None = None,
                gt_flow: torch.Tensor | None = None) -> Dict[str, torch.Tensor]:
        """images [B,N,3,H,W] (N agents, one snapshot per batch element), agent ``target`` is
        the target, the other N-1 (in increasing index order) its supporters. ``gt_corr`` and
        ``gt_flow`` are ignored (uniform signature with the baselines; MASH learns its warp).
        Returns:

        probs        [B,C,H,W]  fused distribution for the target (== per-role ``fuse``)
        log_probs    [B,C,H,W]  its log (for the segmentation NLL vs the clean target labels)
        corr_logits  [B,S,V,Ht,Wt] smoothed correspondence logits, V = Hs*Ws+1, S = N-1 (for the
                                correspondence CE vs GT indices in [0, Hs*Ws], Hs*Ws = no-match)
        match, confidence, send_mask [B,S,Ht,Wt]  warping grid, its confidence, cells sent
        own_confidence  [B,Ht,Wt] the target's trust in its own cells (fusion.SelfConfidence)
        own_probs    [B,C,H,W]  the target's own distribution
        supporter_patches [B,S,Ht*Wt,C,P,P] what each supporter would send for every cell
                                (sent or not: the confidence loss scores them all)
        positions    [B,S,2,Ht,Wt] appearance sub-cell positions (subcell models, for the flow
                                loss), window [B,S,Ht,Wt] the supporter cell each is centred on,
        warp_positions [B,S,2,Ht,Wt] the positions the patches are sampled at (with infill,
                                geometric where the appearance match contradicts the fit)
        agent_logits [B,N,C,H,W] every agent's own segmentation logits (optional auxiliary loss)
        supporters   [S] long   agent index of each supporter slot
        """
        b, n = images.shape[0], images.shape[1]
        _, key, query, logits, probs, own_conf = self.encode_role()(images.flatten(0, 1))
        key = key.unflatten(0, (b, n))  # [B,N,K,Hs,Ws]
        query = query.unflatten(0, (b, n))  # [B,N,Q,Ht,Wt]
        logits = logits.unflatten(0, (b, n))  # [B,N,C,H,W]
        probs = probs.unflatten(0, (b, n))
        own_conf = own_conf.unflatten(0, (b, n))  # [B,N,Ht,Wt]
        sup = [j for j in range(n) if j != target]
        s = len(sup)
        sup_idx = torch.tensor(sup, dtype=torch.long, device=images.device)

        # every supporter receives the same query: pairs (target, supporter) -> batch B*S
        q_pairs = query[:, target].unsqueeze(1).expand(-1, s, -1, -1, -1).flatten(0, 1)
        k_pairs = key[:, sup_idx].flatten(0, 1)  # [B*S,K,Hs,Ws]
        respond = self.respond_role()
        # [B*S,V,Ht,Wt]; [B*S,Ht,Wt] x2; [B*S,2,Ht,Wt] x2; [B*S,Ht,Wt]
        corr_logits, match, confidence, positions, appearance, window = respond.answer(
            q_pairs, k_pairs)
        send = select_cells(confidence, match, corr_logits.shape[1] - 1,
                            self.confidence_threshold, self.cell_budget)
        sup_probs = probs[:, sup_idx].flatten(0, 1)  # [B*S,C,H,W]
        sup_patches = respond.patches(sup_probs, positions, match, confidence, send)

        # the sent cells as fusion entries, in the order the per-role path concatenates them:
        # batch element, then supporter slot, then cell id
        ht, wt = match.shape[-2], match.shape[-1]
        pair, cell = torch.nonzero(send.reshape(b * s, ht * wt), as_tuple=True)
        entry_conf = confidence.reshape(b * s, ht * wt)[pair, cell]
        own_target_conf = own_conf[:, target]
        if self.calibrated:  # the selection's confidences learn from their calibration alone
            own_target_conf, entry_conf = own_target_conf.detach(), entry_conf.detach()
        if self.verify_confidence > 0:  # answers (pairs) checked on the target's sure cells
            entry_conf = entry_conf * answer_agreement(
                probs[:, target], own_target_conf, pair // max(s, 1), pair, cell,
                sup_patches[pair, cell], b * s, self.verify_confidence,
                self.verify_sharpness)[pair]
        fused = self.fusion(probs[:, target], own_target_conf * self.own_weight,
                            pair // max(s, 1), cell,
                            sup_patches[pair, cell], entry_conf)
        extra = {}
        if self.subcell:
            extra = {"positions": appearance.unflatten(0, (b, s)),
                     "window": window.unflatten(0, (b, s)),
                     "warp_positions": positions.unflatten(0, (b, s))}
        return {**extra,
            "probs": fused,
            "log_probs": torch.log(fused.clamp_min(1e-8)),
            "corr_logits": corr_logits.unflatten(0, (b, s)),
            "match": match.view(b, s, ht, wt),
            "confidence": confidence.view(b, s, ht, wt),
            "own_confidence": own_conf[:, target],
            "own_probs": probs[:, target],
            "supporter_patches": sup_patches.unflatten(0, (b, s)),
            "send_mask": send.view(b, s, ht, wt),
            "agent_logits": logits,
            "supporters": sup_idx,
        }


def _check_single(state: AgentState) -> None:
    if state.key.shape[0] != 1:
        raise ValueError("respond/fuse work on one agent's state (batch of 1); use state.agent(i)")


def build_mash(cfg) -> MASH:
    backbone = build_backbone(cfg)
    query_encoder = build_query_encoder(cfg, backbone.feature_channels)
    key_encoder = build_key_encoder(cfg, backbone.feature_channels)
    qk_transform = build_query_key_transform(cfg)
    siamese_init(query_encoder, key_encoder, qk_transform)  # matcher works from step 0
    return MASH(
        backbone=backbone,
        query_encoder=query_encoder,
        key_encoder=key_encoder,
        qk_transform=qk_transform,
        smoother=build_smoother(cfg),
        consensus=build_consensus(cfg),
        fusion=build_fusion(cfg),
        num_classes=cfg.num_classes,
        patch=cfg.patch_size,
        confidence_threshold=cfg.confidence_threshold,
        cell_budget=cfg.cell_budget,
        subcell=cfg.subcell_warp,
        answer_confidence=AnswerConfidence() if cfg.geometric_infill else None,
        outlier_cells=cfg.infill_outlier_cells,
        local_sigma=cfg.local_fit_sigma,
        local_inlier_cells=cfg.local_fit_inlier_cells,
        calibrated=cfg.confidence_loss_weight > 0,
        verify_confidence=cfg.verify_own_confidence,
        verify_sharpness=cfg.verify_sharpness,
        own_weight=cfg.fusion_own_weight,
    )

