"""Practice sustainability risk: a documented per-practice index in [0, 1].

The STP asks for locality hubs to be mapped "where risk of sustainability is
present": small or single-handed practices, practices in a workforce crisis.
This module turns the public inputs of the atlas into one number per practice
so that the planner can (a) avoid piling at-risk practices into one hub and
(b) optionally require each hub to hold an *anchor*, a large resilient practice.

The index is a weighted mean of seven terms, each in [0, 1], 1 = more risk:

=============  ================================================================
term           input(s)
=============  ================================================================
small_list     ``list_size`` (registered patients)
locum          ``locum_allowances`` per ``weighted_list`` patient
cqc            ``cqc_rating`` (latest overall CQC rating)
contract       ``contract_type`` (APMS = time-limited)
rurality       ``rurality``
dispensing     ``dispensing``
seniority      ``seniority`` per ``weighted_list`` patient
=============  ================================================================

Rules that keep it honest (see ``docs/risk.md``):

* A term that is the same for every practice in the region carries no
  information, so its weight is set to 0 and the other weights are
  renormalised to sum to 1. Seniority payments are 0 for every SSOT practice
  in 2022-23, so that term is always dropped on the embedded data.
* A missing input is never left as NaN: the term takes the region median of
  the practices that have the input, and the practice and the treatment are
  recorded in :attr:`RiskResult.missing_report` and the ``missing`` column.
* Users can replace the index with their own column (:func:`apply_override`,
  :func:`read_risk_override_csv`); the terms are still reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

from pcn_planner.core.errors import InputError
from pcn_planner.core.tables import Column, first_row_where, read_table

#: The terms, in the order they are reported.
TERMS: tuple[str, ...] = (
    "small_list", "locum", "cqc", "contract", "rurality", "dispensing", "seniority",
)

#: The practice columns each term reads (named in the ``missing`` column).
TERM_INPUTS: dict[str, tuple[str, ...]] = {
    "small_list": ("list_size",),
    "locum": ("locum_allowances", "weighted_list"),
    "cqc": ("cqc_rating",),
    "contract": ("contract_type",),
    "rurality": ("rurality",),
    "dispensing": ("dispensing",),
    "seniority": ("seniority", "weighted_list"),
}

# A term whose spread over the region is below this is "constant".
_CONSTANT_TOL = 1e-12


# --------------------------------------------------------------------------
# Weights and parameters
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskWeights:
    """Relative weight of each term in the index (defaults sum to 1).

    Weights must be finite and >= 0 with a positive total; they are
    renormalised to sum to 1 after constant terms are set to 0, so only their
    ratios matter. A weight of 0 drops a term from the index (it is still
    reported).

    Attributes
    ----------
    small_list : float, default 0.30
        The largest weight: small and single-handed practices are the risk the
        STP names first, and list size is current (October 2025) and complete.
    locum : float, default 0.20
        Workforce strain, the STP's "workforce crisis". Not higher because the
        input is 2022-23 and only non-zero for a minority of practices.
    cqc : float, default 0.20
        An independent, recent-ish judgement of how the practice is run; a
        poor rating is the most direct public sign of a practice in difficulty.
    contract : float, default 0.10
        APMS contracts end and are re-procured; few practices hold one.
    rurality : float, default 0.05
        Rural recruitment and dispersed populations; overlaps with dispensing
        and small list, so kept small to avoid counting one thing three times.
    dispensing : float, default 0.05
        Dependence on dispensing income and dispensary staff (see
        :func:`dispensing_term`); the sign is arguable, so the weight is small.
    seniority : float, default 0.10
        Long-serving partners nearing retirement, where the payment exists.
        Zeroed automatically when constant (as in SSOT 2022-23).
    """

    small_list: float = 0.30
    locum: float = 0.20
    cqc: float = 0.20
    contract: float = 0.10
    rurality: float = 0.05
    dispensing: float = 0.05
    seniority: float = 0.10

    def __post_init__(self) -> None:
        for name, value in self.as_dict().items():
            if not _is_number(value) or value < 0:
                raise InputError(f"risk weight must be a finite number >= 0, got {value!r}", field=name)
        if sum(self.as_dict().values()) <= 0:
            raise InputError("risk weights are all 0: at least one must be positive", field="weights")

    def as_dict(self) -> dict[str, float]:
        """The weights as ``{term: weight}`` in :data:`TERMS` order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class RiskParams:
    """Thresholds of the terms and of the high-risk and anchor rules.

    Attributes
    ----------
    small_list_full : int, default 4000
        At or below this list size the small-list term is 1. About two
        full-time GPs' worth of patients: one absence removes half the
        medical capacity and there is nobody in-house to cover.
    small_list_none : int, default 10000
        At or above this list size the small-list term is 0 (about 4-5
        full-time GPs: enough to absorb an absence and carry trainees).
    scale_quantile : float, default 0.95
        Locum and seniority amounts per weighted patient are divided by this
        quantile of the region's values (a robust maximum: one outlier does not
        squash everyone else towards 0), then clipped to [0, 1].
    locum_scale, seniority_scale : float or None
        Fixed scales in pounds per weighted patient, to compare regions or
        subsets on one yardstick. ``None`` uses ``scale_quantile`` of the region.
    cqc_outstanding, cqc_good, cqc_requires_improvement, cqc_inadequate : float
        Term value for each latest CQC rating (0, 0.1, 0.7, 1); see
        :func:`cqc_term` for the reasons.
    high_risk_threshold : float, default 0.35
        ``high_risk`` is ``risk >= high_risk_threshold``. A fixed number, not a
        quantile, so the flag means the same in every scenario. With the
        default weights a practice of 4,000 patients or fewer rated Good with
        nothing else against it scores 0.356, just over the line: a
        single-handed-size practice counts as high risk on its own. On SSOT it
        flags 34 of 141 practices (24 %; see ``docs/risk.md``).
    anchor_min_list : int, default 10000
        An anchor must have at least this many registered patients (where the
        small-list term reaches 0).
    anchor_max_risk : float, default 0.15
        ... and a risk of at most this. Chosen so that a large practice rated
        Requires improvement (0.156 with nothing else against it) or with
        heavy locum reliance is not an anchor, while a large rural dispensing
        practice (0.133) still is. On SSOT: 37 of the 44 practices of
        10,000+ patients are anchors.
    """

    small_list_full: int = 4000
    small_list_none: int = 10000
    scale_quantile: float = 0.95
    locum_scale: float | None = None
    seniority_scale: float | None = None
    cqc_outstanding: float = 0.0
    cqc_good: float = 0.1
    cqc_requires_improvement: float = 0.7
    cqc_inadequate: float = 1.0
    high_risk_threshold: float = 0.35
    anchor_min_list: int = 10000
    anchor_max_risk: float = 0.15

    def __post_init__(self) -> None:
        def unit(name: str) -> None:
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value <= 1:
                raise InputError(f"must be a number in [0, 1], got {value!r}", field=name)

        for name in ("cqc_outstanding", "cqc_good", "cqc_requires_improvement", "cqc_inadequate",
                     "high_risk_threshold", "anchor_max_risk"):
            unit(name)
        if not _is_number(self.small_list_full) or not _is_number(self.small_list_none) \
                or not 0 <= self.small_list_full < self.small_list_none:
            raise InputError(
                f"need 0 <= small_list_full < small_list_none, got {self.small_list_full!r} "
                f"and {self.small_list_none!r}", field="small_list_full")
        if not _is_number(self.scale_quantile) or not 0 < self.scale_quantile <= 1:
            raise InputError(f"must be in (0, 1], got {self.scale_quantile!r}", field="scale_quantile")
        for name in ("locum_scale", "seniority_scale"):
            value = getattr(self, name)
            if value is not None and (not _is_number(value) or value <= 0):
                raise InputError(f"must be a number > 0 or None, got {value!r}", field=name)
        if not _is_number(self.anchor_min_list) or self.anchor_min_list < 0:
            raise InputError(f"must be a number >= 0, got {self.anchor_min_list!r}", field="anchor_min_list")

    def cqc_scores(self) -> dict[str, float]:
        """Term value for each rating, keyed by the lower-case rating text."""
        return {
            "outstanding": self.cqc_outstanding,
            "good": self.cqc_good,
            "requires improvement": self.cqc_requires_improvement,
            "inadequate": self.cqc_inadequate,
        }


