"""File checksums, computed once per (path, size, mtime) and remembered for the process."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from glai_ssl.data.errors import corrupt_file_error


@lru_cache(maxsize=256)
def _md5(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def md5sum(path: Path) -> str:
    """md5 of a file (hex); cached while the file's size and mtime stay the same."""
    stat = Path(path).stat()
    return _md5(str(path), stat.st_size, stat.st_mtime_ns)


def verify_md5(path: Path, expected: str | tuple[str, ...], fix: str) -> str:
    """Return the md5 of ``path`` if it is one of ``expected``, else raise a :class:`DataError`."""
    accepted = (expected,) if isinstance(expected, str) else tuple(expected)
    got = md5sum(path)
    if got not in accepted:
        raise corrupt_file_error(Path(path), got, accepted, fix)
    return got
