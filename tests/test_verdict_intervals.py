"""Verdict readers never show a number the data do not support: unidentified finite-size fits
are null with a reason, and intervals on rates lie in [0, 1]."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numerics.estimation.estimate import finite_size_fit
from numerics.verdicts.rademacher import TASKS, error_counts, rate_interval
from numerics.verdicts.capacity import fit_view, ledger_entries, unidentified_reason

RESULTS = Path(__file__).resolve().parent.parent / "results"


def test_free_fit_with_exponent_on_its_bound_is_null_with_a_reason():
    ns = [8, 16, 32, 64]
    fs = finite_size_fit(ns, [1.0, 1.001, 0.999, 1.0], [0.01] * 4)
    d = fs.free.to_dict()
    # Property: points that do not move with the size leave 1/nu on its bound; the free fit is
    # then reported without rho_inf, interval, se, a or nu, and says why.
    assert d["identified"] is False and "bound" in d["reason"]
    assert d["rho_inf"] is None and d["interval"] == [None, None] and d["nu"] is None
    # Property: the fit the verdict uses is then the nu = 1 fit, which is identified.
    assert fs.best().model == "nu = 1" and fs.best().to_dict()["identified"] is True
    # Property: the same reading applies to a dict of an old summary holding the numbers.
    assert unidentified_reason(d) == d["reason"]


def test_identified_free_fit_keeps_its_numbers():
    ns = [8, 16, 32, 64]
    d = finite_size_fit(ns, [1.3 + 2 / n for n in ns], [0.01] * 4).free.to_dict()
    assert d["identified"] is True and d["rho_inf"] == pytest.approx(1.3, abs=1e-6)
    assert fit_view(d)["rho_inf"] == d["rho_inf"]


def test_committed_unidentified_fits_are_read_as_null():
    entries = {e["id"]: e for e in ledger_entries(RESULTS)}
    group = next(g for g in entries["R1.cstar.E2.p0.5.headline-lm"]["groups"]
                 if (g["r"], g["aspect"]) == (1, "1:1"))
    # Property: the committed summary stores this free fit as rho_inf = 0.83 with interval
    # [-10.9, 12.6] and nu on its cap; the ledger shows it as unidentified, without numbers.
    summary = json.loads((RESULTS / "cstar" / "headline-lm" / "summary.json").read_text())
    stored = next(f for f in summary["estimands"]["E2"]["finite_size"]
                  if (f["r"], f["aspect"], f["p"]) == (1, "1:1", 0.5))["fit"]["free"]
    assert stored["rho_inf"] is not None
    assert group["free_nu"] == {"model": "free nu", "rho_inf": None, "interval": None,
                                "identified": False, "reason": group["free_nu"]["reason"]}
    assert "bound" in group["free_nu"]["reason"]
    # Property: no group of any C* entry shows a number for an unidentified fit.
    for e in entries.values():
        for g in e.get("groups", []):
            for view in (g["fit"], g["free_nu"]):
                if view is not None and not view["identified"]:
                    assert view["rho_inf"] is None and view["interval"] is None and view["reason"]


@pytest.mark.parametrize("run", ["cpu-256", "cpu-default"])
def test_rate_intervals_of_committed_errors_lie_in_0_1(run):
    s = json.loads((RESULTS / "rademacher" / run / "summary.json").read_text())
    checked = 0
    for e in (e for e in s["estimates"] if "per_rank" in e):
        classes = TASKS[e["task"]].classes
        for x in e["per_rank"]:
            for key, points in (("test_error", s["sizes"]["n_test_per_class"] * classes),
                                ("train_error", e["n_train"] * classes)):
                k, n = error_counts(x[key], points)
                lo, hi = rate_interval(k, n)
                # Property: the Wilson interval of a rate lies in [0, 1] and holds the rate.
                assert 0.0 <= lo <= x[key]["mean"] <= hi <= 1.0
                checked += 1
    assert checked > 0


def test_wilson_stays_in_0_1_where_the_t_interval_does_not():
    s = json.loads((RESULTS / "rademacher" / "cpu-256" / "summary.json").read_text())
    bad = [(e, x["train_error"]) for e in s["estimates"] if "per_rank" in e
           for x in e["per_rank"] if x["train_error"]["lo"] is not None and x["train_error"]["lo"] < 0]
    # Property: the committed Student-t intervals of some error rates reach below 0; the
    # Wilson interval of the same counts does not.
    assert bad
    for e, stats in bad:
        lo, hi = rate_interval(*error_counts(stats, e["n_train"] * TASKS[e["task"]].classes))
        assert lo >= 0.0 and hi <= 1.0


def test_error_counts_refuses_a_mean_that_is_not_a_count():
    with pytest.raises(ValueError, match="not a count"):
        error_counts({"mean": 0.1234567, "n": 3}, 7)
