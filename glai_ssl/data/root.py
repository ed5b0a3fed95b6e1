"""Where data is read from and where caches are written.

The data root is resolved as ``--data-root`` > ``$GLAI_SSL_DATA`` > ``./data``. The data root is treated as
read-only: everything we derive (decoded Omniglot tensors, uncompressed MNIST files, feature caches) goes to
the cache directory, ``$GLAI_SSL_CACHE`` or ``~/.cache/glai_ssl``.
"""

from __future__ import annotations

import os
from pathlib import Path

from glai_ssl.data.errors import DataError

DATA_ENV = "GLAI_SSL_DATA"
CACHE_ENV = "GLAI_SSL_CACHE"


def resolve_data_root(data_root: str | os.PathLike | None = None) -> Path:
    """Return the data root: the argument if given, else ``$GLAI_SSL_DATA``, else ``./data``.

    Raises:
        DataError: a root given by argument or ``$GLAI_SSL_DATA`` is not a folder (a typo would otherwise go
            unnoticed whenever the cache already holds the dataset); ``./data`` may be absent.
    """
    if data_root:
        return _existing(Path(data_root).expanduser().resolve(), "--data-root")
    if os.environ.get(DATA_ENV):
        return _existing(Path(os.environ[DATA_ENV]).expanduser().resolve(), f"${DATA_ENV}")
    return Path("data").resolve()


def _existing(root: Path, source: str) -> Path:
    if not root.is_dir():
        raise DataError(
            f"the data root {root} (from {source}) is not a folder.\n"
            f"Fix: give the folder that holds the datasets (see `glai-ssl data info`), or leave {source} unset "
            "to use ./data and the cache"
        )
    return root


def cache_dir(sub: str | None = None) -> Path:
    """Return (and create) the cache directory, or one of its sub-folders."""
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "glai_ssl").expanduser()
    path = base / sub if sub else base
    path.mkdir(parents=True, exist_ok=True)
    return path
