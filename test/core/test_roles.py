"""Per-role API (encode -> respond -> fuse, one agent at a time) == centralized batched model."""
import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mash_ros.core.config import load_preset
from mash_ros.core.models import build_model
from mash_ros.core.roles import AgentState, Response, preprocess

B, N, SIDE = 2, 3, 64


def tiny(**kw):
    base = dict(image_height=SIDE, image_width=SIDE, width=0.125, query_dim=8, key_dim=16,
                query_hidden=(16,), key_hidden=(16,), smoother_hidden=16, fusion_hidden=8,
                num_agents=N, confidence_threshold=0.0, verify_own_confidence=0.0)
    base.update(kw)
    return load_preset("cpu", **base)


def overlapping_views():
    """[B,N,3,64,64]: three crops of one blocky scene, offsets are whole cells."""
    g = torch.Generator().manual_seed(0)
    scene = F.interpolate(torch.rand(B, 3, 12, 12, generator=g), scale_factor=8, mode="nearest")
    return torch.stack([scene[:, :, 0:64, 0:64], scene[:, :, 8:72, 16:80],
                        scene[:, :, 24:88, 0:64]], dim=1)


def calibrated_model(cfg, images):
    """A random-init model whose matching is non-trivial: BN statistics taken from the images
    (so features vary between cells) and sharper keys, so that some cells are sent, some not,
    and confidences are spread (threshold, budget and hard selection all bite)."""
    torch.manual_seed(0)
    model = build_model(cfg)
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.momentum = None  # cumulative average over the calibration pass
    with torch.no_grad():
        model.train()
        model(images)
        model.eval()
        model.qk_transform.weight.mul_(4.0)
        model.key_encoder.net[-1].weight.mul_(4.0)
    return model


def per_role(model, images, b, target):
    """The distributed pipeline for snapshot b: every agent encodes its own image alone."""
    states = [model.encode(images[b, a:a + 1]) for a in range(images.shape[1])]
    query = states[target].query[0]  # [Q,Ht,Wt], what crosses the wire
    responses = [model.respond(query, states[s]) for s in range(images.shape[1]) if s != target]
    return model.fuse(states[target], responses), responses


SETTINGS = [dict(threshold=0.0, budget=0), dict(threshold=0.06, budget=0),
            dict(threshold=0.0, budget=10)]


@pytest.mark.parametrize("fusion", ["hard", "soft", "stacked"])
@pytest.mark.parametrize("setting", SETTINGS, ids=["all", "threshold", "budget"])
def test_role_api_equals_centralized(fusion, setting):
    images = overlapping_views()
    model = calibrated_model(tiny(fusion=fusion), images)
    model.confidence_threshold = setting["threshold"]
    model.cell_budget = setting["budget"]
    for target in (0, 2):
        with torch.no_grad():
            out = model(images, target=target)
            sent = out["send_mask"]
            assert sent.sum() > 0
            if setting["threshold"] or setting["budget"]:
                assert sent.sum() < sent.numel()  # the selection bites
            for b in range(B):
                fused, responses = per_role(model, images, b, target)
                assert fused.shape == (8, SIDE, SIDE)
                # 1e-5 with whole-cell patches; sampling the supporter's view at sub-cell
                # positions carries the batched/unbatched conv rounding (~1e-5 in keys and
                # probabilities) through the sampled field's gradient: measured up to 9e-5;
                # the local fit (localfit.py) pools every neighbour's position into each cell's
                # and so spreads that rounding over the view: measured up to 3.8e-4
                assert torch.allclose(fused, out["probs"][b], atol=6e-4)
                for slot, r in enumerate(responses):
                    ids = torch.nonzero(sent[b, slot].reshape(-1)).reshape(-1)
                    assert torch.equal(r.cell_ids, ids)
                    assert torch.equal(r.source_cells, out["match"][b, slot].reshape(-1)[ids])
                    # 1e-6 with stride-8 features alone; the multiscale features' wider convs
                    # round differently batched and one image at a time (measured 3e-5)
                    assert torch.allclose(r.confidence,
                                          out["confidence"][b, slot].reshape(-1)[ids], atol=1e-4)
                    if setting["budget"]:
                        assert r.num_cells <= setting["budget"]
                    assert (r.confidence >= setting["threshold"]).all()


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("fusion", ["hard", "soft", "stacked"])
def test_scripted_roles_match_eager(fusion):
    images = overlapping_views()
    model = calibrated_model(tiny(fusion=fusion), images)
    enc, resp, fuse = model.encode_role(), model.respond_role(), model.fuse_role()
    s_enc, s_resp, s_fuse = (torch.jit.script(m) for m in (enc, resp, fuse))
    with torch.no_grad():
        x = images[0, :1]
        for a, b in zip(enc(x), s_enc(x)):
            assert torch.allclose(a, b, atol=1e-6)
        t = model.encode(images[0, 0:1])
        s = model.encode(images[0, 1:2])
        args = (t.query[0], s.key[0], s.probs[0], 0.0, 0)
        eager, scripted = resp(*args), s_resp(*args)
        assert eager[0].numel() > 0
        for a, b in zip(eager, scripted):
            assert torch.allclose(a.float(), b.float(), atol=1e-6)
        for k in (0, 1):  # zero and one response
            lists = ([eager[0]] * k, [eager[1]] * k, [eager[2]] * k)
            a = fuse(t.probs[0], t.self_confidence[0], *lists)
            b = s_fuse(t.probs[0], t.self_confidence[0], *lists)
            assert torch.allclose(a, b, atol=1e-6)


