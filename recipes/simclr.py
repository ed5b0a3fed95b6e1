"""SimCLR (Chen et al. 2020): pretrain a backbone with an MLP or a GLAI projector, then evaluate it.

CPU default (2 cores, under 30 minutes): Fashion-MNIST (20k images), Conv-4 without its last pool
(``conv4-nopool``, 576 features), 8 epochs, see DEFAULTS below. Measured on 2 threads: MLP projector 19.9 min
wall, kNN 81.23%, linear probe 88.01%; GLAI projector 19.7 min wall, kNN 80.76%, probe 87.84%
(``results/ssl/README.md``).

    python recipes/simclr.py --head mlp  --out runs/simclr/mlp
    python recipes/simclr.py --head glai --out runs/simclr/glai
    python recipes/simclr.py --dataset omniglot --out runs/simclr/omniglot      # few-shot episodes on Vinyals test
    python recipes/simclr.py --dataset omniglot --epochs 4 --view rr_prob=0     # change a view setting

Omniglot, 4 epochs (``--dataset omniglot --epochs 4``), nearest prototype on the Vinyals test classes, 5-way
1-shot: MLP 83.64%, GLAI 81.79% (10.5 / 9.7 min wall); the 8-epoch default: MLP 85.47%, GLAI 83.91% (GLAI 19.8 min wall).

Two processes (Lightning DDP, gloo on CPU, NCCL on GPU):

    python recipes/simclr.py --devices 2 --strategy ddp

CIFAR-10 at the settings of lightly's published benchmark (ResNet-18 with the CIFAR stem, batch 512,
200 epochs, kNN k=200), on a GPU:

    python recipes/simclr.py --dataset cifar10 --backbone resnet18-cifar --batch-size 512 --epochs 200 \\
        --optimizer sgd --lr 0.06 --weight-decay 5e-4 --warmup-epochs 0 --hidden-dim 512 --output-dim 128 \\
        --precision bf16-mixed --eval-every 10 --download
"""

from glai_ssl.ssl.train import CPU_RECIPE_DEFAULTS, build_parser, main

METHOD = "simclr"
DEFAULTS = CPU_RECIPE_DEFAULTS

if __name__ == "__main__":
    main(build_parser(METHOD, DEFAULTS).parse_args(), method=METHOD)
