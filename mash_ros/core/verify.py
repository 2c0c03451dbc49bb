"""The target verifies each supporter on the cells it sees well itself.

Why: a supporter's answer confidence is estimated from its own side of the handshake alone and,
trained to be right on average, it is overconfident exactly where the target picks it: taking
the most confident of five noisy estimates selects the over-estimates (measured after an epoch:
the chosen supporter claimed 0.88, its patches were right 0.69 of the time on obstructed
cells). A supporter whose geometry is wrong is wrong everywhere, also on cells the target sees
clearly, and there the target can check it: on every answer cell where the target trusts its
own segmentation (own confidence >= ``min_own_confidence``) it counts the pixels on which the
supporter's patch agrees with its own prediction. That agreement a, per answer, scales the
answer's confidences before the selection, as a ** sharpness: a good answer agrees on ~90 % of
such pixels and a wrong one on far fewer, and a power turns that gap into a gate (measured on
the validation split, ``mash-evaluate``'s ablations). No learned parameters, computed by the
target from what it received; nothing on the wire.
"""
from __future__ import annotations

import torch

from mash_ros.core.warp import patchify

NO_EVIDENCE = 0.5  # agreement of an answer with no cell the target is sure of


def answer_agreement(own_probs: torch.Tensor, own_conf: torch.Tensor, entry_batch: torch.Tensor,
                     entry_answer: torch.Tensor, entry_cell: torch.Tensor,
                     entry_patches: torch.Tensor, num_answers: int,
                     min_own_confidence: float, sharpness: float = 1.0,
                     no_evidence: float = NO_EVIDENCE) -> torch.Tensor:
    """own_probs [B,C,H,W], own_conf [B,Ht,Wt], per entry: batch [M], answer index [M] in
    [0, num_answers), target cell [M], patch [M,C,P,P] -> weight [num_answers] in [0, 1]:
    the fraction of pixels, over the answer's cells the target is sure of, where the patch's
    most likely class is the target's own, to the power ``sharpness``."""
    key = entry_batch * (own_conf.shape[1] * own_conf.shape[2]) + entry_cell  # [M]
    sure = torch.nonzero(own_conf.reshape(-1)[key] >= min_own_confidence).reshape(-1)  # [Ms]
    # Class maps, not probabilities, are gathered: the arg-max over C comes first wherever
    # that reads less (the entries when most are on sure cells), since the gather and the
    # reduction dominated the target's fuse time.
    # max(1).indices, not argmax(1): 5x faster over a non-innermost dim on the CPU
    if 2 * sure.numel() >= key.numel():
        entry_top = entry_patches.max(1).indices[sure]  # [Ms,P,P]
    else:
        entry_top = entry_patches[sure].max(1).indices
    p = entry_top.shape[-1]
    own_top = patchify(own_probs.max(1, keepdim=True).indices, p).flatten(0, 1)[:, 0]  # [B*Nc,P,P]
    same = (entry_top == own_top[key[sure]]).flatten(1).sum(1).to(own_probs.dtype)
    return _weights(entry_answer[sure], same, torch.full_like(same, float(p * p)), num_answers,
                    sharpness, no_evidence)


def answer_agreement_from_classes(own_probs: torch.Tensor, own_conf: torch.Tensor,
                                  entry_cell: torch.Tensor, entry_answer: torch.Tensor,
                                  entry_where: torch.Tensor, num_answers: int,
                                  min_own_confidence: float, sharpness: float = 1.0,
                                  no_evidence: float = NO_EVIDENCE) -> torch.Tensor:
    """``answer_agreement`` for one target (B = 1) whose answers came as class maps (``labels``
    payloads): entry_where [M,P,P], where each pixel's class lies in the flattened [C,H,W]
    probabilities (``fusion.class_pixels``), instead of patches.

    A pixel agrees when the answer's class is the target's most likely one there: the same test
    as comparing with the target's arg-max (but for exact ties, where any tied class agrees),
    at a fraction of the cost, since a max over classes is cheap and its index is not."""
    # every entry counted, the unsure ones with weight 0: cheaper than selecting the sure ones
    sure = (own_conf.reshape(-1)[entry_cell] >= min_own_confidence).to(own_probs.dtype)  # [M]
    own_top = own_probs[0] >= own_probs[0].amax(0)  # [C,H,W] bool: the most likely class(es)
    same = own_top.reshape(-1)[entry_where].flatten(1).sum(1).to(own_probs.dtype)  # [M]
    side = entry_where.shape[-1]
    return _weights(entry_answer, same * sure, sure * float(side * side), num_answers,
                    sharpness, no_evidence)


def _weights(entry_answer: torch.Tensor, agreed: torch.Tensor, counted: torch.Tensor,
             num_answers: int, sharpness: float, no_evidence: float) -> torch.Tensor:
    """Agreeing and counted pixels per entry [M'] of answer entry_answer [M'] -> each answer's
    agreement ** sharpness [num_answers] (``no_evidence`` where nothing was counted)."""
    zeros = torch.zeros(num_answers, dtype=agreed.dtype, device=agreed.device)
    counted = zeros.index_add(0, entry_answer, counted)
    agreed = zeros.index_add(0, entry_answer, agreed)
    agreement = torch.where(counted > 0, agreed / counted.clamp_min(1.0),
                            torch.full_like(counted, no_evidence))
    return agreement ** sharpness
