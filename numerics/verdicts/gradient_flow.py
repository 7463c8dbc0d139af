"""Ledger verdicts of the gradient-flow experiment (seed 002, THEORY.md section 3), torch-free.

:mod:`numerics.engine.gradient_flow` measures; this module turns a summary into statuses by the
rules below (fixed, with their thresholds, before the committed run was made) and committed
``results/gradient-flow/*/summary.json`` into ledger entries ``GF.<claim>.<run>``. What each
entry tests (``claim_kind``) is said per claim: the seed's claims are ``paper claim``, THEORY.md's
readings beyond them ``our heuristic``, checks of our own solver ``method check``.

``steps-to-flow.simultaneous`` / ``steps-to-flow.sequential`` (paper claim: both updates approach
the same flow, error O(eta) on a fixed horizon)
    The per-trial slope of log(error) against log(eta), its mean over trials with a 95% t
    interval. *supported*: the interval lies inside ``1 +- slope_margin`` (0.1, the summary's
    ``method.slope_margin``) and the reference flow is resolved (its error estimate at most
    :data:`REFERENCE_RATIO` times the smallest GD error); *contradicted*: resolved and the
    interval misses ``[1 - margin, 1 + margin]`` entirely; *open* otherwise.
``gd-drift`` (our heuristic: the drift of ``B^T B - A A^T`` along GD is O(eta) on the horizon)
    The same test on the drift's slope, for both schemes (supported if both pass, contradicted
    if either misses the band).
``flow-conserves`` (method check: the GD drift measured is GD's, not our solver's)
    *supported* if the RK4 reference flow of the steps part drifts (relative) by at most
    :data:`REFERENCE_RATIO` times the smallest GD drift it is compared with, in every trial;
    else *contradicted*. The drifts of the eym part's flow (a coarser RK4 step, used only to
    reach the limit) are quoted, not judged.
``flow-equations-autograd`` (method check: GF.flow-equations at the experiment's sizes)
    *supported* if torch autograd agrees with ``(G A^T, B^T G)`` to :data:`AUTOGRAD_TOL`
    (relative, largest entry) in every trial, else *contradicted*.
``trace-zero-loss`` (paper claim: zero final loss for the trace-squared objective)
    *supported* if every trial ends with ``L(T) / L(0) <= ZERO_LOSS`` and never exceeds the
    bound ``L(0) exp(-2 k0 t)`` of GF.balanced-decay by more than :data:`BOUND_TOL` relative
    (at the checkpoints where the bound is above float64's resolution of ``L``, see
    :data:`numerics.engine.gradient_flow.RESOLVED_FLOOR`);
    *contradicted* if some trial stalls (``L(T) / L(0) > STALL``) or breaks the proved bound;
    *open* otherwise.
``trace-traceless.lora`` / ``trace-traceless.full`` (our heuristic: THEORY.md's "the traceless
part of the update is never touched", for the LoRA update B A and for the full update)
    *supported* if the traceless share ``||D - tr(D)/n I|| / ||D||`` is at most
    :data:`TRACELESS_ZERO` in every trial; *contradicted* if it is at least
    :data:`TRACELESS_NONZERO` in every trial; *open* otherwise.
``eym-convergence`` (paper claim: from a spectral start the flow converges to the
Eckart-Young-Mirsky truncation)
    *supported* if every trial ends within :data:`EYM_TOL` of the truncation (relative distance)
    and its relative error is the truncation's (mpmath, finite spectrum) to :data:`EYM_TOL`
    relative; *contradicted* if some trial is stationary (relative gradient at most
    :data:`STATIONARY`) at a distance above :data:`FAR`; *open* otherwise.
``eym-rate.alpha-<a>`` (paper claim at alpha = 1, the seed's O(r^(-1/2)); our heuristic at other
alpha)
    *supported* if in every converged trial (distance at most EYM_TOL) and rank the relative
    error is at most ``c_hi r^(1/2 - alpha)`` (proofs.tails.rate_constants; the upper half of
    GF.ey-tail-general) and every trial converged; *contradicted* if a converged trial exceeds
    it; *open* otherwise.
``eym-exponent.alpha-<a>`` (our heuristic: the exponent of THEORY.md's Theta(r^(1/2-alpha)))
    The least-squares slope of log(relative error) against log(r) over the rank grid:
    *supported* if it is within :data:`EXPONENT_MARGIN` of ``1/2 - alpha``; *open* otherwise --
    a finite rank grid of a finite spectrum cannot contradict an asymptotic exponent (the
    exponent itself is proved for the infinite spectrum: GF.ey-tail-general).

Examples
--------
>>> interval_status({"mean": 1.01, "lo": 0.99, "hi": 1.03}, 0.1, resolved=True)
'supported'
>>> interval_status({"mean": 2.0, "lo": 1.9, "hi": 2.1}, 0.1, resolved=True)
'contradicted'
>>> interval_status({"mean": 1.0, "lo": 0.8, "hi": 1.2}, 0.1, resolved=True)
'open'
>>> ledger_entries("/nonexistent")
[]
"""

