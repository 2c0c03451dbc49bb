"""Table I as markdown, and the mIoU-against-bandwidth plot."""
from __future__ import annotations

import pathlib

NAMES = {"inpainting": "Inpainting (all views)", "input_stack": "InputStack",
         "output_stack": "OutputStack", "warped_output_stack": "WarpedOutputStack (GT warp)",
         "mash": "MASH"}


def _fmt(value, pattern="{:.2f}") -> str:
    return "–" if value is None else pattern.format(value)


def markdown_table(rows: list[dict], meta: dict) -> str:
    lines = [
        f"{meta.get('split', 'test').capitalize()} split: {meta['test_snapshots']} snapshots; "
        f"MASH over the wire codecs "
        f"({meta['query_encoding']} query, {meta['patch_encoding']} patches).",
        "",
        "| model | Q | K | full acc | full mIoU | obstr. acc | obstr. mIoU | B/target | "
        "B/supporter | target (x) | supporter (y) | compute target | compute supporter |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        seg, bw, cp = row["segmentation"], row["bandwidth"], row["compute"]
        lines.append("| " + " | ".join([
            NAMES.get(row["kind"], row["kind"]), _fmt(row["query_dim"], "{}"),
            _fmt(row["key_dim"], "{}"),
            _fmt(seg["full"]["pixel_accuracy"]), _fmt(seg["full"]["miou"]),
            _fmt(seg["obstructed"]["pixel_accuracy"]), _fmt(seg["obstructed"]["miou"]),
            _fmt(bw.get("target_bytes"), "{:.0f}"), _fmt(bw.get("supporting_bytes"), "{:.0f}"),
            _fmt(bw.get("target_x"), "{:.3f}x"), _fmt(bw.get("supporting_y"), "{:.3f}y"),
            _fmt(cp["target"], "{:.2f}t"), _fmt(cp["supporting"], "{:.2f}t")]) + " |")
    lines += ["", "x = one H×W×3 uint8 image; y = one H×W×C uint8 class-probability map (what "
              "OutputStack sends: 1.00y). t = one SegNet forward of one image "
              f"({rows[0]['compute']['t_ms']:.1f} ms here, 1 thread)."]
    for row in rows:
        if "perfect_infill" in row:
            lines.append(
                f"\n{NAMES[row['kind']]} with its obstructed pixels replaced by the true labels "
                f"(perfect collaboration on top of one view): full mIoU "
                f"{row['perfect_infill']['full']['miou']:.2f}.")
        if row["kind"] == "mash":
            single = row["single_agent"]
            lines.append(
                f"\n{row['model']}: the target alone scores mIoU {single['full']['miou']:.2f} "
                f"(obstructed {single['obstructed']['miou']:.2f}); with a float32 query "
                f"{row['float32_query']['miou']:.2f} "
                f"(obstructed {row['float32_query']['obstructed_miou']:.2f}); fraction of "
                f"cells sent r = {row['bandwidth']['r']:.3f}.")
            if "other_patch_encoding" in row:
                other = row["other_patch_encoding"]
                lines.append(
                    f"With {other['encoding']} patches: mIoU {other['miou']:.2f} (obstructed "
                    f"{other['obstructed_miou']:.2f}), {other['supporting_bytes']:.0f} B per "
                    f"supporter ({other['supporting_y']:.4f}y).")
            if "matching" in row:
                lines.append(_matching_line(row["matching"]))
            if "subcell" in row.get("matching", {}):
                lines.append(_subcell_line(row["matching"]["subcell"]))
            if "gt_local_fit" in row.get("matching", {}):
                fit = row["matching"]["gt_local_fit"]
                lines.append(
                    f"The local fit of the clear cells' true positions places the obstructed "
                    f"ones a median {fit['median_px']:.2f} px from the truth "
                    f"({fit['within_1px']:.1f} % within 1 px, {fit['within_2px']:.1f} % within "
                    f"2 px, {fit['cells']} cells).")
            for name, variant in row.get("ablations", {}).items():
                lines.append(
                    f"Ablation {name} ({variant['snapshots']} snapshots): mIoU "
                    f"{variant['miou']:.2f} (obstructed {variant['obstructed_miou']:.2f}) "
                    f"against the target alone {variant['single_miou']:.2f} "
                    f"({variant['single_obstructed_miou']:.2f}), "
                    f"{variant['supporting_bytes']:.0f} B per supporter.")
            if "without_consensus" in row:
                plain = row["without_consensus"]
                lines.append(
                    f"The same weights without the geometric consensus: mIoU {plain['miou']:.2f} "
                    f"(obstructed {plain['obstructed_miou']:.2f}); warping grid within one cell "
                    f"of the truth on {plain['matching']['clear']['near']:.1f} % of clear and "
                    f"{plain['matching']['obstructed']['near']:.1f} % of obstructed cells.")
        if "pixel_references" in row:
            lines += _references_table(row["pixel_references"])
        if "every_drone" in row:
            lines += _every_drone_table(row["every_drone"])
    return "\n".join(lines) + "\n"


def _every_drone_table(every: dict) -> list[str]:
    """Each drone as the target: the obstructed one and the others, per own-confidence weight."""
    single = every["single"]
    lines = ["", f"Every drone as the target ({every['snapshots']} snapshots; the others' full "
             f"mIoU against their own labels):", "",
             "| own weight | target mIoU | target obstr. mIoU | others mIoU |", "|---|---|---|---|",
             f"| alone | {single['target']['miou']:.2f} | "
             f"{single['target']['obstructed_miou']:.2f} | {single['others']['miou']:.2f} |"]
    for point in every["own_weight_sweep"]:
        lines.append(f"| {point['own_weight']:g} | {point['target']['miou']:.2f} | "
                     f"{point['target']['obstructed_miou']:.2f} | "
                     f"{point['others']['miou']:.2f} |")
    return lines


def _references_table(references: dict) -> list[str]:
    """What perfect matching could give, from every agent's own segmentation (references.py)."""
    lines = ["", f"Per-pixel references on {references['snapshots']} snapshots:", "",
             "| reference | full mIoU | obstr. mIoU | bounds |", "|---|---|---|---|"]
    for name, ref in references.items():
        if isinstance(ref, dict) and "bounds" in ref:
            lines.append(f"| {name} | {ref['full']['miou']:.2f} | "
                         f"{ref['obstructed']['miou']:.2f} | {ref['bounds']} |")
    seen = references.get("visibility")
    if seen:
        lines += ["", f"{seen['seen_percent']:.1f} % of obstructed pixels are seen by a "
                  f"supporter; there the supporters' mean is right on "
                  f"{seen['supporters_right_percent']:.1f} %, the target's own on "
                  f"{seen['target_right_percent']:.1f} %."]
    return lines


def _subcell_line(subcell: dict) -> str:
    def group(g: dict) -> str:
        if not g["cells"]:
            return "no cells"
        return (f"median {g['median_px']:.2f} px, {g['within_1px']:.1f} % within 1 px, "
                f"{g['within_2px']:.1f} % within 2 px ({g['cells']} cells)")

    return (f"Sub-cell positions where the grid is within one cell of the truth: clear cells "
            f"{group(subcell['clear'])}; obstructed cells {group(subcell['obstructed'])}.")


def _matching_line(matching: dict) -> str:
    def group(g: dict) -> str:
        return f"{g['exact']:.1f} % exact, {g['near']:.1f} % within one cell"

    model, reference = matching["model"], matching["gt_homography"]
    return (f"Warping grid on {matching['snapshots']} snapshots: clear cells "
            f"{group(model['clear'])}; obstructed cells {group(model['obstructed'])} "
            f"(one RANSAC homography fitted to the true matches: clear "
            f"{group(reference['clear'])}, obstructed {group(reference['obstructed'])}). "
            f"With the true warping grid, the patch exchange would reach full mIoU "
            f"{matching['gt_warp']['full']['miou']:.2f}, obstructed "
            f"{matching['gt_warp']['obstructed']['miou']:.2f}.")


def bandwidth_plot(rows: list[dict], path: pathlib.Path) -> None:
    """mIoU against bytes per supporting agent: the threshold sweep (and Q if several)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for row in rows:
        if row["kind"] == "mash":
            sweep = row["threshold_sweep"]
            ax.plot([p["supporting_bytes"] for p in sweep], [p["miou"] for p in sweep], "o-",
                    label=f"MASH Q={row['query_dim']} (confidence threshold sweep)")
            for p in sweep:
                ax.annotate(f"{p['threshold']:g}", (p["supporting_bytes"], p["miou"]),
                            fontsize=7, xytext=(3, 3), textcoords="offset points")
        elif row["bandwidth"].get("supporting_bytes"):
            ax.plot(row["bandwidth"]["supporting_bytes"], row["segmentation"]["full"]["miou"],
                    "s", label=NAMES[row["kind"]])
        else:
            ax.axhline(row["segmentation"]["full"]["miou"], ls="--", lw=1,
                       label=NAMES[row["kind"]], color="grey" if row["kind"] == "inpainting"
                       else "black")
    ax.set_xscale("symlog", linthresh=100)
    ax.set_xlabel("bytes per supporting agent per frame")
    ax.set_ylabel("full-image mIoU (%)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
