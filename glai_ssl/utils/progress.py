"""Progress bars for anything longer than a few seconds.

On a terminal they redraw as usual; in a log (CI, ``nohup``) they print a line at most every 15 s.
``GLAI_SSL_PROGRESS=0`` turns them off.
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm


def progress_enabled() -> bool:
    """False only when ``GLAI_SSL_PROGRESS`` is ``0``/``false``/``no``."""
    return os.environ.get("GLAI_SSL_PROGRESS", "1").lower() not in ("0", "false", "no", "")


def progress(iterable=None, **kwargs) -> tqdm:
    """``tqdm`` with our defaults: to stderr, quiet when progress is off, sparse when not on a terminal."""
    kwargs.setdefault("disable", not progress_enabled())
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("leave", False)
    if not sys.stderr.isatty():
        kwargs.setdefault("mininterval", 15.0)
    return tqdm(iterable, **kwargs)
