"""Episodic training and evaluation of prototypical networks (Snell et al. 2017), torchvision reference style:
:func:`train_one_epoch`, :func:`evaluate`, :func:`main`.

Reference protocol (the defaults of ``glai-ssl fewshot train``): Omniglot, Vinyals split with rotations as
classes, 28x28, Conv-4, squared Euclidean distance, 60-way 5-shot 5-query training episodes, Adam lr 1e-3
halved every 20 epochs of 100 episodes, model selection on the validation classes.

Evaluation embeds the whole split once in eval mode (an image's embedding does not depend on its episode), then
runs every episode on the cached embeddings. Distributed evaluation gives episode ``i`` to rank
``i % world_size`` and gathers the per-episode accuracies before the confidence interval.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from glai_ssl.data import LabelledImages, load_dataset
from glai_ssl.fewshot.checkpoint import RESUME_KEYS, load_checkpoint, restore_random_states, save_checkpoint
from glai_ssl.fewshot.episodes import (
    EpisodeSampler,
    EpisodeSource,
    EpisodeSpec,
    TensorEpisodes,
    check_spec,
    resolve_backend,
)
from glai_ssl.fewshot.model import HeadConfig, build_model, model_payload, save_model
from glai_ssl.fewshot.protonet import ProtoNet, squared_euclidean
from glai_ssl.fewshot.stats import Summary, confidence_interval
from glai_ssl.glai import GLAI, GLAI_HEAD_DEFAULTS, StabilityConfig
from glai_ssl.models import CheckpointError, load_backbone, make_backbone, save_backbone
from glai_ssl.utils.progress import progress
from glai_ssl.utils.runtime import (
    NO_REFIT,
    args_dict,
    pruning_error,
    resolve_device,
    seed_everything,
    setup_logging,
    write_json,
)

CHECKPOINT = "checkpoint.pt"
BEST_MODEL = "model_best.pt"
BEST_BACKBONE = "backbone_best.pt"


# ---------------------------------------------------------------------------------------------- inputs
def uint8_to_float(batch: Tensor) -> Tensor:
    """uint8 images ``(B, H, W)`` or ``(B, H, W, C)`` to float ``(B, C, H, W)`` in [0, 1], contiguous (see
    ``results/ssl/channels_last_check.py`` for why not channels-last on CPU)."""
    x = batch.float().div_(255.0)
    return x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2).contiguous()


def as_input(batch: Tensor) -> Tensor:
    """Model input from a batch of stored samples: uint8 images are converted, anything else kept."""
    return uint8_to_float(batch) if batch.dtype == torch.uint8 else batch


def dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@torch.no_grad()
def embed(
    model: ProtoNet,
    inputs: Tensor,
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 512,
    desc: str = "embed",
) -> Tensor:
    """Embeddings ``(N, E)`` on CPU of ``inputs`` (uint8 images or features), in eval mode (mode restored)."""
    was_training = model.training
    model.eval()
    chunks = []
    try:
        for start in progress(range(0, len(inputs), batch_size), desc=desc, unit="batch"):
            batch = as_input(inputs[start : start + batch_size].to(device, non_blocking=True))
            chunks.append(model.embed(batch).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(chunks)


# ---------------------------------------------------------------------------------------------- evaluation
@dataclass
class EvalResult:
    """Accuracy over the episodes of one specification on one split."""

    split: str
    spec: EpisodeSpec
    seed: int
    backend: str
    summary: Summary
    accuracies: list[float]
    seconds: float

    def to_dict(self) -> dict:
        """A JSON-friendly record: split, spec, episode count, seed, backend, mean/ci95/std, seconds, accuracies."""
        return {
            "split": self.split,
            **asdict(self.spec),
            "episodes": self.summary.n,
            "seed": self.seed,
            "backend": self.backend,
            **{k: v for k, v in asdict(self.summary).items() if k != "n"},
            "seconds": self.seconds,
            "accuracies": self.accuracies,
        }


@torch.no_grad()
def episode_accuracies(
    embeddings: Tensor, sampler: EpisodeSampler, max_elements: int = 1 << 24
) -> dict[int, float]:
    """``{episode index: query accuracy}`` for this rank's episodes of ``sampler``, on cached embeddings.

    Episodes are scored in blocks (one batched prototype/distance computation per block, at most
    ``max_elements`` floats of query-prototype differences): thousands of tiny per-episode ops would cost more
    in thread wake-ups than in arithmetic.
    """
    spec = sampler.spec
    dim = embeddings.shape[1]
    block = max(1, max_elements // (spec.way * spec.query * spec.way * dim))
    labels = spec.labels(spec.query)
    ids = list(sampler.episode_ids)
    accuracies = {}
    for start in range(0, len(ids), block):
        chunk = ids[start : start + block]
        index = torch.tensor([sampler.episode(i) for i in chunk])
        grouped = embeddings[index].view(len(chunk), spec.way, spec.per_class, dim)
        centres = grouped[:, :, : spec.shot].mean(2)  # (B, way, D): prototypes, Snell et al. eq. 1
        queries = grouped[:, :, spec.shot :].reshape(len(chunk), spec.way * spec.query, dim)
        predicted = squared_euclidean(queries, centres).argmin(-1)
        accuracies.update(zip(chunk, (predicted == labels).float().mean(1).tolist()))
    return accuracies


def gather_accuracies(local: dict[int, float], sampler: EpisodeSampler) -> list[float]:
    """All ranks' per-episode accuracies in episode order (``all_gather_object``; local when not distributed)."""
    if sampler.world_size > 1:
        parts: list[dict[int, float]] = [{} for _ in range(sampler.world_size)]
        dist.all_gather_object(parts, local)
        merged = {k: v for part in parts for k, v in part.items()}
    else:
        merged = dict(local)
    expected = range(sampler.start, sampler.start + sampler.num_episodes)
    if sorted(merged) != list(expected):
        raise RuntimeError(f"gathered {len(merged)} episode accuracies, expected episodes {expected}")
    return [merged[i] for i in expected]


