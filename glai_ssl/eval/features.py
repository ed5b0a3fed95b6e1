"""Features of a frozen backbone, computed in eval mode (lightly #1440: probes that forget ``eval()`` keep
BatchNorm in train mode)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from glai_ssl.utils.progress import progress


@torch.no_grad()
def extract_features(
    backbone: nn.Module,
    images: Tensor,
    *,
    batch_size: int = 512,
    device: torch.device | str = "cpu",
    desc: str = "features",
) -> Tensor:
    """Run ``backbone`` in eval mode over ``images`` ``(N, C, H, W)`` float; return ``(N, D)`` features on CPU.

    The backbone's train/eval mode is restored afterwards.
    """
    was_training = backbone.training
    backbone.eval()
    chunks = []
    try:
        for start in progress(range(0, len(images), batch_size), desc=desc, unit="batch"):
            batch = images[start : start + batch_size].to(device, non_blocking=True)
            chunks.append(backbone(batch).float().flatten(1).cpu())
    finally:
        backbone.train(was_training)
    return torch.cat(chunks)
