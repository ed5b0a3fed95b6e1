"""Pretrain a backbone with an SSL method and an MLP or GLAI projector; evaluate it; on one or many devices.

The recipes in ``recipes/`` call :func:`main` with their defaults; ``glai-ssl pretrain`` exposes the same flags.
Outputs under ``--out``: ``checkpoints/`` (Lightning, resumable with ``--resume``), ``logs/`` (CSV and
TensorBoard), ``backbone.pt`` (for ``glai-ssl probe`` and ``glai-ssl fewshot eval``) and ``results.json``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytorch_lightning as pl
import torch
from lightly.transforms import BYOLTransform, SimCLRTransform
from pytorch_lightning.callbacks import TQDMProgressBar
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.strategies import DDPStrategy
from pytorch_lightning.utilities.exceptions import MisconfigurationException
from torch.utils.data import DataLoader

from glai_ssl.data import LabelledImages, load_dataset
from glai_ssl.eval.report import FEATURE_NORMS
from glai_ssl.glai import GLAI_HEAD_DEFAULTS, StabilityConfig
from glai_ssl.models import BACKBONES, CheckpointError, Normalized, save_backbone
from glai_ssl.models.checkpoint import check_same_config, read_payload
from glai_ssl.ssl.callbacks import (
    EvaluationCallback,
    GLAIStructureCallback,
    StopAfterEpochs,
    TrainingClock,
    epoch_checkpoint,
)
from glai_ssl.ssl.data import EpochShardSampler, SeededViews
from glai_ssl.ssl.methods import METHODS
from glai_ssl.ssl.module import SSLModule
from glai_ssl.ssl.transforms import VIEW_SETTINGS, byol_transform, changed_settings, simclr_transform
from glai_ssl.utils.batchnorm import convert_global_batchnorm
from glai_ssl.utils.runtime import (
    NO_REFIT,
    HelpFormatter,
    add_common_args,
    add_pruning_args,
    args_dict,
    check_out_dir,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    pruning_error,
    resolve_device,
    setup_logging,
    unit_interval,
    write_json,
)

#: dataset -> (pretraining split, evaluation bank split, evaluation test split, default backbone).
#: 28x28 datasets scored by a linear probe get Conv-4 pooled after its first two blocks only (``conv4-pool2``,
#: 3136 features). Its probe gain is read-out width, not better training: random-init it probes 85.8% on
#: Fashion-MNIST against 84.2% for ``conv4-nopool`` (576 features, the default until session 23) and 76.6% for
#: Conv-4's 64; BYOL's MLP went from 87.67% (four seeds, ``conv4-nopool``) to 88.88%. Omniglot, scored by
#: prototypes, keeps Snell's 64-feature Conv-4 (on an SSL-pretrained Conv-4, prototypes of its 576-feature map
#: before the last pool scored 52.2% against 60.5% for its 64 features on 20-way 1-shot Vinyals test episodes).
DATASET_SPLITS = {
    "fashion-mnist": ("train", "train", "test", "conv4-pool2"),
    "mnist": ("train", "train", "test", "conv4-pool2"),
    "omniglot": ("vinyals-train", None, "vinyals-test", "conv4"),
    "cifar10": ("train", "train", "test", "resnet18-cifar"),
}


#: The recipes' CPU defaults: Fashion-MNIST (``conv4-pool2``), 20k images, 8 epochs, and a GLAI structure budget
#: of 2 epochs, so that a GLAI projector spends the rest of the run in Phase 2 (with the library's gate-stability
#: rule alone, 5 epochs were not enough for 3 stable checks in a row). BYOL's GLAI default: 17.4 min alone on 2 cores,
#: 26-30 min beside another run; SimCLR 18-22 min beside another run (session 23; ``results/ssl/README.md``).
CPU_RECIPE_DEFAULTS = {
    "dataset": "fashion-mnist",
    "train_size": 20000,
    "epochs": 8,
    "batch_size": 256,
    "lr": 1e-3,
    "glai_max_structure_epochs": 2.0,
}

#: ``GLAI_HEAD_DEFAULTS`` as recipe flags (``glai_path_ratio`` ...): the SimCLR and BYOL recipes' GLAI heads
GLAI_HEAD_FLAGS = {f"glai_{name}": value for name, value in GLAI_HEAD_DEFAULTS.items()}


def build_parser(method: str | None = None, defaults: dict | None = None) -> argparse.ArgumentParser:
    """The pretraining flags; a recipe fixes ``method`` and passes its own ``defaults``."""
    parser = argparse.ArgumentParser(
        description=f"Pretrain a backbone with {method or 'an SSL method'} and an MLP or GLAI projector.",
        formatter_class=HelpFormatter,
    )
    if method is None:
        parser.add_argument("--method", required=True, choices=list(METHODS))
    parser.add_argument(
        "--dataset", default="fashion-mnist", choices=list(DATASET_SPLITS), help="images to pretrain on"
    )
    parser.add_argument(
        "--backbone",
        default=None,
        help=f"one of {', '.join(BACKBONES)}; unset: "
        + ", ".join(f"{splits[3]} on {name}" for name, splits in DATASET_SPLITS.items()),
    )
    parser.add_argument(
        "--head", default="mlp", choices=("mlp", "glai"), help="projector (and predictor) kind"
    )
    parser.add_argument("--hidden-dim", type=positive_int, default=512, help="projector hidden width")
    parser.add_argument("--output-dim", type=positive_int, default=128, help="projector output width")
    parser.add_argument(
        "--epochs", type=int, default=10, help="pretraining epochs (the cosine schedule's length)"
    )
    parser.add_argument("--batch-size", type=int, default=256, help="per device")
    parser.add_argument(
        "--optimizer", default="adam", choices=("adam", "sgd", "lars"), help="adam means AdamW"
    )
    parser.add_argument(
        "--lr", type=positive_float, default=1e-3, help="peak learning rate, cosine-decayed per step"
    )
    parser.add_argument(
        "--predictor-lr-ratio",
        type=positive_float,
        default=1.0,
        help="the predictor's lr as a multiple of --lr, cosine-decayed like the rest (BYOL, SimSiam)",
    )
    parser.add_argument(
        "--weight-decay", type=non_negative_float, default=1e-6, help="on the method's parameters"
    )
    parser.add_argument(
        "--warmup-epochs", type=non_negative_float, default=0.0, help="linear warmup of the learning rate"
    )
    parser.add_argument(
        "--momentum",
        type=float,
        nargs=2,
        metavar=("START", "END"),
        default=None,
        help="momentum encoder's EMA momentum, cosine-scheduled from START to END (BYOL, MoCo); unset: 0.99 1.0",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="NT-Xent temperature (SimCLR, MoCo)"
        + (
            ""
            if defaults and "temperature" in defaults
            else "; unset: the method's own, 0.5 for SimCLR, 0.2 for MoCo"
        ),
    )
    parser.add_argument(
        "--view",
        action="extend",
        nargs="+",
        default=[],
        metavar="FIELD=VALUE",
        help="change the dataset's view settings (ViewSettings in glai_ssl/ssl/transforms.py), "
        "e.g. --view rr_prob=0.5 rr_degrees=15 (or --view rr_prob=0.5 --view rr_degrees=15)",
    )
    parser.add_argument(
        "--train-size",
        type=non_negative_int,
        default=None,
        help="pretrain on a random subset of this size (0: all)",
    )
    parser.add_argument("--workers", type=non_negative_int, default=1, help="data loader workers per device")
    parser.add_argument("--devices", type=positive_int, default=1, help="number of devices (processes)")
    parser.add_argument("--strategy", default="auto", help="auto | ddp (gloo on CPU, NCCL on GPU)")
    parser.add_argument("--precision", default="32-true", help="Lightning precision, e.g. bf16-mixed on GPU")
    parser.add_argument(
        "--eval-every",
        type=non_negative_int,
        default=0,
        help="kNN accuracy every N epochs during pretraining (0: off)",
    )
    parser.add_argument(
        "--eval-size", type=positive_int, default=10000, help="bank size of that periodic kNN"
    )
    parser.add_argument(
        "--eval-probe-epochs",
        type=non_negative_int,
        default=0,
        help="also a linear probe of that many epochs at each evaluation",
    )
    parser.add_argument("--knn-k", type=positive_int, default=200, help="neighbours of the kNN evaluation")
    parser.add_argument("--knn-t", type=positive_float, default=0.1, help="temperature of its weighted vote")
    parser.add_argument(
        "--probe-epochs", type=positive_int, default=100, help="linear probe epochs in the final evaluation"
    )
    parser.add_argument(
        "--feature-norm",
        choices=FEATURE_NORMS,
        default="none",
        help="final evaluation on L2-normalised features (l2: SimpleShot's L2N, helps Omniglot episodes)",
    )
    parser.add_argument(
        "--no-final-eval", action="store_true", help="skip the final kNN / probe / few-shot evaluation"
    )
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        help="Lightning checkpoint to resume from (e.g. OUT/checkpoints/last.ckpt)",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=-1,
        help="stop after this many optimizer steps (testing; -1: no limit); the schedules shrink to it too",
    )
    parser.add_argument("--log-every", type=positive_int, default=10, help="log metrics every N steps")
    parser.add_argument(
        "--stop-after-epochs",
        type=positive_int,
        default=None,
        help="stop (as if interrupted) after this many epochs, keeping the --epochs schedule; resume with --resume",
    )
    glai = parser.add_argument_group(
        "GLAI head options (with --head glai; None: the library's default, docs/glai.md)"
    )
    glai.add_argument(
        "--glai-structure-width", type=positive_int, default=None, help="width of the structure net S"
    )
    glai.add_argument(
        "--glai-path-ratio", type=positive_float, default=None, help="paths of S per MLP parameter"
    )
    glai.add_argument(
        "--glai-path-scale", type=positive_float, default=None, help="path weights used as scale * theta"
    )
    add_pruning_args(
        glai, prefix="glai-", refit_help="; off: none, also where a recipe defaults to one", allow_off=True
    )
    glai.add_argument(
        "--glai-tau", type=unit_interval, default=None, help="gate-flip share counted as stable"
    )
    glai.add_argument(
        "--glai-patience", type=positive_int, default=None, help="stable checks in a row to freeze"
    )
    glai.add_argument(
        "--glai-check-every", type=positive_int, default=None, help="optimizer steps between stability checks"
    )
    glai.add_argument(
        "--glai-max-structure-epochs",
        type=positive_float,
        default=None,
        help="freeze after this many epochs at the latest",
    )
    glai.add_argument(
        "--glai-probe-size", type=positive_int, default=256, help="images of the fixed probe batch"
    )
    add_common_args(parser, out=f"runs/{method or 'ssl'}")
    if defaults:
        parser.set_defaults(**defaults)
    return parser


#: flags of the kNN and linear probe evaluations, unused on a dataset scored by few-shot episodes (Omniglot)
LABELLED_EVAL_FLAGS = ("knn_k", "knn_t", "probe_epochs", "eval_size", "eval_probe_epochs")


def _changed_flags(parser: argparse.ArgumentParser, args: argparse.Namespace, dests) -> list[str]:
    return [
        action.option_strings[0]
        for action in parser._actions
        if action.dest in dests and getattr(args, action.dest) != parser.get_default(action.dest)
    ]


def check_unused_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse flags changed from ``parser``'s defaults that the run would ignore without a word: ``--glai-*``
    with an MLP head, and the kNN / probe flags on a dataset scored by few-shot episodes (as :func:`validate`
    refuses ``--momentum`` on a method without a momentum encoder)."""
    if args.head == "mlp":
        glai = [action.dest for action in parser._actions if action.dest.startswith("glai_")]
        changed = _changed_flags(parser, args, glai)
        if changed:
            parser.error(f"{', '.join(changed)} apply to GLAI heads: add --head glai, or drop them")
    if DATASET_SPLITS[args.dataset][1] is None:
        changed = _changed_flags(parser, args, LABELLED_EVAL_FLAGS)
        if changed:
            parser.error(
                f"{', '.join(changed)} set the kNN and linear probe, but {args.dataset} is scored by few-shot "
                "episodes on its test classes: drop them"
            )