def evaluate_embeddings(embeddings: Tensor, sampler: EpisodeSampler, split: str) -> EvalResult:
    """Mean accuracy +- 95% CI of the sampler's episodes (all ranks together) on cached embeddings."""
    start = time.perf_counter()
    accuracies = gather_accuracies(episode_accuracies(embeddings, sampler), sampler)
    return EvalResult(
        split,
        sampler.spec,
        sampler.seed,
        sampler.backend,
        confidence_interval(accuracies),
        accuracies,
        time.perf_counter() - start,
    )


def evaluate(
    model: ProtoNet,
    inputs: Tensor,
    samplers: list[EpisodeSampler],
    *,
    split: str,
    device: torch.device | str = "cpu",
    batch_size: int = 512,
) -> list[EvalResult]:
    """Embed ``inputs`` once (eval mode), then evaluate each sampler's episodes on the cached embeddings.

    Args:
        model: the network; its backbone and head are put in eval mode while embedding.
        inputs: uint8 images or features, row ``j`` labelled as the samplers' labels ``j``.
        samplers: one per episode specification (e.g. 5/20-way, 1/5-shot); their ``rank``/``world_size`` split
            the episodes across processes.
        split: the split's name, recorded in the results.
    """
    start = time.perf_counter()
    embeddings = embed(model, inputs, device=device, batch_size=batch_size, desc=f"embed {split}")
    embed_seconds = time.perf_counter() - start
    results = [evaluate_embeddings(embeddings, sampler, split) for sampler in samplers]
    for result in results:
        result.seconds += embed_seconds / len(results)
    return results


# ---------------------------------------------------------------------------------------------- training
def train_one_epoch(
    model: ProtoNet,
    source: EpisodeSource,
    optimizer: torch.optim.Optimizer,
    episode_ids: range,
    *,
    device: torch.device | str = "cpu",
    epoch: int = 0,
) -> dict:
    """One pass over the episodes ``episode_ids``: prototypical loss on the queries, one step per episode.

    Returns:
        ``{"loss", "accuracy", "episodes", "seconds"}`` averaged over the episodes.
    """
    model.train()
    total_loss, total_accuracy = 0.0, 0.0
    start = time.perf_counter()
    for index in progress(episode_ids, desc=f"epoch {epoch}", unit="episode"):
        episode = source.episode(index)
        support = episode.support.to(device, non_blocking=True)
        query = episode.query.to(device, non_blocking=True)
        query_labels = episode.query_labels.to(device)
        logits = model(support, episode.support_labels.to(device), query)
        loss = F.cross_entropy(logits, query_labels)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at episode {index} of epoch {epoch}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        total_accuracy += (logits.argmax(1) == query_labels).float().mean().item()
    count = max(len(episode_ids), 1)
    return {
        "loss": total_loss / count,
        "accuracy": total_accuracy / count,
        "episodes": len(episode_ids),
        "seconds": time.perf_counter() - start,
    }


