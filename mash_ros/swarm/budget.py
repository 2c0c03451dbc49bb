"""A drone's send budget: the bytes per second it may put on its radio link, and the choices
that keep it.

What a drone sends per snapshot is its query (one copy per peer: DDS sends by unicast) and one
answer per target that asked. Fast DDS can only delay bytes (a flow controller queues them),
never choose them; under a cap below the swarm's demand a delayed query or answer misses its
deadline and is worth nothing. So the node decides what to send, from a token bucket filled at
``rate`` bytes/s:

* the query: the configured encoding if the bucket holds its copies, else the cheapest
  (``QUERY_ENCODINGS`` from rich to cheap); a query is always sent, in debt if need be: without
  it the drone's own frame gets no help at all;
* the answers, earliest deadline first (oldest stamp): each gets an equal share of what is
  left after keeping one own query in reserve, and is cut to the most confident cells that
  fit the share (possibly none: an empty answer still tells the target not to wait).

Spending is recorded from the serialized sizes actually sent (times their copies), so the
estimates below only decide; they never make the bucket wrong.
"""
from __future__ import annotations

import math

import torch

from mash_ros.core.codecs import patch_payload_bytes, query_payload_bytes
from mash_ros.core.roles import Response

# The bucket holds at most this many seconds of budget (two snapshot periods at the sample's 2/s:
# one period must hold a query and the answers sent between two queries), so a quiet spell cannot
# be spent as one burst that floods the link's queue.
BURST_S = 1.0
QUERY_ENCODINGS = ("float32", "float16", "int8")  # rich to cheap
PER_CELL_LIST_BYTES = 12  # per sent cell: cell_index + source_cell (uint32) + confidence (float32)
# Everything of a SegPatches / QueryMap besides its payload (CDR header, ids, grid, encoding,
# MAC, sequence): an upper bound, checked against real serialized messages in the tests.
MESSAGE_OVERHEAD_BYTES = 256


class SendBudget:
    """Token bucket of ``rate`` bytes/s (0 = unlimited), at most ``BURST_S`` s deep."""

    def __init__(self, rate: float, now: float):
        if rate < 0:
            raise ValueError("send budget must be >= 0 bytes/s")
        self.rate = float(rate)
        self.capacity = self.rate * BURST_S
        self.tokens = self.capacity
        self.stamp = now
        self.spent = 0
        self.trimmed_cells = 0   # cells left out of answers for lack of budget
        self.cheaper_queries = 0  # queries sent in a cheaper encoding than configured

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def available(self, now: float) -> float:
        """Bytes that may be sent now (may be negative: debt); inf if unlimited."""
        if not self.enabled:
            return math.inf
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens

    def spend(self, size: int, now: float) -> None:
        self.available(now)
        self.tokens -= size
        self.spent += size

    def query_encoding(self, configured: str, shape: tuple[int, int, int], copies: int,
                       now: float) -> str:
        """``configured`` if its ``copies`` fit the bucket, else the richest cheaper one that
        fits, else the cheapest. ``shape`` = (Q, Hs, Ws)."""
        if not self.enabled or configured not in QUERY_ENCODINGS:
            return configured
        left = self.available(now)
        cheaper = QUERY_ENCODINGS[QUERY_ENCODINGS.index(configured):]
        for encoding in cheaper:
            if copies * (query_payload_bytes(*shape, encoding) + MESSAGE_OVERHEAD_BYTES) <= left:
                break
        if encoding != configured:
            self.cheaper_queries += 1
        return encoding

    def answer_cells(self, now: float, answers_left: int, reserve: float, cell_bytes: int,
                     wanted: int) -> int:
        """How many of the ``wanted`` cells the next answer may carry, when ``answers_left``
        answers (this one included) share what the bucket holds beyond ``reserve``."""
        if not self.enabled:
            return wanted
        share = (self.available(now) - reserve) / max(1, answers_left)
        fits = int((share - MESSAGE_OVERHEAD_BYTES) // cell_bytes)
        cells = max(0, min(wanted, fits))
        self.trimmed_cells += wanted - cells
        return cells

    def summary(self) -> dict:
        return {"rate_bytes_per_s": self.rate, "spent_bytes": self.spent,
                "trimmed_cells": self.trimmed_cells, "cheaper_queries": self.cheaper_queries}


def query_cost(shape: tuple[int, int, int], encoding: str, copies: int) -> int:
    """Estimated bytes of one query sent to ``copies`` peers."""
    return copies * (query_payload_bytes(*shape, encoding) + MESSAGE_OVERHEAD_BYTES)


def cell_cost(classes: int, patch: int, encoding) -> int:
    """Bytes one answer cell adds to a SegPatches message: exact for the fixed-size encodings;
    for ``labels`` the most it can add (deflation assumed to gain nothing), so under a tight
    send budget a drone may send fewer cells than would have fitted, never more."""
    return patch_payload_bytes(1, classes, patch, encoding) + PER_CELL_LIST_BYTES


def most_confident(answer: Response, cells: int) -> Response:
    """``answer`` cut to its ``cells`` most confident cells (all of it if it has no more)."""
    if answer.num_cells <= cells:
        return answer
    keep = torch.argsort(answer.confidence, descending=True)[:cells]
    keep = keep.sort().values  # keep the original (row-major cell) order
    labels = None if answer.labels is None else tuple(t[keep] for t in answer.labels)
    return Response(answer.cell_ids[keep], answer.patches[keep], answer.confidence[keep],
                    answer.source_cells[keep], answer.grid_size, labels)
