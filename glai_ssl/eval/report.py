"""Evaluate a frozen backbone the way the recipes report it: kNN and linear probe on labelled datasets,
nearest-prototype few-shot episodes on Omniglot."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from glai_ssl.data import load_dataset
from glai_ssl.eval.features import extract_features
from glai_ssl.eval.knn import knn_accuracy
from glai_ssl.eval.linear_probe import linear_probe, tuned_linear_probe

#: how :func:`evaluate_backbone` may normalise features: not at all, or to unit L2 length (SimpleShot's L2N)
FEATURE_NORMS = ("none", "l2")
#: the linear probes: Adam for a fixed number of epochs (the recipes'), or L-BFGS with a tuned L2 penalty
PROBES = ("adam", "lbfgs")


class RawPixels(nn.Module):
    """The identity 'backbone': flattened pixels, for the raw-pixel baseline measured by the same probe code."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Flatten images ``(B, C, H, W)`` to features ``(B, C * H * W)``."""
        return x.flatten(1)


def evaluate_backbone(
    backbone: nn.Module,
    dataset: str,
    *,
    data_root=None,
    device: torch.device | str = "cpu",
    knn_k: int = 200,
    knn_t: float = 0.1,
    probe_epochs: int = 100,
    seed: int = 0,
    episodes: int = 1000,
    feature_norm: str = "none",
    probe: str = "adam",
) -> dict:
    """Score ``backbone`` (run in eval mode, on images in [0, 1]) on ``dataset``; returns metrics, timings and a
    one-line summary. Wrap a backbone trained on normalised images in :class:`glai_ssl.models.Normalized`.

    ``feature_norm="l2"`` scales every feature vector to unit length before the probe, the kNN (already
    cosine, so unchanged) and the episodes: SimpleShot's L2N (Wang et al. 2019, arXiv 1911.04623), which lifts
    nearest-prototype accuracy of SSL features on Omniglot by 0.7-1.7 points (``results/ssl/README.md``).
    ``probe="lbfgs"``: :func:`~glai_ssl.eval.linear_probe.tuned_linear_probe` instead of the Adam probe.
    """
    if feature_norm not in FEATURE_NORMS:
        raise ValueError(f"unknown feature_norm {feature_norm!r}; choose one of {', '.join(FEATURE_NORMS)}")
    if probe not in PROBES:
        raise ValueError(f"unknown probe {probe!r}; choose one of {', '.join(PROBES)}")
    if dataset == "omniglot" and probe != "adam":
        raise ValueError(
            "Omniglot is scored by nearest-prototype episodes, not a linear probe; drop the probe choice"
        )
    backbone = backbone.to(device)
    note = " (L2-normalised features)" if feature_norm == "l2" else ""

    def features_of(images, desc: str) -> torch.Tensor:
        features = extract_features(backbone, images, device=device, desc=desc)
        return F.normalize(features, dim=1) if feature_norm == "l2" else features

    start = time.perf_counter()
    if dataset == "omniglot":
        from glai_ssl.fewshot.episodes import EpisodeSampler, EpisodeSpec
        from glai_ssl.fewshot.train import evaluate_embeddings

        test = load_dataset("omniglot", "vinyals-test", data_root=data_root)
        features = features_of(test.to_float(), "test features")
        tasks = {}
        for way, shot in ((5, 1), (5, 5), (20, 1), (20, 5)):
            sampler = EpisodeSampler(
                test.labels, EpisodeSpec(way, shot, 15), episodes, seed=seed, name=test.name
            )
            summary = evaluate_embeddings(features, sampler, test.name).summary
            tasks[f"{way}-way {shot}-shot"] = {
                "mean": summary.mean,
                "ci95": summary.ci95,
                "episodes": summary.n,
            }
        text = ", ".join(
            f"{name} {100 * r['mean']:.2f} +- {100 * r['ci95']:.2f}" for name, r in tasks.items()
        )
        return {
            "split": test.name,
            "feature_norm": feature_norm,
            "fewshot": tasks,
            "seconds": time.perf_counter() - start,
            "summary": text + note,
        }
    train = load_dataset(dataset, "train", data_root=data_root)
    test = load_dataset(dataset, "test", data_root=data_root)
    train_features = features_of(train.to_float(), "train features")
    test_features = features_of(test.to_float(), "test features")
    knn = knn_accuracy(train_features, train.labels, test_features, test.labels, k=knn_k, temperature=knn_t)
    if probe == "lbfgs":
        result = tuned_linear_probe(train_features, train.labels, test_features, test.labels, seed=seed)
        probe_record = {
            "probe": "lbfgs",
            "probe_l2": result.l2,
            "probe_validation_accuracy": result.validation_accuracy,
        }
        note += f" (L-BFGS probe, L2 {result.l2:g} chosen on a held-out part of {dataset}/train)"
    else:
        result = linear_probe(
            train_features, train.labels, test_features, test.labels, epochs=probe_epochs, seed=seed
        )
        probe_record = {"probe": "adam", "probe_epochs": probe_epochs}
    return {
        "dataset": dataset,
        "feature_dim": int(train_features.shape[1]),
        "feature_norm": feature_norm,
        "knn_accuracy": knn,
        "knn": {"k": knn_k, "t": knn_t},
        "linear_probe_accuracy": result.test_accuracy,
        "linear_probe_train_accuracy": result.train_accuracy,
        **probe_record,
        "seconds": time.perf_counter() - start,
        "summary": f"kNN {100 * knn:.2f}%, linear probe {100 * result.test_accuracy:.2f}% on {dataset}/test{note}",
    }
