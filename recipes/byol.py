"""BYOL (Grill et al. 2020): pretrain a backbone with an MLP or a GLAI projector, then evaluate it.

CPU default (2 cores, under 30 minutes): Fashion-MNIST (20k images), Conv-4 pooled after its first two blocks
(``conv4-pool2``, 3136 features), 8 epochs, lr 2e-3, GLAI heads with ``GLAI_HEAD_DEFAULTS``, see DEFAULTS below.
GLAI: 17 min 22 s alone on 2 threads (session 23). Two runs side by side with 1 thread each (23-30 min a run):
MLP projector and predictor, linear probe 88.98% / 88.63% / 89.10% / 88.82% (seeds 0-3, mean 88.88%); GLAI
88.71% / 88.98% / 89.32% / 89.24% (-0.27 / +0.35 / +0.22 / +0.42, mean +0.18). A random-init ``conv4-pool2``
probes at 85.81%, so much of the gain over ``conv4-nopool`` (576 features: MLP mean 87.67%, GLAI -0.13) is
read-out width (``results/ssl/README.md``).

    python recipes/byol.py --head mlp  --out runs/byol/mlp
    python recipes/byol.py --head glai --out runs/byol/glai
    python recipes/byol.py --dataset omniglot --out runs/byol/omniglot      # few-shot episodes on Vinyals test
    python recipes/byol.py --devices 2 --strategy ddp                     # two processes (gloo on CPU)

CIFAR-10 at the settings of lightly's published benchmark (ResNet-18 with the CIFAR stem, batch 512,
200 epochs, kNN k=200), on a GPU:

    python recipes/byol.py --dataset cifar10 --backbone resnet18-cifar --batch-size 512 --epochs 200 \\
        --optimizer sgd --lr 0.06 --weight-decay 5e-4 --warmup-epochs 0 --hidden-dim 512 --output-dim 128 \\
        --precision bf16-mixed --eval-every 10 --download

With ``--head glai`` and SGD also pass ``--glai-path-scale 1``: GLAI_HEAD_DEFAULTS were measured with Adam, and an
SGD step moves the path weights by path_scale**2 x lr x grad (``docs/glai.md``), 100x less at 0.1.
"""

import sys

from glai_ssl.ssl.train import CPU_RECIPE_DEFAULTS, GLAI_HEAD_FLAGS, run_recipe

METHOD = "byol"
#: lr 2e-3 (on ``conv4-nopool``): probe 87.92, 87.91, 87.63, 87.21 (seeds 0-3) against 87.23 and 87.64 at 1e-3; the
#: GLAI heads take GLAI_HEAD_DEFAULTS, 87.69 / 87.26 / 87.54 / 87.64 there, where the block's own options gave 87.38
DEFAULTS = {**CPU_RECIPE_DEFAULTS, "lr": 2e-3, **GLAI_HEAD_FLAGS}

if __name__ == "__main__":
    sys.exit(run_recipe(METHOD, DEFAULTS))
