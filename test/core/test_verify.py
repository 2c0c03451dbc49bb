"""The target checks each answer on the cells it is sure of (mash_ros/core/verify.py)."""
import torch
import torch.nn.functional as F

from mash_ros.core.verify import NO_EVIDENCE, answer_agreement
from mash_ros.core.warp import patchify


def test_agreement_counts_only_the_targets_sure_cells():
    labels = torch.randint(0, 3, (1, 16, 16))
    own = F.one_hot(labels, 3).permute(0, 3, 1, 2).float()  # [1,3,16,16], 4 cells of 8x8
    own_conf = torch.tensor([[[0.9, 0.9], [0.1, 0.9]]])  # cell 2: the target is unsure
    cells = patchify(own, 8)[0]  # [4,3,8,8]
    agreeing = cells[[0, 1]]  # answer 0: the target's own view of cells 0 and 1
    disagreeing = cells[[3, 2]].roll(1, dims=1)  # answer 1: wrong class in cell 3 (and 2)
    patches = torch.cat([agreeing, disagreeing])
    agreement = answer_agreement(own, own_conf, torch.zeros(4, dtype=torch.long),
                                 torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 3, 2]),
                                 patches, 3, 0.5)
    # answer 0 agrees everywhere; answer 1 is judged on cell 3 only (cell 2 is unsure);
    # answer 2 sent nothing: no evidence
    torch.testing.assert_close(agreement, torch.tensor([1.0, 0.0, NO_EVIDENCE]))
