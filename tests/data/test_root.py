"""Data root resolution: --data-root > GLAI_SSL_DATA > ./data."""

from pathlib import Path

import pytest

from glai_ssl.data import DataError, resolve_data_root


def test_resolution_order(tmp_path, monkeypatch):
    (tmp_path / "arg").mkdir()
    (tmp_path / "env").mkdir()
    monkeypatch.setenv("GLAI_SSL_DATA", str(tmp_path / "env"))
    assert resolve_data_root(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert resolve_data_root() == (tmp_path / "env").resolve()
    monkeypatch.delenv("GLAI_SSL_DATA")
    monkeypatch.chdir(tmp_path)
    assert resolve_data_root() == Path("data").resolve()  # ./data may be absent: the cache may hold the data


def test_a_given_root_that_is_no_folder_is_refused(tmp_path, monkeypatch):
    with pytest.raises(DataError, match=r"typo-root \(from --data-root\) is not a folder"):
        resolve_data_root(tmp_path / "typo-root")
    monkeypatch.setenv("GLAI_SSL_DATA", str(tmp_path / "typo-env"))
    with pytest.raises(DataError, match=r"typo-env \(from \$GLAI_SSL_DATA\) is not a folder"):
        resolve_data_root()
