"""Training checkpoints of ``glai-ssl fewshot train``: everything needed to resume to the same result.

A checkpoint holds the model (as a model payload, so ``glai-ssl fewshot eval`` reads it too), the optimizer,
the learning-rate schedule, the epoch and episode counters, the best validation accuracy so far, the history,
the random states and the configuration that must match to resume.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from glai_ssl.fewshot.model import TRAIN_FORMAT
from glai_ssl.models import CheckpointError
from glai_ssl.models.checkpoint import atomic_save, check_same_config, read_payload

#: options that change the training trajectory: a checkpoint resumes only under the same values.
RESUME_KEYS = (
    "dataset",
    "train_split",
    "val_split",
    "image_size",
    "max_classes",
    "backbone",
    "pretrained",
    "freeze_backbone",
    "head",
    "head_hidden_dim",
    "head_output_dim",
    "glai",
    "way",
    "shot",
    "query",
    "episodes_per_epoch",
    "lr",
    "lr_step",
    "lr_gamma",
    "weight_decay",
    "val_way",
    "val_shot",
    "val_query",
    "val_episodes",
    "val_every",
    "episode_backend",
    "seed",
)


def random_states() -> dict:
    """Python, numpy and torch (CPU and CUDA) random states."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def restore_random_states(states: dict) -> None:
    """Restore the states of :func:`random_states` (CUDA's only when saved and CUDA is available)."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(
    path: str | os.PathLike,
    *,
    model: dict,
    optimizer: torch.optim.Optimizer,
    scheduler,
    progress: dict,
    config: dict,
    args: dict,
) -> Path:
    """Write a training checkpoint atomically.

    Args:
        model: the model payload (:func:`glai_ssl.fewshot.model.model_payload`).
        progress: ``epoch`` (epochs done), ``next_episode``, ``best_accuracy``, ``best_epoch``, ``history``.
        config: the values of :data:`RESUME_KEYS`.
        args: every option of the run, for the record.
    """
    return atomic_save(
        {
            "format": TRAIN_FORMAT,
            "model": model,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            **progress,
            "config": config,
            "args": args,
            "random": random_states(),
        },
        path,
    )


def load_checkpoint(path: str | os.PathLike, config: dict) -> dict:
    """Read a training checkpoint and check it was written by the same configuration.

    Raises:
        CheckpointError: missing, unreadable, not a training checkpoint, or written by another configuration
            (the message lists every difference).
    """
    path = Path(path)
    payload = read_payload(path, "cannot resume:")
    if not isinstance(payload, dict) or payload.get("format") != TRAIN_FORMAT:
        raise CheckpointError(
            f"cannot resume: {path} is not a training checkpoint of glai-ssl fewshot train "
            f"(format {payload.get('format') if isinstance(payload, dict) else type(payload).__name__!r})"
        )
    check_same_config(path, payload["config"], config, RESUME_KEYS)
    return payload
