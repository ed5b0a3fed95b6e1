"""SimCLR (Chen et al. 2020): pretrain a backbone with an MLP or a GLAI projector, then evaluate it.

CPU default (2 cores, under 30 minutes): Fashion-MNIST (20k images), Conv-4 pooled after its first two blocks
(``conv4-pool2``, 3136 features), 8 epochs, NT-Xent temperature 0.2 (SimCLR's is 0.5), GLAI heads with
``GLAI_HEAD_DEFAULTS``, see DEFAULTS below. Sessions 22-23, two runs side by side with 1 thread each (18-22 min a run):
MLP projector linear probe 89.47% / 88.88% (seeds 0, 1), GLAI projector 89.41% / 88.84% (-0.06 / -0.04). On
``conv4-nopool`` (576 features, the default of sessions 8-22): MLP 87.98% / 88.37% / 88.11% / 88.13% (seeds 0-3,
mean 88.15%), GLAI -0.24 / -0.12 / +0.11 / +0.10 (mean -0.04); at temperature 0.5 the MLP gave 88.01% and 87.71%
(``results/ssl/README.md``).

    python recipes/simclr.py --head mlp  --out runs/simclr/mlp
    python recipes/simclr.py --head glai --out runs/simclr/glai
    python recipes/simclr.py --dataset omniglot --out runs/simclr/omniglot      # few-shot episodes on Vinyals test
    python recipes/simclr.py --dataset omniglot --epochs 4 --view rr_prob=0     # change a view setting

Omniglot, 4 epochs (``--dataset omniglot --epochs 4``), nearest prototype on the Vinyals test classes, 5-way
1-shot: MLP 85.24% at temperature 0.2, 83.64% at 0.5 (GLAI 81.79% at 0.5; 10.5 / 9.7 min wall); 8 epochs at 0.5:
MLP 85.47%, GLAI 83.91% (GLAI 19.8 min wall).

Two processes (Lightning DDP, gloo on CPU, NCCL on GPU):

    python recipes/simclr.py --devices 2 --strategy ddp

CIFAR-10 at the settings of lightly's published benchmark (ResNet-18 with the CIFAR stem, batch 512,
200 epochs, kNN k=200), on a GPU:

    python recipes/simclr.py --dataset cifar10 --backbone resnet18-cifar --batch-size 512 --epochs 200 \\
        --optimizer sgd --lr 0.06 --weight-decay 5e-4 --warmup-epochs 0 --hidden-dim 512 --output-dim 128 \\
        --temperature 0.5 --precision bf16-mixed --eval-every 10 --download

With ``--head glai`` and SGD also pass ``--glai-path-scale 1`` (GLAI_HEAD_DEFAULTS were measured with Adam).
"""

import sys

from glai_ssl.ssl.train import CPU_RECIPE_DEFAULTS, GLAI_HEAD_FLAGS, run_recipe

METHOD = "simclr"
#: NT-Xent at 0.2: probe 87.98 / 88.37 (seeds 0, 1; 88.11 / 88.13 at seeds 2, 3) against 88.01 / 87.71 at 0.5,
#: Omniglot 5-way 1-shot +1.6 (4 epochs); GLAI heads with GLAI_HEAD_DEFAULTS: -0.24 / -0.12 / +0.11 / +0.10
DEFAULTS = {**CPU_RECIPE_DEFAULTS, "temperature": 0.2, **GLAI_HEAD_FLAGS}

if __name__ == "__main__":
    sys.exit(run_recipe(METHOD, DEFAULTS))
