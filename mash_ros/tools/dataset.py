"""mash-dataset: training data from recordings.

Subcommands:
  from-bag   an AirSim recording (rosbag2 of AirSim's ROS 2 wrapper: Scene, DepthPlanar,
             Segmentation, camera_info, /tf) -> a mash-sim split that mash-train, mash-evaluate
             and mash-sim stats read unchanged:
             mash-dataset from-bag airsim_run --out data/airsim --split train --obstructions 1
"""
from __future__ import annotations

import argparse
import sys

from mash_ros.bags import layout
from mash_ros.bags.errors import BagError


def cmd_from_bag(ns) -> int:
    from mash_ros.airsim.convert import ConvertOptions, convert, summary
    from mash_ros.airsim.recording import RecordingOptions

    recording = RecordingOptions(
        fixed_frame=ns.fixed_frame, frame_pattern=ns.frame_pattern, odom_pattern=ns.odom_pattern,
        scene_regex=ns.camera_regex, camera=ns.camera, tolerance_s=ns.stamp_tolerance,
        max_depth=ns.max_depth)
    options = ConvertOptions(split=ns.split, obstructions=ns.obstructions, seed=ns.seed,
                             world_axes=ns.world_axes, limit=ns.limit)
    try:
        report = convert(ns.bag, ns.out, ns.classes, recording, options, progress=not ns.quiet)
    except BagError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summary(report))
    print(f"mash-dataset: wrote {report['snapshots_written']} snapshots to {ns.out}/{ns.split}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mash-dataset", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[2:]))
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("from-bag", help="an AirSim recording -> a mash-sim split")
    b.add_argument("bag", help="rosbag2 directory (mcap or sqlite3)")
    b.add_argument("--out", required=True, help="output root; the split goes to <out>/<split>")
    b.add_argument("--split", default="train", help="train | val | test")
    b.add_argument("--classes", default=None, metavar="FILE.yaml",
                   help="segmentation colour -> class table (default: config/airsim_classes.yaml)")
    b.add_argument("--obstructions", type=int, default=0, metavar="N",
                   help="write every snapshot N times, each with its own target and one of our "
                        "3-D obstructions inserted in front of it (0: as recorded)")
    b.add_argument("--seed", type=int, default=0, help="targets and obstructions")
    b.add_argument("--fixed-frame", default="world_ned", help="poses are looked up in this frame")
    b.add_argument("--world-axes", choices=("ned", "enu"), default="ned",
                   help="axes of the fixed frame (poses are stored in ENU)")
    b.add_argument("--frame-pattern", default="{vehicle}/{camera}_optical",
                   help="tf frame of a camera's optical frame")
    b.add_argument("--odom-pattern", default="/airsim_node/{vehicle}/odom_local_ned",
                   help="nav_msgs/Odometry topic, the pose source when the bag has no /tf")
    b.add_argument("--camera-regex", default=layout.CAMERA_REGEX,
                   help="camera image topics (named groups agent, camera)")
    b.add_argument("--camera", default=None, help="which camera when a vehicle has several")
    b.add_argument("--stamp-tolerance", type=float, default=0.02, metavar="SECONDS",
                   help="the drones' images of one snapshot are at most this far apart")
    b.add_argument("--max-depth", type=float, default=1000.0, metavar="METRES",
                   help="depth at or beyond this is sky (AirSim writes large finite values)")
    b.add_argument("--limit", type=int, default=None, help="first N snapshots only")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_from_bag)
    return p


def main(args=None) -> int:
    ns = build_parser().parse_args(args)
    return ns.func(ns)


if __name__ == "__main__":
    sys.exit(main())
