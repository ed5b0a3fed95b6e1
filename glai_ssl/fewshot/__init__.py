"""Prototypical few-shot learning (Snell et al. 2017) with no / MLP / GLAI embedding head.

* :mod:`~glai_ssl.fewshot.episodes`: :class:`EpisodeSpec`, :class:`EpisodeSampler` (seeded per episode,
  learn2learn or native), :class:`TensorEpisodes`, :class:`TasksetEpisodes`.
* :mod:`~glai_ssl.fewshot.protonet`: :class:`ProtoNet`, :func:`prototypical_logits`.
* :mod:`~glai_ssl.fewshot.model`: :class:`HeadConfig`, model files (:func:`save_model`, :func:`load_model`).
* :mod:`~glai_ssl.fewshot.train`: :func:`train_one_epoch`, :func:`evaluate`, :func:`main`.
* :mod:`~glai_ssl.fewshot.stats`: :func:`confidence_interval` (mean +- 1.96 std / sqrt(n)).
"""

from glai_ssl.fewshot.episodes import (
    Episode,
    EpisodeError,
    EpisodeSampler,
    EpisodeSpec,
    TasksetEpisodes,
    TensorEpisodes,
    check_spec,
)
from glai_ssl.fewshot.model import HeadConfig, build_model, load_model, save_model
from glai_ssl.fewshot.protonet import ProtoNet, prototypes, prototypical_logits
from glai_ssl.fewshot.stats import Summary, confidence_interval

__all__ = [
    "Episode",
    "EpisodeError",
    "EpisodeSampler",
    "EpisodeSpec",
    "HeadConfig",
    "ProtoNet",
    "Summary",
    "TasksetEpisodes",
    "TensorEpisodes",
    "build_model",
    "check_spec",
    "confidence_interval",
    "load_model",
    "prototypes",
    "prototypical_logits",
    "save_model",
]
