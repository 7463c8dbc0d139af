"""Figures drawn from summary dicts: what each panel shows when the GLM is degenerate, the
trend's axes, and the files ``plot_summary`` writes. Small hand-made summaries, no solver runs."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from numerics.estimation.plots import (default_variant, finite_size_figure, plot_summary,  # noqa: E402
                            trend_figure)
from proofs.validation import InvalidArgument  # noqa: E402


def _size(m, n, r, bracket, fit=None):
    return {"m": m, "n": n, "r": r, "fit": fit or {"degenerate": True},
            "brackets": [{"p": 0.5, "bracket": list(bracket)}], "cells": [], "verdicts": []}


def _glm(rho, lo, hi):
    return {"degenerate": False, "link": "logit", "scale": "log", "coef": [0.0, 50.0],
            "points": [{"p": 0.5, "rho": rho, "profile": [lo, hi]}]}


def _summary(sizes, finite_size=(), trends=(), names=("E2",)):
    est = {"sizes": sizes, "finite_size": list(finite_size)}
    return {"claim": {"value": 1.35}, "estimands": {n: est for n in names},
            "trends": list(trends), "experiment": {"rho_grid": [0.9, 1.0, 1.1, 2.0]}}


def _fs_item(sizes, fit=None):
    return {"r": 1, "aspect": "1:1", "p": 0.5, "fit": fit,
            "brackets_by_size": [{"m": s["m"], "n": s["n"], "bracket": s["brackets"][0]["bracket"]}
                                 for s in sizes]}


def _segments(ax):
    """Vertical two-point lines of an axes, as (x, y0, y1)."""
    out = []
    for line in ax.get_lines():
        x, y = line.get_xdata(), line.get_ydata()
        if len(x) == 2 and x[0] == x[1]:
            out.append((float(x[0]), float(min(y)), float(max(y))))
    return out


def test_degenerate_fits_still_show_every_bracket():
    # Property: with every GLM degenerate, each size's grid bracket is drawn at 1/min(m, n).
    sizes = [_size(8, 8, 1, (0.98, 1.0)), _size(16, 16, 1, (0.99, 1.0)),
             _size(32, 32, 1, (0.995, 1.0))]
    fig = finite_size_figure(_summary(sizes, [_fs_item(sizes)]), "E2")
    (ax,) = fig.axes
    segs = _segments(ax)
    assert len(segs) == 3
    centres = sorted(x for x, _, _ in segs)
    # drawn just left of 1/n, so that a GLM point can sit just right of it
    assert np.allclose(centres, sorted(1 / n for n in (8, 16, 32)), atol=0.01)
    assert sorted((y0, y1) for _, y0, y1 in segs) == [(0.98, 1.0), (0.99, 1.0), (0.995, 1.0)]
    # the claim and the dimension count are both in view
    lo, hi = ax.get_ylim()
    assert lo < 1.0 and hi > 1.35


def test_open_bracket_side_runs_to_the_axis_edge():
    sizes = [_size(8, 8, 1, (1.1, None)), _size(16, 16, 1, (None, 1.0))]
    ax = finite_size_figure(_summary(sizes, [_fs_item(sizes)]), "E2").axes[0]
    lo, hi = ax.get_ylim()
    segs = {round(x, 3): (y0, y1) for x, y0, y1 in _segments(ax)}
    up = segs[min(segs, key=lambda x: abs(x - 1 / 8))]
    down = segs[min(segs, key=lambda x: abs(x - 1 / 16))]
    assert up == (1.1, hi)
    assert down == (lo, 1.0)


def test_finite_glm_points_are_drawn_beside_brackets():
    sizes = [_size(8, 8, 1, (1.0, 1.1), _glm(1.05, 1.04, 1.06)),
             _size(16, 16, 1, (1.0, 1.1), _glm(1.03, 1.02, 1.04))]
    fig = finite_size_figure(_summary(sizes, [_fs_item(sizes)]), "E2")
    markers = [line for line in fig.axes[0].get_lines() if line.get_marker() == "o"]
    assert sorted(float(line.get_ydata()[0]) for line in markers) == [1.03, 1.05]


def test_trend_uses_glm_where_finite_and_bracket_midpoint_otherwise():
    sizes_k1 = [_size(8, 8, 1, (1.0, 1.1), _glm(1.05, 1.04, 1.06))]
    sizes_k2 = [_size(8, 8, 1, (0.9, 1.0))]
    s = {"claim": {"value": 1.35},
         "estimands": {"E1[k=1]": {"sizes": sizes_k1}, "E1[k=2]": {"sizes": sizes_k2}},
         "trends": [{"axis": "restarts k", "m": 8, "n": 8, "r": 1, "p": 0.5, "points": [
             {"x": 1, "variant": "E1[k=1]"}, {"x": 2, "variant": "E1[k=2]"}]}]}
    ax = trend_figure(s).axes[0]
    joined = [line for line in ax.get_lines() if len(line.get_xdata()) == 2
              and line.get_xdata()[0] != line.get_xdata()[1]]
    ys = [list(map(float, line.get_ydata())) for line in joined]
    assert [1.05, 0.95] in [[round(v, 10) for v in y] for y in ys]
    labels = [t.get_text() for t in trend_figure(s).legends[0].get_texts()]
    assert any("bracket" in t and "degenerate" in t for t in labels)


def test_trend_against_budget_is_logarithmic():
    sizes = [_size(8, 8, 1, (1.0, 1.1))]
    s = {"claim": {"value": 1.35},
         "estimands": {"E3[T=100,eps=0.001]": {"sizes": sizes},
                       "E3[T=1000,eps=0.001]": {"sizes": sizes}},
         "trends": [{"axis": "budget T", "eps": 0.001, "m": 8, "n": 8, "r": 1, "p": 0.5,
                     "points": [{"x": 100, "variant": "E3[T=100,eps=0.001]"},
                                {"x": 1000, "variant": "E3[T=1000,eps=0.001]"}]}]}
    assert trend_figure(s).axes[0].get_xscale() == "log"


def test_default_variant_parses_budgets():
    names = ["E3[T=10000,eps=0.001]", "E3[T=300,eps=0.001]", "E3[T=3000,eps=1e-06]"]
    assert default_variant({"estimands": dict.fromkeys(names, {})}) == "E3[T=10000,eps=0.001]"
    with pytest.raises(InvalidArgument):
        default_variant({"estimands": {}})


def test_plot_summary_writes_three_figures(tmp_path):
    sizes = [_size(8, 8, 1, (0.98, 1.0))]
    paths = plot_summary(_summary(sizes, [_fs_item(sizes)]), tmp_path / "phase_transition")
    names = sorted(p.name for p in paths)
    assert names == sorted(f"phase_transition{s}{e}" for s in ("", "-finite-size", "-trend")
                           for e in (".png", ".pdf"))
    assert all(p.stat().st_size > 0 for p in paths)
