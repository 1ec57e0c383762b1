"""Scenario files for batch runs: a base problem, sweeps over its settings, and "what if" events.

A scenario file (YAML ``.yaml``/``.yml``, or TOML ``.toml``) looks like::

    name: sensitivity-demo
    base: {k: 23, gap: 0.01}           # a Problem, same layout as a problem file
    sweeps:                            # every combination (grid) ...
      k: [22, 23, 24, 26]
      weights.town: [0, 0.5, 1.0]
      bounds.min: [28000, 30000]
      growth.all: [1.0, 1.05, 1.10]
    mode: random                       # ... or a random sample of the grid
    samples: 50
    seed: 1
    events:                            # each applied on top of the base
      - {close: M83001}                # the practice closes; its patients go to their nearest practice
      - {merge: [M83001, M83016]}      # these practices share a hub (keep_together)
      - {lock: [M83004, M83005]}       # these practices form a hub exactly
      - {close: M83010, cross: true}   # ... or crossed with every sweep point
    cross: false                       # default for events without their own 'cross'
    atlas: ../data                     # optional: atlas folder (default: the embedded data)

Sweep keys are paths into the problem layout: ``k``, ``time_limit``, ``gap``,
``seed``, ``solver``, ``long_trip_minutes``, ``risk_tolerance``,
``weights.<term>``, ``bounds.min``/``bounds.max``, ``growth.<key>`` (``all``,
``lad:NAME``, ``sub_icb:NAME``, ``pcn:CODE`` or a practice code) and
``rules.<rule>``. A section name (``bounds``, ``weights``, ``growth``,
``rules``) sweeps whole tables, e.g. ``bounds: [{min: 28000, max: 72000}, {min:
30000, max: 70000}]``. An event may combine ``close``, ``merge`` and ``lock``
and may carry a ``name``.

With no ``sweeps`` the base itself is one scenario. Every scenario has a stable
id: the first 12 hex digits of the SHA-256 of its canonical JSON (the fully
resolved problem with defaults filled in, numbers normalised, keys sorted; the
closed practices; the region's identity). The same content gives the same id
whatever the order of keys or the file it came from, so re-runs match, and the
display name is not part of the id.

**Stopping on quality.** Every scenario stops when its plan is proven within
its gap target (``gap``, the problem's default 1 %), and its ``time_limit`` is
only a cap for the scenarios that never get there: by default
:data:`DEFAULT_TIME_LIMIT` (120 s), not a few seconds, because at a 5-second
limit plans were measured 4-38 % worse than at 30 s, enough to make solver
noise look like an effect. A scenario that hits the cap with its gap above the
target is stored as *unresolved* (:mod:`pcn_planner.batch.store`) and kept apart
in the summaries. A file that sets a limit under :data:`SHORT_TIME_LIMIT`
gets a warning in the log. See ``docs/batch.md``.

**Closing a practice.** The practice is removed from the region: each LSOA's
patients of the closed practice are re-registered at the practice with the
shortest modelled travel time from that LSOA (the region's calibrated travel
matrix), its patients with no known LSOA follow in the same proportions, and
the region is rebuilt from that modified atlas (territories, graph, travel,
communities, risk). This is cleaner than a growth-factor trick: the closed
practice stops being a node that some hub must hold, the receiving practices'
lists (and thus hub populations, territories and travel) grow with exactly the
patients they gain, and the transfer table is recorded with the result. See
:func:`close_practices`.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from pcn_planner.core.errors import InputError
from pcn_planner.model.problem import WEIGHT_TERMS, Problem

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "SHORT_TIME_LIMIT",
    "Scenario",
    "ScenarioSet",
    "canonical_json",
    "close_practices",
    "load_scenarios",
    "problem_layout",
    "scenario_id",
]

#: Per-scenario time cap (s) when the scenario file does not set ``time_limit``. A scenario stops as soon
#: as its plan is within its gap target (``gap``, default 1 %); this cap only ends the ones that never get
#: there, which are then marked unresolved. Generous on purpose: at a few seconds most plans of a real
#: region are still several per cent from their bound.
DEFAULT_TIME_LIMIT = 120.0
#: A time limit (s) under this is warned about when a scenario file is read: such scenarios mostly end
#: unresolved, and their differences are solver noise rather than effects of the settings.
SHORT_TIME_LIMIT = 30.0

TOP_KEYS = ("name", "description", "base", "sweeps", "mode", "samples", "seed", "events", "cross", "atlas",
            "synthetic")
PLAIN_KEYS = ("k", "time_limit", "gap", "seed", "solver", "long_trip_minutes", "risk_tolerance")
RULE_KEYS = ("nest", "keep_together", "keep_apart", "locked_hubs", "require_anchor", "max_moved",
             "colocated_together")
SECTIONS = ("weights", "bounds", "growth", "rules")
EVENT_KEYS = ("close", "merge", "lock", "cross", "name")
#: Most scenarios a file may expand to (a guard against a typo'd grid).
MAX_SCENARIOS = 100_000


# ---------------------------------------------------------------------------
# canonical form and ids
# ---------------------------------------------------------------------------


def _normal(value: Any) -> Any:
    """JSON-ready copy with numbers normalised (1.0 -> 1, numpy -> Python, tuples -> lists)."""
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return int(value) if value.is_integer() else float(repr(value))
    raise TypeError(f"cannot put {type(value).__name__} into a scenario: {value!r}")


def canonical_json(data: Any) -> str:
    """Compact JSON with sorted keys and normalised numbers: the text a scenario id hashes."""
    return json.dumps(_normal(data), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def scenario_id(canonical: Mapping[str, Any]) -> str:
    """12 hex digits of the SHA-256 of the canonical JSON."""
    return hashlib.sha256(canonical_json(canonical).encode("ascii")).hexdigest()[:12]


def problem_layout(problem: Problem) -> dict[str, Any]:
    """A :class:`Problem` in the layout of a problem file, every setting explicit and sorted.

    Pairs and locked hubs are sorted so that the same rules always give the same layout.
    """
    data = problem.to_dict()
    rules = {key: data.pop(key) for key in RULE_KEYS}
    rules["keep_together"] = sorted(sorted(p) for p in rules["keep_together"])
    rules["keep_apart"] = sorted(sorted(p) for p in rules["keep_apart"])
    rules["locked_hubs"] = sorted(sorted(g) for g in rules["locked_hubs"])
    data["rules"] = rules
    # "all: 1" is no growth at all (it is the least specific key), so it does not change the id
    data["growth"] = {k: v for k, v in sorted(data["growth"].items()) if not (k == "all" and v == 1)}
    return _normal(data)


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One run of the engine in a batch.

    Attributes
    ----------
    id
        Stable short hash of :attr:`canonical`.
    name
        Display name (e.g. ``"k=22 weights.town=0.5"``); not part of the id.
    problem
        The fully resolved problem, in problem-file layout (``Problem.from_dict`` reads it).
    close
        Practice codes that close in this scenario (sorted).
    region
        Where the practices come from: ``{"atlas": folder or None, "sha256": ...}`` or
        ``{"synthetic": {...synthetic_atlas arguments...}}``.
    params
        What this scenario varies, for summaries: sweep keys -> values, and ``event``.
    """

    id: str
    name: str
    problem: dict[str, Any]
    close: tuple[str, ...] = ()
    region: dict[str, Any] = field(default_factory=lambda: {"atlas": None})
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, problem: Problem | Mapping[str, Any], *, name: str | None = None,
              close: Iterable[str] = (), region: Mapping[str, Any] | None = None,
              params: Mapping[str, Any] | None = None) -> Scenario:
        """A scenario from a problem (object or problem-file layout); the id is computed."""
        if not isinstance(problem, Problem):
            problem = Problem.from_dict(dict(problem), source=name or "scenario")
        layout = problem_layout(problem)
        close = tuple(sorted({str(c) for c in close}))
        region = _normal(dict(region)) if region else _region_spec({}, "scenario", None)
        canonical = {"problem": layout, "close": list(close), "region": _region_identity(region)}
        sid = scenario_id(canonical)
        return cls(id=sid, name=name or sid, problem=layout, close=close, region=region,
                   params=_normal(dict(params or {})))

    @property
    def canonical(self) -> dict[str, Any]:
        """What the id hashes."""
        return {"problem": self.problem, "close": list(self.close), "region": _region_identity(self.region)}

    def to_problem(self) -> Problem:
        """The :class:`Problem` to optimise."""
        return Problem.from_dict(self.problem, source=f"scenario {self.id}")

    def spec(self) -> dict[str, Any]:
        """Plain data sent to a worker (JSON-able)."""
        return {"id": self.id, "name": self.name, "problem": self.problem, "close": list(self.close),
                "region": self.region, "params": self.params}

    @property
    def region_key(self) -> str:
        """Identity of the region (before closures) as text."""
        return canonical_json(_region_identity(self.region))

    @property
    def group_key(self) -> tuple:
        """Run order: longest time limit first (so no long task starts last), then related scenarios
        (same region, closures, bounds, K, rules, growth, weights) next to each other."""
        p = self.problem
        return (-float(p["time_limit"]), self.region_key, self.close, p["bounds"]["min"], p["bounds"]["max"],
                str(p["k"]), canonical_json(p["rules"]), canonical_json(p["growth"]), canonical_json(p["weights"]),
                self.id)


