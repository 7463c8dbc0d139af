"""PL* family: the PL* constant of LoRA for squared loss, measured (THEORY.md section 2, R2).

Per cell ``(m, n, r, M)``: ``P(mu > 0)`` at random points and at the LoRA start, the normalised
constant, the Marchenko-Pastur ratios and the gradient-descent rate check (:mod:`numerics.engine.pl`).

GPU scale (the kernel eigendecomposition costs ``O(M^3)`` per trial and per GD step)::

    lorank pl --sizes 32x32,64x64,128x128 --ranks 1,4 --trials 40 --gd-trials 4 \\
        --gd-steps 100 --device cuda --batch-size 8 --out runs/pl-gpu

Examples
--------
>>> cfg = FAMILY.config(sizes=((8, 8),), ranks=(1,), rho=(0.5, 1.0, 2.0), trials=4)
>>> [c[3] for c in FAMILY.cells(cfg)]
[30, 15, 8]
>>> FAMILY.from_spec(FAMILY.record_spec(cfg)) == cfg
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .cstar import size_rank_triples, split_triples
from .options import (MAX_ITERATIONS, MAX_THREADS, MAX_TRIALS, at_most, choice, device,
                      float_list, int_list, nonneg_int, option, positive_float, show_sizes, sizes)
from .protocol import Family, check_memory

__all__ = ["FAMILY", "PLConfig", "render_summary"]


@dataclass(frozen=True)
class PLConfig:
    """Everything that determines a PL* sweep."""

    sizes: tuple = option(((8, 8), (16, 16)), "matrix sizes m x n, e.g. 8x8,16x64", sizes,
                          show=show_sizes)
    ranks: tuple = option((1, 2), "LoRA ranks r; a rank above min(m, n) is an error", int_list)
    rho: tuple | None = option((0.5, 0.8, 0.95, 1.0, 1.05, 1.25, 1.5, 2.0, 2.5, 3.0),
                               "grid of rho = r(m+n-r)/M: comma list or START:STOP:STEP",
                               lambda name, text: float_list(name, text), group="grid")
    kn: tuple | None = option(None, "explicit M = KN values instead of a rho grid", int_list,
                              group="grid")
    trials: int = option(40, "trials per grid cell", at_most(MAX_TRIALS))
    gd_steps: int = option(40, "gradient-descent steps per trajectory, 0 for none",
                          at_most(MAX_ITERATIONS, nonneg_int))
    gd_trials: int = option(4, "trials per cell that also run GD from both starts",
                           at_most(MAX_TRIALS, nonneg_int))
    gd_c: float = option(0.5, "step rule eta = c / beta_0, beta = lambda_max(JJ^T) + "
                         "||calA^*(R)||_2 (c <= 1 keeps eta within 1/beta at the start)",
                         positive_float)
    seed: int = option(0, "global seed; every trial is seeded from it, the cell and its index",
                       nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k", device)
    dtype: str = option("float64", "working precision of the features and of GD (kernels, "
                        "eigenvalues and losses are recomputed in float64)",
                        choice("float32", "float64"))
    batch_size: int = option(16, "trials per checkpoint", at_most(MAX_TRIALS), role="run")
    threads: int = option(1, "torch CPU threads during the run (trials are small and run one at "
                          "a time)", at_most(MAX_THREADS), role="run")


class _PL(Family):
    name = "pl"
    command = "pl"
    verdicts = "numerics.verdicts.pl"
    Config = PLConfig
    summary_format = "lorank.pl-summary/1"
    figure_stem = "pl_constant"
    title = "R2: PL* constant of LoRA (squared loss)"

    def experiment(self, config):
        from numerics.engine.pl import PLExperiment

        return PLExperiment(sizes=list(size_rank_triples(config.sizes, config.ranks)),
                            rho_grid=None if config.rho is None else list(config.rho),
                            m_values=None if config.kn is None else list(config.kn),
                            trials_per_cell=config.trials, gd_steps=config.gd_steps,
                            gd_trials=config.gd_trials, gd_c=config.gd_c, seed=config.seed,
                            device=config.device, dtype=config.dtype,
                            batch_size=config.batch_size)

    def validate(self, config) -> None:
        self.cells(config)

    def preflight(self, config) -> None:
        check_memory(self.cells(config), config.device)

    def spec(self, config) -> dict:
        return self.experiment(config).record_spec()

    def matches_legacy_spec(self, spec) -> bool:
        return spec.get("estimand") == "pl"

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not a PL* spec")
        sizes_, ranks = split_triples(spec["sizes"])
        kw = dict(sizes=sizes_, ranks=ranks,
                  rho=None if spec.get("rho_grid") is None else tuple(spec["rho_grid"]),
                  kn=None if spec.get("m_values") is None else tuple(spec["m_values"]),
                  trials=spec["trials_per_cell"], gd_steps=spec["gd_steps"],
                  gd_trials=spec["gd_trials"], gd_c=spec["gd_c"], seed=spec["seed"],
                  device=spec.get("device_type", "cpu"), dtype=spec["dtype"])
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        from numerics.estimation.sweep import cells_of_grid

        return cells_of_grid(size_rank_triples(config.sizes, config.ranks), config.rho, config.kn)

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.pl import run_trials

        return run_trials(cell, trial_indices, global_seed=config.seed, device=config.device,
                          dtype=config.dtype, gd_steps=config.gd_steps,
                          gd_trials=config.gd_trials, gd_c=config.gd_c)

    def summarise(self, config, outcomes) -> dict:
        from numerics.engine.pl import summarise_pl

        paths = getattr(outcomes, "paths", [])
        return summarise_pl(self.experiment(config), outcomes,
                            record=paths[0] if len(paths) == 1 else None)

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.engine.pl import plot_pl_summary

        return plot_pl_summary(summary, stem)


FAMILY = _PL()


def _fmt(x, spec=".3g"):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def _q50(d):
    return None if not d else d.get("q50")


def render_summary(summary: dict) -> str:
    """A readable table of a PL* summary (one row per cell)."""
    lines = ["P(mu>0): positive / trials [95% Wilson]; mu/diag: median of mu / mean diag(JJ^T); "
             "MP: median measured/predicted with d = rank (random: r(m+n-r)); Gauss: the same for a "
             "Gaussian M x r(m+n-r) matrix; GD: steps passing the per-step PL bound / steps checked"]
    for g in summary["groups"]:
        lines.append(f"\n{g['m']}x{g['n']}  r={g['r']}  r(m+n-r)={g['dim']}  rm={g['rm']}")
        lines.append(f"  {'rho':>6} {'M':>5}  {'P(mu>0) random':>22}  {'P(mu>0) LoRA start':>22}  "
                     f"{'mu/diag':>8}  {'MP':>6}  {'Gauss':>6}  {'GD random':>10}  {'GD LoRA':>10}")
        for c in g["cells"]:
            cols = []
            for kind in ("random", "lora"):
                x = c[kind]
                lo, hi = x["wilson95"]
                cols.append(f"{x['positive']:>3}/{x['trials']:<3} [{lo:.2f}, {hi:.2f}]")
            gd = []
            for kind in ("random", "lora"):
                x = (c.get("gd") or {}).get(kind)
                gd.append("-" if not x else f"{x['steps_ok']}/{x['steps_checked']}")
            lines.append(
                f"  {c['rho']:>6.3f} {c['M']:>5}  {cols[0]:>22}  {cols[1]:>22}  "
                f"{_fmt(_q50(c['random']['mu_by_diag'])):>8}  "
                f"{_fmt(_q50(c['random']['mp']['rank']['ratio'])):>6}  "
                f"{_fmt(_q50(c['baseline']['rank']['ratio'])):>6}  {gd[0]:>10}  {gd[1]:>10}")
        for kind in ("random", "lora"):
            st = g["structure"][kind]
            lines.append(f"  {kind}: {st['cells_as_expected']}/{st['cells']} cells all-or-none as expected; "
                         f"largest mu/lambda_max called zero {_fmt(st['max_by_max_called_zero'])}, "
                         f"smallest called positive {_fmt(st['min_by_max_called_positive'])}")
    lines.append(f"\ntrials: {summary['trials_found']} of {summary['trials_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time']['wall_s']:.1f} s")
    return "\n".join(lines)
