"""gradient-flow family: seed 002 by measurement (THEORY.md section 3; issue 14, item 2).

Three parts in one run (the model, the solvers and the outcomes are in
:mod:`numerics.engine.gradient_flow`, the verdict rules in :mod:`numerics.verdicts.gradient_flow`,
the exact statements in :mod:`proofs.gradient_flow`):

- ``steps``, cell ``(1, m, n, r)``: simultaneous and sequential gradient steps against the flow
  (RK4, checked against its own half step) on a fixed horizon for several ``eta``; the slope of
  log(error) against log(eta), the drift of ``B^T B - A A^T``;
- ``trace``, cell ``(2, n, n, r)``: the trace-squared loss along the LoRA flow, against the proved
  bound, and the traceless part of the LoRA and of the full-parameter update;
- ``eym``, cell ``(3, alpha index + 1, r, n)``: the Frobenius low-rank flow from a spectral start
  against the Eckart-Young-Mirsky truncation and the mpmath tails, for ``s_j = j^-alpha``.

The committed CPU default::

    lorank gradient-flow --out runs/gradient-flow-default

Batched runs are not bitwise equal to one-trial runs: a batched matrix product may round its
last bits differently with the batch size (every decision and every number to 1e-12 agree; the
contract tests compare them so).

Examples
--------
>>> cfg = FAMILY.config(ey_ranks=(1, 2), alphas=(1.0,))
>>> FAMILY.cells(cfg)
[(1, 12, 10, 3), (2, 8, 8, 2), (3, 1, 1, 96), (3, 1, 2, 96)]
>>> FAMILY.from_spec(FAMILY.record_spec(cfg)) == cfg
True
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .options import (MAX_ITERATIONS, MAX_SCALE, MAX_THREADS, MAX_TRIALS, at_most, device,
                      float_list, int_list, nonneg_int, one_float, one_int, option)
from .protocol import Family, memory_limit

__all__ = ["FAMILY", "GradientFlowConfig", "render_summary"]

#: The largest power-law exponent alpha accepted (j^-alpha stays well inside float64 at the
#: sizes used, and the tail is not lost below rounding).
MAX_ALPHA = 4.0
#: The largest matrix side of any part (a trial holds a few n x n float64 matrices per batch).
MAX_SIDE = 4096


def _positive(maximum=MAX_SCALE):
    return at_most(maximum, lambda name, text: one_float(name, text))


def _side(name, text):
    return at_most(MAX_SIDE)(name, text)


def _alphas(name, text):
    values = float_list(name, text)
    bad = [a for a in values if not 0.5 < a <= MAX_ALPHA]
    if bad:
        raise InvalidArgument(f"--{name} values must lie in (0.5, {MAX_ALPHA:g}] (the tail sum "
                              f"converges only for alpha > 1/2), got {bad[0]!r} in {text!r}")
    return values


def _etas(name, text):
    values = at_most(1.0, float_list)(name, text)
    if len(values) < 2:
        raise InvalidArgument(f"--{name} needs at least two step sizes to fit a slope, got {text!r}")
    return tuple(sorted(values, reverse=True))


@dataclass(frozen=True)
class GradientFlowConfig:
    """Everything that determines a gradient-flow run, and its analysis."""

    m: int = option(12, "steps part: rows of W (the regression features G_i are m x n)", _side)
    n: int = option(10, "steps part: columns of W", _side)
    rank: int = option(3, "steps part: LoRA rank r (at most min(m, n))", one_int)
    examples: int = option(40, "steps part: examples M of the squared loss "
                           "1/(2M) sum_i (<G_i, W> - y_i)^2", at_most(MAX_TRIALS))
    horizon: float = option(2.0, "steps part: flow time T at which GD and the flow are compared",
                            _positive(1e3))
    etas: tuple = option((0.1, 0.05, 0.025, 0.0125, 0.00625), "steps part: GD step sizes eta "
                         "(each must divide --horizon; at least two)", _etas)
    ref_step: float = option(0.005, "steps part: RK4 step of the reference flow (its half step "
                             "is the reference; at most the smallest eta)", _positive(1.0))
    trials: int = option(20, "steps and trace parts: random instances (seeds) each",
                         at_most(MAX_TRIALS))
    trace_n: int = option(8, "trace part: size n of the square W", _side)
    trace_rank: int = option(2, "trace part: LoRA rank r (at most --trace-n)", one_int)
    trace_horizon: float = option(10.0, "trace part: flow time T", _positive(1e3))
    trace_step: float = option(0.01, "trace part: RK4 step (T / step must be a multiple of 10)",
                               _positive(1.0))
    ey_n: int = option(96, "eym part: size n of the square target Y = U diag(j^-alpha) V^T", _side)
    ey_ranks: tuple = option((1, 2, 4, 8, 16), "eym part: ranks r (each below --ey-n)",
                             at_most(MAX_SIDE, int_list))
    alphas: tuple = option((0.75, 1.0, 1.5), "eym part: power-law exponents alpha of s_j = "
                           f"j^-alpha, in (0.5, {MAX_ALPHA:g}]", _alphas)
    ey_horizon: float = option(30.0, "eym part: flow time T", _positive(1e3))
    ey_step: float = option(0.05, "eym part: RK4 step", _positive(1.0))
    spectral_scale: float = option(1.0, "eym part: a0 of the spectral start B0 = 0, A0 = a0 V_r^T",
                                   _positive(1e3))
    ey_trials: int = option(2, "eym part: instances (random U, V) per (alpha, r)",
                            at_most(MAX_TRIALS))
    seed: int = option(0, "global seed", nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k (float64 on either)", device)
    batch_size: int = option(10, "trials per batch and per checkpoint", at_most(MAX_TRIALS),
                             role="run")
    threads: int = option(1, "torch CPU threads during the run", at_most(MAX_THREADS), role="run")
    slope_margin: float = option(0.1, "a fitted slope counts as 1 when its 95% interval lies "
                                 "within 1 +- this margin", _positive(1.0), role="analysis")


def _divides(step: float, horizon: float) -> bool:
    k = round(horizon / step)
    return k >= 1 and abs(k * step - horizon) <= 1e-9 * horizon


class _GradientFlow(Family):
    name = "gradient-flow"
    command = "gradient-flow"
    verdicts = "numerics.verdicts.gradient_flow"
    Config = GradientFlowConfig
    summary_format = "lorank.gradient-flow-summary/1"
    figure_stem = "gradient_flow"
    title = "seed 002: gradient descent against the LoRA gradient flow, trace loss, Eckart-Young"
    batch_invariant = False

    def grid_size(self, config) -> int:
        return 2 + len(config.alphas) * len(config.ey_ranks)

    def grid_text(self, config) -> str:
        return f"2 + {len(config.alphas)} --alphas x {len(config.ey_ranks)} --ey-ranks"

    def engine_config(self, config):
        from numerics.engine.gradient_flow import FlowConfig

        return FlowConfig(m=config.m, n=config.n, rank=config.rank, examples=config.examples,
                          horizon=config.horizon, etas=config.etas, ref_step=config.ref_step,
                          trials=config.trials, trace_n=config.trace_n,
                          trace_rank=config.trace_rank, trace_horizon=config.trace_horizon,
                          trace_step=config.trace_step, ey_n=config.ey_n,
                          ey_ranks=config.ey_ranks, alphas=config.alphas,
                          ey_horizon=config.ey_horizon, ey_step=config.ey_step,
                          spectral_scale=config.spectral_scale, ey_trials=config.ey_trials,
                          seed=config.seed, device=config.device,
                          slope_margin=config.slope_margin)

    def validate(self, config) -> None:
        if config.rank > min(config.m, config.n):
            raise InvalidArgument(f"--rank {config.rank} exceeds min(m, n) = {min(config.m, config.n)}")
        if config.trace_rank > config.trace_n:
            raise InvalidArgument(f"--trace-rank {config.trace_rank} exceeds --trace-n {config.trace_n}")
        for r in config.ey_ranks:
            if r >= config.ey_n:
                raise InvalidArgument(f"--ey-ranks value {r} must be below --ey-n {config.ey_n} "
                                      "(the truncation must leave a tail)")
        for eta in config.etas:
            if eta > config.horizon or not _divides(eta, config.horizon):
                raise InvalidArgument(f"--etas value {eta:g} must divide --horizon {config.horizon:g} "
                                      "into a whole number of steps")
        if config.ref_step > min(config.etas):
            raise InvalidArgument(f"--ref-step {config.ref_step:g} must be at most the smallest "
                                  f"--etas value {min(config.etas):g}")
        for flag, step, horizon, tens in (("--ref-step", config.ref_step, config.horizon, False),
                                          ("--trace-step", config.trace_step, config.trace_horizon, True),
                                          ("--ey-step", config.ey_step, config.ey_horizon, False)):
            if step > horizon or not _divides(step, horizon):
                raise InvalidArgument(f"{flag} {step:g} must divide its horizon {horizon:g} into a "
                                      "whole number of steps")
            count = round(horizon / step)
            if count * (2 if flag == "--ref-step" else 1) > MAX_ITERATIONS:
                raise InvalidArgument(f"{flag} {step:g} gives {count} steps, more than "
                                      f"{MAX_ITERATIONS}")
            if tens and count % 10:
                raise InvalidArgument(f"{flag} {step:g} gives {count} steps over --trace-horizon "
                                      f"{horizon:g}: the loss is read at ten checkpoints, so the "
                                      "count must be a multiple of 10")

    def preflight(self, config) -> None:
        batch = config.batch_size
        many, few = min(batch, config.trials), min(batch, config.ey_trials)
        needs = {"--m/--n/--examples": 8 * 4 * many * (config.examples + 8) * config.m * config.n,
                 "--trace-n": 8 * 16 * many * config.trace_n ** 2,
                 "--ey-n": 8 * 24 * few * config.ey_n ** 2}
        limit = memory_limit(config.device)
        for flag, need in needs.items():
            if 4 * need > limit:
                raise InvalidArgument(f"{flag} with --batch-size {batch} need about {need / 2**30:.2g} "
                                      f"GiB per batch, more than a quarter of the memory of "
                                      f"{config.device}")

    def spec(self, config) -> dict:
        return self.engine_config(config).spec()

    def matches_legacy_spec(self, spec) -> bool:
        return False

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not a gradient-flow spec")
        tuples = ("etas", "ey_ranks", "alphas")
        keys = ("m", "n", "rank", "examples", "horizon", "etas", "ref_step", "trials", "trace_n",
                "trace_rank", "trace_horizon", "trace_step", "ey_n", "ey_ranks", "alphas",
                "ey_horizon", "ey_step", "spectral_scale", "ey_trials", "seed", "device")
        kw = {k: tuple(spec[k]) if k in tuples else spec[k] for k in keys}
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        return ([(1, config.m, config.n, config.rank),
                 (2, config.trace_n, config.trace_n, config.trace_rank)]
                + [(3, k + 1, r, config.ey_n) for k in range(len(config.alphas)) for r in config.ey_ranks])

    def trial_indices(self, config, cell):
        return range(config.ey_trials if cell[0] == 3 else config.trials)

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine import gradient_flow as gf

        cfg = self.engine_config(config)
        if cell[0] == 1:
            return gf.steps_trials(cfg, trial_indices)
        if cell[0] == 2:
            return gf.trace_trials(cfg, trial_indices)
        return gf.eym_trials(cfg, cell[1] - 1, cell[2], trial_indices)

    def summarise(self, config, outcomes) -> dict:
        from numerics.engine.gradient_flow import summarise
        from numerics.experiments.records import run_provenance

        rows = {}
        for cell, values in outcomes.items():
            key = (("steps",) if cell[0] == 1 else ("trace",) if cell[0] == 2
                   else ("eym", cell[1] - 1, cell[2]))
            rows[key] = list(values)
        return summarise(self.engine_config(config), rows, **run_provenance(outcomes))

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.engine.gradient_flow import save_figures

        return save_figures(summary, stem)


FAMILY = _GradientFlow()


def _iv(d, digits=4):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits)

def render_summary(summary: dict) -> str:
    """A readable text version of a gradient-flow summary."""
    lines = []
    st = summary["steps"]
    if st.get("trials"):
        lines.append(f"steps: {st['trials']} trials, T = {st['horizon']:g}; slope of log(value) "
                     "against log(eta), 95% t over trials")
        lines.append("  " + "  ".join(f"eta={e:g}" for e in st["etas"]))
        for key, label in (("error_sim", "error, simultaneous"), ("error_seq", "error, sequential"),
                           ("gap_sim_seq", "simultaneous - sequential"),
                           ("drift_sim", "drift of C, simultaneous"),
                           ("drift_seq", "drift of C, sequential")):
            med = " ".join(f"{v:.2e}" for v in st[key]["median_per_eta"])
            lines.append(f"  {label:<28} slope {_iv(st[key]['slope'])}   medians {med}")
        ref = st["reference"]
        lines.append(f"  reference RK4 error <= {ref['error_max']:.1e} ({ref['ratio']:.1e} of the "
                     f"smallest GD error); flow drift of C <= {st['flow_drift_max']:.1e}; autograd "
                     f"<= {st['autograd_rel_max']:.1e}")
    tr = summary["trace"]
    if tr.get("trials"):
        e = tr["loss_ratio_end"]
        lines.append(f"trace: {tr['trials']} trials; L(T)/L(0) {e['min']:.1e}..{e['max']:.1e}; "
                     f"max L(t)/bound {tr['bound_ratio_max']:.4f}; traceless share of BA "
                     f"{tr['traceless_lora']['min']:.3f}..{tr['traceless_lora']['max']:.3f}, of the "
                     f"full update <= {tr['traceless_full']['max']:.1e}")
    for e in summary["eym"]:
        lines.append(f"eym alpha={e['alpha']:g}: exponent fitted "
                     f"{e.get('fitted_exponent', float('nan')):.4f}, finite tails "
                     f"{e.get('finite_exponent', float('nan')):.4f}, infinite "
                     f"{e.get('infinite_exponent', float('nan')):.4f}, 1/2 - alpha "
                     f"{e['predicted_exponent']:.4f}")
        for p in e["per_rank"]:
            if p["trials"]:
                lines.append(f"  r={p['r']:>3}  rel error {p['rel_error']['mean']:.6f}  EYM (mpmath) "
                             f"{p['eym_finite']:.6f}  infinite {p['eym_infinite']:.6f}  bound "
                             f"{p['bound_hi']:.6f}  distance {p['distance_max']:.1e}")
    lines.append("")
    lines.append("verdicts:")
    for v in summary["verdicts"]:
        lines.append(f"  GF.{v['claim']}  {v['status']}  ({v['kind']}): {v['detail']}")
    lines.append(f"trials: {summary['units_found']} of {summary['units_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
