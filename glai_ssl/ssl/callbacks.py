"""Lightning callbacks: the GLAI structure switch, periodic evaluation of the frozen backbone, checkpoints,
the training clock, interruption."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from pytorch_lightning import Callback, LightningModule, Trainer
from pytorch_lightning.callbacks import ModelCheckpoint
from torch import Tensor

from glai_ssl.eval import extract_features, knn_accuracy, linear_probe


class GLAIStructureCallback(Callback):
    """Runs each online GLAI head's stability check and freezes its structure when stable (GLAI, Phase 1 -> 2).

    Every ``check_every`` optimizer steps (the head's :class:`StabilityConfig`), a fixed probe batch of images
    goes through the current backbone (eval mode, no grad) and the head's gates on those features are compared
    with the previous check. Rank 0 decides for all ranks. Momentum copies follow their online head.
    Steps here are optimizer steps (``trainer.global_step``), also for ``max_steps`` and ``min_steps``.
    """

    def __init__(self, probe_images: Tensor) -> None:
        self.probe_images = probe_images

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx
    ) -> None:
        """Run the due stability checks on the probe images, freeze stable heads, sync momentum copies.

        A check is due at ``global_step`` multiples of ``check_every``, or from ``max_steps`` on; rank 0's verdict is
        broadcast. Logs each head's last flip share and its phase.
        """
        method = pl_module.method
        heads = {name: head for name, head in method.online_glai_heads().items() if head.phase == 1}
        step = trainer.global_step
        due = {}
        for name, head in heads.items():
            config = head.monitor.config
            if step % config.check_every == 0 or (config.max_steps is not None and step >= config.max_steps):
                due[name] = head
        if not due:
            return
        was_training = method.training
        method.eval()
        inputs = method.head_inputs(self.probe_images.to(pl_module.device))
        method.train(was_training)
        for name, head in due.items():
            head.steps = step
            stable = bool(trainer.strategy.broadcast(head.check_stability(inputs[name]), src=0))
            if head.stability_trace:
                pl_module.log(f"glai/{name}_flip_share", head.stability_trace[-1]["distance"])
            if stable:
                head.freeze_structure()
        method.sync_momentum_phases()
        for name, head in method.online_glai_heads().items():
            pl_module.log(f"glai/{name}_phase", float(head.phase))


class EvaluationCallback(Callback):
    """Every ``every_n_epochs`` epochs: weighted kNN accuracy and (optionally) a linear probe of the backbone
    (eval mode, stop-gradient by construction) on held-out images, against training time.

    ``history`` holds ``{"epoch", "train_seconds", "knn_accuracy"[, "probe_accuracy"]}``; ``train_seconds`` is
    the wall-clock since the start of training minus the time spent in this callback. Both are kept in the
    checkpoint, so a resumed run continues the history and the clock.
    """

    def __init__(
        self,
        bank: tuple[Tensor, Tensor],
        test: tuple[Tensor, Tensor],
        every_n_epochs: int = 1,
        k: int = 200,
        temperature: float = 0.1,
        probe_epochs: int = 0,
    ) -> None:
        self.bank, self.test = bank, test
        self.every_n_epochs, self.k, self.temperature, self.probe_epochs = (
            every_n_epochs,
            k,
            temperature,
            probe_epochs,
        )
        self.history: list[dict] = []
        self._start: float | None = None
        self._eval_seconds = 0.0
        self._before = 0.0  # training seconds before a resume

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Start the clock of training time."""
        self._start = time.perf_counter()

    def _train_seconds(self, now: float) -> float:
        return self._before + now - (self._start or now) - self._eval_seconds

    def state_dict(self) -> dict:
        """The history and the training seconds so far, for the checkpoint."""
        return {"history": self.history, "train_seconds": self._train_seconds(time.perf_counter())}

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue the history and the clock of a checkpoint's run."""
        self.history = list(state_dict["history"])
        self._before = float(state_dict["train_seconds"])

    @torch.no_grad()
    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Every ``every_n_epochs`` epochs, on rank 0: kNN (and optional linear-probe) accuracy of the backbone.

        The result is logged and appended to ``history``; the time spent here is excluded from ``train_seconds``.
        """
        epoch = trainer.current_epoch
        if self.every_n_epochs <= 0 or (epoch + 1) % self.every_n_epochs:
            return
        began = time.perf_counter()
        train_seconds = self._train_seconds(began)
        if trainer.is_global_zero:
            backbone = pl_module.backbone
            bank = extract_features(backbone, self.bank[0], device=pl_module.device, desc="eval bank")
            test = extract_features(backbone, self.test[0], device=pl_module.device, desc="eval test")
            record = {"epoch": epoch, "train_seconds": train_seconds}
            record["knn_accuracy"] = knn_accuracy(
                bank, self.bank[1], test, self.test[1], k=self.k, temperature=self.temperature
            )
            pl_module.log("knn_accuracy", record["knn_accuracy"], rank_zero_only=True, prog_bar=True)
            if self.probe_epochs:
                with torch.enable_grad():
                    probe = linear_probe(bank, self.bank[1], test, self.test[1], epochs=self.probe_epochs)
                record["probe_accuracy"] = probe.test_accuracy
                pl_module.log("probe_accuracy", probe.test_accuracy, rank_zero_only=True, prog_bar=True)
            self.history.append(record)
        self._eval_seconds += time.perf_counter() - began


class StopAfterEpochs(Callback):
    """Stops training after ``epochs`` epochs without changing the schedule (an interruption, for resuming)."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Ask the trainer to stop once ``epochs`` epochs are done."""
        if trainer.current_epoch + 1 >= self.epochs:
            trainer.should_stop = True


class TrainingClock(Callback):
    """Seconds in Lightning's fit loop (evaluation callbacks included), over the whole run: kept in the
    checkpoint, so a resumed run reports the time of every epoch it kept (work lost in a crash is not counted)."""

    def __init__(self) -> None:
        self._before, self._start, self._end = 0.0, None, None

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Start the clock."""
        self._start = time.perf_counter()

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Stop the clock."""
        self._end = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Training seconds so far, those before a resume included."""
        if self._start is None:
            return self._before
        return self._before + (self._end or time.perf_counter()) - self._start

    def state_dict(self) -> dict:
        """The seconds so far, for the checkpoint."""
        return {"seconds": self.seconds}

    def load_state_dict(self, state_dict: dict) -> None:
        """Continue the clock of a checkpoint's run."""
        self._before = float(state_dict["seconds"])


def epoch_checkpoint(dirpath: Path) -> ModelCheckpoint:
    """``dirpath/last.ckpt``, rewritten after every training epoch: what ``--resume`` takes after a crash.

    Lightning 2.6 writes ``save_last=True``'s file only when some other checkpoint is saved, so with
    ``save_top_k=0`` it came only at the end of training; a single top-k file named ``last`` is rewritten instead.
    """
    return ModelCheckpoint(
        dirpath=dirpath, filename="last", save_top_k=1, every_n_epochs=1, enable_version_counter=False
    )
