"""Where data is read from and where caches are written.

The data root is resolved as ``--data-root`` > ``$GLAI_SSL_DATA`` > ``./data``. The data root is treated as
read-only: everything we derive (decoded Omniglot tensors, uncompressed MNIST files, feature caches) goes to
the cache directory, ``$GLAI_SSL_CACHE`` or ``~/.cache/glai_ssl``.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "GLAI_SSL_DATA"
CACHE_ENV = "GLAI_SSL_CACHE"


def resolve_data_root(data_root: str | os.PathLike | None = None) -> Path:
    """Return the data root: the argument if given, else ``$GLAI_SSL_DATA``, else ``./data``."""
    if data_root:
        return Path(data_root).expanduser().resolve()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser().resolve()
    return Path("data").resolve()


def cache_dir(sub: str | None = None) -> Path:
    """Return (and create) the cache directory, or one of its sub-folders."""
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "glai_ssl").expanduser()
    path = base / sub if sub else base
    path.mkdir(parents=True, exist_ok=True)
    return path