def run_recipe(method: str, defaults: dict, argv: list[str] | None = None) -> int:
    """A recipe's entry point: parse ``argv`` with the recipe's ``defaults``, pretrain with ``method`` and
    evaluate; a data or checkpoint error is reported in a few lines (exit status 2), as ``glai-ssl`` does."""
    from glai_ssl.cli import report_errors

    parser = build_parser(method, defaults)
    args = parser.parse_args(argv)
    check_unused_flags(parser, args)
    return report_errors(lambda: main(args, method=method), prog=f"{method} recipe")


def glai_options(args: argparse.Namespace, steps_per_epoch: int) -> dict:
    """GLAI head options from the flags (``None`` flags keep the library's defaults)."""
    options: dict = {}
    for flag, key in (
        ("glai_structure_width", "structure_widths"),
        ("glai_path_ratio", "path_ratio"),
        ("glai_path_scale", "path_scale"),
        ("glai_prune", "prune"),
        ("glai_refit_ridge", "refit_ridge"),
    ):
        if getattr(args, flag) not in (None, NO_REFIT):
            options[key] = getattr(args, flag)
    stability = {"probe_size": args.glai_probe_size}
    for flag, key in (
        ("glai_tau", "tau"),
        ("glai_patience", "patience"),
        ("glai_check_every", "check_every"),
    ):
        if getattr(args, flag) is not None:
            stability[key] = getattr(args, flag)
    if args.glai_max_structure_epochs is not None:
        stability["max_steps"] = max(1, round(args.glai_max_structure_epochs * steps_per_epoch))
    options["stability"] = asdict(
        StabilityConfig(**stability)
    )  # plain data: checkpoints load with weights_only
    options["auto_freeze"] = False  # the GLAIStructureCallback drives the switch
    return options


