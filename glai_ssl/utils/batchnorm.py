"""BatchNorm over the global batch of all processes, on any device.

PyTorch's ``SyncBatchNorm`` refuses CPU modules under DDP ("SyncBatchNorm layers only work with GPU
modules"), so multi-process CPU runs (gloo) use :class:`GlobalBatchNorm`: the per-channel sums are
all-reduced with the differentiable ``torch.distributed.nn`` collective, so both the statistics and their
gradients are those of one BatchNorm over the global batch. On GPUs the engine uses ``SyncBatchNorm``.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed.nn.functional import all_reduce
from torch.nn.modules.batchnorm import _BatchNorm


class GlobalBatchNorm(_BatchNorm):
    """A BatchNorm (any of 1d/2d/3d inputs) whose training statistics span all ranks of the process group."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (batch, channels, ...), got {input.dim()}D")

    def forward(self, x: Tensor) -> Tensor:
        """BatchNorm of ``x`` ``(B, C, ...)``.

        In training with more than one rank, the statistics (and the running-statistics update) are those of the
        global batch; otherwise this is the standard BatchNorm.
        """
        distributed = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        if not (self.training and distributed):
            return super().forward(x)
        channels = x.shape[1]
        dims = [0, *range(2, x.dim())]
        count = x.new_tensor([x.numel() // channels], dtype=x.dtype)
        stats = all_reduce(torch.cat([x.sum(dims), (x * x).sum(dims), count]))
        total = stats[-1]
        mean = stats[:channels] / total
        var = (stats[channels : 2 * channels] / total - mean * mean).clamp_min(0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                # momentum None means a cumulative moving average, as in torch's BatchNorm
                momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - momentum).add_(momentum * mean.detach())
                self.running_var.mul_(1 - momentum).add_(momentum * var.detach() * total / (total - 1))
        shape = [1, channels] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


def convert_global_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm in ``module`` by a :class:`GlobalBatchNorm` with the same state."""
    if isinstance(module, _BatchNorm) and not isinstance(module, GlobalBatchNorm):
        converted = GlobalBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        converted.load_state_dict(module.state_dict())
        converted.train(module.training)
        for param, original in zip(converted.parameters(), module.parameters()):
            param.requires_grad_(original.requires_grad)
        return converted
    for name, child in module.named_children():
        module.add_module(name, convert_global_batchnorm(child))
    return module
