"""Ledger verdicts of the jang experiment (Jang, Lee, Ryu, seed 001; THEORY.md section 1),
torch-free.

:mod:`numerics.engine.jang` measures; this module turns a summary into statuses by the rules
below (fixed, with their thresholds, before the committed run was made) and committed
``results/jang/*/summary.json`` into ledger entries ``J.<claim>.<run>``. What each entry tests
(``claim_kind``): the paper's claims ``paper claim``, what a claim reaches ``scope``, checks of
our solvers ``method check``. The tolerances ``value_tol``, ``grad_tol``, ``hess_tol`` are the
summary's ``method`` (defaults 1e-4, 1e-6, 1e-6).

What is proved and what is measured: J1 is a theorem (the counting step is machine-checked as
``J1.extreme-point-count`` in :mod:`proofs.jang`, the rest cited), so a measurement can only
fail to *exhibit* the low-rank solution (a failure of our method, never a refutation). J2 is a
theorem for generic data; GD from random starts measures whether the landscape is benign *for
the algorithm* at the sizes run.

``existence`` (paper claim J1: a consistent system with M equations has a solution of rank r
with r(r+1)/2 <= M)
    *supported* if in every trial the reduction from the minimum-Frobenius solution (full rank)
    ends at a lift of rank R with R(R+1)/2 <= M, a Delta of numerical rank at most r0, and a
    relative residual at most :data:`FEAS_TOL`; *open* otherwise.
``existence-optimal`` (paper claim J1, through the SDP: the lifted SDP has an *optimal* extreme
point of rank R with R(R+1)/2 <= M)
    *supported* if every reduction from the projected ADMM optimum ends with R(R+1)/2 <= M,
    residual at most FEAS_TOL and value within ``value_tol`` of the certified dual lower bound;
    *open* otherwise.
``min-nuclear-rank`` (scope: the bound is about extreme points; the minimum-nuclear-norm
interpolant itself, unique for generic data and then an extreme point of the optimal face)
    over the trials whose ADMM value is certified (gap at most ``value_tol``): *supported* if
    every one has rank at most r0, *contradicted* if one has a larger rank, *open* with none
    certified. The text gives how far below r0 the ranks lie.
``routes-agree`` (method check: the SDP (cvxpy, Clarabel) and ADMM agree)
    *supported* if in every SDP trial the values agree to ``value_tol`` (relative) and the
    numerical ranks are equal; *contradicted* if one disagrees; *open* if no SDP trial ran.
``admm-certified`` (method check: the ADMM budget reaches the optimum)
    *supported* if every duality gap is at most ``value_tol``, else *contradicted*.
``reduction-feasible`` (method check: the reduction keeps the constraints and the value)
    *supported* if every reduced point has residual at most FEAS_TOL and the value-keeping
    reduction never raises ``tr X / 2`` above the start's value by more than
    :data:`VALUE_DRIFT`; else *contradicted*.
``landscape-above`` (paper claim J2: with r(r+1)/2 > M there are no spurious local minima, so
gradient descent from random starts reaches the convex optimum)
    pooled over the ranks with r(r+1)/2 > M: *contradicted* if some start is a certified
    spurious point (gradient <= grad_tol, least Hessian eigenvalue >= -hess_tol, value above
    (1 + value_tol) times a value attained at that rank); *supported* if none is and the Wilson
    lower bound (95%) of the fraction of starts reaching the certified convex optimum is at
    least :data:`WILSON_MIN` and every convex optimum is certified; *open* otherwise (budget
    exhaustion and saddle stalls lower the fraction, they never refute). The starts are pooled
    over instances and ranks; starts on one instance are not independent draws of an instance,
    so the Wilson bound is a summary of the starts run, not an interval over instances.
``landscape-below`` (scope: below the threshold the theorem says nothing; do spurious minima
occur there?)
    over the ranks with r(r+1)/2 <= M: *supported* (spurious minima occur: the threshold's
    hypothesis is not vacuous at these sizes) if at least one start is a certified spurious
    point; *open* if none is found (absence proves nothing). Never contradicted.
``landscape-budget`` (method check: the GD budget)
    *supported* if at most :data:`BUDGET_MAX` of all starts end with the gradient above
    ``grad_tol`` (class ``budget``) and every convex optimum is certified; else *contradicted*.

Examples
--------
>>> wilson_lower(80, 80) > 0.95, wilson_lower(79, 80) > 0.95
(True, False)
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from numerics.estimation.estimate import wilson_interval
from numerics.verdicts.capacity import claim_entries, seed_and_device

__all__ = ["SUMMARY_FORMAT", "SOURCE", "SCOPE_SOURCE", "METHOD_SOURCE", "FEAS_TOL", "VALUE_DRIFT",
           "WILSON_MIN", "BUDGET_MAX", "wilson_lower", "claim_verdicts", "ledger_entries"]

SUMMARY_FORMAT = "lorank.jang-summary/1"
SOURCE = "Jang, Lee, Ryu, LoRA Training in the NTK Regime has No Spurious Local Minima (ICML 2024, seed 001)"
SCOPE_SOURCE = "THEORY.md section 1 (the scope of seed 001's theorems, measured; not a claim of the paper)"
METHOD_SOURCE = "lorank's jang solvers (numerics/engine/jang.py)"

#: Largest relative residual ||calA(Delta) - y|| / ||y|| of a reduced (exact float64) point.
FEAS_TOL = 1e-9
#: Largest relative increase of tr X / 2 along the value-keeping reduction (float64 rounding).
VALUE_DRIFT = 1e-9
#: The Wilson lower bound of the success fraction above the threshold that counts as "reaches".
WILSON_MIN = 0.95
#: The largest fraction of starts left with a gradient above grad_tol by the GD budget.
BUDGET_MAX = 0.05


def wilson_lower(successes: int, trials: int, confidence: float = 0.95) -> float:
    """Lower end of the Wilson interval (0 with no trials).

    >>> round(wilson_lower(120, 120), 4)
    0.969
    >>> wilson_lower(0, 0)
    0.0
    """
    if trials <= 0:
        return 0.0
    return float(wilson_interval(successes, trials, confidence)[0])


def _exist_verdicts(s: dict) -> list:
    cells = [e for e in s["exist"] if e["trials"]]
    if not cells:
        return []
    tol = s["method"]["value_tol"]
    trials = sum(e["trials"] for e in cells)
    shapes = sorted({f"{e['m']}x{e['n']}" for e in cells})
    where = (f"sizes {', '.join(shapes)}, M in "
             f"{', '.join(str(M) for M in sorted({e['M'] for e in cells}))}, {trials} random systems "
             f"(G_i, y iid N(0, 1))")
    per = "; ".join(f"{e['m']}x{e['n']} M={e['M']}: r0={e['r0']}, R {e['red_lsq_R']['min']}.."
                    f"{e['red_lsq_R']['max']}" for e in cells)
    ok = all(e["red_lsq_within_bound"] == e["trials"] and e["red_lsq_residual_max"] <= FEAS_TOL
             for e in cells)
    res = max(e["red_lsq_residual_max"] for e in cells)
    out = [{"claim": "existence", "kind": "paper claim", "source": SOURCE,
            "status": "supported" if ok else "open",
            "text": (f"J1: every consistent system calA(Delta) = y with M equations has a solution of "
                     f"rank r with r(r+1)/2 <= M; exhibited by the Barvinok-Pataki reduction of the "
                     f"lifted SDP's feasible point from the minimum-Frobenius solution (full rank "
                     f"{min(e['lsq_rank']['min'] for e in cells)}..{max(e['lsq_rank']['max'] for e in cells)}):"
                     f" final lift rank R with R(R+1)/2 <= M and rank(Delta) <= r0 in "
                     f"{sum(e['red_lsq_within_bound'] for e in cells)} of {trials} trials, relative "
                     f"residual <= {res:.1e} (limit {FEAS_TOL:g}); {per}; {where}. J1 is a theorem "
                     f"(count: J1.extreme-point-count); this exhibits it, a failure would be our method's"),
            "detail": f"{sum(e['red_lsq_within_bound'] for e in cells)}/{trials} within the bound, "
                      f"residual <= {res:.1e}"}]
    ok_opt = all(e["red_opt_within_bound"] == e["trials"] and e["red_opt_residual_max"] <= FEAS_TOL
                 and e["red_opt_gap_max"] <= tol for e in cells)
    gap = max(e["red_opt_gap_max"] for e in cells)
    out.append({"claim": "existence-optimal", "kind": "paper claim", "source": SOURCE,
                "status": "supported" if ok_opt else "open",
                "text": (f"J1 through the SDP min tr(X)/2 over the lift: an optimal extreme point of rank "
                         f"R with R(R+1)/2 <= M, reached by the value-keeping reduction from the "
                         f"projected ADMM optimum: within the bound in "
                         f"{sum(e['red_opt_within_bound'] for e in cells)} of {trials} trials, value "
                         f"within {gap:.1e} of the certified dual lower bound (limit {tol:g}), residual "
                         f"<= {max(e['red_opt_residual_max'] for e in cells):.1e}; {where}"),
                "detail": f"{sum(e['red_opt_within_bound'] for e in cells)}/{trials} within the bound, "
                          f"value gap <= {gap:.1e}"})
    certified = sum(e["admm_certified"] for e in cells)
    over = sum(e["admm_certified_over"] for e in cells)
    status = "open" if not certified else "contradicted" if over else "supported"
    ranks = "; ".join(f"{e['m']}x{e['n']} M={e['M']}: ranks {e['admm_rank_counts']} vs r0={e['r0']}"
                      f" (least k with k(m+n-k) >= M: {e['manifold_rank']})" for e in cells)
    below = sum(e["admm_rank"]["mean"] * e["trials"] for e in cells) / trials
    r0_mean = sum(e["r0"] * e["trials"] for e in cells) / trials
    out.append({"claim": "min-nuclear-rank", "kind": "scope", "source": SCOPE_SOURCE, "status": status,
                "text": (f"the bound r(r+1)/2 <= M is about extreme points; the minimum-nuclear-norm "
                         f"interpolant itself (generically unique, hence an extreme point of the optimal "
                         f"face): rank above r0 in {over} of the {certified} of {trials} trials whose ADMM "
                         f"value is certified (gap <= {tol:g}); the ranks lie often well below r0: mean rank "
                         f"{below:.2f} against mean r0 {r0_mean:.2f}; {ranks}"),
                "detail": f"{certified} certified; mean rank {below:.2f} vs mean r0 {r0_mean:.2f}"})
    sdp = [e for e in cells if e.get("sdp_trials")]
    if sdp:
        n = sum(e["sdp_trials"] for e in sdp)
        diff = max(e["sdp_value_diff_max"] for e in sdp)
        agree = sum(e["sdp_rank_agree"] for e in sdp)
        status = "supported" if diff <= tol and agree == n else "contradicted"
        text = (f"the SDP route (cvxpy, Clarabel: status {sorted({x for e in sdp for x in e['sdp_status']})}) "
                f"and the ADMM route agree on min ||Delta||_*: largest relative value difference "
                f"{diff:.1e} (limit {tol:g}), equal numerical ranks in {agree} of {n} trials, SDP "
                f"residual <= {max(e['sdp_residual_max'] for e in sdp):.1e}")
    else:
        status, text, n, diff, agree = "open", "no SDP trial ran (--sdp-trials 0)", 0, 0.0, 0
    out.append({"claim": "routes-agree", "kind": "method check", "source": METHOD_SOURCE,
                "status": status, "text": text,
                "detail": f"{n} SDP trials, value diff <= {diff:.1e}, ranks equal {agree}/{n}"})
    gap = max(e["admm_gap_max"] for e in cells)
    out.append({"claim": "admm-certified", "kind": "method check", "source": METHOD_SOURCE,
                "status": "supported" if gap <= tol else "contradicted",
                "text": (f"ADMM ({s['solver']['admm_iters']} iterations) reaches the minimum nuclear "
                         f"norm: relative gap between the feasible upper bound and the dual lower bound "
                         f"at most {gap:.1e} (limit {tol:g}) in {certified} of {trials} trials certified"),
                "detail": f"largest gap {gap:.1e}"})
    drift = max(e["red_opt_value_excess_max"] for e in cells)
    res = max(max(e["red_lsq_residual_max"], e["red_opt_residual_max"]) for e in cells)
    ok = res <= FEAS_TOL and drift <= VALUE_DRIFT
    out.append({"claim": "reduction-feasible", "kind": "method check", "source": METHOD_SOURCE,
                "status": "supported" if ok else "contradicted",
                "text": (f"the Barvinok-Pataki reduction keeps calA(Delta) = y (largest relative residual "
                         f"{res:.1e}, limit {FEAS_TOL:g}) and never raises the value (largest relative "
                         f"increase {drift:.1e}, limit {VALUE_DRIFT:g}); steps from the minimum-Frobenius "
                         f"start {min(e['red_lsq_steps']['min'] for e in cells)}.."
                         f"{max(e['red_lsq_steps']['max'] for e in cells)}"),
                "detail": f"residual <= {res:.1e}, value increase <= {drift:.1e}"})
    return out


def _land_verdicts(s: dict) -> list:
    land = [e for e in s["land"] if e["starts"]]
    if not land:
        return []
    tol = s["method"]["value_tol"]
    sz = s["sizes"]["land"]
    M = sz["M"]
    where = (f"{sz['m']}x{sz['n']}, M = {M}, weight decay {s['solver']['weight_decay']:g} "
             f"||calA^* y||_op, {s['solver']['starts']} starts per instance, {s['solver']['gd_iters']} "
             f"GD iterations; tolerances value {tol:g}, gradient {s['method']['grad_tol']:g}, Hessian "
             f"{s['method']['hess_tol']:g}")
    conv_ok = all(e["conv_gap_max"] is not None and e["conv_gap_max"] <= tol for e in land)
    out = []
    above = [e for e in land if e["above"]]
    if above:
        n = sum(e["starts"] for e in above)
        k = sum(e["classes"]["optimal"] for e in above)
        spur = sum(e["classes"]["spurious"] for e in above)
        lo = wilson_lower(k, n, s["method"].get("confidence", 0.95))
        status = ("contradicted" if spur else
                  "supported" if lo >= WILSON_MIN and conv_ok else "open")
        per = "; ".join(f"r={e['r']}: " + ", ".join(f"{c} {v}" for c, v in e["classes"].items() if v)
                        for e in above)
        out.append({"claim": "landscape-above", "kind": "paper claim", "source": SOURCE, "status": status,
                    "text": (f"J2: with r(r+1)/2 > M weight-decayed LoRA has no spurious local minima: "
                             f"{k} of {n} gradient-descent starts reach the certified convex optimum "
                             f"(Wilson 95% lower bound {lo:.3f}, read as reaching at >= {WILSON_MIN:g}), "
                             f"{spur} certified spurious points; {per}; {where}"),
                    "detail": f"{k}/{n} optimal, Wilson lower {lo:.3f}, {spur} spurious"})
    below = [e for e in land if not e["above"]]
    if below:
        spur = sum(e["classes"]["spurious"] for e in below)
        n = sum(e["starts"] for e in below)
        per = "; ".join(f"r={e['r']}: " + ", ".join(f"{c} {v}" for c, v in e["classes"].items() if v)
                        for e in below)
        ex = [x for e in below for x in e["spurious_examples"]][:2]
        shown = "; ".join(f"instance {x['trial']} start {x['start']}: {100 * x['excess']:.2f}% above, "
                          f"gradient {x['grad']:.1e}, least Hessian eigenvalue {x['hess_min']:.2e}"
                          for x in ex)
        out.append({"claim": "landscape-below", "kind": "scope", "source": SCOPE_SOURCE,
                    "status": "supported" if spur else "open",
                    "text": (f"below the threshold (r(r+1)/2 <= M) J2 guarantees nothing; certified "
                             f"spurious local minima (stationary, PSD Hessian, value above one "
                             f"attained at the same rank) in {spur} of {n} starts; {per}"
                             + (f"; e.g. {shown}" if shown else "") + f"; {where}. Absence would "
                             "prove nothing; the paper claims nothing here"),
                    "detail": f"{spur}/{n} certified spurious below the threshold"})
    n = sum(e["starts"] for e in land)
    budget = sum(e["classes"]["budget"] for e in land)
    gap = max((e["conv_gap_max"] for e in land if e["conv_gap_max"] is not None), default=float("nan"))
    ok = budget <= BUDGET_MAX * n and conv_ok
    out.append({"claim": "landscape-budget", "kind": "method check", "source": METHOD_SOURCE,
                "status": "supported" if ok else "contradicted",
                "text": (f"the solver budgets suffice: {budget} of {n} GD starts end with the gradient "
                         f"above the tolerance (limit {BUDGET_MAX:g} of them); FISTA's duality gap for "
                         f"the convex optimum at most {gap:.1e} (limit {tol:g})"),
                "detail": f"{budget}/{n} starts at budget, convex gap <= {gap:.1e}"})
    return out


def claim_verdicts(summary: dict) -> list[dict]:
    """Every claim's status, kind, source and sentence, from a summary (rules of the module
    docstring)."""
    return _exist_verdicts(summary) + _land_verdicts(summary)


def _tail(summary: dict, record) -> str:
    """Seed and device, and for an interrupted run what it covers."""
    tail = seed_and_device(summary, record)
    if not summary.get("complete", True):
        tail += (f" [INCOMPLETE run: {summary['units_found']} of {summary['units_expected']} "
                 f"units; a claim whose units are missing has no entry]")
    return tail


def ledger_entries(results_dir) -> list[dict]:
    """One entry ``J.<claim>.<run>`` per claim of every committed
    ``results_dir/jang/*/summary.json``, statuses re-derived from the stored numbers.

    >>> ledger_entries("/nonexistent")
    []
    """
    return claim_entries(results_dir, "jang", SUMMARY_FORMAT, "J", claim_verdicts, tail=_tail)