def validate(args: argparse.Namespace, method: str, data: LabelledImages) -> None:
    """Fail before any work on configurations that cannot run."""
    if method not in METHODS:
        raise SystemExit(f"error: unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if args.backbone not in BACKBONES:
        raise SystemExit(f"error: unknown backbone {args.backbone!r}; choose one of {', '.join(BACKBONES)}")
    minimum = BACKBONES[args.backbone].min_size
    if data.image_size < minimum:
        raise SystemExit(
            f"error: backbone {args.backbone} needs images of at least {minimum}px, {args.dataset} has {data.image_size}px"
        )
    if args.batch_size < METHODS[method].min_batch_size:
        raise SystemExit(
            f"error: --batch-size {args.batch_size} is too small: {method}'s loss needs at least "
            f"{METHODS[method].min_batch_size} samples per batch (negatives or batch statistics)"
        )
    if args.epochs < 1:
        raise SystemExit("error: --epochs must be >= 1")
    if args.max_steps == 0 or args.max_steps < -1:
        raise SystemExit(
            f"error: --max-steps {args.max_steps}: give a number of steps >= 1, or -1 for no limit"
        )
    if args.train_size and args.train_size > len(data):
        raise SystemExit(
            f"error: --train-size {args.train_size} exceeds the {len(data)} images of {data.name}; "
            "give a smaller size, or 0 for all of them"
        )
    images = args.train_size or len(data)
    if images < args.devices * args.batch_size:
        raise SystemExit(
            f"error: {images} images cannot fill one global batch of {args.devices} device(s) x {args.batch_size}; "
            "lower --batch-size or raise --train-size"
        )
    if args.eval_every and DATASET_SPLITS[args.dataset][1] is None:
        raise SystemExit(
            f"error: --eval-every: {args.dataset} has no labelled bank for a periodic kNN (its classes are scored "
            "by few-shot episodes in the final evaluation); drop --eval-every"
        )
    refit_ridge = None if args.glai_refit_ridge == NO_REFIT else args.glai_refit_ridge
    problem = pruning_error(args.glai_prune, refit_ridge, prefix="glai-")
    if problem:
        raise SystemExit(f"error: {problem}")
    try:
        make_views(method)(args.dataset, **view_overrides(args.view))
    except ValueError as error:
        raise SystemExit(f"error: --view: {error}") from None
    if args.momentum is not None:
        if not METHODS[method].momentum_encoder:
            with_momentum = ", ".join(name for name, cls in METHODS.items() if cls.momentum_encoder)
            raise SystemExit(
                f"error: --momentum applies to methods with a momentum encoder ({with_momentum}), not {method}"
            )
        if not all(0.0 <= m <= 1.0 for m in args.momentum):
            raise SystemExit(
                f"error: --momentum {args.momentum[0]} {args.momentum[1]}: both must be in [0, 1]"
            )
    if args.predictor_lr_ratio != 1.0 and not METHODS[method].has_predictor:
        with_predictor = ", ".join(name for name, cls in METHODS.items() if cls.has_predictor)
        raise SystemExit(
            f"error: --predictor-lr-ratio applies to methods with a predictor ({with_predictor}), not {method}"
        )
    if args.temperature is not None:
        if not METHODS[method].has_temperature:
            with_temperature = ", ".join(name for name, cls in METHODS.items() if cls.has_temperature)
            raise SystemExit(
                f"error: --temperature applies to methods with an NT-Xent loss ({with_temperature}), not {method}"
            )
        if not math.isfinite(args.temperature) or args.temperature <= 0.0:
            raise SystemExit(f"error: --temperature {args.temperature:g}: give a value > 0, e.g. 0.2")


def method_options(args: argparse.Namespace) -> dict:
    """The method's own options from the flags; unset flags are left out, so the method's defaults apply."""
    options: dict = {}
    if args.momentum is not None:
        options["momentum"] = list(args.momentum)
    if args.temperature is not None:
        options["temperature"] = args.temperature
    return options


def view_overrides(items: list[str]) -> dict[str, float]:
    """``["rr_prob=0.5", ...]`` from ``--view`` as ``{"rr_prob": 0.5, ...}``."""
    overrides = {}
    for item in items:
        field, _, value = item.partition("=")
        try:
            overrides[field.strip()] = float(value)
        except ValueError:
            raise SystemExit(
                f"error: --view {item!r}: expected FIELD=NUMBER, e.g. --view rr_degrees=15"
            ) from None
    return overrides


def make_views(method: str) -> Callable[..., BYOLTransform | SimCLRTransform]:
    """The two-view transform builder of ``method``: BYOL's asymmetric views or SimCLR's symmetric ones."""
    return byol_transform if METHODS[method].transform == "byol" else simclr_transform


#: config keys added after checkpoints were written, with the value those checkpoints trained under
#: (``max_steps``: as if unlimited; a pre-session-21 run cut short by ``--max-steps`` is test-sized anyway)
CONFIG_KEYS_ADDED_LATER = {"predictor_lr_ratio": 1.0, "max_steps": -1}


def check_resume(path: Path, config: dict) -> None:
    """Fail before training when ``path`` is not a recipe checkpoint or was written under another ``config``
    (``channels_last``, a per-device layout choice that checkpoints before session 18 recorded, is ignored; view
    settings equal to the dataset's defaults count as unset)."""
    try:
        payload = read_payload(path, "cannot resume: checkpoint")
        hparams = payload.get("hyper_parameters") if isinstance(payload, dict) else None
        saved = hparams.get("config") if isinstance(hparams, dict) else None
        if not isinstance(saved, dict):
            raise CheckpointError(
                f"cannot resume: {path} is not a checkpoint of the SSL recipes (no 'config' hyper-parameter); "
                "pass OUT/checkpoints/last.ckpt of an earlier run"
            )
        saved = {**CONFIG_KEYS_ADDED_LATER, **saved}  # checkpoints written before a key existed
        if saved.get("dataset") in VIEW_SETTINGS:  # before session 20 a default spelled out was recorded too
            saved["views"] = changed_settings(saved["dataset"], saved.get("views") or {})
        check_same_config(path, saved, config, sorted((set(saved) | set(config)) - {"channels_last"}))
    except CheckpointError as error:
        raise SystemExit(f"error: {error}") from None


def normalised(data: LabelledImages, dataset: str) -> torch.Tensor:
    """``(N, C, H, W)`` float images normalised like the training views (for evaluation and probes)."""
    settings = VIEW_SETTINGS[dataset]
    mean = torch.tensor(settings.mean).view(1, -1, 1, 1)
    std = torch.tensor(settings.std).view(1, -1, 1, 1)
    return (data.to_float() - mean) / std


def main(args: argparse.Namespace, method: str | None = None) -> dict:
    """Pretrain a backbone with ``method`` (default: ``args.method``), save it and evaluate it.

    Loads the data, builds an :class:`SSLModule` and trains it with Lightning (resumable with ``--resume``);
    rank 0 then writes ``OUT/backbone.pt``, runs the final evaluation unless ``--no-final-eval`` and writes
    ``OUT/results.json``.

    Returns:
        The results record on rank 0, ``{}`` on the other ranks.
    """
    method = method or args.method
    args.method = method
    split, bank_split, test_split, default_backbone = DATASET_SPLITS[args.dataset]
    args.backbone = args.backbone or default_backbone
    out = check_out_dir(args.out)
    earlier = out / "checkpoints" / "last.ckpt"
    if earlier.exists() and (args.resume is None or Path(args.resume).resolve() != earlier.resolve()):
        raise SystemExit(
            f"error: {out} already holds a run ({earlier}); continue it with --resume {earlier}, or give another "
            "--out (or remove that folder) to start afresh"
        )
    log = setup_logging(out, "pretrain")
    device = resolve_device(args.device)
    pl.seed_everything(args.seed, workers=True, verbose=False)
    train = load_dataset(args.dataset, split, data_root=args.data_root, download=args.download)
    validate(args, method, train)
    if args.train_size:
        generator = torch.Generator().manual_seed(args.seed)
        train = train.subset(torch.randperm(len(train), generator=generator)[: args.train_size])
    world = args.devices
    steps_per_epoch = len(train) // (world * args.batch_size)
    views = view_overrides(args.view)
    transform = make_views(method)(args.dataset, **views)
    config = {
        "method": method,
        "backbone": args.backbone,
        "in_channels": train.channels,
        "image_size": train.image_size,
        "head": args.head,
        "hidden_dim": args.hidden_dim,
        "output_dim": args.output_dim,
        "glai_options": glai_options(args, steps_per_epoch) if args.head == "glai" else None,
        "method_options": method_options(args),
        "gather_distributed": world > 1,
        "num_classes": train.num_classes,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "predictor_lr_ratio": args.predictor_lr_ratio,
        "weight_decay": args.weight_decay,
        "warmup_epochs": args.warmup_epochs,
        "max_epochs": args.epochs,
        "max_steps": args.max_steps,  # the schedules' length when it cuts the run short
        "dataset": args.dataset,
        "normalize": VIEW_SETTINGS[args.dataset].normalize,
        # not read by the module; kept so that --resume refuses a run of another configuration
        "views": changed_settings(args.dataset, views),
        "train_size": args.train_size,
        "batch_size": args.batch_size,
        "devices": world,
        "seed": args.seed,
    }
    if args.resume is not None:
        check_resume(args.resume, config)
    try:
        module = SSLModule(config)
    except ValueError as error:  # a head or method option the flags' types could not check alone
        raise SystemExit(f"error: {error}") from None
    if world > 1 and device.type == "cpu":
        convert_global_batchnorm(module)  # SyncBatchNorm is GPU-only; this one all-reduces over gloo
    clock = TrainingClock()
    callbacks = [epoch_checkpoint(out / "checkpoints"), TQDMProgressBar(refresh_rate=10), clock]
    probe_images = normalised(train.subset(range(min(args.glai_probe_size, len(train)))), args.dataset)
    if args.head == "glai":
        callbacks.append(GLAIStructureCallback(probe_images))
    eval_callback = None
    if args.eval_every and bank_split is not None:
        bank = load_dataset(args.dataset, bank_split, data_root=args.data_root)
        test = load_dataset(args.dataset, test_split, data_root=args.data_root)
        bank = bank.subset(torch.arange(min(args.eval_size, len(bank))))
        eval_callback = EvaluationCallback(
            (normalised(bank, args.dataset), bank.labels),
            (normalised(test, args.dataset), test.labels),
            args.eval_every,
            args.knn_k,
            args.knn_t,
            probe_epochs=args.eval_probe_epochs,
        )
        callbacks.append(eval_callback)
    if args.stop_after_epochs is not None:
        callbacks.append(StopAfterEpochs(args.stop_after_epochs))
    loggers = [CSVLogger(out / "logs", name="csv")]
    try:
        from pytorch_lightning.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(out / "logs", name="tensorboard"))
    except ModuleNotFoundError:
        pass
    strategy = args.strategy
    if strategy == "ddp":
        strategy = DDPStrategy(
            find_unused_parameters=args.head == "glai",
            process_group_backend="nccl" if device.type == "cuda" else "gloo",
        )
    try:
        trainer = pl.Trainer(
            max_epochs=args.epochs,
            max_steps=args.max_steps,
            accelerator=device.type,
            devices=world,
            strategy=strategy,
            sync_batchnorm=world > 1 and device.type == "cuda",
            precision=args.precision,
            callbacks=callbacks,
            logger=loggers,
            log_every_n_steps=args.log_every,
            use_distributed_sampler=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
        )
    except (ValueError, MisconfigurationException) as error:  # --strategy, --precision, --devices
        raise SystemExit(f"error: Lightning refused the run's settings: {error}") from None
    loader = DataLoader(
        SeededViews(train, transform, seed=args.seed),
        batch_size=args.batch_size,
        sampler=EpochShardSampler(len(train), args.batch_size, args.seed, trainer.global_rank, world),
        num_workers=args.workers,
        persistent_workers=args.workers > 0,
        drop_last=True,
    )
    trainer.fit(module, train_dataloaders=loader, ckpt_path=args.resume)
    train_seconds = clock.seconds  # of the whole run, across a resume
    if not trainer.is_global_zero:
        return {}
    backbone_file = save_backbone(
        out / "backbone.pt",
        args.backbone,
        module.backbone,
        in_channels=train.channels,
        image_size=train.image_size,
        normalize=config["normalize"],
        meta={"method": method, "head": args.head, "dataset": args.dataset, "epochs": args.epochs},
    )
    result = {
        "args": args_dict(args),
        "method": method,
        "head": args.head,
        "train_seconds": train_seconds,
        "steps": trainer.global_step,
        "backbone_file": backbone_file,
        "eval_history": eval_callback.history if eval_callback else [],
        "head_parameters": sum(
            p.numel()
            for name, p in module.method.named_parameters()
            if name.startswith(("projection_head.", "prediction_head."))
        ),
    }
    for name, head in module.method.online_glai_heads().items():
        result.setdefault("glai", {})[name] = head.summary()
    if not args.no_final_eval:
        from glai_ssl.eval.report import evaluate_backbone

        result["evaluation"] = evaluate_backbone(
            Normalized(module.backbone, **config["normalize"]),
            args.dataset,
            data_root=args.data_root,
            device=device,
            knn_k=args.knn_k,
            knn_t=args.knn_t,
            probe_epochs=args.probe_epochs,
            seed=args.seed,
            feature_norm=args.feature_norm,
        )
        log.info(f"evaluation: {result['evaluation']['summary']}")
    write_json(out / "results.json", result)
    log.info(
        f"{method} with a {args.head} head: {train_seconds:.0f} s of training; results in {out / 'results.json'}"
    )
    return result
