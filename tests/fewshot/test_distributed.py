"""Distributed evaluation: 2 gloo ranks on CPU gather exactly the single-process per-episode accuracies."""

import json

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from glai_ssl.fewshot import EpisodeSampler, EpisodeSpec
from glai_ssl.fewshot.train import evaluate_embeddings

SPEC = EpisodeSpec(5, 1, 3)
EPISODES = 25  # not a multiple of the world size


def toy_embeddings() -> tuple[torch.Tensor, torch.Tensor]:
    """12 noisy classes: accuracies vary from episode to episode."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(12).repeat_interleave(8)
    centres = torch.randn(12, 6, generator=generator)
    return centres[labels] + 1.2 * torch.randn(len(labels), 6, generator=generator), labels


def _rank(rank: int, world_size: int, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        embeddings, labels = toy_embeddings()
        sampler = EpisodeSampler(labels, SPEC, EPISODES, seed=5, rank=rank, world_size=world_size)
        result = evaluate_embeddings(embeddings, sampler, "toy")
        with open(f"{out}.{rank}", "w") as file:
            json.dump({"local": list(sampler.episode_ids), "accuracies": result.accuracies}, file)
    finally:
        dist.destroy_process_group()


def test_two_ranks_gather_the_single_process_accuracies(tmp_path):
    embeddings, labels = toy_embeddings()
    single = evaluate_embeddings(embeddings, EpisodeSampler(labels, SPEC, EPISODES, seed=5), "toy")
    assert len(set(single.accuracies)) > 2
    out = str(tmp_path / "result")
    mp.spawn(_rank, args=(2, str(tmp_path / "init"), out), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f"result.{r}").read_text()) for r in range(2)]
    assert ranks[0]["local"] == list(range(0, EPISODES, 2)) and ranks[1]["local"] == list(
        range(1, EPISODES, 2)
    )
    for rank in ranks:
        assert rank["accuracies"] == single.accuracies
