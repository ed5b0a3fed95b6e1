"""Writing files so that a reader never sees half of one, even with several processes writing it at once."""

from __future__ import annotations

import glob
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
    Temporary files of ``path`` left by killed writers (their process is gone) are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def remove_orphans(path: Path) -> None:
    """Remove ``path``'s temporary files (``<name>.<pid>-<id>.tmp``) whose writing process no longer runs."""
    for stale in path.parent.glob(f"{glob.escape(path.name)}.*.tmp"):
        pid = stale.name[len(path.name) + 1 :].split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            stale.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
