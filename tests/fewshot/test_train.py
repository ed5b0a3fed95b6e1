"""Training and evaluation end to end on real Omniglot: above chance, checkpoints, resume, frozen backbone,
and impossible specs refused before training."""

import argparse
import json

import pytest
import torch

from glai_ssl.cli import main as glai_ssl
from glai_ssl.data import load_omniglot
from glai_ssl.fewshot import EpisodeSampler, EpisodeSpec, ProtoNet, load_model
from glai_ssl.fewshot.cli import add_train_args
from glai_ssl.fewshot.train import evaluate, first_classes, head_config
from glai_ssl.glai import GLAI_HEAD_DEFAULTS
from glai_ssl.models import load_backbone, make_backbone

# tiny runs: 20 classes of vinyals-val to train on, 20 classes of Lake's evaluation set to validate on
TINY = [
    "--train-split", "vinyals-val", "--val-split", "evaluation", "--max-classes", "20",
    "--way", "5", "--shot", "1", "--query", "2", "--episodes-per-epoch", "3",
    "--val-episodes", "10", "--episode-backend", "native",
]  # fmt: skip
GLAI = ["--head", "glai", "--head-hidden-dim", "32", "--head-output-dim", "16"]
GLAI += ["--check-every", "2", "--tau", "0", "--max-structure-steps", "4"]


def eval_record(tmp_path, checkpoint, name, *extra):
    out = tmp_path / name
    code = glai_ssl(["fewshot", "eval", str(checkpoint), "--out", str(out), *extra])
    assert code == 0
    return json.loads((out / "eval.json").read_text())


def test_short_training_is_clearly_above_chance_on_test_classes(tmp_path, data_root):
    code = glai_ssl(
        [
            "fewshot",
            "train",
            "--way",
            "20",
            "--epochs",
            "1",
            "--episodes-per-epoch",
            "25",
            "--val-split",
            "none",
        ]
        + ["--episode-backend", "native", "--out", str(tmp_path)]
    )
    assert code == 0
    trained, info = load_model(tmp_path / "model_best.pt")
    assert info["source"] == "fewshot" and info["meta"]["epoch"] == 1
    torch.manual_seed(0)
    untrained = ProtoNet(make_backbone("conv4"))
    test = first_classes(load_omniglot("vinyals-test", data_root=data_root), 200)
    sampler = EpisodeSampler(test.labels, EpisodeSpec(5, 1, 15), 300, seed=0, name=test.name)
    before, after = (evaluate(m, test.images, [sampler], split=test.name)[0] for m in (untrained, trained))
    assert after.split == "omniglot/vinyals-test[:200 classes]" and len(after.accuracies) == 300
    # chance is 20%; a random Conv-4 gets ~55%, 30 episodes of training ~70% on these episodes
    assert after.summary.mean > 0.6 and after.summary.mean > before.summary.mean + 0.08


def test_glai_resume_after_the_switch_equals_an_uninterrupted_run(tmp_path, data_root):
    # the structure freezes at episode 4 (epoch 2 of 3-episode epochs); the run resumes in Phase 2
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert glai_ssl(["fewshot", "train", *TINY, *GLAI, "--epochs", "3", "--out", str(straight)]) == 0
    assert glai_ssl(["fewshot", "train", *TINY, *GLAI, "--epochs", "2", "--out", str(resumed)]) == 0
    assert json.loads((resumed / "train.json").read_text())["glai"]["phase"] == 2
    args = [*TINY, *GLAI, "--epochs", "3", "--out", str(resumed), "--resume"]
    assert glai_ssl(["fewshot", "train", *args]) == 0
    a, b = _model_states(straight / "checkpoint.pt"), _model_states(resumed / "checkpoint.pt")
    for key in a:
        if torch.is_tensor(a[key]):
            assert torch.equal(a[key], b[key]), key


def test_time_budget_validates_the_last_epoch(tmp_path, data_root):
    # the budget ends the run after epoch 1, before the first scheduled validation (epoch 5)
    args = [*TINY, "--epochs", "10", "--val-every", "5", "--max-minutes", "0", "--out", str(tmp_path)]
    assert glai_ssl(["fewshot", "train", *args]) == 0
    record = json.loads((tmp_path / "train.json").read_text())
    assert record["epochs_done"] == 1 and record["stop_reason"] == "time budget of 0.0 minutes"
    assert "val" in record["history"][-1] and record["best_epoch"] == 1
    assert load_model(tmp_path / "model_best.pt")[1]["meta"]["epoch"] == 1


def _model_states(path):
    payload = torch.load(path, weights_only=False)["model"]
    return {**payload["backbone_state"], **{f"head.{k}": v for k, v in payload["head_state"].items()}}