def _is_number(value: object) -> bool:
    """A finite real number (bools are not numbers here)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(float(value))


def _numeric(series: pd.Series, name: str) -> pd.Series:
    """Floats with empty cells and NA as NaN; anything else unreadable is an error.

    A typo such as ``'12,5OO'`` must not pass as "missing", and a negative
    count or payment is a data error, not a small value.
    """
    text = _clean_text(series)
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce").astype(float)
    bad = (numbers.isna() & (text != "")) | np.isinf(numbers) | (numbers < 0)
    if bad.any():
        code = numbers.index[bad.to_numpy().argmax()]
        raise InputError(f"practice {code}: '{text[code]}' is not a number >= 0", field=name)
    return numbers


# --------------------------------------------------------------------------
# Terms. Each returns a float Series in [0, 1]; NaN means "input missing",
# which risk_index() fills and records (it never reaches the index).
# --------------------------------------------------------------------------


def small_list_term(list_size: pd.Series, full: float = 4000, none: float = 10000) -> pd.Series:
    """Small list: 1 at or below ``full`` patients, falling linearly to 0 at ``none``.

    ``term = clip((none - list_size) / (none - full), 0, 1)``

    Why: a small practice has one or two GPs, so a single retirement, illness
    or vacancy removes most of its medical capacity, and it cannot spread
    fixed costs or cover absence in-house. These are the "single-handed"
    practices the STP worries about. England has roughly 2,000-2,300 patients
    per full-time GP, so 4,000 patients is about two GPs and 10,000 about
    four to five.
    """
    size = _numeric(list_size, "list_size")
    return ((none - size) / (none - full)).clip(0.0, 1.0)


def _per_patient_scaled(amount: pd.Series, weighted_list: pd.Series, quantile: float,
                        scale: float | None, name: str) -> tuple[pd.Series, float]:
    """``clip(amount / weighted_list / scale, 0, 1)`` and the scale used.

    NaN where either input is missing or the weighted list is not positive.
    The default scale is the ``quantile`` of the known values; if that is 0
    (most practices have nothing), the largest known value is used instead, so
    the few non-zero practices still rank; if that is 0 too the term is 0.
    """
    amount = _numeric(amount, name)
    wl = _numeric(weighted_list, "weighted_list")
    # A weighted list of 0 is a gap in the data, not an infinite rate.
    per = amount / wl.where(wl > 0)
    known = per.dropna()
    if scale is None:
        scale = float(known.quantile(quantile)) if len(known) else 0.0
        if scale <= 0:
            scale = float(known.max()) if len(known) else 0.0
    if scale <= 0:
        return per * 0.0, 0.0
    return (per / scale).clip(0.0, 1.0), float(scale)


def locum_term(locum_allowances: pd.Series, weighted_list: pd.Series,
               quantile: float = 0.95, scale: float | None = None) -> pd.Series:
    """Locum reliance: locum allowances per weighted patient, on a robust scale.

    ``term = clip((locum_allowances / weighted_list) / s, 0, 1)`` where ``s`` is
    ``scale`` (pounds per weighted patient) or, if ``None``, the ``quantile``
    of that ratio over the practices given (the largest value if the quantile
    is 0). NaN where an input is missing or ``weighted_list <= 0``.

    Why: NHS "locum allowances" reimburse cover for GPs off on parental or
    sick leave (or suspended). Large payments per patient mean the practice
    has had to run on locums for long spells: a sign of a thin workforce.
    Dividing by the weighted list compares practices of different size and
    need. The 95th percentile rather than the maximum keeps one extreme
    practice from pushing every other one towards 0.
    """
    return _per_patient_scaled(locum_allowances, weighted_list, quantile, scale, "locum_allowances")[0]


def seniority_term(seniority: pd.Series, weighted_list: pd.Series,
                   quantile: float = 0.95, scale: float | None = None) -> pd.Series:
    """Seniority: seniority payments per weighted patient, on a robust scale.

    ``term = clip((seniority / weighted_list) / s, 0, 1)``, ``s`` as in
    :func:`locum_term`. NaN where an input is missing.

    Why: seniority payments rose with a GP partner's years of service, so a
    large amount per patient is a proxy for partners nearing retirement,
    whose departure can end a partnership. The scheme was closed and wound
    down, so recent payment files hold 0 for every practice (all 141 SSOT
    practices in 2022-23); the term is then constant and gets zero weight.
    """
    return _per_patient_scaled(seniority, weighted_list, quantile, scale, "seniority")[0]


def cqc_term(cqc_rating: pd.Series, scores: dict[str, float] | None = None) -> pd.Series:
    """Latest CQC rating: Outstanding 0, Good 0.1, Requires improvement 0.7, Inadequate 1.

    Case and surrounding spaces are ignored. NaN where the rating is empty.
    ``scores`` (lower-case rating -> value) replaces the defaults.

    Why: Inadequate means special measures and the threat of cancelled
    registration, an existential risk: 1. Requires improvement is a
    formal finding that the practice is struggling, often for want of staff,
    but it keeps running: 0.7, nearer Inadequate than Good. Good is the norm
    (123 of 141 SSOT practices): 0.1, a small step above Outstanding, so that
    the big gap in the scale is between Good and Requires improvement.

    Raises
    ------
    InputError
        For a rating that is not one of the four.
    """
    scores = scores if scores is not None else RiskParams().cqc_scores()
    raw = _clean_text(cqc_rating)
    key = raw.str.lower()
    _check_values(key, raw, scores, "cqc_rating")
    return key.map(scores).astype(float)


def contract_term(contract_type: pd.Series) -> pd.Series:
    """Contract type: APMS 1; GMS and PMS 0. NaN where empty.

    Why: an APMS contract is time-limited and is re-procured when it ends, so
    the practice may change provider or be dispersed; APMS is also how a
    failed practice is often kept open under a caretaker. GMS contracts run
    in perpetuity, and PMS agreements are open-ended in practice too.

    Raises
    ------
    InputError
        For a value other than GMS, PMS or APMS.
    """
    raw = _clean_text(contract_type)
    key = raw.str.upper()
    values = {"GMS": 0.0, "PMS": 0.0, "APMS": 1.0}
    _check_values(key, raw, values, "contract_type")
    return key.map(values).astype(float)


def rurality_term(rurality: pd.Series) -> pd.Series:
    """Rurality: Rural 1, Urban 0. NaN where empty.

    Why: rural practices find it harder to recruit and retain GPs and nurses,
    serve dispersed patients, and have no neighbour round the corner to merge
    with or to share cover.

    Raises
    ------
    InputError
        For a value other than Rural or Urban.
    """
    raw = _clean_text(rurality)
    key = raw.str.lower()
    values = {"rural": 1.0, "urban": 0.0}
    _check_values(key, raw, values, "rurality")
    return key.map(values).astype(float)


def dispensing_term(dispensing: pd.Series) -> pd.Series:
    """Dispensing practice: 1, else 0. NaN where unknown.

    Why this counts as risk, not protection: dispensing income props up many
    dispensing practices, but it is income the practice does not control
    (Drug Tariff margins are set nationally, and dispensing rights can be lost
    if a pharmacy opens nearby), and the dispensary needs its own staff in the
    same thin rural labour market. A practice that relies on that income is
    exposed if it changes. The opposite view, that the income makes the
    practice *more* resilient today, is fair too; that is why the default
    weight is small (0.05). Set ``RiskWeights(dispensing=0)`` to drop it.
    """
    values = _to_boolean(dispensing)
    return values.astype("Float64").astype(float)


def _clean_text(series: pd.Series) -> pd.Series:
    """Strings stripped, with NaN/None as ''."""
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def _check_values(key: pd.Series, raw: pd.Series, allowed: Mapping[str, object], name: str) -> None:
    """Raise for the first normalised ``key`` not in ``allowed`` (empty is allowed).

    ``raw`` is the cleaned text, so the message shows the value as the user wrote it.
    """
    bad = ~(key.isin(list(allowed)) | key.eq(""))
    if bad.any():
        code = key.index[bad.to_numpy().argmax()]
        raise InputError(f"practice {code}: unrecognised value '{raw[code]}' "
                         f"(expected one of {', '.join(allowed)}, or empty)", field=name)


def _to_boolean(series: pd.Series) -> pd.Series:
    """Nullable booleans from bools or true/false-like text; '' and NA stay NA."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    raw = _clean_text(series)
    key = raw.str.lower()
    truth = {"true": True, "false": False, "yes": True, "no": False, "y": True, "n": False,
             "1": True, "0": False, "1.0": True, "0.0": False}
    _check_values(key, raw, truth, "dispensing")
    return key.map(truth).astype("boolean")


