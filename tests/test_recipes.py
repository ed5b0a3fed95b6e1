"""Every recipe's ``--help`` runs and shows the defaults a user gets."""

import runpy
import sys
from pathlib import Path

import pytest

RECIPES = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.py"))
SSL_RECIPES = ("barlowtwins", "byol", "moco", "simclr", "simsiam", "vicreg")


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda path: path.stem)
def test_recipe_help_runs_and_names_the_defaults(recipe, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(recipe), "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(recipe), run_name="__main__")
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "usage:" in text
    if recipe.stem in SSL_RECIPES:
        for shown in (
            "--epochs EPOCHS pretraining epochs",
            "(default: 8)",
            "(default: 0.001)",
            "(default: 20000)",
        ):
            assert shown in text, shown
        assert "(default: auto) (default: auto)" not in text  # each default said once
