"""Compare two batch folders plan by plan: which scenarios found identical plans, which did not.

Scenarios are matched by id and plans by fingerprint
(:func:`pcn_planner.batch.summary.compare_batches`); e.g. the same scenario file run twice, or
run in the usual and the reversed order (``run_batch(..., order="reversed")``), to see whether
the plans depend on what a worker ran before.

    python benchmarks/compare_batches.py outputs/batch/run1 outputs/batch/run2 [--csv OUT.csv]

Prints a count per verdict (identical, different, no plan, only in a, only in b) and the
scenarios whose plans differ; exits 1 when any plan differs, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_common.py puts the repo on sys.path
import _common  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    from pcn_planner.batch.summary import compare_batches

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="batch folder (or its results.sqlite)")
    parser.add_argument("b", type=Path, help="the other batch folder")
    parser.add_argument("--csv", type=Path, default=None, help="write the scenario-by-scenario table here")
    args = parser.parse_args(argv)

    table = compare_batches(args.a, args.b)
    counts = table["verdict"].value_counts()
    both = int(counts.get("identical", 0) + counts.get("different", 0))
    print(f"{len(table)} scenarios; plans in both: {both}, identical {int(counts.get('identical', 0))}, "
          f"different {int(counts.get('different', 0))}")
    for verdict in ("no plan", "only in a", "only in b"):
        if counts.get(verdict):
            print(f"  {verdict}: {int(counts[verdict])}")
    differ = table[table["verdict"] == "different"]
    for sid, row in differ.iterrows():
        print(f"  different: {sid} {row['name']}  (gap {row['gap_a']:.2%} / {row['gap_b']:.2%}, "
              f"unresolved {bool(row['unresolved_a'])} / {bool(row['unresolved_b'])})")
    if args.csv:
        table.to_csv(args.csv, lineterminator="\n", float_format="%.6g")
        print(f"wrote {args.csv}")
    return 1 if len(differ) else 0


if __name__ == "__main__":
    raise SystemExit(main())
