"""``glai-ssl fewshot train`` and ``glai-ssl fewshot eval``: prototypical networks (Snell et al. 2017)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from glai_ssl.data import DATASETS, load_dataset
from glai_ssl.fewshot.episodes import BACKENDS, EpisodeError, EpisodeSampler, EpisodeSpec, resolve_backend
from glai_ssl.fewshot.model import HEAD_KINDS, load_model
from glai_ssl.fewshot.train import EvalResult, dist_info, evaluate, first_classes
from glai_ssl.models import BACKBONES, CheckpointError
from glai_ssl.utils.runtime import (
    HelpFormatter,
    add_common_args,
    add_pruning_args,
    args_dict,
    non_negative_int,
    positive_int,
    resolve_device,
    write_json,
)

#: Snell et al. (2017), Table 1: Prototypical Networks (Euclidean), Omniglot test accuracy in %.
SNELL_OMNIGLOT = {(5, 1): 98.8, (5, 5): 99.7, (20, 1): 96.0, (20, 5): 98.9}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fewshot train``, ``fewshot eval`` and ``fewshot pretrain`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "fewshot",
        help="prototypical few-shot learning (train, eval, pretrain)",
        description="Prototypical networks (Snell et al. 2017) with no / MLP / GLAI embedding head.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="{train,eval,pretrain}")
    train = actions.add_parser(
        "train",
        help="episodic training with validation-based model selection",
        description="Train a ProtoNet on episodes. Defaults: Snell et al.'s Omniglot protocol.",
        formatter_class=HelpFormatter,
    )
    add_train_args(train)
    train.set_defaults(func=run_train)
    evaluation = actions.add_parser(
        "eval",
        help="N-way K-shot accuracy +- 95%% CI over test episodes",
        description=(
            "Evaluate a checkpoint (fewshot model or training checkpoint, backbone file, SSL recipe checkpoint) "
            "on episodes of a split; distributed with torchrun (episodes split across ranks)."
        ),
        formatter_class=HelpFormatter,
    )
    add_eval_args(evaluation)
    evaluation.set_defaults(func=run_eval)
    pretrain = actions.add_parser(
        "pretrain",
        help="supervised pretraining of a backbone on the base classes (for --pretrained --freeze-backbone)",
        description="Cross-entropy over every base class; the backbone of the best prototypical validation "
        "epoch is saved as OUT/backbone.pt.",
        formatter_class=HelpFormatter,
    )
    add_pretrain_args(pretrain)
    pretrain.set_defaults(func=run_pretrain)


def add_train_args(parser: argparse.ArgumentParser) -> None:
    """The options of ``fewshot train`` (shared with ``recipes/protonet_omniglot.py``)."""
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", default="omniglot", choices=list(DATASETS), help="labelled dataset")
    data.add_argument("--train-split", default="vinyals-train", help="base classes for training episodes")
    data.add_argument(
        "--val-split", default="vinyals-val", help="classes for model selection ('none': keep the last epoch)"
    )
    data.add_argument("--image-size", type=positive_int, default=28, help="Omniglot image side")
    data.add_argument(
        "--max-classes",
        type=positive_int,
        default=None,
        help="only the first N classes of each split (quick runs)",
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--backbone", default="conv4", choices=list(BACKBONES), help="encoder (Conv-4: Snell et al.)"
    )
    model.add_argument(
        "--pretrained", type=Path, default=None, help="start from this backbone file or SSL recipe checkpoint"
    )
    model.add_argument(
        "--freeze-backbone",
        action="store_true",
        help="freeze the backbone, cache its features, train only the head on episodes of features",
    )
    model.add_argument("--head", default="none", choices=HEAD_KINDS, help="embedding head on the backbone")
    model.add_argument(
        "--head-hidden-dim", type=positive_int, default=256, help="hidden width of an mlp/glai head"
    )
    model.add_argument("--head-output-dim", type=positive_int, default=64, help="embedding dimension")
    glai = parser.add_argument_group(
        "GLAI head (with --head glai; unset: path ratio 16, path scale 0.1, prune features, refit ridge 1e-2 "
        "(GLAI_HEAD_DEFAULTS, measured in results/protonet/heads), the rest the library's defaults)"
    )
    glai.add_argument(
        "--structure-width", type=positive_int, default=None, help="width of the structure net S"
    )
    glai.add_argument("--path-ratio", type=float, default=None, help="paths of S per MLP parameter")
    glai.add_argument("--path-scale", type=float, default=None, help="path weights used as scale * theta")
    add_pruning_args(glai, refit_help="; unset: 1e-2 with features, off: no refit", allow_off=True)
    glai.add_argument("--tau", type=float, default=None, help="gate-flip share counted as stable")
    glai.add_argument(
        "--check-every", type=positive_int, default=None, help="training episodes between checks"
    )
    glai.add_argument(
        "--max-structure-steps", type=positive_int, default=None, help="freeze S after this many episodes"
    )
    episodes = parser.add_argument_group("episodes and optimisation")
    episodes.add_argument("--way", type=positive_int, default=60, help="classes per training episode")
    episodes.add_argument("--shot", type=positive_int, default=5, help="support samples per class")
    episodes.add_argument("--query", type=positive_int, default=5, help="query samples per class")
    episodes.add_argument("--epochs", type=positive_int, default=200, help="at most this many epochs")
    episodes.add_argument(
        "--episodes-per-epoch", type=positive_int, default=100, help="training episodes per epoch"
    )
    episodes.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    episodes.add_argument(
        "--lr-step", type=positive_int, default=20, help="epochs between learning-rate decays"
    )
    episodes.add_argument("--lr-gamma", type=float, default=0.5, help="learning-rate decay factor")
    episodes.add_argument("--weight-decay", type=float, default=0.0, help="Adam weight decay")
    episodes.add_argument(
        "--patience",
        type=non_negative_int,
        default=200,
        help="stop after this many epochs without improvement (0: never)",
    )
    episodes.add_argument(
        "--episode-backend", default="auto", choices=BACKENDS, help="auto: learn2learn when installed"
    )
    val = parser.add_argument_group("validation (model selection)")
    val.add_argument("--val-way", type=positive_int, default=5, help="classes per validation episode")
    val.add_argument("--val-shot", type=positive_int, default=None, help="default: --shot")
    val.add_argument("--val-query", type=positive_int, default=15, help="query samples per class")
    val.add_argument(
        "--val-episodes", type=positive_int, default=1000, help="fixed episodes, same every epoch"
    )
    val.add_argument("--val-every", type=positive_int, default=1, help="epochs between validations")
    run = parser.add_argument_group("run")
    run.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="stop after the epoch that passes this much training time (a checkpoint stays resumable)",
    )
    run.add_argument("--batch-size", type=positive_int, default=512, help="batch size for embedding a split")
    run.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        default=None,
        metavar="CHECKPOINT",
        help="continue a run (default CHECKPOINT: OUT/checkpoint.pt); the configuration must match",
    )
    add_common_args(parser, out="runs/fewshot")


def add_eval_args(parser: argparse.ArgumentParser) -> None:
    """The options of ``fewshot eval``."""
    parser.add_argument(
        "checkpoint", type=Path, help="fewshot model/checkpoint, backbone file or SSL checkpoint"
    )
    parser.add_argument("--dataset", default="omniglot", choices=list(DATASETS), help="labelled dataset")
    parser.add_argument("--split", default="vinyals-test", help="the novel classes")
    parser.add_argument("--way", type=positive_int, nargs="+", default=[5, 20], help="classes per episode")
    parser.add_argument(
        "--shot", type=positive_int, nargs="+", default=[1, 5], help="support samples per class"
    )
    parser.add_argument("--query", type=positive_int, default=15, help="query samples per class")
    parser.add_argument("--episodes", type=positive_int, default=1000, help="episodes per way x shot")
    parser.add_argument(
        "--max-classes",
        type=positive_int,
        default=None,
        help="only the first N classes of the split (quick checks)",
    )
    parser.add_argument(
        "--episode-backend", default="auto", choices=BACKENDS, help="auto: learn2learn when installed"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=512, help="batch size for embedding the split"
    )
    add_common_args(parser, out="runs/fewshot_eval")


def add_pretrain_args(parser: argparse.ArgumentParser) -> None:
    """The options of ``fewshot pretrain``."""
    parser.add_argument("--dataset", default="omniglot", choices=list(DATASETS), help="labelled dataset")
    parser.add_argument("--train-split", default="vinyals-train", help="base classes")
    parser.add_argument("--val-split", default="vinyals-val", help="classes for prototypical validation")
    parser.add_argument("--image-size", type=positive_int, default=28, help="Omniglot image side")
    parser.add_argument("--max-classes", type=positive_int, default=None, help="only the first N classes")
    parser.add_argument("--backbone", default="conv4", choices=list(BACKBONES), help="encoder")
    parser.add_argument("--epochs", type=positive_int, default=10, help="passes over the base-class images")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="images per step")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="Adam weight decay")
    parser.add_argument("--val-way", type=positive_int, default=5, help="classes per validation episode")
    parser.add_argument("--val-shot", type=positive_int, default=1, help="support samples per class")
    parser.add_argument("--val-query", type=positive_int, default=15, help="query samples per class")
    parser.add_argument("--val-episodes", type=positive_int, default=1000, help="validation episodes")
    parser.add_argument(
        "--episode-backend", default="auto", choices=BACKENDS, help="auto: learn2learn when installed"
    )
    add_common_args(parser, out="runs/fewshot_pretrain")


def _friendly(func):
    """Episode-specification and option errors as one line and exit status 2, not a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (EpisodeError, ValueError) as error:
            if isinstance(error, CheckpointError):
                raise
            print(f"glai-ssl fewshot: error: {error}", file=sys.stderr)
            return 2

    return run


