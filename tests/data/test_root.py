"""Data root resolution: --data-root > GLAI_SSL_DATA > ./data."""

from pathlib import Path

from glai_ssl.data import resolve_data_root


def test_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("GLAI_SSL_DATA", str(tmp_path / "env"))
    assert resolve_data_root(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert resolve_data_root() == (tmp_path / "env").resolve()
    monkeypatch.delenv("GLAI_SSL_DATA")
    monkeypatch.chdir(tmp_path)
    assert resolve_data_root() == Path("data").resolve()