def head_config(args: argparse.Namespace) -> HeadConfig:
    """The head of the run; GLAI options left unset take :data:`GLAI_HEAD_DEFAULTS`, then the library's defaults.

    A GLAI head whose default probe batch is larger than a training episode gets a probe of one episode: the
    block fills its probe from the first training batches, and a probe still filling between two stability
    checks would be compared at two sizes.
    """
    glai = {}
    if args.head == "glai":
        prune = args.prune or GLAI_HEAD_DEFAULTS["prune"]
        refit_ridge = args.refit_ridge
        if refit_ridge is None and prune == "features":
            refit_ridge = GLAI_HEAD_DEFAULTS["refit_ridge"]
        elif refit_ridge == NO_REFIT:
            refit_ridge = None
        for key, value in (
            ("structure_widths", args.structure_width),
            ("path_ratio", GLAI_HEAD_DEFAULTS["path_ratio"] if args.path_ratio is None else args.path_ratio),
            ("path_scale", GLAI_HEAD_DEFAULTS["path_scale"] if args.path_scale is None else args.path_scale),
            ("prune", prune),
            ("refit_ridge", refit_ridge),
        ):
            if value is not None:
                glai[key] = value
        stability = {
            key: value
            for key, value in (
                ("tau", args.tau),
                ("check_every", args.check_every),
                ("max_steps", args.max_structure_steps),
            )
            if value is not None
        }
        problem = pruning_error(prune, refit_ridge)
        if problem:
            raise ValueError(problem)
        episode_size = args.way * (args.shot + args.query)
        if episode_size < StabilityConfig().probe_size:
            stability["probe_size"] = episode_size
        if stability:
            glai["stability"] = stability
    return HeadConfig(args.head, args.head_hidden_dim, args.head_output_dim, glai)


def resume_config(args: argparse.Namespace, head: HeadConfig, backend: str) -> dict:
    """The options a checkpoint must share to be resumed (:data:`RESUME_KEYS`)."""
    values = args_dict(args)
    config = {key: values.get(key) for key in RESUME_KEYS}
    config.update(glai=head.glai, episode_backend=backend)
    config["val_shot"] = args.val_shot or args.shot
    return config


def _glai_record(head: nn.Module) -> dict | None:
    if not isinstance(head, GLAI):
        return None
    return head.summary()


def first_classes(data: LabelledImages, max_classes: int | None) -> LabelledImages:
    """The samples of the first ``max_classes`` classes (all of them for ``None``)."""
    if max_classes is None or max_classes >= data.num_classes:
        return data
    subset = torch.nonzero(data.labels < max_classes).flatten()
    return data.subset(subset, name=f"{data.name}[:{max_classes} classes]")


def load_split(args: argparse.Namespace, split: str) -> LabelledImages:
    """Split ``split`` of ``args.dataset`` (Omniglot at ``args.image_size``), cut to ``args.max_classes``."""
    options = {"image_size": args.image_size} if args.dataset == "omniglot" else {}
    data = load_dataset(args.dataset, split, data_root=args.data_root, download=args.download, **options)
    return first_classes(data, args.max_classes)


def _resume_path(resume: str | None, out: Path, log: logging.Logger) -> Path | None:
    """``--resume``: ``auto`` is OUT/checkpoint.pt when there is one (else a fresh start), or a given path."""
    if resume == "auto":
        if (out / CHECKPOINT).is_file():
            return out / CHECKPOINT
        log.info(f"--resume: no {out / CHECKPOINT} yet, starting from scratch")
        return None
    return None if resume is None else Path(resume)


