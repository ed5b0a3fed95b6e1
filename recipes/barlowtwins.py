"""Barlow Twins (Zbontar et al. 2021): pretrain a backbone with an MLP or a GLAI projector, then evaluate it.

CPU default (2 cores, under 30 minutes): Fashion-MNIST (20k images), Conv-4 pooled after its first two blocks
(``conv4-pool2``, 3136 features), 8 epochs, see DEFAULTS below. Not timed for this method; a step costs
between SimCLR's and BYOL's (two views through the backbone, plus a momentum encoder or a predictor), which
take 18-22 and 23-30 minutes beside another run, BYOL 17 alone (``results/ssl/README.md``).

    python recipes/barlowtwins.py --head mlp  --out runs/barlowtwins/mlp
    python recipes/barlowtwins.py --head glai --out runs/barlowtwins/glai
    python recipes/barlowtwins.py --dataset omniglot --out runs/barlowtwins/omniglot      # few-shot episodes on Vinyals test
    python recipes/barlowtwins.py --devices 2 --strategy ddp                     # two processes (gloo on CPU)

CIFAR-10 at the settings of lightly's published benchmark (ResNet-18 with the CIFAR stem, batch 512,
200 epochs, kNN k=200), on a GPU:

    python recipes/barlowtwins.py --dataset cifar10 --backbone resnet18-cifar --batch-size 512 --epochs 200 \\
        --optimizer sgd --lr 0.06 --weight-decay 5e-4 --warmup-epochs 0 --hidden-dim 512 --output-dim 128 \\
        --precision bf16-mixed --eval-every 10 --download
"""

import sys

from glai_ssl.ssl.train import CPU_RECIPE_DEFAULTS, run_recipe

METHOD = "barlowtwins"
DEFAULTS = {**CPU_RECIPE_DEFAULTS, "output_dim": 512}  # redundancy-reduction losses want a wide embedding

if __name__ == "__main__":
    sys.exit(run_recipe(METHOD, DEFAULTS))
