"""stable-rank family: seed 003 by measurement (THEORY.md section 4; issue 14, item 3).

LoRA at every nominal rank ``r`` of ``--ranks`` (default 1 to the full dimension ``d``) trained on
an NTK-linearised regression task, under ``alpha/r`` and ``alpha/sqrt(r)`` scaling; each trial
records ``sr(Delta)``, ``sr(W0 + Delta)`` and the losses. The model, the training and the outcomes
are in :mod:`numerics.engine.stable_rank`, the verdict rules in
:mod:`numerics.verdicts.stable_rank`, the exact statements in :mod:`proofs.stable_rank`. Cells are
``(scaling, r, d, N)`` with ``scaling`` 1 (``alpha/r``) or 2 (``alpha/sqrt(r)``).

The committed CPU default::

    lorank stable-rank --out runs/stable-rank-default

Batched runs are not bitwise equal to one-trial runs: a batched matrix product may round its
last bits differently with the batch size (every number agrees to 1e-12; the contract tests
compare them so).

Examples
--------
>>> cfg = FAMILY.config(d=4, ranks=(1, 2, 4))
>>> FAMILY.cells(cfg)[:4]
[(1, 1, 4, 288), (1, 2, 4, 288), (1, 4, 4, 288), (2, 1, 4, 288)]
>>> FAMILY.from_spec(FAMILY.record_spec(cfg)) == cfg
True
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .options import (MAX_ITERATIONS, MAX_SCALE, MAX_THREADS, MAX_TRIALS, at_most, device,
                      int_list, nonneg_int, one_float, one_int, option)
from .protocol import Family, memory_limit

__all__ = ["FAMILY", "StableRankConfig", "render_summary", "MAX_DIM"]

#: The largest dimension d (the features take 8 N d^2 bytes per trial).
MAX_DIM = 1024
#: Scaling names on the command line and their cell indices.
SCALING_NAMES = {"r": 1, "sqrt": 2}


def _scalings(name, text):
    parts = [p.strip() for p in str(text).split(",")]
    bad = [p for p in parts if p not in SCALING_NAMES]
    if not parts or bad:
        raise InvalidArgument(f"--{name} must be a comma list of r (alpha/r) and sqrt "
                              f"(alpha/sqrt(r)), got {text!r}")
    if len(set(parts)) != len(parts):
        raise InvalidArgument(f"--{name} must not repeat a value, got {text!r}")
    return tuple(sorted(SCALING_NAMES[p] for p in parts))


def _show_scalings(values) -> str:
    names = {v: k for k, v in SCALING_NAMES.items()}
    return ",".join(names[v] for v in values)


def _positive(maximum=MAX_SCALE):
    return at_most(maximum, lambda name, text: one_float(name, text))


def _nonneg(maximum=MAX_SCALE):
    return at_most(maximum, lambda name, text: one_float(name, text, lower="non-negative"))


@dataclass(frozen=True)
class StableRankConfig:
    """Everything that determines a stable-rank run, and its analysis."""

    d: int = option(12, "side d of the square weight W0 (d x d) and of the features G_i",
                    at_most(MAX_DIM))
    ranks: tuple = option(tuple(range(1, 13)), "nominal LoRA ranks r, comma list (each at most d)",
                          at_most(MAX_DIM, int_list))
    examples: int = option(288, "training examples N (features G_i entries iid N(0, 1))",
                           at_most(MAX_TRIALS))
    scalings: tuple = option((1, 2), "LoRA scalings: r (alpha/r, Hu et al.) and/or sqrt "
                             "(alpha/sqrt(r), rsLoRA)", _scalings, show=_show_scalings)
    alpha: float = option(2.0, "LoRA alpha of the scaling s = alpha/r or alpha/sqrt(r)",
                          _positive(1e3))
    lr: float = option(0.02, "gradient-descent step on (B, A)", _positive(1e3))
    steps: int = option(400, "gradient-descent steps (the fixed budget)", at_most(MAX_ITERATIONS))
    noise: float = option(0.1, "label noise sigma of y_i = <G_i, W0 + D*> + sigma z_i", _nonneg())
    teacher_decay: float = option(0.0, "teacher D*: 0 for entries iid N(0, 1); a > 0 for singular "
                                  "values j^-a (Haar singular vectors)", _nonneg(8.0))
    trials: int = option(6, "seeds (the trials of each cell; one task per seed, shared by every "
                         "rank and scaling)", at_most(MAX_TRIALS))
    seed: int = option(0, "global seed", nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k (float64 on either)", device)
    batch_size: int = option(6, "trials per batch and per checkpoint", at_most(MAX_TRIALS),
                             role="run")
    threads: int = option(1, "torch CPU threads during the run", at_most(MAX_THREADS), role="run")


class _StableRank(Family):
    name = "stable-rank"
    command = "stable-rank"
    verdicts = "numerics.verdicts.stable_rank"
    Config = StableRankConfig
    summary_format = "lorank.stable-rank-summary/1"
    figure_stem = "stable_rank"
    title = "seed 003: stable rank of learned LoRA updates against the nominal rank"
    grid_fields = ("scalings", "ranks")
    batch_invariant = False

    def engine_config(self, config):
        from numerics.engine.stable_rank import ProbeConfig

        return ProbeConfig(d=config.d, ranks=config.ranks, examples=config.examples,
                           scalings=config.scalings, alpha=config.alpha, lr=config.lr,
                           steps=config.steps, noise=config.noise,
                           teacher_decay=config.teacher_decay, trials=config.trials,
                           seed=config.seed, device=config.device)

    def validate(self, config) -> None:
        big = [r for r in config.ranks if r > config.d]
        if big:
            raise InvalidArgument(f"--ranks value {big[0]} exceeds --d {config.d}")
        if config.steps * len(config.ranks) * len(config.scalings) > MAX_ITERATIONS:
            raise InvalidArgument(f"--steps {config.steps} over {len(config.ranks)} --ranks and "
                                  f"{len(config.scalings)} --scalings is more than "
                                  f"{MAX_ITERATIONS} steps in all")

    def preflight(self, config) -> None:
        batch = min(config.batch_size, config.trials)
        need = 8 * 3 * batch * config.examples * config.d ** 2
        if 4 * need > memory_limit(config.device):
            raise InvalidArgument(f"--d {config.d} with --examples {config.examples} and "
                                  f"--batch-size {config.batch_size} need about "
                                  f"{need / 2**30:.2g} GiB per batch, more than a quarter of the "
                                  f"memory of {config.device}")

    def spec(self, config) -> dict:
        return self.engine_config(config).spec()

    def matches_legacy_spec(self, spec) -> bool:
        return False

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not a stable-rank spec")
        keys = ("d", "ranks", "examples", "scalings", "alpha", "lr", "steps", "noise",
                "teacher_decay", "trials", "seed", "device")
        kw = {k: tuple(spec[k]) if k in ("ranks", "scalings") else spec[k] for k in keys}
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        return [(sc, r, config.d, config.examples) for sc in config.scalings for r in config.ranks]

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.stable_rank import probe_trials

        return probe_trials(self.engine_config(config), cell[0], cell[1], trial_indices)

    def summarise(self, config, outcomes) -> dict:
        from numerics.engine.stable_rank import summarise
        from numerics.experiments.records import run_provenance

        rows = {(cell[0], cell[1]): list(values) for cell, values in outcomes.items()}
        return summarise(self.engine_config(config), rows, **run_provenance(outcomes))

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.engine.stable_rank import save_figures

        return save_figures(summary, stem)


FAMILY = _StableRank()


def _iv(d, digits=3):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits)

def render_summary(summary: dict) -> str:
    """A readable text version of a stable-rank summary."""
    sz = summary["sizes"]
    lines = [f"stable rank: d = {sz['d']}, N = {sz['N']}, {summary['seeds']['trials']} seeds; "
             "mean [95% t] over seeds"]
    ref = summary["references"]
    if ref.get("sr_w0"):
        lines.append(f"  sr(W0) {_iv(ref['sr_w0'])}, sr(D*) (teacher) {_iv(ref['sr_teacher'])}")
    for sc in summary["scalings"]:
        lines.append(f"scaling {sc['scaling']}" + (f": slope of log sr(Delta) in log r "
                                                   f"{_iv(sc['slope'])}" if "slope" in sc else ""))
        for p in sc["per_rank"]:
            if p["trials"]:
                lines.append(f"  r={p['r']:>4}  sr(Delta) {_iv(p['sr_delta'])}  sr(W0+Delta) "
                             f"{_iv(p['sr_w'])}  train {p['train_end']['mean']:.3f}  test "
                             f"{p['test_rel']['mean']:.3f}")
    lines.append("")
    lines.append("verdicts:")
    for v in summary["verdicts"]:
        lines.append(f"  SR.{v['claim']}  {v['status']}  ({v['kind']}): {v['detail']}")
    lines.append(f"trials: {summary['units_found']} of {summary['units_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
