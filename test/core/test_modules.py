"""Shapes of every module for both presets, and gradients reaching every trainable parameter."""
import pytest
import torch
from torch import nn

from mash_ros.core.backbone import SegmentationBackbone, SegNet
from mash_ros.core.config import load_preset
from mash_ros.core.handshake import cost_volume
from mash_ros.core.losses import mash_loss
from mash_ros.core.models import MODEL_KINDS, build_model


def tiny(**kw):
    """64x64 input, 8x8 grid, 3 agents: the fast config most tests use."""
    base = dict(image_height=64, image_width=64, width=0.125, query_dim=8, key_dim=16,
                query_hidden=(16,), key_hidden=(16,), smoother_hidden=16, fusion_hidden=8,
                num_agents=3, confidence_threshold=0.0)
    base.update(kw)
    return load_preset("cpu", **base)


@pytest.fixture(scope="module", params=["cpu", "paper"])
def preset(request):
    torch.manual_seed(0)
    cfg = load_preset(request.param)
    return cfg, build_model(cfg).eval()


def test_segnet_structure():
    net = SegNet(num_classes=8, width=1.0)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 26  # 13 encoder (VGG16) + 13 decoder, the last one -> C classes
    assert [c.out_channels for c in convs[:13]] == [64, 64, 128, 128, 256, 256, 256,
                                                    512, 512, 512, 512, 512, 512]
    assert convs[-1].out_channels == 8
    assert isinstance(net, SegmentationBackbone)
    assert net.feature_channels == 256 and net.feature_stride == 8


def test_module_shapes(preset):
    cfg, model = preset
    c, gh, gw, p = cfg.num_classes, cfg.grid_height, cfg.grid_width, cfg.patch_size
    fch = model.backbone.feature_channels
    # backbone is size-agnostic: the paper-width net runs on a small image to stay cheap
    side = cfg.image_height if cfg.name == "cpu" else 64
    with torch.no_grad():
        f, logits = model.backbone(torch.rand(1, 3, side, side))
        assert f.shape == (1, fch, side // 8, side // 8)
        assert logits.shape == (1, c, side, side)
        feats = torch.randn(2, fch, gh, gw)
        q = model.query_encoder(feats)
        k = model.key_encoder(feats)
        assert q.shape == (2, cfg.query_dim, gh, gw) and k.shape == (2, cfg.key_dim, gh, gw)
        pq = model.qk_transform(q)
        assert pq.shape == k.shape
        vol = cost_volume(pq, k)
        assert vol.shape == (2, gh * gw + 1, gh, gw)
        smooth = model.smoother(vol)
        assert smooth.shape == vol.shape
        # roles at full preset resolution, without the backbone
        probs = torch.softmax(torch.randn(c, cfg.image_height, cfg.image_width), 0)
        ids, patches, conf, src = model.respond_role()(q[0], k[1], probs, 0.0, 0)
        n = ids.numel()
        assert patches.shape == (n, c, p, p) and conf.shape == (n,) and src.shape == (n,)
        own = torch.softmax(torch.randn(c, cfg.image_height, cfg.image_width), 0)
        fused = model.fuse_role()(own,
                                  torch.rand(gh, gw), [ids], [patches], [conf])
        assert fused.shape == (c, cfg.image_height, cfg.image_width)
        assert torch.allclose(fused.sum(0), torch.ones(cfg.image_height, cfg.image_width),
                              atol=1e-5)


def test_cpu_preset_full_forward():
    cfg = load_preset("cpu")
    model = build_model(cfg).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 2, 3, cfg.image_height, cfg.image_width))
    v = cfg.num_cells + 1
    assert out["probs"].shape == (1, cfg.num_classes, 128, 128)
    assert out["corr_logits"].shape == (1, 1, v, 16, 16)
    assert out["agent_logits"].shape == (1, 2, cfg.num_classes, 128, 128)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_baseline_shapes(kind):
    cfg = tiny()
    model = build_model(cfg, kind).eval()
    gt = torch.randint(0, cfg.num_cells + 1, (2, 2, 8, 8))
    with torch.no_grad():
        out = model(torch.rand(2, 3, 3, 64, 64), target=1, gt_corr=gt)
    assert out["probs"].shape == (2, cfg.num_classes, 64, 64)
    assert torch.allclose(out["probs"].sum(1), torch.ones(2, 64, 64), atol=1e-5)
    assert torch.allclose(out["log_probs"].exp(), out["probs"], atol=1e-5)


def force_sending(model):
    """Test-only: at random init no-match wins almost everywhere, so nothing would be sent and
    the fusion path would get no gradient. Push the no-match logit down so cells get sent."""
    with torch.no_grad():
        model.smoother.expand.bias[-1] = -30.0


@pytest.mark.parametrize("kind,fusion", [("mash", "hard"), ("mash", "soft"),
                                         ("mash", "stacked")]
                         + [(k, "hard") for k in MODEL_KINDS if k != "mash"])