from __future__ import annotations

from numerics.verdicts.capacity import claim_entries

__all__ = ["SUMMARY_FORMAT", "SOURCE", "HEURISTIC_SOURCE", "REFERENCE_RATIO",
           "AUTOGRAD_TOL", "ZERO_LOSS", "BOUND_TOL", "STALL", "TRACELESS_ZERO",
           "TRACELESS_NONZERO", "EYM_TOL", "STATIONARY", "FAR", "EXPONENT_MARGIN",
           "interval_status", "claim_verdicts", "ledger_entries"]

SUMMARY_FORMAT = "lorank.gradient-flow-summary/1"
SOURCE = "Rushka, Klabjan, Rank-Accuracy Trade-off for LoRA: A Gradient-Flow Analysis (seed 002)"
HEURISTIC_SOURCE = "THEORY.md section 3 (our reading of seed 002, not a claim of the paper)"
METHOD_SOURCE = "lorank's gradient-flow solver (numerics/engine/gradient_flow.py)"

#: The reference flow counts as resolved when its error estimate is at most this fraction of the
#: smallest gradient-descent error it is compared with.
REFERENCE_RATIO = 1e-3
#: Largest relative difference between torch autograd and the flow equations (float64).
AUTOGRAD_TOL = 1e-10
#: L(T) / L(0) at or below which the trace-squared loss counts as zero (float64 rounding of
#: c = tr W - t is about 1e-16 |t|, so L reaches about 1e-32 t^2 at best).
ZERO_LOSS = 1e-12
#: Relative excess over the proved bound L(0) exp(-2 k0 t) tolerated (RK4 error).
BOUND_TOL = 1e-6
#: L(T) / L(0) above which a trial has stalled.
STALL = 0.5
#: Traceless shares: zero (float rounding) and clearly nonzero.
TRACELESS_ZERO, TRACELESS_NONZERO = 1e-10, 1e-6
#: Convergence to the Eckart-Young-Mirsky truncation: relative distance and relative deviation.
EYM_TOL = 1e-6
#: A trial is stationary when its relative gradient is at most this; "far" above this distance.
STATIONARY, FAR = 1e-10, 1e-3
#: The fitted exponent counts as 1/2 - alpha within this margin (stated before the run).
EXPONENT_MARGIN = 0.1


def interval_status(slope: dict, margin: float, resolved: bool, target: float = 1.0) -> str:
    """``supported`` if the interval ``[lo, hi]`` lies inside ``target +- margin``,
    ``contradicted`` if it misses that band entirely, ``open`` otherwise (also when the
    reference is not ``resolved`` or there is no interval).

    >>> interval_status({"mean": 1.0, "lo": None, "hi": None}, 0.1, resolved=True)
    'open'
    >>> interval_status({"mean": 1.0, "lo": 0.99, "hi": 1.01}, 0.1, resolved=False)
    'open'
    """
    lo, hi = slope.get("lo"), slope.get("hi")
    if not resolved or lo is None or hi is None:
        return "open"
    if target - margin <= lo and hi <= target + margin:
        return "supported"
    if hi < target - margin or lo > target + margin:
        return "contradicted"
    return "open"


def _iv(d: dict) -> str:
    from numerics.estimation.estimate import format_interval

    return format_interval(d, 4)