# --------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class MissingInput:
    """Practices whose input to one term was missing, and what was done.

    Attributes
    ----------
    practices : tuple of str
        Practice codes with a missing input to this term (empty if none).
    fill_value : float or None
        Term value given to them, or ``None`` if no input was missing.
    treatment : str
        The rule applied, in words.
    """

    practices: tuple[str, ...] = ()
    fill_value: float | None = None
    treatment: str = "no input missing"


@dataclass(frozen=True, eq=False)
class RiskResult:
    """The risk index of a region and how it was made.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by practice code, in input order: ``list_size`` (for the
        anchor rule), one column per term (values
        after filling missing inputs), ``risk`` in [0, 1], ``high_risk``,
        ``anchor`` (bool) and ``missing`` (the input columns that were missing
        for that practice, comma-separated, '' if none). After an override
        it also holds ``risk_computed``, the index before the override.
    weights_used : dict of str to float
        Weight of each term in ``risk`` (constant terms 0, the rest summing to 1).
    constant_terms : list of str
        Terms that were the same for every practice and so got zero weight.
    missing_report : dict of str to MissingInput
        For every term: the practices with a missing input and the treatment.
    scales : dict of str to float
        Pounds per weighted patient that scored 1 for ``locum`` and ``seniority``.
    params : RiskParams
        The thresholds used.
    overridden : bool
        True if ``risk`` is a user-supplied column, not the index.
    notes : tuple of str
        Anything else a reader should know (e.g. every term was constant).
    """

    table: pd.DataFrame
    weights_used: dict[str, float]
    constant_terms: list[str]
    missing_report: dict[str, MissingInput]
    scales: dict[str, float]
    params: RiskParams
    overridden: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def risk(self) -> pd.Series:
        """The ``risk`` column."""
        return self.table["risk"]

    def summary(self) -> pd.DataFrame:
        """Distribution of ``risk`` and the counts of high-risk and anchor practices."""
        r = self.table["risk"]
        rows = [
            ("practices", len(r)),
            ("risk min", round(float(r.min()), 3)),
            ("risk median", round(float(r.median()), 3)),
            ("risk mean", round(float(r.mean()), 3)),
            ("risk max", round(float(r.max()), 3)),
            (f"high risk (risk >= {self.params.high_risk_threshold:g})", int(self.table["high_risk"].sum())),
            (f"anchors (list >= {self.params.anchor_min_list:,}, risk <= {self.params.anchor_max_risk:g})",
             int(self.table["anchor"].sum())),
        ]
        # object dtype keeps counts as whole numbers beside the risk figures
        return pd.DataFrame(rows, columns=["measure", "value"], dtype=object).set_index("measure")