def _region_identity(region: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a region spec that identifies its data (a folder path does not)."""
    if "synthetic" in region:
        return {"synthetic": region["synthetic"]}
    return {"atlas_sha256": region.get("sha256")}


@dataclass(frozen=True)
class ScenarioSet:
    """The scenarios of one batch, in run order, with where they came from."""

    name: str
    scenarios: tuple[Scenario, ...]
    source: str = "scenarios"
    duplicates: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.scenarios)

    def __iter__(self):
        return iter(self.scenarios)

    @property
    def ids(self) -> list[str]:
        """Scenario ids in run order."""
        return [s.id for s in self.scenarios]

    def frame(self) -> pd.DataFrame:
        """One row per scenario: id, name and the varied parameters."""
        rows = [{"id": s.id, "name": s.name, **s.params} for s in self.scenarios]
        return pd.DataFrame(rows).set_index("id")

    def __repr__(self) -> str:
        return f"<ScenarioSet {self.name!r}: {len(self.scenarios)} scenarios from {self.source}>"


# ---------------------------------------------------------------------------
# reading and validating
# ---------------------------------------------------------------------------


def _read_file(path: Path) -> dict:
    if not path.is_file():
        raise InputError("scenario file not found", file=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text ({exc.reason} at byte {exc.start})", file=path.name) from exc
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"is not valid TOML: {exc}", file=path.name) from exc
    elif path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise InputError(f"is not valid YAML{where}: {problem}", file=path.name,
                             row=None if mark is None else mark.line + 1) from exc
    else:
        raise InputError("scenario files end in .yaml, .yml or .toml", file=path.name)
    if not isinstance(data, dict):
        raise InputError("must hold a table of settings (name, base, sweeps, events)", file=path.name)
    return data


def _practices_of(region: Mapping[str, Any]) -> pd.DataFrame | None:
    """Practice codes and area names of an atlas region (read from practices.csv), or None."""
    if "synthetic" in region:
        return None
    from pcn_planner.data.atlas import FILES, embedded_data_dir

    root = Path(region["atlas"]) if region.get("atlas") else embedded_data_dir()
    path = root / FILES["practices"]
    if not path.is_file():
        raise InputError("atlas folder has no practices.csv", file=str(root), field="atlas")
    return pd.read_csv(path, dtype=str, keep_default_na=False).set_index("practice_code", drop=False)


def _atlas_sha256(folder: Path) -> str:
    """SHA-256 over an atlas folder's files (as ``Atlas.data_hash``), cached while they are unchanged."""
    from pcn_planner.data.atlas import FILES

    folder = Path(folder).resolve()
    stamp = tuple((rel, p.stat().st_mtime_ns, p.stat().st_size) if (p := folder / rel).is_file() else (rel, 0, 0)
                  for rel in sorted(FILES.values()))
    return _atlas_sha256_cached(str(folder), stamp)


@functools.lru_cache(maxsize=16)
def _atlas_sha256_cached(folder: str, stamp: tuple) -> str:
    digest = hashlib.sha256()
    for rel, _, _ in stamp:
        digest.update(rel.encode())
        p = Path(folder) / rel
        if p.is_file():
            digest.update(p.read_bytes())
    return digest.hexdigest()


def _region_spec(data: Mapping[str, Any], source: str, base_dir: Path | None) -> dict[str, Any]:
    if "atlas" in data and "synthetic" in data:
        raise InputError("give either atlas or synthetic, not both", file=source, field="synthetic")
    if "synthetic" in data:
        spec = data["synthetic"]
        if not isinstance(spec, Mapping) or "n_practices" not in spec:
            raise InputError("synthetic takes the arguments of synthetic_atlas, at least n_practices",
                             file=source, field="synthetic")
        allowed = {"n_practices", "rng", "centre", "name", "region"}
        bad = sorted(set(spec) - allowed)
        if bad:
            raise InputError(f"unknown synthetic setting(s) {', '.join(bad)}", file=source, field=f"synthetic.{bad[0]}")
        return {"synthetic": _normal(dict(spec))}
    from pcn_planner.data.atlas import embedded_data_dir

    folder = data.get("atlas")
    if folder is not None:
        folder = Path(str(folder))
        if not folder.is_absolute() and base_dir is not None:
            folder = base_dir / folder
        if not folder.is_dir():
            raise InputError(f"atlas folder {folder} not found", file=source, field="atlas")
        folder = folder.resolve()
    root = folder or embedded_data_dir()
    return {"atlas": None if folder is None else str(folder), "sha256": _atlas_sha256(root)[:16]}


def _set_path(layout: dict, key: str, value: Any) -> None:
    """Set a sweep key (``k``, ``weights.town``, ``bounds`` ...) in a problem layout."""
    if key in SECTIONS:
        layout[key] = {**(layout.get(key) or {}), **dict(value)}
        return
    if "." in key:
        section, sub = key.split(".", 1)
        layout[section] = {**(layout.get(section) or {}), sub: value}
    else:
        layout[key] = value


def _check_key(key: Any, source: str, where: str) -> str:
    if not isinstance(key, str) or not key:
        raise InputError(f"sweep keys are setting names, got {key!r}", file=source, field=where)
    field_name = f"{where}.{key}"
    if key in PLAIN_KEYS or key in SECTIONS:
        return key
    if "." in key:
        section, sub = key.split(".", 1)
        if section == "weights" and sub in WEIGHT_TERMS:
            return key
        if section == "bounds" and sub in ("min", "max"):
            return key
        if section == "rules" and sub in RULE_KEYS:
            return key
        if section == "growth" and sub:
            return key
        expect = {"weights": ", ".join(WEIGHT_TERMS), "bounds": "min, max", "rules": ", ".join(RULE_KEYS)}
        if section in expect:
            raise InputError(f"unknown setting {key!r}; {section}.* takes {expect[section]}", file=source,
                             field=field_name)
    raise InputError(f"unknown setting {key!r}; sweep one of {', '.join(PLAIN_KEYS)}, weights.<term>, "
                     "bounds.min, bounds.max, growth.<key>, rules.<rule> (or a whole section)",
                     file=source, field=field_name)


def _check_codes(codes: Iterable[str], practices: pd.DataFrame | None, source: str, where: str) -> None:
    if practices is None:
        return
    unknown = [c for c in codes if c not in practices.index]
    if unknown:
        raise InputError(f"unknown practice code(s) {', '.join(unknown)} (not in the region's "
                         f"{len(practices)} practices)", file=source, field=where)


def _check_problem_codes(layout: Mapping[str, Any], practices: pd.DataFrame | None, source: str,
                         where: str) -> None:
    """Practice codes and area names in rules and growth keys must exist in the region."""
    if practices is None:
        return
    rules = layout.get("rules") or {}
    for rule in ("keep_together", "keep_apart", "locked_hubs"):
        for group in rules.get(rule) or ():
            _check_codes([str(c) for c in group], practices, source, f"{where}rules.{rule}")
    columns = {"lad": "lad", "sub_icb": "sub_icb", "pcn": "pcn_code"}
    for key in (layout.get("growth") or {}):
        f = f"{where}growth.{key}"
        if key == "all":
            continue
        if ":" in key:
            prefix, name = key.split(":", 1)
            if prefix not in columns:
                raise InputError(f"growth key {key!r}: use all, lad:NAME, sub_icb:NAME, pcn:CODE or a "
                                 "practice code", file=source, field=f)
            known = set(practices[columns[prefix]].str.lower()) if columns[prefix] in practices else set()
            if name.lower() not in known:
                raise InputError(f"growth key {key!r} matches no practice of the region", file=source, field=f)
        else:
            _check_codes([key], practices, source, f)


def _bare(exc: InputError) -> str:
    """The message of an InputError without its ``file, row, field:`` prefix."""
    text = str(exc)
    parts = [p for p in (exc.file and str(exc.file), exc.row is not None and f"row {exc.row}",
                         exc.field and f"field '{exc.field}'") if p]
    prefix = ", ".join(parts) + ": " if parts else ""
    return text[len(prefix):] if prefix and text.startswith(prefix) else text


def _validate(layout: dict, source: str, where: str) -> Problem:
    try:
        return Problem.from_dict(layout, source=source)
    except InputError as exc:
        f = exc.field
        raise InputError(_bare(exc), file=source, field=f"{where}{f}" if f else where.rstrip(".") or None) from exc


def _codes_list(value: Any, source: str, where: str, *, at_least: int = 1) -> list[str]:
    codes = [value] if isinstance(value, str) else value
    if not isinstance(codes, (list, tuple)) or not all(isinstance(c, str) and c for c in codes):
        raise InputError(f"expects a practice code or a list of codes, got {value!r}", file=source, field=where)
    if len(set(codes)) < at_least:
        raise InputError(f"needs at least {at_least} different practice codes, got {value!r}", file=source,
                         field=where)
    return [str(c) for c in codes]


@dataclass(frozen=True)
class _Event:
    label: str
    close: tuple[str, ...]
    merge: tuple[str, ...]
    lock: tuple[str, ...]
    cross: bool


def _events(data: Any, default_cross: bool, practices: pd.DataFrame | None, source: str) -> list[_Event]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise InputError("events is a list of {close: CODE}, {merge: [CODES]} or {lock: [CODES]}",
                         file=source, field="events")
    out = []
    for i, item in enumerate(data):
        where = f"events[{i}]"
        if not isinstance(item, Mapping):
            raise InputError(f"an event is a table like {{close: M83001}}, got {item!r}", file=source, field=where)
        bad = sorted(set(item) - set(EVENT_KEYS))
        if bad:
            raise InputError(f"unknown event setting(s) {', '.join(map(str, bad))}; expected close, merge, lock "
                             "(and optionally cross, name)", file=source, field=f"{where}.{bad[0]}")
        if not any(k in item for k in ("close", "merge", "lock")):
            raise InputError("an event needs close, merge or lock", file=source, field=where)
        close = _codes_list(item["close"], source, f"{where}.close") if "close" in item else []
        merge = _codes_list(item["merge"], source, f"{where}.merge", at_least=2) if "merge" in item else []
        lock = _codes_list(item["lock"], source, f"{where}.lock") if "lock" in item else []
        for key, codes in (("close", close), ("merge", merge), ("lock", lock)):
            _check_codes(codes, practices, source, f"{where}.{key}")
        both = sorted(set(close) & (set(merge) | set(lock)))
        if both:
            raise InputError(f"practice(s) {', '.join(both)} both close and merge/lock", file=source, field=where)
        cross = item.get("cross", default_cross)
        if not isinstance(cross, bool):
            raise InputError("cross is true or false", file=source, field=f"{where}.cross")
        parts = [f"close {'+'.join(close)}" if close else "", f"merge {'+'.join(merge)}" if merge else "",
                 f"lock {'+'.join(lock)}" if lock else ""]
        label = str(item.get("name") or ", ".join(p for p in parts if p))
        out.append(_Event(label, tuple(close), tuple(merge), tuple(lock), cross))
    return out


def _apply_event(layout: dict, event: _Event | None) -> tuple[dict, tuple[str, ...]]:
    if event is None:
        return layout, ()
    layout = json.loads(json.dumps(layout))
    rules = layout.setdefault("rules", {})
    if event.merge:
        pairs = [list(p) for p in rules.get("keep_together") or []]
        first = event.merge[0]
        pairs += [[first, c] for c in event.merge[1:] if c != first]
        rules["keep_together"] = pairs
    if event.lock:
        rules["locked_hubs"] = [list(g) for g in rules.get("locked_hubs") or []] + [list(event.lock)]
    return layout, event.close


def _grid(sweeps: Mapping[str, list], mode: str, samples: int | None, seed: int) -> list[dict[str, Any]]:
    keys = list(sweeps)
    sizes = [len(sweeps[k]) for k in keys]
    total = math.prod(sizes)
    if mode == "grid":
        if total > MAX_SCENARIOS:
            raise InputError(f"the grid has {total:,} scenarios (more than {MAX_SCENARIOS:,}); "
                             "use mode: random with samples: N", field="sweeps")
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(sweeps[k] for k in keys))]
    assert samples is not None  # the caller requires samples for mode: random
    rng = np.random.default_rng(seed)
    n = min(int(samples), total)
    if total <= 10_000_000:
        picks = sorted(rng.choice(total, size=n, replace=False).tolist())
    else:  # rejection sampling on a huge grid; bounded because n <= MAX_SCENARIOS << total
        chosen: set[int] = set()
        while len(chosen) < n:
            chosen.add(int(rng.integers(0, total)))
        picks = sorted(chosen)
    out = []
    for flat in picks:
        combo = {}
        for key, size in zip(reversed(keys), reversed(sizes), strict=True):
            flat, r = divmod(flat, size)
            combo[key] = sweeps[key][r]
        out.append({k: combo[k] for k in keys})
    return out


