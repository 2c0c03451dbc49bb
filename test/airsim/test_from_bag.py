"""mash-dataset from-bag on a recording written independently of the project (``synthetic.py``):
poses interpolated from /tf, four-channel and large-finite-sky captures, correspondences against
the analytic truth, the odometry fallback, and one clear error for each kind of bad bag."""
from __future__ import annotations

import numpy as np
import pytest

from mash_ros.airsim.convert import convert
from mash_ros.bags.errors import BagError
from mash_ros.core.classes import SCENE_CLASSES
from mash_ros.sim.format import SimReader
from mash_ros.tools.dataset import main


@pytest.fixture(scope="module")
def converted(synthetic_bag, tmp_path_factory):
    out = tmp_path_factory.mktemp("from_bag")
    return convert(synthetic_bag, out), SimReader(out / "train")


def test_poses_labels_and_rgb_follow_the_recording(converted, synthetic):
    report, reader = converted
    knobs = synthetic.Knobs()
    assert report["drones"] == list(synthetic.VEHICLES)
    assert report["snapshots_written"] == len(reader) == knobs.snapshots
    assert report["max_stamp_spread_ms"] == pytest.approx(7.0)  # +3 ms and -4 ms jitter
    assert report["unknown_color_pixels"] == 0
    assert np.allclose(reader.K, synthetic.K())
    layers = synthetic.scene_layers()
    for k in range(len(reader)):
        a = reader.read(k)
        for v in range(len(synthetic.VEHICLES)):
            stamp = synthetic.image_stamp(k, v, knobs)
            # between two /tf samples 0.2 s apart: interpolated, exact for steady motion
            pose = synthetic.camera_pose_enu(v, stamp)
            assert np.allclose(a["poses"][v], pose, atol=1e-6)
            t, cls, rgb = synthetic.render(pose, layers)
            shape = (synthetic.H, synthetic.W)
            assert np.array_equal(a["rgb"][v], rgb.reshape(*shape, 3))  # bgra8/rgb8/rgba8 in
            assert np.array_equal(a["labels"][v], cls.reshape(shape))
            sky = ~np.isfinite(t.reshape(shape))  # inf, 65504 and 1e7 all read as sky
            assert np.array_equal(~np.isfinite(a["depth"][v].astype(np.float32)), sky)
        assert not a["mask"].any() and a["info"]["obstruction"] == "none"
    assert {SCENE_CLASSES[c] for c in np.unique(reader.read(0)["labels"])} == {
        "sky", "road", "building"}


def test_correspondences_agree_with_the_analytic_truth(converted, synthetic):
    _, reader = converted
    agree = total = matched = 0
    for k in range(len(reader)):
        corr, truth = reader.read(k)["corr"], synthetic.truth_correspondences(k)
        off = ~np.eye(len(corr), dtype=bool)
        agree += int((corr[off] == truth[off]).sum())
        total += truth[off].size
        matched += int((truth[off] < truth.shape[2] * truth.shape[3]).sum())
    assert 0.2 < matched / total < 0.8  # the views overlap partly: the test can fail both ways
    print(f"correspondences agree with the analytic truth on {agree / total:.2%} of {total} "
          f"cells")
    assert agree / total >= 0.98, f"{agree / total:.2%} of {total} cells"


def test_odometry_fallback_without_tf(synthetic, tmp_path):
    knobs = synthetic.Knobs(no_tf=True)
    bag = synthetic.write_bag(tmp_path / "bag", knobs)
    report = convert(bag, tmp_path / "out")
    assert report["pose_source"].startswith("odometry") and report["notes"] == []
    reader = SimReader(tmp_path / "out" / "train")
    pose = synthetic.camera_pose_enu(0, synthetic.image_stamp(1, 0, knobs))
    assert np.allclose(reader.read(1)["poses"][0], pose, atol=1e-6)


def test_odometry_without_camera_mounts_assumes_a_forward_camera(synthetic, tmp_path):
    from mash_ros.sim.frames import NED_TO_ENU

    knobs = synthetic.Knobs(no_tf=True, no_static=True)
    report = convert(synthetic.write_bag(tmp_path / "bag", knobs), tmp_path / "out")
    assert len(report["notes"]) == 3 and "assumed at the body origin" in report["notes"][0]
    position, yaw = synthetic.vehicle_state(0, synthetic.image_stamp(0, 0, knobs))
    pose = SimReader(tmp_path / "out" / "train").read(0)["poses"][0]
    assert np.allclose(pose[:3, 3], NED_TO_ENU @ position)
    forward = NED_TO_ENU @ synthetic.body_rotation(yaw)[:, 0]
    assert np.allclose(pose[:3, 2], forward)  # optical z = the body's x axis


def test_a_drone_without_segmentation_gets_ignore_labels(synthetic, tmp_path):
    bag = synthetic.write_bag(tmp_path / "bag", synthetic.Knobs(without_segmentation="Drone2"))
    report = convert(bag, tmp_path / "out")
    assert report["notes"] == ["Drone2 has no Segmentation: its labels are all 255 (ignored)"]
    labels = SimReader(tmp_path / "out" / "train").read(0)["labels"]
    assert (labels[1] == 255).all() and (labels[0] < 8).all()


@pytest.mark.parametrize("knobs, message", [
    (dict(without_depth="Drone2"), "drone Drone2 has no depth"),
    (dict(info_size=(48, 96)), "intrinsics disagree with the image size"),
    (dict(cropped_at=1), "the image is 48x96, camera_info says 96x96"),
    (dict(stamp_offset_ns={"Drone3": 250_000_000}), "never line up within 20 ms"),
    (dict(tf_end_ns=1_800_000_000 * 10 ** 9 + 600_000_000), "outside its recorded span"),
])
def test_bad_bags_fail_with_one_clear_error(synthetic, tmp_path, capsys, knobs, message):
    bag = synthetic.write_bag(tmp_path / "bag", synthetic.Knobs(**knobs))
    with pytest.raises(BagError, match=message):
        convert(bag, tmp_path / "out")
    assert main(["from-bag", str(bag), "--out", str(tmp_path / "cli"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "cli" / "train" / "meta.json").exists()
    assert not list(tmp_path.glob("cli/train/*.tmp"))


def test_drone_without_pose(synthetic, tmp_path):
    from mash_ros.airsim.recording import RecordingOptions

    bag = synthetic.write_bag(tmp_path / "bag", synthetic.Knobs(without_pose="Drone3"))
    with pytest.raises(BagError, match="no pose for drone Drone3: no transform chain from "
                                       "world_ned to Drone3/front_center_optical"):
        convert(bag, tmp_path / "out")
    good = synthetic.write_bag(tmp_path / "good", synthetic.Knobs())
    with pytest.raises(BagError, match="no pose for drone Drone1: no transform chain from map"):
        convert(good, tmp_path / "out", recording=RecordingOptions(fixed_frame="map"))


def test_cli_with_obstructions(synthetic_bag, tmp_path, capsys):
    assert main(["from-bag", str(synthetic_bag), "--out", str(tmp_path), "--split", "val",
                 "--obstructions", "2", "--seed", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "6 snapshots" in out and "stamp tolerance 20 ms" in out
    reader = SimReader(tmp_path / "val")
    assert len(reader) == 6 and reader.meta["split"] == "val"
    assert {reader.read(k)["info"]["obstruction"] for k in range(6)} != {"none"}
