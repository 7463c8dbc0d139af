"""Markdown tables for the README, generated from the committed result records (a script of
the repository, not part of the installed package).

The README's numbers are never typed in: the blocks between ``<!-- lorank:NAME:start -->`` and
``<!-- lorank:NAME:end -->`` are produced by :func:`render_block`, and ``tests/test_readme.py``
checks that the README holds exactly what the records give
(``python scripts/readme_tables.py --write`` refreshes it).

Every verdict a block quotes is read from the ledger's entries (:func:`ledger_entries`, the
functions ``lorank check`` runs), never re-derived here: the C* table's per-size column is the
entry's ``per_size`` position, and the lines "Ledger:" are the entries' statuses;
``tests/test_readme.py`` checks them entry by entry.

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

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


#: The measured entries of each results folder during one :func:`refresh_readme` (None outside
#: one): the blocks read them without building them again (a build checks every record's hash).
_REFRESH_ENTRIES: dict | None = None


def ledger_entries(results: Path) -> list[dict]:
    """The measured ledger entries of ``results`` (what ``lorank check --results`` shows),
    by id; entries whose evidence fails its check are ``error`` here too.

    >>> entries = ledger_entries(REPO_ROOT / "results")
    >>> entries["R1.cstar.E2.p0.5.headline-lm"]["status"] in ("supported", "contradicted", "open", "undefined")
    True
    """
    from lorank.ledger import measured_entries

    key = Path(results).resolve()
    if _REFRESH_ENTRIES is not None and key in _REFRESH_ENTRIES:
        return _REFRESH_ENTRIES[key]
    entries = {e["id"]: e for e in measured_entries(Path(results))}
    if _REFRESH_ENTRIES is not None:
        _REFRESH_ENTRIES[key] = entries
    return entries

__all__ = ["cstar_table", "recipe_trend_table", "bench_table", "roofline_verdicts",
           "separability_table", "pl_table", "rademacher_table", "xent_table", "rank_sweep_table",
           "gradient_flow_table", "jang_table", "stable_rank_table", "learnable_rank_table", "exact_existence_table", "exact_existence_bertini_table", "exact_above_table", "headline_shortfall", "encoder_table", "render_block", "BLOCKS", "refresh_readme"]

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


def _shown(est: dict) -> str:
    lo, hi = est["interval"]
    if est["route"] == "glm":
        return f"{_num(est['value'])} [{_num(lo)}, {_num(hi)}]"
    return f"({_num(lo)}, {_num(hi)}] grid"


def _stem(entries: dict, run: str, variant: str) -> str:
    """The id stem of the ledger entries of ``variant`` in ``run``."""
    return next(e["id"].split(".p")[0] for e in entries.values()
                if e["id"].endswith("." + run) and e.get("variant") == variant
                and e.get("reading") == "crossing")


def _rows(entries: dict, run: str, variants, sizes) -> tuple[list[str], list[str]]:
    rows, ledger = [], []
    for name in variants:
        stem = _stem(entries, run, name)
        by_p = {p: entries[f"{stem}.p{p}.{run}"] for p in ("0.5", "0.95")}
        for i, s in enumerate(by_p["0.5"]["per_size"]):
            if (s["m"], s["n"]) not in sizes:
                continue
            t = by_p["0.95"]["per_size"][i]
            rows.append(f"| {name} | {s['m']}x{s['n']} | {s['r']} | {_shown(s['estimate'])} | "
                        f"{_shown(t['estimate'])} | {s['position']} / {t['position']} |")
        for p, e in by_p.items():
            groups = ", ".join(f"r={g['r']} {g['aspect']}: {g['position']}"
                               + (" (largest size)" if g.get("fallback") else "") for g in e["groups"])
            alone = (f"; across all (T, eps); {name} alone: {e['variant_status']}"
                     if e["status"] == "undefined" else "")
            ledger.append(f"- `{e['id']}` ({name}, C*({p}), crossing): **{e['status']}** ({groups}{alone})")
    return rows, ledger


def _sufficiency_lines(entries: dict, run: str) -> list[str]:
    return [f"- `{e['id']}` ({e['variant']}, sufficiency): **{e['status']}** "
            f"({e['routes'][0]['detail']})"
            for e in entries.values() if e.get("reading") == "sufficiency" and e["id"].endswith("." + run)]


def _provenance(summary: dict, run: str) -> str:
    env = (summary.get("environment") or [{}])[0]
    exp = summary["experiment"]
    return (f"`results/cstar/{run}`: {summary['trials_found']} trials, seed {exp['seed']}, "
            f"{exp['features']} features, {exp['dtype']}, device {env.get('device_name', '?')}, "
            f"torch {env.get('torch', '?')}, wall time {summary['wall_time']['wall_s']:.0f} s")


def cstar_table(results: Path) -> str:
    """The headline C* table: per estimand, size and rank, C*(0.5) and C*(0.95) with 95%
    intervals (profile-likelihood GLM where the fit is finite, else the grid bracket) and where
    1.35 lies against *that size's* interval; then the ledger's crossing verdict per estimand
    and level (size limit per (rank, aspect) group, or the largest size as a stated fallback)
    and the sufficiency verdicts."""
    from numerics.verdicts.capacity import EQUIVALENCE_MARGIN

    entries = ledger_entries(results)
    head = ["| estimand | size | r | C*(0.5) [95%] | C*(0.95) [95%] | 1.35 vs this size's interval (p=0.5 / 0.95) |",
            "|---|---|---|---|---|---|"]
    lm, recipe = _load(results, "headline-lm"), _load(results, "headline-recipe")
    lm_rows, lm_ledger = _rows(entries, "headline-lm", LM_VARIANTS, LM_SIZES)
    rc_rows, rc_ledger = _rows(entries, "headline-recipe", RECIPE_VARIANTS, RECIPE_SIZES)
    trials = {run: sorted({sum(c["trials"] for c in s["cells"]) for e in summ["estimands"].values()
                           for s in e["sizes"]}) for run, summ in (("headline-lm", lm), ("headline-recipe", recipe))}
    lines = head + lm_rows + rc_rows
    lines += ["", f"Trials per size: {', '.join(map(str, trials['headline-lm']))} (headline-lm), "
                  f"{', '.join(map(str, trials['headline-recipe']))} (headline-recipe).",
              "",
              "Ledger (`lorank check`), crossing reading (is the transition at 1.35?): one "
              "verdict per estimand and level, per (rank, aspect) group from the size limit "
              "rho_inf of the finite-size fit (all sizes of the record, not only those above) "
              "where that fit has at least 1 degree of freedom, is identified and passes its "
              "chi2 test (p >= 0.01), else from the largest size's own interval (marked "
              "\"largest size\"). **supported** needs an equivalence test: every group's 95% "
              f"interval inside 1.35 +- {EQUIVALENCE_MARGIN:g} (TOST, each one-sided test at 2.5%); "
              "**contradicted** if 1.35 is outside every group's interval; else **open** (1.35 "
              "inside an interval without equivalence is only consistent). For E3 the verdict is "
              "taken across every (T, eps) of the record; it is **undefined** where the transition "
              "grows with size at a fixed budget and falls with the budget (no size-independent "
              "constant). The per-size column above describes single sizes and decides nothing "
              "on its own."]
    lines += lm_ledger + rc_ledger
    lines += ["",
              "Sufficiency reading (does every rho >= 1.35 give success with probability >= 0.95?): "
              "per estimand, a one-sided test on every cell at rho >= 1.35 of every (size, rank) "
              "of the record: **supported** if every cell's one-sided 95% Clopper-Pearson lower "
              "bound is >= 0.95, **contradicted** if some cell's one-sided upper bound (95%, "
              "Bonferroni over the cells) is < 0.95 (never for E1, a lower bound on existence), "
              "else **open**. One entry per (T, eps) of the recipe. A conservative sufficient "
              "constant is not a wrong one."]
    lines += _sufficiency_lines(entries, "headline-lm") + _sufficiency_lines(entries, "headline-recipe")
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
#: earlier records kept for the before/after comparison: lorank 0.1.0 (the first engine), 0.2.0
#: (timed as one solve after a warm-up on four trials) and 0.3.0 (CUDA-graph tail, timed as now;
#: the step's system solved by the library's Cholesky factorisation and triangular solves)
BENCH_BEFORE = ("lorank-0.1.0", "lorank-0.2.0", "lorank-0.3.0")
#: the fused kernel's variant the engine uses (``numerics.engine.fused_cholesky``: BLOCK, NUM_WARPS,
#: NUM_STAGES), as ``benchmarks/cholesky_latency.py`` names it (a test checks they agree)
FUSED_ENGINE_VARIANT = "fused_b16_w1_s4"
_BEFORE_MODEL = {
    "lorank-0.1.0": "two passes per iteration, start draw inside the solve",
    "lorank-0.2.0": "all passes; one solve after a warm-up on 4 trials",
    "lorank-0.3.0": "all passes; median of 5 after a warm-up solve",
}
#: the 40%-of-HBM3-peak target of issue 3, read against the "all passes" byte model
ROOFLINE_TARGET = 0.40


def _fraction(r: dict, key: str) -> str:
    v = r.get(key)
    return "-" if v is None else f"{v:.0%}"


def _trace_line(results: Path, name: str) -> str | None:
    """Where a whole solve's time goes, from ``benchmarks/trace_engine.py``'s record ``name``:
    the default engine against the library's system (and against no graph replays, if traced)."""
    path = results / "bench" / name
    if not path.exists():
        return None
    t = json.loads(path.read_text())
    default = [r for r in t["runs"] if r.get("system", "auto") == "auto" and r["graph_rows"]]
    library = [r for r in t["runs"] if r.get("system") == "library" and r["graph_rows"]]
    no_graphs = [r for r in t["runs"] if r.get("system", "auto") == "auto" and not r["graph_rows"]]
    if not default:
        return None
    on = default[0]
    tr = on["trace"]
    c = t["cell"]
    full = [x for x in tr["steps"] if x["rows"] == t["trials"]]
    full_frac = (2 * t["feature_bytes_per_trial_pass"] * sum(x["rows"] for x in full)
                 / sum(x["seconds"] for x in full) / t["hbm_peak_bytes_per_s"])
    full_us = 1e6 * sum(x["seconds"] for x in full) / sum(x["rows"] for x in full)
    others = []
    if library:
        lib = library[0]
        lib_full = [x for x in lib["trace"]["steps"] if x["rows"] == t["trials"]]
        lib_us = 1e6 * sum(x["seconds"] for x in lib_full) / sum(x["rows"] for x in lib_full)
        others.append(f"with the library's Cholesky factorisation and triangular solves "
                      f"{lib['solve_seconds']:.3f} s ({lib['fraction_of_peak_bandwidth']:.1%}; full "
                      f"batch {lib_us:.2f} us per row, under a quarter of it "
                      f"{lib['trace']['seconds_below_quarter_batch']:.3f} s)")
    if no_graphs:
        off = no_graphs[0]
        others.append(f"without graph replays {off['solve_seconds']:.3f} s "
                      f"({off['fraction_of_peak_bandwidth']:.1%})")
    same = all(r["same_outcomes_and_iterations_as_first_run"] for r in t["runs"])
    return (f"`{name}` ({t['trials']} trials, {c['m']}x{c['n']}, r={c['r']}, M={c['M']}, "
            f"instances drawn on the GPU; each the fastest of its timed solves): the default engine "
            f"(fused system, CUDA-graph replays from {on['graph_rows']} active trials on) "
            f"{on['solve_seconds']:.3f} s ({on['fraction_of_peak_bandwidth']:.1%} of peak)"
            + "".join(f"; {o}" for o in others)
            + f"; same outcomes and iteration counts in every run: {same}. Of the default solve, "
            f"{tr['seconds_at_full_batch']:.3f} s are iterations of the full batch ({full_us:.2f} us "
            f"per row, reading the features at {full_frac:.0%} of peak), "
            f"{tr['seconds_below_quarter_batch']:.3f} s iterations of batches under a quarter of it, "
            f"{tr['graph_replays']} iterations were replays; {tr['row_iterations']} rows were "
            f"iterated for {tr['trial_iterations']} trial iterations (finished trials wait in the "
            f"batch until it is compacted).")


