"""Every SSL method takes training steps with both heads on synthetic data."""

import pytest
import torch

from glai_ssl.glai import GLAI
from glai_ssl.models import make_backbone
from glai_ssl.ssl.methods import METHODS


@pytest.mark.parametrize("head", ["mlp", "glai"])
@pytest.mark.parametrize("name", sorted(METHODS))
def test_method_trains_a_few_steps(name, head):
    torch.manual_seed(0)
    method = METHODS[name](make_backbone("conv4"), 64, head=head, hidden_dim=64, output_dim=32)
    optimizer = torch.optim.Adam([p for p in method.parameters() if p.requires_grad], lr=1e-3)
    images = torch.rand(16, 1, 28, 28)
    before = [p.detach().clone() for p in method.backbone.parameters()]
    for step in range(3):
        views = [images + 0.05 * torch.randn_like(images), images + 0.05 * torch.randn_like(images)]
        loss, features = method.training_loss(views, step, 3)
        assert torch.isfinite(loss) and features.shape == (16, 64)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        method.after_optimizer_step(step, 3)
    assert any(not torch.equal(a, b) for a, b in zip(before, method.backbone.parameters()))
    heads = method.online_glai_heads()
    assert (len(heads) > 0) == (head == "glai")
    for glai in heads.values():
        glai.freeze_structure()
    method.sync_momentum_phases()
    loss, _ = method.training_loss([images, images.flip(-1)], 3, 4)
    loss.backward()
    assert all(h.path_weight.grad is not None for h in heads.values())


def test_momentum_copy_follows_the_online_glai_head():
    torch.manual_seed(0)
    method = METHODS["byol"](make_backbone("conv4"), 64, head="glai", hidden_dim=64, output_dim=32)
    online, target = method.projection_head, method.projection_head_momentum
    assert isinstance(target, GLAI) and not target.auto_freeze
    online.freeze_structure()
    method.sync_momentum_phases()
    assert target.phase == 2
    torch.testing.assert_close(target.path_weight, online.path_weight)
    assert not any(p.requires_grad for p in target.parameters())


@pytest.mark.parametrize("name", [n for n, cls in sorted(METHODS.items()) if cls.momentum_encoder])
def test_momentum_schedule_sets_the_ema_step(name):
    torch.manual_seed(0)
    method = METHODS[name](make_backbone("conv4"), 64, hidden_dim=64, output_dim=32, momentum=(0.5, 1.0))
    online, target = (
        next(iter(method.backbone.parameters())),
        next(iter(method.backbone_momentum.parameters())),
    )
    with torch.no_grad():
        online.add_(1.0)
    before = target.detach().clone()
    method.after_optimizer_step(0, 10)  # step 0: momentum 0.5, so the target moves half way
    torch.testing.assert_close(target, 0.5 * before + 0.5 * online)
