"""Snapshot grouping by stamp, and the segmentation colour table."""
from __future__ import annotations

import numpy as np
import pytest

from mash_ros.airsim.classes import IGNORE, load_class_colors
from mash_ros.airsim.sync import group_stamps
from mash_ros.bags.errors import BagError
from mash_ros.core.classes import ALL_CLASSES

MS = 1_000_000


def test_groups_one_stamp_per_drone_within_the_tolerance():
    stamps = {"a": [0, 100 * MS, 200 * MS], "b": [5 * MS, 97 * MS, 260 * MS],
              "c": [-3 * MS, 102 * MS, 201 * MS, 205 * MS]}
    g = group_stamps(stamps, 20 * MS)
    assert g.snapshots == [{"c": -3 * MS, "a": 0, "b": 5 * MS},
                           {"b": 97 * MS, "a": 100 * MS, "c": 102 * MS}]
    assert g.max_spread_ns == 8 * MS
    assert g.incomplete == 3  # {a, c} at 200 ms, {c} at 205 ms, {b} at 260 ms


def test_stamps_that_never_line_up_say_how_close_they_came():
    with pytest.raises(BagError, match=r"never line up within 20 ms \(closest: 50.0 ms\)"):
        group_stamps({"a": [0, 100 * MS], "b": [50 * MS, 150 * MS]}, 20 * MS)


def test_default_table_maps_airsim_colours_and_counts_unknown_ones():
    colors = load_class_colors()
    palette = colors.palette()
    assert palette.shape == (len(ALL_CLASSES), 3) and len({tuple(c) for c in palette}) == 9
    img = np.zeros((4, 5, 3), np.uint8)
    img[0] = palette[1]
    img[1] = palette[3]
    img[2] = (55, 181, 57)  # AirSim's colour of object id 0: not a class of ours
    img[3] = palette[8]
    labels, unknown = colors.labels(img)
    assert labels.tolist() == [[1] * 5, [3] * 5, [IGNORE] * 5, [8] * 5]
    assert unknown == {(55, 181, 57): 5}


@pytest.mark.parametrize("text, message", [
    ("colors: [{rgb: [1, 2, 3], class: tree}]", "unknown class"),
    ("colors: [{rgb: [1, 2, 300], class: sky}]", "three values 0..255"),
    ("colors: [{rgb: [1, 2, 3], class: sky}, {rgb: [1, 2, 3], class: road}]", "listed twice"),
    ("nothing: here", "not a class-colour table"),
])
def test_bad_tables_are_one_clear_error(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(BagError, match=message):
        load_class_colors(path)
