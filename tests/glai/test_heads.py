"""Heads: lightly layouts, the make_head factory, and a lightly-style SimCLR step through both phases."""

import pytest
import torch
from lightly.loss import NTXentLoss
from lightly.models.modules import BYOLPredictionHead, BYOLProjectionHead, SimCLRProjectionHead

from glai_ssl.glai import (
    GLAI,
    HEAD_STYLES,
    GLAIPredictionHead,
    GLAIProjectionHead,
    HeadSpec,
    StabilityConfig,
    make_head,
)


@pytest.mark.parametrize("style", sorted(HEAD_STYLES))
def test_make_head_budget_equals_lightly_parameter_count(style):
    mlp = make_head("mlp", 32, 64, 16, style=style)
    glai = make_head("glai", 32, 64, 16, style=style)
    assert isinstance(glai, GLAI)
    assert glai.budget == sum(p.numel() for p in mlp.parameters())
    assert glai.spec == HeadSpec.from_module(mlp)
    x = torch.randn(8, 32)
    assert mlp(x).shape == glai(x).shape == (8, 16)


def test_drop_in_heads_match_lightly_layouts():
    assert GLAIProjectionHead(64, 128, 32).spec == HeadSpec.from_module(SimCLRProjectionHead(64, 128, 32))
    byol = GLAIProjectionHead(64, 128, 32, output_batch_norm=False)
    assert byol.spec == HeadSpec.from_module(BYOLProjectionHead(64, 128, 32))
    assert GLAIPredictionHead(32, 128, 32).spec == HeadSpec.from_module(BYOLPredictionHead(32, 128, 32))
    like = GLAI.like(SimCLRProjectionHead(64, 128, 32, num_layers=3))
    assert like.spec.hidden_dims == (128, 128) and like.spec.output_batch_norm


def test_make_head_rejects_unknown_names_and_misplaced_options():
    with pytest.raises(ValueError, match="unknown head kind 'transformer'"):
        make_head("transformer", 8, 8, 8)
    with pytest.raises(ValueError, match="unknown head style 'dino'"):
        make_head("glai", 8, 8, 8, style="dino")
    with pytest.raises(ValueError, match="GLAI options"):
        make_head("mlp", 8, 8, 8, path_scale=0.1)


def test_one_line_swap_in_a_lightly_simclr_step():
    """The user's loop is unchanged: same backbone, loss and optimizer; only the head class differs."""
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 64), torch.nn.ReLU())
    head = GLAIProjectionHead(
        64, 128, 32, stability=StabilityConfig(check_every=4, max_steps=12, probe_size=32)
    )
    criterion = NTXentLoss(temperature=0.5)
    optimizer = torch.optim.Adam(list(backbone.parameters()) + list(head.parameters()), lr=1e-3)
    images = torch.randn(32, 3, 8, 8)
    losses = []
    for _ in range(10):  # two forward calls per step: 20 training calls, freeze at call 12
        view0 = images + 0.1 * torch.randn_like(images)
        view1 = images + 0.1 * torch.randn_like(images)
        loss = criterion(head(backbone(view0)), head(backbone(view1)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert head.phase == 2 and head.switch_step == 12
    assert all(torch.isfinite(torch.tensor(losses)))
    # the switch waited for the optimizer step of step 6 (calls 11 and 12): S never changed after it
    frozen_s = {k: v.clone() for k, v in head.structure.state_dict().items()}
    for _ in range(2):
        loss = criterion(head(backbone(images)), head(backbone(images.flip(-1))))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(torch.equal(v, head.structure.state_dict()[k]) for k, v in frozen_s.items())
    assert backbone[1].weight.grad is not None and backbone[1].weight.grad.abs().sum() > 0