def _steps_verdicts(s: dict) -> list:
    st = s["steps"]
    if not st.get("trials"):
        return []
    margin = s["method"]["slope_margin"]
    ref = st["reference"]
    resolved = ref["ratio"] <= REFERENCE_RATIO
    where = (f"{st['trials']} trials, horizon T = {st['horizon']:g}, eta in "
             f"{', '.join(f'{e:g}' for e in st['etas'])}; reference RK4 error estimate up to "
             f"{ref['error_max']:.2e}, {ref['ratio']:.1e} of the smallest GD error "
             f"({'resolved' if resolved else 'NOT resolved'}: limit {REFERENCE_RATIO:g})")
    out = []
    for scheme, key in (("simultaneous", "error_sim"), ("sequential", "error_seq")):
        slope = st[key]["slope"]
        status = interval_status(slope, margin, resolved)
        out.append({"claim": f"steps-to-flow.{scheme}", "kind": "paper claim", "source": SOURCE,
                    "status": status,
                    "text": (f"{scheme} gradient steps approach the gradient flow with error O(eta) "
                             f"on a fixed horizon: slope of log(error) against log(eta) "
                             f"{_iv(slope)} (95% t over trials; per-trial range "
                             f"{st[key]['slope_range'][0]:.4f} to {st[key]['slope_range'][1]:.4f}), "
                             f"read as 1 within +-{margin:g}; {where}. Difference of the two "
                             f"schemes: slope {_iv(st['gap_sim_seq']['slope'])}"),
                    "detail": f"slope {_iv(slope)}: {status}"})
    drifts = [interval_status(st[k]["slope"], margin, True) for k in ("drift_sim", "drift_seq")]
    status = ("supported" if all(x == "supported" for x in drifts) else
              "contradicted" if "contradicted" in drifts else "open")
    out.append({"claim": "gd-drift", "kind": "our heuristic", "source": HEURISTIC_SOURCE,
                "status": status,
                "text": (f"along gradient descent the drift of B^T B - A A^T on the horizon is "
                         f"O(eta) (O(eta^2) per step): slope simultaneous "
                         f"{_iv(st['drift_sim']['slope'])}, sequential "
                         f"{_iv(st['drift_seq']['slope'])}, read as 1 within +-{margin:g}; "
                         f"{st['trials']} trials"),
                "detail": f"drift slopes: {', '.join(drifts)}"})
    return out


def _method_verdicts(s: dict) -> list:
    checks, eym_drifts = [], []
    st = s["steps"]
    out = []
    if st.get("trials"):
        checks.append(("steps", st["autograd_rel_max"]))
    if s["trace"].get("trials"):
        checks.append(("trace", s["trace"]["autograd_rel_max"]))
    for e in s["eym"]:
        for p in e["per_rank"]:
            if p["trials"]:
                eym_drifts.append(p["flow_drift_max"])
                checks.append((f"eym alpha={e['alpha']:g} r={p['r']}", p["autograd_rel_max"]))
    if st.get("trials"):
        ratio = st["flow_drift_max"] / st["smallest_gd_drift"]
        status = "supported" if ratio <= REFERENCE_RATIO else "contradicted"
        quoted = (f"; the eym part's RK4 (step {s['solver']['ey_step']:g}) drifts by at most "
                  f"{max(eym_drifts):.1e}, quoted only" if eym_drifts else "")
        out.append({"claim": "flow-conserves", "kind": "method check", "source": METHOD_SOURCE,
                    "status": status,
                    "text": (f"the reference flow keeps B^T B - A A^T (GF.balancedness) far below the "
                             f"GD drift it is compared with: largest relative drift "
                             f"{st['flow_drift_max']:.1e}, {ratio:.1e} of the smallest GD drift "
                             f"{st['smallest_gd_drift']:.1e} (limit {REFERENCE_RATIO:g})" + quoted),
                    "detail": f"flow drift {st['flow_drift_max']:.1e} = {ratio:.1e} x smallest GD drift"})
    if checks:
        worst = max(checks, key=lambda x: x[1])
        status = "supported" if worst[1] <= AUTOGRAD_TOL else "contradicted"
        sz = s["sizes"]
        out.append({"claim": "flow-equations-autograd", "kind": "method check",
                    "source": METHOD_SOURCE, "status": status,
                    "text": (f"torch autograd of f(W0 + BA) equals (G A^T, B^T G) (GF.flow-equations) "
                             f"at the experiment's sizes ({sz['steps']['m']}x{sz['steps']['n']} "
                             f"r={sz['steps']['r']} regression, {sz['trace']['n']}x{sz['trace']['n']}"
                             f" trace, {sz['eym']['n']}x{sz['eym']['n']} Frobenius) to "
                             f"{AUTOGRAD_TOL:g}: largest relative difference {worst[1]:.2e} "
                             f"({worst[0]})"),
                    "detail": f"largest autograd difference {worst[1]:.2e}"})
    return out


