"""mash-dataset compare: a split against itself, and against its conversion from the bag."""
from __future__ import annotations

import json

from mash_ros.airsim.compare import compare_splits
from mash_ros.airsim.convert import convert
from mash_ros.tools.dataset import main


def test_compare_counts_what_differs(sim_split_and_bag, tmp_path, capsys):
    split, bag = sim_split_and_bag
    same = compare_splits(split, split)
    assert same["correspondence_agreement"] == 1.0 and same["max_pose_error"] == 0.0
    assert set(same["identical"].values()) == {same["snapshots"]} == {3}
    convert(bag, tmp_path)
    assert main(["compare", str(split), str(tmp_path / "train"), "--limit", "2",
                 "--json", str(tmp_path / "c.json")]) == 0
    result = json.loads((tmp_path / "c.json").read_text())
    assert result["snapshots"] == 2 and result["identical"]["rgb"] == 2
    assert 0.98 < result["correspondence_agreement"] < 1.0  # see test_roundtrip
    assert 0 < result["max_pose_error"] < 1e-6
    assert "correspondences agree on" in capsys.readouterr().out