def _practice_codes(practices: pd.DataFrame) -> pd.Index:
    codes = practices["practice_code"] if "practice_code" in practices.columns else practices.index
    codes = pd.Index([str(c).strip() for c in codes], name="practice_code")
    dup = codes.duplicated()
    if dup.any():
        raise InputError(f"duplicate practice code '{codes[dup][0]}'", field="practice_code")
    if (codes == "").any():
        raise InputError("a practice has an empty practice code", field="practice_code")
    return codes


def _column(practices: pd.DataFrame, name: str, codes: pd.Index) -> pd.Series:
    """A column re-indexed by practice code; all-NA if the frame lacks it."""
    if name in practices.columns:
        return pd.Series(practices[name].to_numpy(), index=codes, name=name)
    return pd.Series([pd.NA] * len(codes), index=codes, name=name, dtype=object)


def _flags(risk: pd.Series, list_size: pd.Series, params: RiskParams) -> tuple[pd.Series, pd.Series]:
    high = risk >= params.high_risk_threshold
    anchor = (list_size >= params.anchor_min_list) & (risk <= params.anchor_max_risk)
    return high.astype(bool), anchor.astype(bool)


def risk_index(
    practices: pd.DataFrame,
    weights: RiskWeights = RiskWeights(),
    params: RiskParams = RiskParams(),
    override: pd.Series | None = None,
) -> RiskResult:
    """Compute the sustainability risk index of every practice in a region.

    ``risk = sum_t w_t * term_t`` over :data:`TERMS`, where ``w`` are
    ``weights`` with constant terms set to 0, renormalised to sum to 1. Every
    term is in [0, 1], so ``risk`` is too.

    Parameters
    ----------
    practices
        One row per practice (e.g. ``atlas.practices``). Codes come from a
        ``practice_code`` column, else the index. ``list_size`` is required;
        other input columns may be absent (treated as missing for everyone).
    weights
        Relative term weights.
    params
        Thresholds (small-list bounds, scales, CQC scores, high-risk, anchor).
    override
        Optional user risk per practice (see :func:`apply_override`).

    Returns
    -------
    RiskResult

    Raises
    ------
    InputError
        Empty table, duplicate codes, missing or non-positive list sizes,
        unrecognised category values, or a bad override.
    """
    if len(practices) == 0:
        raise InputError("no practices: the region is empty", field="practice_code")
    codes = _practice_codes(practices)
    if "list_size" not in practices.columns:
        raise InputError("missing column list_size", field="list_size")
    names = list(dict.fromkeys(c for t in TERMS for c in TERM_INPUTS[t]))
    col = {name: _column(practices, name, codes) for name in names}
    absent = [name for name in names if name not in practices.columns]

    size = _numeric(col["list_size"], "list_size")
    bad = size.isna() | (size <= 0)
    if bad.any():
        code = size.index[bad.to_numpy().argmax()]
        raise InputError(f"practice {code}: list_size must be a number > 0, "
                         f"got '{_clean_text(col['list_size'])[code]}'", field="list_size")

    # Which inputs each practice lacks: named in the table's 'missing' column.
    weighted = _numeric(col["weighted_list"], "weighted_list")
    lacks = {
        "list_size": size.isna(),
        "locum_allowances": _numeric(col["locum_allowances"], "locum_allowances").isna(),
        "weighted_list": weighted.isna() | (weighted <= 0),
        "seniority": _numeric(col["seniority"], "seniority").isna(),
        "cqc_rating": _clean_text(col["cqc_rating"]).eq(""),
        "contract_type": _clean_text(col["contract_type"]).eq(""),
        "rurality": _clean_text(col["rurality"]).eq(""),
        "dispensing": _to_boolean(col["dispensing"]).isna(),
    }

    locum, locum_scale = _per_patient_scaled(col["locum_allowances"], col["weighted_list"],
                                             params.scale_quantile, params.locum_scale,
                                             "locum_allowances")
    senior, senior_scale = _per_patient_scaled(col["seniority"], col["weighted_list"],
                                               params.scale_quantile, params.seniority_scale,
                                               "seniority")
    raw = {
        "small_list": small_list_term(size, params.small_list_full, params.small_list_none),
        "locum": locum,
        "cqc": cqc_term(col["cqc_rating"], params.cqc_scores()),
        "contract": contract_term(col["contract_type"]),
        "rurality": rurality_term(col["rurality"]),
        "dispensing": dispensing_term(col["dispensing"]),
        "seniority": senior,
    }

    # list_size is kept in the table so the anchor rule can be re-applied
    # (and read) without the practices table.
    table = pd.DataFrame({"list_size": size}, index=codes)
    missing_report: dict[str, MissingInput] = {}
    for term in TERMS:
        values = raw[term]
        gap = values.isna()
        if not gap.any():
            missing_report[term] = MissingInput()
            table[term] = values.astype(float)
            continue
        # Fill with the region median of the term: a gap in the data should
        # not move a practice up or down relative to its peers.
        known = values[~gap]
        if len(known):
            fill = float(known.median())
            how = f"filled with the region median of the term ({fill:.4g}) over {len(known)} practices"
        else:
            fill = 0.0
            how = "no practice has this input: filled with 0 (the term is constant, so unweighted)"
        lacking = [c for c in TERM_INPUTS[term] if c in absent]
        if lacking:
            how += f"; column {', '.join(lacking)} absent from the table"
        missing_report[term] = MissingInput(tuple(codes[gap.to_numpy()]), fill, how)
        table[term] = values.fillna(fill).astype(float)

    constant = [t for t in TERMS if float(table[t].max() - table[t].min()) <= _CONSTANT_TOL]
    given = weights.as_dict()
    used = {t: (0.0 if t in constant else given[t]) for t in TERMS}
    notes: list[str] = []
    if sum(used.values()) <= 0:
        # Nothing with a weight varies (e.g. a region of one practice).
        # Zeroing would leave no weights at all, so keep the given ones: the
        # risk is then the same fair absolute reading it would be anyway.
        used = dict(given)
        notes.append("no weighted term varies across these practices, so the given weights "
                     "were kept and constant terms still count")
    total = sum(used.values())
    used = {t: w / total for t, w in used.items()}

    risk = sum(used[t] * table[t] for t in TERMS)
    table["risk"] = risk.clip(0.0, 1.0)  # guards float round-off only
    table["high_risk"], table["anchor"] = _flags(table["risk"], size, params)
    term_inputs = {name for t in TERMS if missing_report[t].practices for name in TERM_INPUTS[t]}
    table["missing"] = [
        ", ".join(name for name in names if name in term_inputs and bool(lacks[name][code]))
        for code in codes
    ]

    result = RiskResult(table=table, weights_used=used, constant_terms=constant,
                        missing_report=missing_report,
                        scales={"locum": locum_scale, "seniority": senior_scale},
                        params=params, notes=tuple(notes))
    if override is not None:
        result = apply_override(result, override)
    return result


