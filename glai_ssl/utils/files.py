"""Writing files so that a reader never sees half of one, even with several processes writing it at once."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path next to ``path``, unique to this writer, that replaces ``path`` when the block ends.

    Write the whole file to the yielded path; on success it is renamed onto ``path`` (``os.replace``, atomic on
    one file system), on an error it is removed and ``path`` is left as it was. Two processes filling the same
    cache file at once each write their own temporary file, and the last rename wins with a whole file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
