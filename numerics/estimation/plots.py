"""Figures of a capacity summary: the phase transition and the finite-size extrapolation.

Figures are drawn on ``matplotlib.figure.Figure`` objects with the Agg canvas, never through
pyplot, so importing this module changes no global backend (a notebook keeps its own) and works
without a display. They are read from a summary dict (:func:`numerics.estimation.sweep.summarise`), so a
notebook draws them from committed records without running anything.

Examples
--------
>>> import tempfile, os
>>> from numerics.estimation.sweep import Experiment, cells, summarise
>>> def fake(cell, idx):
...     rng = np.random.default_rng([cell.M, 1])
...     p = 1 / (1 + (1.35 / cell.rho) ** 12)
...     return [{"trial": i, "restart_success": [bool(rng.random() < p)]} for i in idx]
>>> exp = Experiment("lm", [(8, 8, 1), (16, 16, 1)], rho_grid=[1.0, 1.2, 1.4, 1.6, 1.8],
...                  trials_per_cell=20, restarts=1)
>>> d = tempfile.mkdtemp()
>>> s = summarise(exp, {c: fake(c, range(20)) for c in cells(exp)})
>>> paths = save_figure(phase_transition_figure(s), os.path.join(d, "cstar"))
>>> sorted(p.suffix for p in paths)
['.pdf', '.png']
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import special

from proofs.claims import CLAIMED_CSTAR
from proofs.validation import InvalidArgument

__all__ = ["default_variant", "phase_transition_figure", "finite_size_figure", "trend_figure",
           "save_figure", "plot_summary", "exact_existence_figure", "plot_exact_existence",
           "exact_above_figure", "plot_exact_above"]

_CLAIM_STYLE = {"color": "crimson", "linestyle": "--", "linewidth": 1.2}
_ONE_STYLE = {"color": "0.35", "linestyle": ":", "linewidth": 1.2}


def _check_summary(summary) -> dict:
    if not isinstance(summary, dict) or "estimands" not in summary:
        raise InvalidArgument(f"summary must be a dict from numerics.estimation.sweep.summarise, got "
                              f"{type(summary).__name__}")
    return summary


def default_variant(summary: dict) -> str:
    """The headline estimand variant: E1 with the most restarts, or E3 at the largest budget
    (and, at that budget, the loosest ``eps``); otherwise the last name.

    Names are parsed, not sorted as strings (``"T=3000"`` sorts after ``"T=10000"``).

    >>> default_variant({"estimands": {"E2": {}, "E1[k=1]": {}, "E1[k=4]": {}}})
    'E1[k=4]'
    >>> default_variant({"estimands": {"E3[T=10000,eps=1e-06]": {}, "E3[T=10000,eps=0.001]": {},
    ...                                "E3[T=3000,eps=0.001]": {}}})
    'E3[T=10000,eps=0.001]'
    """
    names = list(_check_summary(summary)["estimands"])
    if not names:
        raise InvalidArgument("summary has no estimands")
    e1 = [n for n in names if re.fullmatch(r"E1\[k=\d+\]", n)]
    if e1:
        return max(e1, key=lambda n: int(n[len("E1[k="):-1]))
    e3 = [m for m in map(_E3_NAME.fullmatch, names) if m]
    if e3:
        return max(e3, key=lambda m: (int(m["T"]), float(m["eps"])))[0]
    return names[-1]


_E3_NAME = re.compile(r"E3\[T=(?P<T>\d+),eps=(?P<eps>[^\]]+)\]")


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
    return float(summary.get("claim", {}).get("value", CLAIMED_CSTAR.as_float))


def draw_success_curves(ax, est: dict) -> list:
    """Per size of an estimand variant: the success rate per cell with Wilson bars and the fitted
    GLM curve, in one colour per size. Returns ``(size, colour)`` for each size drawn.

    >>> fig = Figure(); ax = fig.add_subplot()
    >>> est = {"sizes": [{"m": 4, "n": 4, "r": 1, "fit": None, "cells": [{"rho": 1.0, "trials": 4,
    ...        "successes": 1, "p_hat": 0.25, "wilson": [0.05, 0.7]}]}]}
    >>> [(s["m"], c) for s, c in draw_success_curves(ax, est)]
    [(4, 'C0')]
    """
    drawn = []
    for i, size in enumerate(est.get("sizes", [])):
        # 10 colours, then the next marker: no two sizes share colour and marker up to 50
        color, marker = f"C{i % 10}", "osD^v"[i // 10 % 5]
        rows = [c for c in size["cells"] if c.get("trials")]
        if not rows:
            continue
        rho = np.array([c["rho"] for c in rows])
        p = np.array([c["p_hat"] for c in rows])
        lo = np.array([c["wilson"][0] for c in rows])
        hi = np.array([c["wilson"][1] for c in rows])
        ax.errorbar(rho, p, yerr=[p - lo, hi - p], fmt=marker, ms=4, color=color, capsize=2,
                    label=f"{size['m']}x{size['n']}, r={size['r']}")
        fit = size.get("fit")
        if fit and not fit.get("degenerate") and None not in fit["coef"]:
            grid = np.linspace(rho.min(), rho.max(), 200)
            ax.plot(grid, _curve(fit, grid), color=color, linewidth=1.3)
        drawn.append((size, color))
    return drawn


def phase_transition_figure(summary: dict, variant: str | None = None) -> Figure:
    """Success probability against ``rho`` per size: Wilson bars, fitted GLM curves, and
    vertical lines at the claimed C* (1.35) and at ``rho = 1``.

    Parameters
    ----------
    summary : dict
        From :func:`numerics.estimation.sweep.summarise` (or its JSON file, loaded).
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
    draw_success_curves(ax, est)
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


