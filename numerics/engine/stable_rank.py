"""Seed 003 by measurement: the stable rank of learned LoRA updates against the nominal rank
(THEORY.md section 4).

The exact side is :mod:`proofs.stable_rank` (``1 <= sr <= rank``, scale invariance,
``sr(B A) <= r``); this module computes ``sr`` (batched, float64) and runs the probe, batched over
trials in torch (CPU or CUDA).

``sr``
------
:func:`stable_rank` is ``sum_j s_j^2 / s_1^2`` from the singular values (``torch.linalg.svdvals``)
of each matrix of a batch; ``nan`` for the zero matrix (``sr`` is defined for ``M != 0`` only).

The probe (cell ``(scaling, r, d, N)``; ``scaling`` 1 is ``alpha/r``, 2 is ``alpha/sqrt(r)``)
--------------------------------------------------------------------------------------------
An NTK-linearised regression task with Gaussian-iid features (THEORY.md section 0): ``N``
features ``G_i`` in ``R^{d x d}`` with entries iid ``N(0, 1)``; a teacher update ``D*`` (entries
iid ``N(0, 1)``, or ``U diag(j^-decay) V^T`` with Haar ``U, V`` for ``--teacher-decay`` > 0),
scaled to ``||D*||_F = 1``; targets ``y_i = <G_i, W0 + D*> + noise z_i``, ``z_i`` iid
``N(0, 1)``; ``W0`` entries iid ``N(0, 1/d)``. LoRA trains ``W0 + s B A`` on the squared loss
``L = 1/(2N) sum_i (<G_i, W0 + s B A> - y_i)^2`` by plain gradient descent (step ``lr``, ``steps``
steps) from the standard start ``B = 0``, ``A`` entries iid ``N(0, 1/d)``, with ``s = alpha/r``
or ``alpha/sqrt(r)``. The loss depends on ``Delta = s B A`` only (``<G_i, W0>`` cancels). Each
trial records ``sr(Delta)``, ``sr(W0 + Delta)``, ``sr(W0)``, ``sr(D*)``, the numerical rank of
``Delta``, the training loss at the start and end (relative to ``mean y_i'^2`` of the centred
targets ``y_i' = y_i - <G_i, W0>``) and the exact population test loss ``(||Delta - D*||_F^2 +
noise^2) / (||D*||_F^2 + noise^2)`` (the expectation over a fresh Gaussian ``G`` and noise; no
test sample is drawn).

A trial's instance (features, teacher, ``W0``, the start ``A``) depends on the seed, ``d``,
``N`` and the trial index, not on ``r`` or the scaling: every rank and scaling of a trial index
sees the same task, and the start ``A`` of rank ``r`` is the first ``r`` rows of one ``d x d``
draw.

Examples
--------
>>> import torch
>>> stable_rank(torch.eye(3, dtype=torch.float64)[None]).tolist()
[3.0]
>>> cfg = ProbeConfig(d=4, ranks=(1, 4), examples=20, steps=20, trials=2)
>>> out = probe_trials(cfg, 2, 4, [0, 1])
>>> [round(o["sr_w0"], 6) == round(probe_trials(cfg, 1, 1, [o["trial"]])[0]["sr_w0"], 6) for o in out]
[True, True]
>>> all(1 - 1e-9 <= o["sr_delta"] <= 4 + 1e-9 and o["train_end"] < o["train_start"] for o in out)
True
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

from numerics.engine.seeding import trial_seed
from numerics.estimation.estimate import mean_t_interval

__all__ = ["ProbeConfig", "SUMMARY_FORMAT", "SCALINGS", "RANK_TOL", "stable_rank",
           "numerical_rank", "lora_scale", "probe_trials", "summarise", "save_figures"]

SUMMARY_FORMAT = "lorank.stable-rank-summary/1"
#: Scaling names by cell index (1, 2).
SCALINGS = {1: "alpha/r", 2: "alpha/sqrt(r)"}
#: Relative singular-value threshold of the numerical rank (float64).
RANK_TOL = 1e-10


@dataclass(frozen=True)
class ProbeConfig:
    """Everything that determines the trials (module docstring), and the analysis."""

    d: int = 12
    ranks: tuple = tuple(range(1, 13))
    examples: int = 288
    scalings: tuple = (1, 2)
    alpha: float = 2.0
    lr: float = 0.02
    steps: int = 400
    noise: float = 0.1
    teacher_decay: float = 0.0
    trials: int = 6
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"
    confidence: float = 0.95

    def spec(self) -> dict:
        d = asdict(self)
        d.pop("confidence")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def stable_rank(M):
    """``sr(M) = ||M||_F^2 / ||M||_2^2`` of each matrix of a batch (``... x m x n``), from its
    singular values; ``nan`` for a zero matrix.

    >>> import torch
    >>> M = torch.tensor([[[3.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]], dtype=torch.float64)
    >>> [round(v, 12) for v in stable_rank(M).tolist()]
    [1.111111111111, 1.0]
    >>> stable_rank(torch.zeros(1, 2, 2)).isnan().tolist()
    [True]
    """
    import torch

    s = torch.linalg.svdvals(M)
    top = s[..., 0] ** 2
    return torch.where(top > 0, (s ** 2).sum(-1) / torch.where(top > 0, top, 1.0),
                       torch.full_like(top, float("nan")))


def numerical_rank(M, tol: float = RANK_TOL):
    """The number of singular values above ``tol`` times the largest, per matrix of a batch.

    >>> import torch
    >>> numerical_rank(torch.ones(1, 3, 3, dtype=torch.float64)).tolist()
    [1]
    """
    import torch

    s = torch.linalg.svdvals(M)
    return (s > tol * s[..., :1].clamp_min(torch.finfo(s.dtype).tiny)).sum(-1)


def lora_scale(alpha: float, r: int, scaling: int) -> float:
    """``alpha / r`` (scaling 1, Hu et al.) or ``alpha / sqrt(r)`` (scaling 2, rsLoRA).

    >>> lora_scale(2.0, 4, 1), lora_scale(2.0, 4, 2)
    (0.5, 1.0)
    """
    if scaling == 1:
        return alpha / r
    if scaling == 2:
        return alpha / math.sqrt(r)
    raise ValueError(f"scaling must be 1 (alpha/r) or 2 (alpha/sqrt(r)), got {scaling!r}")


def _generator(seed: int):
    import torch

    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def _haar(n: int, g):
    import torch

    Z = torch.randn(n, n, generator=g, dtype=torch.float64)
    Qm, R = torch.linalg.qr(Z)
    return Qm * torch.sign(torch.diagonal(R))


#: Instances kept in memory (every rank and scaling of a trial index reuses its instance; at the
#: GPU size d = 64, N = 8192 one takes 270 MB).
INSTANCE_CACHE = 32


def _instance(cfg: ProbeConfig, trial: int):
    """(G, y, W0, D*, A_full) of one trial (float64, CPU), cached by what determines it."""
    return _cached_instance(cfg.seed, cfg.d, cfg.examples, float(cfg.teacher_decay),
                            float(cfg.noise), int(trial))


@functools.lru_cache(maxsize=INSTANCE_CACHE)
def _cached_instance(seed: int, d: int, N: int, teacher_decay: float, noise: float, trial: int):
    import torch

    cfg = ProbeConfig(d=d, examples=N, teacher_decay=teacher_decay, noise=noise, seed=seed)
    g = _generator(trial_seed(cfg.seed, "stable-rank", d, N, float(cfg.teacher_decay), trial))
    f64 = torch.float64
    G = torch.randn(N, d, d, generator=g, dtype=f64)
    if cfg.teacher_decay > 0:
        U, V = _haar(d, g), _haar(d, g)
        s = torch.arange(1, d + 1, dtype=f64) ** (-float(cfg.teacher_decay))
        D = (U * s) @ V.T
    else:
        D = torch.randn(d, d, generator=g, dtype=f64)
    D = D / D.norm()
    z = torch.randn(N, generator=g, dtype=f64)
    W0 = torch.randn(d, d, generator=g, dtype=f64) / math.sqrt(d)
    A_full = torch.randn(d, d, generator=g, dtype=f64) / math.sqrt(d)
    y = torch.einsum("nij,ij->n", G, D) + cfg.noise * z
    return G, y, W0, D, A_full


def probe_trials(cfg: ProbeConfig, scaling: int, r: int, trial_indices) -> list[dict]:
    """Outcomes of the probe at rank ``r`` and ``scaling`` (module docstring), one per trial
    index, batched over the trials."""
    import torch

    trials = list(trial_indices)
    if not 1 <= r <= cfg.d:
        raise ValueError(f"rank {r} must lie in 1..{cfg.d}")
    dev, dt = torch.device(cfg.device), getattr(torch, cfg.dtype)
    parts = [_instance(cfg, t) for t in trials]
    G, y, W0, D, A_full = (torch.stack(col).to(dev, dt) for col in zip(*parts))
    S = len(trials)
    s = lora_scale(cfg.alpha, r, scaling)
    A = A_full[:, :r, :].clone()
    B = torch.zeros(S, cfg.d, r, dtype=dt, device=dev)
    N = cfg.examples
    y2 = (y ** 2).mean(-1)

    def residual(Delta):
        return torch.einsum("snij,sij->sn", G, Delta) - y

    start = 0.5 * (residual(s * B @ A) ** 2).mean(-1)
    for _ in range(cfg.steps):
        res = residual(s * B @ A)
        Gd = torch.einsum("sn,snij->sij", res, G) / N
        gB = s * Gd @ A.transpose(-1, -2)
        gA = s * B.transpose(-1, -2) @ Gd
        B, A = B - cfg.lr * gB, A - cfg.lr * gA
    Delta = s * B @ A
    end = 0.5 * (residual(Delta) ** 2).mean(-1)
    finite = torch.isfinite(Delta).flatten(1).all(1)
    Delta = torch.where(finite[:, None, None], Delta, torch.zeros_like(Delta))  # diverged: nan below
    sr_delta, sr_w = stable_rank(Delta), stable_rank(W0 + Delta)
    sr_w = torch.where(finite, sr_w, torch.full_like(sr_w, float("nan")))
    sr_w0, sr_teacher = stable_rank(W0), stable_rank(D)
    rank_delta = numerical_rank(Delta)
    nz = cfg.noise ** 2
    test = ((Delta - D).flatten(1).norm(dim=1) ** 2 + nz) / (D.flatten(1).norm(dim=1) ** 2 + nz)
    test = torch.where(finite, test, torch.full_like(test, float("nan")))
    out = []
    for i, t in enumerate(trials):
        out.append({"trial": int(t), "sr_delta": float(sr_delta[i]), "sr_w": float(sr_w[i]),
                    "sr_w0": float(sr_w0[i]), "sr_teacher": float(sr_teacher[i]),
                    "rank_delta": int(rank_delta[i]),
                    "train_start": float(2 * start[i] / y2[i]), "train_end": float(2 * end[i] / y2[i]),
                    "test_rel": float(test[i]), "delta_norm": float(Delta[i].norm()),
                    "finite": bool(finite[i])})
    return out


# ------------------------------------------------------------------------------ summary
# (torch-free: numpy and scipy)


def _slope(xs, ys) -> float:
    import numpy as np

    return float(np.polyfit(np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float)), 1)[0])


def _scaling_summary(cfg: ProbeConfig, scaling: int, outcomes: dict) -> dict:
    from scipy.stats import spearmanr

    per_rank = []
    by_trial: dict = {}
    for r in cfg.ranks:
        rows = sorted(outcomes.get((scaling, r), []), key=lambda x: x["trial"])
        if not rows:
            per_rank.append({"r": r, "trials": 0})
            continue
        fin = [x for x in rows if x["finite"]]
        for x in fin:
            by_trial.setdefault(x["trial"], {})[r] = x
        if not fin:
            per_rank.append({"r": r, "trials": len(rows), "finite": 0, "decreased": 0})
            continue
        total, rows = len(rows), fin
        per_rank.append({
            "r": r, "trials": total,
            "sr_delta": mean_t_interval([x["sr_delta"] for x in rows], cfg.confidence),
            "sr_w": mean_t_interval([x["sr_w"] for x in rows], cfg.confidence),
            "train_end": mean_t_interval([x["train_end"] for x in rows], cfg.confidence),
            "test_rel": mean_t_interval([x["test_rel"] for x in rows], cfg.confidence),
            "rank_delta_max": int(max(x["rank_delta"] for x in rows)),
            "sr_delta_max": float(max(x["sr_delta"] for x in rows)),
            "sr_delta_min": float(min(x["sr_delta"] for x in rows)),
            "sr_w_max": float(max(x["sr_w"] for x in rows)),
            "sr_w_min": float(min(x["sr_w"] for x in rows)),
            "decreased": int(sum(x["train_end"] < x["train_start"] for x in rows)),
            "finite": len(rows)})
    out = {"scaling": SCALINGS[scaling], "index": scaling, "per_rank": per_rank}
    fit_ranks = [r for r in cfg.ranks if r >= 2]
    slopes = []
    for t, rows in sorted(by_trial.items()):
        if all(r in rows for r in fit_ranks) and len(fit_ranks) >= 2 \
                and all(rows[r]["sr_delta"] > 0 for r in fit_ranks):
            slopes.append(_slope(fit_ranks, [rows[r]["sr_delta"] for r in fit_ranks]))
    if slopes:
        out["slope"] = mean_t_interval(slopes, cfg.confidence)
        out["slope_range"] = [float(min(slopes)), float(max(slopes))]
        out["slope_ranks"] = fit_ranks
    pairs = [(x["sr_w"], x["test_rel"]) for rows in by_trial.values() for x in rows.values()]
    if len(pairs) >= 3 and len({p[0] for p in pairs}) > 1 and len({p[1] for p in pairs}) > 1:
        rho = spearmanr([p[0] for p in pairs], [p[1] for p in pairs])
        out["spearman_srw_test"] = float(rho.statistic)
    return out


def summarise(cfg: ProbeConfig, outcomes: dict, *, wall: dict | None = None,
              environment: list | None = None) -> dict:
    """The summary of a run; ``outcomes`` maps ``(scaling, r)`` to trial rows.

    >>> cfg = ProbeConfig(d=3, ranks=(1, 2, 3), examples=12, steps=10, trials=2)
    >>> out = {(sc, r): probe_trials(cfg, sc, r, [0, 1]) for sc in (1, 2) for r in (1, 2, 3)}
    >>> s = summarise(cfg, out)
    >>> s["complete"], s["units_found"], [v["claim"] for v in s["verdicts"]][:2]
    (True, 12, ['sr-slower-than-r.alpha-over-r', 'sr-slower-than-r.alpha-over-sqrt-r'])
    """
    from numerics.experiments.records import to_jsonable
    from numerics.verdicts.stable_rank import claim_verdicts

    found = sum(len(v) for v in outcomes.values())
    expected = len(cfg.scalings) * len(cfg.ranks) * cfg.trials
    rows = [x for v in outcomes.values() for x in v]
    summary = {
        "format": SUMMARY_FORMAT,
        "model": {
            "task": "NTK-linearised regression: G_i entries iid N(0, 1) (d x d), teacher D* "
                    + ("entries iid N(0, 1)" if cfg.teacher_decay == 0 else
                       f"U diag(j^-{cfg.teacher_decay:g}) V^T (Haar U, V)")
                    + ", ||D*||_F = 1; y_i = <G_i, W0 + D*> + noise z_i; W0 entries N(0, 1/d)",
            "lora": "W0 + s B A, B = 0, A entries N(0, 1/d) (the first r rows of one d x d draw); "
                    "s = alpha/r or alpha/sqrt(r)",
            "training": f"plain gradient descent on 1/(2N) sum_i (<G_i, W0 + sBA> - y_i)^2, step "
                        f"{cfg.lr:g}, {cfg.steps} steps",
            "test": "(||Delta - D*||_F^2 + noise^2) / (||D*||_F^2 + noise^2): the exact population "
                    "loss relative to the loss of Delta = 0",
            "sr": "sum_j s_j^2 / s_1^2 from torch.linalg.svdvals in float64",
        },
        "sizes": {"d": cfg.d, "N": cfg.examples, "ranks": list(cfg.ranks)},
        "solver": {"alpha": cfg.alpha, "lr": cfg.lr, "steps": cfg.steps, "noise": cfg.noise,
                   "teacher_decay": cfg.teacher_decay, "device": cfg.device, "dtype": cfg.dtype},
        "seeds": {"global_seed": cfg.seed, "trials": cfg.trials},
        "method": {"slope": "per trial, least-squares slope of log sr(Delta) against log r over the "
                            f"ranks r >= 2 of the grid; mean over trials with a {cfg.confidence:g} "
                            "Student-t interval",
                   "intervals": f"{cfg.confidence:g} Student-t over trials",
                   "correlation": "Spearman's rank correlation of sr(W0 + Delta) and the test loss "
                                  "over all (rank, trial) pairs of a scaling (descriptive only)"},
        "references": {
            "sr_w0": mean_t_interval([x["sr_w0"] for x in rows], cfg.confidence) if rows else None,
            "sr_teacher": mean_t_interval([x["sr_teacher"] for x in rows], cfg.confidence) if rows else None},
        "scalings": [_scaling_summary(cfg, sc, outcomes) for sc in cfg.scalings],
        "units_found": found, "units_expected": expected, "complete": found == expected,
        "wall_time": wall or {"wall_s": 0.0, "sessions": 0},
        "environment": environment,
    }
    summary["verdicts"] = claim_verdicts(summary)
    return to_jsonable(summary)


def save_figures(summary: dict, stem) -> list:
    """Three panels against the nominal rank r: sr(Delta) (mean and 95% interval, with the line
    sr = r), sr(W0 + Delta), and the test loss; one line per scaling. Saved as ``stem.png`` and
    ``stem.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    ranks = summary["sizes"]["ranks"]
    axes[0].plot(ranks, ranks, ls=":", color="gray", label="sr = r (the bound SR.product-rank)")
    for sc in summary["scalings"]:
        done = [p for p in sc["per_rank"] if p["trials"]]
        if not done:
            continue
        rs = [p["r"] for p in done]
        for ax, key in ((axes[0], "sr_delta"), (axes[1], "sr_w"), (axes[2], "test_rel")):
            mean = [p[key]["mean"] for p in done]
            line, = ax.plot(rs, mean, marker="o", label=sc["scaling"]
                            + (f" (slope {sc['slope']['mean']:.2f})" if key == "sr_delta" and "slope" in sc else ""))
            if all(p[key]["lo"] is not None for p in done):
                ax.fill_between(rs, [p[key]["lo"] for p in done], [p[key]["hi"] for p in done],
                                color=line.get_color(), alpha=0.2)
    ref = summary["references"]
    if ref.get("sr_teacher"):
        axes[0].axhline(ref["sr_teacher"]["mean"], ls="--", color="k", lw=0.8, label="sr(D*) (teacher)")
    if ref.get("sr_w0"):
        axes[1].axhline(ref["sr_w0"]["mean"], ls="--", color="k", lw=0.8, label="sr(W0)")
    sz = summary["sizes"]
    for ax, label in ((axes[0], "sr(Delta)"), (axes[1], "sr(W0 + Delta)"),
                      (axes[2], "test loss / loss of Delta = 0")):
        ax.set_xlabel("nominal rank r")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    axes[0].set_title(f"d = {sz['d']}, N = {sz['N']}, mean and 95% t over seeds", fontsize=8)
    fig.tight_layout()
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths
