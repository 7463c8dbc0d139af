"""Seed 004 by measurement: the rank a gated LoRA layer learns on NTK-linearised classification
tasks (THEORY.md section 5). The layer is :class:`numerics.engine.gated_lora.GatedLoRALinear`.

The probe (cell ``(C, lambda index + 1, n, N per class)``)
----------------------------------------------------------
An NTK-linearised classifier with structured features (THEORY.md section 0, ``G_ik = a_k x_i^T``):
logits ``f(x) = H (W0 + Delta) x`` with a frozen random ``W0`` (``m x n``, entries ``N(0, 1/n)``)
and a frozen random head ``H`` (``K x m``, entries ``N(0, 1/m)``), written as
``nn.Sequential(nn.Linear(n, m), nn.Linear(m, K))`` whose first layer is wrapped. ``C`` classes:
``C = 2`` is binary with one logit (``K = 1``, logistic loss), ``C >= 3`` has ``K = C`` logits
(softmax cross-entropy). Inputs are class means plus noise, ``x = mu_c + sigma z`` with
``mu_c``, ``z`` entries iid ``N(0, 1/n)``. Training: plain gradient steps (``--optimizer gd``, the default) or Adam on ``A, B`` (step ``lr``, weight decay
``wd/2 (||A||^2 + ||B||^2)`` added to the loss), a gradient step on ``g`` (step ``gate_lr``)
followed by the proximal L1 step with ``tau = gate_lr * lambda``; every ``prune_every`` steps the
components dead for ``patience`` steps are pruned (the optimisers restart on the smaller factors). At the
end: the learned rank, the numerical rank of ``Delta``, train and test accuracy (a fresh test set
of the same size), and the largest change of the training logits made by the last pruning.

Examples
--------
>>> theory_band(2), structural_rank(3)
((1, 1), 2)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from numerics.engine.seeding import trial_seed
from numerics.estimation.estimate import mean_t_interval

__all__ = ["ProbeConfig", "SUMMARY_FORMAT", "RANK_TOL", "probe_trials", "summarise",
           "theory_band", "structural_rank", "save_figures"]

SUMMARY_FORMAT = "lorank.learnable-rank-summary/1"
#: Relative singular-value threshold of the numerical rank of Delta (float64).
RANK_TOL = 1e-8


# ------------------------------------------------------------------------------ the probe

@dataclass(frozen=True)
class ProbeConfig:
    """Everything that determines the trials (module docstring), and the analysis."""

    classes: tuple = (2, 3, 5)
    n: int = 16
    m: int = 16
    per_class: int = 20
    rank: int = 8
    lams: tuple = (0.01, 0.03, 0.1, 0.3)
    optimizer: str = "gd"
    sep: float = 3.0
    sigma: float = 1.0
    lora_alpha: float = 8.0
    lr: float = 0.5
    gate_lr: float = 0.1
    wd: float = 1e-3
    steps: int = 300
    prune_every: int = 50
    patience: int = 20
    trials: int = 6
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"
    confidence: float = 0.95

    def spec(self) -> dict:
        d = asdict(self)
        d.pop("confidence")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _task(cfg: ProbeConfig, C: int, trial: int):
    """(model, X, y, X_test, y_test) of one trial: the frozen W0 and head, and the data."""
    import torch

    from numerics.engine.gated_lora import wrap_linear_layers

    g = torch.Generator(device="cpu")
    g.manual_seed(trial_seed(cfg.seed, "learnable-rank", C, cfg.n, cfg.m, cfg.per_class, trial))
    f64 = torch.float64
    K = 1 if C == 2 else C
    mu = cfg.sep * torch.randn(C, cfg.n, generator=g, dtype=f64) / math.sqrt(cfg.n)

    def sample():
        y = torch.arange(C).repeat_interleave(cfg.per_class)
        X = mu[y] + cfg.sigma * torch.randn(len(y), cfg.n, generator=g, dtype=f64) / math.sqrt(cfg.n)
        return X, y

    X, y = sample()
    Xt, yt = sample()
    hidden = torch.nn.Linear(cfg.n, cfg.m, bias=False, dtype=f64)
    head = torch.nn.Linear(cfg.m, K, bias=False, dtype=f64)
    with torch.no_grad():
        hidden.weight.copy_(torch.randn(cfg.m, cfg.n, generator=g, dtype=f64) / math.sqrt(cfg.n))
        head.weight.copy_(torch.randn(K, cfg.m, generator=g, dtype=f64) / math.sqrt(cfg.m))
    for p in head.parameters():
        p.requires_grad_(False)
    model = torch.nn.Sequential(hidden, head)
    wrap_linear_layers(model, names=["0"], r=cfg.rank, lora_alpha=cfg.lora_alpha, generator=g)
    return model, X, y, Xt, yt


def _loss(logits, y, C: int):
    import torch

    if C == 2:
        return torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y.to(logits.dtype))
    return torch.nn.functional.cross_entropy(logits, y)


def _accuracy(logits, y, C: int) -> float:
    pred = (logits[:, 0] > 0).long() if C == 2 else logits.argmax(-1)
    return float((pred == y).double().mean())


def _train(cfg: ProbeConfig, C: int, lam: float, trial: int) -> dict:
    import torch

    dev = torch.device(cfg.device)
    model, X, y, Xt, yt = _task(cfg, C, trial)
    model.to(dev)
    X, y, Xt, yt = X.to(dev), y.to(dev), Xt.to(dev), yt.to(dev)
    layer = model[0]

    def optimisers():
        factors = [layer.lora_A, layer.lora_B]
        return (torch.optim.Adam(factors, lr=cfg.lr) if cfg.optimizer == "adam"
                else torch.optim.SGD(factors, lr=cfg.lr),
                torch.optim.SGD([layer.gate], lr=cfg.gate_lr))

    adam, sgd = optimisers()
    history = []
    for step in range(1, cfg.steps + 1):
        adam.zero_grad()
        sgd.zero_grad()
        loss = _loss(model(X), y, C)
        reg = 0.5 * cfg.wd * (layer.lora_A.pow(2).sum() + layer.lora_B.pow(2).sum())
        (loss + reg).backward()
        adam.step()
        sgd.step()
        layer.prox_step(cfg.gate_lr * lam)
        if step % cfg.prune_every == 0 and step < cfg.steps:
            if layer.prune(cfg.patience):
                adam, sgd = optimisers()
            history.append(layer.learned_rank)
    with torch.no_grad():
        before = model(X)
        removed = layer.prune(cfg.patience)
        after = model(X)
        change = float((after - before).abs().nan_to_num(nan=float("inf")).max())
        scale = float(before.abs().nan_to_num(nan=0.0).max())
        Delta = layer.delta_weight()
        finite = bool(torch.isfinite(Delta).all())
        num_rank = 0
        if finite and Delta.numel():
            s = torch.linalg.svdvals(Delta)
            num_rank = int((s > RANK_TOL * s[:1].clamp_min(1e-300)).sum()) if float(s[0]) > 0 else 0
        return {"trial": int(trial), "learned_rank": layer.learned_rank,
                "components": int(layer.gate.numel()), "removed_last": removed,
                "delta_rank": num_rank,
                "train_acc": _accuracy(after, y, C), "test_acc": _accuracy(model(Xt), yt, C),
                "train_loss": float(_loss(after, y, C)), "prune_change": change,
                "prune_scale": scale, "history": history,
                "finite": finite}


def probe_trials(cfg: ProbeConfig, C: int, lam_index: int, trial_indices) -> list[dict]:
    """Outcomes of the probe for ``C`` classes at ``lambda = cfg.lams[lam_index]``, one per trial
    index. Each trial is trained alone (its own model and optimisers), so an outcome does not
    depend on the batch it runs in.

    >>> cfg = ProbeConfig(n=6, m=6, per_class=8, rank=4, steps=40, prune_every=10, patience=5)
    >>> out = probe_trials(cfg, 2, 0, [0])
    >>> 0 <= out[0]["learned_rank"] <= 4, out[0]["delta_rank"] <= out[0]["learned_rank"]
    (True, True)
    """
    if C < 2:
        raise ValueError(f"classes must be at least 2, got {C!r}")
    return [_train(cfg, C, cfg.lams[lam_index], t) for t in trial_indices]


# ------------------------------------------------------------------------------ summary
# (torch-free: numpy and scipy)


def theory_band(C: int) -> tuple:
    """The learned rank the theory predicts, as the band ``(lo, hi)`` fixed before any run:
    binary (one logit) ``(1, 1)``; ``C >= 3`` classes ``(C - 1, C)`` ("near K": ``K - 1`` with
    centred softmax gradients, ``K`` with uncentred targets; THEORY.md sections 2 R3 and 5).

    >>> theory_band(2), theory_band(5)
    ((1, 1), (4, 5))
    """
    return (1, 1) if C == 2 else (C - 1, C)


def structural_rank(C: int) -> int:
    """The rank that ``Delta`` cannot exceed in the probe, whatever the gates: the gradient in
    ``W`` is ``H^T E X^T / N`` with ``E`` the ``K x N`` loss derivatives in the logits, whose
    columns sum to 0 for softmax cross-entropy (``K - 1`` dimensions) and have one row for one
    logit; ``B`` starts at 0 and moves in that fixed range (Adam acts entrywise on ``B``, so this
    holds for gradient descent, not Adam: quoted, not proved, for the probe's optimiser).

    >>> structural_rank(2), structural_rank(4)
    (1, 3)
    """
    return 1 if C == 2 else C - 1


def summarise(cfg: ProbeConfig, outcomes: dict, *, wall: dict | None = None,
              environment: list | None = None) -> dict:
    """The summary of a run; ``outcomes`` maps ``(C, lambda index)`` to trial rows.

    >>> cfg = ProbeConfig(classes=(2, 3), n=6, m=6, per_class=8, rank=4, lams=(0.1,), steps=40,
    ...                   prune_every=10, patience=5, trials=2)
    >>> out = {(C, 0): probe_trials(cfg, C, 0, [0, 1]) for C in (2, 3)}
    >>> s = summarise(cfg, out)
    >>> s["complete"], s["units_found"], [v["claim"] for v in s["verdicts"]][:2]
    (True, 4, ['learned-rank.binary.lam-0.1', 'learned-rank.C3.lam-0.1'])
    """
    from numerics.experiments.records import to_jsonable
    from numerics.verdicts.learnable_rank import claim_verdicts

    tasks = []
    for C in cfg.classes:
        for k, lam in enumerate(cfg.lams):
            rows = sorted(outcomes.get((C, k), []), key=lambda x: x["trial"])
            entry = {"classes": C, "logits": 1 if C == 2 else C, "lam": float(lam),
                     "band": list(theory_band(C)), "structural_rank": structural_rank(C),
                     "trials": len(rows)}
            if rows:
                ranks = [x["learned_rank"] for x in rows]
                entry.update({
                    "learned_rank": mean_t_interval(ranks, cfg.confidence),
                    "learned_rank_counts": {str(v): ranks.count(v) for v in sorted(set(ranks))},
                    "delta_rank_max": int(max(x["delta_rank"] for x in rows)),
                    "delta_rank_counts": {str(v): [x["delta_rank"] for x in rows].count(v)
                                          for v in sorted({x["delta_rank"] for x in rows})},
                    "delta_above_learned": int(sum(x["delta_rank"] > x["learned_rank"] for x in rows)),
                    "train_acc": mean_t_interval([x["train_acc"] for x in rows], cfg.confidence),
                    "train_acc_min": float(min(x["train_acc"] for x in rows)),
                    "test_acc": mean_t_interval([x["test_acc"] for x in rows], cfg.confidence),
                    "prune_change_max": float(max((x["prune_change"] / max(x["prune_scale"], 1e-300)
                                                   for x in rows if x["finite"]), default=0.0)),
                    "finite": int(sum(x["finite"] for x in rows)),
                    "history_median": [float(v) for v in _median([x["history"] for x in rows])]})
            tasks.append(entry)
    found = sum(len(v) for v in outcomes.values())
    expected = len(cfg.classes) * len(cfg.lams) * cfg.trials
    summary = {
        "format": SUMMARY_FORMAT,
        "model": {
            "features": "structured (G_ik = a_k x_i^T): logits H (W0 + Delta) x, W0 m x n entries "
                        "N(0, 1/n) and head H K x m entries N(0, 1/m), both frozen; x = mu_c + sigma z, "
                        "mu_c and z entries N(0, 1/n) times sep and 1",
            "classes": "C = 2: one logit (K = 1), logistic loss; C >= 3: K = C logits, softmax "
                       "cross-entropy",
            "layer": "GatedLoRALinear: Delta = s B diag(g) A, s = lora_alpha / r, B = 0, A entries "
                     "N(0, 1/n), g = 1",
            "training": f"{'Adam' if cfg.optimizer == 'adam' else 'plain gradient steps'} on A, B with weight decay wd/2 (||A||^2 + ||B||^2) in the loss; SGD "
                        "step on g, then soft-threshold by gate_lr * lambda; prune components at "
                        "g = 0 for patience steps every prune_every steps (Adam restarts) and at "
                        "the end",
            "learned_rank": "live components (g_j != 0) at the end",
        },
        "sizes": {"n": cfg.n, "m": cfg.m, "per_class": cfg.per_class, "rank": cfg.rank,
                  "classes": list(cfg.classes)},
        "solver": {"lams": list(cfg.lams), "optimizer": cfg.optimizer, "sep": cfg.sep, "sigma": cfg.sigma,
                   "lora_alpha": cfg.lora_alpha, "lr": cfg.lr, "gate_lr": cfg.gate_lr,
                   "wd": cfg.wd, "steps": cfg.steps, "prune_every": cfg.prune_every,
                   "patience": cfg.patience, "device": cfg.device, "dtype": cfg.dtype},
        "seeds": {"global_seed": cfg.seed, "trials": cfg.trials},
        "method": {"intervals": f"{cfg.confidence:g} Student-t over seeds (zero width when every "
                                "seed gives the same rank)",
                   "delta_rank": f"singular values above {RANK_TOL:g} times the largest"},
        "tasks": tasks,
        "units_found": found, "units_expected": expected, "complete": found == expected,
        "wall_time": wall or {"wall_s": 0.0, "sessions": 0},
        "environment": environment,
    }
    summary["verdicts"] = claim_verdicts(summary)
    return to_jsonable(summary)


def _median(curves):
    import numpy as np

    if not curves or not curves[0]:
        return []
    return np.median(np.asarray(curves, float), axis=0)


def save_figures(summary: dict, stem) -> list:
    """The learned rank (mean and 95% interval over seeds) against lambda, one line per task,
    with the theory's band shaded; saved as ``stem.png`` and ``stem.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path

    fig, ax = plt.subplots(figsize=(6, 4))
    for C in summary["sizes"]["classes"]:
        done = [t for t in summary["tasks"] if t["classes"] == C and t["trials"]]
        if not done:
            continue
        lams = [t["lam"] for t in done]
        mean = [t["learned_rank"]["mean"] for t in done]
        line, = ax.semilogx(lams, mean, marker="o",
                            label=("binary (1 logit)" if C == 2 else f"{C} classes"))
        if all(t["learned_rank"]["lo"] is not None for t in done):
            ax.fill_between(lams, [t["learned_rank"]["lo"] for t in done],
                            [t["learned_rank"]["hi"] for t in done], color=line.get_color(), alpha=0.2)
        lo, hi = done[0]["band"]
        ax.axhspan(lo - 0.5, hi + 0.5, color=line.get_color(), alpha=0.08)
    sz = summary["sizes"]
    ax.set_xlabel("L1 weight lambda on the gates")
    ax.set_ylabel("learned rank (live gates)")
    ax.set_title(f"n = {sz['n']}, m = {sz['m']}, initial rank {sz['rank']}; shaded: the theory's "
                 "band +- 1/2", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths
