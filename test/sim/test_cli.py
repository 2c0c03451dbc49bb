"""mash-sim CLI: generate (with --to-bag), preview, stats, export-bag."""
from __future__ import annotations

import json

import cv2

from mash_ros.tools.sim import main


def test_generate_preview_stats_bag(tmp_path, capsys):
    out = tmp_path / "gen"
    assert main(["generate", "--out", str(out), "--split", "val", "--count", "2", "--size", "32",
                 "--agents", "2", "--episode-length", "2", "--seed", "1", "--quiet",
                 "--to-bag"]) == 0
    meta = json.loads((out / "val" / "meta.json").read_text())
    assert (meta["height"], meta["agents"], meta["count"], meta["split"]) == (32, 2, 2, "val")
    assert (out / "val_bag" / "metadata.yaml").exists()
    png = tmp_path / "p.png"
    assert main(["preview", str(out / "val"), "--out", str(png), "--index", "0", "1"]) == 0
    img = cv2.imread(str(png))
    assert img is not None and img.shape[1] == 2 * 32 * 2
    stats_json = tmp_path / "s.json"
    assert main(["stats", str(out / "val"), "--quiet", "--json", str(stats_json)]) == 0
    s = json.loads(stats_json.read_text())
    assert s["snapshots"] == 2 and 0.0 <= s["overlap_mean"] <= 1.0
    assert "pairwise overlap" in capsys.readouterr().out
    bag = tmp_path / "b"
    assert main(["export-bag", str(out / "val"), "--out", str(bag), "--storage", "sqlite3",
                 "--quiet"]) == 0
    assert (bag / "metadata.yaml").exists()
