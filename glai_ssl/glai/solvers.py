"""Phase-2 solvers for cached inputs (a frozen backbone): the block is linear in its path weights, so besides
minibatch training it can be fitted full-batch with L-BFGS or, for squared loss, in closed form.

All of them work on cached features ``X (N, d0)`` and cached gates ``G (N, U)`` (see :func:`cache_gates`),
so ``S`` runs once per sample, not once per epoch. :func:`refit_to_structure` uses the closed form at the
switch: it fits the kept path features to ``S``'s own outputs, so pruning costs as little of ``S``'s function as
the budget allows [our choice].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from glai_ssl.glai.block import GLAI, PATHS
from glai_ssl.glai.paths import hidden_blocks


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
) -> Tensor | None:
    """Closed-form ridge regression on the kept paths: ``min ||Y - Phi A^T - b||^2 + ridge * ||A||^2``.

    Targets may be class indices (turned into one-hot) or ``(N, dout)`` values. With ``prune="features"`` it is
    solved in the primal on the ``K`` kept path features (:func:`fit_kept_ridge`): the exact optimum of the
    pruned block, at ``O(N K^2)``. Otherwise in the dual through the path kernel ``K = (X~ X~^T) * (G G^T)``
    (N x N; practical up to ~10k samples), then ``A_u = (alpha * g_u)^T X~``; a pruned block keeps only its
    unmasked entries of that solution (the exact optimum is for the unpruned block). Returns the dual ``alpha``
    (``None`` in the primal).
    """
    block._require_phase(PATHS, "fit_ridge")
    if block.output_norm is not None or block.path_bias is None:
        raise ValueError(
            "fit_ridge needs a block with an output bias and no output BatchNorm (a linear model)"
        )
    gates = cache_gates(block, features) if gates is None else gates
    dtype = torch.float64
    y = F.one_hot(targets, block.spec.output_dim).to(dtype) if targets.ndim == 1 else targets.to(dtype)
    if block.prune == "features":
        fit_kept_ridge(block, features, y, gates, ridge=ridge)
        return None
    if len(features) > 20_000:
        raise ValueError(
            f"fit_ridge builds an N x N kernel; {len(features)} samples is too many (use fit_lbfgs)"
        )
    x = torch.cat([features, features.new_ones(len(features), 1)], dim=1).to(dtype)
    g = gates.to(dtype)
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


@torch.no_grad()
def fit_kept_ridge(
    block: GLAI,
    features: Tensor,
    targets: Tensor,
    gates: Tensor,
    *,
    ridge: float,
    relative: bool = False,
    toward_current: bool = False,
    batch_size: int = 4096,
) -> dict[str, float]:
    """Ridge regression in the primal on the kept path features of a ``prune="features"`` block.

    Minimises ``sum_n ||t_n - (A phi_n + b)||^2 + lam * ||A - A0||^2`` over the kept path weights ``A`` (and the
    output bias, when the block has one), with ``phi_n`` the ``K`` kept path features of sample ``n``: the output
    before the output BatchNorm is fitted, so a block with one is fine here. ``A0`` is zero, or the current
    weights with ``toward_current``; ``lam = ridge``, or ``ridge`` times the mean diagonal of the (centred)
    Gram matrix with ``relative`` (scale-free). The Gram matrix ``(K, K)`` is accumulated in chunks of
    ``batch_size`` samples; outputs that share a pattern of kept features are solved together, so the partly
    kept last feature is exact too. Returns the relative squared error ``||T - Y||^2 / ||T - mean T||^2``
    before and after.
    """
    block._require_phase(PATHS, "fit_kept_ridge")
    if block.prune != "features":
        raise ValueError(f"fit_kept_ridge needs a block with prune='features', not {block.prune!r}")
    f64 = torch.float64
    kept, dout = block.path_weight.shape[1], block.path_weight.shape[0]
    weights = (block.path_weight.to(f64) * block.feature_mask * block.path_scale).t()  # (K, dout) effective
    bias = block.path_bias.to(f64) if block.path_bias is not None else torch.zeros(dout, dtype=f64)
    gram = torch.zeros(kept, kept, dtype=f64, device=features.device)
    cross = torch.zeros(kept, dout, dtype=f64, device=features.device)
    feature_sum = torch.zeros(kept, dtype=f64, device=features.device)
    target_sum = torch.zeros(dout, dtype=f64, device=features.device)
    target_sq = 0.0
    for index in torch.arange(len(features), device=features.device).split(batch_size):
        # moments in float64: the residuals below subtract them, and float32 products would leave ~1e-7 of noise
        phi = block.kept_path_features(features[index], gates[index]).to(f64)  # (K, b)
        target = targets[index].to(f64)
        gram += phi @ phi.t()
        cross += phi @ target
        feature_sum += phi.sum(1)
        target_sum += target.sum(0)
        target_sq += float(target.pow(2).sum())
    n = len(features)
    raw_scale = float(gram.diagonal().mean())
    # both residuals from the moments, ||T - Phi W - b||^2 expanded, with no second pass over the inputs
    residual_before = (
        target_sq
        - 2 * float((weights * cross).sum())
        + float((weights * (gram @ weights)).sum())
        - 2 * float(bias @ target_sum)
        + 2 * float(bias @ (weights.t() @ feature_sum))
        + n * float(bias @ bias)
    )
    if block.path_bias is not None:
        feature_mean, target_mean = feature_sum / n, target_sum / n
        gram -= n * torch.outer(feature_mean, feature_mean)
        cross -= n * torch.outer(feature_mean, target_mean)
    scale = float(gram.diagonal().mean()) if relative else 1.0
    if relative and scale <= 1e-4 * raw_scale:  # features (nearly) constant over the inputs, e.g. one sample
        scale = raw_scale if raw_scale > 0 else 1.0
    strength = ridge * scale
    rhs = cross + strength * weights if toward_current else cross
    solution = _solve_by_pattern(gram, strength, rhs, block.feature_mask)
    block.path_weight.copy_((solution.t() / block.path_scale).to(block.path_weight.dtype))
    if block.path_bias is not None:
        block.path_bias.copy_((target_mean - feature_mean @ solution).to(block.path_bias.dtype))
    # the fitted residual from the centred moments (the fitted bias centres both sides)
    spread = max(target_sq - float(target_sum.pow(2).sum()) / n, 1e-12 * target_sq, 1e-30)
    centred_sq = spread if block.path_bias is not None else target_sq
    residual_after = (
        centred_sq - 2 * float((solution * cross).sum()) + float((solution * (gram @ solution)).sum())
    )
    return {"before": max(residual_before, 0.0) / spread, "after": max(residual_after, 0.0) / spread}


def _solve_by_pattern(gram: Tensor, strength: float, rhs: Tensor, feature_mask: Tensor) -> Tensor:
    """``(gram_SS + strength I) W_S,o = rhs_S,o`` for each output ``o``, ``S`` its kept features (``feature_mask``
    ``(dout, K)``). One Cholesky factor serves all: outputs that keep every feature solve with it directly, and
    those without one feature ``j`` (the partly kept last feature) by the Schur-complement downdate
    ``x - M^-1 e_j x_j / (M^-1)_jj``; any other pattern, or a system that is not positive definite, by the
    pseudo-inverse."""
    system = gram.clone()
    system.diagonal().add_(strength)
    factor, info = torch.linalg.cholesky_ex(system)
    solution = torch.zeros_like(rhs)
    patterns, group = torch.unique(feature_mask, dim=0, return_inverse=True)
    full = torch.cholesky_solve(rhs, factor) if info == 0 else None
    for index, pattern in enumerate(patterns):
        outs, dropped = (group == index).nonzero().squeeze(1), (~pattern).nonzero().squeeze(1)
        if full is not None and len(dropped) <= 1:
            part = full[:, outs]
            if len(dropped) == 1:
                unit = torch.zeros(len(rhs), 1, dtype=rhs.dtype, device=rhs.device)
                unit[dropped] = 1.0
                column = torch.cholesky_solve(unit, factor)  # M^-1 e_j
                part = part - column * part[dropped] / column[dropped]
                part[dropped] = 0.0
            solution[:, outs] = part
        else:  # another pattern, or a singular system (ridge 0 on collinear features): least norm
            rows = pattern.nonzero().squeeze(1)
            solution[rows[:, None], outs] = torch.linalg.pinv(system[rows][:, rows]) @ rhs[rows][:, outs]
    return solution


@torch.no_grad()
def structure_outputs(block: GLAI, features: Tensor) -> Tensor:
    """``S``'s outputs before its output BatchNorm, in eval mode: what the unpruned path form computes."""
    hidden, output, _ = hidden_blocks(block.structure)
    was_training = block.structure.training
    block.structure.eval()
    h = features
    for linear, norm in hidden:
        h = torch.relu(norm(linear(h)) if norm is not None else linear(h))
    block.structure.train(was_training)
    return output(h)


@torch.no_grad()
def refit_to_structure(
    block: GLAI, features: Tensor, *, ridge: float = 1e-2, gates: Tensor | None = None
) -> dict[str, float]:
    """Re-fit the kept path weights of a just-frozen ``prune="features"`` block to ``S``'s own outputs on ``features``.

    Pruning the path products to the budget changes the function (by more than its own spread on the benchmark's
    heads; about 6 points of few-shot accuracy at the switch); this least-squares fit, pulled toward the pruned path products by a ridge of ``ridge`` times the
    Gram matrix's mean diagonal, makes the kept paths the budget's best approximation of ``S`` on these inputs
    [our choice]. Returns the relative squared error to ``S``'s outputs before and after.
    """
    gates = cache_gates(block, features) if gates is None else gates
    targets = structure_outputs(block, features)
    return fit_kept_ridge(block, features, targets, gates, ridge=ridge, relative=True, toward_current=True)
