"""Episodes: invariants, reproducibility, ranks, impossible specs, learn2learn interop."""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from glai_ssl.data import ImageDataset, load_omniglot
from glai_ssl.fewshot import EpisodeError, EpisodeSampler, EpisodeSpec, TasksetEpisodes, TensorEpisodes
from glai_ssl.fewshot.episodes import import_learn2learn


def uneven_labels() -> torch.Tensor:
    """12 classes with 3 .. 14 samples each, shuffled: classes 0..5 have fewer than 9 samples."""
    labels = torch.cat([torch.full((3 + c,), c) for c in range(12)])
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]


def assert_valid_episode(indices, labels, spec):
    """N distinct classes, K + Q distinct samples of each, class-major, support and query disjoint."""
    assert len(indices) == spec.size and len(set(indices)) == spec.size
    per_class = torch.as_tensor(labels)[torch.tensor(indices)].view(spec.way, spec.per_class)
    assert (per_class == per_class[:, :1]).all(), "each block of shot + query indices is one class"
    assert len(set(per_class[:, 0].tolist())) == spec.way, "the N classes are distinct"


@pytest.mark.parametrize("backend", ["native", "learn2learn"])
def test_episode_invariants_and_labels(backend):
    labels = uneven_labels()
    spec = EpisodeSpec(way=4, shot=2, query=7)  # needs 9 samples: only classes 6..11 qualify
    sampler = EpisodeSampler(labels, spec, 30, seed=3, backend=backend)
    seen_classes = set()
    for indices in sampler:
        assert_valid_episode(indices, labels, spec)
        seen_classes |= set(labels[torch.tensor(indices)].tolist())
    assert seen_classes <= set(range(6, 12)) and len(seen_classes) > spec.way
    data = torch.arange(len(labels)).float().unsqueeze(1)  # row j holds j: recover the indices
    episode = TensorEpisodes(data, sampler).episode(5)
    assert episode.support_labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert episode.query_labels.tolist() == [c for c in range(4) for _ in range(7)]
    support, query = set(episode.support[:, 0].long().tolist()), set(episode.query[:, 0].long().tolist())
    assert not support & query
    for c in range(spec.way):  # the remapped label c is one original class in support and query alike
        originals = labels[episode.support[episode.support_labels == c, 0].long()].tolist()
        originals += labels[episode.query[episode.query_labels == c, 0].long()].tolist()
        assert len(set(originals)) == 1


@pytest.mark.parametrize("backend", ["native", "learn2learn"])
def test_episodes_depend_only_on_seed_and_index(backend):
    labels = uneven_labels()
    spec = EpisodeSpec(3, 1, 2)
    full = list(EpisodeSampler(labels, spec, 12, seed=7, backend=backend))
    again = EpisodeSampler(labels, spec, 12, seed=7, backend=backend)
    assert [again.episode(i) for i in reversed(range(12))] == full[::-1]
    ranks = [
        list(EpisodeSampler(labels, spec, 12, seed=7, rank=r, world_size=3, backend=backend))
        for r in range(3)
    ]
    assert [ranks[i % 3][i // 3] for i in range(12)] == full
    later = EpisodeSampler(labels, spec, 4, seed=7, start=8, backend=backend)
    assert list(later.episode_ids) == [8, 9, 10, 11] and list(later) == full[8:]
    other_seed = list(EpisodeSampler(labels, spec, 12, seed=8, backend=backend))
    assert other_seed != full
    assert len({tuple(e) for e in full}) > 1


def test_impossible_specs_name_the_numbers():
    labels = uneven_labels()
    with pytest.raises(EpisodeError, match=r"13 classes .* but toy has only 12 classes"):
        EpisodeSampler(labels, EpisodeSpec(13, 1, 1), 1, name="toy")
    with pytest.raises(
        EpisodeError,
        match=r"7 classes with at least 9 samples each \(2 shot \+ 7 query\), but only 6 of the 12",
    ):
        EpisodeSampler(labels, EpisodeSpec(7, 2, 7), 1, name="toy")
    with pytest.raises(EpisodeError, match=r"at least 15 samples .*\(the largest class has 14 samples\)"):
        EpisodeSampler(labels, EpisodeSpec(2, 5, 10), 1)
    with pytest.raises(EpisodeError, match="shot must be a positive integer, got 0"):
        EpisodeSpec(5, 0, 15)
    with pytest.raises(EpisodeError, match="rank must be in"):
        EpisodeSampler(labels, EpisodeSpec(2, 1, 1), 4, rank=2, world_size=2)


def test_sampler_is_a_dataloader_batch_sampler():
    labels = uneven_labels()
    images = torch.randint(0, 256, (len(labels), 6, 6), dtype=torch.uint8)
    from glai_ssl.data import LabelledImages

    dataset = ImageDataset(LabelledImages(images, labels, [str(c) for c in range(12)], "toy"))
    spec = EpisodeSpec(3, 2, 1)
    sampler = EpisodeSampler(labels, spec, 5, seed=1)
    batches = list(DataLoader(dataset, batch_sampler=sampler))
    assert len(batches) == 5
    for (x, y), indices in zip(batches, sampler):
        assert x.shape == (spec.size, 1, 6, 6)
        assert y.tolist() == labels[torch.tensor(indices)].tolist()


def test_learn2learn_taskset_and_our_omniglot_episodes_are_valid(data_root):
    l2l = import_learn2learn()
    labels = uneven_labels()
    data = torch.arange(len(labels)).float().unsqueeze(1)
    dataset = l2l.data.MetaDataset(TensorDataset(data, labels))
    spec = EpisodeSpec(3, 2, 3)
    usable = [c for c in range(12) if int((labels == c).sum()) >= spec.per_class]
    taskset = l2l.data.TaskDataset(
        dataset,
        task_transforms=[
            l2l.data.transforms.FusedNWaysKShots(dataset, n=3, k=spec.per_class, filter_labels=usable),
            l2l.data.transforms.LoadData(dataset),
            l2l.data.transforms.RemapLabels(dataset),
        ],
        num_tasks=-1,
    )
    source = TasksetEpisodes(taskset, spec, seed=0)
    for index in range(10):
        episode = source.episode(index)
        rows = torch.cat([episode.support, episode.query])[:, 0].long().tolist()
        order = [r for c in range(3) for r in rows[2 * c : 2 * c + 2] + rows[6 + 3 * c : 9 + 3 * c]]
        assert_valid_episode(order, labels, spec)
        assert episode.support_labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert torch.equal(source.episode(4).query, TasksetEpisodes(taskset, spec, seed=0).episode(4).query)
    with pytest.raises(EpisodeError, match=r"needs 4 labels with 5 samples .* gave 3 labels with 5 samples"):
        TasksetEpisodes(taskset, EpisodeSpec(4, 2, 3)).episode(0)

    # our Omniglot episodes through learn2learn's MetaDataset and task transforms
    omniglot = load_omniglot("vinyals-val", data_root=data_root)
    spec = EpisodeSpec(20, 5, 15)
    sampler = EpisodeSampler(omniglot.labels, spec, 3, seed=0, backend="learn2learn")
    for indices in sampler:
        assert_valid_episode(indices, omniglot.labels, spec)
    native = EpisodeSampler(omniglot.labels, spec, 3, seed=0, backend="native")
    assert list(native) != list(sampler)  # two different draws, both valid
    for indices in native:
        assert_valid_episode(indices, omniglot.labels, spec)