def test_gradients_reach_every_parameter(kind, fusion):
    torch.manual_seed(0)
    cfg = tiny(fusion=fusion)
    model = build_model(cfg, kind).train()
    if kind == "mash":
        force_sending(model)
    images = torch.rand(2, 3, 3, 64, 64)
    labels = torch.randint(0, cfg.num_classes, (2, 64, 64))
    gt = torch.randint(0, cfg.num_cells + 1, (2, 2, 8, 8))
    out = model(images, target=0, gt_corr=gt)
    if kind == "mash":
        assert out["send_mask"].any()
    flow = torch.rand(2, 2, 64, 64, 2) * 2 - 1
    losses = mash_loss(out, labels, gt, aux_labels=torch.randint(0, 8, (2, 3, 64, 64)),
                       aux_weight=0.5, flow_gt=flow, flow_weight=cfg.flow_loss_weight,
                       confidence_weight=cfg.confidence_loss_weight)
    assert set(losses) >= {"loss", "seg"} and (
        kind != "mash" or {"corr", "aux", "flow", "conf"} <= set(losses))
    losses["loss"].backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, f"{name} got no gradient"
        assert param.grad.abs().sum() > 0, f"{name} has an all-zero gradient"


class TinyBackbone(SegmentationBackbone):
    """Any segmentation net with a stride-8 feature map plugs into MASH."""

    def __init__(self, num_classes):
        super().__init__()
        self.num_classes, self.feature_channels, self.feature_stride = num_classes, 12, 8
        self.down = nn.Conv2d(3, 12, 8, stride=8)
        self.head = nn.Conv2d(12, num_classes, 1)

    def forward(self, image):
        f = self.down(image)
        return f, nn.functional.interpolate(self.head(f), scale_factor=8.0)


def test_other_backbone_plugs_in():
    from mash_ros.core.handshake import build_key_encoder, build_query_encoder
    from mash_ros.core.mash import build_mash

    cfg = tiny()
    reference = build_mash(cfg)
    backbone = TinyBackbone(cfg.num_classes)
    model = type(reference)(backbone, build_query_encoder(cfg, 12), build_key_encoder(cfg, 12),
                            reference.qk_transform, reference.smoother, reference.fusion,
                            cfg.num_classes, cfg.patch_size).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 3, 64, 64))
        state = model.encode(torch.rand(1, 3, 64, 64))
        fused = model.fuse(state, [model.respond(state.query[0], state)])
    assert out["probs"].shape == (1, 8, 64, 64) and fused.shape == (8, 64, 64)


@pytest.mark.parametrize("preset", ["cpu", "paper"])
def test_baselines_build_for_presets(preset):
    cfg = load_preset(preset)
    n, c = cfg.num_agents, cfg.num_classes
    first_conv = {k: next(m for m in build_model(cfg, k).modules() if isinstance(m, nn.Conv2d))
                  for k in ("input_stack", "output_stack", "warped_output_stack")}
    assert first_conv["input_stack"].in_channels == 3 * n
    heads = {k: build_model(cfg, k).head.net[0].in_channels
             for k in ("output_stack", "warped_output_stack")}
    assert heads == {"output_stack": n * c, "warped_output_stack": n * c + n - 1}
    if preset == "cpu":  # full-size forward with the preset's 6 agents is cheap here
        gt = torch.randint(-1, cfg.num_cells + 1, (1, n - 1, cfg.grid_height, cfg.grid_width))
        for kind in MODEL_KINDS:
            with torch.no_grad():
                out = build_model(cfg, kind).eval()(torch.rand(1, n, 3, 128, 128), gt_corr=gt)
            assert out["probs"].shape == (1, c, 128, 128)


def test_single_agent_snapshot_is_single_agent_output():
    model = build_model(tiny()).eval()
    images = torch.rand(2, 1, 3, 64, 64)
    with torch.no_grad():
        out = model(images)
        state = model.encode(images[:, 0])
    assert out["corr_logits"].shape[1] == 0
    assert torch.equal(out["probs"], state.probs)


def test_correspondence_loss_ignores_unknown():
    from mash_ros.core.losses import correspondence_loss

    logits = torch.randn(1, 2, 65, 8, 8)
    gt = torch.randint(0, 65, (1, 2, 8, 8))
    full = correspondence_loss(logits, gt)
    gt_masked = gt.clone()
    gt_masked[0, 1] = -1
    assert torch.isclose(correspondence_loss(logits, gt_masked),
                         correspondence_loss(logits[:, :1], gt[:, :1]))
    assert torch.isclose(full, nn.functional.cross_entropy(logits[0], gt[0]))


def test_core_never_imports_ros():
    import os
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[2]
    code = ("import sys, mash_ros.core.models, mash_ros.core.losses, mash_ros.core.config\n"
            "ros = ('rclpy', 'rosidl_runtime_py')\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ros]")
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
