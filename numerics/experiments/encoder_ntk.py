"""encoder-ntk family: empirical NTK features of a pretrained encoder (issue 15, item 1).

Per-example Jacobians of a fixed linear head's logits on the mean-pooled encoder output with
respect to the query, value and MLP matrices of one layer, on BBC News tasks at few-shot sizes;
the least rank that interpolates (the cstar engine's E1 solver), the transition against rho, the
Gram spectrum and its distance from a paired Gaussian-iid control. The engine is
:mod:`numerics.engine.encoder_ntk`, the verdicts :mod:`numerics.verdicts.encoder_ntk`. Cells are
``(task index + 1, matrix index + 1, per class, block + 1)`` (record cells are positive). Needs ``lorank[encoder]`` (or transformers and
``--model-dir`` / ``--corpus-dir``); the record header pins the sha256 of ``model.safetensors``
and of the corpus's file list.

The committed CPU run::

    lorank encoder-ntk --out runs/encoder-ntk-cpu

The solver's last bits may depend on the batch (as for cstar): ``batch_invariant`` is False.

Examples
--------
>>> cfg = FAMILY.config(tasks=(("business", "sports"),), matrices=("query",), per_class=(2, 4),
...                     blocks=(8, 0))
>>> FAMILY.cells(cfg)
[(1, 1, 2, 9), (1, 1, 2, 1), (1, 1, 4, 9), (1, 1, 4, 1)]
>>> FAMILY.from_spec({**FAMILY.engine_config(cfg).spec(), "family": "encoder-ntk"}) == cfg
True
"""

from __future__ import annotations

from dataclasses import dataclass

from proofs.validation import InvalidArgument

from .encoder_common import (MAX_LEN, MAX_PER_CLASS, EncoderFamily, corpus_dir_option, matrices,
                             model_dir_option, preflight_dirs, show_tasks, tasks)
from .options import (MAX_ITERATIONS, MAX_RESTARTS, MAX_THREADS, MAX_TRIALS, at_most, device,
                      int_list, nonneg_int, option)
from .protocol import memory_limit

__all__ = ["FAMILY", "EncoderNTKConfig", "render_summary"]

#: The largest corner block and rank.
MAX_BLOCK = 4096


def _blocks(name, text):
    return at_most(MAX_BLOCK, lambda n, t: int_list(n, t, minimum=0))(name, text)


@dataclass(frozen=True)
class EncoderNTKConfig:
    """Everything that determines an encoder-ntk run."""

    tasks: tuple = option((("business", "sports"),),
                          "tasks, comma list: classes joined by / (binary: one logit) or all "
                          "(the 5 BBC classes, 5 logits)", tasks, show=show_tasks)
    matrices: tuple = option(("query", "value", "mlp"), "adapted matrices of the layer: query, "
                             "value, mlp (intermediate.dense)", matrices)
    layer: int = option(5, "encoder layer (0-based; 5 is MiniLM-L6's last)", at_most(1023, nonneg_int))
    per_class: tuple = option((2, 4, 8), "training examples per class (N = classes x this)",
                              at_most(MAX_PER_CLASS, int_list))
    blocks: tuple = option((4, 8, 0), "top-left block x block corner of the matrix, comma list "
                           "(0: the whole matrix)", _blocks)
    ranks: tuple = option((1, 2), "ranks r tried by the E1 solver", at_most(MAX_BLOCK, int_list))
    restarts: int = option(2, "Levenberg-Marquardt starts per trial and rank", at_most(MAX_RESTARTS))
    max_iters: int = option(100, "Levenberg-Marquardt iterations per start", at_most(MAX_ITERATIONS))
    max_len: int = option(64, "tokens per document (truncated and padded)", at_most(MAX_LEN))
    test_per_class: int = option(50, "documents per class held out (never drawn for training; "
                                 "fixes the split shared with encoder-lora)",
                                 at_most(MAX_PER_CLASS))
    trials: int = option(3, "trials per cell (each draws its own documents)", at_most(MAX_TRIALS))
    seed: int = option(0, "global seed (head, split, draws, starts)", nonneg_int)
    device: str = option("cpu", "cpu, cuda or cuda:k (encoder float32, solver float64)", device)
    model_dir: str = model_dir_option()
    corpus_dir: str = corpus_dir_option()
    batch_size: int = option(3, "trials per batch and per checkpoint", at_most(MAX_TRIALS), role="run")
    threads: int = option(2, "torch CPU threads during the run", at_most(MAX_THREADS), role="run")


