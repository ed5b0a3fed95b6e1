"""Writing files so that a reader never sees half of one, even with several processes writing it at once."""

from __future__ import annotations

import glob
import os
import shutil
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


@contextmanager
def scratch_dir(parent: str | os.PathLike, tag: str = "scratch") -> Iterator[Path]:
    """A new folder ``<parent>/.<tag>.<pid>-<id>.tmp`` for unpacking or downloading aside, removed with all it
    holds when the block ends; move what you need out of it with :func:`move_in`. Folders of killed writers
    (their process is gone) are removed first."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(parent / f".{tag}")
    scratch = parent / f".{tag}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    scratch.mkdir()
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def move_in(source: Path, target: Path) -> None:
    """Rename ``source`` (a file or a whole folder) to ``target`` unless another process put ``target`` there
    first; a reader never sees half of it."""
    try:
        os.rename(source, target) if source.is_dir() else os.replace(source, target)
    except OSError:
        if not target.exists():
            raise


def remove_orphans(path: Path) -> None:
    """Remove ``path``'s temporaries (``<name>.<pid>-<id>.tmp``, files or folders) whose process no longer runs."""
    for stale in path.parent.glob(f"{glob.escape(path.name)}.*.tmp"):
        pid = stale.name[len(path.name) + 1 :].split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
