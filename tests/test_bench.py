import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import common
from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import bench  # noqa: E402


@pytest.mark.parametrize("hidden", [(128, 64), (512, 256)])
def test_the_limit_counts_the_flops_torch_counts(hidden):
    """bench's FLOP formula against torch's own counter, on one training step and one evaluation pass."""
    model = common.make_model(common.Config(hidden=hidden))
    x, y = torch.rand(32, 784), torch.randint(0, 10, (32,))
    with FlopCounterMode(display=False) as step:
        F.cross_entropy(model(x), y).backward()
    with FlopCounterMode(display=False) as forward, torch.no_grad():
        model(x)
    counted = step.get_total_flops() * 60_000 / 32 + forward.get_total_flops() * 70_000 / 32
    assert bench.epoch_flops(hidden) == pytest.approx(counted, rel=1e-9)
