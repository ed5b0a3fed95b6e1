"""Callbacks of the Lightning engine: a checkpoint after every epoch, a clock that survives a resume."""

import time

import pytorch_lightning as pl
import torch
from pytorch_lightning import Callback
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from glai_ssl.ssl.callbacks import TrainingClock, epoch_checkpoint


class TinyModule(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        (x,) = batch
        return self.layer(x).pow(2).mean()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class SeeCheckpoint(Callback):
    """Records, at the start of each epoch, the epoch stored in last.ckpt (None when there is none)."""

    def __init__(self, path):
        self.path, self.seen = path, []

    def on_train_epoch_start(self, trainer, pl_module):
        exists = self.path.is_file()
        self.seen.append(torch.load(self.path, weights_only=False)["epoch"] if exists else None)


def fit(tmp_path, epochs, *callbacks, ckpt_path=None):
    loader = DataLoader(TensorDataset(torch.randn(8, 4)), batch_size=4)
    trainer = pl.Trainer(
        max_epochs=epochs,
        callbacks=[epoch_checkpoint(tmp_path / "checkpoints"), *callbacks],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(TinyModule(), train_dataloaders=loader, ckpt_path=ckpt_path)


def test_last_checkpoint_is_written_after_every_epoch_not_only_at_the_end(tmp_path):
    # a run killed during epoch 2 can resume from the end of epoch 1
    see = SeeCheckpoint(tmp_path / "checkpoints" / "last.ckpt")
    fit(tmp_path, 3, see)
    assert see.seen == [None, 0, 1]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["last.ckpt"]


class SlowEpochs(Callback):
    def on_train_epoch_end(self, trainer, pl_module):
        time.sleep(0.05)


def test_training_clock_continues_across_a_resume(tmp_path):
    checkpoint = tmp_path / "checkpoints" / "last.ckpt"
    first = TrainingClock()
    fit(tmp_path, 1, first, SlowEpochs())
    before = torch.load(checkpoint, weights_only=False)["callbacks"]["TrainingClock"]["seconds"]
    assert 0.05 <= before <= first.seconds
    resumed = TrainingClock()
    fit(tmp_path, 2, resumed, SlowEpochs(), ckpt_path=checkpoint)
    assert resumed.seconds >= before + 0.05  # the first epoch's seconds and the second's
