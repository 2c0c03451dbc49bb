"""The ``--query-encoding`` / ``--patch-encoding`` options every tool shares.

Defaults come from the drone node's parameters (``config/swarm.yaml``), so an offline tool
encodes exactly as the swarm does unless told otherwise.
"""
from __future__ import annotations

import argparse

from mash_ros.core.codecs import PATCH_ENCODINGS, QUERY_ENCODINGS
from mash_ros.swarm.params import default


def add_encoding_arguments(parser: argparse.ArgumentParser, note: str = "") -> None:
    suffix = f" ({note})" if note else ""
    parser.add_argument("--query-encoding", default=default("query_encoding"),
                        choices=QUERY_ENCODINGS, help="query map wire encoding" + suffix)
    parser.add_argument("--patch-encoding", default=default("patch_encoding"),
                        choices=PATCH_ENCODINGS, help="answer patch wire encoding" + suffix)
