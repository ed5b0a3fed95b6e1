"""``glai-ssl data check`` and ``glai-ssl data info``."""

from __future__ import annotations

import argparse

from glai_ssl.data.omniglot import ZIP_MD5
from glai_ssl.data.registry import DATASETS, check_datasets
from glai_ssl.data.root import CACHE_ENV, DATA_ENV, cache_dir, resolve_data_root
from glai_ssl.utils.runtime import add_common_args, args_dict, write_json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``data check`` and ``data info`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "data", help="inspect and verify datasets", description="Inspect and verify datasets."
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="{check,info}")
    check = actions.add_parser("check", help="verify every dataset that can be found and print its counts")
    check.add_argument(
        "--dataset", action="append", choices=list(DATASETS), help="only these datasets (repeatable)"
    )
    check.add_argument(
        "--strict", action="store_true", help="exit 1 if any dataset is missing, not only corrupt"
    )
    add_common_args(check)
    check.set_defaults(func=run_check)
    info = actions.add_parser("info", help="where data and caches live, and which datasets exist")
    add_common_args(info)
    info.set_defaults(func=run_info)


def run_check(args: argparse.Namespace) -> int:
    """Run ``glai-ssl data check``: verify the datasets found under the data root and print their counts.

    Writes ``data_check.json`` under ``--out`` when given.

    Returns:
        1 if a dataset is corrupt (or, with ``--strict``, missing), else 0.
    """
    root = resolve_data_root(args.data_root)
    print(f"data root: {root}\ncache:     {cache_dir()}\n")
    records = check_datasets(root, args.dataset)
    print(
        f"{'dataset':14} {'split':17} {'status':8} {'images':>8} {'classes':>8} {'shape':>10} {'seconds':>8}"
    )
    for r in records:
        shape = "x".join(map(str, r.get("shape", []))) or "-"
        print(
            f"{r['dataset']:14} {r['split']:17} {r['status']:8} {r.get('images', '-'):>8} "
            f"{r.get('classes', '-'):>8} {shape:>10} {r['seconds']:>8.2f}"
        )
    problems = [r for r in records if r["status"] == "corrupt" or (args.strict and r["status"] == "missing")]
    for r in records:
        if r["status"] != "ok":
            print(f"\n[{r['dataset']}] {r['status']}:\n{r['error']}")
    if args.out:
        write_json(
            args.out / "data_check.json", {"args": args_dict(args), "data_root": root, "records": records}
        )
    return 1 if problems else 0


def run_info(args: argparse.Namespace) -> int:
    """Run ``glai-ssl data info``: print the data root, the cache, the datasets and their splits.

    Also lists the MD5 sums of the Omniglot zips that are accepted.

    Returns:
        0.
    """
    root = resolve_data_root(args.data_root)
    print(f"data root: {root}  (--data-root > ${DATA_ENV} > ./data; read only)")
    print(f"cache:     {cache_dir()}  (${CACHE_ENV}, default ~/.cache/glai_ssl)\n")
    for name, entry in DATASETS.items():
        print(f"{name:14} {entry.description}\n{'':14} splits: {', '.join(entry.splits)}")
    print(
        "\nOmniglot zips accepted (official torchvision release, or the repackaged pixel-identical copies):"
    )
    for name, md5s in ZIP_MD5.items():
        print(f"  {name}.zip: {' or '.join(md5s)}")
    return 0
