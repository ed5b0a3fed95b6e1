"""``glai-ssl probe CKPT``: kNN and linear probe (or few-shot episodes on Omniglot) of a frozen backbone."""

from __future__ import annotations

import argparse

from glai_ssl.eval.report import FEATURE_NORMS, PROBES, RawPixels, evaluate_backbone
from glai_ssl.models import load_backbone
from glai_ssl.models.checkpoint import ENCODERS
from glai_ssl.ssl.transforms import VIEW_SETTINGS
from glai_ssl.utils.runtime import (
    HelpFormatter,
    add_common_args,
    args_dict,
    check_out_dir,
    positive_float,
    positive_int,
    resolve_device,
    seed_everything,
    write_json,
)

DATASETS = ("fashion-mnist", "mnist", "omniglot", "cifar10")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``probe`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "probe",
        help="evaluate a frozen backbone: kNN + linear probe, or few-shot episodes on Omniglot",
        description="Evaluate a frozen backbone (eval mode): weighted kNN and a linear probe on a labelled dataset, "
        "or nearest-prototype episodes on Omniglot's Vinyals test classes.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "checkpoint", nargs="?", help="backbone.pt or an SSL recipe's .ckpt (omit with --raw-pixels)"
    )
    parser.add_argument(
        "--dataset", choices=DATASETS, default=None, help="default: the one the backbone was trained on"
    )
    parser.add_argument(
        "--encoder",
        choices=ENCODERS,
        default="online",
        help="of a BYOL or MoCo Lightning checkpoint: the online encoder or the momentum (target) one",
    )
    parser.add_argument(
        "--raw-pixels", action="store_true", help="probe raw pixels instead of a backbone (baseline)"
    )
    parser.add_argument("--knn-k", type=positive_int, default=200, help="neighbours of the weighted kNN vote")
    parser.add_argument("--knn-t", type=positive_float, default=0.1, help="temperature of the kNN vote")
    parser.add_argument(
        "--probe-epochs", type=positive_int, default=None, help="epochs of the adam probe (default 100)"
    )
    parser.add_argument(
        "--probe",
        choices=PROBES,
        default="adam",
        help="adam: the recipes' probe (fixed epochs); lbfgs: logistic regression to convergence with its L2 "
        "penalty chosen on a held-out sixth of the training set (Kornblith et al. 2019; six L-BFGS fits, minutes on a CPU)",
    )
    parser.add_argument(
        "--episodes", type=positive_int, default=1000, help="few-shot episodes per task (Omniglot)"
    )
    parser.add_argument(
        "--feature-norm",
        choices=FEATURE_NORMS,
        default="none",
        help="l2: unit-length features (SimpleShot's L2N; +0.7-1.7 points on Omniglot episodes)",
    )
    add_common_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``glai-ssl probe``: evaluate a backbone checkpoint (or raw pixels) and print the summary.

    The dataset defaults to the one recorded in the checkpoint; ``probe.json`` is written under ``--out`` when
    given.

    Returns:
        0.
    """
    if args.probe_epochs is not None and args.probe != "adam":
        raise SystemExit(
            "error: --probe-epochs sets the adam probe; --probe lbfgs runs to convergence without it"
        )
    if args.out is not None:
        check_out_dir(args.out)
    seed_everything(args.seed)
    device = resolve_device(args.device)
    if args.raw_pixels:
        if args.dataset is None:
            raise SystemExit("error: --raw-pixels needs --dataset (which images to probe)")
        backbone, info = RawPixels(), {"backbone": "raw-pixels", "meta": {}}
    elif args.checkpoint:
        backbone, info = load_backbone(args.checkpoint, args.encoder)
    else:
        raise SystemExit("error: give a checkpoint, or --raw-pixels for the pixel baseline")
    dataset = args.dataset or info["meta"].get("dataset")
    if dataset is None:
        raise SystemExit("error: the checkpoint does not say which dataset it was trained on; pass --dataset")
    if dataset == "omniglot" and (args.probe != "adam" or args.probe_epochs is not None):
        raise SystemExit(
            "error: Omniglot is scored by nearest-prototype episodes, not a linear probe; "
            "drop --probe and --probe-epochs"
        )
    if not args.raw_pixels:
        check_backbone_fits(info, dataset)
    result = evaluate_backbone(
        backbone,
        dataset,
        data_root=args.data_root,
        device=device,
        knn_k=args.knn_k,
        knn_t=args.knn_t,
        probe_epochs=args.probe_epochs or 100,
        seed=args.seed,
        episodes=args.episodes,
        feature_norm=args.feature_norm,
        probe=args.probe,
    )
    print(f"{info['backbone']}: {result['summary']}")
    if args.out:
        write_json(args.out / "probe.json", {"args": args_dict(args), "backbone": info["backbone"], **result})
    return 0


def check_backbone_fits(info: dict, dataset: str) -> None:
    """Refuse a backbone recorded for images of another shape than ``dataset``'s, before any data is read (a
    1-channel backbone cannot take colour images; a Conv-4 trained at 84 px gives other features at 28 px)."""
    settings = VIEW_SETTINGS[dataset]
    channels, size = len(settings.mean), settings.input_size
    if (info["in_channels"], info["image_size"]) != (channels, size):
        raise SystemExit(
            f"error: the {info['backbone']} backbone takes {info['in_channels']}x{info['image_size']}x"
            f"{info['image_size']} images, {dataset} has {channels}x{size}x{size}; pass --dataset with images "
            "of its shape (an Omniglot backbone of another size: glai-ssl fewshot eval loads the episodes at it)"
        )
