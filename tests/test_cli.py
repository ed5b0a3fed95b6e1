"""The glai-ssl command line, end to end in a subprocess, as a user runs it."""

import argparse
import json
import os
import re
import subprocess
import sys

import pytest


def glai_ssl(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "glai_ssl.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_data_check_reports_all_three_datasets(data_root, tmp_path):
    result = glai_ssl("data", "check", "--data-root", str(data_root), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for line in (
        "mnist          train             ok          60000",
        "fashion-mnist  test              ok          10000",
        "omniglot       vinyals-test      ok          33840     1692",
    ):
        assert line in result.stdout
    records = json.loads((tmp_path / "data_check.json").read_text())["records"]
    assert {r["dataset"] for r in records if r["status"] == "ok"} == {"mnist", "fashion-mnist", "omniglot"}


def test_data_check_on_an_empty_root(tmp_path):
    result = glai_ssl(
        "data", "check", "--data-root", str(tmp_path), env={"GLAI_SSL_CACHE": str(tmp_path / "c")}
    )
    assert result.returncode == 0 and "missing" in result.stdout and "Traceback" not in result.stderr
    strict = glai_ssl(
        "data", "check", "--strict", "--data-root", str(tmp_path), env={"GLAI_SSL_CACHE": str(tmp_path / "c")}
    )
    assert strict.returncode == 1


def test_help_and_bad_arguments():
    assert glai_ssl("--help").returncode == 0
    assert "--data-root" in glai_ssl("data", "check", "--help").stdout
    bad = glai_ssl("data", "check", "--device", "tpu")
    assert bad.returncode == 2 and "invalid choice: 'tpu'" in bad.stderr


def test_data_info(data_root):
    result = glai_ssl("data", "info", "--data-root", str(data_root))
    assert result.returncode == 0 and "vinyals-trainval" in result.stdout and "9cfc7cd6" in result.stdout


def test_bench_rejects_bad_settings_before_any_work(tmp_path):
    unknown = glai_ssl("bench", "nosuch", "--out", str(tmp_path))
    assert unknown.returncode != 0 and "unknown bench setting" in unknown.stderr
    quick_e2e = glai_ssl("bench", "e2e", "--quick", "--out", str(tmp_path))
    assert quick_e2e.returncode != 0 and "not part of --quick" in quick_e2e.stderr
    negative = glai_ssl("bench", "fixed-fmnist", "--glai-phase2-weight-decay", "-1", "--out", str(tmp_path))
    assert negative.returncode != 0 and "--glai-phase2-weight-decay -1.0 (must be >= 0)" in negative.stderr
    refit = glai_ssl("bench", "fixed-fmnist", "--glai-refit-ridge", "-0.01", "--out", str(tmp_path))
    assert refit.returncode != 0 and "--glai-refit-ridge -0.01 (must be >= 0)" in refit.stderr
    no_seeds = glai_ssl("bench", "fixed-fmnist", "--seeds", "0", "--out", str(tmp_path))
    assert no_seeds.returncode == 2 and "--seeds: must be >= 1, got 0" in no_seeds.stderr
    assert not (tmp_path / "bench.json").exists()


def test_evaluation_settings_are_checked_when_parsed(capsys):
    from glai_ssl.cli import main  # in process: argparse refuses these before any import of data or models

    for flags, message in [
        (["probe", "x.pt", "--knn-t", "0"], "--knn-t: must be > 0, got 0"),
        (["probe", "x.pt", "--knn-k", "-5"], "--knn-k: must be >= 1, got -5"),
        (["probe", "x.pt", "--probe-epochs", "0"], "--probe-epochs: must be >= 1, got 0"),
        (["pretrain", "--knn-k", "0"], "--knn-k: must be >= 1, got 0"),
        (["fewshot", "train", "--patience", "-1"], "--patience: must be >= 0, got -1"),
        (["pretrain", "--method", "simclr", "--lr", "-1"], "--lr: must be > 0, got -1"),
        (["pretrain", "--method", "simclr", "--weight-decay", "-1"], "--weight-decay: must be >= 0, got -1"),
        (["pretrain", "--method", "simclr", "--train-size", "-5"], "--train-size: must be >= 0, got -5"),
        (["pretrain", "--method", "simclr", "--devices", "0"], "--devices: must be >= 1, got 0"),
        (["pretrain", "--method", "simclr", "--hidden-dim", "0"], "--hidden-dim: must be >= 1, got 0"),
        (
            ["pretrain", "--method", "simclr", "--head", "glai", "--glai-tau", "2"],
            "--glai-tau: must be in [0, 1]",
        ),
        (
            ["pretrain", "--method", "simclr", "--glai-path-ratio", "4"],
            "--glai-path-ratio apply to GLAI heads",
        ),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(flags)
        error = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in error, (flags, error)
    with pytest.raises(
        SystemExit, match="--probe-epochs sets the adam probe; --probe lbfgs runs to convergence"
    ):
        main(["probe", "x.pt", "--probe", "lbfgs", "--probe-epochs", "50"])  # before reading x.pt


def test_probe_refuses_what_it_cannot_score_before_reading_any_data(tmp_path, capsys):
    from glai_ssl.cli import main
    from glai_ssl.models import make_backbone, save_backbone

    gray = save_backbone(tmp_path / "gray.pt", "conv4", make_backbone("conv4"), in_channels=1, image_size=28)
    colour = save_backbone(
        tmp_path / "colour.pt", "conv4", make_backbone("conv4", 3, 32), in_channels=3, image_size=32
    )
    (tmp_path / "a_file").write_text("")
    for flags, message in [
        (["--raw-pixels"], "--raw-pixels needs --dataset"),
        ([str(colour), "--dataset", "mnist"], "takes 3x32x32 images, mnist has 1x28x28"),
        ([str(gray), "--dataset", "omniglot", "--probe", "lbfgs"], "Omniglot is scored by nearest-prototype"),
        ([str(gray), "--dataset", "mnist", "--out", str(tmp_path / "a_file")], "a_file is a file"),
    ]:
        with pytest.raises(SystemExit, match=re.escape(message)):
            main(["probe", *flags])
    assert main(["probe", str(tmp_path)]) == 2  # a run folder, not a file in it
    assert "is a folder; pass a file in it" in capsys.readouterr().err


def subcommand_parsers(parser: argparse.ArgumentParser, name: str = "glai-ssl"):
    """``(name, parser)`` for ``parser`` and every subcommand below it."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub_parser in action.choices.items():
                yield from subcommand_parsers(sub_parser, f"{name} {sub_name}")


def test_every_subcommand_help_says_each_default_once():
    from glai_ssl.cli import build_parser

    helps = {name: " ".join(p.format_help().split()) for name, p in subcommand_parsers(build_parser())}
    assert {"glai-ssl bench", "glai-ssl fewshot train", "glai-ssl pretrain", "glai-ssl probe"} <= set(helps)
    for name, text in helps.items():
        assert not re.search(r"\(default: [^)]*\) \(default:", text), name
        assert "(default: None)" not in text, name  # an unset flag's help says what unset means
    assert (
        "--glai-phase2-lr GLAI_PHASE2_LR Adam learning rate of GLAI's path weights" in helps["glai-ssl bench"]
    )
    assert "(default: 0.0003)" in helps["glai-ssl bench"]


def test_bench_refit_flag_takes_a_number_or_off():
    from glai_ssl.cli import build_parser

    parser = build_parser()
    for word in ("off", "none", "OFF"):  # the few-shot CLI's word works too
        assert parser.parse_args(["bench", "--glai-refit-ridge", word]).glai_refit_ridge is None
    assert parser.parse_args(["bench", "--glai-refit-ridge", "0.1"]).glai_refit_ridge == 0.1
    assert parser.parse_args(["bench"]).glai_refit_ridge == 1e-2