def _trace_verdicts(s: dict) -> list:
    tr = s["trace"]
    if not tr.get("trials"):
        return []
    end, bound = tr["loss_ratio_end"], tr["bound_ratio_max"]
    if end["max"] <= ZERO_LOSS and bound <= 1 + BOUND_TOL:
        status = "supported"
    elif end["max"] > STALL or bound > 1 + BOUND_TOL:
        status = "contradicted"
    else:
        status = "open"
    sz = s["sizes"]["trace"]
    where = (f"n = {sz['n']}, r = {sz['r']}, {tr['trials']} trials, LoRA start B0 = 0, horizon "
             f"T = {tr['times'][-1]:g}")
    out = [{"claim": "trace-zero-loss", "kind": "paper claim", "source": SOURCE, "status": status,
            "text": (f"the trace-squared loss 1/2 (tr W - t)^2 reaches zero along the LoRA flow: "
                     f"L(T)/L(0) from {end['min']:.2e} to {end['max']:.2e} (median "
                     f"{end['q50']:.2e}), zero read as <= {ZERO_LOSS:g}; L(t) / (L(0) exp(-2 k0 t)) "
                     f"at most {bound:.6f} at the checkpoints where the bound is resolved (at least "
                     f"{tr['bound_checkpoints_min']} of {len(tr['times'])} per trial; "
                     f"GF.balanced-decay, tolerance {BOUND_TOL:g}); k0 = ||A0||^2 from {tr['k0']['min']:.3f} to "
                     f"{tr['k0']['max']:.3f}; {where}"),
            "detail": f"max L(T)/L(0) {end['max']:.2e}, max bound ratio {bound:.6f}"}]
    for which, label in (("lora", "the LoRA update B A"), ("full", "the full-parameter update W - W0")):
        q = tr[f"traceless_{which}"]
        if q["max"] <= TRACELESS_ZERO:
            st = "supported"
        elif q["min"] >= TRACELESS_NONZERO:
            st = "contradicted"
        else:
            st = "open"
        out.append({"claim": f"trace-traceless.{which}", "kind": "our heuristic",
                    "source": HEURISTIC_SOURCE, "status": st,
                    "text": (f"THEORY.md's 'the traceless part of the update is never touched', read "
                             f"for {label}: traceless share ||D - tr(D)/n I|| / ||D|| at T from "
                             f"{q['min']:.2e} to {q['max']:.2e} (median {q['q50']:.2e}); zero read "
                             f"as <= {TRACELESS_ZERO:g}, nonzero as >= {TRACELESS_NONZERO:g} in every "
                             f"trial; {where}"),
                    "detail": f"traceless share {q['min']:.2e}..{q['max']:.2e}"})
    return out


