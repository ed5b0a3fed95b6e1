"""The Lightning engine on real Fashion-MNIST: loss goes down, resume is exact, bad configs fail early."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from glai_ssl.models import make_backbone
from glai_ssl.ssl.module import SSLModule
from glai_ssl.ssl.train import (
    build_parser,
    check_resume,
    check_unused_flags,
    main,
    method_options,
    view_overrides,
)

REPO = Path(__file__).resolve().parents[2]
FAST = ["--workers", "0", "--no-final-eval", "--log-every", "1", "--hidden-dim", "64", "--output-dim", "32"]


def run(tmp, *flags, method="simclr"):
    args = build_parser(method).parse_args([*FAST, "--out", str(tmp), *flags])
    return main(args, method=method)


def step_losses(out: Path) -> dict[int, float]:
    losses = {}
    for metrics in sorted(
        (out / "logs" / "csv").glob("version_*/metrics.csv")
    ):  # a resumed run adds a version
        rows = csv.DictReader(metrics.open())
        losses.update({int(r["step"]): float(r["train_loss"]) for r in rows if r.get("train_loss")})
    return losses


@pytest.mark.slow
def test_short_real_run_lowers_the_loss(tmp_path, data_root):
    run(tmp_path, "--train-size", "1024", "--batch-size", "128", "--epochs", "3", "--lr", "3e-3")
    losses = list(step_losses(tmp_path).values())
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4 - 0.05
    assert (tmp_path / "backbone.pt").is_file() and (tmp_path / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("pruning", [[], ["--glai-prune", "features", "--glai-refit-ridge", "1e-3"]])
def test_resume_equals_an_uninterrupted_run(tmp_path, data_root, pruning):
    flags = [
        *pruning,
        "--train-size",
        "512",
        "--batch-size",
        "64",
        "--head",
        "glai",
        "--glai-check-every",
        "2",
        "--glai-max-structure-epochs",
        "1.5",
        "--method",
    ]
    evaluate = not pruning  # the kNN history across the resume, checked once (an evaluation costs seconds)
    flags = ["--eval-every", "1" if evaluate else "0", "--eval-size", "256", *flags]
    full = run(tmp_path / "full", "--epochs", "3", *flags[:-1], method="byol")
    part = run(tmp_path / "part", "--epochs", "3", "--stop-after-epochs", "1", *flags[:-1], method="byol")
    resumed = run(
        tmp_path / "part",
        "--epochs",
        "3",
        *flags[:-1],
        "--resume",
        str(tmp_path / "part" / "checkpoints" / "last.ckpt"),
        method="byol",
    )
    assert (
        full["glai"]["projection_head"]["switch_step"]
        == resumed["glai"]["projection_head"]["switch_step"]
        == 12
    )
    if pruning:  # the refit ran at the switch, on the inputs kept across the interruption
        refit = full["glai"]["projection_head"]["refit"]
        assert refit["after"] < refit["before"] and resumed["glai"]["projection_head"]["refit"] == refit
    # the kNN history and the training clock carry over the interruption
    assert resumed["train_seconds"] > part["train_seconds"] > 0
    if evaluate:
        knn = [(r["epoch"], r["knn_accuracy"]) for r in full["eval_history"]]
        assert len(knn) == 3 and [(r["epoch"], r["knn_accuracy"]) for r in resumed["eval_history"]] == knn
        assert resumed["eval_history"][0]["train_seconds"] == part["eval_history"][0]["train_seconds"]
    a, b = step_losses(tmp_path / "full"), step_losses(tmp_path / "part")
    later = [s for s in a if s >= 8]
    assert later and all(s in b for s in later)
    assert max(abs(a[s] - b[s]) for s in later) < 1e-5
    full_weights = torch.load(tmp_path / "full" / "backbone.pt")["state_dict"]
    part_weights = torch.load(tmp_path / "part" / "backbone.pt")["state_dict"]
    for key in full_weights:
        torch.testing.assert_close(full_weights[key], part_weights[key], rtol=1e-5, atol=1e-6)


def test_resume_refuses_a_checkpoint_of_another_configuration(tmp_path, data_root):
    tiny = ["--train-size", "128", "--batch-size", "64", "--epochs", "1", "--max-steps", "1"]
    run(tmp_path / "first", *tiny, "--view", "min_scale=0.25")  # Fashion-MNIST's default, spelled out
    checkpoint = tmp_path / "first" / "checkpoints" / "last.ckpt"
    before = checkpoint.read_bytes()
    with pytest.raises(SystemExit, match=r"already holds a run(.|\n)*continue it with --resume"):
        run(tmp_path / "first", *tiny, "--seed", "5")  # a forgotten --resume would have overwritten it
    run(tmp_path / "other", *tiny, "--seed", "5")
    # resuming another run into it would overwrite it too
    with pytest.raises(SystemExit, match="already holds a run"):
        run(tmp_path / "first", *tiny, "--resume", str(tmp_path / "other" / "checkpoints" / "last.ckpt"))
    assert checkpoint.read_bytes() == before
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit, match="--out .*a_file is a file; give a folder"):
        run(tmp_path / "a_file", *tiny)
    with pytest.raises(
        SystemExit, match=r"another configuration:(.|\n)*lr: checkpoint 0.001, now 0.002(.|\n)*views"
    ):
        run(tmp_path / "second", *tiny, "--lr", "2e-3", "--view", "rr_prob=0.5", "--resume", str(checkpoint))
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit, match="could not be read"):
        run(tmp_path / "third", *tiny, "--resume", str(garbage))
    with pytest.raises(SystemExit, match="does not exist"):
        run(tmp_path / "fourth", *tiny, "--resume", str(tmp_path / "missing.ckpt"))
    with pytest.raises(SystemExit, match="not a checkpoint of the SSL recipes"):
        run(tmp_path / "fifth", *tiny, "--resume", str(tmp_path / "first" / "backbone.pt"))
    with pytest.raises(SystemExit, match="max_steps: checkpoint 1, now -1"):  # its schedules were 1 step long
        run(tmp_path / "sixth", *tiny[:-2], "--resume", str(checkpoint))
    payload = torch.load(checkpoint, map_location="cpu", weights_only=False)
    config = payload["hyper_parameters"]["config"]
    assert config["views"] == {}  # a default spelled out is no change: resuming without --view is accepted
    ratio = config.pop("predictor_lr_ratio")  # as written before --predictor-lr-ratio existed
    config["channels_last"] = True  # and before session 18, when CPU runs recorded their layout
    config["views"] = {"min_scale": 0.25}  # and before session 20, when a default spelled out was recorded
    torch.save(payload, tmp_path / "older.ckpt")
    config.pop("channels_last")
    config["views"] = {}
    check_resume(tmp_path / "older.ckpt", {**config, "predictor_lr_ratio": ratio})
    config.pop("max_steps")  # and before session 21, when a run's --max-steps was not recorded
    torch.save(payload, tmp_path / "older.ckpt")
    check_resume(tmp_path / "older.ckpt", {**config, "predictor_lr_ratio": ratio, "max_steps": -1})
    with pytest.raises(SystemExit, match="predictor_lr_ratio: checkpoint 1.0, now 10.0"):
        check_resume(tmp_path / "older.ckpt", {**config, "predictor_lr_ratio": 10.0})


@pytest.mark.slow
def test_two_processes_equal_one_on_the_same_global_batch(tmp_path, data_root):
    common = [
        sys.executable,
        str(REPO / "recipes" / "simclr.py"),
        *FAST,
        "--train-size",
        "256",
        "--max-steps",
        "3",
        "--epochs",
        "1",
    ]
    single = subprocess.run(
        [*common, "--batch-size", "64", "--out", str(tmp_path / "one")], capture_output=True, text=True
    )
    assert single.returncode == 0, single.stderr[-2000:]
    double = subprocess.run(
        [
            *common,
            "--batch-size",
            "32",
            "--devices",
            "2",
            "--strategy",
            "ddp",
            "--out",
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
    )
    assert double.returncode == 0, double.stderr[-2000:]
    one, two = step_losses(tmp_path / "one"), step_losses(tmp_path / "two")
    assert sorted(one) == sorted(two) == [0, 1, 2]
    for step in one:
        assert abs(one[step] - two[step]) < 1e-4, (step, one[step], two[step])


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--backbone", "vit"], "unknown backbone 'vit'"),
        (["--batch-size", "1"], "--batch-size 1 is too small"),
        (["--epochs", "0"], "--epochs must be >= 1"),
        (["--momentum", "0.9", "1.0"], "--momentum applies to methods with a momentum encoder"),
        (["--view", "rotation=15"], "unknown view setting.*rotation; choose from .*rr_degrees"),
        (["--view", "rr_degrees=a lot"], "expected FIELD=NUMBER"),
        (["--view", "solarization_prob=0.2"], "solarization_prob applies to BYOL's second view only"),
        (["--temperature", "0"], "--temperature 0: give a value > 0"),
        (["--temperature", "nan"], "--temperature nan: give a value > 0"),
        (["--glai-refit-ridge", "0.01"], "--glai-refit-ridge 0.01 needs --glai-prune features"),
        (["--max-steps", "0"], "--max-steps 0: give a number of steps >= 1, or -1 for no limit"),
        (["--train-size", "70000"], "--train-size 70000 exceeds the 60000 images"),
        (
            ["--train-size", "100", "--batch-size", "64", "--devices", "2"],
            "cannot fill one global batch of 2",
        ),
        (["--dataset", "omniglot", "--eval-every", "1"], "omniglot has no labelled bank for a periodic kNN"),
        (["--train-size", "256", "--strategy", "bogus"], "Lightning refused the run's settings: .*strategy"),
        (["--train-size", "256", "--precision", "7"], "Lightning refused the run's settings: Precision '7'"),
        (["--glai-prune", "features", "--glai-refit-ridge", "-1"], "and a value >= 0"),
    ],
)
def test_bad_configs_fail_before_training(tmp_path, data_root, flags, message):
    with pytest.raises(SystemExit, match=message):
        run(tmp_path, *flags)


def test_view_takes_several_settings_after_one_flag_or_one_per_flag():
    args = build_parser("byol").parse_args(
        ["--view", "cj_bright=0.8", "cj_contrast=0.8", "--view", "min_scale=0.3", "--seed", "1"]
    )
    assert view_overrides(args.view) == {"cj_bright": 0.8, "cj_contrast": 0.8, "min_scale": 0.3}
    assert args.seed == 1


def test_byol_checks_the_solarization_range_before_training(tmp_path, data_root):
    with pytest.raises(SystemExit, match=r"solarization_prob=2 is a probability"):
        run(tmp_path, "--view", "solarization_prob=2", method="byol")


def test_momentum_outside_zero_one_fails_before_training(tmp_path, data_root):
    with pytest.raises(SystemExit, match="both must be in"):
        run(tmp_path, "--momentum", "0.9", "1.5", method="byol")


def test_temperature_applies_to_ntxent_methods_only(tmp_path, data_root):
    with pytest.raises(
        SystemExit, match=r"--temperature applies to methods with an NT-Xent loss \(simclr, moco\)"
    ):
        run(tmp_path, "--temperature", "0.2", method="byol")


def test_temperature_reaches_the_loss_and_the_checkpoint(tmp_path, data_root):
    assert method_options(build_parser("moco").parse_args([])) == {}  # unset: the method's own default
    tiny = ["--train-size", "128", "--batch-size", "64", "--epochs", "1", "--max-steps", "1"]
    run(tmp_path, *tiny, "--temperature", "0.3", method="moco")
    payload = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    config = payload["hyper_parameters"]["config"]
    assert config["method_options"] == {"temperature": 0.3}
    assert SSLModule(config).method.criterion.temperature == 0.3  # MoCo's memory-bank NT-Xent


def test_predictor_lr_ratio_gives_the_predictor_its_own_lr(tmp_path, data_root):
    with pytest.raises(
        SystemExit, match=r"--predictor-lr-ratio applies to methods with a predictor \(byol, simsiam\)"
    ):
        run(tmp_path, "--predictor-lr-ratio", "10")
    tiny = ["--train-size", "128", "--batch-size", "64", "--epochs", "2", "--max-steps", "1"]
    run(tmp_path, *tiny, "--predictor-lr-ratio", "10", method="byol")
    payload = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    groups = {g["name"]: g for g in payload["optimizer_states"][0]["param_groups"]}
    assert groups["predictor"]["initial_lr"] == pytest.approx(10 * groups["ssl"]["initial_lr"]) == 1e-2
    predictor = SSLModule(payload["hyper_parameters"]["config"]).method.prediction_head
    assert len(groups["predictor"]["params"]) == len(list(predictor.parameters()))


def test_unknown_method_and_small_images_fail_clearly(tmp_path, data_root):
    with pytest.raises(SystemExit):  # argparse: invalid choice
        build_parser().parse_args(["--method", "dino"])

    with pytest.raises(ValueError, match="needs images of at least 16x16, got 8x8"):
        make_backbone("conv4", image_size=8)


def recipe_defaults(name: str) -> dict:
    """The DEFAULTS of ``recipes/<name>.py``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"recipe_{name}", REPO / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.DEFAULTS


