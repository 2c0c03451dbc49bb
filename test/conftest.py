"""Test session setup: every ROS 2 process of this run stays on loopback, in its own domain."""
import itertools
import os

import pytest

from mash_ros.tools.ros_env import isolate_this_process

# Set once, before any test imports rclpy, so in-process nodes and child processes agree.
isolate_this_process()
_SESSION_DOMAIN = int(os.environ["ROS_DOMAIN_ID"])
_modules = itertools.count()


@pytest.fixture(autouse=True, scope="module")
def own_ros_domain():
    """Each test module on a domain of its own (ids 1..100, from this session's): a node of the
    previous module that is still stopping cannot talk to this one's. Module-scoped and
    autouse, so it is set before the module's other fixtures start nodes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROS_DOMAIN_ID", str(1 + (_SESSION_DOMAIN - 1 + next(_modules)) % 100))
        yield


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The 2 cores are shared: an OpenMP thread spin-waiting for a busy core makes torch tests
    ~6x slower, so every test runs torch single-threaded (restored afterwards)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _varied_checkpoint(path, split):
    """Random weights whose outputs depend on the input (batch-norm statistics measured on the
    split) and whose supporters often win the fusion: enough to tell frames apart."""
    import torch

    from mash_ros.core.checkpoint import save_checkpoint
    from mash_ros.core.config import load_preset
    from mash_ros.core.models import build_model
    from mash_ros.sim.dataset import MashSimDataset

    torch.manual_seed(0)
    cfg = load_preset("cpu", confidence_threshold=0.0)
    model = build_model(cfg, "mash")
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None
            module.reset_running_stats()
    model.train()
    with torch.no_grad():
        for item in MashSimDataset(split, keys=("rgb",)):
            model.backbone(item["rgb"].float() / 255)
        model.self_confidence.beta.fill_(-4.0)
    save_checkpoint(path, model.eval(), cfg, "mash", {"note": "random, calibrated, tests"})
    return path


@pytest.fixture(scope="session")
def varied_checkpoint():
    """Factory: ``varied_checkpoint(path, split_dir) -> path`` of calibrated random weights."""
    return _varied_checkpoint
