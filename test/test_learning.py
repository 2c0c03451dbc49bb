"""Training, checkpoints with model cards, and offline evaluation on a tiny rendered split."""
import json

import pytest
import torch

from mash_ros.core.checkpoint import ModelFileError, load_checkpoint, save_checkpoint
from mash_ros.core.config import load_preset
from mash_ros.core.models import build_model
from mash_ros.learning.data import TargetFirstDataset
from mash_ros.learning.evaluation import evaluate_dense, evaluate_distributed
from mash_ros.learning.trainer import TrainSettings, train
from mash_ros.sim.config import SimConfig

TINY = SimConfig(height=64, width=64, agents=3, episode_length=2, blocks=4)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from mash_ros.sim.writer import generate_split

    root = tmp_path_factory.mktemp("learn")
    for split, seed in (("train", 3), ("val", 4), ("test", 5)):
        generate_split(root / split, split, 2, seed=seed, cfg=TINY, progress=False)
    return root


@pytest.fixture(scope="module")
def tiny_cfg():
    return load_preset("cpu", image_height=64, image_width=64, num_agents=3, width=0.125)


def test_target_comes_first(tiny_data):
    from mash_ros.sim.dataset import MashSimDataset

    raw, ordered = MashSimDataset(tiny_data / "train"), TargetFirstDataset(tiny_data / "train")
    for i in range(len(raw)):
        target = int(raw[i]["target"])
        torch.testing.assert_close(ordered[i]["images"][0], raw[i]["rgb"][target].float() / 255)
        assert torch.equal(ordered[i]["labels"], raw[i]["labels"][target])
        assert ordered[i]["corr"].shape == (2, 8, 8)


@pytest.mark.parametrize("kind", ["mash", "inpainting", "warped_output_stack"])
def test_train_writes_a_verified_checkpoint_and_resumes(tmp_path, tiny_data, tiny_cfg, kind):
    torch.set_num_threads(1)
    settings = TrainSettings(kind=kind, train_dir=str(tiny_data / "train"),
                             val_dir=str(tiny_data / "val"), out=str(tmp_path / f"{kind}.pt"),
                             epochs=2, batch_size=2, run_dir=str(tmp_path / "runs"), workers=1,
                             time_budget_s=1e-9)  # stops after epoch 1, as if interrupted
    card = train(settings, tiny_cfg, command="test")
    model, cfg, loaded = load_checkpoint(settings.out, expected_kind=kind)
    assert loaded["sha256"] == card["sha256"] and cfg == tiny_cfg
    assert loaded["training"]["epochs_run"] == 1 and "validation" in loaded
    log = (tmp_path / "runs" / f"{kind}.csv").read_text().splitlines()
    assert log[0].startswith("epoch") and len(log) == 2
    # run again: continues from the saved state instead of starting over
    settings.time_budget_s = 0.0
    assert train(settings, tiny_cfg, command="test")["training"]["epochs_run"] == 2
    assert len((tmp_path / "runs" / f"{kind}.csv").read_text().splitlines()) == 3


