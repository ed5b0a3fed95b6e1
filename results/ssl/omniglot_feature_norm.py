"""Does normalising an SSL backbone's features help nearest-prototype episodes on Omniglot?

SimpleShot (Wang et al. 2019, arXiv 1911.04623) reports that L2 normalisation ("L2N") or centring on the base
classes' mean and then L2 normalisation ("CL2N") of the features lifts nearest-centroid few-shot accuracy.
This scores a backbone file (``backbone.pt`` of an Omniglot SSL recipe run) on 1000 episodes of the Vinyals
test classes, 15 queries, with raw, L2N and CL2N features (the mean from 20k Vinyals-train images). Run from
the repository root:

    GLAI_SSL_DATA=../shared/data python results/ssl/omniglot_feature_norm.py runs/simclr/omniglot_mlp/backbone.pt
"""

import argparse

import torch
import torch.nn.functional as F

from glai_ssl.data import load_dataset
from glai_ssl.eval.features import extract_features
from glai_ssl.fewshot.episodes import EpisodeSampler, EpisodeSpec
from glai_ssl.fewshot.train import evaluate_embeddings
from glai_ssl.models.checkpoint import load_backbone


def main() -> None:
    """Print the episode accuracies of raw, L2N and CL2N features of the backbone."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backbone", help="a backbone.pt written by the SSL recipes")
    parser.add_argument("--episodes", type=int, default=1000)
    args = parser.parse_args()
    backbone, _ = load_backbone(args.backbone)
    test = load_dataset("omniglot", "vinyals-test")
    train = load_dataset("omniglot", "vinyals-train")
    features = extract_features(backbone, test.to_float())
    subset = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:20000]
    base_mean = extract_features(backbone, train.subset(subset).to_float()).mean(0)
    variants = {
        "none": features,
        "L2N": F.normalize(features, dim=1),
        "CL2N": F.normalize(features - base_mean, dim=1),
    }
    for name, embeddings in variants.items():
        for way, shot in [(5, 1), (20, 1)]:
            sampler = EpisodeSampler(test.labels, EpisodeSpec(way, shot, 15), args.episodes, seed=0)
            result = evaluate_embeddings(embeddings, sampler, "test").to_dict()
            print(f"{name:5s} {way}-way {shot}-shot {100 * result['mean']:.2f} +- {100 * result['ci95']:.2f}")


if __name__ == "__main__":
    main()