def _size_entries(est: dict) -> dict:
    return {(s["m"], s["n"], s["r"]): s for s in est.get("sizes", [])}


def _finite(x) -> bool:
    return x is not None and np.isfinite(x)


def _glm_point(size: dict, p: float):
    """``(rho, lo, hi)`` of the GLM's C*(p) at one size, or None where the fit is missing,
    degenerate or not finite (``lo``/``hi`` may be None: no finite profile side)."""
    fit = size.get("fit")
    if not fit or fit.get("degenerate"):
        return None
    pt = next((q for q in fit.get("points", []) if abs(q["p"] - p) < 1e-12), None)
    if pt is None or not _finite(pt.get("rho")):
        return None
    lo, hi = pt.get("profile") or (None, None)
    return pt["rho"], lo if _finite(lo) else None, hi if _finite(hi) else None


def _bracket(size: dict, p: float):
    """The model-free grid bracket ``(lo, hi)`` of C*(p) at one size (sides may be None)."""
    br = next((b["bracket"] for b in size.get("brackets", []) if abs(b["p"] - p) < 1e-12),
              [None, None])
    return tuple(v if _finite(v) else None for v in br)


def _best_scaling(fs):
    """The finite-size fit the verdict uses (:meth:`numerics.estimation.estimate.FiniteSizeFit.best`): free
    ``nu`` with a degree of freedom left, else ``nu = 1``."""
    if not fs:
        return None
    free = fs.get("free")
    return free if free and (free.get("df") or 0) >= 1 else fs.get("fixed_nu1")


def _reference_lines(ax, summary, horizontal=True) -> None:
    claim = _claim(summary)
    line = ax.axhline if horizontal else ax.axvline
    line(claim, label=f"claimed C* = {claim:g}", **_CLAIM_STYLE)
    line(1.0, label="1 = dimension count (necessary)", **_ONE_STYLE)


def _padded(values, pad=0.08):
    lo, hi = min(values), max(values)
    span = max(hi - lo, 0.05)
    return lo - pad * span, hi + pad * span