@_friendly
def run_train(args: argparse.Namespace) -> int:
    """Run ``glai-ssl fewshot train`` (:func:`glai_ssl.fewshot.train.main`) and print the best epoch.

    Returns:
        0 (2 for an episode or option error, see :func:`_friendly`).
    """
    from glai_ssl.fewshot.train import main

    result = main(args)
    best = result["best_val_accuracy"]
    where = (
        f"best val {100 * best:.2f}% at epoch {result['best_epoch']}" if best is not None else "no validation"
    )
    print(f"done: {result['epochs_done']} epochs ({result['stop_reason']}), {where}; files in {args.out}")
    return 0


@_friendly
def run_pretrain(args: argparse.Namespace) -> int:
    """Run ``glai-ssl fewshot pretrain`` (:func:`glai_ssl.fewshot.pretrain.main`) and print the saved backbone.

    Returns:
        0 (2 for an episode or option error, see :func:`_friendly`).
    """
    from glai_ssl.fewshot.pretrain import main

    result = main(args)
    print(f"backbone of epoch {result['best']['epoch']}: {result['backbone']}")
    return 0


def _init_distributed(device: torch.device) -> None:
    """Join the process group torchrun describes (``WORLD_SIZE`` > 1), gloo on CPU and nccl on CUDA."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def format_table(results: list[EvalResult], reference: dict | None = None) -> str:
    """A short table of ``way shot accuracy +- ci95``, with a reference column when given."""
    lines = [f"{'way':>4} {'shot':>4} {'query':>5} {'episodes':>8}  {'accuracy (95% CI)':>18}"]
    if reference:
        lines[0] += f"  {'Snell et al.':>12}"
    for r in results:
        line = f"{r.spec.way:>4} {r.spec.shot:>4} {r.spec.query:>5} {r.summary.n:>8}  {str(r.summary):>18}"
        if reference:
            ref = reference.get((r.spec.way, r.spec.shot))
            line += f"  {'' if ref is None else f'{ref:.1f}%':>12}"
        lines.append(line)
    return "\n".join(lines)


def evaluate_checkpoint(args: argparse.Namespace) -> dict:
    """Evaluate ``args.checkpoint`` on every way x shot of ``args``; return the JSON record."""
    device = resolve_device(args.device)
    _init_distributed(device)
    rank, world_size = dist_info()
    model, info = load_model(args.checkpoint)
    options = {"image_size": info["image_size"]} if args.dataset == "omniglot" else {}
    data = load_dataset(args.dataset, args.split, data_root=args.data_root, download=args.download, **options)
    if (data.channels, data.image_size) != (info["in_channels"], info["image_size"]):
        raise CheckpointError(
            f"{args.checkpoint} takes {info['in_channels']}-channel {info['image_size']}px images but "
            f"{data.name} has {data.channels}-channel {data.image_size}px images"
        )
    data = first_classes(data, args.max_classes)
    backend = resolve_backend(args.episode_backend)
    samplers = [
        EpisodeSampler(
            data.labels,
            EpisodeSpec(way, shot, args.query),
            args.episodes,
            seed=args.seed,
            rank=rank,
            world_size=world_size,
            backend=backend,
            name=data.name,
        )
        for way in args.way
        for shot in args.shot
    ]
    start = time.perf_counter()
    model.to(device)
    results = evaluate(
        model, data.images, samplers, split=data.name, device=device, batch_size=args.batch_size
    )
    classes = int(torch.unique(data.labels).numel())
    record = {
        "checkpoint": str(args.checkpoint),
        "model": {k: v for k, v in info.items() if k != "meta"},
        "split": data.name,
        "classes": classes,
        "world_size": world_size,
        "seconds": time.perf_counter() - start,
        "results": [r.to_dict() for r in results],
        "args": args_dict(args),
    }
    if rank == 0:
        head = info["head"]["kind"]
        print(
            f"{args.checkpoint} ({info['source']}, {info['backbone']}, head {head}) on {data.name}: "
            f"{classes} classes, {args.episodes} episodes each, {args.query} queries per class, seed {args.seed}"
        )
        reference = SNELL_OMNIGLOT if data.name == "omniglot/vinyals-test" else None
        print(format_table(results, reference))
        if args.out:
            path = write_json(Path(args.out) / "eval.json", record)
            print(f"per-episode accuracies: {path}")
    return record


@_friendly
def run_eval(args: argparse.Namespace) -> int:
    """Run ``glai-ssl fewshot eval`` (:func:`evaluate_checkpoint`), then leave the process group if one is up.

    Returns:
        0 (2 for an episode or option error, see :func:`_friendly`).
    """
    try:
        evaluate_checkpoint(args)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0
