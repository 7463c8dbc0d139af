"""R3 family: held-out error against the LoRA rank for NTK-linearised last layers.

Binary (one logit, two logits) and three-class tasks (THEORY.md R3; the model, estimator and
verdict rules are in :mod:`numerics.engine.rademacher`). A cell is ``(task number, n_train, noise
index + 1, r)`` and its trials are the seeds, so every ``(task, n_train, noise, seed, r)`` unit
is one trial of the record.

The larger committed run (``--device cuda`` is refused: see :mod:`numerics.engine.rademacher`)::

    lorank rademacher --m 256 --n 256 --ranks 1,2,3,4,5,6,7,8 --n-train 16,64,256 --noise 4,8 \\
        --n-test 2000 --trials 200 --out runs/rademacher-256

Examples
--------
>>> cfg = FAMILY.config(m=4, n=5, ranks=(1, 2), tasks=("3-class",), n_train=(2,), noise=(0.5,),
...                     trials=2, n_test=10)
>>> FAMILY.cells(cfg)
[(3, 2, 1, 1), (3, 2, 1, 2)]
>>> FAMILY.from_spec(FAMILY.record_spec(cfg)) == cfg
True
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .options import (MAX_SCALE, MAX_THREADS, MAX_TRIALS, at_most, choice, device, float_list, int_list,
                      nonneg_int, one_float, one_int, option)
from .protocol import Family, memory_limit
from numerics.verdicts.rademacher import TASKS

__all__ = ["FAMILY", "RankSweepConfig", "render_summary", "TASK_NAMES"]

#: The task names (torch-free, from :data:`numerics.verdicts.rademacher.TASKS`).
TASK_NAMES = tuple(TASKS)
DEFAULT_TASKS = ("binary-1-logit", "binary-2-logit", "binary-2-logit-pm", "3-class")
_BY_NUMBER = {t.number: name for name, t in TASKS.items()}


def _tasks(name, text):
    parts = [t.strip() for t in str(text).split(",")]
    if not str(text).strip() or any(not t for t in parts):
        raise InvalidArgument(f"--{name} must name at least one task, got {text!r}")
    for t in parts:
        if t not in TASK_NAMES:
            raise InvalidArgument(f"--{name} entries must be among {', '.join(TASK_NAMES)}, got {t!r}")
    if len(set(parts)) != len(parts):
        raise InvalidArgument(f"--{name} must not repeat a task, got {text!r}")
    return tuple(parts)


def _m(name, text):
    value = one_int(name, text)
    if value < 3:
        raise InvalidArgument(f"--{name} must be at least 3 (three orthogonal heads are drawn), got {text!r}")
    return value


@dataclass(frozen=True)
class RankSweepConfig:
    """Everything that determines a rank sweep, and its analysis settings."""

    m: int = option(64, "rows of the adapted weight W0 + Delta (head dimension, at least 3)", _m)
    n: int = option(64, "columns = input dimension", one_int)
    ranks: tuple = option((1, 2, 3, 4, 5, 6), "LoRA ranks, comma list", int_list)
    tasks: tuple = option(DEFAULT_TASKS, f"comma list among {', '.join(TASK_NAMES)}", _tasks)
    n_train: tuple = option((16, 128), "training examples per class, comma list", int_list)
    n_test: int = option(500, "held-out examples per class", one_int)
    noise: tuple = option((2.0, 4.0), "input noise levels sigma, comma list",
                          at_most(MAX_SCALE, lambda name, text: float_list(name, text,
                                                                           lower="non-negative")))
    trials: int = option(40, "seeds per setting (the trials of each cell)",
                         at_most(MAX_TRIALS))
    weight_decay: float = option(1e-3, "ridge mu = weight_decay * ||X||_2^2 on V = A_head^T Delta",
                                 at_most(MAX_SCALE, lambda name, text: one_float(name, text,
                                                                                 lower="non-negative")))
    w0_scale: float = option(0.0, "scale of the random W0 (NTK offset); 0: f(x; W0) = 0",
                             at_most(MAX_SCALE, lambda name, text: one_float(name, text,
                                                                             lower="non-negative")))
    seed: int = option(0, "global seed", nonneg_int)
    device: str = option("cpu", "cpu only for now: the CUDA path disagreed with the CPU", device)
    dtype: str = option("float64", "working precision of the fit", choice("float32", "float64"))
    batch_size: int = option(512, "units per solver call",
                             at_most(MAX_TRIALS),
                             role="run")
    threads: int = option(1, "torch CPU threads during the run", at_most(MAX_THREADS),
                          role="run")
    bootstrap: int = option(2000, "bootstrap resamples for the optimal rank",
                            at_most(MAX_TRIALS),
                            role="analysis")


def check_memory(config) -> None:
    """Refuse a sweep whose single trial cannot fit in memory, before any allocation: one
    instance holds ``W0`` (``m n``), the noise of up to three classes (``3 n (n_train +
    n_test)``) and the SVD of its training inputs (``(3 n_train)^2``), in float64; the fit needs
    a few times that.

    >>> check_memory(FAMILY.config(m=1000000, n=1000000, ranks=(1,)))
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --m 1000000 --n 1000000 with --n-train 128 and --n-test 500 need about 7.5e+03 GiB for one trial, more than a quarter of the memory of cpu
    """
    npc = max(config.n_train)
    need = 8 * (config.m * config.n + 3 * config.n * (npc + config.n_test) + (3 * npc) ** 2)
    if 4 * need > memory_limit(config.device):
        raise InvalidArgument(f"--m {config.m} --n {config.n} with --n-train {npc} and --n-test "
                              f"{config.n_test} need about {need / 2**30:.2g} GiB for one trial, "
                              f"more than a quarter of the memory of {config.device}")

class _RankSweep(Family):
    name = "rademacher"
    command = "rademacher"
    verdicts = "numerics.verdicts.rademacher"
    Config = RankSweepConfig
    summary_format = "lorank.rademacher-summary/1"
    figure_stem = "rank_sweep"
    grid_fields = ("tasks", "n_train", "noise", "ranks")
    title = "R3: held-out error against the LoRA rank"

    def engine_config(self, config):
        from numerics.engine.rademacher import RademacherConfig

        return RademacherConfig(m=config.m, n=config.n, ranks=config.ranks, tasks=config.tasks,
                                n_train=config.n_train, n_test=config.n_test, noise=config.noise,
                                seeds=config.trials, seed=config.seed,
                                weight_decay=config.weight_decay, w0_scale=config.w0_scale,
                                device=config.device, dtype=config.dtype,
                                batch_size=config.batch_size, n_boot=config.bootstrap)

    def validate(self, config) -> None:
        if max(config.ranks) > min(config.m, config.n):
            raise InvalidArgument(f"--ranks value {max(config.ranks)} exceeds min(m, n) = "
                                  f"{min(config.m, config.n)}")
        if config.device != "cpu":
            raise InvalidArgument(f"--device {config.device!r}: the CUDA path of the R3 sweep "
                                  "disagreed with the CPU on an H100 and is disabled until that is "
                                  "resolved; use --device cpu (the sweep is a closed form)")

    def preflight(self, config) -> None:
        check_memory(config)

    def spec(self, config) -> dict:
        return self.engine_config(config).spec()

    def matches_legacy_spec(self, spec) -> bool:
        return spec.get("kind") == "rademacher"

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not a rademacher spec")
        kw = dict(m=spec["m"], n=spec["n"], ranks=tuple(spec["ranks"]), tasks=tuple(spec["tasks"]),
                  n_train=tuple(spec["n_train"]), n_test=spec["n_test"],
                  noise=tuple(float(v) for v in spec["noise"]), trials=spec["seeds"],
                  seed=spec["seed"], weight_decay=spec["weight_decay"],
                  w0_scale=spec["w0_scale"], device=spec["device"], dtype=spec["dtype"])
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        return [(TASKS[t].number, npc, j + 1, r) for t in config.tasks for npc in config.n_train
                for j in range(len(config.noise)) for r in config.ranks]

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.rademacher import Unit, run_units

        task, npc, j, r = _BY_NUMBER[cell[0]], cell[1], cell[2] - 1, cell[3]
        units = [Unit((task, npc, j, s, r)) for s in trial_indices]
        return run_units(self.engine_config(config), units)

    def summarise(self, config, outcomes) -> dict:
        from numerics.engine.rademacher import summarise

        by_unit = {}
        for cell, rows in outcomes.items():
            task, npc, j, r = _BY_NUMBER[cell[0]], cell[1], cell[2] - 1, cell[3]
            for row in rows:
                by_unit[(task, npc, j, row["trial"], r)] = row
        from numerics.experiments.records import run_provenance

        return summarise(self.engine_config(config), by_unit, **run_provenance(outcomes))

    def render(self, summary: dict) -> str:
        return render_summary(summary)

    def figures(self, summary, stem):
        from numerics.engine.rademacher import save_figures

        return save_figures(summary, stem)


FAMILY = _RankSweep()


def _fmt_interval(d, digits=3):
    if d is None or d.get("mean") is None:
        return "-"
    if d.get("lo") is None:
        return f"{d['mean']:.{digits}f}"
    return f"{d['mean']:.{digits}f} [{d['lo']:.{digits}f}, {d['hi']:.{digits}f}]"


def render_summary(summary: dict) -> str:
    """A readable table of a summary dict."""
    lines = []
    for e in summary["estimates"]:
        if "per_rank" not in e:
            lines.append(f"{e['task']} n_train={e['n_train']}/class noise={e['noise']:g}: no complete seed")
            continue
        opt = e["optimal_rank"]
        shares = ", ".join(f"r={r}: {v:.2f}" for r, v in opt["bootstrap_share"].items())
        lines.append(f"{e['task']}  n_train={e['n_train']}/class  noise={e['noise']:g}  "
                     f"oracle error {_fmt_interval(e['oracle_test_error'])}")
        lines.append(f"  {'r':>2}  {'held-out error (95%)':>26}  {'train error':>11}  "
                     f"{'train mse':>9}  {'exact floor':>11}  rank(Delta)")
        for p in e["per_rank"]:
            lines.append(f"  {p['r']:>2}  {_fmt_interval(p['test_error']):>26}  "
                         f"{p['train_error']['mean']:>11.3f}  {p['train_mse']['mean']:>9.4f}  "
                         f"{p['floor_train_mse']['mean']:>11.4f}  {p['numerical_rank']}")
        lines.append(f"  r* = {opt['minimisers']} (bootstrap shares {shares})")
        d = e.get("paired_err1_minus_err2")
        if d:
            lines.append(f"  err(1) - err(2) = {_fmt_interval(d, 4)}  (+{d['n_positive']} / "
                         f"-{d['n_negative']} / ={d['n_zero']} seeds)")
        lines.append(f"  floor saturation rank over seeds: {e['bias']['floor_saturation_rank']} "
                     f"(rank Y = {e['bias']['rank_Y']}, centred {e['bias']['centred_rank_Y']})")
    lines.append("")
    lines.append("verdicts:")
    for v in summary["verdicts"]:
        lines.append(f"  R3.{v['claim']}.{v['task']}  {v['sentence']}")
    lines.append(f"units: {summary['units_found']} of {summary['units_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
