"""A query or an answer as its receiver gets it: encoded with its codec and decoded again.

Offline evaluation, the offline reference of a recorded swarm and the compute benchmark all need
exactly what a drone node makes of a QueryMap or SegPatches payload
(``conversions.msg_to_query`` / ``msg_to_patches``), the compact class maps of ``labels``
payloads included, so that they match and fuse what the swarm does.
"""
from __future__ import annotations

import numpy as np
import torch

from mash_ros.core import codecs
from mash_ros.core.roles import Response


def query_through_wire(query: np.ndarray, encoding) -> tuple[np.ndarray, int]:
    """query float [Q,Ht,Wt] -> (float32 [Q,Ht,Wt] after the query codec ``encoding``, bytes
    of its payload and per-channel scales)."""
    scale, payload = codecs.encode_query(query, encoding)
    decoded = codecs.decode_query(payload, np.asarray(scale, np.float32), *query.shape, encoding)
    return decoded, len(payload) + 4 * len(scale)


def through_wire(answer: Response, encoding) -> tuple[Response, int]:
    """(the answer after a round trip through the patch codec ``encoding``, payload bytes)."""
    count, classes, patch = answer.patches.shape[:3]
    payload = codecs.encode_patches(answer.patches.numpy().astype(np.float32), encoding)
    patches, labels = codecs.decode_patches_and_classes(payload, count, classes, patch, encoding)
    compact = None if labels is None else (torch.from_numpy(labels[0]),
                                           torch.from_numpy(labels[1]))
    return Response(answer.cell_ids, torch.from_numpy(np.ascontiguousarray(patches, np.float32)),
                    answer.confidence, answer.source_cells, answer.grid_size, compact), len(payload)
