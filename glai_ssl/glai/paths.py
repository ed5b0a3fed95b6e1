"""Paths of a ReLU MLP: unit enumeration, combined gates, path products and pruning by path norm.

With ``x~ = [x; 1]``, a one-hidden-layer MLP computes ``y = sum_j g_j(x) W2[:, j] (W1[j] x~) + b``. Each term
``W2[o, j] * W1~[j, i]`` is a path from input ``i`` through hidden unit ``j`` to output ``o``. Deeper blocks
multiply: a path goes through one unit per layer, and each hidden layer below the last gets a constant unit
(gate always 1) that carries the next layer's bias. We flatten the units of all layers into ``U`` combined
units, so every depth uses the same one-hidden-layer fast path:

    y(x) = sum_u G_u(x) * A_u x~ + b,      A: (U, dout, d0 + 1),  G: (B, U) products of gates along u.

``U = h1`` for one hidden layer, ``(h1 + 1) * h2`` for two, ``((h1 + 1) * h2 + 1) * h3`` for three: it grows
as the product of the widths, which is why depth is only practical with small widths (see the GLAI docs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from glai_ssl.glai.spec import HeadSpec


def unit_counts(widths: Sequence[int]) -> list[int]:
    """Combined units after each hidden layer (constant units included below the last layer)."""
    counts: list[int] = []
    for depth, width in enumerate(widths):
        n = width if depth == 0 else counts[-1] * width
        counts.append(n + 1 if depth < len(widths) - 1 else n)
    return counts


def num_paths(spec: HeadSpec, widths: Sequence[int]) -> int:
    """Number of path weights ``U * dout * (d0 + 1)`` of a block whose structure network has these widths."""
    return unit_counts(widths)[-1] * spec.output_dim * (spec.input_dim + 1)


def default_structure_widths(spec: HeadSpec, path_ratio: float = 1.0) -> tuple[int, ...]:
    """Smallest equal widths whose path count reaches ``path_ratio * P_MLP`` (glai-method.md, Phase 1).

    For one hidden layer this is ``h = ceil(path_ratio * P_MLP / (dout * (d0 + 1)))``.
    """
    if path_ratio <= 0:
        raise ValueError(f"path_ratio must be > 0, got {path_ratio}")
    target = path_ratio * spec.num_parameters()
    per_unit = spec.output_dim * (spec.input_dim + 1)
    if spec.depth == 1:
        return (max(1, math.ceil(target / per_unit)),)
    width = 1
    while num_paths(spec, [width] * spec.depth) < target:
        width += 1
    return (width,) * spec.depth


def combined_gates(gates: Sequence[Tensor]) -> Tensor:
    """``(B, U)`` combined gates from the per-layer gates ``[(B, h1), ..., (B, hL)]`` (any float dtype)."""
    combined = gates[0]
    for gate in gates[1:]:
        combined = torch.cat([combined, combined.new_ones(combined.shape[0], 1)], dim=1)
        combined = (combined.unsqueeze(2) * gate.unsqueeze(1)).flatten(1)
    return combined


def hidden_blocks(
    structure: nn.Module,
) -> tuple[list[tuple[nn.Linear, nn.Module | None]], nn.Linear, nn.Module | None]:
    """Split a lightly ``ProjectionHead`` into hidden ``(Linear, BatchNorm | None)`` pairs and the output layer."""
    layers = list(structure.layers)
    blocks: list[list] = []
    for layer in layers:
        if isinstance(layer, nn.Linear):
            blocks.append([layer, None])
        elif isinstance(layer, _BatchNorm):  # BatchNorm1d, or SyncBatchNorm after convert_sync_batchnorm
            blocks[-1][1] = layer
    hidden = [(lin, bn) for lin, bn in blocks[:-1]]
    return hidden, blocks[-1][0], blocks[-1][1]


def folded_affine(linear: nn.Linear, norm: nn.Module | None) -> Tensor:
    """``[W | b]`` of ``norm(linear(x))`` with an eval-mode BatchNorm folded in: shape ``(out, in + 1)``."""
    weight = linear.weight.detach()
    bias = linear.bias.detach() if linear.bias is not None else weight.new_zeros(weight.shape[0])
    if norm is not None:
        scale = (norm.running_var.detach() + norm.eps).rsqrt()
        if norm.affine:
            scale = scale * norm.weight.detach()
        shift = -norm.running_mean.detach() * scale
        if norm.affine:
            shift = shift + norm.bias.detach()
        weight, bias = weight * scale[:, None], bias * scale + shift
    return torch.cat([weight, bias[:, None]], dim=1)


@torch.no_grad()
def path_products(structure: nn.Module) -> tuple[Tensor, Tensor | None]:
    """Path weights ``A (U, dout, d0 + 1)`` and output bias of a trained structure network.

    With these, ``sum_u G_u(x) A_u x~ + b`` equals the structure network's output before its output BatchNorm,
    with hidden BatchNorms in eval mode (glai-method.md, Phase 2, initialisation).
    """
    hidden, output, _ = hidden_blocks(structure)
    first = folded_affine(*hidden[0])  # (h1, d0 + 1)
    d0 = first.shape[1] - 1
    constant = first.new_zeros(1, d0 + 1)
    constant[0, d0] = 1.0
    table = first
    last_index = torch.arange(first.shape[0], device=first.device)
    for depth in range(1, len(hidden)):
        layer = folded_affine(*hidden[depth])  # (h_l, h_{l-1} + 1): column h_{l-1} is the bias
        width_prev = hidden[depth - 1][0].out_features
        table = torch.cat([table, constant])
        last_index = torch.cat([last_index, last_index.new_tensor([width_prev])])
        # unit (u, j) carries weight layer[j, last(u)] * table[u]
        coeff = layer[:, last_index].t()  # (n_prev, h_l)
        table = (coeff.unsqueeze(2) * table.unsqueeze(1)).flatten(0, 1)
        width = layer.shape[0]
        last_index = torch.arange(width, device=first.device).repeat(coeff.shape[0])
    out_weight = output.weight.detach()  # (dout, hL)
    paths = out_weight[:, last_index].t().unsqueeze(2) * table.unsqueeze(1)  # (U, dout, d0 + 1)
    bias = output.bias.detach().clone() if output.bias is not None else None
    return paths, bias


def prune_by_path_norm(paths: Tensor, keep: int) -> Tensor:
    """Boolean mask keeping the ``keep`` entries of largest ``|A|`` (the path norm: product of |weights|)."""
    total = paths.numel()
    if not 0 < keep <= total:
        raise ValueError(f"cannot keep {keep} of {total} paths")
    if keep == total:
        return torch.ones_like(paths, dtype=torch.bool)
    flat = paths.detach().abs().flatten()
    mask = torch.zeros(total, dtype=torch.bool, device=paths.device)
    mask[torch.topk(flat, keep, sorted=False).indices] = True
    return mask.view_as(paths)


def prune_by_feature_norm(paths: Tensor, keep: int) -> Tensor:
    """Boolean mask keeping whole path features: the ``(u, i)`` rows ``A[u, :, i]`` of largest ``sum_o |A|``.

    Phase 2 is a linear estimator on the path features ``G_u(x) x~_i``; this keeps the ``keep // dout`` features
    whose paths have the largest total path norm, each with all ``dout`` of its output weights, and the
    ``keep % dout`` largest entries of the next feature, so exactly ``keep`` entries stay [our choice; the paper
    prunes single paths, :func:`prune_by_path_norm`]. Kept rows let Phase 2 run as one ``(dout, K) x (K, B)``
    GEMM on the kept features, at the MLP's cost per step however wide ``S`` is.
    """
    units, dout, inputs = paths.shape
    if not 0 < keep <= paths.numel():
        raise ValueError(f"cannot keep {keep} of {paths.numel()} paths")
    rows = paths.detach().abs().transpose(1, 2).reshape(units * inputs, dout)
    order = rows.sum(1).argsort(descending=True)
    full, rest = divmod(keep, dout)
    mask = torch.zeros_like(rows, dtype=torch.bool)
    mask[order[:full]] = True
    if rest:
        partial = order[full]
        mask[partial, rows[partial].topk(rest).indices] = True
    return mask.view(units, inputs, dout).transpose(1, 2).contiguous()
