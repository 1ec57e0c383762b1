"""The planning problem: how many hubs, what size, what to optimise, which rules.

A :class:`Problem` is plain data. It can be written in TOML or YAML::

    k = 23                      # or [22, 26] for a range
    [bounds]
    min = 30000
    max = 70000
    [weights]
    travel = 1.0
    town = 0.5
    [rules]
    nest = "sub_icb"            # or "lad"; omit for none
    require_anchor = false
    keep_together = [["M83001", "M83016"]]
    keep_apart = []
    locked_hubs = [["M83004", "M83005"]]
    max_moved = 30
    colocated_together = false
    [growth]
    all = 1.05                  # every list grows 5 %
    "lad:Stafford" = 1.10       # an area ("lad:", "sub_icb:", "pcn:") ...
    "M83001" = 1.20             # ... or one practice; the most specific wins
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, replace
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import yaml

from pcn_planner.core.errors import InputError


@dataclass(frozen=True)
class Bounds:
    """Inclusive hub population bounds (registered patients).

    Parameters
    ----------
    min, max
        Smallest and largest number of patients a hub may have (both allowed).

    Raises
    ------
    ValueError
        Unless ``0 < min <= max``.

    Examples
    --------
    >>> from pcn_planner import Bounds
    >>> Bounds(30_000, 70_000).status(75_000)
    'above max'
    """

    min: int = 30_000
    max: int = 70_000

    def __post_init__(self) -> None:
        if not 0 < self.min <= self.max:
            raise ValueError(f"population bounds must satisfy 0 < min <= max, got {self.min:,}-{self.max:,}")

    def status(self, patients: float) -> str:
        """``ok``, ``below min`` or ``above max``."""
        if patients < self.min:
            return "below min"
        if patients > self.max:
            return "above max"
        return "ok"

    def __str__(self) -> str:
        return f"{self.min:,}-{self.max:,}"


WEIGHT_TERMS = ("travel", "town", "lad", "catchment", "risk", "disruption", "equity", "hubs")
NEST_LEVELS = ("sub_icb", "lad")
#: MIP solvers of the column heuristic's master problems (PuLP models).
COLUMN_SOLVERS = ("highs", "cbc")
#: Solvers a problem may name. SCIP (an optional extra: ``pip install 'pcn-planner[scip]'``) solves the
#: exact compact model with contiguity separated in its search; the heuristic then runs on HiGHS.
SOLVERS = COLUMN_SOLVERS + (("scip",) if find_spec("pyscipopt") is not None else ())


@dataclass(frozen=True)
class Weights:
    """Objective weights. Each term is normalised by its value on the current PCN map.

    Attributes
    ----------
    travel
        Patient-minutes from home LSOA to the hub base site.
    town, lad, catchment
        Patients living outside the hub base's town / district / acute catchment.
    risk
        Sustainability risk piled into a hub above the tolerated level.
    disruption
        Practices taken out of their baseline PCN (the base's PCN).
    equity
        Patients with a long trip (over ``Problem.long_trip_minutes``) to their base.
    hubs
        A charge per hub: a hub's management and estate overhead. Normalised by
        today's number of PCNs, so weight 1 says one hub costs as much as 1/25
        of today's total patient travel (4 %, for SSOT's 25 PCNs). It only
        matters when K is a range; at a fixed K it is the same for every plan
        and is left out of the objective.
    """

    travel: float = 1.0
    town: float = 0.5
    lad: float = 0.25
    catchment: float = 0.25
    risk: float = 0.25
    disruption: float = 0.1
    equity: float = 0.1
    hubs: float = 1.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and value >= 0):
                raise InputError(f"weight '{name}' must be a number >= 0, got {value!r}", field=f"weights.{name}")
        if sum(asdict(self).values()) <= 0:
            raise InputError("at least one weight must be positive", field="weights")

    def as_dict(self) -> dict[str, float]:
        """Weights by term name."""
        return asdict(self)


@dataclass(frozen=True)
class Problem:
    """What a plan must satisfy and what it optimises.

    Attributes
    ----------
    k
        Number of hubs, or an inclusive range ``(min, max)``.
    bounds
        Inclusive population bounds per hub.
    weights
        Objective weights (see :class:`Weights`).
    nest
        ``"sub_icb"`` or ``"lad"``: every hub lies within one such area.
    keep_together, keep_apart
        Practice pairs that must share / must not share a hub.
    locked_hubs
        Practice sets that must form a hub exactly as given.
    require_anchor
        Every hub holds at least one anchor (resilient) practice.
    max_moved
        At most this many practices leave their baseline PCN (the PCN of their hub's base).
    colocated_together
        Practices sharing a postcode share a hub.
    growth
        List-size growth factors by practice code, ``"lad:NAME"``, ``"sub_icb:NAME"``,
        ``"pcn:CODE"`` or ``"all"``; the most specific applies.
    long_trip_minutes
        Threshold of the equity term.
    risk_tolerance
        Hub mean risk above which risk counts as piled up, as a multiple of the
        region's patient-weighted mean risk.
    solver, time_limit, gap, seed
        Solver backend, wall-clock limit (s), target relative gap and random seed.

    Raises
    ------
    InputError
        For a setting out of range (naming the field), e.g. ``k=0`` or a
        negative weight.

    Examples
    --------
    >>> import pcn_planner as pp
    >>> pp.Problem(k=(22, 26)).k_range
    (22, 26)
    >>> problem = pp.Problem(k=23, nest="sub_icb", time_limit=60)
    >>> problem.with_(bounds={"max": 60_000}).bounds
    Bounds(min=30000, max=60000)
    >>> pp.Problem.from_file("problem.toml")  # the layout in this module's docstring  # doctest: +SKIP
    """

    k: int | tuple[int, int] = 23
    bounds: Bounds = field(default_factory=Bounds)
    weights: Weights = field(default_factory=Weights)
    nest: str | None = None
    keep_together: tuple[tuple[str, str], ...] = ()
    keep_apart: tuple[tuple[str, str], ...] = ()
    locked_hubs: tuple[tuple[str, ...], ...] = ()
    require_anchor: bool = False
    max_moved: int | None = None
    colocated_together: bool = False
    growth: dict[str, float] = field(default_factory=dict)
    long_trip_minutes: float = 15.0
    risk_tolerance: float = 1.25
    solver: str = "highs"
    time_limit: float = 30.0
    gap: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        k = self.k
        if isinstance(k, (list, tuple)):
            if len(k) != 2 or not all(isinstance(v, int) for v in k) or not 1 <= k[0] <= k[1]:
                raise InputError(f"k must be a whole number or a range [min, max], got {k!r}", field="k")
            object.__setattr__(self, "k", (int(k[0]), int(k[1])) if k[0] != k[1] else int(k[0]))
        elif not isinstance(k, int) or k < 1:
            raise InputError(f"k must be a whole number >= 1, got {k!r}", field="k")
        if self.nest not in (None, *NEST_LEVELS):
            raise InputError(f"nest must be one of {', '.join(NEST_LEVELS)}, got {self.nest!r}", field="rules.nest")
        if self.solver == "scip" and "scip" not in SOLVERS:
            raise InputError("solver 'scip' needs PySCIPOpt: pip install 'pcn-planner[scip]' (or use highs or cbc)",
                             field="solver")
        if self.solver not in SOLVERS:
            raise InputError(f"solver must be one of {', '.join(SOLVERS)}, got {self.solver!r}", field="solver")
        if self.time_limit <= 0:
            raise InputError("time_limit must be positive (seconds)", field="time_limit")
        if not 0 <= self.gap < 1:
            raise InputError("gap must be a fraction in [0, 1), e.g. 0.01 for 1 %", field="gap")
        if self.max_moved is not None and self.max_moved < 0:
            raise InputError("max_moved must be >= 0", field="rules.max_moved")
        for key, factor in self.growth.items():
            if not (isinstance(factor, (int, float)) and factor > 0):
                raise InputError(f"growth factor for {key!r} must be a number > 0, got {factor!r}",
                                 field=f"growth.{key}")
        for name in ("keep_together", "keep_apart"):
            pairs = tuple(tuple(str(c) for c in p) for p in getattr(self, name))
            if any(len(p) != 2 for p in pairs):
                raise InputError(f"{name} holds pairs of practice codes", field=f"rules.{name}")
            object.__setattr__(self, name, pairs)
        object.__setattr__(self, "locked_hubs", tuple(tuple(sorted(str(c) for c in g)) for g in self.locked_hubs))

    @property
    def k_range(self) -> tuple[int, int]:
        """``(min, max)`` number of hubs."""
        return self.k if isinstance(self.k, tuple) else (self.k, self.k)

    def with_(self, **changes: Any) -> Problem:
        """A copy with some fields changed (``weights``/``bounds`` may be dicts)."""
        if isinstance(changes.get("weights"), dict):
            changes["weights"] = replace(self.weights, **changes["weights"])
        if isinstance(changes.get("bounds"), dict):
            changes["bounds"] = Bounds(**{**asdict(self.bounds), **changes["bounds"]})
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for manifests and scenario files)."""
        data = asdict(self)
        data["k"] = list(self.k) if isinstance(self.k, tuple) else self.k
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "problem") -> Problem:
        """Build from the layout of a TOML/YAML problem file (see module docstring)."""
        data = dict(data)
        known = {"k", "bounds", "weights", "rules", "growth", "long_trip_minutes", "risk_tolerance",
                 "solver", "time_limit", "gap", "seed"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown setting(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}",
                             file=source, field=unknown[0])
        rules = data.pop("rules", {}) or {}
        rule_names = {"nest", "keep_together", "keep_apart", "locked_hubs", "require_anchor", "max_moved",
                      "colocated_together"}
        bad = sorted(set(rules) - rule_names)
        if bad:
            raise InputError(f"unknown rule(s) {', '.join(bad)}; expected {', '.join(sorted(rule_names))}",
                             file=source, field=f"rules.{bad[0]}")
        try:
            weights = data.pop("weights", None)
            bounds = data.pop("bounds", None)
            return cls(
                **data, **rules,
                weights=Weights(**{**Weights().as_dict(), **(weights or {})}),
                bounds=Bounds(**(bounds or {})),
            )
        except TypeError as exc:
            raise InputError(str(exc), file=source) from exc
        except InputError as exc:
            raise InputError(str(exc), file=source) from exc
        except ValueError as exc:
            raise InputError(str(exc), file=source, field="bounds") from exc

    @classmethod
    def from_file(cls, path: str | Path) -> Problem:
        """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) problem file."""
        path = Path(path)
        if not path.is_file():
            raise InputError("problem file not found", file=str(path))
        text = path.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
        except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
            raise InputError(f"cannot be parsed: {exc}", file=path.name) from exc
        if not isinstance(data, dict):
            raise InputError("must hold a table of settings", file=path.name)
        return cls.from_dict(data, source=path.name)
