"""``glai-ssl pretrain``: the SSL recipes' engine from the command line."""

from __future__ import annotations

import argparse

from glai_ssl.ssl.train import build_parser, check_unused_flags, main
from glai_ssl.utils.runtime import HelpFormatter


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pretrain`` (the flags of :func:`glai_ssl.ssl.train.build_parser`) to ``subparsers``."""
    template = build_parser()
    parser = subparsers.add_parser(
        "pretrain",
        parents=[template],
        add_help=False,
        help="pretrain a backbone with an SSL method and an MLP or GLAI projector",
        description=template.description,
        formatter_class=HelpFormatter,
    )

    def run(args: argparse.Namespace) -> int:
        check_unused_flags(parser, args)
        main(args)
        return 0

    parser.set_defaults(func=run)
