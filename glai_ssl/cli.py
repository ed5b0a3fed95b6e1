"""The ``glai-ssl`` command line. Every subcommand takes ``--help``, ``--device``, ``--seed`` and ``--out``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from glai_ssl import __version__
from glai_ssl.data.errors import DataError
from glai_ssl.models.checkpoint import CheckpointError

#: modules with a ``register(subparsers)`` function, one per subcommand group.
COMMAND_MODULES = [
    "glai_ssl.data.cli",
    "glai_ssl.ssl.cli",
    "glai_ssl.eval.cli",
    "glai_ssl.bench.cli",
    "glai_ssl.fewshot.cli",
]


def build_parser() -> argparse.ArgumentParser:
    """The ``glai-ssl`` parser, with the subcommands registered by every module of :data:`COMMAND_MODULES`."""
    parser = argparse.ArgumentParser(
        prog="glai-ssl",
        description="Self-supervised and few-shot learning with GLAI heads (arXiv 2510.00883).",
    )
    parser.add_argument("--version", action="version", version=f"glai-ssl {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def report_errors(run: Callable[[], object], prog: str = "glai-ssl") -> int:
    """Call ``run`` and return its exit status (what it returns when that is an int, else 0); a data or
    checkpoint error is printed as ``prog``'s message without a traceback (status 2), an interruption as one
    line (status 130; Lightning handles one during training itself and exits with 1)."""
    try:
        status = run()
        return status if isinstance(status, int) else 0
    except DataError as error:
        print(f"{prog}: data error:\n{error}", file=sys.stderr)
        return 2
    except CheckpointError as error:
        print(f"{prog}: checkpoint error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    """Run ``glai-ssl`` with ``argv`` (default: ``sys.argv[1:]``).

    Returns:
        The subcommand's exit status; 2 after a data or checkpoint error (reported on stderr), 130 when
        interrupted.
    """
    args = build_parser().parse_args(argv)
    return report_errors(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