def _backbone(args: argparse.Namespace, train: LabelledImages, log: logging.Logger) -> tuple[nn.Module, str]:
    """A fresh ``args.backbone``, or the ``--pretrained`` one (which must take ``train``'s images)."""
    if not args.pretrained:
        return make_backbone(args.backbone, train.channels, train.image_size), args.backbone
    backbone, info = load_backbone(args.pretrained)
    if (info["in_channels"], info["image_size"]) != (train.channels, train.image_size):
        raise CheckpointError(
            f"{args.pretrained} takes {info['in_channels']}-channel {info['image_size']}px images but "
            f"{train.name} has {train.channels}-channel {train.image_size}px images"
        )
    log.info(f"backbone {info['backbone']} from {args.pretrained}")
    return backbone, info["backbone"]


def main(args: argparse.Namespace) -> dict:
    """Train a ProtoNet episodically with validation-based model selection; see ``glai-ssl fewshot train -h``.

    Writes to ``args.out``: ``checkpoint.pt`` (resumable, every epoch), ``model_best.pt`` and
    ``backbone_best.pt`` (the best validation epoch; the last epoch without validation), ``train.json``.
    """
    out = Path(args.out)
    log = setup_logging(out, "fewshot_train")
    device = resolve_device(args.device)
    seed_everything(args.seed)
    backend = resolve_backend(args.episode_backend)
    head = head_config(args)
    if args.freeze_backbone and head.kind == "none":
        raise ValueError(
            "--freeze-backbone with --head none leaves nothing to train; choose --head mlp or glai"
        )
    train_spec = EpisodeSpec(args.way, args.shot, args.query)
    val_spec = EpisodeSpec(args.val_way, args.val_shot or args.shot, args.val_query)
    config = resume_config(args, head, backend)
    resume_path = _resume_path(args.resume, out, log)
    checkpoint = load_checkpoint(resume_path, config) if resume_path else None

    # data, and every episode specification checked before any training
    train = load_split(args, args.train_split)
    sampler = EpisodeSampler(
        train.labels, train_spec, args.episodes_per_epoch, seed=args.seed, backend=backend, name=train.name
    )
    val = None if args.val_split in (None, "none") else load_split(args, args.val_split)
    if val is not None:
        check_spec(val_spec, val.labels, val.name)
        val_sampler = EpisodeSampler(
            val.labels, val_spec, args.val_episodes, seed=args.seed + 1, backend=backend, name=val.name
        )

    # model
    backbone, backbone_name = _backbone(args, train, log)
    model = build_model(backbone, head).to(device)
    if checkpoint is not None:
        model.backbone.load_state_dict(checkpoint["model"]["backbone_state"])
        if checkpoint["model"]["head_state"] is not None:
            model.head.load_state_dict(checkpoint["model"]["head_state"])
    if args.freeze_backbone:
        # frozen backbone: features cached once, only the head trains on episodes of features
        model.backbone.requires_grad_(False)
        features = ProtoNet(model.backbone)
        train_model = ProtoNet(nn.Identity(), model.head)
        train_inputs = embed(
            features, train.images, device=device, batch_size=args.batch_size, desc="features"
        )
        val_inputs = (
            None
            if val is None
            else embed(features, val.images, device=device, batch_size=args.batch_size, desc="val features")
        )
        source = TensorEpisodes(train_inputs.to(device), sampler)
    else:
        train_model = model
        val_inputs = None if val is None else val.images
        source = TensorEpisodes(train.images.to(device), sampler, transform=uint8_to_float)
    # every parameter of the trained model, those a GLAI head froze too (Adam skips parameters without a
    # gradient): the optimizer then has the same parameters whether the run starts or resumes after the switch
    parameters = list(train_model.parameters())
    optimizer = torch.optim.Adam(parameters, lr=args.lr, weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=args.lr_step, gamma=args.lr_gamma)
    payload_kwargs = {
        "backbone_name": backbone_name,
        "in_channels": train.channels,
        "image_size": train.image_size,
        "head": head,
    }

    epoch, best_accuracy, best_epoch, history = 0, float("-inf"), -1, []
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        restore_random_states(checkpoint["random"])
        epoch, best_accuracy, best_epoch = (
            checkpoint["epoch"],
            checkpoint["best_accuracy"],
            checkpoint["best_epoch"],
        )
        history = checkpoint["history"]
        log.info(
            f"resumed from {resume_path} after epoch {epoch} (best val {best_accuracy:.4f} at {best_epoch})"
        )

    log.info(
        f"training {train_spec} on {train.name} ({int(train.labels.unique().numel())} classes), {args.epochs} epochs of "
        f"{args.episodes_per_epoch} episodes, head {head.kind}, {sum(p.numel() for p in parameters if p.requires_grad)} trainable "
        f"parameters, episodes: {backend}, device {device}"
    )
    start = time.perf_counter()
    stop_reason = "epochs"

    def report(finished: bool) -> dict:
        """The run so far: written to train.json after every epoch, returned at the end."""
        train_seconds = sum(r["train"]["seconds"] for r in history)
        train_episodes = sum(r["train"]["episodes"] for r in history)
        return {
            "args": args_dict(args),
            "config": config,
            "train_split": train.name,
            "val_split": None if val is None else val.name,
            "finished": finished,
            "epochs_done": epoch,
            "stop_reason": stop_reason if finished else None,
            "best_epoch": best_epoch,
            "best_val_accuracy": best_accuracy if val is not None else None,
            "seconds_per_episode": train_seconds / max(train_episodes, 1),
            "seconds": time.perf_counter() - start,
            "history": history,
            "glai": _glai_record(model.head),
            "files": {
                "checkpoint": out / CHECKPOINT,
                "best_model": out / BEST_MODEL,
                "best_backbone": out / BEST_BACKBONE,
            },
        }

    while epoch < args.epochs:
        if args.patience and val is not None and best_epoch >= 0 and epoch - best_epoch >= args.patience:
            stop_reason = f"no validation improvement for {args.patience} epochs"
            break
        episode_ids = range(epoch * args.episodes_per_epoch, (epoch + 1) * args.episodes_per_epoch)
        lr = optimizer.param_groups[0]["lr"]
        record = {"epoch": epoch, "lr": lr}
        record["train"] = train_one_epoch(
            train_model, source, optimizer, episode_ids, device=device, epoch=epoch
        )
        scheduler.step()
        epoch += 1
        # a run that the time budget ends validates its last epoch, so a best model always exists
        out_of_time = (
            args.max_minutes is not None
            and epoch < args.epochs
            and time.perf_counter() - start > 60 * args.max_minutes
        )
        validate = val is not None and (epoch % args.val_every == 0 or epoch == args.epochs or out_of_time)
        if validate:
            summary = evaluate(
                train_model,
                val_inputs,
                [val_sampler],
                split=val.name,
                device=device,
                batch_size=args.batch_size,
            )[0].summary
            record["val"] = {"mean": summary.mean, "ci95": summary.ci95}
        improved = (validate and summary.mean > best_accuracy) or val is None
        if improved:
            best_accuracy, best_epoch = (summary.mean if validate else float("nan")), epoch
            meta = {"epoch": epoch, "val": record.get("val"), "args": args_dict(args)}
            save_model(out / BEST_MODEL, model, **payload_kwargs, meta=meta)
            save_backbone(
                out / BEST_BACKBONE,
                backbone_name,
                model.backbone,
                in_channels=train.channels,
                image_size=train.image_size,
                meta=meta,
            )
        if isinstance(model.head, GLAI):
            record["glai_phase"] = model.head.phase
        history.append(record)
        save_checkpoint(
            out / CHECKPOINT,
            model=model_payload(model, **payload_kwargs),
            optimizer=optimizer,
            scheduler=scheduler,
            progress={
                "epoch": epoch,
                "next_episode": epoch * args.episodes_per_epoch,
                "best_accuracy": best_accuracy,
                "best_epoch": best_epoch,
                "history": history,
            },
            config=config,
            args=args_dict(args),
        )
        val_text = (
            f", val {100 * record['val']['mean']:.2f} +- {100 * record['val']['ci95']:.2f}%"
            if validate
            else ""
        )
        log.info(
            f"epoch {epoch}/{args.epochs}: loss {record['train']['loss']:.4f}, train acc "
            f"{100 * record['train']['accuracy']:.2f}%{val_text}, lr {lr:.2e}, "
            f"{record['train']['seconds'] / max(len(episode_ids), 1):.3f} s/episode"
            + (" (best)" if improved and validate else "")
        )
        write_json(out / "train.json", report(finished=False))
        if out_of_time:
            stop_reason = f"time budget of {args.max_minutes} minutes"
            log.info(f"stopping after epoch {epoch}: {stop_reason}")
            break
    result = report(finished=True)
    write_json(out / "train.json", result)
    return result