# --------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------


def apply_override(result: RiskResult, override: pd.Series) -> RiskResult:
    """Replace ``risk`` with a user column; terms stay, flags are recomputed.

    Parameters
    ----------
    result
        From :func:`risk_index`.
    override
        Risk per practice, indexed by practice code: every practice of
        ``result.table`` exactly once, each value a number in [0, 1].

    Returns
    -------
    RiskResult
        With ``risk`` = the override, the computed index kept in
        ``risk_computed``, ``high_risk`` and ``anchor`` recomputed from the
        override with the same thresholds, and ``overridden=True``.

    Raises
    ------
    InputError
        Naming the field and the problem: not a Series, duplicate, unknown or
        missing practice codes, a non-numeric value or one outside [0, 1].
    """
    codes = result.table.index
    values = _validate_override(override, codes)
    table = result.table.copy()
    if "risk_computed" not in table.columns:
        table.insert(table.columns.get_loc("risk"), "risk_computed", table["risk"])
    table["risk"] = values.reindex(codes).astype(float)
    table["high_risk"], table["anchor"] = _flags(table["risk"], table["list_size"], result.params)
    return replace(result, table=table, overridden=True)


def _validate_override(override: object, codes: pd.Index) -> pd.Series:
    if not isinstance(override, pd.Series):
        raise InputError(f"the risk override must be a pandas Series indexed by practice code, "
                         f"got {type(override).__name__}", field="risk")
    index = pd.Index([str(c).strip() for c in override.index])
    dup = index.duplicated()
    if dup.any():
        raise InputError(f"duplicate practice code '{index[dup][0]}' in the risk override",
                         field="practice_code")
    series = pd.Series(override.to_numpy(), index=index)
    known, given = set(codes), set(index)
    unknown = [c for c in index if c not in known]
    if unknown:
        raise InputError(f"unknown practice code(s) in the risk override: {_few(unknown)}",
                         field="practice_code")
    lacking = [c for c in codes if c not in given]
    if lacking:
        raise InputError(f"the risk override has no value for {len(lacking)} practice(s): "
                         f"{_few(lacking)}", field="practice_code")
    numbers = pd.to_numeric(series, errors="coerce").astype(float)
    bad = numbers.isna()
    if bad.any():
        code = numbers.index[bad.to_numpy().argmax()]
        raise InputError(f"practice {code}: risk {series[code]!r} is not a number", field="risk")
    out = (numbers < 0) | (numbers > 1)
    if out.any():
        code = numbers.index[out.to_numpy().argmax()]
        raise InputError(f"practice {code}: risk {numbers[code]:g} is outside [0, 1]", field="risk")
    return numbers