def test_glai_checkpoint_resume_and_round_trip(tmp_path, data_root, capsys):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert glai_ssl(["fewshot", "train", *TINY, *GLAI, "--epochs", "2", "--out", str(straight)]) == 0
    assert glai_ssl(["fewshot", "train", *TINY, *GLAI, "--epochs", "1", "--out", str(resumed)]) == 0
    assert (
        glai_ssl(["fewshot", "train", *TINY, *GLAI, "--epochs", "2", "--out", str(resumed), "--resume"]) == 0
    )

    # the structure froze at episode 4, after the resume, and the runs ended identical
    record = json.loads((resumed / "train.json").read_text())
    assert record["glai"]["phase"] == 2 and record["glai"]["switch_step"] == 4
    a, b = _model_states(straight / "checkpoint.pt"), _model_states(resumed / "checkpoint.pt")
    assert a.keys() == b.keys()
    for key in a:
        if torch.is_tensor(a[key]):
            assert torch.equal(a[key], b[key]), key
    history = [{k: v for k, v in r.items() if k != "train"} for r in record["history"]]
    assert history == [
        {k: v for k, v in r.items() if k != "train"}
        for r in json.loads((straight / "train.json").read_text())["history"]
    ]

    # round trip: the model file rebuilds the same network, phase and embeddings (the best epoch's phase: S froze
    # in epoch 2, so a model selected at epoch 1 is in Phase 1)
    model, info = load_model(resumed / "model_best.pt")
    assert info["head"]["kind"] == "glai" and model.head.phase == (2 if record["best_epoch"] == 2 else 1)
    reference, _ = load_model(resumed / "checkpoint.pt")
    assert reference.head.phase == 2
    images = torch.rand(6, 1, 28, 28)
    model.eval(), reference.eval()
    if record["best_epoch"] == 2:
        assert torch.equal(model.embed(images), reference.embed(images))
    backbone, _ = load_backbone(resumed / "backbone_best.pt")
    backbone.eval()
    assert torch.equal(backbone(images), model.eval().backbone(images))

    # another configuration is refused, naming the difference
    capsys.readouterr()
    code = glai_ssl(
        ["fewshot", "train", *TINY, *GLAI, "--epochs", "3", "--out", str(resumed), "--resume", "--way", "4"]
    )
    assert code == 2
    assert "way: checkpoint 5, now 4" in capsys.readouterr().err


def test_supervised_pretraining_then_frozen_backbone_trains_only_the_head(tmp_path, data_root):
    pretrain = ["fewshot", "pretrain", "--train-split", "vinyals-val", "--val-split", "evaluation"]
    pretrain += ["--max-classes", "20", "--epochs", "2", "--batch-size", "100", "--val-episodes", "10"]
    assert glai_ssl([*pretrain, "--episode-backend", "native", "--out", str(tmp_path / "pretrain")]) == 0
    record = json.loads((tmp_path / "pretrain" / "pretrain.json").read_text())
    assert record["history"][1]["train"]["loss"] < record["history"][0]["train"]["loss"]
    pretrained = tmp_path / "pretrain" / "backbone.pt"
    assert load_backbone(pretrained)[1]["meta"]["pretrain"] == "supervised"
    out = tmp_path / "frozen"
    args = ["fewshot", "train", *TINY, "--epochs", "2", "--pretrained", str(pretrained), "--freeze-backbone"]
    assert glai_ssl([*args, *GLAI, "--out", str(out)]) == 0
    model, info = load_model(out / "checkpoint.pt")  # the last epoch: the structure froze at episode 4
    original, _ = load_backbone(pretrained)
    for name, value in original.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[name], value), name
    assert info["head"]["kind"] == "glai" and model.head.phase == 2
    evaluation = ["--split", "vinyals-val", "--max-classes", "40", "--episodes", "200"]
    record = eval_record(tmp_path, out / "model_best.pt", "eval", *evaluation, "--episode-backend", "native")
    assert (
        record["model"]["head"]["output_dim"] == 16 and record["split"] == "omniglot/vinyals-val[:40 classes]"
    )
    assert [(r["way"], r["shot"]) for r in record["results"]] == [(5, 1), (5, 5), (20, 1), (20, 5)]
    assert all(len(r["accuracies"]) == 200 and r["query"] == 15 for r in record["results"])
    assert all(r["mean"] > 0.2 for r in record["results"][:2])


@pytest.mark.parametrize(
    "options,message",
    [
        (["--way", "700"], "700-way 5-shot 5-query episodes need 700 classes"),
        (["--shot", "10", "--query", "11"], "at least 21 samples each (10 shot + 11 query)"),
        (["--way", "5", "--val-way", "30", "--max-classes", "20"], "30-way 5-shot 15-query episodes need 30"),
        (["--freeze-backbone", "--head", "none"], "leaves nothing to train"),
        (
            ["--head", "glai", "--prune", "paths", "--refit-ridge", "0.01"],
            "needs --prune features (got paths)",
        ),
    ],
)
def test_impossible_runs_fail_before_training(tmp_path, data_root, capsys, options, message):
    code = glai_ssl(["fewshot", "train", "--train-split", "vinyals-val", "--out", str(tmp_path), *options])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "checkpoint.pt").exists()


def test_glai_head_defaults_of_a_fewshot_run():
    """Unset GLAI flags take GLAI_HEAD_DEFAULTS; the refit follows --prune and --refit-ridge off (none) turns it off."""
    parser = argparse.ArgumentParser()
    add_train_args(parser)

    def glai_options(*flags):
        return head_config(parser.parse_args(["--head", "glai", *flags])).glai

    options = glai_options()
    assert {k: options[k] for k in GLAI_HEAD_DEFAULTS} == GLAI_HEAD_DEFAULTS
    assert "refit_ridge" not in glai_options("--prune", "paths")
    assert "refit_ridge" not in glai_options("--refit-ridge", "none")
    assert "refit_ridge" not in glai_options("--refit-ridge", "Off")  # the bench's word works too
    assert glai_options("--refit-ridge", "0.5", "--path-scale", "1")["refit_ridge"] == 0.5
    assert glai_options("--path-scale", "1")["path_scale"] == 1.0
    assert head_config(parser.parse_args(["--head", "mlp"])).glai == {}
    with pytest.raises(ValueError, match="needs --prune features"):
        glai_options("--prune", "paths", "--refit-ridge", "1e-2")
    with pytest.raises(SystemExit):
        parser.parse_args(["--refit-ridge", "no"])