def test_corrupt_or_mismatched_weights_fail_clearly(tmp_path, tiny_cfg):
    path = tmp_path / "m.pt"
    save_checkpoint(path, build_model(tiny_cfg, "mash"), tiny_cfg, "mash")
    with pytest.raises(ModelFileError, match="preset"):
        load_checkpoint(path, expected_preset="paper")
    with pytest.raises(ModelFileError, match="expected"):
        load_checkpoint(path, expected_kind="inpainting")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="sha256"):
        load_checkpoint(path)
    card = json.loads(path.with_suffix(".json").read_text())
    card["sha256"] = __import__("hashlib").sha256(path.read_bytes()).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="readable"):
        load_checkpoint(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(ModelFileError, match="card"):
        load_checkpoint(path)


def test_model_cards_are_checked_against_the_schema(tmp_path, tiny_cfg):
    """A card with only a sha256 (it used to end in a KeyError traceback) or with a field of
    the wrong type is one ModelFileError naming the card and every problem."""
    import pathlib

    from mash_ros.core.card_schema import card_problems

    path = tmp_path / "m.pt"
    card = save_checkpoint(path, build_model(tiny_cfg, "mash"), tiny_cfg, "mash")
    assert card_problems(card) == []
    for bundled in pathlib.Path(__file__).parents[1].glob("models/*.json"):
        assert card_problems(json.loads(bundled.read_text())) == [], bundled
    path.with_suffix(".json").write_text(json.dumps({"sha256": card["sha256"]}))
    with pytest.raises(ModelFileError) as err:
        load_checkpoint(path)
    assert str(err.value) == (f"{path.with_suffix('.json')}: not a valid model card: missing "
                              f"format, kind, preset, classes, input_size, config")
    path.with_suffix(".json").write_text(json.dumps({**card, "classes": "road",
                                                     "sha256": "abc"}))
    with pytest.raises(ModelFileError, match="classes must be a list of class names; sha256 "
                                             "must be the weights file's sha256"):
        load_checkpoint(path)
    path.with_suffix(".json").write_text("[1, 2]")
    with pytest.raises(ModelFileError, match="not an object"):
        load_checkpoint(path)


def test_distributed_evaluation_matches_dense_with_exact_codecs(tiny_data, tiny_cfg):
    torch.manual_seed(0)
    model = build_model(tiny_cfg.replace(confidence_threshold=0.0), "mash").eval()
    data = TargetFirstDataset(tiny_data / "val", workers=1)
    dense = evaluate_dense(model, data, "mash").summary()
    run = evaluate_distributed(model, data, "float32", "float16")
    assert run["fused"].full.pixels == dense["full"]["pixels"]
    assert abs(run["fused"].summary()["full"]["pixel_accuracy"]
               - dense["full"]["pixel_accuracy"]) < 0.5
    bw = run["bandwidth"]
    assert bw["query_bytes_per_frame"] == 32 * 8 * 8 * 4
    assert 0 <= bw["r"] <= 1


def test_every_drone_evaluation_scores_the_target_as_table_one_does(tiny_data, tiny_cfg):
    from mash_ros.learning.every_drone import evaluate_every_drone, every_drone_summary

    torch.manual_seed(0)
    model = build_model(tiny_cfg.replace(confidence_threshold=0.0, fusion="soft"), "mash")
    data = TargetFirstDataset(tiny_data / "val", workers=1)
    table = evaluate_distributed(model.eval(), data, "int8", "labels")
    run = evaluate_every_drone(model, data, [1.0, 4.0], "int8", "labels")
    assert model.own_weight == 1.0  # restored
    agents = data[0]["images"].shape[0]
    assert run["single"]["others"].full.pixels == (agents - 1) * run["single"]["target"].full.pixels
    assert run["single"]["target"].summary() == table["single"].summary()
    assert run["fused"][0]["target"].summary() == table["fused"].summary()
    summary = every_drone_summary(run)
    assert [p["own_weight"] for p in summary["own_weight_sweep"]] == [1.0, 4.0]
    assert summary["snapshots"] == len(data)


def test_match_tally_counts_exact_near_and_misses():
    from mash_ros.learning.matching import MatchTally

    tally = MatchTally(4, 4)  # no-match = 16
    truth = torch.tensor([[5, 5, 5, 16]])
    predicted = torch.tensor([[5, 10, 16, 3]])  # exact, 1 cell off diagonally, missed, n/a
    tally.update(predicted, truth, torch.tensor([False, False, True, True]))
    summary = tally.summary()
    assert summary["clear"] == {"cells": 2, "exact": 50.0, "near": 100.0}
    assert summary["obstructed"] == {"cells": 1, "exact": 0.0, "near": 0.0}


def test_gt_homography_reproduces_a_pure_shift():
    from mash_ros.learning.matching import homography_matches

    grid = 8
    ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    shifted = xs + 2  # the supporter sees everything two cells to the right
    truth = torch.where(shifted < grid, ys * grid + shifted, torch.full_like(xs, grid * grid))
    truth = truth.flatten().unsqueeze(0)
    assert torch.equal(homography_matches(truth, grid, grid), truth)


def test_true_local_fit_carries_a_planar_motion_into_the_obstruction():
    from mash_ros.learning.matching import true_local_fit_errors

    grid, patch = 8, 8
    side = grid * patch
    v, u = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    x, y = 0.9 * u + 5.0, v + 0.1 * u  # an affine view of a plane: one homography explains it
    flow = torch.stack([(2 * x + 1) / side - 1, (2 * y + 1) / side - 1], -1).float()
    flow[(x >= side) | (y >= side)] = -2.0  # out of the supporter's view
    obstructed = torch.zeros(grid, grid, dtype=torch.bool)
    obstructed[2:5, 2:5] = True  # the true positions there are never shown to the fit
    errors = true_local_fit_errors(flow.unsqueeze(0), obstructed.flatten(), grid, grid, patch)
    assert errors.numel() == 9
    assert errors.max() < 0.05  # px


def test_gt_warp_fills_only_obstructed_cells_from_the_first_seeing_supporter(tiny_cfg):
    from mash_ros.learning.matching import gt_warp

    cells = tiny_cfg.grid_height * tiny_cfg.grid_width  # 8 x 8
    side = tiny_cfg.image_height
    probs = torch.stack([torch.full((8, side, side), float(a)) for a in range(3)])  # agent a: a
    truth = torch.full((2, cells), cells)  # nobody sees anything ...
    truth[1, 5] = 7  # ... but supporter 2 sees cell 5, and
    truth[0, 6], truth[1, 6] = 3, 4  # both see cell 6: the first one wins
    obstructed = torch.zeros(cells, dtype=torch.bool)
    obstructed[[5, 6, 9]] = True
    fused = gt_warp(probs, truth, obstructed, tiny_cfg)
    per_cell = fused[0].unfold(0, 8, 8).unfold(1, 8, 8).mean((-1, -2)).flatten()
    expected = torch.zeros(cells)
    expected[5], expected[6] = 2.0, 1.0  # cell 9 is obstructed but nobody sees it: own
    torch.testing.assert_close(per_cell, expected)


def test_init_keeps_the_training_history(tmp_path, tiny_cfg):
    from mash_ros.learning.trainer import initialise_from

    path = tmp_path / "stage1.pt"
    save_checkpoint(path, build_model(tiny_cfg, "mash"), tiny_cfg, "mash",
                    {"training": {"command": "stage one"}, "validation": {"full": {"miou": 1.0}}})
    note = initialise_from(build_model(tiny_cfg, "mash"), str(path))
    assert note["previous"]["training"]["command"] == "stage one"
    assert note["new_parameters"] == []


def test_init_restarts_reshaped_modules_with_their_siamese_partners(tmp_path, tiny_cfg):
    from mash_ros.learning.trainer import initialise_from

    plain = tiny_cfg.replace(multiscale_features=False)
    path = tmp_path / "plain.pt"
    old = build_model(plain, "mash")
    save_checkpoint(path, old, plain, "mash", {})
    new = build_model(tiny_cfg.replace(multiscale_features=True), "mash")
    fresh_qk = new.qk_transform.weight.clone()
    note = initialise_from(new, str(path))
    # the encoders see wider features now: they, and the transform initialised with them,
    # start afresh; everything else is the checkpoint's
    assert "query_encoder.net.0.weight" in note["new_parameters"]
    assert "qk_transform.weight" in note["new_parameters"]
    assert torch.equal(new.qk_transform.weight, fresh_qk)
    assert torch.equal(new.smoother.compress.weight, old.smoother.compress.weight)
    assert torch.equal(new.backbone.encoder[0][0][0].weight, old.backbone.encoder[0][0][0].weight)
    # only the backbone, into a baseline
    baseline = build_model(tiny_cfg, "warped_output_stack")
    note = initialise_from(baseline, str(path), modules="backbone")
    assert torch.equal(baseline.backbone.encoder[0][0][0].weight,
                       old.backbone.encoder[0][0][0].weight)
    assert all(k.startswith("head.") for k in note["new_parameters"])


def test_frozen_backbone_keeps_weights_and_statistics(tmp_path, tiny_data, tiny_cfg):
    torch.set_num_threads(1)
    init = tmp_path / "init.pt"
    torch.manual_seed(0)
    save_checkpoint(init, build_model(tiny_cfg, "mash"), tiny_cfg, "mash", {})
    settings = TrainSettings(kind="mash", train_dir=str(tiny_data / "train"),
                             val_dir=str(tiny_data / "val"), out=str(tmp_path / "m.pt"),
                             epochs=1, batch_size=2, run_dir=str(tmp_path / "runs"), workers=1,
                             init=str(init), freeze="backbone")
    train(settings, tiny_cfg, command="test")
    before, _, _ = load_checkpoint(init)
    after, _, _ = load_checkpoint(settings.out)
    old, new = before.state_dict(), after.state_dict()
    backbone = [k for k in old if k.startswith("backbone.")]
    assert backbone and all(torch.equal(old[k], new[k]) for k in backbone)  # BN stats too
    assert not torch.equal(old["smoother.compress.weight"], new["smoother.compress.weight"])


def test_mash_evaluate_writes_table_json_and_plot(tmp_path, tiny_data, tiny_cfg):
    from mash_ros.tools.evaluate import main

    models = tmp_path / "models"
    torch.manual_seed(0)
    for kind in ("mash", "inpainting"):
        save_checkpoint(models / f"{kind}_tiny.pt", build_model(tiny_cfg, kind), tiny_cfg, kind)
    out = tmp_path / "eval"
    assert main(["--data", str(tiny_data), "--models", str(models), "--out", str(out),
                 "--limit", "2", "--thresholds", "0.0", "0.5", "--threads", "1",
                 "--write-cards"]) == 0
    rows = {row["kind"]: row for row in json.loads((out / "results.json").read_text())["rows"]}
    mash = rows["mash"]
    assert [p["threshold"] for p in mash["threshold_sweep"]] == [0.0, 0.5]
    assert mash["other_patch_encoding"]["encoding"] == "top1"  # the default is labels
    matching = mash["matching"]["model"]
    assert matching["clear"]["cells"] + matching["obstructed"]["cells"] > 0
    assert 0 <= matching["clear"]["near"] <= 100
    assert 0 <= mash["matching"]["gt_warp"]["full"]["miou"] <= 100
    assert 0 <= mash["without_consensus"]["matching"]["obstructed"]["near"] <= 100
    sweep = mash["every_drone"]["own_weight_sweep"]
    assert [p["own_weight"] for p in sweep] == ([1.0, 1.5, 2.0, 3.0]
                                               if tiny_cfg.fusion in ("hard", "soft") else [1.0])
    assert 0 <= sweep[0]["others"]["miou"] <= 100
    assert rows["inpainting"]["bandwidth"]["supporting_bytes"] is None
    perfect = rows["inpainting"]["perfect_infill"]
    assert perfect["obstructed"]["miou"] == 100.0
    assert perfect["full"]["miou"] >= rows["inpainting"]["segmentation"]["full"]["miou"]
    table = (out / "results.md").read_text()
    assert "| MASH |" in table and "Warping grid" in table and "top1 patches" in table
    assert "Every drone as the target" in table
    assert (out / "bandwidth.png").stat().st_size > 1000
    _, _, card = load_checkpoint(models / "mash_tiny.pt")  # still verifies
    assert card["evaluation"]["segmentation"] == mash["segmentation"]
    assert card["evaluation"]["command"].startswith("mash-evaluate --data")


def test_configure_changes_inference_settings_and_keeps_the_weights(tmp_path, tiny_cfg):
    from mash_ros.tools.configure import configure, main

    path = tmp_path / "m.pt"
    torch.manual_seed(0)
    model = build_model(tiny_cfg, "mash")
    save_checkpoint(path, model, tiny_cfg, "mash", {"training": {"command": "train it"}})
    other = "hard" if tiny_cfg.fusion == "soft" else "soft"
    card = configure(str(path), str(tmp_path / "other.pt"),
                     {"fusion": other, "verify_own_confidence": 0.7}, note="val")
    loaded, cfg, _ = load_checkpoint(tmp_path / "other.pt")
    assert cfg.fusion == other and cfg.verify_own_confidence == 0.7
    assert loaded.verify_confidence == 0.7
    assert card["training"]["command"] == "train it"
    assert card["inference_settings"][-1]["changed"]["fusion"] == {"from": tiny_cfg.fusion,
                                                                  "to": other}
    again = configure(str(tmp_path / "other.pt"), str(tmp_path / "third.pt"),
                      {"confidence_threshold": 0.5}, note="later")
    assert [r["note"] for r in again["inference_settings"]] == ["val", "later"]  # history kept
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)
    # weights or learned fusion cannot be changed this way: one clear error
    assert main([str(path), "--set", "query_dim=8"]) == 2
    assert main([str(path), "--set", "fusion=stacked"]) == 2
    stacked = tmp_path / "stacked.pt"
    save_checkpoint(stacked, build_model(tiny_cfg.replace(fusion="stacked"), "mash"),
                    tiny_cfg.replace(fusion="stacked"), "mash", {})
    assert main([str(stacked), "--set", "fusion_own_weight=2"]) == 2  # an input of its net
    assert main([str(path), "--set", "fusion=soft", "--set", "fusion_own_weight=2",
                 "--out", str(tmp_path / "own.pt")]) == 0
    assert load_checkpoint(tmp_path / "own.pt")[0].own_weight == 2.0
    assert main([str(path), "--set", "fusion_own_weight=-1"]) == 2  # out of [0, 1000]
