"""Phase-2 solvers on cached inputs: ridge in closed form equals the optimum that gradient methods reach."""

import pytest
import torch

from glai_ssl.glai import GLAI
from glai_ssl.glai.solvers import (
    cache_gates,
    fit_kept_ridge,
    fit_lbfgs,
    fit_minibatch,
    fit_ridge,
    refit_to_structure,
    structure_outputs,
)


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


# theta as (U, dout, d0 + 1) (dual), or as (dout, K) (primal); 35 = 3 biases + 10 whole features + 2 paths of an
# 11th, so the primal solve must handle a partly kept feature
@pytest.mark.parametrize(("prune", "budget"), [("paths", "all"), ("features", "all"), ("features", 35)])
def test_ridge_matches_the_gradient_optimum(prune, budget):
    ridge = 0.5
    block, x, y = frozen_block(budget=budget, prune=prune)
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


def wide_block(output_batch_norm=False):
    """A prune='features' block whose S (trained a little, so its paths differ in norm) is pruned to a budget."""
    torch.manual_seed(0)
    block = GLAI(
        6, 8, 3, structure_widths=16, prune="features", output_batch_norm=output_batch_norm, auto_freeze=False
    )
    x = torch.randn(400, 6)
    optimizer = torch.optim.Adam(block.structure.parameters(), lr=1e-2)
    for _ in range(50):
        loss = (block(x) - x[:, :3].sin()).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    block.freeze_structure()
    return block, x


@pytest.mark.parametrize("output_batch_norm", [False, True])
def test_refit_brings_the_pruned_block_closer_to_s(output_batch_norm):
    block, x = wide_block(output_batch_norm)
    assert block._pruned  # S has 16 * 3 * 7 = 336 paths; the MLP's budget is 91
    reference = block.structure(x)  # S in eval mode, output BatchNorm included
    before = (block.path_forward(x, cache_gates(block, x)).detach() - reference).pow(2).mean()
    fit = refit_to_structure(block, x, ridge=1e-4)
    after = (block.path_forward(x, cache_gates(block, x)) - reference).pow(2).mean()
    assert fit["after"] < 0.5 * fit["before"]
    assert after < 0.5 * before
    if not output_batch_norm:  # the reported errors are the measured ones
        target = structure_outputs(block, x)
        spread = (target - target.mean(0)).pow(2).sum()
        assert float(before * target.numel() / spread) == pytest.approx(fit["before"], rel=1e-3)
        measured = (block.path_forward(x, cache_gates(block, x)).detach() - target).pow(2).sum()
        assert float(measured / (target - target.mean(0)).pow(2).sum()) == pytest.approx(
            fit["after"], rel=1e-3
        )
    assert int((block.effective_paths() != 0).sum()) <= int(block.mask.sum())  # pruned paths stay zero


def test_refit_of_an_unpruned_block_keeps_s():
    torch.manual_seed(0)
    block = GLAI(6, 8, 3, structure_widths=4, prune="features", budget="all", auto_freeze=False)
    x = torch.randn(200, 6)
    block.freeze_structure()
    fit = refit_to_structure(block, x, ridge=1e-2)
    assert fit["before"] < 1e-10 and fit["after"] < 1e-10
    torch.testing.assert_close(block.path_forward(x, cache_gates(block, x)), structure_outputs(block, x))


def test_large_refit_ridge_keeps_the_pruned_products():
    block, x = wide_block()
    pruned = block.path_weight.detach().clone()
    refit_to_structure(block, x, ridge=1e9)
    torch.testing.assert_close(block.path_weight.detach(), pruned, rtol=1e-4, atol=1e-6)


def test_kept_ridge_needs_path_features():
    block, x, y = frozen_block(prune="paths")
    with pytest.raises(ValueError, match="prune='features'"):
        fit_kept_ridge(block, x, y, cache_gates(block, x), ridge=1.0)


def test_refit_on_degenerate_inputs_keeps_the_pruned_products():
    # one sample: the centred Gram matrix is zero, so the relative ridge falls back to an absolute one
    block, x = wide_block()
    pruned = block.path_weight.detach().clone()
    refit_to_structure(block, x[:1], ridge=1e-2)
    # up to the float32 rounding left in the centred Gram matrix (it differs with the thread count)
    torch.testing.assert_close(block.path_weight.detach(), pruned, rtol=1e-3, atol=1e-4)


def test_unregularised_ridge_on_collinear_features_stays_finite():
    block, x = wide_block()
    duplicated = torch.cat([x[:5]] * 20)  # 5 distinct samples for many more kept features: a singular system
    fit_kept_ridge(
        block, duplicated, structure_outputs(block, duplicated), cache_gates(block, duplicated), ridge=0.0
    )
    assert torch.isfinite(block.path_weight).all()
