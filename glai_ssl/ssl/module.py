"""``SSLModule``: a LightningModule around any :class:`SSLMethod`, with lightly's online linear probe."""

from __future__ import annotations

import torch
from lightly.utils.benchmarking import OnlineLinearClassifier
from lightly.utils.lars import LARS
from lightly.utils.scheduler import CosineWarmupScheduler
from pytorch_lightning import LightningModule

from glai_ssl.models import make_backbone
from glai_ssl.ssl.methods import METHODS


class SSLModule(LightningModule):
    """Pretrains ``method`` on a backbone; all settings come from one flat ``config`` dict (saved in checkpoints).

    Config keys: ``method``, ``backbone``, ``in_channels``, ``image_size``, ``head``, ``hidden_dim``,
    ``output_dim``, ``glai_options``, ``method_options`` (extra arguments of the method, e.g. ``momentum``),
    ``gather_distributed``, ``num_classes``, ``optimizer`` (adam | sgd | lars),
    ``lr``, ``predictor_lr_ratio``, ``weight_decay``, ``warmup_epochs``, ``max_epochs``.
    """

    def __init__(self, config: dict) -> None:
        super().__init__()
        self.save_hyperparameters({"config": config})
        self.config = config
        backbone = make_backbone(config["backbone"], config["in_channels"], config["image_size"])
        method_cls = METHODS[config["method"]]
        self.method = method_cls(
            backbone,
            backbone.feature_dim,
            head=config["head"],
            hidden_dim=config["hidden_dim"],
            output_dim=config["output_dim"],
            gather_distributed=config["gather_distributed"],
            glai_options=config.get("glai_options"),
            **config.get("method_options", {}),
        )
        self.online_classifier = OnlineLinearClassifier(
            backbone.feature_dim, config["num_classes"], topk=(1,)
        )

    @property
    def backbone(self) -> torch.nn.Module:
        """The method's backbone."""
        return self.method.backbone

    def training_step(self, batch, batch_idx):
        """SSL loss of a batch of views plus the online classifier's loss on the first view's detached features."""
        views, labels = batch
        loss, features = self.method.training_loss(
            views, self.global_step, int(self.trainer.estimated_stepping_batches)
        )
        cls_loss, cls_log = self.online_classifier.training_step((features.detach(), labels), batch_idx)
        self.log("train_loss", loss, prog_bar=True, sync_dist=True)
        self.log_dict(cls_log, sync_dist=True)
        return loss + cls_loss

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        """Run the method's momentum updates (:meth:`SSLMethod.after_optimizer_step`) after each training batch."""
        self.method.after_optimizer_step(self.global_step, int(self.trainer.estimated_stepping_batches))

    def validation_step(self, batch, batch_idx):
        """Log the online classifier's metrics on a labelled batch ``(images (B, C, H, W), labels (B,))``."""
        images, labels = batch
        features = self.backbone(images).flatten(1)
        _, cls_log = self.online_classifier.validation_step((features.detach(), labels), batch_idx)
        self.log_dict(cls_log, prog_bar=True, sync_dist=True)

    def configure_optimizers(self):
        """AdamW, SGD or LARS, and a per-step cosine schedule with linear warmup.

        The method's parameters take ``weight_decay``, the online classifier's none; a predictor takes
        ``predictor_lr_ratio`` times the lr.
        """
        config = self.config
        ratio = config.get("predictor_lr_ratio", 1.0)
        if ratio != 1.0 and not hasattr(self.method, "prediction_head"):
            raise ValueError(
                f"predictor_lr_ratio {ratio} needs a method with a predictor, not {config['method']}"
            )
        predictor = list(self.method.prediction_head.parameters()) if ratio != 1.0 else []
        in_predictor = {id(p) for p in predictor}
        rest = [p for p in self.method.parameters() if id(p) not in in_predictor]
        params = [{"name": "ssl", "params": rest, "weight_decay": config["weight_decay"]}]
        if predictor:
            # a faster predictor, as in DirectPred (Tian et al. 2021); SimSiam (Chen & He 2021) keeps its lr fixed
            params.append(
                {
                    "name": "predictor",
                    "params": predictor,
                    "weight_decay": config["weight_decay"],
                    "lr": ratio * config["lr"],
                }
            )
        params += [
            {
                "name": "online_classifier",
                "params": list(self.online_classifier.parameters()),
                "weight_decay": 0.0,
            },
        ]
        if config["optimizer"] == "adam":
            optimizer = torch.optim.AdamW(params, lr=config["lr"])
        elif config["optimizer"] == "sgd":
            optimizer = torch.optim.SGD(params, lr=config["lr"], momentum=0.9)
        elif config["optimizer"] == "lars":
            optimizer = LARS(params, lr=config["lr"], momentum=0.9)
        else:
            raise ValueError(f"unknown optimizer {config['optimizer']!r}; choose adam, sgd or lars")
        steps = int(self.trainer.estimated_stepping_batches)
        warmup = int(steps * config["warmup_epochs"] / max(config["max_epochs"], 1))
        scheduler = CosineWarmupScheduler(
            optimizer, warmup_epochs=warmup, max_epochs=steps, end_value=config.get("final_lr_ratio", 0.0)
        )
        return [optimizer], [{"scheduler": scheduler, "interval": "step"}]
