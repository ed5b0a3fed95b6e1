"""SimCLR on Omniglot with ProtoCLR's views instead of the recipe's, everything else the recipe's.

ProtoCLR (Medina et al. 2020, "Self-Supervised Prototypical Transfer Learning for Few-Shot Classification")
pretrains Conv-4 on Omniglot with much stronger views than ours: random resized crops of scale 0.6-1.4,
horizontal and vertical flips, 30% pixel dropout and random erasing. This script swaps those views into
``recipes/simclr.py`` (lightly's ``MultiViewTransform`` of two such views) and takes the recipe's flags.
Run from the repository root:

    GLAI_SSL_DATA=../shared/data python results/ssl/omniglot_protoclr_views.py --dataset omniglot --epochs 4 \\
        --out runs/simclr/omniglot_protoclr_views

Measured (2 threads, 4 epochs of 20k images, 544 s of training): 5-way 1-shot 74.71 +- 0.73 against 79.43 with
the recipe's views of that time (no rotation) and 83.64 with today's (half the views rotated) at the same budget; ``results/ssl/README.md``.
"""

import sys

import torch.nn.functional as F
from lightly.transforms.multi_view_transform import MultiViewTransform
from torchvision import transforms as T

import glai_ssl.ssl.train as train
from glai_ssl.ssl.transforms import VIEW_SETTINGS


def protoclr_views(
    dataset: str, input_size: int | None = None, normalize: bool = True, **overrides: float
) -> MultiViewTransform:
    """Two ProtoCLR-style views of a 28x28 character, normalised with the dataset's statistics."""
    if overrides:
        raise SystemExit(
            "error: --view changes the recipe's views; this script replaces them, so drop --view"
        )
    settings = VIEW_SETTINGS[dataset]
    view = T.Compose(
        [
            T.RandomResizedCrop(28, scale=(0.6, 1.4)),
            T.RandomHorizontalFlip(),
            T.RandomVerticalFlip(),
            T.ToTensor(),
            T.Lambda(lambda image: F.dropout(image, p=0.3)),
            T.RandomErasing(),
            T.Normalize(settings.mean, settings.std),
        ]
    )
    return MultiViewTransform([view, view])


if __name__ == "__main__":
    train.simclr_transform = protoclr_views
    train.main(
        train.build_parser("simclr", train.CPU_RECIPE_DEFAULTS).parse_args(sys.argv[1:]), method="simclr"
    )