def fake_state(c=8, side=16, own_conf=0.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(1, c, side, side, generator=g)
    z = torch.zeros(1, 1, side // 8, side // 8)
    return AgentState(z, z, z, logits, torch.softmax(logits, 1),
                      torch.full((1, side // 8, side // 8), own_conf))


def fake_response(cells, confs, c=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    patches = torch.softmax(torch.randn(len(cells), c, 8, 8, generator=g), 1)
    return Response(torch.tensor(cells), patches, torch.tensor(confs), torch.tensor(cells), (2, 2))


def cell(x, i):
    """Pixels of cell i of a 2x2 grid: x [C,16,16] -> [C,8,8]."""
    y, xx = divmod(i, 2)
    return x[:, y * 8:y * 8 + 8, xx * 8:xx * 8 + 8]


@pytest.mark.parametrize("fusion", ["hard", "soft", "stacked"])
def test_zero_responses_equal_single_agent(fusion):
    model = build_model(tiny(fusion=fusion)).eval()
    with torch.no_grad():
        state = model.encode(torch.rand(1, 3, SIDE, SIDE))
        assert torch.equal(model.fuse(state, []), state.probs[0])


@pytest.mark.parametrize("fusion", ["hard", "soft", "stacked"])
def test_unsent_cells_contribute_nothing(fusion):
    model = build_model(tiny(fusion=fusion)).eval()
    state = fake_state()
    with torch.no_grad():
        fused = model.fuse(state, [fake_response([1], [0.9]), fake_response([1, 2], [0.3, 0.8])])
    assert torch.allclose(fused.sum(0), torch.ones(16, 16), atol=1e-5)
    assert torch.equal(cell(fused, 0), cell(state.probs[0], 0))
    assert torch.equal(cell(fused, 3), cell(state.probs[0], 3))
    assert not torch.allclose(cell(fused, 1), cell(state.probs[0], 1))


def test_hard_selection_picks_most_confident():
    model = build_model(tiny(fusion="hard")).eval()
    state = fake_state(own_conf=0.5)
    r1, r2 = fake_response([0, 1, 2], [0.9, 0.2, 0.6], seed=1), fake_response([2], [0.7], seed=2)
    with torch.no_grad():
        fused = model.fuse(state, [r1, r2])
    assert torch.equal(cell(fused, 0), r1.patches[0])  # 0.9 > own 0.5
    assert torch.equal(cell(fused, 1), cell(state.probs[0], 1))  # 0.2 < own 0.5
    assert torch.equal(cell(fused, 2), r2.patches[0])  # 0.7 beats 0.6 and own


def test_soft_selection_weights_by_confidence():
    model = build_model(tiny(fusion="soft")).eval()
    state = fake_state(own_conf=0.5)
    r1, r2 = fake_response([0], [0.9], seed=1), fake_response([0], [0.3], seed=2)
    with torch.no_grad():
        fused = model.fuse(state, [r1, r2])
    expected = (0.5 * cell(state.probs[0], 0) + 0.9 * r1.patches[0] + 0.3 * r2.patches[0]) / 1.7
    assert torch.allclose(cell(fused, 0), expected, atol=1e-6)


def test_stacked_fusion_ignores_response_order():
    model = build_model(tiny(fusion="stacked")).eval()
    state = fake_state()
    r1, r2 = fake_response([0, 1], [0.9, 0.4], seed=1), fake_response([1, 3], [0.6, 0.7], seed=2)
    with torch.no_grad():
        a, b = model.fuse(state, [r1, r2]), model.fuse(state, [r2, r1])
    assert torch.allclose(a, b, atol=1e-6)


def test_self_confidence_is_no_match_probability_at_init():
    model = build_model(tiny()).eval()
    with torch.no_grad():
        state = model.encode(torch.rand(1, 3, SIDE, SIDE))
        p = model.qk_transform(state.query)
        expected = torch.sigmoid(-p.norm(dim=1))  # e^D / (e^D + e^0), D = -||p||
    assert torch.allclose(state.self_confidence, expected, atol=1e-5)


def test_preprocess():
    rgb = (torch.rand(48, 80, 3) * 255).to(torch.uint8).numpy()
    x = preprocess(rgb)
    assert x.shape == (1, 3, 48, 80) and x.dtype == torch.float32 and 0 <= x.min() <= x.max() <= 1
    assert preprocess(rgb, size=(64, 64)).shape == (1, 3, 64, 64)
    with pytest.raises(ValueError):
        preprocess(rgb[..., 0])
    state_b = build_model(tiny()).eval().encode(torch.rand(3, 3, SIDE, SIDE))
    assert state_b.agent(1).key.shape[0] == 1


def test_exported_roles_match_eager():
    """torch.export (the successor of TorchScript) of the two heavy roles."""
    images = overlapping_views()
    model = calibrated_model(tiny(), images)
    enc, resp = model.encode_role(), model.respond_role()
    x = images[0, :1]
    with torch.no_grad():
        exported = torch.export.export(enc, (x,)).module()
        for a, b in zip(enc(x), exported(x)):
            assert torch.allclose(a, b, atol=1e-6)
        t, s = model.encode(images[0, 0:1]), model.encode(images[0, 1:2])
        args = (t.query[0], s.key[0], s.probs[0], 0.0, 0)
        exported = torch.export.export(resp, args).module()
        eager = resp(*args)
        assert eager[0].numel() > 0
        for a, b in zip(eager, exported(*args)):
            assert torch.allclose(a.float(), b.float(), atol=1e-6)


def test_half_precision_wire_tensors_are_accepted():
    """Codecs may hand over float16 queries/patches: the roles cast them, results stay close."""
    images = overlapping_views()
    model = calibrated_model(tiny(), images)
    with torch.no_grad():
        t, s = model.encode(images[0, 0:1]), model.encode(images[0, 1:2])
        exact = model.respond(t.query[0], s)
        half = model.respond(t.query[0].half(), s)
        assert torch.equal(exact.cell_ids, half.cell_ids) or abs(
            exact.num_cells - half.num_cells) <= 2
        r16 = Response(exact.cell_ids, exact.patches.half(), exact.confidence.half(),
                       exact.source_cells, exact.grid_size)
        assert torch.allclose(model.fuse(t, [r16]), model.fuse(t, [exact]), atol=2e-3)


@pytest.mark.parametrize("fusion, own_weight", [("soft", 1.0), ("soft", 3.0), ("hard", 3.0)])
def test_role_api_equals_centralized_with_answer_verification(fusion, own_weight):
    images = overlapping_views()
    model = calibrated_model(tiny(fusion=fusion, verify_own_confidence=0.3,
                                  fusion_own_weight=own_weight), images)
    assert model.verify_confidence == 0.3 and model.own_weight == own_weight
    with torch.no_grad():
        out = model(images, target=1)
        for b in range(B):
            fused, _ = per_role(model, images, b, 1)
            torch.testing.assert_close(fused, out["probs"][b], atol=2e-4, rtol=0)


def test_own_weight_k_equals_every_answer_confidence_divided_by_k():
    """SoftSelection: the own confidence counted k times = each answer's confidence / k."""
    images = overlapping_views()
    model = calibrated_model(tiny(fusion_own_weight=3.0, verify_own_confidence=0.3), images)
    with torch.no_grad():
        for b in range(B):
            fused, responses = per_role(model, images, b, 1)
            model.own_weight = 1.0
            thirds = [dataclasses.replace(r, confidence=r.confidence / 3.0) for r in responses]
            torch.testing.assert_close(model.fuse(model.encode(images[b, 1:2]), thirds), fused,
                                       atol=1e-6, rtol=0)
            model.own_weight = 3.0
