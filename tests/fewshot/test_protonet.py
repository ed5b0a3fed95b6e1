"""ProtoNet: prototypes and distances on known numbers, heads none / mlp / glai, blocked evaluation, the
confidence interval."""

import math

import pytest
import torch

from glai_ssl.fewshot import (
    EpisodeSampler,
    EpisodeSpec,
    HeadConfig,
    ProtoNet,
    TensorEpisodes,
    build_model,
    confidence_interval,
    prototypes,
    prototypical_logits,
)
from glai_ssl.fewshot.train import episode_accuracies
from glai_ssl.glai import GLAI
from glai_ssl.models import make_backbone


def test_prototypes_and_logits_on_known_numbers():
    support = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [0.0, 6.0]])
    labels = torch.tensor([0, 0, 1, 1])
    assert torch.equal(prototypes(support, labels, 2), torch.tensor([[1.0, 0.0], [0.0, 5.0]]))
    query = torch.tensor([[1.0, 1.0], [0.0, 3.0]])
    # squared distances: (1,1)->(1,0): 1, (1,1)->(0,5): 17; (0,3)->(1,0): 10, (0,3)->(0,5): 4
    assert torch.equal(prototypical_logits(support, labels, query), -torch.tensor([[1.0, 17.0], [10.0, 4.0]]))


def test_protonet_embeds_support_and_query_together():
    calls = []
    backbone = torch.nn.Flatten()
    backbone.register_forward_hook(lambda module, inputs, output: calls.append(len(inputs[0])))
    model = ProtoNet(backbone)
    support = torch.tensor([[[0.0, 0.0]], [[4.0, 4.0]]])
    query = torch.tensor([[[1.0, 1.0]], [[3.0, 4.0]], [[0.0, 1.0]]])
    logits = model(support, torch.tensor([0, 1]), query)
    assert calls == [5]
    assert logits.argmax(1).tolist() == [0, 1, 0]


@pytest.mark.parametrize("kind", ["none", "mlp", "glai"])
def test_heads_give_the_embedding_and_equal_budgets(kind):
    torch.manual_seed(0)
    model = build_model(make_backbone("conv4"), HeadConfig(kind, 32, 16))
    images = torch.rand(10, 1, 28, 28)
    embedding = model.embed(images)
    assert embedding.shape == (10, 64 if kind == "none" else 16)
    logits = model(images[:4], torch.tensor([0, 0, 1, 1]), images[4:])
    logits.logsumexp(1).sum().backward()
    assert model.backbone.encoder[0][0].weight.grad is not None
    if kind == "glai":
        assert isinstance(model.head, GLAI)
        mlp = build_model(make_backbone("conv4"), HeadConfig("mlp", 32, 16)).head
        assert model.head.budget == sum(p.numel() for p in mlp.parameters())


def test_head_config_rejects_bad_options():
    with pytest.raises(ValueError, match="unknown head 'transformer'"):
        HeadConfig("transformer")
    with pytest.raises(ValueError, match="GLAI options"):
        HeadConfig("mlp", glai={"path_scale": 0.5})


def test_confidence_interval_on_known_numbers():
    summary = confidence_interval([0.5, 0.7, 0.6, 0.8])
    assert summary.mean == pytest.approx(0.65)
    # sample std: sqrt((0.15^2 + 0.05^2 + 0.05^2 + 0.15^2) / 3) = sqrt(0.05 / 3)
    assert summary.std == pytest.approx(math.sqrt(0.05 / 3))
    assert summary.ci95 == pytest.approx(1.96 * math.sqrt(0.05 / 3) / 2)
    assert summary.n == 4 and str(summary) == "65.00 +- 12.65%"
    assert confidence_interval([1.0] * 1000).ci95 == 0.0
    assert confidence_interval([0.3]) == confidence_interval([0.3]).__class__(0.3, 0.0, 0.0, 1)
    with pytest.raises(ValueError):
        confidence_interval([])


def test_blocked_evaluation_equals_protonet_episode_by_episode():
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(9).repeat_interleave(6)
    embeddings = torch.randn(9, 5, generator=generator)[labels] + torch.randn(
        len(labels), 5, generator=generator
    )
    sampler = EpisodeSampler(labels, EpisodeSpec(4, 2, 3), 23, seed=2)
    blocked = episode_accuracies(embeddings, sampler, max_elements=4 * 3 * 4 * 5 * 5)  # blocks of 5 episodes
    source = TensorEpisodes(embeddings, sampler)
    for index in range(23):
        episode = source.episode(index)
        logits = prototypical_logits(episode.support, episode.support_labels, episode.query)
        assert blocked[index] == pytest.approx(
            (logits.argmax(1) == episode.query_labels).float().mean().item()
        )
    assert len(set(blocked.values())) > 2
