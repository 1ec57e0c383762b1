"""Tests for pcn_planner.geography.risk: each term's formula, the index rules, overrides.

Term values are pinned on small hand-made tables, so changing a formula or a
default breaks a test on purpose; then update docs/risk.md too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcn_planner.data.atlas import load_atlas
from pcn_planner.core.errors import InputError
from pcn_planner.geography.risk import TERMS, RiskParams, RiskWeights, apply_override, contract_term, cqc_term, dispensing_term, locum_term, read_risk_override_csv, risk_index, rurality_term, seniority_term, small_list_term


def s(values, index=None) -> pd.Series:
    return pd.Series(values, index=index)


# --------------------------------------------------------------------------
# Terms
# --------------------------------------------------------------------------


def test_small_list_term_is_one_at_4000_and_zero_at_10000():
    got = small_list_term(s([1500, 4000, 5500, 7000, 10000, 25000]))
    assert got.tolist() == pytest.approx([1.0, 1.0, 0.75, 0.5, 0.0, 0.0])


def test_small_list_term_bounds_are_parameters():
    got = small_list_term(s([2000, 3000, 4000]), full=2000, none=4000)
    assert got.tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_locum_term_divides_by_weighted_list_and_a_fixed_scale():
    got = locum_term(s([0.0, 100.0, 400.0, 3000.0]), s([1000.0, 1000.0, 2000.0, 1000.0]), scale=0.4)
    # 0, 0.1, 0.2, 3.0 pounds per weighted patient over 0.4, clipped
    assert got.tolist() == pytest.approx([0.0, 0.25, 0.5, 1.0])


def test_locum_term_default_scale_is_the_95th_percentile():
    per_patient = [0.0, 1.0, 2.0, 3.0, 10.0]
    got = locum_term(s([v * 100 for v in per_patient]), s([100.0] * 5))
    p95 = 3.0 + 0.8 * 7.0  # numpy's linear quantile: position 0.95 * 4 = 3.8
    assert p95 == pytest.approx(np.quantile(per_patient, 0.95))
    assert got.tolist() == pytest.approx([0.0, 1 / p95, 2 / p95, 3 / p95, 1.0])


def test_locum_term_falls_back_to_the_max_when_the_quantile_is_zero():
    got = locum_term(s([0.0, 0.0, 0.0, 50.0]), s([100.0] * 4), quantile=0.5)
    assert got.tolist() == pytest.approx([0.0, 0.0, 0.0, 1.0])
    assert locum_term(s([0.0, 0.0]), s([100.0, 100.0])).tolist() == [0.0, 0.0]


def test_locum_term_is_nan_only_where_an_input_is_missing():
    got = locum_term(s([10.0, np.nan, 10.0, 10.0]), s([100.0, 100.0, 0.0, np.nan]), scale=0.1)
    assert got.iloc[0] == pytest.approx(1.0)
    assert got.iloc[1:].isna().all()


def test_locum_term_rejects_text_and_negative_amounts():
    with pytest.raises(InputError, match="field 'locum_allowances'.*'12,5OO'"):
        locum_term(s(["12,5OO", "3"]), s([100.0, 100.0]))
    with pytest.raises(InputError, match="field 'locum_allowances'"):
        locum_term(s([-5.0, 3.0]), s([100.0, 100.0]))


def test_seniority_term_has_the_locum_formula():
    got = seniority_term(s([0.0, 100.0, 400.0]), s([1000.0, 1000.0, 1000.0]), scale=0.2)
    assert got.tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_cqc_term_values():
    got = cqc_term(s(["Outstanding", "Good", "Requires improvement", "Inadequate", " requires Improvement ", ""]))
    assert got.iloc[:5].tolist() == pytest.approx([0.0, 0.1, 0.7, 1.0, 0.7])
    assert math.isnan(got.iloc[5])


def test_cqc_term_rejects_unknown_rating():
    with pytest.raises(InputError, match="field 'cqc_rating'.*'Excellent'"):
        cqc_term(s(["Good", "Excellent"], index=["A", "B"]))


def test_contract_rurality_dispensing_terms():
    assert contract_term(s(["GMS", "PMS", "APMS", "apms"])).tolist() == [0.0, 0.0, 1.0, 1.0]
    assert math.isnan(contract_term(s([""])).iloc[0])
    assert rurality_term(s(["Rural", "Urban", "rural"])).tolist() == [1.0, 0.0, 1.0]
    assert math.isnan(rurality_term(s([None])).iloc[0])
    disp = dispensing_term(pd.Series([True, False, pd.NA], dtype="boolean"))
    assert disp.iloc[:2].tolist() == [1.0, 0.0] and math.isnan(disp.iloc[2])
    assert dispensing_term(s(["true", "False", ""])).iloc[:2].tolist() == [1.0, 0.0]


@pytest.mark.parametrize("func,value,field", [
    (contract_term, "GPMS", "contract_type"),
    (rurality_term, "Suburban", "rurality"),
    (dispensing_term, "maybe", "dispensing"),
])
def test_category_terms_reject_unknown_values(func, value, field):
    with pytest.raises(InputError, match=f"field '{field}'.*{value}"):
        func(s([value]))


# --------------------------------------------------------------------------
# The index on a hand-made region
# --------------------------------------------------------------------------


def region() -> pd.DataFrame:
    """Four practices; every term varies except seniority (0 for all, as in SSOT)."""
    return pd.DataFrame({
        "practice_code": ["A", "B", "C", "D"],
        "list_size": [3000, 7000, 12000, 10000],          # small_list 1, 0.5, 0, 0
        "locum_allowances": [0.0, 100.0, 40.0, 0.0],
        "weighted_list": [1000.0, 1000.0, 2000.0, 1000.0],  # 0, 0.1, 0.02, 0 per patient
        "cqc_rating": ["Good", "Requires improvement", "Outstanding", "Inadequate"],
        "contract_type": ["GMS", "APMS", "PMS", "GMS"],
        "rurality": ["Rural", "Urban", "Urban", "Rural"],
        "dispensing": pd.array([True, False, False, False], dtype="boolean"),
        "seniority": [0.0, 0.0, 0.0, 0.0],
    }).set_index("practice_code", drop=False)


FIXED = RiskParams(locum_scale=0.2)  # locum terms 0, 0.5, 0.1, 0


def test_default_weights_sum_to_one():
    assert sum(RiskWeights().as_dict().values()) == pytest.approx(1.0)
    assert list(RiskWeights().as_dict()) == list(TERMS)


def test_terms_and_risk_of_a_hand_made_region():
    result = risk_index(region(), params=FIXED)
    t = result.table
    assert t["small_list"].tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0])
    assert t["locum"].tolist() == pytest.approx([0.0, 0.5, 0.1, 0.0])
    assert t["cqc"].tolist() == pytest.approx([0.1, 0.7, 0.0, 1.0])
    assert t["contract"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert t["rurality"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert t["dispensing"].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert t["seniority"].tolist() == [0.0] * 4
    # weights after dropping seniority (0.10): each default / 0.9
    w = {"small_list": 1 / 3, "locum": 2 / 9, "cqc": 2 / 9, "contract": 1 / 9,
         "rurality": 1 / 18, "dispensing": 1 / 18, "seniority": 0.0}
    assert result.weights_used == pytest.approx(w)
    expected = [
        1 / 3 + 2 / 9 * 0.1 + 1 / 18 + 1 / 18,         # A: small, Good, rural, dispensing
        1 / 3 * 0.5 + 2 / 9 * 0.5 + 2 / 9 * 0.7 + 1 / 9,  # B: mid-size, locums, RI, APMS
        2 / 9 * 0.1,                                  # C: large, a little locum, Outstanding
        2 / 9 * 1.0 + 1 / 18,                         # D: large but Inadequate, rural
    ]
    assert t["risk"].tolist() == pytest.approx(expected)
    assert t["high_risk"].tolist() == [True, True, False, False]      # >= 0.35
    assert t["anchor"].tolist() == [False, False, True, False]        # >= 10,000 and <= 0.15
    assert t.index.tolist() == ["A", "B", "C", "D"]
    assert (t["missing"] == "").all()
    assert result.scales["locum"] == 0.2


def test_constant_terms_get_zero_weight_and_the_rest_renormalise():
    frame = region()
    frame["rurality"] = "Urban"
    result = risk_index(frame, params=FIXED)
    assert result.constant_terms == ["rurality", "seniority"]
    assert result.weights_used["rurality"] == 0.0 and result.weights_used["seniority"] == 0.0
    assert sum(result.weights_used.values()) == pytest.approx(1.0)
    assert result.weights_used["small_list"] == pytest.approx(0.30 / 0.85)
    # the constant term is still reported in the table
    assert result.table["rurality"].tolist() == [0.0] * 4


def test_a_varying_seniority_term_is_used():
    frame = region()
    frame["seniority"] = [0.0, 0.0, 0.0, 100.0]
    result = risk_index(frame, params=FIXED)
    assert "seniority" not in result.constant_terms
    assert result.weights_used["seniority"] == pytest.approx(0.10)
    assert result.table["seniority"].tolist() == pytest.approx([0.0, 0.0, 0.0, 1.0])


def test_weights_are_relative_and_zero_weight_drops_a_term():
    doubled = RiskWeights(**{k: 2 * v for k, v in RiskWeights().as_dict().items()})
    a, b = risk_index(region(), doubled, FIXED), risk_index(region(), params=FIXED)
    assert a.table["risk"].tolist() == pytest.approx(b.table["risk"].tolist())
    only_cqc = RiskWeights(small_list=0, locum=0, cqc=1, contract=0, rurality=0, dispensing=0, seniority=0)
    assert risk_index(region(), only_cqc, FIXED).table["risk"].tolist() == pytest.approx([0.1, 0.7, 0.0, 1.0])


def test_a_single_practice_keeps_the_given_weights():
    result = risk_index(region().iloc[:1], params=FIXED)
    assert set(result.constant_terms) == set(TERMS)
    assert result.notes and sum(result.weights_used.values()) == pytest.approx(1.0)
    assert 0.0 <= result.table["risk"].iloc[0] <= 1.0


def test_missing_inputs_are_filled_with_the_region_median_and_reported():
    frame = region()
    frame["cqc_rating"] = ["Good", "Requires improvement", "Outstanding", ""]
    frame.loc["B", "weighted_list"] = np.nan      # locum and seniority lack it
    frame["dispensing"] = pd.array([True, pd.NA, False, False], dtype="boolean")
    result = risk_index(frame, params=FIXED)
    t = result.table
    assert not t[list(TERMS) + ["risk"]].isna().any().any()
    rep = result.missing_report
    assert rep["cqc"].practices == ("D",)
    assert rep["cqc"].fill_value == pytest.approx(0.1)          # median of 0.1, 0.7, 0
    assert "median" in rep["cqc"].treatment
    assert t.at["D", "cqc"] == pytest.approx(0.1)
    assert rep["locum"].practices == ("B",)
    assert rep["locum"].fill_value == pytest.approx(0.0)        # median of 0, 0.1, 0
    assert rep["seniority"].practices == ("B",)
    assert rep["dispensing"].practices == ("B",) and t.at["B", "dispensing"] == 0.0
    assert rep["contract"].practices == () and rep["contract"].fill_value is None
    assert t["missing"].to_dict() == {"A": "", "B": "weighted_list, dispensing", "C": "", "D": "cqc_rating"}


def test_an_absent_column_is_missing_for_everyone_and_so_constant():
    result = risk_index(region().drop(columns=["contract_type"]), params=FIXED)
    assert result.missing_report["contract"].practices == ("A", "B", "C", "D")
    assert "absent" in result.missing_report["contract"].treatment
    assert "contract" in result.constant_terms
    assert (result.table["missing"] == "contract_type").all()


def test_weighted_list_of_zero_counts_as_missing():
    frame = region()
    frame.loc["C", "weighted_list"] = 0.0
    result = risk_index(frame, params=FIXED)
    assert result.missing_report["locum"].practices == ("C",)
    assert result.table.at["C", "missing"] == "weighted_list"


@pytest.mark.parametrize("change,field", [
    (lambda f: f.assign(list_size=[3000, 0, 1, 2]), "list_size"),
    (lambda f: f.assign(list_size=[3000, np.nan, 1, 2]), "list_size"),
    (lambda f: f.assign(practice_code=["A", "A", "C", "D"]), "practice_code"),
    (lambda f: f.drop(columns=["list_size"]), "list_size"),
    (lambda f: f.assign(contract_type=["GMS", "Other", "GMS", "GMS"]), "contract_type"),
    (lambda f: f.iloc[:0], "practice_code"),
])
def test_bad_practice_tables_raise_input_error(change, field):
    with pytest.raises(InputError, match=f"field '{field}'"):
        risk_index(change(region()))


@pytest.mark.parametrize("kwargs,field", [
    ({"small_list_full": 10000, "small_list_none": 4000}, "small_list_full"),
    ({"high_risk_threshold": 1.5}, "high_risk_threshold"),
    ({"scale_quantile": 0.0}, "scale_quantile"),
    ({"locum_scale": -1.0}, "locum_scale"),
])
def test_bad_params_raise(kwargs, field):
    with pytest.raises(InputError, match=f"field '{field}'"):
        RiskParams(**kwargs)


def test_bad_weights_raise():
    with pytest.raises(InputError, match="field 'cqc'"):
        RiskWeights(cqc=-0.1)
    with pytest.raises(InputError, match="all 0"):
        RiskWeights(0, 0, 0, 0, 0, 0, 0)


def test_thresholds_are_parameters():
    result = risk_index(region(), params=RiskParams(locum_scale=0.2, high_risk_threshold=0.5,
                                                     anchor_min_list=11000, anchor_max_risk=0.3))
    assert result.table["high_risk"].tolist() == [False, True, False, False]
    assert result.table["anchor"].tolist() == [False, False, True, False]


# --------------------------------------------------------------------------
# Property: the index is always in [0, 1] and never NaN
# --------------------------------------------------------------------------

maybe_nan = st.one_of(st.just(np.nan), st.floats(0, 2e5))
practice_rows = st.tuples(
    st.integers(1, 40000),                                  # list_size
    maybe_nan,                                              # locum_allowances
    st.one_of(st.just(np.nan), st.just(0.0), st.floats(1, 40000)),  # weighted_list
    maybe_nan,                                              # seniority
    st.sampled_from(["Outstanding", "Good", "Requires improvement", "Inadequate", ""]),
    st.sampled_from(["GMS", "PMS", "APMS", ""]),
    st.sampled_from(["Rural", "Urban", ""]),
    st.sampled_from([True, False, None]),
)
weights = st.lists(st.floats(0, 1), min_size=7, max_size=7).filter(lambda w: sum(w) > 0)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(practice_rows, min_size=1, max_size=15), w=weights)
def test_index_is_in_unit_interval_and_complete(rows, w):
    frame = pd.DataFrame(rows, columns=["list_size", "locum_allowances", "weighted_list", "seniority",
                                        "cqc_rating", "contract_type", "rurality", "dispensing"])
    frame["dispensing"] = pd.array(frame["dispensing"].tolist(), dtype="boolean")
    frame.index = [f"P{i}" for i in range(len(frame))]
    result = risk_index(frame, RiskWeights(*w))
    t = result.table
    values = t[list(TERMS) + ["risk"]]
    assert not values.isna().any().any()
    assert ((values >= 0) & (values <= 1)).all().all()
    assert sum(result.weights_used.values()) == pytest.approx(1.0)
    for term in result.constant_terms:
        assert t[term].nunique() == 1
    if not result.notes:
        assert all(result.weights_used[c] == 0 for c in result.constant_terms)
    # every practice with a gap is named in the report and in its row
    for term, rep in result.missing_report.items():
        for code in rep.practices:
            assert t.at[code, "missing"] != ""


# --------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------


def test_override_replaces_risk_and_keeps_terms():
    base = risk_index(region(), params=FIXED)
    user = pd.Series({"D": 0.05, "C": 0.9, "B": 0.2, "A": 0.4})
    result = risk_index(region(), params=FIXED, override=user)
    assert result.overridden and not base.overridden
    assert result.table["risk"].tolist() == [0.4, 0.2, 0.9, 0.05]
    assert result.table["risk_computed"].tolist() == pytest.approx(base.table["risk"].tolist())
    pd.testing.assert_frame_equal(result.table[list(TERMS)], base.table[list(TERMS)])
    assert result.table["high_risk"].tolist() == [True, False, True, False]
    assert result.table["anchor"].tolist() == [False, False, False, True]  # D: 10,000 and 0.05
    assert apply_override(base, user).table.equals(result.table)


@pytest.mark.parametrize("override,match", [
    (pd.Series({"A": 0.1, "B": 0.2, "C": 0.3}), "no value for 1 practice.*D"),
    (pd.Series({"A": 0.1, "B": 0.2, "C": 0.3, "D": 0.4, "Z": 0.5}), "unknown practice.*Z"),
    (pd.Series({"A": 0.1, "B": 1.2, "C": 0.3, "D": 0.4}), "practice B.*outside \\[0, 1\\]"),
    (pd.Series({"A": 0.1, "B": np.nan, "C": 0.3, "D": 0.4}), "practice B.*not a number"),
    (pd.Series([0.1, 0.2, 0.3, 0.4, 0.5], index=["A", "B", "C", "D", "A"]), "duplicate.*'A'"),
    ({"A": 0.1}, "must be a pandas Series"),
])
def test_override_validation(override, match):
    base = risk_index(region(), params=FIXED)
    with pytest.raises(InputError, match=match):
        apply_override(base, override)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my_risk.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_override_csv(tmp_path):
    path = write(tmp_path, "practice_code,risk,comment\nB,0.2,x\nA,0.4,\nD,0,\nC,1,\n")
    got = read_risk_override_csv(path, ["A", "B", "C", "D"])
    assert got.to_dict() == {"A": 0.4, "B": 0.2, "C": 1.0, "D": 0.0}
    assert got.index.tolist() == ["A", "B", "C", "D"]
    result = risk_index(region(), params=FIXED, override=got)
    assert result.table["risk"].tolist() == [0.4, 0.2, 1.0, 0.0]


@pytest.mark.parametrize("text,row,field,words", [
    ("practice_code,risk\nA,0.1\nZ,0.2\nB,0.3\nC,0.3\nD,0.3\n", 3, "practice_code", "unknown practice code 'Z'"),
    ("practice_code,risk\nA,0.1\nB,0.2\nC,0.3\nB,0.2\nD,0.4\n", 5, "practice_code", "duplicate 'B'"),
    ("practice_code,risk\nA,0.1\nB,0.2\nC,1.5\nD,0.4\n", 4, "risk", "above the maximum 1"),
    ("practice_code,risk\nA,0.1\nB,-0.2\nC,0.5\nD,0.4\n", 3, "risk", "below the minimum 0"),
    ("practice_code,risk\nA,0.1\nB,high\nC,0.5\nD,0.4\n", 3, "risk", "'high' is not a number"),
    ("practice_code,risk\nA,0.1\nB,\nC,0.5\nD,0.4\n", 3, "risk", "is empty"),
    ("practice_code,score\nA,0.1\n", 1, "risk", "missing column"),
])
def test_read_override_csv_errors_name_file_row_and_field(tmp_path, text, row, field, words):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_risk_override_csv(path, ["A", "B", "C", "D"])
    message = str(err.value)
    assert "my_risk.csv" in message
    assert f"row {row}" in message
    assert f"field '{field}'" in message
    assert words in message
    assert (err.value.file, err.value.row, err.value.field) == ("my_risk.csv", row, field)


def test_read_override_csv_names_missing_practices(tmp_path):
    path = write(tmp_path, "practice_code,risk\nA,0.1\nC,0.3\n")
    with pytest.raises(InputError) as err:
        read_risk_override_csv(path, ["A", "B", "C", "D"])
    message = str(err.value)
    assert "my_risk.csv" in message and "field 'practice_code'" in message
    assert "no row for 2 practice(s): B, D" in message


# --------------------------------------------------------------------------
# The embedded SSOT atlas
# --------------------------------------------------------------------------


def test_real_atlas_seniority_is_constant_and_four_practices_lack_cqc():
    practices = load_atlas().practices
    result = risk_index(practices)
    t = result.table
    assert len(t) == len(practices) == 141
    assert "seniority" in result.constant_terms
    assert result.weights_used["seniority"] == 0.0
    assert sum(result.weights_used.values()) == pytest.approx(1.0)
    assert len(result.missing_report["cqc"].practices) == 4
    assert set(result.missing_report["cqc"].practices) == set(practices.index[practices["cqc_rating"] == ""])
    assert (t["missing"] == "cqc_rating").sum() == 4 and (t["missing"] != "").sum() == 4
    assert not t[list(TERMS) + ["risk"]].isna().any().any()
    assert t["risk"].between(0, 1).all()
    # the defaults were chosen on this distribution (docs/risk.md): keep them sensible
    assert 20 <= t["high_risk"].sum() <= 40
    assert 30 <= t["anchor"].sum() <= 50
