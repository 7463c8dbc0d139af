"""Markdown tables for the README, generated from the committed result records.

The README's numbers are never typed in: the blocks between ``<!-- lorank:NAME:start -->`` and
``<!-- lorank:NAME:end -->`` are produced by :func:`render_block`, and a test checks that the
README holds exactly what the records give (``python -m lorank.report --write`` refreshes it).

Examples
--------
>>> "| estimand |" in cstar_table(REPO_ROOT / "results")
True
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

from .ledger import REPO_ROOT

__all__ = ["cstar_table", "recipe_trend_table", "bench_table", "render_block", "BLOCKS", "refresh_readme"]

LM_VARIANTS = ("E1[k=4]", "E2")
LM_SIZES = ((64, 64), (128, 128), (32, 128))
RECIPE_VARIANTS = ("E3[T=10000,eps=0.001]", "E3[T=10000,eps=1e-06]")
RECIPE_SIZES = ((32, 32), (16, 64))


def _load(results: Path, run: str) -> dict:
    return json.loads((results / "cstar" / run / "summary.json").read_text())


def _num(x) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.3f}"


def _estimate(size: dict, p: float) -> str:
    fit = size.get("fit") or {}
    if fit and not fit.get("degenerate"):
        point = next(pt for pt in fit["points"] if pt["p"] == p)
        if point["rho"] is not None:
            lo, hi = point["profile"]
            return f"{_num(point['rho'])} [{_num(lo)}, {_num(hi)}]"
    lo, hi = next(b["bracket"] for b in size["brackets"] if b["p"] == p)
    return f"({_num(lo)}, {_num(hi)}] grid"


def _verdict(size: dict, p: float) -> str:
    return next(v["position"] for v in size["verdicts"] if v["p"] == p)


def _rows(summary: dict, variants, sizes) -> list[str]:
    rows = []
    for name in variants:
        est = summary["estimands"][name]
        for s in est["sizes"]:
            if (s["m"], s["n"]) not in sizes:
                continue
            trials = sum(c["trials"] for c in s["cells"])
            rows.append(f"| {name} | {s['m']}x{s['n']} | {s['r']} | {trials} | {_estimate(s, 0.5)} | "
                        f"{_estimate(s, 0.95)} | {_verdict(s, 0.5)} / {_verdict(s, 0.95)} |")
    return rows


def _provenance(summary: dict, run: str) -> str:
    env = (summary.get("environment") or [{}])[0]
    exp = summary["experiment"]
    return (f"`results/cstar/{run}`: {summary['trials_found']} trials, seed {exp['seed']}, "
            f"{exp['features']} features, {exp['dtype']}, device {env.get('device_name', '?')}, "
            f"torch {env.get('torch', '?')}, wall time {summary['wall_time']['wall_s']:.0f} s")


def cstar_table(results: Path) -> str:
    """The headline C* table: per estimand, size and rank, C*(0.5) and C*(0.95) with 95%
    intervals (profile-likelihood GLM where the fit is finite, else the grid bracket)."""
    head = ["| estimand | size | r | trials | C*(0.5) [95%] | C*(0.95) [95%] | 1.35 is (p=0.5 / 0.95) |",
            "|---|---|---|---|---|---|---|"]
    lm, recipe = _load(results, "headline-lm"), _load(results, "headline-recipe")
    lines = head + _rows(lm, LM_VARIANTS, LM_SIZES) + _rows(recipe, RECIPE_VARIANTS, RECIPE_SIZES)
    lines += ["", "Records: " + _provenance(lm, "headline-lm") + "; " + _provenance(recipe, "headline-recipe") + "."]
    return "\n".join(lines)


def recipe_trend_table(results: Path) -> str:
    """C*(0.5) of the LoRA recipe (E3, eps = 1e-3 and 1e-6) against the budget T, per size, r = 1."""
    recipe = _load(results, "headline-recipe")
    budgets = recipe["experiment"]["budgets"]
    lines = ["| eps | size | " + " | ".join(f"T={T}" for T in budgets) + " |",
             "|---|---|" + "---|" * len(budgets)]
    for eps in recipe["experiment"]["eps_levels"]:
        sizes = [(s["m"], s["n"]) for s in recipe["estimands"][f"E3[T={budgets[0]},eps={eps:g}]"]["sizes"] if s["r"] == 1]
        for m, n in sizes:
            cells = []
            for T in budgets:
                est = recipe["estimands"][f"E3[T={T},eps={eps:g}]"]
                s = next(s for s in est["sizes"] if (s["m"], s["n"], s["r"]) == (m, n, 1))
                cells.append(_estimate(s, 0.5).replace(" grid", "*"))
            lines.append(f"| {eps:g} | {m}x{n} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("`*`: grid bracket (GLM degenerate or one-sided); otherwise GLM estimate [95% profile interval].")
    return "\n".join(lines)


BENCH_RECORDS = ("bench_engine_fp64.json", "bench_engine_fp64_rho1.json")


def bench_table(results: Path) -> str:
    """Trials per second of the engine on the GPU, on the CPU and of a scipy loop, same instances."""
    rows = ["| record | cell | path | trials | solve s | trials/s | achieved bandwidth (of H100 HBM3 peak) |",
            "|---|---|---|---|---|---|---|"]
    notes = []
    for name in BENCH_RECORDS:
        b = json.loads((results / "bench" / name).read_text())
        peak = b["h100_peak"]["hbm_bytes_per_s"]
        sz = b["sizes"]
        cell = f"{sz['m']}x{sz['n']}, r={sz['r']}, M={sz['M']}, rho={sz['rho']:.3f}"
        for key, r in b["runs"].items():
            bw = r.get("achieved_bytes_per_s")
            bw_text = f"{bw / 1e12:.2f} TB/s ({bw / peak:.0%})" if bw and r["device"] == "cuda" else (
                f"{bw / 1e9:.1f} GB/s" if bw else "-")
            path = key.replace("_", " ")
            rows.append(f"| `{name}` | {cell} | {path} | {r['trials']} | {r['solve_seconds']:.2f} | "
                        f"{r['trials_per_second']:.2f} | {bw_text} |")
        notes.append(f"`{name}`: " + ", ".join(f"{k.replace('_over_', ' / ')} = {v:.0f}x"
                                               for k, v in b["ratios"].items())
                     + f"; {b['dtype']}, {b['restarts']} start; GPU {b['device_name']} "
                       f"(torch {b['versions']['torch']}), CPU paths on its {b['cpu_count']} host cores.")
    notes.append("Sampling is timed apart and excluded; scipy is `least_squares(method='trf')` with the "
                 "analytic Jacobian, one instance at a time.")
    return "\n".join(rows + [""] + notes)


def cpu_default_line(results: Path) -> str:
    """One sentence on the committed run of ``lorank cstar`` with its CPU defaults."""
    s = json.loads((results / "cpu-default" / "summary.json").read_text())
    env = (s.get("environment") or [{}])[0]
    exp = s["experiment"]
    sizes = ", ".join(f"{m}x{n}" for m, n in dict.fromkeys((m, n) for m, n, _ in exp["sizes"]))
    ranks = sorted({r for _, _, r in exp["sizes"]})
    name = max((k for k, e in s["estimands"].items() if e["family"] == "E1"),
               key=lambda k: s["estimands"][k]["params"]["k"])
    largest = max(s["estimands"][name]["sizes"], key=lambda x: (x["m"] * x["n"], x["r"]))
    lo, hi = next(b["bracket"] for b in largest["brackets"] if b["p"] == 0.5)
    return (f"`lorank cstar` with no options ({sizes}; r = {', '.join(map(str, ranks))}; "
            f"{exp['trials_per_cell']} trials per cell; {s['trials_found']} trials) took "
            f"{s['wall_time']['wall_s']:.0f} s on {env.get('cpu_count', '?')} cores "
            f"({env.get('device_name', '?')}); its {name} bracket for C*(0.5) at "
            f"{largest['m']}x{largest['n']}, r = {largest['r']} is ({_num(lo)}, {_num(hi)}]. "
            "Record: `results/cpu-default`.")


BLOCKS = {"cstar": cstar_table, "cpu-default": cpu_default_line, "recipe-trend": recipe_trend_table, "bench": bench_table}


def render_block(name: str, results: Path | None = None) -> str:
    return BLOCKS[name](Path(results) if results else REPO_ROOT / "results")


def refresh_readme(readme: Path | None = None, write: bool = False) -> str:
    """Return the README with every generated block refreshed (and write it if asked)."""
    readme = Path(readme) if readme else REPO_ROOT / "README.md"
    text = readme.read_text()
    for name in BLOCKS:
        pattern = re.compile(rf"(<!-- lorank:{name}:start -->\n)(?:.*?\n)?(<!-- lorank:{name}:end -->)", re.S)
        text = pattern.sub(lambda m, name=name: m.group(1) + render_block(name) + "\n" + m.group(2), text)
    if write:
        readme.write_text(text)
    return text


if __name__ == "__main__":  # pragma: no cover
    refresh_readme(write="--write" in sys.argv)
