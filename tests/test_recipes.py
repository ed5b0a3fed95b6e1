"""Every recipe's ``--help`` runs and shows the defaults a user gets."""

import re
import runpy
import sys
from pathlib import Path

import pytest

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.py"))
#: what each recipe's --help must show (the SSL recipes share their flags)
SHOWN_DEFAULTS = {
    "ssl": ("--epochs EPOCHS pretraining epochs", "(default: 8)", "(default: 0.001)", "(default: 20000)"),
    "byol": (
        "(default: 8)",
        "(default: 0.002)",
        "(default: 20000)",
        "(default: 16.0)",
        "(default: features)",
    ),
    "simclr": ("(default: 8)", "(default: 0.001)", "(default: 0.2)", "(default: 16.0)", "(default: 0.1)"),
    "protonet_omniglot": ("--way WAY classes per training episode (default: 60)", "(default: 0.001)"),
    "swap_projector": ("--epochs EPOCHS", "(default: 6)", "(default: 0.5)"),
}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda path: path.stem)
def test_recipe_help_runs_and_names_the_defaults(recipe, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(recipe), "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(recipe), run_name="__main__")
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "usage:" in text
    for shown in SHOWN_DEFAULTS.get(recipe.stem, SHOWN_DEFAULTS["ssl"]):
        assert shown in text, shown
    assert not re.search(r"\(default: [^)]*\) \(default:", text)  # each default said once
    assert "(default: None)" not in text  # an unset flag's help says what unset means


PROTONET = next(path for path in RECIPES if path.stem == "protonet_omniglot")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--way", "5", "--max-classes", "10"], "20-way 1-shot 15-query episodes need 20 classes"),
        (["--way", "5", "--test-query", "19"], "(5 shot + 19 query)"),
        (["--full", "--dataset", "mnist"], "add --no-trainval"),
    ],
    ids=["too-few-test-classes", "too-many-test-queries", "full-without-trainval-split"],
)
def test_protonet_recipe_refuses_impossible_tests_before_training(
    flags, message, tmp_path, data_root, monkeypatch
):
    out = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", [str(PROTONET), *flags, "--out", str(out)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(PROTONET), run_name="__main__")
    assert message in str(exit_info.value.code)
    assert not out.exists()  # nothing trained


def test_protonet_recipe_refuses_zero_test_episodes(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(PROTONET), "--test-episodes", "0"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(PROTONET), run_name="__main__")
    assert exit_info.value.code == 2 and "--test-episodes: must be >= 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    "stem, prog", [("simclr", "simclr recipe"), ("protonet_omniglot", "protonet_omniglot.py")]
)
def test_recipes_report_missing_data_without_a_traceback(stem, prog, tmp_path, monkeypatch, capsys):
    recipe = next(path for path in RECIPES if path.stem == stem)
    (tmp_path / "nothing").mkdir()
    monkeypatch.setenv("GLAI_SSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(
        sys, "argv", [str(recipe), "--data-root", str(tmp_path / "nothing"), "--out", str(tmp_path / "run")]
    )
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(recipe), run_name="__main__")
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"{prog}: data error" in error and "was not found" in error
    assert "Traceback" not in error
