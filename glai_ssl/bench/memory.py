"""Peak memory of a training step: CUDA's allocator statistics on GPUs, an exact tensor count on CPUs.

The CPU allocator keeps no statistics and the process's peak RSS is dominated by the imports, so on the CPU the
figure is counted from the tensors themselves: what autograd saves for the backward pass (the activations,
deduplicated by storage) plus the training state after the step (trainable parameters, their gradients and
the optimizer's state). On both devices the figure is the first step of a fresh optimizer plus the trainable
parameters; frozen parameters and the inputs are excluded.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def _nbytes(tensor: Tensor) -> int:
    return tensor.untyped_storage().nbytes()


def counted_step_bytes(
    module: nn.Module, optimizer: torch.optim.Optimizer, step: Callable[[], None]
) -> dict[str, int]:
    """Run ``step()`` once and count the bytes it needs: saved activations, parameters, gradients, optimizer state."""
    saved: dict[int, int] = {}
    params = {p.untyped_storage().data_ptr() for p in module.parameters()}

    def pack(tensor: Tensor) -> Tensor:
        pointer = tensor.untyped_storage().data_ptr()
        if pointer not in params:  # a parameter saved for backward is not an activation
            saved[pointer] = _nbytes(tensor)
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        step()
    trainable = [p for p in module.parameters() if p.requires_grad]
    state = [v for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v) and v.dim() > 0]
    counts = {
        "activations": sum(saved.values()),
        "parameters": sum(_nbytes(p) for p in trainable),
        "gradients": sum(_nbytes(p.grad) for p in trainable if p.grad is not None),
        "optimizer_state": sum(_nbytes(v) for v in state),
    }
    counts["total"] = sum(counts.values())
    return counts


def peak_memory_bytes(
    module: nn.Module, optimizer: torch.optim.Optimizer, step: Callable[[], None], device: torch.device
) -> int:
    """Peak memory of ``step()`` in bytes (see the module docstring for how it is measured on each device)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        trainable = sum(_nbytes(p) for p in module.parameters() if p.requires_grad)
        return int(torch.cuda.max_memory_allocated() - base) + trainable
    return counted_step_bytes(module, optimizer, step)["total"]
