"""The two readings of C* (crossing, sufficiency), the equivalence test behind "supported",
the extrapolation discipline (no interval from a 0-df fit, largest-size fallback for a fit that
fails its test) and the E3 constant that is ``undefined`` across (T, eps)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lorank.ledger import STATUSES, failures
from numerics.estimation.estimate import extrapolation_problem, finite_size_fit
from numerics.verdicts.capacity import (EQUIVALENCE_MARGIN, e3_constant, group_reading,
                                        group_status, ledger_entries, sufficiency_test)

RESULTS = Path(__file__).resolve().parent.parent / "results"


def _cells(*counts, rho=1.4, trials=200):
    return [{"rho": rho + 0.01 * i, "successes": k, "trials": trials} for i, k in enumerate(counts)]


# --- sufficiency ---------------------------------------------------------------------------

def test_sufficiency_all_cells_200_of_200_is_supported():
    # Property: 200/200 has a one-sided 95% Clopper-Pearson lower bound 0.05^(1/200) = 0.985
    # >= 0.95 in every cell, so the intersection-union test supports sufficiency.
    assert sufficiency_test(_cells(200, 200, 200), 1.35)["status"] == "supported"


def test_sufficiency_one_cell_150_of_200_is_contradicted():
    # Property: 150/200 has an upper bound near 0.81 even with the Bonferroni correction, < 0.95.
    assert sufficiency_test(_cells(200, 150, 200), 1.35)["status"] == "contradicted"


def test_sufficiency_one_cell_195_of_200_is_open():
    # Property: 195/200 has lower bound 0.948 < 0.95 (not evidence for) and upper bound > 0.95
    # (not evidence against): open.
    assert sufficiency_test(_cells(200, 195, 200), 1.35)["status"] == "open"


def test_sufficiency_ignores_cells_below_the_claim_and_e1_never_contradicts():
    cells = _cells(200, 200) + [{"rho": 1.2, "successes": 0, "trials": 200}]
    # Property: a failing cell below 1.35 is not part of the claim.
    assert sufficiency_test(cells, 1.35)["status"] == "supported"
    # Property: a lower-bound estimand (E1) cannot contradict: 150/200 leaves it open.
    assert sufficiency_test(_cells(200, 150), 1.35, can_contradict=False)["status"] == "open"
    # Property: with no cell at or above the claim there is nothing to test.
    assert sufficiency_test([{"rho": 1.0, "successes": 200, "trials": 200}], 1.35)["status"] == "open"


# --- crossing: TOST --------------------------------------------------------------------------

def _summary_with(interval, pvalue=0.5, df=2, largest=(64, 64), bracket=(0.98, 1.02)):
    size = {"m": largest[0], "n": largest[1], "r": 1, "aspect": "1:1", "cells": [], "fit": None,
            "brackets": [{"p": 0.5, "bracket": list(bracket)}]}
    group = {"r": 1, "aspect": "1:1", "p": 0.5,
             "fit": {"free": None, "fixed_nu1": {"model": "nu = 1", "nu": 1.0, "nu_fixed": True,
                                                 "rho_inf": sum(interval) / 2, "interval": list(interval),
                                                 "se": 0.01, "df": df, "chi2": 1.0, "pvalue": pvalue,
                                                 "identified": True}}}
    return {"estimands": {"E2": {"family": "E2", "sizes": [size], "finite_size": [group]}}}, group


@pytest.mark.parametrize("interval, position", [
    ((1.31, 1.39), "equivalent"),   # inside 1.35 +- 0.05: both one-sided tests reject
    ((1.20, 1.50), "inside"),       # contains 1.35 but wider than the margin: consistent only
    ((1.36, 1.39), "below"),        # excludes 1.35
])
def test_crossing_position_needs_the_equivalence_margin(interval, position):
    summary, group = _summary_with(interval)
    assert group_reading(summary, "E2", group, 1.35)["position"] == position


def test_supported_requires_equivalence_in_every_group():
    assert EQUIVALENCE_MARGIN == 0.05
    # Property: "inside" alone is never "supported"; all groups equivalent is.
    assert group_status(["equivalent", "inside"]) == "open"
    assert group_status(["equivalent", "equivalent"]) == "supported"
    assert group_status(["above", "inside"]) == "open"


# --- extrapolation discipline -----------------------------------------------------------------

def test_zero_df_fits_are_reported_null_with_a_reason():
    two = finite_size_fit([8, 16], [1.5, 1.45], [0.01, 0.01]).fixed_nu1.to_dict()
    three = finite_size_fit([8, 16, 32], [1.5, 1.44, 1.41], [0.01] * 3).free.to_dict()
    for d in (two, three):
        # Property: a fit with 0 degrees of freedom has no rho_inf and no interval, and says why.
        assert d["df"] == 0 and d["identified"] is False
        assert d["rho_inf"] is None and d["interval"] == [None, None] and "0 degrees" in d["reason"]
    # Property: with 3 sizes the nu = 1 fit keeps 1 df and is usable when it fits.
    fixed3 = finite_size_fit([8, 16, 32], [1.3 + 1 / 8, 1.3 + 1 / 16, 1.3 + 1 / 32], [0.01] * 3).fixed_nu1
    assert fixed3.df == 1 and extrapolation_problem(fixed3) is None


def test_a_zero_df_fit_stored_in_an_old_summary_is_not_used():
    summary, group = _summary_with((1.31, 1.39), df=0, pvalue=None)
    rd = group_reading(summary, "E2", group, 1.35)
    # Property: the stored numbers of a 0-df fit are ignored; the largest size decides.
    assert rd["fallback"] and "0 degrees" in rd["fallback"] and rd["fit"]["interval"] is None
    assert rd["route"].startswith("largest size 64x64") and rd["position"] == "above"


def test_a_misfitting_extrapolation_falls_back_to_the_largest_size():
    summary, group = _summary_with((1.31, 1.39), pvalue=0.001)
    rd = group_reading(summary, "E2", group, 1.35)
    # Property: a fit failing its chi2 test gives no interval; the largest size's own bracket
    # (0.98, 1.02] decides, and the reading says it is a fallback.
    assert "fails its test" in rd["fallback"] and rd["interval"] == [0.98, 1.02]
    assert rd["position"] == "above" and "fallback to the largest size 64x64" in rd["sentence"]


def test_committed_e2_median_falls_back_and_no_group_uses_a_zero_df_fit():
    entries = {e["id"]: e for e in ledger_entries(RESULTS)}
    e = entries["R1.cstar.E2.p0.5.headline-lm"]
    g = next(g for g in e["groups"] if (g["r"], g["aspect"]) == (1, "1:1"))
    # Property: the nu = 1 extrapolation misfits (p = 0.0057), so the group rests on the
    # largest size, which excludes 1.35: every group does, so the entry is contradicted.
    assert g["fallback"] and "fails its test" in g["fallback"] and g["route"].startswith("largest size 128x128")
    assert e["status"] == "contradicted"
    for entry in entries.values():
        for grp in entry.get("groups", []):
            if grp["fallback"] is None:
                assert "size limit" in grp["route"] and grp["fit"]["identified"]


# --- E3 across (T, eps) ---------------------------------------------------------------------

def _e3_variant(T, brackets):
    sizes = [{"m": m, "n": m, "r": 1, "aspect": "1:1", "cells": [], "fit": None,
              "brackets": [{"p": 0.5, "bracket": list(b)}]} for m, b in brackets.items()]
    return {"family": "E3", "params": {"T": T, "eps": 1e-3}, "sizes": sizes, "finite_size": []}


def test_e3_is_undefined_when_the_transition_grows_with_size_and_falls_with_t():
    s = {"estimands": {"E3[T=10]": _e3_variant(10, {8: (2.0, 2.2), 32: (3.0, 3.2)}),
                       "E3[T=100]": _e3_variant(100, {8: (1.2, 1.3), 32: (1.6, 1.7)})}}
    got = e3_constant(s, 0.5)
    assert got["status"] == "undefined" and got["grows"] and got["falls"]
    # Property: without the size drift (same transition at both sizes) it is not undefined.
    flat = {"estimands": {"E3[T=10]": _e3_variant(10, {8: (2.0, 2.2), 32: (2.0, 2.2)}),
                          "E3[T=100]": _e3_variant(100, {8: (1.2, 1.3), 32: (1.2, 1.3)})}}
    assert e3_constant(flat, 0.5)["status"] != "undefined"


def test_committed_e3_crossing_is_undefined_and_not_a_failure():
    entries = [e for e in ledger_entries(RESULTS) if e["id"].startswith("R1.cstar.E3.")]
    assert entries and all(e["status"] == "undefined" for e in entries)
    assert "undefined" in STATUSES and failures(entries) == []
    # Property: every entry says which reading it tests.
    assert all(e["reading"] == "crossing" and "Crossing reading" in e["statement"] for e in entries)
