"""Evaluation of frozen backbones: feature extraction (eval mode), weighted kNN, linear probe."""

from glai_ssl.eval.features import extract_features
from glai_ssl.eval.knn import knn_accuracy
from glai_ssl.eval.linear_probe import ProbeResult, linear_probe, tuned_linear_probe

__all__ = ["ProbeResult", "extract_features", "knn_accuracy", "linear_probe", "tuned_linear_probe"]
