"""encoder-gated family: the gated arm of the encoder LoRA sweep, the rank a gated LoRA learns
on a pretrained encoder (issue 15, item 2; seed 004, THEORY.md section 5).

:class:`numerics.engine.gated_lora.GatedLoRALinear` (``Delta = s B diag(g) A``, proximal L1 on
``g``, dead components pruned) on the query and value matrices of every layer at the initial
rank ``--rank``, for each L1 weight of ``--lams``, on the encoder-lora family's BBC News tasks,
training documents, batches and test set (same ``--seed``, ``--test-per-class``, ``--max-len``,
``--steps``, ``--train-batch``); the learned rank of each matrix, the accuracy with intervals and
the stable rank of each learned update. The engine is :mod:`numerics.engine.encoder_gated`, the
verdicts :mod:`numerics.verdicts.encoder_gated`. Cells are ``(task index + 1, per class,
lambda index + 1, 1)``.

A family of its own rather than new cells of encoder-lora: the encoder-lora records (spec,
cells, summary format, verdicts) stay byte-for-byte what they were, and the gated arm's axis
(lambda) and outcomes (learned ranks, gates) have their own summary and verdicts; the two share
the data, the batches and the training loop's pieces through
:mod:`numerics.engine.encoder_lora`. Needs ``lorank[encoder]`` (transformers; peft is not used).

The committed CPU run::

    lorank encoder-gated --out runs/encoder-gated-cpu

Examples
--------
>>> cfg = FAMILY.config(tasks=(("business", "sports"),), lams=(0.01, 0.1), per_class=(4,))
>>> FAMILY.cells(cfg)
[(1, 4, 1, 1), (1, 4, 2, 1)]
>>> FAMILY.from_spec({**FAMILY.engine_config(cfg).spec(), "family": "encoder-gated"}) == cfg
True
>>> FAMILY.config(steps=4, prune_every=5)
Traceback (most recent call last):
...
proofs.validation.InvalidArgument: --prune-every 5 exceeds --steps 4
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .encoder_common import (MAX_LEN, MAX_PER_CLASS, EncoderFamily, corpus_dir_option,
                             model_dir_option, preflight_dirs, show_tasks, tasks)
from .options import (MAX_ITERATIONS, MAX_SCALE, MAX_THREADS, MAX_TRIALS, at_most, device,
                      float_list, int_list, nonneg_int, one_float, option)

__all__ = ["FAMILY", "EncoderGatedConfig", "render_summary"]

#: The largest initial rank.
MAX_RANK = 4096


def _positive(maximum):
    return at_most(maximum, lambda name, text: one_float(name, text))


@dataclass(frozen=True)
class EncoderGatedConfig:
    """Everything that determines an encoder-gated run."""

    tasks: tuple = option((("business", "sports"), ("business", "entertainment", "politics",
                                                     "sports", "tech")),
                          "tasks, comma list: classes joined by / (binary: one logit) or all "
                          "(the 5 BBC classes, 5 logits)", tasks, show=show_tasks)
    per_class: tuple = option((4,), "training examples per class, comma list",
                              at_most(MAX_PER_CLASS, int_list))
    rank: int = option(16, "initial rank of every gated matrix (components before pruning; at "
                       "most the model's hidden size)", at_most(MAX_RANK))
    lams: tuple = option((0.01, 0.03), "L1 weights lambda on the gates, comma list",
                         at_most(MAX_SCALE, float_list))
    lora_alpha: float = option(16.0, "lora_alpha of the scaling s = lora_alpha / rank", _positive(1e4))
    lr: float = option(1e-3, "AdamW step of the factors A and B (the LoRA arm's --lr)",
                       _positive(10.0))
    gate_lr: float = option(10.0, "gradient step on the gates g (the prox threshold is gate_lr x "
                            "lambda)", _positive(1e4))
    steps: int = option(30, "optimiser steps per trial", at_most(MAX_ITERATIONS))
    train_batch: int = option(8, "examples per step", at_most(4096))
    prune_every: int = option(10, "prune every this many steps (and once at the end)",
                              at_most(MAX_ITERATIONS))
    patience: int = option(5, "a component is pruned after this many consecutive prox steps at "
                           "g = 0", at_most(MAX_ITERATIONS))
    max_len: int = option(32, "tokens per document (truncated and padded)", at_most(MAX_LEN))
    test_per_class: int = option(10, "held-out test documents per class (the same for every trial)",
                                 at_most(MAX_PER_CLASS))
    trials: int = option(2, "seeds per task, size and lambda (one draw of documents per seed, "
                         "shared by every lambda)", at_most(MAX_TRIALS))
    seed: int = option(0, "global seed (head, split, draws, gated init, batch order)", nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k (float32)", device)
    model_dir: str = model_dir_option()
    corpus_dir: str = corpus_dir_option()
    batch_size: int = option(2, "trials per batch and per checkpoint", at_most(MAX_TRIALS), role="run")
    threads: int = option(2, "torch CPU threads during the run", at_most(MAX_THREADS), role="run")


class _EncoderGated(EncoderFamily):
    name = "encoder-gated"
    command = "encoder-gated"
    verdicts = "numerics.verdicts.encoder_gated"
    Config = EncoderGatedConfig
    summary_format = "lorank.encoder-gated-summary/1"
    figure_stem = "encoder_gated"
    title = "issue 15: gated LoRA (query, value) of a pretrained encoder, its learned rank"
    grid_fields = ("tasks", "per_class", "lams")
    engine_module = "numerics.engine.encoder_gated"

    def engine_config(self, config, hashes=None):
        from numerics.engine.encoder_gated import GatedConfig

        hashes = hashes or {}
        return GatedConfig(tasks=config.tasks, per_class=config.per_class, rank=config.rank,
                           lams=config.lams, lora_alpha=config.lora_alpha, lr=config.lr,
                           gate_lr=config.gate_lr, steps=config.steps,
                           train_batch=config.train_batch, prune_every=config.prune_every,
                           patience=config.patience, max_len=config.max_len,
                           test_per_class=config.test_per_class, trials=config.trials,
                           seed=config.seed, device=config.device,
                           model_sha256=hashes.get("model_sha256", ""),
                           corpus_sha256=hashes.get("corpus_sha256", ""))

    def validate(self, config) -> None:
        super().validate(config)
        if config.prune_every > config.steps:
            raise InvalidArgument(f"--prune-every {config.prune_every} exceeds --steps {config.steps}")
        if config.patience > config.steps:
            raise InvalidArgument(f"--patience {config.patience} exceeds --steps {config.steps}")

    def preflight(self, config) -> None:
        _, _, sizes = preflight_dirs(config, self.command)
        if config.rank > sizes["hidden"]:
            raise InvalidArgument(f"--rank {config.rank} exceeds the model's hidden size "
                                  f"{sizes['hidden']}")
        from numerics.engine.encoder import require_extra

        require_extra(f"lorank {self.command}")

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not an encoder-gated spec")
        kw = {k: spec[k] for k in ("rank", "lora_alpha", "lr", "gate_lr", "steps", "train_batch",
                                   "prune_every", "patience", "max_len", "test_per_class",
                                   "trials", "seed", "device")}
        kw["per_class"] = tuple(spec["per_class"])
        kw["lams"] = tuple(float(v) for v in spec["lams"])
        kw["tasks"] = tuple(tuple(t) for t in spec["tasks"])
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        return [(t + 1, pc, k + 1, 1) for t in range(len(config.tasks)) for pc in config.per_class
                for k in range(len(config.lams))]

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.encoder_gated import gated_trials

        return gated_trials(self.engine_config(config), self._dirs(config), cell, trial_indices)

    def render(self, summary: dict) -> str:
        return render_summary(summary)


FAMILY = _EncoderGated()


def _iv(d, digits=3):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits) if d else "n/a"


def render_summary(summary: dict) -> str:
    """A readable text version of an encoder-gated summary."""
    lines = [f"encoder-gated: model sha256 {summary['provenance']['model_sha256'][:12]}, "
             f"initial rank {summary['sizes']['rank']}, {summary['seeds']['trials']} seeds; "
             "mean [95% t] over seeds"]
    for t in summary["tasks"]:
        for s in t["sizes"]:
            lines.append(f"{t['task']} (K = {t['K']}, band {t['band']}), {s['per_class']} per class:")
            for p in s["lams"]:
                lines.append(f"  lambda={p['lam']:<8g} learned rank max {_iv(p['learned_max'], 2)}  "
                             f"live-mean {_iv(p['learned_live_mean'], 2)}  adapted "
                             f"{_iv(p['adapted'], 2)}  test {_iv(p['test_acc'])}  train "
                             f"{p['train_acc']['mean']:.3f}  sr(Delta) {_iv(p['sr_mean'], 2)}")
    lines += ["", "verdicts:"]
    lines += [f"  ENC-GATED.{v['claim']}  {v['status']}  ({v['kind']}): {v['detail']}"
              for v in summary["verdicts"]]
    lines.append(f"trials: {summary['units_found']} of {summary['units_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
