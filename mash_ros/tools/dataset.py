"""mash-dataset: training data from recordings.

Subcommands:
  from-bag   an AirSim recording (rosbag2 of AirSim's ROS 2 wrapper: Scene, DepthPlanar,
             Segmentation, camera_info, /tf) -> a mash-sim split that mash-train, mash-evaluate
             and mash-sim stats read unchanged:
             mash-dataset from-bag airsim_run --out data/airsim --split train --obstructions 1
  compare    how far a converted split is from a reference split of the same snapshots:
             mash-dataset compare data/generated/sim/test out/roundtrip/test
"""
from __future__ import annotations

import argparse
import sys

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


def cmd_compare(ns) -> int:
    import json

    from mash_ros.airsim.compare import compare_splits

    result = compare_splits(ns.reference, ns.converted, ns.limit)
    n = result["snapshots"]
    print(f"{n} snapshots; identical: " + ", ".join(f"{k} {v}/{n}" for k, v in
                                                    result["identical"].items())
          + f"; same target {result['same_target']}/{n}; largest pose difference "
          f"{result['max_pose_error']:.2e}; correspondences agree on "
          f"{100 * result['correspondence_agreement']:.2f} % of "
          f"{result['correspondence_cells']} target cells")
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from mash_ros.airsim.convert import ConvertOptions
    from mash_ros.airsim.recording import RecordingOptions

    rec, conv = RecordingOptions(), ConvertOptions()
    p = argparse.ArgumentParser(prog="mash-dataset", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[2:]))
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("from-bag", help="an AirSim recording -> a mash-sim split")
    b.add_argument("bag", help="rosbag2 directory (mcap or sqlite3)")
    b.add_argument("--out", required=True, help="output root; the split goes to <out>/<split>")
    b.add_argument("--split", default=conv.split, help="train | val | test")
    b.add_argument("--classes", default=None, metavar="FILE.yaml",
                   help="segmentation colour -> class table (default: config/airsim_classes.yaml)")
    b.add_argument("--obstructions", type=int, default=conv.obstructions, metavar="N",
                   help="write every snapshot N times, each with its own target and one of our "
                        "3-D obstructions inserted in front of it (0: as recorded)")
    b.add_argument("--seed", type=int, default=conv.seed, help="targets and obstructions")
    b.add_argument("--fixed-frame", default=rec.fixed_frame,
                   help="poses are looked up in this frame")
    b.add_argument("--world-axes", choices=("ned", "enu"), default=conv.world_axes,
                   help="axes of the fixed frame (poses are stored in ENU)")
    b.add_argument("--frame-pattern", default=rec.frame_pattern,
                   help="tf frame of a camera's optical frame")
    b.add_argument("--odom-pattern", default=rec.odom_pattern,
                   help="nav_msgs/Odometry topic, the pose source when the bag has no /tf")
    b.add_argument("--camera-regex", default=rec.scene_regex,
                   help="camera image topics (named groups agent, camera)")
    b.add_argument("--camera", default=None, help="which camera when a vehicle has several")
    b.add_argument("--stamp-tolerance", type=float, default=rec.tolerance_s, metavar="SECONDS",
                   help="the drones' images of one snapshot are at most this far apart")
    b.add_argument("--max-depth", type=float, default=rec.max_depth, metavar="METRES",
                   help="depth at or beyond this is sky (AirSim writes large finite values)")
    b.add_argument("--limit", type=int, default=None, help="first N snapshots only")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_from_bag)
    c = sub.add_parser("compare", help="a converted split against a reference split")
    c.add_argument("reference")
    c.add_argument("converted")
    c.add_argument("--limit", type=int, default=None)
    c.add_argument("--json", help="also write the numbers to this file")
    c.set_defaults(func=cmd_compare)
    return p


def main(args=None) -> int:
    ns = build_parser().parse_args(args)
    return ns.func(ns)


if __name__ == "__main__":
    sys.exit(main())