def bench_table(results: Path) -> str:
    """Trials per second of the engine on the GPU, on the CPU and of a scipy loop, same instances,
    with the achieved fraction of the H100's HBM3 peak under the benchmark's byte model."""
    rows = ["| record | cell | path | trials | solve s | trials/s | bandwidth, all passes | "
            "of HBM3 peak: all passes / iterations only / with start draw / cold first solve |",
            "|---|---|---|---|---|---|---|---|"]
    notes = []
    for name in BENCH_RECORDS:
        b = json.loads((results / "bench" / name).read_text())
        sz = b["sizes"]
        cell = f"{sz['m']}x{sz['n']}, r={sz['r']}, M={sz['M']}, rho={sz['rho']:.3f}"
        for key, r in b["runs"].items():
            bw = r.get("achieved_bytes_per_s")
            cuda = r["device"] == "cuda"
            bw_text = f"{bw / 1e12:.2f} TB/s" if bw and cuda else (f"{bw / 1e9:.1f} GB/s" if bw else "-")
            frac = (" / ".join(_fraction(r, k) for k in (
                "fraction_of_peak_bandwidth", "fraction_of_peak_bandwidth_iterations_only",
                "fraction_of_peak_bandwidth_including_start_sampling",
                "fraction_of_peak_bandwidth_warmup_solve")) if cuda else "-")
            reps = r.get("solve_seconds_repeats")
            solve = f"{r['solve_seconds']:.3f}" + (f" (median of {len(reps)})" if reps else "")
            rows.append(f"| `{name}` | {cell} | {key.replace('_', ' ')} | {r['trials']} | "
                        f"{solve} | {r['trials_per_second']:.2f} | {bw_text} | {frac} |")
        new_run = b["runs"]["engine_cuda"]
        for before in BENCH_BEFORE:
            path = results / "bench" / before / name
            if not path.exists():
                continue
            old = json.loads(path.read_text())["runs"]["engine_cuda"]
            model = _BEFORE_MODEL[before]
            rows.append(f"| `{before}/{name}` | {cell} | engine cuda, {before.replace('-', ' ')} | "
                        f"{old['trials']} | {old['solve_seconds']:.3f}"
                        f"{' (one solve)' if 'solve_seconds_repeats' not in old else ' (median)'} | "
                        f"{old['trials_per_second']:.2f} | {old['achieved_bytes_per_s'] / 1e12:.2f} TB/s "
                        f"({model}) | {old['fraction_of_peak_bandwidth']:.0%} so measured |")
            same = sum(x == y for x, y in zip(new_run["first_success"], old["first_success"]))
            why = ""
            if before == BENCH_BEFORE[-1] and new_run.get("system") == "fused":
                why = (" The difference is how a step solves its linear system: one Triton kernel "
                       "(factorisation and both triangular solves, `numerics/engine/fused_cholesky.py`) "
                       "instead of the library's Cholesky factorisation and two triangular solves; "
                       "timing and everything else as in 0.3.0.")
            notes.append(f"`{name}` against `{before}`: {new_run['trials_per_second'] / old['trials_per_second']:.2f}x "
                         f"the trials per second, on the same instances; outcomes agree on {same} of "
                         f"{min(len(old['first_success']), len(new_run['first_success']))} trials, "
                         f"iterations {new_run['iterations_total']} against {old['iterations_total']}.{why}")
        reps = new_run.get("solve_seconds_repeats", [])
        notes.append(f"`{name}`: " + ", ".join(f"{k.replace('_over_', ' / ')} = {v:.0f}x"
                                               for k, v in b["ratios"].items())
                     + f"; {b['dtype']}, {b['restarts']} start; GPU {b['device_name']} "
                       f"(torch {b['versions']['torch']}, Triton {b['versions'].get('triton')}, system "
                       f"{new_run.get('system', 'library')}), CPU paths on its {b['cpu_count']} host cores; "
                       f"GPU solves {', '.join(f'{t:.3f}' for t in reps)} s after a cold first solve of "
                       f"{new_run.get('warmup_solve_seconds', float('nan')):.3f} s (in a fresh process: "
                       f"it includes compiling the Triton kernel for this size); outcome agreement "
                       + ", ".join(f"{k.replace('_vs_', ' vs ')} {v:.0%}"
                                   for k, v in b["outcome_agreement_on_common_trials"].items()) + ".")
    for name in ("trace_engine_rho135.json", "trace_engine_rho1.json"):
        line = _trace_line(results, name)
        if line:
            notes.append(line)
    for comp_name in ("engine_components_rho135.json", "engine_components_rho1.json"):
        comp = results / "bench" / comp_name
        if not comp.exists():
            continue
        c = json.loads(comp.read_text())
        it, parts = c["parts"]["iteration_eager"], c["parts"]
        lib_it = parts.get("iteration_eager_library", {})
        graph = parts.get("iteration_graph", {})
        graph_text = (f" ({1e3 * graph['ms'] / c['trials']:.2f} us replayed from a CUDA graph: timed "
                      f"alone, an eager iteration waits for the host to launch its small kernels, which "
                      f"in a solve are queued behind the previous step; compare the traces' "
                      f"full-batch time per row)"
                      if "ms" in graph else "")
        lib_text = (f"; with the library's system {lib_it['us_per_trial']:.2f} us "
                    f"({lib_it['fraction_of_hbm_peak']:.0%})" if "us_per_trial" in lib_it else "")
        notes.append(f"One full-batch iteration alone (`{comp_name}`, {c['trials']} trials, "
                     f"{c['cell']['m']}x{c['cell']['n']}, r={c['cell']['r']}, M={c['cell']['M']}, "
                     f"system {c.get('system', 'library')}): "
                     f"{it['us_per_trial']:.2f} us per trial, {it['fraction_of_hbm_peak']:.0%} of HBM3 peak"
                     f"{graph_text}{lib_text}. Of it the damped step (system, factorisation, solves) takes "
                     f"{parts['lm_step_fused']['us_per_trial']:.2f} us with the fused kernel against "
                     f"{parts['lm_step_library']['us_per_trial']:.2f} us with the library; the fused kernel "
                     f"alone {parts['cholesky_solve_fused']['us_per_trial']:.2f} us against the library's "
                     f"factorisation {parts['cholesky_cusolver']['us_per_trial']:.2f} us plus triangular "
                     f"solves {parts['triangular_solves']['us_per_trial']:.2f} us; one feature pass "
                     f"{parts['right']['us_per_trial']:.2f} us ({parts['right']['fraction_of_hbm_peak']:.0%} of peak).")
    chol = results / "bench" / "cholesky_latency.json"
    if chol.exists():
        c = json.loads(chol.read_text())
        by = {(r["M"], r["trials"]): r["ms"] for r in c["rows"]}
        big = max(t for (M, t) in by if M == 252)
        if (252, 1) in by and (252, 16) in by:
            small, one, many = by[(252, 16)], by[(252, 1)], by[(252, big)]
            fused = FUSED_ENGINE_VARIANT

            def lib(row):
                return row["cholesky_default"] + row["triangular_solves"]
            library_wins = [t for (M, t), row in by.items() if M == 252 and lib(row) < row[fused]]
            wins = (f"The library is faster only for batches of at most {max(library_wins)} at "
                    f"M = 252, which the default engine meets only briefly (it replays small batches "
                    f"padded to at least 16 rows)" if library_wins and max(library_wins) < 16 else
                    f"The library is faster for batches of {sorted(library_wins)} at M = 252"
                    if library_wins else "The fused kernel is faster at every batch size")
            notes.append(f"Across batch sizes (`cholesky_latency.json`, M = 252): the fused kernel "
                         f"(`{fused}`, the engine's) solves {big} systems in {many[fused]:.2f} ms "
                         f"({1e3 * many[fused] / big:.2f} us each), 16 in {small[fused]:.2f} ms and "
                         f"one in {one[fused]:.2f} ms; the library's factorisation and two triangular "
                         f"solves take {lib(many):.2f}, {lib(small):.2f} and {lib(one):.2f} ms "
                         f"(cuSOLVER and MAGMA factorise alike: {small['cholesky_cusolver']:.2f} and "
                         f"{small['cholesky_magma']:.2f} ms for 16). {wins}; the solutions differ "
                         f"from the library's by at most "
                         f"{max(max(r['fused_max_rel_diff'].values()) for r in c['rows']):.0e} relative.")
    verdicts = []
    for name, frac, ok in roofline_verdicts(results):
        rho = json.loads((results / "bench" / name).read_text())["sizes"]["rho"]
        verdicts.append(f"rho = {rho:.3f}: {frac:.1%}, {'met' if ok else 'not met'}")
    notes.append(f"Roofline target ({ROOFLINE_TARGET:.0%} of the HBM3 peak, all passes, GPU median): "
                 + "; ".join(verdicts) + ".")
    notes.append("Instances and first starts are drawn on the CPU for every path and timed apart; the byte "
                 "model counts every feature pass the algorithm needs (two to set up each start, one for "
                 "its float64 certificate, two per iteration; `benchmarks/bench_engine.py`); scipy is "
                 "`least_squares(method='trf')` with the analytic Jacobian, one instance at a time.")
    return "\n".join(rows + [""] + notes)


