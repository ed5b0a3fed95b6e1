"""The GLAI block and its heads (GreenLightningAI, Mestre et al. 2025, arXiv 2510.00883)."""

from glai_ssl.glai.block import GLAI, PRUNING, PhaseError
from glai_ssl.glai.heads import (
    GLAI_HEAD_DEFAULTS,
    HEAD_STYLES,
    GLAIPredictionHead,
    GLAIProjectionHead,
    head_spec,
    make_head,
)
from glai_ssl.glai.spec import HeadSpec
from glai_ssl.glai.stability import GateStabilityMonitor, StabilityConfig

__all__ = [
    "GLAI",
    "GLAI_HEAD_DEFAULTS",
    "HEAD_STYLES",
    "GLAIPredictionHead",
    "GLAIProjectionHead",
    "GateStabilityMonitor",
    "HeadSpec",
    "PRUNING",
    "PhaseError",
    "StabilityConfig",
    "head_spec",
    "make_head",
]
