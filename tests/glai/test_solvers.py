"""Phase-2 solvers on cached inputs: ridge in closed form equals the optimum that gradient methods reach."""

import pytest
import torch

from glai_ssl.glai import GLAI
from glai_ssl.glai.solvers import cache_gates, fit_lbfgs, fit_minibatch, fit_ridge


def frozen_block(budget="all", prune="paths"):
    torch.manual_seed(0)
    block = GLAI(
        6, 12, 3, batch_norm=False, structure_widths=4, budget=budget, prune=prune, auto_freeze=False
    )
    block.freeze_structure()
    x = torch.randn(80, 6, dtype=torch.float64)
    y = torch.randn(80, 3, dtype=torch.float64)
    return block.double(), x, y


def ridge_objective(block, x, y, gates, ridge):
    residual = block.path_forward(x, gates) - y
    return residual.pow(2).sum() + ridge * block.effective_paths().pow(2).sum()


@pytest.mark.parametrize("prune", ["paths", "features"])  # theta as (U, dout, d0 + 1) or as (dout, K)
def test_ridge_matches_the_gradient_optimum(prune):
    ridge = 0.5
    block, x, y = frozen_block(prune=prune)
    gates = cache_gates(block, x)
    fit_ridge(block, x, y, ridge=ridge, gates=gates)
    closed = ridge_objective(block, x, y, gates, ridge).item()
    closed_weights = block.effective_paths().detach().clone()

    optimizer = torch.optim.LBFGS(
        [block.path_weight, block.path_bias],
        max_iter=500,
        tolerance_grad=1e-12,
        line_search_fn="strong_wolfe",
    )

    def closure():
        optimizer.zero_grad()
        value = ridge_objective(block, x, y, gates, ridge)
        value.backward()
        return value

    optimizer.step(closure)
    iterative = ridge_objective(block, x, y, gates, ridge).item()
    assert abs(closed - iterative) <= 1e-6 * abs(iterative)
    torch.testing.assert_close(block.effective_paths().detach(), closed_weights, rtol=1e-4, atol=1e-6)


def test_minibatch_reaches_the_ridge_optimum():
    ridge = 0.5
    block, x, y = frozen_block()
    gates = cache_gates(block, x)
    fit_ridge(block, x, y, ridge=ridge, gates=gates)
    target = ridge_objective(block, x, y, gates, ridge).item()
    block.path_weight.data.zero_()
    block.path_bias.data.zero_()
    # Adam on mse + weight decay equivalent to the ridge objective scaled by 1 / (N * dout)
    optimizer = torch.optim.Adam([block.path_weight, block.path_bias], lr=3e-3)
    scale = 1.0 / (len(x) * 3)
    for _ in range(3000):
        loss = scale * ridge_objective(block, x, y, gates, ridge)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    reached = ridge_objective(block, x, y, gates, ridge).item()
    assert reached <= target * 1.001


def test_fit_minibatch_and_lbfgs_reduce_classification_loss():
    torch.manual_seed(0)
    x = torch.randn(300, 5)
    labels = (x[:, 0] * x[:, 1] > 0).long()  # XOR-like: not linearly separable
    block = GLAI(5, 32, 2, batch_norm=False, auto_freeze=False)
    optimizer = torch.optim.Adam(block.structure.parameters(), lr=1e-2)
    for _ in range(200):
        loss = torch.nn.functional.cross_entropy(block(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    block.freeze_structure()
    history = fit_minibatch(
        block, x, labels, torch.optim.Adam(block.parameters(), lr=1e-3), epochs=5, batch_size=64
    )
    assert history[-1] < history[0]
    final = fit_lbfgs(block, x, labels, max_iter=50)
    assert final < history[-1]
    accuracy = (block(x).argmax(1) == labels).float().mean()
    assert accuracy > 0.9
