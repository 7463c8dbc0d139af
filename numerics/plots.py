"""Figures of a capacity summary: the phase transition and the finite-size extrapolation.

Figures are drawn on ``matplotlib.figure.Figure`` objects with the Agg canvas, never through
pyplot, so importing this module changes no global backend (a notebook keeps its own) and works
without a display. They are read from a summary dict (:func:`numerics.sweep.summarise`), so a
notebook draws them from committed records without running anything.

Examples
--------
>>> import tempfile, os
>>> from numerics.sweep import Experiment, run_experiment, summarise
>>> def fake(cell, idx):
...     rng = np.random.default_rng([cell.M, 1])
...     p = 1 / (1 + (1.35 / cell.rho) ** 12)
...     return [{"trial": i, "restart_success": [bool(rng.random() < p)]} for i in idx]
>>> exp = Experiment("lm", [(8, 8, 1), (16, 16, 1)], rho_grid=[1.0, 1.2, 1.4, 1.6, 1.8],
...                  trials_per_cell=20, restarts=1)
>>> d = tempfile.mkdtemp()
>>> s = summarise(exp, run_experiment(exp, fake, os.path.join(d, "r"), progress=False))
>>> paths = save_figure(phase_transition_figure(s), os.path.join(d, "cstar"))
>>> sorted(p.suffix for p in paths)
['.pdf', '.png']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import special

from proofs.validation import InvalidArgument

__all__ = ["default_variant", "phase_transition_figure", "finite_size_figure", "save_figure",
           "plot_summary"]

_CLAIM_STYLE = {"color": "crimson", "linestyle": "--", "linewidth": 1.2}
_ONE_STYLE = {"color": "0.35", "linestyle": ":", "linewidth": 1.2}


def _check_summary(summary) -> dict:
    if not isinstance(summary, dict) or "estimands" not in summary:
        raise InvalidArgument(f"summary must be a dict from numerics.sweep.summarise, got "
                              f"{type(summary).__name__}")
    return summary


def default_variant(summary: dict) -> str:
    """The headline estimand variant: E1 with the most restarts, or E3 at the largest budget.

    >>> default_variant({"estimands": {"E2": {}, "E1[k=1]": {}, "E1[k=4]": {}}})
    'E1[k=4]'
    >>> default_variant({"estimands": {"E3[T=10,eps=0.001]": {}, "E3[T=100,eps=0.001]": {}}})
    'E3[T=100,eps=0.001]'
    """
    names = list(_check_summary(summary)["estimands"])
    if not names:
        raise InvalidArgument("summary has no estimands")
    e1 = [n for n in names if n.startswith("E1[")]
    if e1:
        return max(e1, key=lambda n: int(n[len("E1[k="):-1]))
    return names[-1]


def _variant(summary, variant):
    summary = _check_summary(summary)
    name = default_variant(summary) if variant is None else variant
    if name not in summary["estimands"]:
        raise InvalidArgument(f"variant must be one of {sorted(summary['estimands'])}, got "
                              f"{variant!r}")
    return name, summary["estimands"][name]


def _curve(fit: dict, rho: np.ndarray) -> np.ndarray:
    b0, b1 = fit["coef"]
    t = np.log(rho) if fit["scale"] == "log" else rho
    eta = b0 + b1 * t
    return special.expit(eta) if fit["link"] == "logit" else special.ndtr(eta)


def _claim(summary) -> float:
    return float(summary.get("claim", {}).get("value", 1.35))


def phase_transition_figure(summary: dict, variant: str | None = None) -> Figure:
    """Success probability against ``rho`` per size: Wilson bars, fitted GLM curves, and
    vertical lines at the claimed C* (1.35) and at ``rho = 1``.

    Parameters
    ----------
    summary : dict
        From :func:`numerics.sweep.summarise` (or its JSON file, loaded).
    variant : str, optional
        Estimand variant, e.g. ``"E2"`` or ``"E1[k=4]"``; default :func:`default_variant`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> s = {"claim": {"value": 1.35}, "estimands": {"E2": {"sizes": [{"m": 4, "n": 4, "r": 1,
    ...      "cells": [{"rho": 1.0, "trials": 4, "successes": 1, "p_hat": 0.25,
    ...                 "wilson": [0.05, 0.7]}], "fit": None}]}}}
    >>> len(phase_transition_figure(s, "E2").axes)
    1
    """
    name, est = _variant(summary, variant)
    fig = Figure(figsize=(9.0, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colors = [f"C{i % 10}" for i in range(len(est.get("sizes", [])))]
    rho_all = []
    for color, size in zip(colors, est.get("sizes", [])):
        rows = [c for c in size["cells"] if c.get("trials")]
        if not rows:
            continue
        rho = np.array([c["rho"] for c in rows])
        p = np.array([c["p_hat"] for c in rows])
        lo = np.array([c["wilson"][0] for c in rows])
        hi = np.array([c["wilson"][1] for c in rows])
        rho_all.extend(rho.tolist())
        label = f"{size['m']}x{size['n']}, r={size['r']}"
        ax.errorbar(rho, p, yerr=[p - lo, hi - p], fmt="o", ms=4, color=color, capsize=2,
                    label=label)
        fit = size.get("fit")
        if fit and not fit.get("degenerate") and None not in fit["coef"]:
            grid = np.linspace(rho.min(), rho.max(), 200)
            ax.plot(grid, _curve(fit, grid), color=color, linewidth=1.3)
    claim = _claim(summary)
    ax.axvline(claim, label=f"claimed C* = {claim:g}", **_CLAIM_STYLE)
    ax.axvline(1.0, label="rho = 1 (necessary)", **_ONE_STYLE)
    ax.set_xlabel("rho = r (m + n - r) / KN")
    ax.set_ylabel("success probability")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(f"Phase transition, {name}")
    handles = len(ax.get_legend_handles_labels()[0])
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=1 + handles // 14,
              frameon=False)
    ax.grid(alpha=0.3)
    return fig


def finite_size_figure(summary: dict, variant: str | None = None, p: float = 0.5) -> Figure:
    """Transitions ``C*(p)`` against ``1/n`` (``n = min(m, n)``) per (rank, aspect), with the
    free-``nu`` and ``nu = 1`` fits extrapolated to ``1/n = 0`` and the interval of
    ``rho_inf`` there; a horizontal line at the claimed C*.

    Examples
    --------
    >>> s = {"estimands": {"E2": {"finite_size": []}}}
    >>> finite_size_figure(s, "E2").axes[0].get_xlabel()
    '1 / min(m, n)'
    """
    name, est = _variant(summary, variant)
    fig = Figure(figsize=(9.0, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    items = [it for it in est.get("finite_size", []) if abs(it["p"] - p) < 1e-12 and it.get("fit")]
    for i, item in enumerate(items):
        color = f"C{i % 10}"
        fs = item["fit"]
        n = np.array(fs["sizes"], dtype=float)
        y = np.array(fs["rho_c"])
        e = np.array(fs["stderr"])
        z = float(special.ndtri(0.5 + fs.get("confidence", 0.95) / 2))
        ax.errorbar(1 / n, y, yerr=z * e, fmt="o", color=color, capsize=2,
                    label=f"r={item['r']}, aspect {item['aspect']}")
        x = np.linspace(0, 1 / n.min(), 200)
        for key, style in (("free", "-"), ("fixed_nu1", ":")):
            f = fs.get(key)
            if not f or f.get("rho_inf") is None or f.get("nu") is None:
                continue
            ax.plot(x, f["rho_inf"] + f["a"] * x ** (1 / f["nu"]), style, color=color,
                    linewidth=1.1)
        best = fs.get("free") or fs.get("fixed_nu1")
        if best and None not in best["interval"]:
            lo, hi = best["interval"]
            ax.errorbar([0.0], [best["rho_inf"]], yerr=[[best["rho_inf"] - lo],
                                                        [hi - best["rho_inf"]]],
                        fmt="s", color=color, capsize=3)
    claim = _claim(summary)
    ax.axhline(claim, label=f"claimed C* = {claim:g}", **_CLAIM_STYLE)
    ax.set_xlabel("1 / min(m, n)")
    ax.set_ylabel(f"C*({p:g})")
    ax.set_xlim(left=-0.005)
    ax.set_title(f"Finite-size extrapolation, {name} (solid: free nu, dotted: nu = 1)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(alpha=0.3)
    return fig


def save_figure(fig: Figure, stem) -> list[Path]:
    """Save ``fig`` as ``stem.png`` (150 dpi) and ``stem.pdf``; return both paths.

    >>> import tempfile, os
    >>> fig = Figure(); _ = fig.add_subplot().plot([0, 1])
    >>> [p.name for p in save_figure(fig, os.path.join(tempfile.mkdtemp(), "f"))]
    ['f.png', 'f.pdf']
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for suffix, kw in ((".png", {"dpi": 150}), (".pdf", {})):
        path = stem.with_name(stem.name + suffix)
        fig.savefig(path, **kw)
        out.append(path)
    return out


def plot_summary(summary: dict, stem, variant: str | None = None) -> list[Path]:
    """Write the phase-transition figure (``stem``) and the finite-size figure
    (``stem-finite-size``), PNG and PDF each, for one variant.

    >>> import tempfile, os
    >>> s = {"estimands": {"E2": {"sizes": [], "finite_size": []}}}
    >>> len(plot_summary(s, os.path.join(tempfile.mkdtemp(), "c")))
    4
    """
    stem = Path(stem)
    paths = save_figure(phase_transition_figure(summary, variant), stem)
    paths += save_figure(finite_size_figure(summary, variant),
                         stem.with_name(stem.name + "-finite-size"))
    return paths