class _EncoderNTK(EncoderFamily):
    name = "encoder-ntk"
    command = "encoder-ntk"
    verdicts = "numerics.verdicts.encoder_ntk"
    Config = EncoderNTKConfig
    summary_format = "lorank.encoder-ntk-summary/1"
    figure_stem = "encoder_ntk"
    title = "issue 15: empirical NTK features of a pretrained encoder (least rank, rho, spectrum)"
    grid_fields = ("tasks", "matrices", "per_class", "blocks")
    batch_invariant = False
    engine_module = "numerics.engine.encoder_ntk"

    def engine_config(self, config, hashes=None):
        from numerics.engine.encoder_ntk import NTKConfig

        hashes = hashes or {}
        return NTKConfig(tasks=config.tasks, matrices=config.matrices, layer=config.layer,
                         per_class=config.per_class, blocks=config.blocks, ranks=config.ranks,
                         restarts=config.restarts, max_iters=config.max_iters,
                         max_len=config.max_len, test_per_class=config.test_per_class,
                         trials=config.trials, seed=config.seed, device=config.device,
                         model_sha256=hashes.get("model_sha256", ""),
                         corpus_sha256=hashes.get("corpus_sha256", ""))

    def preflight(self, config) -> None:
        model, corpus, sizes = preflight_dirs(config, self.command)
        if config.layer >= sizes["layers"]:
            raise InvalidArgument(f"--layer {config.layer}: the model has {sizes['layers']} layers")
        small = sizes["hidden"]
        big = [b for b in config.blocks if b > small]
        if big:
            raise InvalidArgument(f"--blocks value {big[0]} exceeds the model's hidden size {small}")
        side = min(b or small for b in config.blocks)
        over = [r for r in config.ranks if r > side]
        if over:
            raise InvalidArgument(f"--ranks value {over[0]} exceeds the smallest block side {side}")
        K = max(1 if len(t) == 2 else len(t) for t in config.tasks)
        C = max(len(t) for t in config.tasks)
        M = K * C * max(config.per_class)
        need = 8 * 4 * M * sizes["intermediate"] * sizes["hidden"] * min(config.batch_size, config.trials)
        if 2 * need > memory_limit(config.device if config.device.startswith("cuda") else "cpu"):
            raise InvalidArgument(f"--per-class {max(config.per_class)} with --batch-size "
                                  f"{config.batch_size} needs about {need / 2**30:.2g} GiB of "
                                  "features, more than half the memory")
        from numerics.engine.encoder import require_extra

        require_extra(f"lorank {self.command}")

    def from_spec(self, spec, **analysis):
        if not self.matches_spec(spec):
            raise InvalidArgument("the record's spec is not an encoder-ntk spec")
        kw = {k: spec[k] for k in ("layer", "restarts", "max_iters", "max_len", "test_per_class",
                                   "trials", "seed", "device")}
        kw.update({k: tuple(spec[k]) for k in ("matrices", "per_class", "blocks", "ranks")})
        kw["tasks"] = tuple(tuple(t) for t in spec["tasks"])
        kw.update(analysis)
        return self.config(**kw)

    def cells(self, config):
        # run order: task, size, matrix, block (a trial's features, cached, serve every matrix
        # and block of its task and size)
        return [(t + 1, mi + 1, pc, b + 1) for t in range(len(config.tasks))
                for pc in config.per_class for mi in range(len(config.matrices)) for b in config.blocks]

    def run_batch(self, config, cell, trial_indices):
        from numerics.engine.encoder_ntk import ntk_trials

        return ntk_trials(self.engine_config(config), self._dirs(config), cell, trial_indices)

    def render(self, summary: dict) -> str:
        return render_summary(summary)


FAMILY = _EncoderNTK()


def _iv(d, digits=2):
    from numerics.estimation.estimate import format_interval

    return format_interval(d, digits)


def render_summary(summary: dict) -> str:
    """A readable text version of an encoder-ntk summary."""
    lines = [f"encoder-ntk: model sha256 {summary['provenance']['model_sha256'][:12]}, corpus "
             f"{summary['provenance']['corpus_sha256'][:12]}, {summary['seeds']['trials']} trials"]
    for c in summary["cells"]:
        st = c["stats"]
        lines.append(f"{c['task']:>24} {c['matrix']:>5} {c['m']}x{c['n']} M={c['M']:<4} "
                     f"eff. rank {_iv(st['real_participation'])} (control "
                     f"{_iv(st['gauss_participation'])}), W1 to control {_iv(st['w1_to_gauss'])}")
        lines.append("      " + "  ".join(
            f"r={p['r']} rho={p['rho']:.3g}: {p['real']['successes']}/{p['real']['trials']} "
            f"(control {p['gauss']['successes']})" for p in c["ranks"]))
    lines += ["", "verdicts:"]
    lines += [f"  ENC-NTK.{v['claim']}  {v['status']}  ({v['kind']}): {v['detail']}"
              for v in summary["verdicts"]]
    lines.append(f"trials: {summary['units_found']} of {summary['units_expected']} "
                 f"({'complete' if summary['complete'] else 'INCOMPLETE'}), wall time "
                 f"{summary['wall_time'].get('wall_s', 0.0):.1f} s")
    return "\n".join(lines)
