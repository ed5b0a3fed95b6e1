"""Supervised pretraining on the base classes: a backbone plus a linear classifier over every base class,
trained with cross-entropy, saved as a backbone file for ``glai-ssl fewshot train --pretrained
--freeze-backbone`` (a frozen backbone, only the embedding head trained on episodes).

Each epoch's validation is prototypical (5-way episodes on the validation classes), the measure that matters
for the few-shot use of the backbone; the best epoch is kept.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from glai_ssl.fewshot.episodes import EpisodeSampler, EpisodeSpec, resolve_backend
from glai_ssl.fewshot.protonet import ProtoNet
from glai_ssl.fewshot.train import evaluate, load_split, uint8_to_float
from glai_ssl.models import make_backbone, save_backbone
from glai_ssl.utils.progress import progress
from glai_ssl.utils.runtime import args_dict, resolve_device, seed_everything, setup_logging, write_json


def pretrain_one_epoch(
    backbone: nn.Module,
    classifier: nn.Linear,
    images: Tensor,
    labels: Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    epoch: int = 0,
) -> dict:
    """One shuffled pass of cross-entropy over all base-class images; returns mean loss and accuracy."""
    backbone.train()
    classifier.train()
    order = torch.randperm(len(labels), generator=generator)
    total_loss, correct, start = 0.0, 0, time.perf_counter()
    for first in progress(range(0, len(order), batch_size), desc=f"pretrain {epoch}", unit="batch"):
        index = order[first : first + batch_size]
        x = uint8_to_float(images[index].to(device))
        y = labels[index].to(device)
        logits = classifier(backbone(x).flatten(1))
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(index)
        correct += (logits.argmax(1) == y).sum().item()
    return {
        "loss": total_loss / len(order),
        "accuracy": correct / len(order),
        "seconds": time.perf_counter() - start,
    }


def main(args: argparse.Namespace) -> dict:
    """Pretrain on ``args.train_split``; write ``backbone.pt`` (best validation epoch) and ``pretrain.json``."""
    out = Path(args.out)
    log = setup_logging(out, "fewshot_pretrain")
    device = resolve_device(args.device)
    generator = seed_everything(args.seed)
    train = load_split(args, args.train_split)
    val = load_split(args, args.val_split)
    val_sampler = EpisodeSampler(
        val.labels,
        EpisodeSpec(args.val_way, args.val_shot, args.val_query),
        args.val_episodes,
        seed=args.seed + 1,
        backend=resolve_backend(args.episode_backend),
        name=val.name,
    )
    backbone = make_backbone(args.backbone, train.channels, train.image_size)
    backbone = backbone.to(device)
    classifier = nn.Linear(backbone.feature_dim, int(train.labels.max()) + 1).to(device)
    parameters = list(backbone.parameters()) + list(classifier.parameters())
    optimizer = torch.optim.Adam(parameters, lr=args.lr, weight_decay=args.weight_decay)
    labels = train.labels.to(device)
    images = train.images.to(device)
    log.info(f"supervised pretraining of {args.backbone} on {train.name}: {classifier.out_features} classes")
    history, best = [], {"accuracy": float("-inf"), "epoch": None}
    for epoch in range(args.epochs):
        record = {"epoch": epoch + 1}
        record["train"] = pretrain_one_epoch(
            backbone,
            classifier,
            images,
            labels,
            optimizer,
            batch_size=args.batch_size,
            generator=generator,
            device=device,
            epoch=epoch,
        )
        summary = evaluate(ProtoNet(backbone), val.images, [val_sampler], split=val.name, device=device)[
            0
        ].summary
        record["val"] = {"mean": summary.mean, "ci95": summary.ci95}
        history.append(record)
        if summary.mean > best["accuracy"]:
            best = {"accuracy": summary.mean, "epoch": epoch + 1}
            meta = {"pretrain": "supervised", "split": train.name, "epoch": epoch + 1, "val": record["val"]}
            save_backbone(
                out / "backbone.pt",
                args.backbone,
                backbone,
                in_channels=train.channels,
                image_size=train.image_size,
                meta=meta,
            )
        log.info(
            f"epoch {epoch + 1}/{args.epochs}: loss {record['train']['loss']:.4f}, train acc "
            f"{100 * record['train']['accuracy']:.2f}%, val {val_sampler.spec} {summary}"
        )
    result = {"args": args_dict(args), "history": history, "best": best, "backbone": out / "backbone.pt"}
    write_json(out / "pretrain.json", result)
    return result
