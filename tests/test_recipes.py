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
