"""Phase-2 solvers for cached inputs (a frozen backbone): the block is linear in its path weights, so besides
minibatch training it can be fitted full-batch with L-BFGS or, for squared loss, in closed form.

All three work on cached features ``X (N, d0)`` and cached gates ``G (N, U)`` (see :func:`cache_gates`),
so ``S`` runs once per sample, not once per epoch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from glai_ssl.glai.block import GLAI, PATHS


@torch.no_grad()
def cache_gates(block: GLAI, features: Tensor, batch_size: int = 8192) -> Tensor:
    """Combined gates ``(N, U)`` of ``features`` under the frozen structure, as 0/1 in the features' dtype."""
    block._require_phase(PATHS, "cache_gates")
    return torch.cat([block.unit_gates(chunk) for chunk in features.split(batch_size)])


def _loss(name: str) -> Callable[[Tensor, Tensor], Tensor]:
    if name == "cross_entropy":
        return F.cross_entropy
    if name == "mse":
        return F.mse_loss
    raise ValueError(f"unknown loss {name!r}; choose 'cross_entropy' or 'mse'")


def fit_minibatch(
    block: GLAI,
    features: Tensor,
    targets: Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int = 1,
    batch_size: int = 256,
    loss: str = "cross_entropy",
    gates: Tensor | None = None,
    generator: torch.Generator | None = None,
    on_epoch_end: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train the path weights with any optimizer on cached features and gates; return the mean loss per epoch."""
    block._require_phase(PATHS, "fit_minibatch")
    gates = cache_gates(block, features) if gates is None else gates
    loss_fn = _loss(loss)
    history = []
    block.train()
    for epoch in range(epochs):
        order = torch.randperm(len(features), generator=generator, device="cpu").to(features.device)
        total = 0.0
        for index in order.split(batch_size):
            value = loss_fn(block.path_forward(features[index], gates[index]), targets[index])
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            total += value.item() * len(index)
        history.append(total / len(features))
        if on_epoch_end is not None:
            on_epoch_end(epoch, history[-1])
    return history


def fit_lbfgs(
    block: GLAI,
    features: Tensor,
    targets: Tensor,
    *,
    loss: str = "cross_entropy",
    weight_decay: float = 0.0,
    max_iter: int = 100,
    gates: Tensor | None = None,
) -> float:
    """Full-batch L-BFGS on the path weights (and output bias). Returns the final loss.

    ``weight_decay`` adds ``weight_decay * ||A||^2`` on the effective path weights. The output BatchNorm,
    if any, is used in eval mode, so the problem stays convex in the path weights.
    """
    block._require_phase(PATHS, "fit_lbfgs")
    gates = cache_gates(block, features) if gates is None else gates
    loss_fn = _loss(loss)
    params = [p for p in (block.path_weight, block.path_bias) if p is not None]
    optimizer = torch.optim.LBFGS(params, max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe")
    block.eval()

    def objective() -> Tensor:
        value = loss_fn(block.path_forward(features, gates), targets)
        if weight_decay:
            value = value + weight_decay * block.effective_paths().pow(2).sum()
        return value

    def closure() -> Tensor:
        optimizer.zero_grad(set_to_none=True)
        value = objective()
        value.backward()
        return value

    optimizer.step(closure)
    with torch.no_grad():
        return float(objective())


@torch.no_grad()
def fit_ridge(
    block: GLAI,
    features: Tensor,
    targets: Tensor,
    *,
    ridge: float = 1e-3,
    gates: Tensor | None = None,
) -> Tensor:
    """Closed-form ridge regression on the paths through the path kernel, in the dual.

    Solves ``min ||Y - Phi A^T - b||^2 + ridge * ||A||^2`` with ``Phi_n = g(x_n) (outer) x~_n`` using
    ``K = (X~ X~^T) * (G G^T)`` (N x N; practical up to ~10k samples), then ``A_u = (alpha * g_u)^T X~``.
    Targets may be class indices (turned into one-hot) or ``(N, dout)`` values. A pruned block keeps only its
    unmasked entries of the solution (the exact optimum is for the unpruned block). Returns ``alpha``.
    """
    block._require_phase(PATHS, "fit_ridge")
    if block.output_norm is not None or block.path_bias is None:
        raise ValueError(
            "fit_ridge needs a block with an output bias and no output BatchNorm (a linear model)"
        )
    if len(features) > 20_000:
        raise ValueError(
            f"fit_ridge builds an N x N kernel; {len(features)} samples is too many (use fit_lbfgs)"
        )
    gates = cache_gates(block, features) if gates is None else gates
    dtype = torch.float64
    x = torch.cat([features, features.new_ones(len(features), 1)], dim=1).to(dtype)
    g = gates.to(dtype)
    y = F.one_hot(targets, block.spec.output_dim).to(dtype) if targets.ndim == 1 else targets.to(dtype)
    y_mean = y.mean(0)
    kernel = (x @ x.t()) * (g @ g.t())
    centred = kernel - kernel.mean(0, keepdim=True) - kernel.mean(1, keepdim=True) + kernel.mean()
    centred.diagonal().add_(ridge)
    alpha = torch.linalg.solve(centred, y - y_mean)  # (N, dout), columns sum to ~0
    n, units, dout = len(x), g.shape[1], y.shape[1]
    paths = ((g.unsqueeze(2) * alpha.unsqueeze(1)).reshape(n, units * dout).t() @ x).view(units, dout, -1)
    mean_feature_out = torch.einsum("nu,ni,uoi->o", g, x, paths) / n
    block.load_paths(paths)
    block.path_bias.copy_((y_mean - mean_feature_out).to(block.path_bias.dtype))
    return alpha
