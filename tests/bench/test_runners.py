import pytest
import torch

from glai_ssl.bench.protocol import summarise_pairs
from glai_ssl.bench.runners import RunSettings, configure_phase2, parameter_groups, train_head
from glai_ssl.bench.tasks import FixedClassification


def _blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(4, 16, generator=torch.Generator().manual_seed(0)) * 4
    labels = torch.randint(4, (n,), generator=generator)
    return centres[labels] + torch.randn(n, 16, generator=generator), labels


@pytest.fixture(scope="module")
def task() -> FixedClassification:
    return FixedClassification(_blobs(512, 1), _blobs(256, 2), _blobs(256, 3), hidden_dim=32)


@pytest.mark.parametrize("solver", ["adam", "lbfgs", "ridge"])
def test_both_heads_learn_and_glai_goes_through_both_phases(task, solver):
    settings = RunSettings(
        batch_size=32,
        max_epochs=12,
        patience=3,
        glai_check_every=8,
        glai_solver=solver,
        glai_max_structure_epochs=2.0,
    )
    mlp = train_head(task, "mlp", 0, settings)
    glai = train_head(task, "glai", 0, settings, target=mlp["mva"])
    assert mlp["mva"] > 0.9 and glai["mva"] > 0.9
    assert glai["glai"]["switch_step"] is not None
    assert glai["parameters"]["trainable"] == mlp["parameters"]["trainable"]
    assert glai["parameters"]["frozen"] > 0
    assert [p["seconds"] for p in glai["curve"]["points"]] == sorted(
        p["seconds"] for p in glai["curve"]["points"]
    )
    summary = summarise_pairs([{"seed": 0, "mlp": mlp, "glai": glai}])
    assert summary["seeds"] == 1


def test_phase2_weight_decay_is_decoupled_and_sets_the_phase2_lr_of_that_module_only():
    glai, other = torch.nn.Linear(3, 1, bias=False), torch.nn.Linear(3, 1, bias=False)
    model = torch.nn.Sequential(glai, other)
    for layer in model:
        torch.nn.init.ones_(layer.weight)
    optimizer = torch.optim.Adam(parameter_groups(model, [glai]), lr=1e-3)
    configure_phase2(optimizer.param_groups[0], RunSettings(glai_phase2_lr=0.1, glai_phase2_weight_decay=0.5))
    for layer in model:
        layer.weight.grad = torch.zeros(1, 3)  # Adam's own step is then zero: only the decay moves a weight
    optimizer.step()
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 1e-3]
    assert torch.allclose(glai.weight.detach(), torch.full((1, 3), 1 - 0.1 * 0.5))
    assert torch.equal(other.weight.detach(), torch.ones(1, 3))  # an MLP beside it keeps its settings


def test_glai_patience_counts_from_the_switch(task):
    # these blobs are learnt in an epoch or two: with the MLP's patience GLAI would stop in Phase 1
    settings = RunSettings(
        batch_size=32,
        max_epochs=12,
        patience=2,
        glai_tau=0.0,
        glai_check_every=8,
        glai_max_structure_epochs=5.0,
    )
    glai = train_head(task, "glai", 0, settings)
    phases = [p["phase"] for p in glai["curve"]["points"]]
    assert phases[:4] == [1] * 4 and phases[4:].count(2) >= settings.patience  # switched in epoch 5
    assert glai["glai"]["freeze_reason"] == "budget"


def test_report_renders_from_the_json_alone(task, tmp_path):
    import json

    from glai_ssl.bench.report import write_report

    settings = RunSettings(batch_size=32, max_epochs=4, patience=2, glai_check_every=8)
    mlp = train_head(task, "mlp", 0, settings)
    glai = train_head(task, "glai", 0, settings, target=mlp["mva"])
    pairs = [{"seed": 0, "mlp": mlp, "glai": glai}]
    results = json.loads(
        json.dumps({"settings": {"blobs": {"pairs": pairs, "summary": summarise_pairs(pairs)}}})
    )
    text = write_report(tmp_path, "glai-ssl bench blobs --seeds 1", results)
    assert "| blobs | 1 |" in text
    assert (tmp_path / "bench.md").read_text().startswith("# glai-ssl bench")
    assert (tmp_path / "curves_blobs.png").stat().st_size > 0
    assert (tmp_path / "gate_stability.png").stat().st_size > 0


def test_byol_counts_the_online_heads_only_and_the_target_stays_frozen():
    from glai_ssl.bench.tasks import SSLHead

    generator = torch.Generator().manual_seed(0)
    views = torch.randn(256, 4, 16, generator=generator)
    bank = (torch.randn(128, 16, generator=generator), torch.randint(3, (128,), generator=generator))
    query = (torch.randn(64, 16, generator=generator), torch.randint(3, (64,), generator=generator))
    task = SSLHead(views, bank, query, loss="byol", hidden_dim=32, output_dim=8)
    settings = RunSettings(
        batch_size=32, max_epochs=4, patience=10, glai_check_every=8, glai_max_structure_epochs=2.0
    )
    mlp = train_head(task, "mlp", 0, settings)
    glai = train_head(task, "glai", 0, settings, target=mlp["mva"])
    assert glai["glai"]["switch_step"] is not None
    assert glai["parameters"]["trainable"] == mlp["parameters"]["trainable"]
    # the default refit fitted both GLAI modules to their S at the switch, the predictor after the projector
    refits = [e["event"] for e in glai["curve"]["events"] if "refit" in e["event"]]
    assert [r.split()[0] for r in refits] == ["head", "predictor"]
    steps = {e["event"].split(" (")[0].split(":")[0]: e["step"] for e in glai["curve"]["events"]}
    for name in ("head", "predictor"):  # each refitted at its own switch
        assert steps[f"{name} refit to S"] == steps[f"{name} frozen"]
    assert glai["glai"]["config"]["prune"] == "features"


@pytest.mark.parametrize("change", [{"glai_refit_ridge": None}, {"glai_prune": "paths"}])
def test_no_refit_when_off_or_pruning_single_paths(task, change):
    settings = RunSettings(
        batch_size=32, max_epochs=4, patience=10, glai_check_every=8, glai_max_structure_epochs=2.0, **change
    )
    glai = train_head(task, "glai", 0, settings)
    assert glai["glai"]["switch_step"] is not None
    assert not [e for e in glai["curve"]["events"] if "refit" in e["event"]]


def test_byol_with_an_mlp_predictor_differs_in_the_projector_only():
    from glai_ssl.bench.settings import DEFAULT_SETTINGS, SETTINGS
    from glai_ssl.bench.tasks import SSLHead
    from glai_ssl.glai import GLAI

    generator = torch.Generator().manual_seed(0)
    views = torch.randn(64, 4, 16, generator=generator)
    bank = (torch.randn(32, 16, generator=generator), torch.randint(3, (32,), generator=generator))
    task = SSLHead(views, bank, bank, loss="byol", hidden_dim=32, output_dim=8, predictor="mlp")
    mlp, glai = task.build("mlp", {}), task.build("glai", {})
    assert isinstance(glai.head, GLAI) and not isinstance(glai.predictor, GLAI)
    assert type(glai.predictor) is type(mlp.predictor)
    assert set(task.glai_probes(glai)) == {"head"}
    assert task.name == "ssl-head-byol-mlp-predictor"
    assert task.name in SETTINGS and task.name not in DEFAULT_SETTINGS
    with pytest.raises(ValueError, match="unknown predictor 'glai'"):
        SSLHead(views, bank, bank, loss="byol", predictor="glai")
