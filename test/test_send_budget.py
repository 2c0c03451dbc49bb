"""The drone's send budget (ROS-free): token bucket, query encoding, answer cells, copies."""
import math

import numpy as np
import pytest

from mash_ros.core.codecs import query_payload_bytes
from mash_ros.core.roles import Response
from mash_ros.swarm.bandwidth import (
    RECEIVED,
    SENT,
    radio_bytes,
    radio_bytes_by_stream,
    radio_copies,
)
from mash_ros.swarm.budget import (
    BURST_S,
    MESSAGE_OVERHEAD_BYTES,
    SendBudget,
    cell_cost,
    most_confident,
)

SHAPE = (32, 16, 16)


def test_unlimited_budget_changes_nothing():
    budget = SendBudget(0, now=0.0)
    assert not budget.enabled and budget.available(5.0) == math.inf
    assert budget.query_encoding("float32", SHAPE, 5, 0.0) == "float32"
    assert budget.answer_cells(0.0, 3, 1e9, 76, 200) == 200


def test_bucket_refills_at_rate_up_to_its_depth():
    budget = SendBudget(1000, now=0.0)
    assert budget.available(0.0) == 1000 * BURST_S
    budget.spend(1500, now=0.0)
    assert budget.available(0.0) == pytest.approx(1000 * BURST_S - 1500)
    assert budget.available(100.0) == 1000 * BURST_S  # capped: no burst after a quiet spell
    assert budget.spent == 1500


def test_query_falls_back_to_a_cheaper_encoding_only_when_short():
    copies = 5
    float16 = copies * (query_payload_bytes(*SHAPE, "float16") + MESSAGE_OVERHEAD_BYTES)
    budget = SendBudget(float16 / BURST_S, now=0.0)  # exactly one float16 query in the bucket
    assert budget.query_encoding("float16", SHAPE, copies, 0.0) == "float16"
    assert budget.query_encoding("float32", SHAPE, copies, 0.0) == "float16"
    budget.spend(float16, 0.0)
    assert budget.query_encoding("float32", SHAPE, copies, 0.0) == "int8"  # cheapest, in debt
    assert budget.cheaper_queries == 2


def test_answers_share_what_is_left_after_the_reserve():
    budget = SendBudget(10_000 / BURST_S, now=0.0)  # 10 kB in the bucket
    per_cell = 76
    # two answers left, 2 kB reserved: 4 kB each -> (4000 - overhead) // 76 cells
    cells = budget.answer_cells(0.0, 2, 2000, per_cell, 500)
    assert cells == (4000 - MESSAGE_OVERHEAD_BYTES) // per_cell
    assert budget.answer_cells(0.0, 1, 20_000, per_cell, 500) == 0  # nothing beyond reserve
    assert budget.answer_cells(0.0, 1, 0, per_cell, 3) == 3  # never more than wanted
    assert budget.trimmed_cells == (500 - cells) + 500


def test_negative_budget_is_refused():
    with pytest.raises(ValueError):
        SendBudget(-1, now=0.0)


def test_most_confident_keeps_the_top_cells_in_grid_order():
    answer = Response.from_numpy(np.array([3, 7, 9, 12]), np.zeros((4, 8, 8, 8), np.float32),
                                 np.array([0.5, 0.9, 0.1, 0.8], np.float32),
                                 np.array([0, 1, 2, 3]), (16, 16))
    kept = most_confident(answer, 2)
    assert kept.cell_ids.tolist() == [7, 12]
    assert most_confident(answer, 0).num_cells == 0
    assert most_confident(answer, 10) is answer


def test_cell_cost_counts_payload_and_lists():
    assert cell_cost(8, 8, "top1") == 64 + 12
    assert cell_cost(8, 8, "float16") == 8 * 64 * 2 + 12


def test_radio_copies_only_peer_streams_cross_the_link():
    assert radio_copies("mash/query", SENT, 5) == 5
    assert radio_copies("mash/bandwidth", SENT, 5) == 5
    assert radio_copies("/drone_1/mash/patches", SENT, 5) == 1
    assert radio_copies("/drone_1/mash/query", RECEIVED, 5) == 1
    assert radio_copies("mash/patches", RECEIVED, 5) == 1
    for local in ("camera", "mash/segmentation", "mash/segmentation_single"):
        assert radio_copies(local, SENT, 5) == radio_copies(local, RECEIVED, 5) == 0
    rows = [{"topic": "mash/query", "direction": SENT, "bytes": 100},
            {"topic": "camera", "direction": RECEIVED, "bytes": 10_000},
            {"topic": "mash/patches", "direction": RECEIVED, "bytes": 7}]
    assert radio_bytes(rows, 2) == 207


def test_radio_bytes_split_by_stream_adds_up():
    rows = [{"topic": "mash/query", "direction": SENT, "bytes": 100},
            {"topic": "/drone_2/mash/patches", "direction": SENT, "bytes": 30},
            {"topic": "mash/bandwidth", "direction": SENT, "bytes": 5},
            {"topic": "/drone_2/mash/query", "direction": RECEIVED, "bytes": 100},
            {"topic": "mash/segmentation", "direction": SENT, "bytes": 9999}]
    split = radio_bytes_by_stream(rows, 3)
    assert split == {"queries_sent": 300, "answers_sent": 30, "heartbeats_sent": 15,
                     "received": 100}
    assert sum(split.values()) == radio_bytes(rows, 3)
