"""An answer as the target receives it: encoded with a patch codec and decoded again.

Offline evaluation, the offline reference of a recorded swarm and the compute benchmark all need
exactly what a drone node makes of a SegPatches payload (``conversions.msg_to_patches``), the
compact class maps of ``labels`` payloads included, so that they fuse what the swarm fuses.
"""
from __future__ import annotations

import numpy as np
import torch

from mash_ros.core import codecs
from mash_ros.core.roles import Response


def through_wire(answer: Response, encoding) -> tuple[Response, int]:
    """(the answer after a round trip through the patch codec ``encoding``, payload bytes)."""
    count, classes, patch = answer.patches.shape[:3]
    payload = codecs.encode_patches(answer.patches.numpy().astype(np.float32), encoding)
    patches, labels = codecs.decode_patches_and_classes(payload, count, classes, patch, encoding)
    compact = None if labels is None else (torch.from_numpy(labels[0]),
                                           torch.from_numpy(labels[1]))
    return Response(answer.cell_ids, torch.from_numpy(np.ascontiguousarray(patches, np.float32)),
                    answer.confidence, answer.source_cells, answer.grid_size, compact), len(payload)