def _few(items: list[str], n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def read_risk_override_csv(path: str | Path, practice_codes: Iterable[str]) -> pd.Series:
    """Read a user risk column from a CSV with the columns ``practice_code,risk``.

    Parameters
    ----------
    path
        UTF-8 CSV, header row, one row per practice; other columns are ignored.
    practice_codes
        The region's practice codes (e.g. ``atlas.practices.index``): every
        one must appear exactly once, and no other.

    Returns
    -------
    pandas.Series
        ``risk`` in [0, 1] indexed by practice code, in the order of
        ``practice_codes``.

    Raises
    ------
    InputError
        Naming the file, the row (header = 1) and the field: missing columns,
        empty or non-numeric risk, risk outside [0, 1], duplicate or unknown
        practice code; a practice with no row names the file and field.
    """
    path = Path(path)
    frame = read_table(path, [Column("practice_code", unique=True),
                              Column("risk", "float", minimum=0.0, maximum=1.0)], extra=False)
    codes = [str(c).strip() for c in practice_codes]
    known = set(codes)
    unknown = ~frame["practice_code"].isin(known)
    if unknown.any():
        raise InputError(f"unknown practice code '{frame['practice_code'][unknown].iloc[0]}' "
                         f"(not a practice of this region)", file=path.name,
                         row=first_row_where(unknown), field="practice_code")
    present = set(frame["practice_code"])
    lacking = [c for c in codes if c not in present]
    if lacking:
        raise InputError(f"no row for {len(lacking)} practice(s): {_few(lacking)}; "
                         f"every practice needs a risk", file=path.name, field="practice_code")
    series = frame.set_index("practice_code")["risk"].reindex(codes).astype(float)
    series.index.name = "practice_code"
    series.name = "risk"
    return series


__all__ = [
    "TERMS",
    "TERM_INPUTS",
    "MissingInput",
    "RiskParams",
    "RiskResult",
    "RiskWeights",
    "apply_override",
    "contract_term",
    "cqc_term",
    "dispensing_term",
    "locum_term",
    "read_risk_override_csv",
    "risk_index",
    "rurality_term",
    "seniority_term",
    "small_list_term",
]
