"""MashConfig presets: loaded from config/presets.yaml, typed, validated."""
import pytest

from mash_ros.core.classes import NUM_CLASSES
from mash_ros.core.config import MashConfig, load_preset, presets_path


def test_presets_file_is_found_in_source_tree():
    assert presets_path().name == "presets.yaml"
    assert presets_path().parent.name == "config"


@pytest.mark.parametrize("name,size,grid,width,q,k", [
    ("cpu", 128, 16, 0.25, 32, 32),
    ("paper", 256, 32, 1.0, 64, 64),
])
def test_presets(name, size, grid, width, q, k):
    cfg = load_preset(name)
    assert cfg.name == name
    assert (cfg.image_height, cfg.image_width) == (size, size)
    assert (cfg.grid_height, cfg.grid_width) == (grid, grid)
    assert cfg.patch_size == 8 and cfg.num_cells == grid * grid
    assert cfg.width == width and (cfg.query_dim, cfg.key_dim) == (q, k)
    assert cfg.num_classes == NUM_CLASSES  # from classes.py, never from the yaml
    assert cfg.fusion in ("hard", "soft", "stacked")
    assert isinstance(cfg.query_hidden, tuple)
    hash(cfg)  # frozen, hashable


def test_overrides_and_replace():
    cfg = load_preset("cpu", fusion="soft", cell_budget=10)
    assert cfg.fusion == "soft" and cfg.cell_budget == 10
    assert cfg.replace(confidence_threshold=0.5).confidence_threshold == 0.5
    assert MashConfig(**{k: v for k, v in cfg.to_dict().items()}) == cfg


@pytest.mark.parametrize("bad", [
    dict(image_height=100), dict(fusion="mean"), dict(query_dim=64, key_dim=32),
    dict(cell_budget=-1), dict(backbone="unet"),
])
def test_validation(bad):
    with pytest.raises(ValueError):
        load_preset("cpu", **bad)


def test_unknown_preset_and_keys(tmp_path):
    with pytest.raises(KeyError):
        load_preset("gpu")
    bad = tmp_path / "p.yaml"
    bad.write_text("x:\n  image_height: 64\n  image_width: 64\n  colour: red\n")
    with pytest.raises(KeyError):
        load_preset("x", path=bad)
    good = tmp_path / "q.yaml"
    good.write_text("x:\n  image_height: 64\n  image_width: 96\n")
    assert load_preset("x", path=good).grid_width == 12
