"""Writing files so that a reader never sees half of one, even with several processes writing it at once."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: this machine, in temporary names: a cache shared between machines (NFS) holds temporaries of processes
#: whose pids mean nothing here, and only this machine's are checked for a dead writer
HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path next to ``path``, unique to this writer, that replaces ``path`` when the block ends.

    Write the whole file to the yielded path; on success it is renamed onto ``path`` (``os.replace``, atomic on
    one file system), on an error it is removed and ``path`` is left as it was. Two processes filling the same
    cache file at once each write their own temporary file, and the last rename wins with a whole file.
    Temporary files of ``path`` left by killed writers on this machine (their process is gone) are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(path)
    tmp = path.with_name(f"{path.name}.{_writer()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def scratch_dir(parent: str | os.PathLike, tag: str = "scratch") -> Iterator[Path]:
    """A new folder ``<parent>/.<tag>.<host>-<pid>-<id>.tmp`` for unpacking or downloading aside, removed with all it
    holds when the block ends; move what you need out of it with :func:`move_in`. Folders of killed writers on
    this machine (their process is gone) are removed first."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(parent / f".{tag}")
    scratch = parent / f".{tag}.{_writer()}.tmp"
    scratch.mkdir()
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def move_in(source: Path, target: Path) -> None:
    """Move ``source`` to ``target`` in one rename, so a reader sees all of it or nothing.

    A file replaces ``target`` (writers of one cache file write the same bytes: the last one wins, whole). A
    folder is dropped when another process has put a folder at ``target`` first (``target`` is kept)."""
    if not source.is_dir():
        os.replace(source, target)
        return
    try:
        os.rename(source, target)
    except OSError:
        if not target.is_dir():
            raise


def remove_orphans(path: Path) -> None:
    """Remove ``path``'s temporaries (``<name>.<host>-<pid>-<id>.tmp``, files or folders) written on this machine
    by a process that no longer runs."""
    for stale in path.parent.glob(f"{glob.escape(path.name)}.{HOST}-*.tmp"):
        pid = stale.name[len(path.name) + len(HOST) + 2 :].split("-", 1)[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def _writer() -> str:
    return f"{HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
