"""``mash-evaluate-bag INPUT RECORDING --out FILE.json``: score a recorded live swarm run.

Joins the drones' recorded outputs with the input bag's ground truth by header stamp and
reports the Table I metrics of the live distributed run (full image and obstructed region, the
swarm against the drone alone), bytes per topic against raw images, end-to-end latency, and
frames with no output (lost). ``--model`` adds the offline reference: the same checkpoint run
over the same frames without ROS, through the same wire codecs.

Exit status: 0 complete; 3 the report was written but is incomplete (lost frames, partial
replay: see its "problems"); 2 a bag is unusable (nothing written).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mash_ros.atomic import write_json_atomic
from mash_ros.bags import layout
from mash_ros.bags.errors import BagError
from mash_ros.core.checkpoint import ModelFileError
from mash_ros.tools.encoding_args import add_encoding_arguments

INCOMPLETE = 3


def _pct(value) -> str:
    return "   n/a" if value is None else f"{value:6.2f}"


def format_report(report: dict) -> str:
    """The human summary printed by mash-evaluate-bag and mash-demo."""
    lines = []
    snaps, frames = report["snapshots"], report["frames"]
    lines.append(f"snapshots: {snaps['replayed']} of {snaps['in_bag']} replayed, "
                 f"{snaps['scored']} scored against ground truth; drones: "
                 f"{', '.join(report['agents'])}")
    lines.append(f"frames: {frames['expected']} expected, {frames['fused']} with fused output, "
                 f"lost {frames['lost']} (single-agent lost {frames['lost_single']}), "
                 f"duplicates {frames['duplicates']}")
    metrics = report.get("metrics")
    if metrics:
        table = metrics["table1"]
        lines.append("")
        lines.append(f"Table I, target drone, {table['frames']} snapshots   "
                     f"full acc  full mIoU  obstr acc  obstr mIoU")
        for name, label in (("single_agent", "single agent (no peers)"),
                            ("swarm", "swarm (MASH, fused)")):
            row = table[name]
            lines.append(f"  {label:<40}{_pct(row['full']['pixel_accuracy']):>9}"
                         f"{_pct(row['full']['miou']):>10}"
                         f"{_pct(row['obstructed']['pixel_accuracy']):>11}"
                         f"{_pct(row['obstructed']['miou']):>12}")
        gain = {region: table["swarm"][region]["miou"] - table["single_agent"][region]["miou"]
                for region in ("full", "obstructed")}
        lines.append(f"  swarm - single agent: mIoU {gain['full']:+.2f}, obstructed mIoU "
                     f"{gain['obstructed']:+.2f} points")
        every = metrics["all_drones_full"]
        if every.get("swarm"):
            lines.append(f"  every drone, full image mIoU: single "
                         f"{every['single_agent']['miou']:.2f}, swarm {every['swarm']['miou']:.2f}")
    bandwidth = report["bandwidth"]
    raw = bandwidth["raw_image"]
    lines.append("")
    lines.append(f"bandwidth (raw {raw['height']}x{raw['width']} rgb image = "
                 f"{raw['payload_bytes']} B; {bandwidth['target_frames']} target frames)")
    lines.append(f"  {'topic':<36}{'messages':>9}{'B/message':>11}{'B/target frame':>16}"
                 f"{'vs raw image':>14}")
    for topic, row in bandwidth["topics"].items():
        per_frame = row.get("bytes_per_target_frame")
        if per_frame is None:
            topic += " (output)"  # published for users, not exchanged between drones
        lines.append(f"  {topic:<36}{row['messages']:>9}{row['bytes_per_message']:>11.0f}"
                     f"{'' if per_frame is None else f'{per_frame:.0f}':>16}"
                     f"{row['message_vs_raw_image']:>13.1%}")
    exchange = bandwidth.get("exchange_per_target_frame")
    if exchange:
        lines.append(f"  exchange per target frame: {exchange['bytes']:.0f} B = "
                     f"{exchange['vs_raw_image']:.1%} of one raw image, "
                     f"{exchange['vs_raw_images_from_peers']:.1%} of the peers' raw images")
    latency = report.get("latency_ms")
    lines.append("")
    if latency:
        lines.append(f"latency image published -> fused output recorded: mean "
                     f"{latency['mean']:.0f} ms, p50 {latency['p50']:.0f}, p95 "
                     f"{latency['p95']:.0f}, max {latency['max']:.0f} ({latency['count']} frames)")
    else:
        lines.append("latency: unknown (no replay markers in the recording)")
    offline = report.get("offline")
    if offline:
        lines.append(f"offline reference (same frames, same model, no ROS): swarm mIoU "
                     f"{offline['table1']['swarm']['full']['miou']:.2f}, obstructed "
                     f"{offline['table1']['swarm']['obstructed']['miou']:.2f}; single "
                     f"{offline['table1']['single_agent']['full']['miou']:.2f} / "
                     f"{offline['table1']['single_agent']['obstructed']['miou']:.2f}")
    lines.append("")
    if report["complete"]:
        lines.append("COMPLETE: every replayed frame has its outputs")
    else:
        lines.append("INCOMPLETE: " + "; ".join(report["problems"]))
    return "\n".join(lines)


def main(args=None) -> int:
    parser = argparse.ArgumentParser(prog="mash-evaluate-bag",
                                     description=__doc__.split("\n\n")[0].split(": ", 1)[1],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", help="the bag that was replayed (with /mash_gt ground truth)")
    parser.add_argument("recording", help="the recording of the swarm's outputs (mash-record)")
    parser.add_argument("--out", required=True, help="report JSON to write")
    parser.add_argument("--model", default=None,
                        help="also run this checkpoint offline over the same frames")
    add_encoding_arguments(parser, "for --model, as the nodes")
    parser.add_argument("--camera-regex", default=layout.CAMERA_REGEX)
    parser.add_argument("--camera", default=None)
    parser.add_argument("--remap", action="append", default=[], metavar="FROM:=TO",
                        help="the --remap options the bag was replayed with")
    parser.add_argument("--no-ground-truth", action="store_true",
                        help="bags without /mash_gt (e.g. AirSim): bandwidth, latency, lost only")
    parser.add_argument("--montage", default=None, metavar="FILE.png",
                        help="also draw input / single / swarm / ground truth of a few frames")
    parser.add_argument("--quiet", action="store_true", help="no summary on stdout")
    ns = parser.parse_args(args)
    try:
        remap = layout.parse_remaps(ns.remap)
    except ValueError as err:
        parser.error(str(err))
    out = Path(ns.out)
    if out.exists():
        out.unlink()  # never leave an older report that looks like this run's
    from mash_ros.bags.evaluation import evaluate_recording

    try:
        result = evaluate_recording(ns.input, ns.recording, camera_regex=ns.camera_regex,
                                          camera=ns.camera,
                                          ground_truth=not ns.no_ground_truth,
                                          montage=4 if ns.montage else 0,
                                          remap=remap)
        if ns.model:
            from mash_ros.bags.offline import evaluate_offline

            result.report["offline"] = evaluate_offline(
                ns.input, ns.model, query_encoding=ns.query_encoding,
                patch_encoding=ns.patch_encoding, frames=result.scored,
                camera_regex=ns.camera_regex, camera=ns.camera, remap=remap)["metrics"]
    except (BagError, ModelFileError) as err:
        print(f"mash-evaluate-bag: error: {err}", file=sys.stderr)
        return 2
    write_json_atomic(out, result.report)  # a reader never sees half a report
    if ns.montage and result.rows:
        from mash_ros.bags.montage import save_montage

        save_montage(ns.montage, result.rows, "MASH swarm, live run replayed from a bag")
    if not ns.quiet:
        print(format_report(result.report))
    return 0 if result.report["complete"] else INCOMPLETE


if __name__ == "__main__":
    sys.exit(main())