def _eym_verdicts(s: dict) -> list:
    groups = [(e, p) for e in s["eym"] for p in e["per_rank"] if p["trials"]]
    if not groups:
        return []
    sz = s["sizes"]["eym"]
    where = (f"n = {sz['n']}, s_j = j^-alpha, spectral start B0 = 0, A0 = "
             f"{s['solver']['spectral_scale']:g} V_r^T, horizon {s['solver']['ey_horizon']:g}")
    worst_d = max(p["distance_max"] for _, p in groups)
    worst_rel = max(p["rel_dev_max"] for _, p in groups)
    stuck = [(e["alpha"], p["r"]) for e, p in groups
             if p["grad_rel_max"] <= STATIONARY and p["distance_max"] > FAR]
    if worst_d <= EYM_TOL and worst_rel <= EYM_TOL:
        status = "supported"
    elif stuck:
        status = "contradicted"
    else:
        status = "open"
    out = [{"claim": "eym-convergence", "kind": "paper claim", "source": SOURCE, "status": status,
            "text": (f"from a spectral start the flow of 1/2 ||BA - Y||^2 converges to the "
                     f"Eckart-Young-Mirsky truncation: largest relative distance to Y_r "
                     f"{worst_d:.2e}, largest relative deviation of the error from the truncation's "
                     f"(mpmath) {worst_rel:.2e} (limit {EYM_TOL:g}) over alpha in "
                     f"{', '.join(f'{e:g}' for e in sz['alphas'])} and r in "
                     f"{', '.join(str(r) for r in sz['ranks'])}; {where}"
                     + (f"; stationary far from Y_r at {stuck}" if stuck else "")),
            "detail": f"max distance {worst_d:.2e}, max deviation {worst_rel:.2e}"}]
    for e in s["eym"]:
        done = [p for p in e["per_rank"] if p["trials"]]
        if not done:
            continue
        a = e["alpha"]
        tag = f"alpha-{a:g}"
        converged = all(p["distance_max"] <= EYM_TOL for p in done)
        over = [p["r"] for p in done if p["distance_max"] <= EYM_TOL
                and p["rel_error"]["max"] > p["bound_hi"] * (1 + 1e-9)]
        status = "contradicted" if over else "supported" if converged else "open"
        ratios = ", ".join(f"r={p['r']}: {p['rel_error']['max'] / p['bound_hi']:.3f}" for p in done)
        paper = a == 1.0
        out.append({"claim": f"eym-rate.{tag}", "kind": "paper claim" if paper else "our heuristic",
                    "source": SOURCE if paper else HEURISTIC_SOURCE, "status": status,
                    "text": (f"the relative error of the flow's limit is O(r^(1/2 - alpha)) at alpha = "
                             f"{a:g}" + (" (the seed's O(r^(-1/2)))" if paper else "")
                             + f": at most c_hi r^({0.5 - a:g}) with c_hi = {e['c_hi']:.4f} "
                             f"(GF.ey-tail-general); measured / bound per rank: {ratios}; {where}"),
                    "detail": f"{len(over)} ranks above the bound" + ("" if converged else
                                                                      ", not all converged")})
        if "fitted_exponent" in e:
            diff = abs(e["fitted_exponent"] - e["predicted_exponent"])
            status = "supported" if diff <= EXPONENT_MARGIN else "open"
            out.append({"claim": f"eym-exponent.{tag}", "kind": "our heuristic",
                        "source": HEURISTIC_SOURCE, "status": status,
                        "text": (f"the relative error scales as r^(1/2 - alpha) = r^({e['predicted_exponent']:g})"
                                 f" at alpha = {a:g}: fitted exponent over r in "
                                 f"{', '.join(str(p['r']) for p in done)}: {e['fitted_exponent']:.4f} "
                                 f"(the exact finite-spectrum tails give {e['finite_exponent']:.4f}, "
                                 f"the infinite ones {e['infinite_exponent']:.4f} on the same grid), "
                                 f"read as 1/2 - alpha within +-{EXPONENT_MARGIN:g}; a finite grid "
                                 f"cannot contradict the asymptotic exponent (proved: "
                                 f"GF.ey-tail-general); {where}"),
                        "detail": f"|fitted - predicted| = {diff:.4f}"})
    return out


def claim_verdicts(summary: dict) -> list[dict]:
    """Every claim's status, kind, source and sentence, from a summary (rules of the module
    docstring)."""
    return (_steps_verdicts(summary) + _method_verdicts(summary) + _trace_verdicts(summary)
            + _eym_verdicts(summary))


def ledger_entries(results_dir) -> list[dict]:
    """One entry ``GF.<claim>.<run>`` per claim of every committed
    ``results_dir/gradient-flow/*/summary.json``, statuses re-derived from the stored numbers.

    >>> ledger_entries("/nonexistent")
    []
    """
    return claim_entries(results_dir, "gradient-flow", SUMMARY_FORMAT, "GF", claim_verdicts)
