"""The ``pcn-planner`` command line.

Expected user errors (bad files, impossible rules) print one clear line and
exit with status 2; there is no traceback for them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from pcn_planner.core.errors import InfeasibleError, InputError
from pcn_planner.core.version import __version__
from pcn_planner.model.problem import SOLVERS, WEIGHT_TERMS


def _data_build(args: argparse.Namespace) -> int:
    from pcn_planner.data.build import build_data

    report = build_data(args.raw, args.out, icb=args.icb, sub_icb=args.sub_icb)
    print(f"built {args.out}/ from {args.raw or 'the default raw folder'}")
    for line in report.lines():
        print(f"  {line}")
    return 0


def _atlas_summary(args: argparse.Namespace) -> int:
    from pcn_planner.data.atlas import load_atlas

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


def _load_region(args: argparse.Namespace):
    from pcn_planner.geography.region import build_region

    # geography notes (practices with no territory) are INFO log records: shown with --verbose
    return build_region(args.data, min_share=args.min_share, travel_matrix=args.travel_matrix,
                        risk_override=args.risk)


def _read_plan(region, spec: str):
    """A plan from 'current' (today's PCNs), a plan CSV, or a run folder (its plan.csv)."""
    from pcn_planner.model.plan import Plan, read_plan_csv
    from pcn_planner.outputs.run import is_run_folder

    if spec == "current":
        return Plan.current(region.atlas.practices)
    if is_run_folder(spec):
        return read_plan_csv(Path(spec) / "plan.csv", region.codes, name=Path(spec).name)
    return read_plan_csv(spec, region.codes)


def print_scorecard(card) -> None:
    """The plan summary and hub table, for a terminal (labels and formats from the metrics registry)."""
    import textwrap

    from pcn_planner.scoring.metrics import HUB, PLAN

    s, k = card.summary, card.summary["hubs"]

    def said(key: str, text: str | None = None, label: str | None = None) -> str:
        return f"{label or PLAN[key].label.lower()} {PLAN[key].format(s[key]) if text is None else text}"

    print(f"{card.plan.name}: {PLAN['hubs'].format(k)} hubs, bounds {card.bounds} patients")
    print("  " + ", ".join([said("hubs_in_band", f"{s['hubs_in_band']}/{k}"),
                            f"{HUB['contiguous'].label.lower()} {k - s['non_contiguous_hubs']}/{k}",
                            said("travel_mean_min"), said("travel_p90_min")]))
    print("  " + ", ".join(said(key) for key in ("town_outside_share", "lad_outside_share",
                                                   "catchment_outside_share", "towns_split")))
    moved = f"{PLAN['practices_moved'].label.lower()} from {card.baseline_name}"
    print("  " + ", ".join([said("hubs_without_anchor"), said("practices_moved", label=moved),
                            said("pcn_pairs_broken")]))
    print()
    h = card.hubs.sort_values("patients", ascending=False)
    name_w = min(40, max(len(str(n)) for n in h["hub_name"]))
    columns = ["patients", "practices", "band", "contiguous", "travel_mean_min", "travel_p90_min", "town_share",
               "dominant_town"]
    cells = {c: [HUB[c].format(v) for v in h[c]] for c in columns}
    widths = {c: max([8, *map(len, cells[c]), *map(len, HUB[c].label.split())]) for c in columns}
    widths["dominant_town"] = max(len(v) for v in cells["dominant_town"])
    heads = {c: textwrap.wrap(HUB[c].label, widths[c]) for c in columns}
    depth = max(len(lines) for lines in heads.values())
    left = {"band", "contiguous", "dominant_town"}
    for i in range(depth):
        parts = [f"  {'Hub' if i == depth - 1 else '':<{name_w}}"]
        for c in columns:
            lines = [""] * (depth - len(heads[c])) + heads[c]
            parts.append(f"{lines[i]:<{widths[c]}}" if c in left else f"{lines[i]:>{widths[c]}}")
        print(" ".join(parts).rstrip())
    for j, name in enumerate(h["hub_name"]):
        parts = [f"  {str(name)[:name_w]:<{name_w}}"]
        parts += [f"{cells[c][j]:<{widths[c]}}" if c in left else f"{cells[c][j]:>{widths[c]}}" for c in columns]
        print(" ".join(parts).rstrip())
    if card.problems:
        print()
        print(f"  {len(card.problems)} rule(s) broken:")
        for p in card.problems:
            print(f"    - {p}")


def _evaluate(args: argparse.Namespace) -> int:
    import time

    from pcn_planner.model.problem import Bounds
    from pcn_planner.outputs.run import run_manifest, write_run
    from pcn_planner.scoring.scorecard import score_plan

    start = time.perf_counter()
    region = _load_region(args)
    plan = _read_plan(region, args.plan)
    baseline = _read_plan(region, args.baseline) if args.baseline else None
    card = score_plan(region, plan, bounds=Bounds(args.min or 30_000, args.max or 70_000), baseline=baseline)
    print_scorecard(card)
    # a run folder given as the plan is never overwritten by its own evaluation
    out = args.out or Path("outputs") / ("current" if args.plan == "current" else
                                         f"evaluate-{Path(args.plan).name}" if Path(args.plan).is_dir()
                                         else Path(args.plan).stem)
    manifest = run_manifest(card, command="evaluate", parameters={"plan": str(args.plan)},
                            wall_seconds=round(time.perf_counter() - start, 3))
    write_run(out, card, manifest)
    print(f"\nwrote {out}/ (plan.csv, scorecard.csv, plan_summary.json, manifest.json, map.html)")
    return 0


def _parse_k(text: str) -> int | tuple[int, int]:
    try:
        if "-" in text.strip("-"):
            lo, hi = text.split("-", 1)
            return (int(lo), int(hi))
        return int(text)
    except ValueError:
        raise InputError(f"--hubs takes a whole number of hubs or a range like 22-26, got {text!r}",
                         field="hubs") from None


def _parse_weights(text: str) -> dict[str, float]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise InputError(f"--weights takes term=value pairs, e.g. travel=1,town=0.5; got {part!r}",
                             field="weights")
        key, value = part.split("=", 1)
        try:
            out[key.strip()] = float(value)
        except ValueError as exc:
            raise InputError(f"weight {key!r} must be a number, got {value!r}", field="weights") from exc
    return out


def _optimise(args: argparse.Namespace) -> int:
    from pcn_planner.model.problem import Problem
    from pcn_planner.optimise import optimise
    from pcn_planner.scoring.metrics import gap_words

    problem = Problem.from_file(args.problem) if args.problem else Problem()
    changes: dict = {}
    if args.hubs is not None:
        changes["k"] = _parse_k(args.hubs)
    if args.min is not None or args.max is not None:
        changes["bounds"] = {k: v for k, v in (("min", args.min), ("max", args.max)) if v is not None}
    if args.weights:
        if args.weights.strip() in ("travel-only", "travel_only"):
            changes["weights"] = dict.fromkeys(WEIGHT_TERMS, 0.0) | {"travel": 1.0}
        else:
            weights = _parse_weights(args.weights)
            if args.only_weights:
                weights = {**dict.fromkeys(WEIGHT_TERMS, 0.0), **weights}
            changes["weights"] = weights
    for name in ("nest", "solver", "time_limit", "seed", "gap"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if args.require_anchor:
        changes["require_anchor"] = True
    if args.max_moved is not None:
        changes["max_moved"] = args.max_moved
    problem = problem.with_(**changes)
    region = _load_region(args)
    baseline = _read_plan(region, args.baseline) if args.baseline else None
    start = [_read_plan(region, spec) for spec in args.start]
    print(f"optimising K={problem.k} hubs of {problem.bounds} patients "
          f"(time limit {problem.time_limit:g} s, solver {problem.solver}, seed {problem.seed})", file=sys.stderr)
    progress = _Progress(problem.time_limit) if not args.quiet else None
    try:
        result = optimise(problem, region, baseline=baseline, alternatives=args.alternatives, differ_by=args.differ_by,
                          log=progress.line if progress else None, warm_start=start)
    finally:
        if progress:
            progress.close()
    print_scorecard(result.scorecard)
    gap = gap_words(result.gap)
    print(f"\nobjective {result.objective:.4f}, lower bound "
          f"{'none' if result.bound is None else f'{result.bound:.4f}'}, gap {gap}; "
          f"{result.status}, stopped by {result.stopped_by}, {result.wall_seconds:.1f} s ({result.solver} "
          f"{result.solver_version})")
    for term, v in result.objective_terms.items():
        print(f"  {term:<11} weight {v['weight']:<5g} x {v['normalised']:.3f} of today's = {v['contribution']:.4f}")
    for alt in result.alternatives:  # further options: alternatives of the K, or the best plan of another K
        print(f"{alt.plan.name}: objective {alt.objective:.4f} (gap {gap_words(alt.gap)}), "
              f"{alt.practices_moved_from_best} practices moved from the best")
    k = problem.k if isinstance(problem.k, int) else f"{problem.k[0]}-{problem.k[1]}"
    out = args.out or Path("outputs") / f"optimise-K{k}"
    result.write(out)
    print(f"\nwrote {out}/ (plan.csv, scorecard.csv, plan_summary.json, manifest.json, map.html"
          f"{', alternatives/' if result.alternatives else ''})")
    if result.stopped_by == "time" and (result.gap is None or result.gap > problem.gap):
        target = f"{problem.gap:.0%}" if problem.gap >= 0.01 else f"{problem.gap:.2%}"
        print(f"\nthe time limit ended the search before the {target} gap target; the plan is feasible. "
              f"To tighten the bound, run the same command with a longer --time-limit (e.g. "
              f"{max(120, 4 * problem.time_limit):g}) and --start {out} to begin from this plan.")
    elif result.details.get("clock_cut"):
        print(f"\nthe time limit cut the {' and '.join(result.details['clock_cut'])} phase short, so this plan "
              f"may differ on a faster or slower machine; a longer --time-limit makes it repeatable.")
    return 0


class _Progress:
    """A progress bar over the time budget, with the engine's milestones as it goes."""

    def __init__(self, seconds: float) -> None:
        import time

        from tqdm import tqdm

        self._time = time.perf_counter
        self._start = self._time()
        self._total = round(seconds)
        self._bar = tqdm(total=self._total, unit="s", file=sys.stderr, leave=False,
                         bar_format="{desc} {bar} {n_fmt}/{total_fmt} s", disable=None)

    def line(self, message: str) -> None:
        elapsed = self._time() - self._start
        self._bar.n = min(self._total, round(elapsed))
        self._bar.set_description_str(message[:60])
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


_REGION_FLAGS = ("data", "min_share", "travel_matrix", "risk", "min", "max")


def _compare(args: argparse.Namespace) -> int:
    from pcn_planner.model.problem import Bounds
    from pcn_planner.outputs.maps.compare import write_comparison
    from pcn_planner.outputs.run import Run, is_run_folder
    from pcn_planner.scoring.differences import compare_scorecards
    from pcn_planner.scoring.scorecard import score_plan

    specs = (args.plan_a, args.plan_b)
    runs = {s: Run.read(s) for s in specs if s != "current" and is_run_folder(s)}
    given = [f"--{f.replace('_', '-')}" for f in _REGION_FLAGS if getattr(args, f) != _DEFAULTS.get(f)]
    if all(s in runs for s in specs) and given:
        raise InputError(f"{', '.join(given)} cannot apply here: run folders are scored with the inputs they "
                         "recorded (see their manifest.json); these options are for plan files and 'current'",
                         field=given[0].lstrip("-"))
    cache: dict = {}
    cards, gaps = [], []
    region = None
    for spec in specs:
        if spec in runs:
            cards.append(runs[spec].scorecard(cache=cache))
            gaps.append(runs[spec].gap)
        else:
            region = region or _load_region(args)
            plan = _read_plan(region, spec)
            bounds = Bounds(args.min or 30_000, args.max or 70_000)
            cards.append(score_plan(region, plan, bounds=bounds))
            gaps.append(None)
    names = tuple(args.names) if args.names else tuple(
        "current" if s == "current" else Path(s).name if Path(s).is_dir() else Path(s).stem for s in specs)
    if len(names) != 2 or names[0] == names[1]:
        raise InputError(f"the two sides need two different names (got {' and '.join(names)}); "
                         "give them with --names A B", field="names")
    comparison = compare_scorecards(cards[0], cards[1], names=names)
    out = args.out or Path("outputs") / f"compare-{names[0]}-vs-{names[1]}"
    write_comparison(comparison, out, gap_a=gaps[0], gap_b=gaps[1])
    print(comparison.summary_table().to_string())
    for card, name in zip(cards, names, strict=True):
        s = card.summary
        verdict = (f"{len(card.problems)} rule(s) broken:" if card.problems else "every rule kept")
        print(f"\n{name}: {s['hubs'] - s['non_contiguous_hubs']}/{s['hubs']} contiguous; {verdict}")
        for problem in card.problems:
            print(f"  - {problem}")
        for a, b, why in card.added_links.itertuples(index=False):
            print(f"  added link {a}-{b}: {why}")
    print(f"\n{len(comparison.moved)} practices have moved; {len(comparison.pairs_broken)} pairs of practices "
          f"together in {names[0]} are apart in {names[1]}")
    print(f"wrote {out}/ (compare.html, difference.html, moved.csv, pairs_broken.csv, summary.csv)")
    return 0


def _report(args: argparse.Namespace) -> int:
    from pcn_planner.outputs.report import write_report

    index = write_report([Path(d) for d in args.runs], args.out, names=args.name or None)
    print(f"wrote the options report: {index} (one page per option, options.xlsx, maps as HTML and PNG, "
          "plans as CSV, GeoPackage and GeoJSON); each option scored with its own run's recorded inputs")
    return 0


def _batch_run(args: argparse.Namespace) -> int:
    from pcn_planner.batch.run import run_batch

    result = run_batch(args.scenarios, args.out, scheduler=args.scheduler, workers=args.workers,
                       progress=not args.quiet)
    print(result)
    print(f"results in {Path(args.out) / 'results.sqlite'}; run 'pcn-planner batch summary {args.out}' for the summary")
    return 0


def _batch_summary(args: argparse.Namespace) -> int:
    from pcn_planner.batch.summary import write_batch_summary

    page = write_batch_summary(args.out)
    print(f"wrote the batch summary: {page}")
    return 0


#: Defaults of the region options, to tell which ones a user set.
_DEFAULTS = {"data": None, "min_share": 0.2, "travel_matrix": None, "risk": None, "min": None, "max": None}


def _region_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help="atlas folder (default: embedded SSOT data)")
    parser.add_argument("--min", type=int, default=None, help="smallest hub, patients (inclusive; default 30000)")
    parser.add_argument("--max", type=int, default=None, help="largest hub, patients (inclusive; default 70000)")
    parser.add_argument("--min-share", type=float, default=0.2,
                        help="territory threshold: share of an LSOA's residents the region's practices must hold")
    parser.add_argument("--travel-matrix", type=Path, default=None,
                        help="your own LSOA -> practice minutes (CSV: lsoa11cd,practice_code,minutes)")
    parser.add_argument("--risk", type=Path, default=None, help="your own risk column (CSV: practice_code,risk)")


def _whole(minimum: int):
    """An argparse type: a whole number of at least ``minimum``, refused in words otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per verb."""
    parser = _Parser(
        prog="pcn-planner",
        description="Group GP practices into contiguous locality hubs and compare the options.",
    )
    parser.add_argument("--version", action="version", version=f"pcn-planner {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    # every command takes the same two output options
    common = _Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=0,
                        help="say more: notes (-v) or every engine step (-vv), on stderr")
    common.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar and no notes: only warnings and errors")

    data = verbs.add_parser("data", help="build the atlas tables from raw public files")
    data_verbs = data.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = data_verbs.add_parser("build", parents=[common], help="read raw NHS/ONS files and write data/")
    build.add_argument("--raw", type=Path, default=None,
                       help="raw data folder (default: ../shared/data/raw from the repository root)")
    build.add_argument("--out", type=Path, default=Path("data"), help="output folder (default: data)")
    build.add_argument("--icb", default="QNC",
                       help="ICB code to keep (default: QNC, Staffordshire and Stoke-on-Trent); "
                            "'all' keeps every practice")
    build.add_argument("--sub-icb", default=None, help="keep one sub-ICB location, by name or code")
    build.set_defaults(handler=_data_build)

    atlas = verbs.add_parser("atlas", help="look at the atlas")
    atlas_verbs = atlas.add_subparsers(dest="action", required=True, metavar="ACTION")
    summary = atlas_verbs.add_parser("summary", parents=[common], help="practices, patients, PCNs and sub-ICBs")
    summary.add_argument("--data", type=Path, default=None, help="atlas folder (default: embedded SSOT data)")
    summary.set_defaults(handler=_atlas_summary)

    evaluate = verbs.add_parser("evaluate", parents=[common],
                                help="score a plan and write a run directory with its map")
    evaluate.add_argument("--plan", default="current",
                          help="'current' (today's PCNs), a plan CSV with columns practice_code,hub_id, "
                               "or a run folder")
    evaluate.add_argument("--baseline", default=None, help="plan to measure disruption against (default: current)")
    evaluate.add_argument("--out", type=Path, default=None, help="run directory (default: outputs/<plan name>)")
    _region_options(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    opt = verbs.add_parser("optimise", parents=[common], aliases=["optimize"],
                           help="find the best K contiguous in-band hubs, with a certified gap")
    opt.add_argument("--hubs", "-k", default=None, help="number of hubs K, or a range like 22-26 (default 23)")
    opt.add_argument("--problem", type=Path, default=None, help="problem file (TOML or YAML) with rules and weights")
    opt.add_argument("--weights", default=None,
                     help="objective weights, e.g. travel=1,town=0.5 (others keep their defaults), or travel-only")
    opt.add_argument("--only-weights", action="store_true", help="terms not named in --weights get weight 0")
    opt.add_argument("--nest", choices=["sub_icb", "lad"], default=None, help="keep every hub inside one area")
    opt.add_argument("--require-anchor", action="store_true", help="every hub needs an anchor practice")
    opt.add_argument("--max-moved", type=int, default=None, help="at most N practices leave their baseline PCN")
    opt.add_argument("--time-limit", type=float, default=None, help="seconds (default 30)")
    opt.add_argument("--gap", type=float, default=None, help="stop at this relative gap (default 0.01)")
    opt.add_argument("--solver", choices=SOLVERS, default=None, help="MIP solver (default highs)")
    opt.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    opt.add_argument("--alternatives", type=_whole(0), default=0,
                     help="also find N further options, within the same time limit")
    opt.add_argument("--differ-by", type=_whole(1), default=None, metavar="M",
                     help="practices that must have moved between any two options, both ways "
                          "(default: one in fourteen, 10 for the embedded data)")
    opt.add_argument("--baseline", default=None, help="plan for disruption (default: current PCNs)")
    opt.add_argument("--start", action="append", default=[], metavar="PLAN",
                     help="warm start: 'current', a plan CSV or a run directory to start the search from "
                          "(repaired into band if needed; repeatable)")
    opt.add_argument("--out", type=Path, default=None, help="run directory (default: outputs/optimise-K<k>)")
    _region_options(opt)
    opt.set_defaults(handler=_optimise)

    cmp_ = verbs.add_parser("compare", parents=[common],
                            help="two plans side by side, with the practices that change hub")
    cmp_.add_argument("plan_a", help="'current', a plan CSV or a run directory")
    cmp_.add_argument("plan_b", help="'current', a plan CSV or a run directory")
    cmp_.add_argument("--names", nargs=2, default=None, metavar=("A", "B"), help="names for the two plans")
    cmp_.add_argument("--out", type=Path, default=None, help="output folder (default: outputs/compare-A-vs-B)")
    _region_options(cmp_)
    cmp_.set_defaults(handler=_compare)

    rep = verbs.add_parser("report", parents=[common],
                           help="an options report (HTML pages, Excel, maps) from run directories")
    rep.add_argument("runs", nargs="+", help="run directories written by evaluate or optimise")
    rep.add_argument("--out", type=Path, default=Path("outputs") / "report",
                     help="output folder (default: outputs/report)")
    rep.add_argument("--name", action="append", default=None, help="a name per run, in order (repeat the option)")
    rep.set_defaults(handler=_report)

    batch = verbs.add_parser("batch", help="sensitivity runs over many scenarios (local pool or a Dask cluster)")
    batch_verbs = batch.add_subparsers(dest="action", required=True, metavar="ACTION")
    brun = batch_verbs.add_parser("run", parents=[common],
                                  help="run every unfinished scenario of a YAML/TOML scenario file")
    brun.add_argument("scenarios", type=Path, help="scenario file (YAML or TOML)")
    brun.add_argument("--out", type=Path, required=True, help="batch folder; results.sqlite is resumed there")
    brun.add_argument("--scheduler", default=None,
                      help="Dask scheduler address, e.g. tcp://host:8786 (default: $PCN_PLANNER_SCHEDULER, "
                           "else a local cluster)")
    brun.add_argument("--workers", type=int, default=None, help="local worker processes (default 2)")
    brun.set_defaults(handler=_batch_run)
    bsum = batch_verbs.add_parser("summary", parents=[common],
                                  help="co-assignment, Pareto front, bands and infeasible scenarios")
    bsum.add_argument("out", type=Path, help="batch folder written by 'batch run'")
    bsum.set_defaults(handler=_batch_summary)
    return parser


def configure_logging(verbosity: int) -> None:
    """Send the library's log records to stderr: warnings by default, notes with -v, detail with -vv.

    Only the ``pcn_planner`` and ``solvers`` loggers are configured, so that a
    program embedding the CLI keeps its own logging set-up.
    """
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("pcn_planner", "solvers"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(-1 if getattr(args, "quiet", False) else getattr(args, "verbose", 0))
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