def value_label(value: Any) -> str:
    """Short readable text of a swept value (bounds as ``28000-72000``, other tables as ``a=1,b=2``)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        if set(value) == {"min", "max"}:
            return f"{value_label(value['min'])}-{value_label(value['max'])}"
        return ",".join(f"{k}={value_label(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list):
        return "[" + ",".join(value_label(v) for v in value) + "]"
    return str(value)


def load_scenarios(source: str | Path | Mapping[str, Any] | ScenarioSet | Sequence[Scenario], *,
                   name: str | None = None) -> ScenarioSet:
    """Read, validate and expand a scenario file (or the same layout as a dict).

    Parameters
    ----------
    source
        A ``.yaml``/``.yml``/``.toml`` path, a dict in the file layout, a
        :class:`ScenarioSet` (returned as is) or a list of :class:`Scenario`.

    Returns
    -------
    ScenarioSet
        Scenarios in run order, duplicates (same id) dropped.

    Raises
    ------
    InputError
        Naming the file and the field at fault, e.g.
        ``demo.yaml: field 'events[1].close': unknown practice code(s) X99999``.
    """
    if isinstance(source, ScenarioSet):
        return source
    if isinstance(source, Sequence) and not isinstance(source, (str, bytes)) and all(
            isinstance(s, Scenario) for s in source):
        return _dedupe(name or "batch", list(source), "scenario list")
    base_dir = None
    if isinstance(source, (str, Path)):
        path = Path(source)
        data, label, base_dir = _read_file(path), path.name, path.resolve().parent
    elif isinstance(source, Mapping):
        data, label = dict(source), "scenarios"
    else:
        raise TypeError(f"expected a scenario file, a dict or a ScenarioSet, got {type(source).__name__}")

    bad = sorted(set(map(str, data)) - set(TOP_KEYS))
    if bad:
        raise InputError(f"unknown setting(s) {', '.join(bad)}; expected {', '.join(TOP_KEYS)}",
                         file=label, field=bad[0])
    batch_name = data.get("name") or name or (Path(source).stem if isinstance(source, (str, Path)) else "batch")
    if not isinstance(batch_name, str):
        raise InputError("name is text", file=label, field="name")
    region = _region_spec(data, label, base_dir)
    practices = _practices_of(region)

    base = data.get("base") or {}
    if not isinstance(base, Mapping):
        raise InputError("base is a table in the layout of a problem file", file=label, field="base")
    base = json.loads(json.dumps(dict(base)))
    base.setdefault("time_limit", DEFAULT_TIME_LIMIT)
    _validate(base, label, "base.")
    _check_problem_codes(base, practices, label, "base.")

    sweeps = data.get("sweeps") or {}
    if not isinstance(sweeps, Mapping):
        raise InputError("sweeps is a table of setting -> list of values", file=label, field="sweeps")
    clean: dict[str, list] = {}
    for key, values in sweeps.items():
        key = _check_key(key, label, "sweeps")
        where = f"sweeps.{key}"
        if not isinstance(values, list) or not values:
            raise InputError(f"expects a non-empty list of values, got {values!r}", file=label, field=where)
        for value in values:
            if key in SECTIONS and not isinstance(value, Mapping):
                raise InputError(f"sweeping the whole {key} section takes tables, got {value!r}", file=label,
                                 field=where)
            trial = json.loads(json.dumps(base))
            _set_path(trial, key, value)
            try:
                _validate(trial, label, "")
            except InputError as exc:
                raise InputError(f"value {value!r}: {_bare(exc)}", file=label, field=where) from exc
            _check_problem_codes(trial, practices, label, "sweeps.")  # the base part is known good
        clean[key] = list(values)

    mode = data.get("mode", "grid")
    if mode not in ("grid", "random"):
        raise InputError(f"mode is grid or random, got {mode!r}", file=label, field="mode")
    samples = data.get("samples")
    if mode == "random" and not (isinstance(samples, int) and not isinstance(samples, bool) and samples >= 1):
        raise InputError("mode: random needs samples: N (a whole number >= 1)", file=label, field="samples")
    if mode == "grid" and samples is not None:
        raise InputError("samples is for mode: random", file=label, field="samples")
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InputError("seed is a whole number", file=label, field="seed")
    cross = data.get("cross", False)
    if not isinstance(cross, bool):
        raise InputError("cross is true or false", file=label, field="cross")
    events = _events(data.get("events"), cross, practices, label)

    try:
        points = _grid(clean, mode, samples, seed)
    except InputError as exc:
        raise InputError(_bare(exc), file=label, field="sweeps") from exc
    crossed = [e for e in events if e.cross]
    plan: list[tuple[dict[str, Any], _Event | None]] = []
    for point in points:
        plan.append((point, None))
        plan += [(point, e) for e in crossed]
    plan += [({}, e) for e in events if not e.cross]

    scenarios = []
    for point, event in plan:
        layout = json.loads(json.dumps(base))
        for key, value in point.items():
            _set_path(layout, key, value)
        layout, close = _apply_event(layout, event)
        parts = [f"{k}={value_label(v)}" for k, v in point.items()]
        if event is not None:
            parts.append(event.label)
        params: dict[str, Any] = dict(point)
        if event is not None or crossed:
            params["event"] = event.label if event is not None else "none"
        where = (f"events ({event.label})" if event is not None else "sweeps")
        try:
            problem = Problem.from_dict(layout, source=label)
        except InputError as exc:
            raise InputError(f"scenario {' '.join(parts) or 'base'}: {_bare(exc)}",
                             file=label, field=where) from exc
        locked = {c for g in problem.locked_hubs for c in g}
        together = {c for p in problem.keep_together for c in p} | {c for p in problem.keep_apart for c in p}
        clash = sorted(set(close) & (locked | together))
        if clash:
            raise InputError(f"closed practice(s) {', '.join(clash)} are named in the rules of scenario "
                             f"{' '.join(parts)}", file=label, field=where)
        scenarios.append(Scenario.build(problem, name=" ".join(parts) or batch_name, close=close,
                                        region=region, params=params))
    if not scenarios:
        raise InputError("expands to no scenarios", file=label, field="sweeps")
    short = sorted({float(s.problem["time_limit"]) for s in scenarios if s.problem["time_limit"] < SHORT_TIME_LIMIT})
    if short:
        # a warning, not an error: short caps are right for tests and demos, wrong for a decision
        logger.warning("%s: time limit(s) of %s s are short; scenarios stop on their gap target, and those that "
                       "run out of time above it are marked unresolved (default cap %g s)", label,
                       ", ".join(f"{t:g}" for t in short), DEFAULT_TIME_LIMIT)
    return _dedupe(batch_name, scenarios, label)


def _dedupe(name: str, scenarios: list[Scenario], source: str) -> ScenarioSet:
    seen: dict[str, Scenario] = {}
    dups = []
    for s in scenarios:
        if s.id in seen:
            dups.append(f"{s.name} = {seen[s.id].name}")
        else:
            seen[s.id] = s
    return ScenarioSet(name=name, scenarios=tuple(seen.values()), source=source, duplicates=tuple(dups))


# ---------------------------------------------------------------------------
# closing practices
# ---------------------------------------------------------------------------


def close_practices(atlas, codes: Iterable[str], travel: pd.DataFrame):
    """The atlas with some practices closed and their patients re-registered nearby.

    Parameters
    ----------
    atlas
        The :class:`~pcn_planner.data.atlas.Atlas` before closing.
    codes
        Practices that close.
    travel
        Minutes from each LSOA (rows) to each practice site (columns), e.g. ``Region.travel``.

    Returns
    -------
    (Atlas, pandas.DataFrame)
        The new atlas and the transfers (``closed, receiver, lsoa11cd, patients``;
        ``lsoa11cd`` is empty for patients with no known LSOA).

    Notes
    -----
    Each closed practice's patients in an LSOA move to the open practice with
    the shortest travel time from that LSOA's centroid. Its patients with no
    known LSOA (``list_size - patients_mapped``) are shared among the receivers
    in proportion to what each received (largest remainder), or all go to the
    nearest open site when none was mapped. Every list still sums to the same
    total, so the region keeps all its patients.
    """
    from pcn_planner.data.atlas import Atlas
    from pcn_planner.geography.travel import haversine_km

    closing = sorted(set(codes))
    practices = atlas.practices
    unknown = [c for c in closing if c not in practices.index]
    if unknown:
        raise InputError(f"cannot close unknown practice(s) {', '.join(unknown)}", field="close")
    open_codes = [c for c in practices.index if c not in set(closing)]
    if not open_codes:
        raise InputError("cannot close every practice of the region", field="close")
    minutes = travel.reindex(columns=open_codes)
    patients = atlas.patients
    rows = []
    for code in closing:
        mine = patients[patients["practice_code"] == code]
        lsoas = mine["lsoa11cd"].to_numpy()
        if len(mine):
            block = minutes.reindex(index=lsoas).to_numpy(dtype=float)
            block = np.where(np.isnan(block), np.inf, block)
            best = np.array(open_codes)[np.argmin(block, axis=1)]
            for lsoa, receiver, n in zip(lsoas, best, mine["patients"].to_numpy(int), strict=True):
                rows.append((code, str(receiver), str(lsoa), int(n)))
        unmapped = int(practices.at[code, "list_size"]) - int(practices.at[code, "patients_mapped"])
        if unmapped > 0:
            got = pd.Series([r[3] for r in rows if r[0] == code], index=[r[1] for r in rows if r[0] == code],
                            dtype=float).groupby(level=0).sum()
            if got.empty:
                lat, lon = float(practices.at[code, "lat"]), float(practices.at[code, "lon"])
                km = haversine_km(lat, lon, practices.loc[open_codes, "lat"].to_numpy(float),
                                  practices.loc[open_codes, "lon"].to_numpy(float))
                got = pd.Series([1.0], index=[open_codes[int(np.argmin(km))]])
            share = got / got.sum() * unmapped
            whole = np.floor(share).astype(int)
            rest = unmapped - int(whole.sum())
            order = np.argsort(-(share - whole).to_numpy(), kind="stable")[:rest]
            whole.iloc[order] += 1
            rows += [(code, str(r), "", int(n)) for r, n in whole.items() if n > 0]
    transfers = pd.DataFrame(rows, columns=["closed", "receiver", "lsoa11cd", "patients"])

    gained_list = transfers.groupby("receiver")["patients"].sum()
    mapped_moves = transfers[transfers["lsoa11cd"] != ""]
    gained_mapped = mapped_moves.groupby("receiver")["patients"].sum()
    new_practices = practices.loc[open_codes].copy()
    new_practices["list_size"] = (new_practices["list_size"] + gained_list.reindex(open_codes, fill_value=0)
                                  .to_numpy()).astype(int)
    new_practices["patients_mapped"] = (new_practices["patients_mapped"] + gained_mapped.reindex(
        open_codes, fill_value=0).to_numpy()).astype(int)
    kept = patients[~patients["practice_code"].isin(closing)]
    moved = mapped_moves.rename(columns={"receiver": "practice_code"})[["practice_code", "lsoa11cd", "patients"]]
    new_patients = (pd.concat([kept[["practice_code", "lsoa11cd", "patients"]], moved], ignore_index=True)
                    .groupby(["practice_code", "lsoa11cd"], as_index=False, sort=True)["patients"].sum())
    new_patients["patients"] = new_patients["patients"].astype(int)
    lsoas = atlas.lsoas
    manifest = {**atlas.manifest, "closed_practices": closing}
    new = Atlas(practices=new_practices, lsoas=lsoas, patients=new_patients, hospitals=atlas.hospitals,
                hospital_travel=atlas.hospital_travel, path=atlas.path, manifest=manifest)
    # the files on disk are the unclosed atlas: give the modified one its own identity
    new.__dict__["data_hash"] = hashlib.sha256(
        f"{atlas.data_hash}|closed:{','.join(closing)}".encode()).hexdigest()
    return new, transfers
