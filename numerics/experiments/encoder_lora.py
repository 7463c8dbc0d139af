"""encoder-lora family: PEFT LoRA rank sweeps of a pretrained encoder (issue 15, item 2).

LoRA on the query and value matrices of every layer at each rank of ``--ranks`` (``0`` is full
fine-tuning, the reference), on BBC News tasks (class pairs, one logit; ``all``, five logits) at
each training size of ``--per-class``, several seeds; test accuracy with intervals and the stable
rank of each learned update. The engine is :mod:`numerics.engine.encoder_lora`, the verdicts
(rank one against r = 12 on binary tasks, the best rank on the 5-class task)
:mod:`numerics.verdicts.encoder_lora`. Cells are ``(task index + 1, per class, r + 1, 1)`` (record cells
are positive; ``r + 1 = 1`` is full fine-tuning). Needs
``lorank[encoder]`` (or transformers, peft and ``--model-dir`` / ``--corpus-dir``); the record
header pins the sha256 of ``model.safetensors`` and of the corpus's file list.

The committed CPU run::

    lorank encoder-lora --out runs/encoder-lora-cpu

Examples
--------
>>> cfg = FAMILY.config(tasks=(("business", "sports"),), ranks=(1, 0), per_class=(4,))
>>> FAMILY.cells(cfg)
[(1, 4, 2, 1), (1, 4, 1, 1)]
>>> FAMILY.from_spec({**FAMILY.engine_config(cfg).spec(), "family": "encoder-lora"}) == cfg
True
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .encoder_common import (MAX_LEN, MAX_PER_CLASS, EncoderFamily, corpus_dir_option,
                             model_dir_option, preflight_dirs, show_tasks, tasks)
from .options import (MAX_ITERATIONS, MAX_THREADS, MAX_TRIALS, at_most, device, int_list,
                      nonneg_int, one_float, option)

__all__ = ["FAMILY", "EncoderLoRAConfig", "render_summary"]

#: The largest LoRA rank.
MAX_RANK = 4096


def _ranks(name, text):
    return at_most(MAX_RANK, lambda n, t: int_list(n, t, minimum=0))(name, text)


def _positive(maximum):
    return at_most(maximum, lambda name, text: one_float(name, text))


@dataclass(frozen=True)
class EncoderLoRAConfig:
    """Everything that determines an encoder-lora run."""

    tasks: tuple = option((("business", "sports"), ("business", "entertainment", "politics",
                                                     "sports", "tech")),
                          "tasks, comma list: classes joined by / (binary: one logit) or all "
                          "(the 5 BBC classes, 5 logits)", tasks, show=show_tasks)
    per_class: tuple = option((4,), "training examples per class, comma list",
                              at_most(MAX_PER_CLASS, int_list))
    ranks: tuple = option((1, 12, 0), "LoRA ranks, comma list (0: full fine-tuning)",
                          _ranks)
    lora_alpha: float = option(16.0, "PEFT lora_alpha (scaling lora_alpha / r)", _positive(1e4))
    lr: float = option(1e-3, "AdamW step of the LoRA factors", _positive(10.0))
    full_lr: float = option(5e-5, "AdamW step of full fine-tuning (r = 0)", _positive(10.0))
    steps: int = option(40, "optimiser steps per trial", at_most(MAX_ITERATIONS))
    train_batch: int = option(8, "examples per step", at_most(4096))
    max_len: int = option(32, "tokens per document (truncated and padded)", at_most(MAX_LEN))
    test_per_class: int = option(20, "held-out test documents per class (the same for every trial)",
                                 at_most(MAX_PER_CLASS))
    trials: int = option(3, "seeds per task, size and rank (one draw of documents per seed, "
                         "shared by every rank)", at_most(MAX_TRIALS))
    seed: int = option(0, "global seed (head, split, draws, LoRA init, batch order)", nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k (float32)", device)
    model_dir: str = model_dir_option()
    corpus_dir: str = corpus_dir_option()
    batch_size: int = option(3, "trials per batch and per checkpoint", at_most(MAX_TRIALS), role="run")
    threads: int = option(2, "torch CPU threads during the run", at_most(MAX_THREADS), role="run")


class _EncoderLoRA(EncoderFamily):
    name = "encoder-lora"
    command = "encoder-lora"
    verdicts = "numerics.verdicts.encoder_lora"
    Config = EncoderLoRAConfig
    summary_format = "lorank.encoder-lora-summary/1"
    figure_stem = "encoder_lora"
    title = "issue 15: PEFT LoRA rank sweep (query, value) of a pretrained encoder, full FT reference"
    grid_fields = ("tasks", "per_class", "ranks")
    engine_module = "numerics.engine.encoder_lora"

    def engine_config(self, config, hashes=None):
        from numerics.engine.encoder_lora import LoRAConfig

        hashes = hashes or {}
        return LoRAConfig(tasks=config.tasks, per_class=config.per_class, ranks=config.ranks,
                          lora_alpha=config.lora_alpha, lr=config.lr, full_lr=config.full_lr,
                          steps=config.steps, train_batch=config.train_batch,
                          max_len=config.max_len, test_per_class=config.test_per_class,
                          trials=config.trials, seed=config.seed, device=config.device,
                          model_sha256=hashes.get("model_sha256", ""),
                          corpus_sha256=hashes.get("corpus_sha256", ""))

    def preflight(self, config) -> None:
        _, _, sizes = preflight_dirs(config, self.command)
        big = [r for r in config.ranks if r > sizes["hidden"]]
        if big:
            raise InvalidArgument(f"--ranks value {big[0]} exceeds the model's hidden size "
                                  f"{sizes['hidden']}")
        from numerics.engine.encoder import require_extra

        require_extra(f"lorank {self.command}")
        try:
            import peft  # noqa: F401
        except ModuleNotFoundError:
            raise InvalidArgument("lorank encoder-lora needs peft, which is not installed: "
                                  "pip install 'lorank[encoder]'") from None

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not an encoder-lora spec")
        kw = {k: spec[k] for k in ("lora_alpha", "lr", "full_lr", "steps", "train_batch", "max_len",
                                   "test_per_class", "trials", "seed", "device")}
        kw.update({k: tuple(spec[k]) for k in ("per_class", "ranks")})
        kw["tasks"] = tuple(tuple(t) for t in spec["tasks"])
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        return [(t + 1, pc, r + 1, 1) for t in range(len(config.tasks)) for pc in config.per_class
                for r in config.ranks]

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.encoder_lora import lora_trials

        return lora_trials(self.engine_config(config), self._dirs(config), cell, trial_indices)

    def render(self, summary: dict) -> str:
        return render_summary(summary)


FAMILY = _EncoderLoRA()


def _iv(d, digits=3):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits) if d else "n/a"


def render_summary(summary: dict) -> str:
    """A readable text version of an encoder-lora summary."""
    lines = [f"encoder-lora: model sha256 {summary['provenance']['model_sha256'][:12]}, "
             f"{summary['seeds']['trials']} seeds; test accuracy mean [95% t]"]
    for t in summary["tasks"]:
        for s in t["sizes"]:
            lines.append(f"{t['task']} (K = {t['K']}), {s['per_class']} per class:")
            for p in s["ranks"]:
                lines.append(f"  r={p['label']:>4}  test {_iv(p['test_acc'])}  train "
                             f"{p['train_acc']['mean']:.3f}  sr(Delta) {_iv(p['sr_mean'], 2)}")
    lines += ["", "verdicts:"]
    lines += [f"  ENC-LORA.{v['claim']}  {v['status']}  ({v['kind']}): {v['detail']}"
              for v in summary["verdicts"]]
    lines.append(f"trials: {summary['units_found']} of {summary['units_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
