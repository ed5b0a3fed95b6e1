"""The GLAI block: exactness at the switch, budget, frozen structure, linearity, phases and state."""

import pytest
import torch
from torch import nn

from glai_ssl.glai import GLAI, PhaseError, StabilityConfig
from glai_ssl.glai.paths import num_paths, path_products


def trained_block(
    d0=24, hidden=(40,), dout=6, steps=30, seed=0, batch_norm=True, output_batch_norm=False, **kwargs
) -> tuple[GLAI, torch.Tensor]:
    torch.manual_seed(seed)
    block = GLAI(
        d0,
        hidden,
        dout,
        batch_norm=batch_norm,
        output_batch_norm=output_batch_norm,
        auto_freeze=False,
        **kwargs,
    )
    x = torch.randn(128, d0)
    target = torch.randn(128, dout)
    optimizer = torch.optim.Adam(block.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = (block(x) - target).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return block, x


@pytest.mark.parametrize(
    "hidden,batch_norm,output_batch_norm",
    [
        ((40,), True, False),
        ((40,), True, True),
        ((40,), False, False),
        ((16, 12), True, False),
        ((8, 6, 5), False, True),
    ],
)
def test_unpruned_phase2_equals_structure_at_switch(hidden, batch_norm, output_batch_norm):
    block, x = trained_block(
        hidden=hidden,
        batch_norm=batch_norm,
        output_batch_norm=output_batch_norm,
        structure_widths=(5,) * len(hidden),
        budget="all",
    )
    block.eval()
    with torch.no_grad():
        before = block.structure(x)
    block.freeze_structure()
    with torch.no_grad():
        after = block(x)
    rel = (after - before).abs().max() / before.abs().max()
    assert rel <= 1e-5, f"max relative error {rel:.2e}"


def test_default_width_and_pruned_budget_is_exact():
    block, _ = trained_block(d0=24, hidden=(64,), dout=6)
    mlp_params = 24 * 64 + 2 * 64 + 64 * 6 + 6  # Linear(no bias)+BN, Linear(bias)
    assert block.budget == mlp_params == block.spec.num_parameters()
    assert block.structure_widths == (-(-mlp_params // (6 * 25)),)  # ceil(P / (dout * (d0 + 1)))
    block.freeze_structure()
    assert block.num_trainable_parameters() == mlp_params
    assert int(block.mask.sum()) == mlp_params - 6
    assert num_paths(block.spec, block.structure_widths) >= mlp_params


def test_masked_paths_stay_zero_and_structure_is_frozen():
    block, x = trained_block()
    block.freeze_structure()
    snapshot = {k: v.clone() for k, v in block.structure.state_dict().items()}
    optimizer = torch.optim.AdamW(block.parameters(), lr=1e-2, weight_decay=0.1)
    block.train()
    for _ in range(5):
        loss = block(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        assert all(p.grad is None for p in block.structure.parameters())
        optimizer.step()
    for key, value in block.structure.state_dict().items():
        assert torch.equal(value, snapshot[key]), f"S changed in Phase 2: {key}"
    assert torch.all(block.path_weight[~block.mask] == 0)
    assert not block.structure.training


def test_gates_carry_no_gradient_but_input_does():
    block, x = trained_block()
    block.freeze_structure()
    x = x.clone().requires_grad_(True)
    gates = block.unit_gates(x)
    assert not gates.requires_grad
    block(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    expected = torch.einsum("bu,uoi->boi", gates, block.effective_paths())[:, :, :-1].sum(1)
    torch.testing.assert_close(x.grad, expected, rtol=1e-4, atol=1e-5)


def test_output_is_linear_in_path_weights_with_gates_fixed():
    block, x = trained_block()
    block.freeze_structure()
    block.eval()
    gates = block.unit_gates(x)
    with torch.no_grad():
        base_weight, bias = block.path_weight.clone(), block.path_bias.clone()
        delta1, delta2 = torch.randn_like(base_weight), torch.randn_like(base_weight)

        def output(weight):
            block.path_weight.copy_(weight)
            block.path_bias.zero_()
            return block.path_forward(x, gates)

        combined = output(2.0 * delta1 - 3.0 * delta2)
        separate = 2.0 * output(delta1) - 3.0 * output(delta2)
        block.path_bias.copy_(bias)
        block.path_weight.copy_(base_weight)
    torch.testing.assert_close(combined, separate, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("hidden,widths", [((40,), 16), ((16, 12), (4, 3))])
@pytest.mark.parametrize("prune", ["paths", "features"])
def test_fast_path_matches_explicit_path_features(prune, hidden, widths):
    block, x = trained_block(hidden=hidden, structure_widths=widths, prune=prune)
    block.freeze_structure()
    block.eval()
    gates = block.unit_gates(x)
    x = x.clone().requires_grad_(True)
    features = gates.unsqueeze(2) * torch.cat([x, torch.ones(len(x), 1)], 1).unsqueeze(1)  # (B, U, d0+1)
    explicit = torch.einsum("bui,uoi->bo", features, block.effective_paths()) + block.path_bias
    cotangent = torch.randn_like(explicit)
    (explicit * cotangent).sum().backward()
    expected_grads = block.path_weight.grad, x.grad
    block.path_weight.grad, x.grad = None, None
    fast = block.path_forward(x, gates)
    (fast * cotangent).sum().backward()
    torch.testing.assert_close(fast, explicit, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(block.path_weight.grad, expected_grads[0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(x.grad, expected_grads[1], rtol=1e-4, atol=1e-5)


def test_feature_pruning_keeps_whole_path_features_of_largest_norm():
    block, _ = trained_block(d0=24, hidden=(64,), dout=6, path_ratio=4, prune="features")
    paths, _ = path_products(block.structure)
    block.freeze_structure()
    assert block.num_trainable_parameters() == block.spec.num_parameters() == 2054  # 2048 paths + 6 biases
    outputs_kept = block.mask.sum(dim=1)  # (U, d0 + 1): kept output weights of each path feature
    assert sorted(outputs_kept[outputs_kept > 0].tolist()) == [2] + [6] * 341  # 2048 = 341 * 6 + 2
    norms = paths.abs().sum(dim=1)
    assert norms[outputs_kept == 6].min() >= norms[outputs_kept == 0].max()
    assert block.path_weight.shape == (
        6,
        342,
    )  # theta holds the kept features only: Phase 2 is one small GEMM
    torch.testing.assert_close(block.effective_paths(), paths * block.mask)


def test_optimizer_built_before_the_switch_trains_path_weights():
    torch.manual_seed(0)
    block = GLAI(16, 32, 4, stability=StabilityConfig(check_every=5, max_steps=20, probe_size=64))
    optimizer = torch.optim.SGD(block.parameters(), lr=0.05, momentum=0.9)
    x, target = torch.randn(64, 16), torch.randn(64, 4)
    for _ in range(30):
        loss = (block(x) - target).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert block.phase == 2 and block.switch_step == 20
    before = block.path_weight.detach().clone()
    loss = (block(x) - target).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert not torch.equal(before, block.path_weight.detach())


def test_monitor_freezes_when_gates_settle():
    """A regression problem whose gates settle: the monitor declares stability before its budget."""
    torch.manual_seed(0)
    x = torch.randn(512, 8)
    target = torch.relu(x @ torch.randn(8, 16)) @ torch.randn(16, 2)
    block = GLAI(
        8,
        64,
        2,
        batch_norm=False,
        stability=StabilityConfig(tau=0.002, patience=3, check_every=20, max_steps=5000),
    )
    optimizer = torch.optim.Adam(block.parameters(), lr=3e-3)
    for _ in range(3000):
        loss = (block(x) - target).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if block.phase == 2:
            break
    assert block.phase == 2
    assert block.monitor.reason == "stable"
    trace = [r["distance"] for r in block.stability_trace]
    assert trace[-1] < 0.002 and max(trace) > trace[-1]


def test_budget_stops_phase1():
    torch.manual_seed(0)
    block = GLAI(8, 16, 2, stability=StabilityConfig(tau=0.0, check_every=10, max_steps=30))
    optimizer = torch.optim.Adam(block.parameters(), lr=1e-1)
    for _ in range(40):
        loss = block(torch.randn(32, 8)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert block.phase == 2 and block.monitor.reason == "budget" and block.switch_step == 30
    summary = block.summary()
    assert (summary["phase"], summary["switch_step"], summary["freeze_reason"]) == (2, 30, "budget")
    # the check at step 10 has no earlier gates to compare with, so the trace starts at 20
    assert [check["step"] for check in summary["trace"]] == [20, 30]
    assert summary["trainable_parameters"] == block.spec.num_parameters()  # the MLP's budget, exactly
    assert summary["structure_parameters"] == sum(p.numel() for p in block.structure.parameters())
    assert summary["config"] == block.config()


@pytest.mark.parametrize("phase,prune", [(1, "paths"), (2, "paths"), (2, "features")])
def test_state_dict_round_trip(phase, prune, tmp_path):
    block, x = trained_block(output_batch_norm=True, prune=prune)
    if phase == 2:
        block.freeze_structure()
    block.eval()
    path = tmp_path / "glai.pt"
    torch.save(block.state_dict(), path)
    fresh = GLAI(24, 40, 6, output_batch_norm=True, prune=prune, auto_freeze=False)
    fresh.load_state_dict(torch.load(path, weights_only=False))
    fresh.eval()
    assert fresh.phase == phase
    torch.testing.assert_close(fresh(x), block(x))
    assert fresh.num_trainable_parameters() == block.num_trainable_parameters()
    if phase == 2:
        assert all(not p.requires_grad for p in fresh.structure.parameters())


def test_loading_another_config_or_going_back_a_phase_fails_clearly():
    block, _ = trained_block()
    other = GLAI(24, 41, 6, auto_freeze=False)
    with pytest.raises(ValueError, match="another config.*spec"):
        other.load_state_dict(block.state_dict())
    with pytest.raises(ValueError, match="another config; prune: checkpoint paths vs this module features"):
        GLAI(24, 40, 6, prune="features", auto_freeze=False).load_state_dict(block.state_dict())
    old = block.state_dict()  # saved before the prune option existed: single paths
    old["_extra_state"] = {**old["_extra_state"], "config": {**block.config()}}
    del old["_extra_state"]["config"]["prune"]
    GLAI(24, 40, 6, auto_freeze=False).load_state_dict(old)
    frozen, _ = trained_block()
    frozen.freeze_structure()
    with pytest.raises(PhaseError, match="Phase-1 GLAI state into a block already in Phase 2"):
        frozen.load_state_dict(block.state_dict())
    with pytest.raises(ValueError, match="not saved from a GLAI block"):
        block.load_state_dict(nn.Linear(2, 2).state_dict())


def test_clear_errors_for_bad_input_and_misuse():
    block, _ = trained_block()
    with pytest.raises(ValueError, match=r"inputs of shape \(batch, 24\)"):
        block(torch.randn(4, 23))
    with pytest.raises(PhaseError, match="Phase-2 API"):
        block.effective_paths()
    block.freeze_structure()
    with pytest.raises(PhaseError, match="already frozen"):
        block.freeze_structure()
    with pytest.raises(ValueError, match="only .* paths"):
        GLAI(24, 40, 6, structure_widths=1, budget=10_000)
    with pytest.raises(ValueError, match="structure_widths"):
        GLAI(24, [40, 40], 6, structure_widths=3)
    with pytest.raises(ValueError, match="unknown prune 'units'; choose one of paths, features"):
        GLAI(24, 40, 6, prune="units")


def test_bf16_autocast_runs_in_both_phases():
    block, x = trained_block()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y1 = block(x)
        block.freeze_structure()
        y2 = block(x)
    assert y1.shape == y2.shape == (128, 6)
    assert torch.isfinite(y2.float()).all()
    y2.float().sum().backward()
    assert block.path_weight.grad is not None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on a GPU machine)")
def test_cuda_matches_cpu():
    block, x = trained_block()
    block.freeze_structure()
    block.eval()
    cpu = block(x)
    gpu = block.cuda()(x.cuda()).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-3, atol=1e-3)


def test_sync_batchnorm_conversion_keeps_gates_and_switch_exact():
    block, x = trained_block(output_batch_norm=True, budget="all", structure_widths=5)
    block.eval()
    before = block.layer_gates(x)[0]
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(block)
    assert any(isinstance(m, nn.SyncBatchNorm) for m in converted.structure.modules())
    assert torch.equal(converted.layer_gates(x)[0], before)
    reference = converted.structure(x)
    converted.freeze_structure()
    rel = (converted(x) - reference).abs().max() / reference.abs().max()
    assert rel <= 1e-5


def test_probe_is_fixed_at_the_first_check_with_small_batches():
    torch.manual_seed(0)
    block = GLAI(
        8,
        16,
        4,
        batch_norm=False,
        stability=StabilityConfig(check_every=1, probe_size=8, tau=0.0, max_steps=None),
    )
    optimizer = torch.optim.SGD(block.parameters(), lr=0.1)
    for _ in range(5):  # batches of 4 < probe_size 8: the probe must not grow after the first check
        loss = block(torch.randn(4, 8)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert block.probe_count == 4 and len(block.stability_trace) == 4


def refit_run(steps, state=None, seed=0):
    """A features-pruned block with a switch refit, trained with auto-freeze on fresh batches; optionally
    started from a saved (block, optimizer) state."""
    torch.manual_seed(seed)
    block = GLAI(
        8,
        16,
        3,
        batch_norm=False,
        path_ratio=8,
        prune="features",
        refit_ridge=1e-3,
        refit_samples=96,
        stability=StabilityConfig(tau=0.0, check_every=5, max_steps=12, probe_size=32),
    )
    optimizer = torch.optim.Adam(block.parameters(), lr=1e-2)
    start = 0
    if state is not None:
        block.load_state_dict(state["block"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["step"]
    data = torch.Generator().manual_seed(1)
    batches = [torch.randn(32, 8, generator=data) for _ in range(20)]
    for step in range(start, steps):
        x = batches[step]
        loss = (block(x) - x[:, :3].sin()).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return block, optimizer


def test_switch_refit_fits_kept_paths_to_s_and_resumes_the_same():
    block, _ = refit_run(15)
    assert block.phase == 2 and block.switch_step == 12
    fit = block.summary()["refit"]
    assert (
        fit["after"] < 0.5 * fit["before"]
    )  # pruning 8x the budget's paths moved the function; the fit undoes most
    # interrupted in Phase 1 (after step 10, with 96 recent inputs kept) and resumed: the same refit, the same weights
    interrupted, optimizer = refit_run(10)
    state = {"block": interrupted.state_dict(), "optimizer": optimizer.state_dict(), "step": 10}
    resumed, _ = refit_run(15, state)
    torch.testing.assert_close(resumed.path_weight, block.path_weight)
    assert resumed.summary()["refit"] == fit


def test_refit_needs_path_features():
    with pytest.raises(ValueError, match="prune='features'"):
        GLAI(8, 16, 3, refit_ridge=1e-3)
