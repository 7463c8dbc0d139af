"""learnable-rank family: seed 004 by measurement (THEORY.md section 5; issue 14, item 4).

A gated LoRA layer (:class:`numerics.engine.gated_lora.GatedLoRALinear`, ``Delta = s B diag(g)
A`` with a proximal L1 step on ``g`` and pruning of dead components) trained on NTK-linearised
classification tasks with structured features, binary (one logit) and ``C``-class (``C``
logits), at each L1 weight of ``--lams``; the learned rank (live gates) per seed against the
theory's band. The probe is in :mod:`numerics.engine.learnable_rank`, the verdict rules in
:mod:`numerics.verdicts.learnable_rank`. Cells are ``(C, lambda index + 1, n, per class)``.

The committed CPU default::

    lorank learnable-rank --out runs/learnable-rank-default

Each trial trains its own model, so outcomes do not depend on the batch they run in.

Examples
--------
>>> cfg = FAMILY.config(classes=(2, 3), lams=(0.1,))
>>> FAMILY.cells(cfg)
[(2, 1, 16, 20), (3, 1, 16, 20)]
>>> FAMILY.from_spec(FAMILY.record_spec(cfg)) == cfg
True
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .options import (MAX_ITERATIONS, MAX_SCALE, MAX_THREADS, MAX_TRIALS, at_most, choice,
                      device, float_list, int_list, nonneg_int, one_float, option)
from .protocol import Family, memory_limit

__all__ = ["FAMILY", "LearnableRankConfig", "render_summary", "MAX_DIM", "MAX_CLASSES"]

#: The largest input or hidden side of the probe's layer.
MAX_DIM = 4096
#: The most classes of a task.
MAX_CLASSES = 1000


def _classes(name, text):
    values = at_most(MAX_CLASSES, int_list)(name, text)
    if min(values) < 2:
        raise InvalidArgument(f"--{name} values must be at least 2 (2 is binary with one logit), "
                              f"got {min(values)} in {text!r}")
    return values


def _positive(maximum=MAX_SCALE):
    return at_most(maximum, lambda name, text: one_float(name, text))


def _nonneg(maximum=MAX_SCALE):
    return at_most(maximum, lambda name, text: one_float(name, text, lower="non-negative"))


@dataclass(frozen=True)
class LearnableRankConfig:
    """Everything that determines a learnable-rank run."""

    classes: tuple = option((2, 3, 5), "numbers of classes C, comma list (2: binary, one logit "
                            "and logistic loss; C >= 3: C logits, softmax cross-entropy)", _classes)
    n: int = option(16, "input side n of the adapted layer W0 (m x n)", at_most(MAX_DIM))
    m: int = option(16, "output side m of the adapted layer (the frozen head is K x m)",
                    at_most(MAX_DIM))
    per_class: int = option(20, "training examples per class (and as many test examples)",
                            at_most(MAX_TRIALS))
    rank: int = option(8, "initial rank r of the gated layer (components before pruning; at most "
                       "min(m, n))", at_most(MAX_DIM))
    lams: tuple = option((0.01, 0.03, 0.1, 0.3), "L1 weights lambda on the gates, comma list",
                         at_most(MAX_SCALE, float_list))
    optimizer: str = option("gd", "optimiser of A and B: gd (plain gradient steps) or adam",
                            choice("gd", "adam"), choices=("gd", "adam"))
    sep: float = option(3.0, "class-mean scale: mu_c entries iid N(0, sep^2/n)", _positive())
    sigma: float = option(1.0, "input noise: x = mu_c + sigma z, z entries iid N(0, 1/n)", _nonneg())
    lora_alpha: float = option(8.0, "lora_alpha of the scaling s = lora_alpha / r", _positive(1e3))
    lr: float = option(0.5, "step of the optimiser of A and B", _positive(1e3))
    gate_lr: float = option(0.1, "gradient step on the gates g (the prox threshold is gate_lr * "
                            "lambda)", _positive(1e3))
    wd: float = option(1e-3, "weight decay wd/2 (||A||^2 + ||B||^2) in the loss", _nonneg())
    steps: int = option(300, "optimiser steps", at_most(MAX_ITERATIONS))
    prune_every: int = option(50, "prune every this many steps (and once at the end)",
                              at_most(MAX_ITERATIONS))
    patience: int = option(20, "a component is pruned after this many consecutive prox steps "
                           "at g = 0", at_most(MAX_ITERATIONS))
    trials: int = option(6, "seeds per task and lambda (one task per seed and C, shared by every "
                         "lambda)", at_most(MAX_TRIALS))
    seed: int = option(0, "global seed", nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k (float64 on either)", device)
    batch_size: int = option(6, "trials per batch and per checkpoint", at_most(MAX_TRIALS),
                             role="run")
    threads: int = option(1, "torch CPU threads during the run", at_most(MAX_THREADS), role="run")


class _LearnableRank(Family):
    name = "learnable-rank"
    command = "learnable-rank"
    verdicts = "numerics.verdicts.learnable_rank"
    Config = LearnableRankConfig
    summary_format = "lorank.learnable-rank-summary/1"
    figure_stem = "learnable_rank"
    title = "seed 004: the rank a gated LoRA layer learns, binary and K-class"
    grid_fields = ("classes", "lams")

    def engine_config(self, config):
        from numerics.engine.learnable_rank import ProbeConfig

        return ProbeConfig(classes=config.classes, n=config.n, m=config.m,
                           per_class=config.per_class, rank=config.rank, lams=config.lams,
                           optimizer=config.optimizer, sep=config.sep, sigma=config.sigma,
                           lora_alpha=config.lora_alpha, lr=config.lr, gate_lr=config.gate_lr,
                           wd=config.wd, steps=config.steps, prune_every=config.prune_every,
                           patience=config.patience, trials=config.trials, seed=config.seed,
                           device=config.device)

    def validate(self, config) -> None:
        if config.rank > min(config.m, config.n):
            raise InvalidArgument(f"--rank {config.rank} exceeds min(m, n) = {min(config.m, config.n)}")
        if config.prune_every > config.steps:
            raise InvalidArgument(f"--prune-every {config.prune_every} exceeds --steps {config.steps}")
        if config.patience > config.steps:
            raise InvalidArgument(f"--patience {config.patience} exceeds --steps {config.steps}")
        total = config.steps * config.trials * len(config.classes) * len(config.lams)
        if total > 100 * MAX_ITERATIONS:
            raise InvalidArgument(f"--steps {config.steps} x --trials {config.trials} x "
                                  f"{len(config.classes)} --classes x {len(config.lams)} --lams is "
                                  f"{total} steps in all, more than {100 * MAX_ITERATIONS}")

    def preflight(self, config) -> None:
        C = max(config.classes)
        need = 8 * 4 * (2 * C * config.per_class * (config.n + config.m + C) + config.m * config.n)
        if 4 * need > memory_limit(config.device):
            raise InvalidArgument(f"--classes {C} with --per-class {config.per_class} and --n/--m "
                                  f"need about {need / 2**30:.2g} GiB per trial, more than a "
                                  f"quarter of the memory of {config.device}")

    def spec(self, config) -> dict:
        return self.engine_config(config).spec()

    def matches_legacy_spec(self, spec) -> bool:
        return False

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not a learnable-rank spec")
        keys = ("classes", "n", "m", "per_class", "rank", "lams", "optimizer", "sep", "sigma",
                "lora_alpha", "lr", "gate_lr", "wd", "steps", "prune_every", "patience", "trials",
                "seed", "device")
        kw = {k: tuple(spec[k]) if k in ("classes", "lams") else spec[k] for k in keys}
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        return [(C, k + 1, config.n, config.per_class) for C in config.classes
                for k in range(len(config.lams))]

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.learnable_rank import probe_trials

        return probe_trials(self.engine_config(config), cell[0], cell[1] - 1, trial_indices)

    def summarise(self, config, outcomes) -> dict:
        from numerics.engine.learnable_rank import summarise
        from numerics.experiments.records import run_provenance

        rows = {(cell[0], cell[1] - 1): list(values) for cell, values in outcomes.items()}
        return summarise(self.engine_config(config), rows, **run_provenance(outcomes))

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.engine.learnable_rank import save_figures

        return save_figures(summary, stem)


FAMILY = _LearnableRank()


def _iv(d, digits=2):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits)

def render_summary(summary: dict) -> str:
    """A readable text version of a learnable-rank summary."""
    sz = summary["sizes"]
    lines = [f"learnable rank: n = {sz['n']}, m = {sz['m']}, initial rank {sz['rank']}, "
             f"{summary['seeds']['trials']} seeds, optimiser {summary['solver'].get('optimizer', '?')}; "
             "mean [95% t] over seeds"]
    for t in summary["tasks"]:
        if not t["trials"]:
            continue
        lines.append(f"  C={t['classes']:>3} lambda={t['lam']:<6g} learned rank {_iv(t['learned_rank'])} "
                     f"(band {t['band'][0]}..{t['band'][1]}; seeds per rank {t['learned_rank_counts']}) "
                     f"rank(Delta) <= {t['delta_rank_max']}  train {t['train_acc']['mean']:.3f}  "
                     f"test {t['test_acc']['mean']:.3f}")
    lines.append("")
    lines.append("verdicts:")
    for v in summary["verdicts"]:
        lines.append(f"  LR.{v['claim']}  {v['status']}  ({v['kind']}): {v['detail']}")
    lines.append(f"trials: {summary['units_found']} of {summary['units_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
