"""Shared fixtures: the real data root (read only) and a per-session cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _real_data_root() -> Path | None:
    for candidate in (os.environ.get("GLAI_SSL_DATA"), REPO.parent / "shared" / "data", REPO / "data"):
        if candidate and (Path(candidate) / "omniglot").is_dir():
            return Path(candidate).resolve()
    return None


def pytest_configure(config):
    os.environ.setdefault("GLAI_SSL_PROGRESS", "0")
    os.environ.setdefault("GLAI_SSL_CACHE", str(REPO / ".cache"))
    root = _real_data_root()
    if root is not None:
        os.environ["GLAI_SSL_DATA"] = str(root)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real datasets (MNIST, Fashion-MNIST, Omniglot); tests of loaders and recipes use them."""
    root = _real_data_root()
    if root is None:
        pytest.fail(
            "real data not found: set GLAI_SSL_DATA to the folder holding MNIST/, FashionMNIST/ and omniglot/"
        )
    return root


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    """An empty cache directory for one test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GLAI_SSL_CACHE", str(cache))
    return cache
