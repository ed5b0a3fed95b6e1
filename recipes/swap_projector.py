"""Swap a GLAI projector into your own SimCLR loop: plain PyTorch with lightly's blocks, one flag apart.

This is the loop a user already has (lightly's NTXentLoss, SimCLRTransform and SimCLRProjectionHead);
``--head glai`` replaces the projection head with ``GLAIProjectionHead`` and changes nothing else: same
optimizer, learning rate and schedule. The backbone is then scored by weighted kNN (k=200, t=0.1) on the
Fashion-MNIST test set, with the full training set as the bank.

    python recipes/swap_projector.py --head mlp --out runs/swap/mlp
    python recipes/swap_projector.py --head glai --out runs/swap/glai
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from lightly.loss import NTXentLoss
from torch.utils.data import DataLoader

from glai_ssl.cli import report_errors
from glai_ssl.data import ImageDataset, load_dataset
from glai_ssl.eval import extract_features, knn_accuracy
from glai_ssl.glai import GLAI, StabilityConfig, make_head
from glai_ssl.models import make_backbone
from glai_ssl.ssl.transforms import VIEW_SETTINGS, simclr_transform
from glai_ssl.utils.progress import progress
from glai_ssl.utils.runtime import (
    HelpFormatter,
    add_common_args,
    args_dict,
    resolve_device,
    seed_everything,
    setup_logging,
    write_json,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--head", choices=("mlp", "glai"), default="glai", help="projection head")
    parser.add_argument(
        "--dataset", default="fashion-mnist", choices=("fashion-mnist", "mnist"), help="images to pretrain on"
    )
    parser.add_argument("--backbone", default="conv4", help="conv4 | resnet-small")
    parser.add_argument("--train-size", type=int, default=20000, help="training images used for SSL")
    parser.add_argument("--epochs", type=int, default=6, help="pretraining epochs")
    parser.add_argument("--batch-size", type=int, default=256, help="images per batch (two views each)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate for backbone and head")
    parser.add_argument("--hidden-dim", type=int, default=512, help="projector hidden width")
    parser.add_argument("--output-dim", type=int, default=64, help="projector output width")
    parser.add_argument("--temperature", type=float, default=0.5, help="NT-Xent temperature")
    parser.add_argument("--workers", type=int, default=1, help="data loader workers")
    glai = parser.add_argument_group("GLAI options (only with --head glai; defaults are the library's)")
    glai.add_argument(
        "--structure-width", type=int, default=None, help="width of S (default: from the path budget)"
    )
    glai.add_argument("--path-ratio", type=float, default=None, help="paths of S per MLP parameter")
    glai.add_argument("--path-scale", type=float, default=None, help="path weights used as scale * theta")
    glai.add_argument("--tau", type=float, default=None, help="gate-flip share counted as stable")
    glai.add_argument("--check-every", type=int, default=None, help="training forward calls between checks")
    glai.add_argument(
        "--max-structure-steps", type=int, default=None, help="freeze after this many forward calls"
    )
    add_common_args(parser, out="runs/swap_projector")
    return parser.parse_args(argv)


def glai_options(args: argparse.Namespace) -> dict:
    options = {}
    if args.structure_width is not None:
        options["structure_widths"] = args.structure_width
    if args.path_ratio is not None:
        options["path_ratio"] = args.path_ratio
    if args.path_scale is not None:
        options["path_scale"] = args.path_scale
    stability = {
        k: v
        for k, v in (
            ("tau", args.tau),
            ("check_every", args.check_every),
            ("max_steps", args.max_structure_steps),
        )
        if v is not None
    }
    if stability:
        options["stability"] = StabilityConfig(**stability)
    return options


def train_one_epoch(backbone, head, criterion, optimizer, loader, device, epoch) -> float:
    backbone.train()
    head.train()
    total, count = 0.0, 0
    for (view0, view1), _ in progress(loader, desc=f"epoch {epoch}", unit="batch"):
        view0, view1 = view0.to(device), view1.to(device)
        loss = criterion(head(backbone(view0)), head(backbone(view1)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item()
        count += 1
    return total / count


def evaluate(backbone, train, test, dataset, device) -> float:
    settings = VIEW_SETTINGS[dataset]

    def normalised(data):
        return (data.to_float() - settings.mean[0]) / settings.std[0]

    bank = extract_features(backbone, normalised(train), device=device, desc="bank features")
    queries = extract_features(backbone, normalised(test), device=device, desc="test features")
    return knn_accuracy(bank, train.labels, queries, test.labels)


def main(args: argparse.Namespace) -> dict:
    log = setup_logging(args.out, "swap_projector")
    device = resolve_device(args.device)
    generator = seed_everything(args.seed)
    train = load_dataset(args.dataset, "train", data_root=args.data_root, download=args.download)
    test = load_dataset(args.dataset, "test", data_root=args.data_root, download=args.download)
    subset = train.subset(torch.randperm(len(train), generator=generator)[: args.train_size])
    loader = DataLoader(
        ImageDataset(subset, simclr_transform(args.dataset)),
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        persistent_workers=args.workers > 0,
        generator=generator,
    )
    backbone = make_backbone(args.backbone).to(device)
    options = glai_options(args) if args.head == "glai" else {}
    head = make_head(
        args.head, backbone.feature_dim, args.hidden_dim, args.output_dim, style="simclr", **options
    ).to(device)
    criterion = NTXentLoss(temperature=args.temperature)
    optimizer = torch.optim.Adam(list(backbone.parameters()) + list(head.parameters()), lr=args.lr)
    history = []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        loss = train_one_epoch(backbone, head, criterion, optimizer, loader, device, epoch)
        phase = head.phase if isinstance(head, GLAI) else None
        history.append({"epoch": epoch, "loss": loss, "seconds": time.perf_counter() - start, "phase": phase})
        log.info(
            f"epoch {epoch}: loss {loss:.4f} ({history[-1]['seconds']:.0f} s){'' if phase is None else f' phase {phase}'}"
        )
    train_seconds = time.perf_counter() - start
    knn = evaluate(backbone, train, test, args.dataset, device)
    log.info(f"{args.head}: kNN accuracy {knn:.4f} after {train_seconds:.0f} s of training")
    result = {
        "args": args_dict(args),
        "knn_accuracy": knn,
        "train_seconds": train_seconds,
        "history": history,
    }
    if isinstance(head, GLAI):
        result["glai"] = head.summary()
    if args.out:
        write_json(args.out / "result.json", result)
    return result


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(report_errors(lambda: main(arguments), prog="swap_projector"))
