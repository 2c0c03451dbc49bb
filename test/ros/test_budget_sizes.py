"""The send budget's size estimates against real serialized, signed messages."""
import numpy as np
import pytest
from rclpy.serialization import serialize_message
from std_msgs.msg import Header

from mash_ros import conversions
from mash_ros.core.codecs import query_payload_bytes
from mash_ros.core.roles import Response
from mash_ros.swarm.auth import Authenticator
from mash_ros.swarm.budget import MESSAGE_OVERHEAD_BYTES, cell_cost

AUTH = Authenticator(bytes(range(32)))
LONG_NAME = "drone_63"


def signed_size(msg) -> int:
    AUTH.sign(msg)
    return len(serialize_message(msg))


@pytest.mark.parametrize("encoding", ["float32", "float16", "int8"])
def test_query_overhead_is_bounded(encoding):
    query = np.random.default_rng(0).normal(size=(32, 16, 16)).astype(np.float32)
    msg = conversions.query_to_msg(query, Header(frame_id="camera"), LONG_NAME, 2**31, encoding)
    assert signed_size(msg) <= query_payload_bytes(32, 16, 16, encoding) + MESSAGE_OVERHEAD_BYTES


@pytest.mark.parametrize("cells", [0, 1, 100, 256])
@pytest.mark.parametrize("encoding", ["labels", "top1", "uint8", "float16"])
def test_answer_size_is_bounded_by_cells_times_cell_cost(cells, encoding):
    rng = np.random.default_rng(cells)
    patches = rng.dirichlet(np.ones(8), size=(cells, 8, 8)).transpose(0, 3, 1, 2)
    answer = Response.from_numpy(np.arange(cells), patches.astype(np.float32),
                                 rng.uniform(size=cells).astype(np.float32),
                                 np.arange(cells), (16, 16))
    msg = conversions.patches_to_msg(answer, Header(frame_id="camera"), LONG_NAME, LONG_NAME,
                                     2**31, encoding)
    assert signed_size(msg) <= MESSAGE_OVERHEAD_BYTES + cells * cell_cost(8, 8, encoding)