def test_glai_flags_with_an_mlp_head_are_refused_unless_left_at_their_defaults(capsys):
    byol = build_parser("byol", recipe_defaults("byol"))
    check_unused_flags(byol, byol.parse_args(["--head", "mlp"]))  # the recipe's GLAI defaults: no complaint
    args = byol.parse_args(["--head", "mlp", "--glai-path-ratio", "4", "--glai-tau", "0.1"])
    with pytest.raises(SystemExit) as exit_info:
        check_unused_flags(byol, args)
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--glai-path-ratio, --glai-tau apply to GLAI heads" in error
    check_unused_flags(byol, byol.parse_args(["--head", "glai", "--glai-path-ratio", "4"]))


def test_knn_and_probe_flags_on_omniglot_are_refused(capsys):
    """Omniglot is scored by few-shot episodes: a changed --knn-k would be ignored without a word."""
    simclr = build_parser("simclr", recipe_defaults("simclr"))
    check_unused_flags(simclr, simclr.parse_args(["--dataset", "omniglot", "--feature-norm", "l2"]))
    check_unused_flags(simclr, simclr.parse_args(["--knn-k", "20"]))  # Fashion-MNIST has a kNN
    with pytest.raises(SystemExit) as exit_info:
        check_unused_flags(
            simclr, simclr.parse_args(["--dataset", "omniglot", "--knn-k", "20", "--probe-epochs", "5"])
        )
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--knn-k, --probe-epochs set the kNN and linear probe" in error


def test_recipe_defaults_reach_the_run():
    """BYOL: lr 2e-3; SimCLR: temperature 0.2; both: GLAI_HEAD_DEFAULTS, whose refit --glai-refit-ridge off drops."""
    from glai_ssl.glai import GLAI_HEAD_DEFAULTS
    from glai_ssl.ssl.train import glai_options

    byol = build_parser("byol", recipe_defaults("byol"))
    args = byol.parse_args(["--head", "glai"])
    assert args.lr == 2e-3
    options = glai_options(args, steps_per_epoch=78)
    assert {key: options[key] for key in GLAI_HEAD_DEFAULTS} == GLAI_HEAD_DEFAULTS
    without_refit = glai_options(byol.parse_args(["--head", "glai", "--glai-refit-ridge", "off"]), 78)
    assert "refit_ridge" not in without_refit and without_refit["prune"] == "features"
    simclr = build_parser("simclr", recipe_defaults("simclr")).parse_args([])
    assert method_options(simclr) == {"temperature": 0.2} and simclr.glai_path_ratio == 16.0