def roofline_verdicts(results: Path) -> list[tuple[str, float, bool]]:
    """``(record, fraction of HBM3 peak with all passes, meets the 40% target)`` per record.

    >>> len(roofline_verdicts(REPO_ROOT / "results")) == len(BENCH_RECORDS)
    True
    """
    out = []
    for name in BENCH_RECORDS:
        r = json.loads((results / "bench" / name).read_text())["runs"]["engine_cuda"]
        out.append((name, r["fraction_of_peak_bandwidth"], r["fraction_of_peak_bandwidth"] >= ROOFLINE_TARGET))
    return out


#: the single-cell records made on the H200 for issue 13, and its target there: at least 50% of
#: the device's own HBM peak (the record's ``peak_used``), all passes
BENCH_H200_RECORDS = ("bench_engine_fp64-h200.json", "bench_engine_fp64_rho1-h200.json")
H200_ROOFLINE_TARGET = 0.50


def bench_h200_table(results: Path) -> str:
    """The two single cells on the H200 against its own HBM peak (issue 13's 50% target)."""
    rows = ["| record | cell | trials | solve s (median) | trials/s | bandwidth | of the device's own HBM peak: "
            "all passes / iterations only / cold first solve | issue 13 target (50%) | CUDA / scipy |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name in BENCH_H200_RECORDS:
        b = json.loads((results / "bench" / name).read_text())
        sz, r = b["sizes"], b["runs"]["engine_cuda"]
        peak = r["peak_used"]
        frac = r["fraction_of_peak_bandwidth"]
        rows.append(f"| `{name}` | {sz['m']}x{sz['n']}, r={sz['r']}, M={sz['M']}, rho={sz['rho']:.3f} | "
                    f"{r['trials']} | {r['solve_seconds']:.3f} | {r['trials_per_second']:.0f} | "
                    f"{r['achieved_bytes_per_s'] / 1e12:.2f} TB/s of {peak['hbm_bytes_per_s'] / 1e12:.1f} "
                    f"({peak['device']}) | {frac:.0%} / {r['fraction_of_peak_bandwidth_iterations_only']:.0%} / "
                    f"{r['fraction_of_peak_bandwidth_warmup_solve']:.0%} | "
                    f"{'met' if frac >= H200_ROOFLINE_TARGET else 'not met'} | "
                    f"{b['ratios']['engine_cuda_over_scipy']:.0f}x |")
    return "\n".join(rows)


def sweep_breakdown_lines(results: Path) -> str:
    """Where the headline LM grid's time goes (:mod:`benchmarks.sweep_breakdown`)."""
    from benchmarks.sweep_breakdown import headline_breakdown, render

    return render(headline_breakdown(results / "bench"))


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


def _ledger_lines(entries) -> list:
    return [f"- `{e['id']}`: **{e['status']}**" for e in entries]


def separability_table(results: Path) -> str:
    """E4 (separability) transitions per size with intervals, size-extrapolated limits, the
    canonical certificates and the ledger verdicts, from ``results/separability/h100``."""
    from numerics.verdicts.capacity import e4_headline, separability_transitions

    path = results / "separability" / "h100" / "summary.json"
    s = json.loads(path.read_text())
    name = e4_headline(s)
    env = (s.get("environment") or [{}])[0]
    rows = ["| size | r | C_sep(0.5) GLM [95% profile] | C_sep(0.95) GLM [95% profile] | sufficient rho |",
            "|---|---|---|---|---|"]
    ref = {(x["m"], x["n"], x["r"]): x for x in s["references"]["sizes"]}
    t95 = {(t["m"], t["n"], t["r"]): t for t in separability_transitions(s, 0.95)}

    def show(t):
        if t["glm"] is None or t["profile"][0] is None:
            return f"bracket ({_num(t['bracket'][0])}, {_num(t['bracket'][1])}]"
        return f"{t['glm']:.3f} [{t['profile'][0]:.3f}, {t['profile'][1]:.3f}]"

    for t in separability_transitions(s, 0.5):
        key = (t["m"], t["n"], t["r"])
        rows.append(f"| {t['m']}x{t['n']} | {t['r']} | {show(t)} | {show(t95[key])} | "
                    f"{ref[key]['sufficient_rho']:.2f} |")
    lines = rows + [""]
    for fs in s["estimands"][name]["finite_size"]:
        lines.append(f"- size limit, r = {fs['r']}, aspect {fs['aspect']}, p = {fs['p']:g}: "
                     f"{fs['verdict']['sentence']}")
    for c in s.get("canonical") or []:
        lines.append(f"- canonical {c['m']}x{c['n']}, r = {c['r']}, N = {c['N']} (rho = {c['rho']:.1f}): "
                     f"{c['certified']}/{c['trials']} certified separable ({c['dtype']} features), "
                     f"least normalised margin {min(v for v in c['margins'] if v is not None):.1e}")
    lines.append("")
    lines.append(f"Record `results/separability/h100` ({s['trials_found']} trials, variant {name}, seed "
                 f"{s['experiment']['seed']}, {env.get('device_name', '?')}, "
                 f"{s['wall_time']['wall_s']:.0f} s).")
    lines += ["", "E4's dependence on the solver's budget: C_sep(0.5) by the number of starts k (at the "
              "record's full iteration budget) and by the iteration budget T (at all its starts); "
              "'-' where the GLM is degenerate (the transition is sharper than the grid):", "",
              "| record | size | r | by starts k | by iterations T |", "|---|---|---|---|---|"]
    runs = []
    for run in ("h200-budget", "h200-restarts"):
        sb = json.loads((results / "separability" / run / "summary.json").read_text())
        trends = {}
        for tr in sb.get("trends") or []:
            if tr["p"] == 0.5:
                trends.setdefault((tr["m"], tr["n"], tr["r"]), {})[tr["axis"]] = tr["points"]

        def show(points, label, keep):
            return ", ".join(f"{label}={q['x']}: " + ("-" if q.get("rho") is None else f"{q['rho']:.3f}")
                             for q in points if q["x"] in keep)
        for (m, n, r), axes in trends.items():
            lines.append(f"| `{run}` | {m}x{n} | {r} | "
                         f"{show(axes.get('restarts k', []), 'k', (1, 2, 4, 8, 16, 32, 64))} | "
                         f"{show(axes.get('budget T', []), 'T', (50, 100, 200, 400))} |")
        env = (sb.get("environment") or [{}])[0]
        runs.append(f"`results/separability/{run}` ({sb['trials_found']} trials, "
                    f"{sb['experiment']['restarts']} starts x {sb['experiment']['max_iters']} "
                    f"iterations, seed {sb['experiment']['seed']}, {env.get('device_name', '?')}, "
                    f"{sb['wall_time']['wall_s']:.0f} s)")
    lines += ["", "Records: " + "; ".join(runs) + ". Ledger:"]
    lines += _ledger_lines(e for i, e in ledger_entries(results).items() if i.startswith(("R2.E4-transition.", "R2.separability-scope.", "R2.E4-solver-budget.")))
    return "\n".join(lines)


def pl_table(results: Path) -> str:
    """PL* positivity against the rank bound, Marchenko-Pastur ratios and the GD-rate check per
    (size, rank), from ``results/pl/h100``."""
    s = json.loads((results / "pl" / "h100" / "summary.json").read_text())
    env = (s.get("environment") or [{}])[0]
    rows = ["| size | r | r(m+n-r) | P(mu>0) at random points, rho < 1 / rho >= 1 | at B = 0, M > rm / M <= rm "
            "| median mu / MP edge (d = rank) at rho ~ 1.5 / 3 | GD steps within the PL rate |",
            "|---|---|---|---|---|---|---|"]
    for g in s["groups"]:
        def tally(kind, pred):
            cells = [c for c in g["cells"] if pred(c)]
            return f"{sum(c[kind]['positive'] for c in cells)}/{sum(c[kind]['trials'] for c in cells)}"

        below = tally("random", lambda c: c["M"] > g["dim"])
        above = tally("random", lambda c: c["M"] <= g["dim"])
        l_out = tally("lora", lambda c: c["M"] > g["rm"])
        l_in = tally("lora", lambda c: c["M"] <= g["rm"])

        def ratio(target):
            c = min(g["cells"], key=lambda c: abs(c["rho"] - target))
            v, w = c["random"]["mp"]["rank"]["ratio"], c["baseline"]["rank"]["ratio"]
            if v is None:
                return "-"
            return f"{v['q50']:.2f} (Gaussian {w['q50']:.2f})" if w else f"{v['q50']:.2f}"

        gd = [c["gd"][k] for c in g["cells"] for k in ("random", "lora") if c.get("gd") and c["gd"].get(k)]
        rows.append(f"| {g['m']}x{g['n']} | {g['r']} | {g['dim']} | {below} / {above} | {l_out} / {l_in} | "
                    f"{ratio(1.5)} / {ratio(3.0)} | {sum(x['steps_ok'] for x in gd)}/"
                    f"{sum(x['steps_checked'] for x in gd)} |")
    lines = rows + ["", f"Record `results/pl/h100` ({s['trials_found']} trials, seed "
                        f"{s['experiment']['seed']}, {env.get('device_name', '?')}, "
                        f"{s['wall_time']['wall_s']:.0f} s); positivity means mu > "
                        f"1e-10 lambda_max in float64. Ledger:"]
    lines += _ledger_lines(e for i, e in ledger_entries(results).items()
                           if i.startswith(("R2.pl-star.", "R2.gd-rate.")))
    return "\n".join(lines)


def rademacher_table(results: Path) -> str:
    """Held-out error at r = 1, 2, 3 (with 95% Wilson intervals on the errors pooled over the
    seeds' test points at r = 1 and 2), the paired difference err(1) - err(2) with its Student-t
    interval over seeds, the minimising ranks and the ledger's status per task and setting,
    from ``results/rademacher/cpu-256``."""
    from numerics.verdicts.rademacher import TASKS, error_counts, rate_interval

    s = json.loads((results / "rademacher" / "cpu-256" / "summary.json").read_text())
    env = (s.get("environment") or [{}])[0]
    entries = {i: e for i, e in ledger_entries(results).items()
               if i.startswith("R3.") and i.endswith(".cpu-256")}
    status = {(e["id"].split(".")[2], x["n_train"], x["noise"]): x["status"]
              for e in entries.values() for x in e["per_setting"]}
    rows = ["| task | n_train/class | noise | test error r=1 [95% Wilson] | r=2 [95% Wilson] | r=3 | "
            "err(1) - err(2) [95% t] | minimising ranks | ledger, this setting |",
            "|---|---|---|---|---|---|---|---|---|"]
    ests = [e for e in s["estimates"] if "per_rank" in e]

    def rate(e, r):
        x = next(x for x in e["per_rank"] if x["r"] == r)["test_error"]
        n_test = s["sizes"]["n_test_per_class"] * TASKS[e["task"]].classes
        lo, hi = rate_interval(*error_counts(x, n_test))
        return f"{x['mean']:.3f} [{lo:.3f}, {hi:.3f}]"

    for e in ests:
        per = {x["r"]: x["test_error"]["mean"] for x in e["per_rank"]}
        d = e["paired_err1_minus_err2"]
        mins = e["optimal_rank"]["minimisers"]
        mins_text = ", ".join(map(str, mins)) if len(mins) < 4 else f"{mins[0]}-{mins[-1]} (tied)"
        rows.append(f"| {e['task']} | {e['n_train']} | {e['noise']:g} | {rate(e, 1)} | {rate(e, 2)} | "
                    f"{per.get(3, float('nan')):.3f} | "
                    f"{d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}] | {mins_text} | "
                    f"{status.get((e['task'], e['n_train'], e['noise']), '-')} |")
    lines = rows + ["", "Wilson: the errors pooled over all seeds' test points (a rate, so the interval "
                        "stays in [0, 1]; it ignores the spread between seeds, which the paired t "
                        "interval of the difference includes).",
                    "", f"Record `results/rademacher/cpu-256` (m = n = {s['sizes']['m']}, "
                        f"{s['seeds']['n_seeds']} seeds, {s['units_found']} fits, "
                        f"{env.get('device_name', '?')}, {s['wall_time']['wall_s']:.0f} s). Ledger:"]
    lines += _ledger_lines(entries.values())
    return "\n".join(lines)


#: The committed xent runs the README shows, in order.
XENT_RUNS = ("cpu-default", "h200-planted", "h200-random-separable")


def xent_table(results: Path) -> str:
    """P(cross-entropy recipe separates | separator certified) per cell and budget, the
    Lojasiewicz ratio and the squared-loss recipe on the same instances, one table per committed
    run of :data:`XENT_RUNS`."""
    lines = []
    for run in XENT_RUNS:
        s = json.loads((results / "xent" / run / "summary.json").read_text())
        env = (s.get("environment") or [{}])[0]
        budgets = [str(b) for b in s["budgets"]]
        rows = ["| size | r | rho | N | certified | " + " | ".join(f"separates by T = {b} [95% Wilson]" for b in budgets)
                + " | min over the trajectory of grad-norm / loss, q10 / q50 | squared loss (E3) rel. residual, median |",
                "|---|---|---|---|---|" + "---|" * len(budgets) + "---|---|"]
        for c in s["cells"]:
            cols = []
            for b in budgets:
                x = c["budgets"][b]
                lo, hi = x["wilson95"]
                cols.append("-" if lo is None else f"{x['successes']}/{x['certified']} [{lo:.3f}, {hi:.3f}]")
            loj = c["min_loj_ratio"]
            e3 = c["budgets"][budgets[-1]]["e3_rel_residual"]
            rows.append(f"| {c['m']}x{c['n']} | {c['r']} | {c['rho']:.3g} | {c['N']} | "
                        f"{c['separator_certified']}/{c['trials']} | " + " | ".join(cols)
                        + f" | {_num(loj['q10']) if loj else '-'} / {_num(loj['q50']) if loj else '-'}"
                        f" | {_num(e3['q50']) if e3 else '-'} |")
        exp = s["experiment"]
        labels = (f"labels planted, teacher rank {exp['teacher_rank']}" if exp["labels"] == "planted"
                  else f"labels random, certified separable by E4 ({exp['restarts']} starts x "
                       f"{exp['max_iters']} iterations)")
        lines += ([""] if lines else []) + [
            f"Record `results/xent/{run}` ({labels}, {s['trials_found']} trials, seed {exp['seed']}, "
            f"{env.get('device_name') or env.get('device', '?')}, {s['wall_time']['wall_s']:.0f} s):",
            ""] + rows
    lines += ["", "Ledger:"]
    lines += _ledger_lines(e for i, e in ledger_entries(results).items() if i.startswith("R2.xent-recipe."))
    return "\n".join(lines)


def rank_sweep_table(results: Path) -> str:
    """Held-out error against the rank with a rank-r0 teacher, argmin_r with its bootstrap
    interval, the paired one-sided variance-side lower bounds, how well the fits are certified
    (starts, fits at the iteration cap, seeds whose starts all agree) and the ledger's statuses,
    from ``results/rank-sweep/cpu-default``."""
    s = json.loads((results / "rank-sweep" / "cpu-default" / "summary.json").read_text())
    env = (s.get("environment") or [{}])[0]
    entries = {i: e for i, e in ledger_entries(results).items()
               if i.startswith("R3.rank-sweep.") and i.endswith(".cpu-default")}
    R = s["sizes"]["max_rank"]
    rows = ["| r0 | N | sigma (Bayes err) | " + " | ".join(f"err r={r}" for r in range(1, R + 1))
            + " | argmin r [95% boot] | min over r > r0 of lower bound of err(r) - err(r0) | "
            "fits at the cap | seeds whose starts all agree, r = 1.." + str(R) + " |",
            "|---|---|---|" + "---|" * R + "---|---|---|---|"]
    for e in s["estimates"]:
        if "per_rank" not in e:
            continue
        errs = " | ".join(f"{p['test_error']['mean']:.3f}" for p in e["per_rank"])
        o = e["optimal_rank"]
        lows = [t["lower"] for t in e["variance_side"].values()]
        f = e["fits"]
        agree = ", ".join(f"{100 * p['agree_share']:.0f}%" for p in e["per_rank"])
        rows.append(f"| {e['r0']} | {e['n_train']} | {e['noise']:g} ({e['bayes_error']:.3f}) | {errs} | "
                    f"{o['r_star']} [{o['interval'][0]}, {o['interval'][1]}] | {min(lows):+.4f} | "
                    f"{f['fits_capped']} of {f['fits']} | {agree} |")
    sol = s["solver"]
    starts = sorted({p["starts"] for e in s["estimates"] for p in e.get("per_rank", [])})
    its = max(p["iterations_max"] for e in s["estimates"] for p in e.get("per_rank", []))
    lines = rows + ["", f"Record `results/rank-sweep/cpu-default` (m = n = {s['sizes']['m']}, "
                        f"{s['seeds']['n_seeds']} seeds per setting, {s['units_found']} trials, "
                        f"{env.get('device_name', '?')}, {s['wall_time']['wall_s']:.0f} s). Fits: best "
                        f"of {starts[-1]} starts ({starts[0]} at r = 1, which has no warm start), "
                        f"each run to a relative decrease of {sol['stop_rtol']:g} per sweep "
                        f"(cap {sol['iters']} sweeps; the slowest fit took {its}). Ledger:"]
    lines += _ledger_lines(entries.values())
    return "\n".join(lines)


def gradient_flow_table(results: Path) -> str:
    """Seed 002: the GF statements with their statuses (checked now by both routes), and the
    measurements of ``results/gradient-flow/cpu-default`` with the ledger's statuses."""
    from proofs.gradient_flow import gradient_flow_statements
    from proofs.statement import check

    lines = ["Statements (`proofs/gradient_flow.py`, both routes each, as `lorank check` runs them):", ""]
    for st in gradient_flow_statements():
        lines.append(f"- `{st.id}`: **{check(st).status}**: {st.title}")
    s = json.loads((results / "gradient-flow" / "cpu-default" / "summary.json").read_text())
    env = (s.get("environment") or [{}])[0]
    st, tr = s["steps"], s["trace"]
    sz = s["sizes"]

    def iv(d):
        return f"{d['mean']:.4f} [{d['lo']:.4f}, {d['hi']:.4f}]"

    lines += ["", f"Gradient descent against the flow ({sz['steps']['m']}x{sz['steps']['n']}, r = "
              f"{sz['steps']['r']}, squared loss on M = {sz['steps']['M']} Gaussian features, LoRA "
              f"start, T = {st['horizon']:g}, {st['trials']} seeds):", "",
              "| quantity | slope in eta [95% t] | " + " | ".join(f"eta = {e:g}" for e in st["etas"]) + " |",
              "|---|---|" + "---|" * len(st["etas"])]
    for key, label in (("error_sim", "error, simultaneous"), ("error_seq", "error, sequential"),
                       ("gap_sim_seq", "simultaneous - sequential"),
                       ("drift_sim", "drift of B^T B - A A^T, simultaneous"),
                       ("drift_seq", "drift of B^T B - A A^T, sequential")):
        lines.append(f"| {label} | {iv(st[key]['slope'])} | "
                     + " | ".join(f"{v:.2e}" for v in st[key]["median_per_eta"]) + " |")
    e = tr["loss_ratio_end"]
    lines += ["", f"Medians over seeds; errors relative to the RK4 reference (its own error estimate "
              f"<= {st['reference']['error_max']:.0e}, drift of B^T B - A A^T along it <= "
              f"{st['flow_drift_max']:.0e}); autograd against the flow equations <= "
              f"{max(st['autograd_rel_max'], tr['autograd_rel_max']):.0e}.", "",
              f"Trace-squared loss ({sz['trace']['n']}x{sz['trace']['n']}, r = {sz['trace']['r']}, "
              f"{tr['trials']} seeds, T = {tr['times'][-1]:g}): L(T)/L(0) from {e['min']:.1e} to "
              f"{e['max']:.1e}; L(t) at most {tr['bound_ratio_max']:.3f} of the proved bound "
              f"L(0) exp(-2 ||A0||^2 t); traceless share of the LoRA update B A from "
              f"{tr['traceless_lora']['min']:.3f} to {tr['traceless_lora']['max']:.3f}, of the "
              f"full-parameter update at most {tr['traceless_full']['max']:.0e}.", "",
              f"Frobenius low-rank flow from the spectral start (n = {sz['eym']['n']}, s_j = j^-alpha, "
              f"{s['seeds']['ey_trials']} seeds per cell):", "",
              "| alpha | r | relative error of the flow's limit | Eckart-Young-Mirsky (mpmath, n = "
              f"{sz['eym']['n']}) | infinite tail | bound c_hi r^(1/2 - alpha) | distance to Y_r |",
              "|---|---|---|---|---|---|---|"]
    for a in s["eym"]:
        for p in a["per_rank"]:
            lines.append(f"| {a['alpha']:g} | {p['r']} | {p['rel_error']['mean']:.6f} | "
                         f"{p['eym_finite']:.6f} | {p['eym_infinite']:.6f} | {p['bound_hi']:.6f} | "
                         f"{p['distance_max']:.0e} |")
    lines += ["", "Exponent of the relative error in r (least squares over the rank grid): "
              + "; ".join(f"alpha = {a['alpha']:g}: flow {a['fitted_exponent']:.4f}, infinite tails on "
                          f"the same grid {a['infinite_exponent']:.4f}, 1/2 - alpha "
                          f"{a['predicted_exponent']:g}" for a in s["eym"]) + ".", "",
              f"Record `results/gradient-flow/cpu-default` ({s['units_found']} trials, "
              f"{env.get('device_name', '?')}, {s['wall_time']['wall_s']:.0f} s). Ledger:"]
    lines += _ledger_lines(e for i, e in ledger_entries(results).items()
                           if i.startswith("GF.") and i.endswith(".cpu-default"))
    return "\n".join(lines)


def jang_table(results: Path, run: str = "cpu-default", statements: bool = True) -> str:
    """Seed 001: the J statements with their statuses (checked now by both routes, where
    ``statements``), and the measurements of ``results/jang/<run>`` with the ledger's statuses."""
    from proofs.jang import jang_statements
    from proofs.statement import check

    lines = ["Statements (`proofs/jang.py`, both routes each, as `lorank check` runs them):", ""]
    for st in jang_statements() if statements else ():
        lines.append(f"- `{st.id}`: **{check(st).status}**: {st.title}")
    lines = lines if statements else []
    s = json.loads((results / "jang" / run / "summary.json").read_text())
    env = (s.get("environment") or [{}])[0]
    lines += ["", "Ranks of solutions of random consistent systems (G_i, y iid N(0, 1)) against r0, the "
              "largest r with r(r+1)/2 <= M:", "",
              "| size | M | r0 | min-nuclear-norm ranks (ADMM; count) | ADMM gap | lift rank R reduced from "
              "min-Frobenius | residual | SDP trials: value diff, ranks |",
              "|---|---|---|---|---|---|---|---|"]
    for e in s["exist"]:
        counts = ", ".join(f"{k}: {v}" for k, v in e["admm_rank_counts"].items())
        sdp = (f"{e['sdp_trials']}: {e['sdp_value_diff_max']:.0e}, {e['sdp_ranks']}"
               if e.get("sdp_trials") else "-")
        lines.append(f"| {e['m']}x{e['n']} | {e['M']} | {e['r0']} | {counts} | {e['admm_gap_max']:.0e} | "
                     f"{e['red_lsq_R']['min']:.0f}..{e['red_lsq_R']['max']:.0f} | "
                     f"{e['red_lsq_residual_max']:.0e} | {sdp} |")
    sz = s["sizes"]["land"]
    names = ("optimal", "rank-limited", "spurious", "saddle", "budget")
    lines += ["", f"Gradient descent on weight-decayed LoRA ({sz['m']}x{sz['n']}, M = {sz['M']}, "
              f"{s['seeds']['land_trials']} instances x {s['solver']['starts']} starts per rank, "
              f"{s['solver']['gd_iters']} iterations; classes of the module docstring of "
              "`numerics/verdicts/jang.py`):", "",
              "| r | r(r+1)/2 > M | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for e in s["land"]:
        lines.append(f"| {e['r']} | {'yes' if e['above'] else 'no'} | "
                     + " | ".join(str(e["classes"][c]) for c in names) + " |")
    lines += ["", f"Record `results/jang/{run}` ({s['units_found']} trials, "
              f"{env.get('device_name', '?')}, {s['wall_time']['wall_s']:.0f} s). Ledger:"]
    lines += _ledger_lines(e for i, e in ledger_entries(results).items()
                           if i.startswith("J.") and i.endswith(f".{run}"))
    return "\n".join(lines)


def stable_rank_table(results: Path, run: str = "cpu-default", statements: bool = True) -> str:
    """Seed 003: the SR statements with their statuses (checked now by both routes, where
    ``statements``), and sr(Delta) against the nominal rank from ``results/stable-rank/<run>``
    with the ledger's statuses."""
    from proofs.stable_rank import stable_rank_statements
    from proofs.statement import check

    lines = ["Statements (`proofs/stable_rank.py`, both routes each, as `lorank check` runs them):", ""]
    for st in stable_rank_statements() if statements else ():
        lines.append(f"- `{st.id}`: **{check(st).status}**: {st.title}")
    lines = lines if statements else []
    s = json.loads((results / "stable-rank" / run / "summary.json").read_text())
    env = (s.get("environment") or [{}])[0]
    sz, sol, ref = s["sizes"], s["solver"], s["references"]

    def iv(d):
        return f"{d['mean']:.3f} [{d['lo']:.3f}, {d['hi']:.3f}]"

    scs = s["scalings"]
    lines += ["" if statements else None, f"sr(Delta) of the learned update against the nominal rank (d = {sz['d']}, N = {sz['N']} "
              f"Gaussian-iid features, teacher with iid entries of stable rank {ref['sr_teacher']['mean']:.2f}, "
              f"{s['seeds']['trials']} seeds, {sol['steps']} gradient steps of {sol['lr']:g}, alpha = "
              f"{sol['alpha']:g}; mean [95% t]):", "",
              "| r | " + " | ".join(f"sr(Delta), {sc['scaling']} | test loss, {sc['scaling']}" for sc in scs) + " |",
              "|---|" + "---|---|" * len(scs)]
    for i, r in enumerate(sz["ranks"]):
        cols = []
        for sc in scs:
            p = sc["per_rank"][i]
            cols += [iv(p["sr_delta"]), f"{p['test_rel']['mean']:.3f}"]
        lines.append(f"| {r} | " + " | ".join(cols) + " |")
    lines += ["", "Slope of log sr(Delta) in log r: " + "; ".join(
        f"{sc['scaling']} {iv(sc['slope'])}" for sc in scs if "slope" in sc) + ".", "",
              f"Record `results/stable-rank/{run}` ({s['units_found']} trials, "
              f"{env.get('device_name', '?')}, {s['wall_time']['wall_s']:.0f} s). Ledger:"]
    lines += _ledger_lines(e for i, e in ledger_entries(results).items()
                           if i.startswith("SR.") and i.endswith(f".{run}"))
    return "\n".join(line for line in lines if line is not None)


def exact_existence_table(results: Path, run="e0-cpu") -> str:
    """Issue 16: P(exists | rho = 1) of E0 per cell, the mean real count against Kac-Rice, and
    the paired E1[k] shortfall for k = 1, 2, 4, 8, from ``results/exact-existence/<run>`` (or
    several runs, one table: ``run`` a tuple), with the ledger's statuses."""
    runs = (run,) if isinstance(run, str) else tuple(run)
    summaries = [json.loads((results / "exact-existence" / r / "summary.json").read_text())
                 for r in runs]
    s = summaries[0]
    c0 = s["config"]
    ks = [k for k in ("1", "2", "4", "8") if k in s["cells"][0]["e1"]]

    def w(x):
        return f"[{x[0]:.3f}, {x[1]:.3f}]"

    ranks = ", ".join(str(r) for r in sorted({c["r"] for t in summaries for c in t["cells"]}))
    trials = sorted({t["config"]["trials"] for t in summaries})
    retry = any("certificate" in t for t in summaries)
    lines = [f"E0 at rho = 1, r = {ranks} ({' or '.join(map(str, trials))} Gaussian instances per "
             f"cell, seed {c0['seed']}; "
             f"E1 = LM with k restarts on the same instances). P(exists) and the shortfall "
             "(E0 certifies a real solution, E1[k] finds none) are among certified instances, "
             "with Wilson 95% intervals; the real count is a mean with its 95% t interval; "
             "Kac-Rice is `proofs.exact_existence.expected_real_count_r1` (r = 1 only)."
             + (" Certificate `charts+union/2` (`numerics/engine/homotopy_certify.py`): "
                "\"retried\" counts the instances certified only from the union with a second "
                "tracking." if retry else ""), "",
             "| cell | degree | certified | " + ("retried | " if retry else "")
             + "P(exists) | mean real count | Kac-Rice | "
             + " | ".join(f"shortfall E1[{k}]" for k in ks) + " |",
             "|---|---|---|" + ("---|" if retry else "") + "---|---|---|" + "---|" * len(ks)]
    # one row per cell: a cell that one run did not reach and a later run of the table did
    # (a run of the remaining cells) shows the later run's row, in the first run's place
    rows: dict = {}
    for t in summaries:
        for c in t["cells"]:
            e0, rc = c["e0"], c["real_count"]
            kr = f"{c['kac_rice']:.3f}" if c["kac_rice"] is not None else "-"
            cell = f"{c['m']}x{c['n']}" + (f" r={c['r']}" if c["r"] != 1 else "")
            rt = (f"{c.get('certified_after_retry', '-')} | " if retry else "")
            key = (c["m"], c["n"], c["r"])
            if not e0["trials"]:  # a cell an interrupted run did not reach
                rows.setdefault(key, (False, f"| {cell} | {c['degree']}{' (odd)' if c['degree_odd'] else ''} | "
                                      f"{c['certified']}/{c['trials']} | {rt}not reached | - | {kr} | "
                                      + " | ".join("-" for _ in ks) + " |"))
                continue
            p = e0["successes"] / e0["trials"]
            row = (f"| {cell} | {c['degree']}{' (odd)' if c['degree_odd'] else ''} | "
                   f"{c['certified']}/{c['trials']} | {rt}{p:.3f} {w(e0['wilson'])} | "
                   f"{rc['mean']:.3f} [{rc['lo']:.3f}, {rc['hi']:.3f}] | {kr} | "
                   + " | ".join(f"{c['e1'][k]['shortfall']:.3f} {w(c['e1'][k]['shortfall_wilson'])}"
                                for k in ks) + " |")
            if rows.get(key, (False,))[0]:
                raise ValueError(f"cell {cell} has trials in two runs of one table: {runs}")
            rows[key] = (True, row)
    lines += [row for _, row in rows.values()]
    lines.append("")
    for r, t in zip(runs, summaries):
        env = (t.get("environment") or [{}])[0]
        chart = (t.get("certificate") or {}).get("tracking_chart")
        lines.append(f"Record `results/exact-existence/{r}` ({t['trials_found']} of "
                     f"{t['trials_expected']} instances, "
                     + (f"tracked in the {chart} chart, " if chart else "")
                     + f"{env.get('device_name', env.get('device', '?'))}, "
                     f"{t['wall_time']['wall_s']:.0f} s); figure "
                     f"`results/exact-existence/{r}/exact_existence.png`.")
    lines.append("Ledger:")
    lines += _ledger_lines(e for i, e in ledger_entries(results).items()
                           if i.startswith("E0.") and any(i.endswith(f".{r}") for r in runs))
    return "\n".join(lines)


ROUTE_FORMATS = {"lorank.exact-above-total-degree/1": ("total-degree", "total_degree"),
                 "lorank.exact-above-multihomogeneous/1": ("multihomogeneous", "multihomogeneous")}


def _script_record(path: str, record: dict, seconds: float) -> str:
    """```path` (device, one thread, seconds, commit; `command`)``: how the README names a
    record written by a CPU script (second routes, E0's separation check)."""
    env = record["environment"]
    return (f"`{path}` ({env.get('device_name', '?')}, one thread, {seconds:.0f} s, commit "
            f"{str((env.get('lorank_source') or {}).get('commit'))[:7]}; `{record['command']}`)")


def second_route_records(results: Path) -> list:
    """Every committed record of another route for exact-above's N
    (``results/exact-above/second-route/*.json``), as ``(file name, route, key, record)``
    sorted by route (total degree first) then file name."""
    out = []
    for path in sorted((results / "exact-above" / "second-route").glob("*.json")):
        record = json.loads(path.read_text())
        route, key = ROUTE_FORMATS[record["format"]]
        out.append((path.name, route, key, record))
    return sorted(out, key=lambda x: (x[1] != "total-degree", x[0]))


def exact_above_table(results: Path, run=None) -> str:
    """Issue 16 item 5: exact real existence just above rho = 1 per cell (critical count N,
    certification, P(exists), mean real critical count, paired E1[k] shortfall), from
    ``results/exact-above/<run>`` (several runs, one table; by default every committed run),
    rows ordered by rank, size and rho, with the ledger's statuses; N by the other routes where
    a record in ``results/exact-above/second-route/`` has the cell."""
    if run is None:
        run = tuple(p.parent.name for p in sorted((results / "exact-above").glob("*/summary.json")))
    runs = (run,) if isinstance(run, str) else tuple(run)
    runs = tuple(r for r in runs if (results / "exact-above" / r / "summary.json").exists())
    if not runs:
        return "No committed exact-above record yet."
    summaries = [json.loads((results / "exact-above" / r / "summary.json").read_text())
                 for r in runs]
    records = second_route_records(results)
    routes = list(dict.fromkeys(route for _, route, _, _ in records))

    def td(c, t):
        """``total degree / multihomogeneous`` counts of the cell, ``-`` where no record of a
        route has it (or was run on another complex instance p*), and a flag where a count or
        the one-to-one match differs from the summary's N."""
        parts = []
        for route in routes:
            x = next(((x, key) for _, rt, key, record in records if rt == route
                      and t["config"]["start_seed"] == record["seed"] for x in record["cells"]
                      if (x["m"], x["n"], x["r"], x["M"]) == (c["m"], c["n"], c["r"], c["M"])),
                     None)
            if x is None:
                parts.append("-")
            else:
                x, key = x
                same = x[key]["count"] == x["matched"] == c["critical_points"]
                parts.append(f"{x[key]['count']}" + ("" if same else f" (matched {x['matched']})"))
        return " / ".join(parts) if parts else "-"

    seeds = sorted({t["config"]["seed"] for t in summaries})
    ks = [k for k in ("1", "2", "4", "8") if all(k in c["e1"] for t in summaries for c in t["cells"])]

    def w(x):
        return f"[{x[0]:.3f}, {x[1]:.3f}]"

    lines = [f"Exact existence just above rho = 1 (M = r(m+n-r) - d; Gaussian instances, seed "
             f"{', '.join(map(str, seeds))}; the very instances of `lorank cstar --estimand lm` at "
             "KN = M; E1 = LM with k restarts on the same instances). N is the number of complex "
             "critical points of the distance from a random point (found once per cell by "
             "monodromy); an instance is certified when all N are alpha-certified and distinct. "
             "P(exists) and the shortfall (a real solution exists, E1[k] finds none) are among "
             "certified instances, with Wilson 95% intervals; the real critical count is a mean "
             "with its 95% t interval. \"N, other routes\": the counts on the same complex "
             "instance by a total-degree homotopy (2^(D+M) paths) / a multihomogeneous one "
             "(C(D, M) C(D, p) paths), each point matched one to one with monodromy's unless "
             "stated. Rows by rank, size and rho; \"record\" names the run under "
             "`results/exact-above/`.", "",
             "| cell | d | M | rho | N | N, other routes | certified | P(exists) | "
             "mean real critical points | "
             + " | ".join(f"shortfall E1[{k}]" for k in ks) + " | record |",
             "|---|---|---|---|---|---|---|---|---|" + "---|" * len(ks) + "---|"]
    rows = []
    for r, t in zip(runs, summaries):
        for c in t["cells"]:
            cell = f"{c['m']}x{c['n']} r={c['r']}"
            e, rc = c["exists"], c["real_count"]
            n_cell = "-" if c["critical_points"] is None else c["critical_points"]
            head = (f"| {cell} | {c['d']} | {c['M']} | {c['rho']:.3f} | {n_cell} | "
                    f"{td(c, t)} | {c['certified']}/{c['trials']} | ")
            if not e["trials"]:
                body = "not reached | - | " + " | ".join("-" for _ in ks)
            else:
                p = e["successes"] / e["trials"]
                body = (f"{p:.3f} {w(e['wilson'])} | {rc['mean']:.2f} [{rc['lo']:.2f}, "
                        f"{rc['hi']:.2f}] | " + " | ".join(
                            f"{c['e1'][k]['shortfall']:.3f} {w(c['e1'][k]['shortfall_wilson'])}"
                            for k in ks))
            rows.append(((c["r"], c["m"] + c["n"], c["m"], c["n"], c["rho"]),
                         head + body + f" | {r} |"))
    lines += [row for _, row in sorted(rows, key=lambda x: x[0])]
    lines.append("")
    for r, t in zip(runs, summaries):
        env = (t.get("environment") or [{}])[0]
        lines.append(f"Record `results/exact-above/{r}` ({t['trials_found']} of "
                     f"{t['trials_expected']} instances, "
                     f"{env.get('device_name', env.get('device', '?'))}, "
                     f"{t['wall_time']['wall_s']:.0f} s); figure "
                     f"`results/exact-above/{r}/exact_above.png`.")
    for name, route, key, record in records:
        agree = sum(c["agree"] for c in record["cells"])
        seconds = sum(c["monodromy"]["seconds"] + c[key]["seconds"] for c in record["cells"])
        lines.append(f"Route {route}: record "
                     + _script_record(f"results/exact-above/second-route/{name}", record, seconds)
                     + f": the counts agree and every point matches at {agree} of "
                     f"{len(record['cells'])} cells.")
    lines.append("Ledger:")
    lines += _ledger_lines(e for i, e in ledger_entries(results).items()
                           if i.startswith("E0-ABOVE.") and any(i.endswith(f".{r}") for r in runs))
    return "\n".join(lines)


def e0_separation_table(results: Path) -> str:
    """E0's distinctness test checked from outside (``scripts/e0_separation_check.py``): per
    cell, the certified instances and the least relative separation of their kept endpoints,
    from every record ``results/exact-existence/separation/*.json`` (one table)."""
    paths = sorted((results / "exact-existence" / "separation").glob("*.json"))
    if not paths:
        return "No committed separation record yet."
    records = [(p.name, json.loads(p.read_text())) for p in paths]
    first = records[0][1]
    lines = ["Least relative separation `min ||z_i - z_j|| / (1 + max(||z_i||, ||z_j||))` of the "
             "kept endpoints of each certified E0 instance (a zero counted twice would show near "
             f"1e-11); \"below\": certified instances under {first['threshold']:g}. Instances: "
             f"{first['instances']}.", "",
             "| cell | degree | certified | retried | least relative separation | below | record |",
             "|---|---|---|---|---|---|---|"]
    for name, record in records:
        for c in record["cells"]:
            lines.append(f"| {c['m']}x{c['n']} r={c['r']} | {c['degree']} | {c['certified']}/"
                         f"{c['trials']} | {c['retried']} | {c['least_relative_separation']:.2e} | "
                         f"{c['below']} | {name} |")
    lines.append("")
    for name, record in records:
        cells = record["cells"]
        lines.append("Record " + _script_record(f"results/exact-existence/separation/{name}",
                                                record, sum(c["seconds"] for c in cells))
                     + f": {sum(c['certified'] for c in cells)} certified instances in "
                     f"{len(cells)} cells, {sum(c['below'] for c in cells)} below "
                     f"{record['threshold']:g}.")
    return "\n".join(lines)


def exact_above_curve_table(results: Path) -> str:
    """Issue 16 item 5: the exact existence curve from rho = 1 (E0) to just above it, per size,
    from :func:`numerics.verdicts.exact_above.existence_curves` (committed records only)."""
    from numerics.verdicts.exact_above import existence_curves

    curves = existence_curves(results)
    if not curves:
        return "No size has both an E0 and an exact-above record yet."
    most = max(len(p) for p in curves.values())
    lines = ["P(a real solution exists) per size, from rho = 1 (E0, M = r(m+n-r) conditions) to "
             "just above it (exact-above, M - d conditions, one point per d); certified instances "
             "only, Wilson 95% intervals; other instances at each rho. The rho = 1 point is the "
             "committed E0 cell with the current certificate and the most certified instances. "
             "Sizes ordered by rank, then size. Figure: notebook 06, section 7.", "",
             "| size | " + " | ".join(f"point {i}: rho, P(exists)" for i in range(most))
             + " | records |", "|---|" + "---|" * most + "---|"]
    for (m, n, r), pts in sorted(curves.items(), key=lambda kv: (kv[0][2], kv[0][0] + kv[0][1], kv[0])):
        cells = [f"{rho:.3f}: {s}/{t} [{w[0]:.3f}, {w[1]:.3f}]" for rho, s, t, w, _ in pts]
        cells += ["-"] * (most - len(pts))
        recs = ", ".join(dict.fromkeys(f"`{rec}`" for *_, rec in pts))
        lines.append(f"| {m}x{n} r={r} | " + " | ".join(cells) + f" | {recs} |")
    return "\n".join(lines)


def headline_shortfall(results: Path, run: str = "h200-v2-r1", k: str = "4") -> str:
    """Issue 16, item 4: what E0 says of the headline LM sweep's restarts (``scripts/gpu_headline.sh
    lm``: 4 LM starts of 200 iterations, the estimator of E1[4]) at rho = 1, from the paired
    record ``results/exact-existence/<run>``: the share of the instances with a real solution
    that E1[k] misses, per cell, and its largest Wilson upper bound."""
    s = json.loads((results / "exact-existence" / run / "summary.json").read_text())
    cells = [c for c in s["cells"] if c["e1"][k].get("missed_of_existing")]
    worst = max(cells, key=lambda c: c["e1"][k]["missed_of_existing"][1])
    pts = [c["e1"][k]["missed"] / c["e0"]["successes"] for c in cells]
    big = [c for c in cells if c["degree"] >= 100]
    bw = max(big, key=lambda c: c["e1"][k]["missed_of_existing"][1]) if big else None
    line = (f"By this record, the headline LM sweep (`scripts/gpu_headline.sh lm`: {k} starts of "
            f"{s['config']['max_iters']} LM iterations, i.e. E1[{k}]) misses, at rho = 1 "
            f"and r = {s['cells'][0]['r']}, {min(pts):.3f} to {max(pts):.3f} of the instances that "
            f"have a real solution in these {len(cells)} cells (missed / existing); the largest "
            f"Wilson 95% upper bound is {worst['e1'][k]['missed_of_existing'][1]:.3f} "
            f"({worst['m']}x{worst['n']})")
    if bw is not None:
        line += (f", and {bw['e1'][k]['missed_of_existing'][1]:.3f} ({bw['m']}x{bw['n']}) over "
                 f"the cells of degree 100 or more")
    return line + (". Its own sizes (16x16 and up) are beyond E0's reach: this bounds the "
                   "shortfall for m, n <= 8 only, not in the sweep's cells.")


def exact_existence_bertini_table(results: Path, name: str = "crosscheck.json.gz") -> str:
    """Issue 16, the second route: E0 against Bertini 2 on the same instances, from
    ``results/exact-existence/bertini-cpu/<name>``."""
    import gzip

    r = json.loads(gzip.decompress((results / "exact-existence" / "bertini-cpu" /
                                    name).read_bytes()))
    lines = [f"E0 (lorank's tracker and certificate) against Bertini {r['bertini2']} "
             f"(`numerics/engine/bertini_route.py`: its zero-dimensional solver, real = every "
             f"coordinate's |imag| < {r['real_tol']:g}) on the same {r['trials']} instances per "
             f"cell (r = {r.get('rank', 1)}, rho = 1, seed {r['seed']}):", "",
             "| cell | degree | Bertini finds the degree | E0 certified | real counts agree | "
             "disagreements (exact real count where a route exists) | seconds, E0 / Bertini |",
             "|---|---|---|---|---|---|---|"]
    for c in r["cells"]:
        dis = "; ".join(f"trial {d['trial']}: E0 {d['e0_real']}, Bertini {d['bertini_real']}"
                        + (f", exact {d['exact_real']} ({d.get('exact_route', 'sturm')})"
                           if d.get("exact_real") is not None else "")
                        for d in c["disagreements"]) or "-"
        lines.append(f"| {c['m']}x{c['n']} | {c['degree']} | {c['bertini_finds_degree']}/"
                     f"{c['trials']} | {c['e0_certified']}/{c['trials']} | "
                     f"{c['real_counts_agree']}/{c['e0_certified']} | {dis} | "
                     f"{c['e0_s']:.1f} / {c['bertini_s']:.1f} |")
    dis = [(c, d) for c in r["cells"] for d in c["disagreements"]]
    wrong_parity = sum((d["bertini_real"] - d["bertini_finite"]) % 2 != 0 for _, d in dis)
    e0_parity = sum((d["e0_real"] - c["degree"]) % 2 == 0 for c, d in dis)
    exact = [d for _, d in dis if d.get("exact_real") is not None]
    lines += ["", (f"In {len(dis)} disagreements Bertini's real count has the parity of its own "
                   f"finite count in {len(dis) - wrong_parity} (real solutions of a real system "
                   f"have the parity of the complex ones) and E0's has the parity of the degree "
                   f"in {e0_parity}; where an exact route decides ({len(exact)} instances) it "
                   f"agrees with E0 in {sum(d['exact_real'] == d['e0_real'] for d in exact)}."
                   if dis else "No disagreement.")]
    lines += ["", f"Record `results/exact-existence/bertini-cpu/{name}` "
              f"({r['machine']}, Python {r['python']}, torch {r['torch']}), made by "
              "`scripts/exact_existence_bertini.py`."]
    return "\n".join(lines)


def learnable_rank_table(results: Path, run: str = "cpu-default") -> str:
    """Seed 004: the learned rank per task and L1 weight from ``results/learnable-rank/<run>``
    with the theory's band and the ledger's statuses."""
    s = json.loads((results / "learnable-rank" / run / "summary.json").read_text())
    env = (s.get("environment") or [{}])[0]
    sz, sol = s["sizes"], s["solver"]
    rows = ["| classes | lambda | band | learned rank [95% t] | seeds per rank | rank(Delta) at most | train acc |",
            "|---|---|---|---|---|---|---|"]
    for t in s["tasks"]:
        lr = t["learned_rank"]
        counts = ", ".join(f"{k}: {v}" for k, v in t["learned_rank_counts"].items())
        rows.append(f"| {t['classes']} | {t['lam']:g} | {t['band'][0]}..{t['band'][1]} | {lr['mean']:.2f} "
                    f"[{lr['lo']:.2f}, {lr['hi']:.2f}] | {counts} | {t['delta_rank_max']} | "
                    f"{t['train_acc']['mean']:.3f} |")
    lines = rows + ["", f"Record `results/learnable-rank/{run}` (n = m = {sz['n']}, initial rank "
                        f"{sz['rank']}, {sz['per_class']} examples per class, {s['seeds']['trials']} seeds, "
                        f"{sol['optimizer']} ({sol['steps']} steps), {s['units_found']} trials, "
                        f"{env.get('device_name', '?')}, {s['wall_time']['wall_s']:.0f} s). Ledger:"]
    lines += _ledger_lines(e for i, e in ledger_entries(results).items()
                           if i.startswith("LR.") and i.endswith(f".{run}"))
    return "\n".join(lines)


def encoder_table(results: Path) -> str:
    """Issue 15: every committed run of ``results/encoder-ntk/*`` (least rank and spectrum of real
    NTK features against the Gaussian-iid control, per cell), ``results/encoder-lora/*`` (test
    accuracy per rank) and ``results/encoder-gated/*`` (learned rank of the gated arm per task,
    size and lambda), with the ledger's statuses."""
    lines = []
    entries = ledger_entries(results)
    for folder in sorted((results / "encoder-ntk").glob("*/summary.json")):
        s = json.loads(folder.read_text())
        run = folder.parent.name
        env = (s.get("environment") or [{}])[0]
        lines += [f"Empirical NTK features, record `results/encoder-ntk/{run}` (layer "
                  f"{s['sizes']['layer']}, {s['seeds']['trials']} trials per cell, "
                  f"{s['units_found']} trials, {env.get('device_name', '?')}, "
                  f"{s['wall_time']['wall_s']:.0f} s; model sha256 "
                  f"`{s['provenance']['model_sha256'][:16]}`). Certified (E1) over trials at each "
                  "rank, real features / Gaussian-iid control; effective rank = participation ratio "
                  "of the Gram spectrum (mean):", "",
                  "| task | matrix | m x n | M | certified, real / control | eff. rank real / control | W1 to control |",
                  "|---|---|---|---|---|---|---|"]
        for c in s["cells"]:
            st = c["stats"]
            ranks = "; ".join(f"r = {p['r']} (rho {p['rho']:.3g}): {p['real']['successes']} / "
                              f"{p['gauss']['successes']} of {p['real']['trials']}" for p in c["ranks"])
            lines.append(f"| {c['task']} | {c['matrix']} | {c['m']}x{c['n']} | {c['M']} | {ranks} | "
                         f"{st['real_participation']['mean']:.2f} / {st['gauss_participation']['mean']:.2f} | "
                         f"{st['w1_to_gauss']['mean']:.2f} |")
        lines += ["", "Ledger:"]
        lines += _ledger_lines(e for i, e in entries.items()
                               if i.startswith("ENC-NTK.") and i.endswith("." + run))
        lines.append("")
    for folder in sorted((results / "encoder-lora").glob("*/summary.json")):
        s = json.loads(folder.read_text())
        run = folder.parent.name
        env = (s.get("environment") or [{}])[0]
        ranks = s["sizes"]["ranks"]
        label = {r: ("full FT" if r == 0 else f"r = {r}") for r in ranks}
        lines += [f"LoRA rank sweep, record `results/encoder-lora/{run}` ({s['model']['training']}; "
                  f"{s['seeds']['trials']} seeds, {s['units_found']} trials, "
                  f"{env.get('device_name', '?')}, {s['wall_time']['wall_s']:.0f} s). Test accuracy, "
                  "mean [95% t] over seeds:", "",
                  "| task | per class | " + " | ".join(label[r] for r in ranks) + " |",
                  "|---|---|" + "---|" * len(ranks)]
        for t in s["tasks"]:
            for z in t["sizes"]:
                by = {p["r"]: p["test_acc"] for p in z["ranks"]}
                cols = [(f"{by[r]['mean']:.3f}" + (f" [{by[r]['lo']:.3f}, {by[r]['hi']:.3f}]"
                                                   if by[r]["lo"] is not None else "")) if r in by else "-"
                        for r in ranks]
                lines.append(f"| {t['task']} | {z['per_class']} | " + " | ".join(cols) + " |")
        lines += ["", "Ledger:"]
        lines += _ledger_lines(e for i, e in entries.items()
                               if i.startswith("ENC-LORA.") and i.endswith("." + run))
        lines.append("")
    for folder in sorted((results / "encoder-gated").glob("*/summary.json")):
        s = json.loads(folder.read_text())
        run = folder.parent.name
        env = (s.get("environment") or [{}])[0]
        lines += [f"Gated arm (learned rank), record `results/encoder-gated/{run}` (initial rank "
                  f"{s['sizes']['rank']} on 12 matrices; {s['model']['training']}; "
                  f"{s['seeds']['trials']} seeds, {s['units_found']} trials, "
                  f"{env.get('device_name', '?')}, {s['wall_time']['wall_s']:.0f} s). Learned rank "
                  "per seed = largest over the matrices (max) and mean over the matrices that keep a "
                  "component (live mean); mean [95% t] over seeds:", "",
                  "| task | band | per class | lambda | learned rank, max | live mean | matrices adapted | test accuracy | train accuracy |",
                  "|---|---|---|---|---|---|---|---|---|"]

        def iv(d, digits=2):
            if not d:
                return "-"
            return f"{d['mean']:.{digits}f}" + (f" [{d['lo']:.{digits}f}, {d['hi']:.{digits}f}]"
                                                 if d["lo"] is not None else "")

        for t in s["tasks"]:
            for z in t["sizes"]:
                for p in z["lams"]:
                    lines.append(f"| {t['task']} | [{t['band'][0]}, {t['band'][1]}] | "
                                 f"{z['per_class']} | {p['lam']:g} | {iv(p['learned_max'])} | "
                                 f"{iv(p['learned_live_mean'])} | {iv(p['adapted'], 1)} | "
                                 f"{iv(p['test_acc'], 3)} | {p['train_acc']['mean']:.3f} |")
        lines += ["", "Ledger:"]
        lines += _ledger_lines(e for i, e in entries.items()
                               if i.startswith("ENC-GATED.") and i.endswith("." + run))
        lines.append("")
    return "\n".join(lines).rstrip()


def sweep_bench_table(results: Path) -> str:
    """Whole sweeps timed from fresh processes, per solver path, from ``results/bench/sweep-*.json``
    (:mod:`benchmarks.bench_sweep`)."""
    rows = ["| record | device | grid | system | sweep s | process s | compiled variants | cold compile s | outcomes vs first system |",
            "|---|---|---|---|---|---|---|---|---|"]
    for path in sorted((results / "bench").glob("sweep-*.json")):
        s = json.loads(path.read_text())
        g = s["grid"]
        grid = (f"{s['family']}: {g['sizes']} r={g['ranks']}, {len(g['rho'].split(','))} rho, "
                f"{g['trials']} trials, "
                + (f"{g['restarts']} starts" if "restarts" in g else f"budgets {g['budgets']}"))
        names = list(s["runs"])
        for name in names:
            run = s["runs"][name]
            comp = s["comparisons"].get(f"{names[0]}_vs_{name}")
            same = ("residuals equal to 1e-9 at every budget" if comp is not None
                    and "residual_tolerance" in comp else "identical")
            agree = ("-" if comp is None else
                     same if comp["outcomes_identical"] else f"{comp['trials_differing']} differ")
            c = run["compile"]
            if comp is not None and "iterations_identical" in comp and not comp["iterations_identical"]:
                agree += f"; {comp['trials_with_other_iterations']} stop at another iteration"
            fused = run.get("fused_cells")
            label = (" (fused kernel)" if run["fused_kernel_used"] and fused is None else
                     f" (fused kernel in {fused} of {len(run['cells'])} cells)" if fused else "")
            rows.append(f"| `results/bench/{path.name}` | {s['device_name']} | {grid} | {name}{label} | "
                        f"{run['sweep_seconds']:.1f} | {run['process_seconds']:.1f} | "
                        f"{'-' if c['variants_after_sweep'] is None else c['variants_after_sweep']} | "
                        f"{'-' if c['cold_compile_seconds'] is None else format(c['cold_compile_seconds'], '.2f')} | {agree} |")
    rows.append("")
    totals: dict = {}
    for path in sorted((results / "bench").glob("sweep-headline-lm-*.json")):
        s = json.loads(path.read_text())
        for name, run in s["runs"].items():
            t = totals.setdefault(name, {"seconds": 0.0, "records": [], "groups": {}})
            t["seconds"] += run["sweep_seconds"]
            t["records"].append(path.name)
            for cell in run["cells"]:
                key = f"{cell['m']}x{cell['n']} r={cell['r']}"
                t["groups"][key] = t["groups"].get(key, 0.0) + cell["seconds"]
    if totals:
        first = next(iter(totals))
        parts = []
        for name, t in totals.items():
            top = sorted(t["groups"].items(), key=lambda kv: -kv[1])[:4]
            parts.append(f"{name} {t['seconds']:.1f} s (largest: " + ", ".join(
                f"{k} {v:.1f} s" for k, v in top) + ")")
        ratios = "; ".join(f"{name}/{first} {t['seconds'] / totals[first]['seconds']:.2f}x"
                           for name, t in totals.items() if name != first)
        rows.append("The headline LM grid (`scripts/gpu_headline.sh sweep-bench`, records "
                    + ", ".join(f"`{r}`" for r in totals[first]["records"])
                    + "), sweep seconds summed over its records: " + "; ".join(parts)
                    + (f". Ratio: {ratios}." if ratios else "."))
    return "\n".join(rows).rstrip()


def tracking_chart_lines(results: Path) -> str:
    """Issue 16: failed paths of one tracking in the identity chart against a random complex
    chart, from every ``results/bench/tracking-chart-*.json`` (``benchmarks/tracking_chart.py``)."""
    rows = ["| cell | instances | chart | paths failed in the tracking chart | continued in "
            "another chart | failed in the end | certified from one tracking |",
            "|---|---|---|---|---|---|---|"]
    notes = []
    for path in sorted((results / "bench").glob("tracking-chart-*.json")):
        rec = json.loads(path.read_text())
        m, n, r, M = rec["cell"]
        for c in rec["charts"]:
            rows.append(f"| {m}x{n} r={r} (M = {M}) | {rec['trials']} | {c['chart']} | "
                        f"{c['failed_in_tracking_chart']} of {c['paths']} | "
                        f"{c['continued_in_another_chart']} | {c['failed_paths']} | "
                        f"{c['certified_first_tracking']}/{rec['trials']} |")
        env = rec["environment"]
        notes.append(f"Record `results/bench/{path.name}` ({env.get('device_name', '?')}, "
                     f"{rec['threads']} thread(s), commit "
                     f"{str((env.get('lorank_source') or {}).get('commit'))[:7]}; "
                     f"`{rec['command']}`): real counts "
                     + ("agree" if rec["real_counts_agree"] else "**differ**")
                     + f" on the {rec['both_certified']} instances both charts certify.")
    return "\n".join(rows + [""] + notes)


BLOCKS = {"sweep-bench": sweep_bench_table, "cstar": cstar_table, "cpu-default": cpu_default_line, "recipe-trend": recipe_trend_table,
          "bench": bench_table, "separability": separability_table, "pl": pl_table,
          "rademacher": rademacher_table, "xent": xent_table, "rank-sweep": rank_sweep_table,
          "gradient-flow": gradient_flow_table, "jang": jang_table, "stable-rank": stable_rank_table,
          "learnable-rank": learnable_rank_table, "bench-h200": bench_h200_table,
          "sweep-breakdown": sweep_breakdown_lines,
          "jang-h200": lambda results: jang_table(results, "h200", statements=False),
          "stable-rank-h200": lambda results: stable_rank_table(results, "h200", statements=False),
          "stable-rank-h200-decay": lambda results: stable_rank_table(results, "h200-decay", statements=False),
          "learnable-rank-h200": lambda results: learnable_rank_table(results, "h200"),
          "learnable-rank-h200-adam": lambda results: learnable_rank_table(results, "h200-adam"),
          "exact-existence": exact_existence_table, "encoder": encoder_table,
          "exact-existence-h200": lambda results: exact_existence_table(results, "h200"),
          "exact-existence-r2": lambda results: exact_existence_table(results, "r2-cpu"),
          "exact-existence-r3": lambda results: exact_existence_table(results, "r3-cpu"),
          "exact-existence-v2": lambda results: (exact_existence_table(results, "h200-v2-r1")
                                                 + "\n\n" + headline_shortfall(results)),
          "exact-existence-bertini": exact_existence_bertini_table,
          "exact-existence-bertini-r2": lambda results: exact_existence_bertini_table(
              results, "crosscheck-r2.json.gz"),
          "exact-above": exact_above_table, "exact-above-curve": exact_above_curve_table,
          "e0-separation": e0_separation_table, "tracking-chart": tracking_chart_lines,
          "exact-existence-v2-rk": lambda results: exact_existence_table(
              results, tuple(f"h200-v2-r{r}" for r in range(2, 8))
              + ("h200-v2-r3-rest", "h200-v2-r5-rest"))}


def render_block(name: str, results: Path | None = None) -> str:
    """One generated block of the README, from the records under ``results``."""
    return BLOCKS[name](Path(results) if results else REPO_ROOT / "results")


def refresh_readme(readme: Path | None = None, write: bool = False) -> str:
    """Return the README with every generated block refreshed (and write it if asked)."""
    global _REFRESH_ENTRIES
    readme = Path(readme) if readme else REPO_ROOT / "README.md"
    text = readme.read_text()
    _REFRESH_ENTRIES = {}
    try:
        for name in BLOCKS:
            pattern = re.compile(rf"(<!-- lorank:{name}:start -->\n)(?:.*?\n)?(<!-- lorank:{name}:end -->)", re.S)
            text = pattern.sub(lambda m, name=name: m.group(1) + render_block(name) + "\n" + m.group(2), text)
    finally:
        _REFRESH_ENTRIES = None
    if write:
        readme.write_text(text)
    return text


if __name__ == "__main__":  # pragma: no cover
    new = refresh_readme(write="--write" in sys.argv)
    if "--write" not in sys.argv:
        sys.exit(0 if new == (REPO_ROOT / "README.md").read_text() else 1)