def _draw_bracket(ax, x, lo, hi, ylim, color, **kw):
    """A vertical interval ``(lo, hi]`` at ``x``; a missing side runs to the axis edge and ends
    in an open triangle pointing that way."""
    if lo is None and hi is None:
        return
    y0 = ylim[0] if lo is None else lo
    y1 = ylim[1] if hi is None else hi
    ax.plot([x, x], [y0, y1], color=color, linewidth=2.2, solid_capstyle="butt", **kw)
    for end, open_marker in ((lo, "v"), (hi, "^")):
        if end is None:
            y = ylim[0] if open_marker == "v" else ylim[1]
            ax.plot([x], [y], marker=open_marker, ms=6, color=color, mfc="white", clip_on=False)
        else:
            ax.plot([x], [end], marker="_", ms=9, mew=2.0, color=color)


def finite_size_figure(summary: dict, variant: str | None = None, p: float = 0.5) -> Figure:
    """The transition ``C*(p)`` against ``1/n`` (``n = min(m, n)``), one panel per (rank, aspect).

    Each panel draws, per size, the model-free grid bracket ``(lo, hi]`` (Wilson, from
    ``brackets_by_size``; a side the data cannot fix runs to the axis edge and ends in an open
    triangle), the GLM estimate with its 95% profile interval where the fit is finite (beside
    the bracket), and the finite-size fits ``rho_inf + a n^(-1/nu)`` (free ``nu`` solid,
    ``nu = 1`` dotted) with the interval of ``rho_inf`` at ``1/n = 0`` where a fit exists.
    Horizontal lines mark the claimed C* (1.35) and the dimension count 1. All panels share the
    y axis.

    Parameters
    ----------
    summary : dict
        From :func:`numerics.estimation.sweep.summarise`.
    variant : str, optional
        Estimand variant; default :func:`default_variant`.
    p : float
        The level, one of the summary's ``p_levels``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> s = {"estimands": {"E2": {"finite_size": []}}}
    >>> finite_size_figure(s, "E2").axes[0].get_xlabel()
    '1 / min(m, n)'
    >>> size = {"m": 8, "n": 8, "r": 1, "fit": {"degenerate": True},
    ...         "brackets": [{"p": 0.5, "bracket": [0.98, 1.0]}]}
    >>> item = {"r": 1, "aspect": "1:1", "p": 0.5, "fit": None,
    ...         "brackets_by_size": [{"m": 8, "n": 8, "bracket": [0.98, 1.0]},
    ...                              {"m": 16, "n": 16, "bracket": [0.99, None]}]}
    >>> s = {"estimands": {"E2": {"sizes": [size], "finite_size": [item]}}}
    >>> [ax.get_title().splitlines()[0] for ax in finite_size_figure(s, "E2").axes]
    ['r=1, aspect 1:1']
    """
    name, est = _variant(summary, variant)
    items = [it for it in est.get("finite_size", []) if abs(it["p"] - p) < 1e-12]
    ranks = sorted({it["r"] for it in items})
    aspects = list(dict.fromkeys(it["aspect"] for it in items))
    ncols, nrows = max(len(ranks), 1), max(len(aspects), 1)
    fig = Figure(figsize=(2.9 * ncols + 3.2, 2.6 * nrows + 0.7), layout="constrained")
    FigureCanvasAgg(fig)
    if not items:
        ax = fig.add_subplot()
        ax.set_xlabel("1 / min(m, n)")
        ax.set_ylabel(f"C*({p:g})")
        ax.text(0.5, 0.5, "no finite-size data", ha="center", va="center", transform=ax.transAxes)
        return fig
    sizes = _size_entries(est)
    claim = _claim(summary)
    # One y range for all panels: every finite bracket side, GLM point and profile, 1 and 1.35.
    ys = [1.0, claim]
    for it in items:
        for b in it.get("brackets_by_size", []):
            ys += [v for v in b["bracket"] if _finite(v)]
    for s in sizes.values():
        g = _glm_point(s, p)
        if g:
            ys += [v for v in g if v is not None]
    for it in items:  # the extrapolated point itself, not its (possibly huge) interval
        best = _best_scaling(it.get("fit"))
        if best and _finite(best.get("rho_inf")) and all(_finite(v) for v in best["interval"]):
            ys.append(best["rho_inf"])
    ylim = _padded(ys)
    inv = [1 / min(b["m"], b["n"]) for it in items for b in it.get("brackets_by_size", [])]
    ticks = {1 / n_: str(n_) for n_ in sorted({min(b["m"], b["n"]) for it in items
                                               for b in it.get("brackets_by_size", [])})}
    xmax = max(inv) if inv else 0.125
    dx = 0.025 * xmax
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    for it in items:
        ax = axes[aspects.index(it["aspect"])][ranks.index(it["r"])]
        for b in it.get("brackets_by_size", []):
            x = 1 / min(b["m"], b["n"])
            _draw_bracket(ax, x - dx, *(v if _finite(v) else None for v in b["bracket"]), ylim, "C0")
            g = _glm_point(sizes.get((b["m"], b["n"], it["r"]), {}), p)
            if g:
                rho, lo, hi = g
                err = [[rho - lo if lo is not None else 0.0], [hi - rho if hi is not None else 0.0]]
                ax.errorbar([x + dx], [rho], yerr=err, fmt="o", ms=4, color="C1", capsize=2)
        fs = it.get("fit")
        if fs:
            grid = np.linspace(0, xmax * 1.05, 200)
            for key, style in (("free", "-"), ("fixed_nu1", ":")):
                f = fs.get(key)
                if f and _finite(f.get("rho_inf")) and _finite(f.get("nu")) and _finite(f.get("a")):
                    ax.plot(grid, f["rho_inf"] + f["a"] * grid ** (1 / f["nu"]), style, color="C2",
                            linewidth=1.2)
            best = _best_scaling(fs)
            if best and _finite(best.get("rho_inf")) and all(_finite(v) for v in best["interval"]):
                lo, hi = best["interval"]
                ax.errorbar([0.0], [best["rho_inf"]], yerr=[[best["rho_inf"] - lo],
                                                          [hi - best["rho_inf"]]],
                            fmt="s", ms=5, color="C2", capsize=3, clip_on=True)
        _reference_lines(ax, summary)
        ax.set_title(f"r={it['r']}, aspect {it['aspect']}"
                     + ("" if fs else "\n(no finite-size fit: < 2 sizes with a finite GLM)"),
                     fontsize=9 if fs else 8)
        ax.grid(alpha=0.3)
    axes[0][0].set_xticks([0.0, *ticks], ["inf", *ticks.values()])
    for ax in axes.flat:
        ax.tick_params(axis="x", labelsize=7, labelrotation=90)
    for ax in axes[-1]:
        ax.set_xlabel("1 / min(m, n)   (ticks: min(m, n))")
    for row in axes:
        row[0].set_ylabel(f"C*({p:g})")
    for ax in axes.flat:
        if not ax.has_data():
            ax.set_visible(False)
    axes[0][0].set_xlim(-0.08 * xmax, 1.08 * xmax)
    axes[0][0].set_ylim(*ylim)
    handles = [
        Line2D([], [], color="C0", linewidth=2.2, marker="_", ms=9, mew=2,
               label="grid bracket (lo, hi], Wilson 95%"),
        Line2D([], [], color="C0", linestyle="none", marker="^", mfc="white",
               label="open side: no grid cell fixes it"),
        Line2D([], [], color="C1", marker="o", ms=4, linestyle="none",
               label="GLM C*, 95% profile (finite fits only)"),
        Line2D([], [], color="C2", linestyle="-", label="finite-size fit, free nu"),
        Line2D([], [], color="C2", linestyle=":", label="finite-size fit, nu = 1"),
        Line2D([], [], color="C2", marker="s", linestyle="none", label="rho_inf, 95% interval"),
        Line2D([], [], label=f"claimed C* = {claim:g}", **_CLAIM_STYLE),
        Line2D([], [], label="1 = dimension count", **_ONE_STYLE),
    ]
    fig.legend(handles=handles, loc="outside right upper", fontsize=7, frameon=False)
    fig.suptitle(f"Finite-size picture of C*({p:g}), {name}", fontsize=10)
    return fig


