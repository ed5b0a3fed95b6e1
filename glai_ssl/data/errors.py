"""One error type for every data problem, with a message that says what to do."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class DataError(RuntimeError):
    """Missing, truncated or corrupt data. The message names the file, where we looked, and the fix."""


def missing_file_error(
    what: str, looked_in: Iterable[Path], fix: str, expected_md5: str | Iterable[str] | None = None
) -> DataError:
    """Build the standard "not found" error: which file, every place searched, how to fix it."""
    places = "\n".join(f"  - {p}" for p in looked_in)
    lines = [f"{what} was not found. Looked in:", places]
    if expected_md5:
        md5s = [expected_md5] if isinstance(expected_md5, str) else list(expected_md5)
        lines.append(f"Expected md5: {' or '.join(md5s)}.")
    lines.append(f"Fix: {fix}")
    return DataError("\n".join(lines))


def corrupt_file_error(path: Path, got_md5: str, expected_md5: Iterable[str], fix: str) -> DataError:
    """Build the standard "checksum mismatch" error."""
    size = path.stat().st_size if path.exists() else 0
    return DataError(
        f"{path} is corrupt or truncated ({size:,} bytes, md5 {got_md5}).\n"
        f"Expected md5: {' or '.join(expected_md5)}.\n"
        f"Fix: {fix}"
    )
