"""A PNG of a few snapshots: the target's input, the drone alone, the swarm, the ground truth."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mash_ros.core.classes import ALL_CLASSES, PALETTE

_COLORS = np.array(PALETTE, dtype=np.uint8)


def _accuracy(prediction, labels, mask) -> str:
    if prediction is None or not mask.any():
        return ""
    return f" · {100 * (prediction[mask] == labels[mask]).mean():.0f}% in obstruction"


def save_montage(path: str | Path, rows: list[dict], title: str = "") -> Path:
    """rows: {"stamp", "time_s" (into the bag), "target", "image" RGB uint8 [H,W,3], "single",
    "fused", "labels" uint8 [H,W] (prediction None = no output), "mask" bool [H,W]}. The
    obstruction is outlined in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    columns = ("input (target camera)", "single agent", "swarm (fused)", "ground truth")
    fig, axes = plt.subplots(len(rows), 4, figsize=(10, 2.6 * len(rows) + 0.9), squeeze=False)
    for r, row in enumerate(rows):
        panels = [row["image"], row["single"], row["fused"], row["labels"]]
        notes = ["", _accuracy(row["single"], row["labels"], row["mask"]),
                 _accuracy(row["fused"], row["labels"], row["mask"]), ""]
        for c, (panel, note) in enumerate(zip(panels, notes)):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if panel is None:
                ax.text(0.5, 0.5, "no output", ha="center", va="center", transform=ax.transAxes)
            else:
                ax.imshow(panel if panel.ndim == 3 else _COLORS[panel], interpolation="nearest")
                ax.contour(row["mask"], levels=[0.5], colors="red", linewidths=0.8)
            ax.set_title((columns[c] + "\n" if r == 0 else "") + note.strip(" ·"), fontsize=8)
        axes[r, 0].set_ylabel(f"{row['target']}, t = {row.get('time_s', 0.0):.1f} s",
                              fontsize=8)
    handles = [Patch(color=np.array(color) / 255, label=name)
               for name, color in zip(ALL_CLASSES[:-1], PALETTE)]
    handles.append(Patch(edgecolor="red", facecolor="none", label="obstruction"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