def trend_figure(summary: dict, p: float = 0.5) -> Figure:
    """``C*(p)`` against the number of restarts ``k`` (E1) or the budget ``T`` (E3, log axis),
    one line per size, one panel per rank (one line style per ``eps`` for E3).

    A point is the GLM estimate with its 95% profile interval (filled marker) where the fit is
    finite, otherwise the midpoint of the model-free grid bracket with the bracket as its bar
    (open marker); a bracket open on one side is drawn at its finite side as an open triangle
    pointing to where the transition lies. Points of different sizes are spread slightly along
    x so that they do not hide each other. The y axis covers the points, 1, 1.35 and the bars
    inside the rho grid; a profile side beyond the grid (an extrapolation) runs off the axis.

    Parameters
    ----------
    summary : dict
        From :func:`numerics.estimation.sweep.summarise` (its ``trends`` and ``estimands``).
    p : float

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> size = {"m": 8, "n": 8, "r": 1, "fit": {"degenerate": True},
    ...         "brackets": [{"p": 0.5, "bracket": [0.98, 1.0]}]}
    >>> s = {"estimands": {"E1[k=1]": {"sizes": [size]}, "E1[k=2]": {"sizes": [size]}},
    ...      "trends": [{"axis": "restarts k", "m": 8, "n": 8, "r": 1, "p": 0.5, "points": [
    ...          {"x": 1, "variant": "E1[k=1]"}, {"x": 2, "variant": "E1[k=2]"}]}]}
    >>> fig = trend_figure(s)
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_xscale()
    ('restarts k', 'linear')
    """
    summary = _check_summary(summary)
    trends = [t for t in summary.get("trends", []) if abs(t["p"] - p) < 1e-12]
    ranks = sorted({t["r"] for t in trends})
    fig = Figure(figsize=(3.6 * max(len(ranks), 1) + 3.4, 4.0), layout="constrained")
    FigureCanvasAgg(fig)
    if not trends:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no trend in this summary", ha="center", va="center",
                transform=ax.transAxes)
        return fig
    axis = trends[0]["axis"]
    log_x = axis.startswith("budget")
    size_keys = list(dict.fromkeys((t["m"], t["n"]) for t in trends))
    eps_levels = list(dict.fromkeys(t.get("eps") for t in trends))
    styles = ["-", "--", ":", "-."]
    axes = fig.subplots(1, len(ranks), sharey=True, squeeze=False)[0]
    claim = _claim(summary)
    ys = [1.0, claim]
    # A profile side beyond the rho grid is an extrapolation: it may run off the axis.
    grid_max = max((summary.get("experiment") or {}).get("rho_grid") or [np.inf])
    for t in trends:
        ax = axes[ranks.index(t["r"])]
        j = size_keys.index((t["m"], t["n"]))
        color = f"C{j % 10}"
        style = styles[eps_levels.index(t.get("eps")) % len(styles)]
        shift = (j - (len(size_keys) - 1) / 2) / max(len(size_keys), 1)
        line_x, line_y = [], []
        for pt in t["points"]:
            x = pt["x"] * 10 ** (0.08 * shift) if log_x else pt["x"] + 0.3 * shift
            size = _size_entries(summary["estimands"].get(pt["variant"], {})).get(
                (t["m"], t["n"], t["r"]), {})
            g = _glm_point(size, p)
            if g:
                y, lo, hi = g
                err = [[y - lo if lo is not None else 0.0], [hi - y if hi is not None else 0.0]]
                ax.errorbar([x], [y], yerr=err, fmt="o", ms=4, color=color, capsize=2)
                ys += [y] + [v for v in (lo, hi) if v is not None and v <= grid_max]
            else:
                lo, hi = _bracket(size, p)
                if lo is None and hi is None:
                    continue
                if lo is not None and hi is not None:
                    y = (lo + hi) / 2
                    ax.errorbar([x], [y], yerr=[[y - lo], [hi - y]], fmt="o", ms=4, color=color,
                                mfc="white", capsize=2)
                else:
                    y = lo if hi is None else hi
                    ax.plot([x], [y], marker="^" if hi is None else "v", ms=6, color=color,
                            mfc="white", linestyle="none")
                ys += [v for v in (lo, hi) if v is not None]
            line_x.append(x)
            line_y.append(y)
        ax.plot(line_x, line_y, style, color=color, linewidth=1.0, alpha=0.8)
    ylim = _padded(ys)
    for r, ax in zip(ranks, axes):
        _reference_lines(ax, summary)
        if log_x:
            ax.set_xscale("log")
        else:
            ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel(axis)
        ax.set_title(f"r={r}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(*ylim)
    axes[0].set_ylabel(f"C*({p:g})")
    handles = [Line2D([], [], color=f"C{j % 10}", marker="o", ms=4, label=f"{m}x{n}")
               for j, (m, n) in enumerate(size_keys)]
    if len(eps_levels) > 1:
        handles += [Line2D([], [], color="0.3", linestyle=styles[i % len(styles)],
                           label=f"eps = {e:g}") for i, e in enumerate(eps_levels)]
    handles += [
        Line2D([], [], color="0.3", marker="o", ms=4, linestyle="none",
               label="filled: GLM C*, 95% profile bar"),
        Line2D([], [], color="0.3", marker="o", ms=4, mfc="white", linestyle="none",
               label="open: grid-bracket midpoint,\nbar = bracket (GLM degenerate)"),
        Line2D([], [], color="0.3", marker="^", mfc="white", linestyle="none",
               label="triangle: bracket open on that side"),
        Line2D([], [], label=f"claimed C* = {claim:g}", **_CLAIM_STYLE),
        Line2D([], [], label="1 = dimension count", **_ONE_STYLE),
    ]
    fig.legend(handles=handles, loc="outside right upper", fontsize=7, frameon=False)
    fig.suptitle(f"C*({p:g}) against {axis}", fontsize=10)
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
    """Write, PNG and PDF each, the phase-transition figure (``stem``), the finite-size figure
    (``stem-finite-size``, for ``variant``, p = 0.5) and the trend against restarts or budget
    (``stem-trend``, p = 0.5).

    >>> import tempfile, os
    >>> s = {"estimands": {"E2": {"sizes": [], "finite_size": []}}}
    >>> sorted(p.name for p in plot_summary(s, os.path.join(tempfile.mkdtemp(), "c")))[::2]
    ['c-finite-size.pdf', 'c-trend.pdf', 'c.pdf']
    """
    stem = Path(stem)
    paths = save_figure(phase_transition_figure(summary, variant), stem)
    paths += save_figure(finite_size_figure(summary, variant),
                         stem.with_name(stem.name + "-finite-size"))
    paths += save_figure(trend_figure(summary), stem.with_name(stem.name + "-trend"))
    return paths


def exact_existence_figure(summary: dict) -> Figure:
    """Three panels of an E0 summary (``lorank exact``): the paired shortfall of E1[k] against
    E0 over k, one line per cell (missed / certified, Wilson 95% band); P(exists | rho = 1) of
    E0 and of E1 at its largest k against the degree; and E0's mean real count (95% t) against
    the Kac-Rice expectation.

    >>> s = {"config": {"restarts": 2, "trials": 4, "seed": 0}, "cells": [{"m": 2, "n": 3,
    ...      "r": 1, "degree": 3, "certified": 4, "e0": {"successes": 4, "trials": 4,
    ...      "wilson": [0.5, 1.0]}, "real_count": {"mean": 2.0, "lo": 1.5, "hi": 2.5},
    ...      "kac_rice": 2.0, "e1": {str(k): {"successes": 3, "trials": 4, "wilson": [0.3, 0.9],
    ...      "shortfall": 0.25, "shortfall_wilson": [0.05, 0.7]} for k in (1, 2)}}]}
    >>> len(exact_existence_figure(s).axes)
    3
    """
    fig = Figure(figsize=(14, 4.2))
    FigureCanvasAgg(fig)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    cells = [c for c in summary["cells"] if c.get("certified")]
    R = summary["config"]["restarts"]
    ks = list(range(1, R + 1))
    for c in cells:
        y = [c["e1"][str(k)]["shortfall"] for k in ks]
        line, = ax1.plot(ks, y, marker="o", ms=3, label=f"{c['m']}x{c['n']} (deg {c['degree']})")
        ax1.fill_between(ks, [c["e1"][str(k)]["shortfall_wilson"][0] for k in ks],
                         [c["e1"][str(k)]["shortfall_wilson"][1] for k in ks],
                         color=line.get_color(), alpha=0.12)
    ax1.set_xlabel("E1 restarts k")
    ax1.set_ylabel("shortfall: P(E0 exists, E1[k] fails)")
    ax1.set_title("E1[k] against the exact answer, same instances", fontsize=9)
    ax1.legend(fontsize=6, ncol=2)
    deg = [c["degree"] for c in cells]
    p0 = [c["e0"]["successes"] / c["e0"]["trials"] for c in cells]
    err0 = np.array([[p - c["e0"]["wilson"][0], c["e0"]["wilson"][1] - p] for p, c in zip(p0, cells)]).T
    ax2.errorbar(deg, p0, yerr=err0 if cells else None, fmt="o", color="k", capsize=2,
                 label="E0 (exact, certified)")
    pk = [c["e1"][str(R)]["successes"] / c["e1"][str(R)]["trials"] for c in cells]
    errk = np.array([[p - c["e1"][str(R)]["wilson"][0], c["e1"][str(R)]["wilson"][1] - p]
                     for p, c in zip(pk, cells)]).T
    ax2.errorbar([d * 1.06 for d in deg], pk, yerr=errk if cells else None, fmt="s",
                 color="tab:red", capsize=2,
                 mfc="none", label=f"E1[{R}] (LM, {R} restarts)")
    for c, p in zip(cells, p0):
        ax2.annotate(f"{c['m']}x{c['n']}", (c["degree"], p), fontsize=6, xytext=(3, 3),
                     textcoords="offset points")
    ax2.set_xscale("log")
    ax2.set_xlabel("degree (complex solutions)")
    ax2.set_ylabel("P(real solution exists | rho = 1)")
    ax2.set_title("odd degree forces existence; Wilson 95%", fontsize=9)
    ax2.legend(fontsize=7)
    kr = [c for c in cells if c.get("kac_rice") is not None and c.get("real_count")]
    if kr:
        d = [c["degree"] for c in kr]
        mean = [c["real_count"]["mean"] for c in kr]
        err = np.array([[c["real_count"]["mean"] - (c["real_count"]["lo"] or c["real_count"]["mean"]),
                         (c["real_count"]["hi"] or c["real_count"]["mean"]) - c["real_count"]["mean"]]
                        for c in kr]).T
        ax3.errorbar(d, mean, yerr=err, fmt="o", color="k", capsize=2, label="E0 mean real count")
        ax3.plot(d, [c["kac_rice"] for c in kr], "x", color="tab:blue", ms=8,
                 label="Kac-Rice / integral geometry")
        ax3.set_xscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    for ax in (ax2, ax3):
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax3.set_xlabel("degree (complex solutions)")
    ax3.set_ylabel("real solutions per instance")
    ax3.set_title("mean real count, 95% t", fontsize=9)
    ax3.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_exact_existence(summary: dict, stem) -> list[Path]:
    """:func:`exact_existence_figure` saved as ``stem.png`` and ``stem.pdf``."""
    return save_figure(exact_existence_figure(summary), stem)


def exact_above_figure(summary: dict) -> Figure:
    """Two panels of an exact-above summary (``lorank exact-above``): P(exists) (certified,
    Wilson 95%) and E1 at its largest k against rho, one series per (m, n, r); and the mean
    number of real critical points (95% t) against the critical count N.

    >>> c = {"m": 2, "n": 5, "r": 1, "M": 5, "rho": 1.2, "critical_points": 16, "certified": 4,
    ...      "exists": {"successes": 4, "trials": 4, "wilson": [0.5, 1.0]},
    ...      "real_count": {"mean": 5.0, "lo": 4.0, "hi": 6.0},
    ...      "e1": {"2": {"successes": 3, "trials": 4, "wilson": [0.3, 0.9]}}}
    >>> len(exact_above_figure({"config": {"restarts": 2}, "cells": [c]}).axes)
    2
    """
    fig = Figure(figsize=(10, 4.2))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    cells = [c for c in summary["cells"] if c.get("certified")]
    R = str(summary["config"]["restarts"])
    groups: dict = {}
    for c in cells:
        groups.setdefault((c["m"], c["n"], c["r"]), []).append(c)
    for g, ((m, n, r), cs) in enumerate(groups.items()):
        cs = sorted(cs, key=lambda c: c["rho"])
        x = [c["rho"] + 0.002 * g for c in cs]     # a small offset per series: equal rho overlap
        p = [c["exists"]["successes"] / c["exists"]["trials"] for c in cs]
        err = np.array([[q - c["exists"]["wilson"][0], c["exists"]["wilson"][1] - q]
                        for q, c in zip(p, cs)]).T
        line = ax1.errorbar(x, p, yerr=err, fmt="o-", ms=4, capsize=2,
                            label=f"{m}x{n} r={r} exact")[0]
        pk = [c["e1"][R]["successes"] / c["e1"][R]["trials"] for c in cs]
        ax1.plot([v + 0.003 for v in x], pk, "s", mfc="none", color=line.get_color(), ms=5)
    ax1.axvline(1.0, **_ONE_STYLE)
    ax1.set_ylim(-0.02, 1.05)
    ax1.set_xlabel("rho = r(m+n-r) / M (series offset by 0.002 each)")
    ax1.set_ylabel("P(real solution exists)")
    ax1.set_title(f"exact (certified, Wilson 95%); open squares: E1[{R}]", fontsize=9)
    ax1.legend(fontsize=6, ncol=2)
    rc = [c for c in cells if c.get("real_count")]
    if rc:
        N = [c["critical_points"] for c in rc]
        mean = [c["real_count"]["mean"] for c in rc]
        err = np.array([[c["real_count"]["mean"] - (c["real_count"]["lo"] or c["real_count"]["mean"]),
                         (c["real_count"]["hi"] or c["real_count"]["mean"]) - c["real_count"]["mean"]]
                        for c in rc]).T
        ax2.errorbar(N, mean, yerr=err, fmt="o", color="k", capsize=2)
        for c in rc:
            ax2.annotate(f"{c['m']}x{c['n']} r={c['r']} M={c['M']}",
                         (c["critical_points"], c["real_count"]["mean"]), fontsize=6,
                         xytext=(3, 3), textcoords="offset points")
    ax2.set_xlabel("N (complex critical points)")
    ax2.set_ylabel("real critical points per instance")
    ax2.set_title("mean real critical count, 95% t", fontsize=9)
    fig.tight_layout()
    return fig


def plot_exact_above(summary: dict, stem) -> list[Path]:
    """:func:`exact_above_figure` saved as ``stem.png`` and ``stem.pdf``."""
    return save_figure(exact_above_figure(summary), stem)
