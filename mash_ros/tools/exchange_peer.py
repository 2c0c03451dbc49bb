"""``mash-exchange-peer``: run one side of the two-agent QueryMap/SegPatches exchange."""
from __future__ import annotations

import argparse
import sys

from rclpy.utilities import remove_ros_args

from mash_ros.tools.encoding_args import add_encoding_arguments


def main(args=None) -> int:
    argv = remove_ros_args(args if args is not None else sys.argv)[1:]
    parser = argparse.ArgumentParser(prog="mash-exchange-peer", description=__doc__)
    parser.add_argument("--role", choices=["target", "support"], required=True)
    parser.add_argument("--agent", required=True, help="this agent's namespace, e.g. drone_0")
    parser.add_argument("--peer", required=True, help="the other agent's namespace")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before giving up")
    add_encoding_arguments(parser)
    parser.add_argument("--out", required=True, help="JSON log of every message sent/received")
    ns = parser.parse_args(argv)
    from mash_ros.nodes.exchange_peer import run

    return run(ns.role, ns.agent, ns.peer, ns.frames, ns.out, ns.timeout, ns.query_encoding,
               ns.patch_encoding, args=args)


if __name__ == "__main__":
    sys.exit(main())
