"""Backbones shared by the SSL recipes, the few-shot learners and the benchmark."""

from glai_ssl.models.backbones import BACKBONES, Conv4, ResNet18CIFAR, SmallResNet, make_backbone
from glai_ssl.models.checkpoint import CheckpointError, Normalized, load_backbone, save_backbone

__all__ = [
    "BACKBONES",
    "CheckpointError",
    "Conv4",
    "Normalized",
    "ResNet18CIFAR",
    "SmallResNet",
    "load_backbone",
    "make_backbone",
    "save_backbone",
]
