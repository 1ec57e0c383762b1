"""The ``pcn-planner`` command line.

Expected user errors (bad files, impossible rules) print one clear line and
exit with status 2; there is no traceback for them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import __version__
from .errors import InfeasibleError, InputError

Handler = Callable[[argparse.Namespace], int]


def _data_build(args: argparse.Namespace) -> int:
    from .build import build_data

    report = build_data(args.raw, args.out, icb=args.icb, sub_icb=args.sub_icb)
    print(f"built {args.out}/ from {args.raw or 'the default raw folder'}")
    for line in report.lines():
        print(f"  {line}")
    return 0


def _atlas_summary(args: argparse.Namespace) -> int:
    from .atlas import load_atlas

    atlas = load_atlas(args.data)
    print(atlas)
    summary = atlas.summary()
    width = max(map(len, summary.index))
    for measure, value in summary["value"].items():
        print(f"  {measure:<{width}}  {value:>10,}")
    print()
    pcns = atlas.pcn_table()
    print(f"current PCNs ({len(pcns)}), largest first:")
    for row in pcns.itertuples():
        print(f"  {row.pcn_name:<45} {row.sub_icb:<42} {row.practices:>3} practices {row.patients:>9,} patients")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per verb."""
    parser = argparse.ArgumentParser(
        prog="pcn-planner",
        description="Group GP practices into contiguous locality hubs and compare the options.",
    )
    parser.add_argument("--version", action="version", version=f"pcn-planner {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")

    data = verbs.add_parser("data", help="build the atlas tables from raw public files")
    data_verbs = data.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = data_verbs.add_parser("build", help="read raw NHS/ONS files and write data/")
    build.add_argument("--raw", type=Path, default=None,
                       help="raw data folder (default: ../shared/data/raw from the repository root)")
    build.add_argument("--out", type=Path, default=Path("data"), help="output folder (default: data)")
    build.add_argument("--icb", default="QNC",
                       help="ICB code to keep (default: QNC, Staffordshire and Stoke-on-Trent); 'all' keeps every practice")
    build.add_argument("--sub-icb", default=None, help="keep one sub-ICB location, by name or code")
    build.set_defaults(handler=_data_build)

    atlas = verbs.add_parser("atlas", help="look at the atlas")
    atlas_verbs = atlas.add_subparsers(dest="action", required=True, metavar="ACTION")
    summary = atlas_verbs.add_parser("summary", help="practices, patients, PCNs and sub-ICBs")
    summary.add_argument("--data", type=Path, default=None, help="atlas folder (default: embedded SSOT data)")
    summary.set_defaults(handler=_atlas_summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "icb", None) == "all":
        args.icb = None
    try:
        return args.handler(args)
    except (InputError, InfeasibleError) as exc:
        print(f"pcn-planner: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pcn-planner: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
