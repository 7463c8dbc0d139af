"""R3 by a design that can answer: held-out error against the rank with a rank-r0 teacher.

The old R3 sweep (:mod:`numerics.engine.rademacher`) used structured features ``G_ik = a_k x^T``,
under which every rank ``r >= K`` gives the same fit by construction, so "rank one is strictly
best" could never be seen and the ``sqrt(r)`` variance side was never exercised (issue 12). This
design makes every extra rank change the fit.

The model (also written into the summary, key ``"model"``)
------------------------------------------------------------
* Features: Gaussian-iid ``G_i in R^{m x n}``, entries ``N(0, 1)``. Chosen over token-summed
  ``G_i = sum_t a_t x_t^T`` because it is the setting of the paper's ``C*`` statement, the
  Rademacher bound of THEORY.md R3 is stated for it, and it has no structure that caps the
  useful rank below ``min(m, n)``: the rank-r class has ``r (m + n - r)`` free directions and
  each of them changes some ``<G_i, Delta>``.
* Teacher: ``Delta* = U V^T / sqrt(r0)`` with ``U`` (``m x r0``) and ``V`` (``n x r0``) Haar
  orthonormal, so ``rank Delta* = r0``, equal singular values and ``||Delta*||_F = 1``; then
  ``s_i = <G_i, Delta*> ~ N(0, 1)`` whatever ``r0`` is, and the signal-to-noise ratio is the
  same for every teacher rank.
* Labels: ``y_i = sign(s_i + sigma z_i)``, ``z_i ~ N(0, 1)``: binary labels with label noise.
  The Bayes rule is ``sign(s)``, with error ``arctan(sigma) / pi`` (:func:`bayes_error`); the
  signal-to-noise ratio is ``Var(s) / Var(sigma z) = 1 / sigma^2``. The draws of ``z`` do not
  depend on ``sigma`` (common random numbers across noise levels of one seed).
* ``N`` training examples, ``n_test`` fresh test examples per seed.

The estimator (one solver, :func:`fit_rank`)
--------------------------------------------
Centred squared loss with an unpenalised intercept: targets ``y - mean(y)``, features
``G - mean(G)`` over the training set; for each ``r = 1..R`` minimise over ``Delta = B A``
(``B`` ``m x r``, ``A`` ``r x n``)::

    F_r(B, A) = 1/2 sum_i (yc_i - <Gc_i, B A>)^2 + lambda/2 (||B||_F^2 + ||A||_F^2),

``lambda = ridge * N`` (``ridge = 1e-6``: only to keep the half-steps defined; the minimum of the
factor penalty over factorisations is ``lambda ||Delta||_*``). Prediction
``sign(<G - mean(G), Delta> + mean(y))``; ``f = 0`` counts as an error.

``F_r`` is minimised by alternating least squares. A sweep is: the exact ridge least-squares
solve for ``B`` given ``A``, the same for ``A`` given the new ``B`` (both built from the
``mn x mn`` Gram matrix of the features, :func:`normal_equations`), then :func:`balance`, which
refactors ``B A`` through its SVD so that ``||B||^2 + ||A||^2 = 2 ||B A||_*``. No part of a
sweep can raise ``F_r``. The balancing removes a slow mode: without it the factor penalty is
lowered only through the tiny ridge, one sweep at a time, and in a measurement on the default
grid (30 seeds, the solver of lorank 0.5.0 with a cap of 100000 sweeps) most rank-5 fits at
``N = 60`` were still creeping when they hit that cap.

Starts, batched in torch: the spectral start (top-r SVD of ``sum_i yc_i Gc_i / N``), the
rank-``(r - 1)`` solution padded with a zero column of ``B`` (so the best ``F_r`` is at most the
best ``F_{r-1}``: the fits are nested), and ``restarts`` Gaussian starts. Each start runs until
its own relative decrease of ``F_r`` over a sweep is at most ``stop_rtol`` (``1e-12``) or it has
run ``iters`` sweeps (the cap). The default cap, 20000, comes from a measurement
(``benchmarks/rank_sweep_iterations.py``, written to ``results/bench/rank_sweep_iterations.json``):
on the default grid with 60 seeds and 3 Gaussian restarts the slowest start of any fit needed
3890 sweeps and the median per rank was at most about 620; the cap is about five times that
maximum. Every run records how many fits hit it anyway.

At ``r = min(m, n)`` the problem is convex in ``Delta`` (least squares plus ``lambda
||Delta||_*``), every local minimum is global, and with ``ridge = 0`` and ``N >= mn`` its
minimiser is the closed-form least-squares solution (:func:`least_squares_solution`): the tests
check that the solver reaches it. Below full rank the problem is not convex and different
starts can end at different stationary points, so the fit is not certified globally optimal:
per rank the record keeps what certifies it as far as it goes -- how many fits hit the cap,
how many starts reach the best objective to a relative :data:`AGREE_RTOL` and the relative
gradient norm at the best start (:func:`fit_certificate` summarises them per setting).

Outcome of a trial (one seed: all ranks, one noise level)
---------------------------------------------------------
Test errors per rank (counts over ``n_test``), training errors, ``F_r`` at the best start,
starts agreeing, relative gradient, sweeps of the slowest start, starts that hit the cap, the
Bayes-rule errors on the same test set.

Examples
--------
>>> cfg = SweepConfig(m=5, n=5, max_rank=3, teacher_ranks=(1,), n_train=(40,), n_test=200,
...                   noise=(0.5,), seeds=2, iters=30, restarts=1)
>>> out = run_trials(cfg, 1, 40, 0, [0, 1])
>>> [len(o["test_errors"]) for o in out], all(0 <= e <= 200 for e in out[0]["test_errors"])
([3, 3], True)
>>> all(a >= b - 1e-9 * abs(a) for a, b in zip(out[0]["objective"], out[0]["objective"][1:]))
True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from numerics.engine.seeding import trial_seed

__all__ = ["SweepConfig", "SUMMARY_FORMAT", "AGREE_RTOL", "STOP_RTOL", "bayes_error", "draw_instance",
           "normal_equations", "balance", "fit_rank", "least_squares_solution", "run_trials",
           "fit_certificate", "setting_estimates", "summarise", "paired_one_sided",
           "bootstrap_argmin", "save_figures"]

SUMMARY_FORMAT = "lorank.rank-sweep-summary/2"
#: Relative tolerance under which two starts reach "the same" objective.
AGREE_RTOL = 1e-6
#: Relative decrease of F_r over one sweep at which a start of alternating least squares stops.
STOP_RTOL = 1e-12


@dataclass(frozen=True)
class SweepConfig:
    """Everything that determines a rank sweep (see the module docstring)."""

    m: int = 8
    n: int = 8
    max_rank: int = 5
    teacher_ranks: tuple = (1, 2, 3)
    n_train: tuple = (60, 240)
    n_test: int = 2000
    noise: tuple = (0.5,)
    seeds: int = 60
    seed: int = 0
    iters: int = 20000
    stop_rtol: float = STOP_RTOL
    restarts: int = 3
    ridge: float = 1e-6
    device: str = "cpu"
    dtype: str = "float64"
    n_boot: int = 2000
    confidence: float = 0.95

    def spec(self) -> dict:
        d = asdict(self)
        d.pop("n_boot")
        d.pop("confidence")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def bayes_error(sigma: float) -> float:
    """``P(sign(s + sigma z) != sign(s))`` for independent standard normal ``s, z``:
    ``arctan(sigma) / pi`` (the angle of the cone where the two signs differ).

    >>> bayes_error(0.0), round(bayes_error(1.0), 6)
    (0.0, 0.25)
    """
    return math.atan(sigma) / math.pi


def _generator(seed: int):
    import torch

    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def draw_instance(cfg: SweepConfig, r0: int, n_train: int, seed_index: int):
    """Features, teacher scores and noise draws of one seed (float64, CPU), independent of the
    noise level: ``(G_train, s_train, z_train, G_test, s_test, z_test)``.

    >>> cfg = SweepConfig(m=4, n=3)
    >>> G, s, z, Gt, st, zt = draw_instance(cfg, 2, 7, 0)
    >>> tuple(G.shape), tuple(Gt.shape), round(float((G * 0).sum()), 1)
    ((7, 4, 3), (2000, 4, 3), 0.0)
    """
    import torch

    g = _generator(trial_seed(cfg.seed, "rank-sweep-instance", cfg.m, cfg.n, r0, n_train,
                              cfg.n_test, seed_index))
    d = torch.float64
    U, _ = torch.linalg.qr(torch.randn(cfg.m, r0, generator=g, dtype=d))
    V, _ = torch.linalg.qr(torch.randn(cfg.n, r0, generator=g, dtype=d))
    teacher = U @ V.T / math.sqrt(r0)
    G = torch.randn(n_train, cfg.m, cfg.n, generator=g, dtype=d)
    z = torch.randn(n_train, generator=g, dtype=d)
    Gt = torch.randn(cfg.n_test, cfg.m, cfg.n, generator=g, dtype=d)
    zt = torch.randn(cfg.n_test, generator=g, dtype=d)
    s = torch.einsum("imn,mn->i", G, teacher)
    st = torch.einsum("imn,mn->i", Gt, teacher)
    return G, s, z, Gt, st, zt


def _flat(G):
    return G.reshape(G.shape[0], -1)


def normal_equations(G, y):
    """The data of ``F_r`` reduced to the feature dimension: ``Q`` (``m x n x m x n``, the Gram
    tensor ``sum_i G_i (x) G_i``) and ``b = sum_i y_i G_i`` (``m x n``). Every half-step of
    :func:`fit_rank` is a ridge solve built from them, so its cost does not grow with ``N``.

    >>> import torch
    >>> G = torch.arange(12, dtype=torch.float64).reshape(3, 2, 2)
    >>> Q, b = normal_equations(G, torch.ones(3, dtype=torch.float64))
    >>> tuple(Q.shape), b.tolist()
    ((2, 2, 2, 2), [[12.0, 15.0], [18.0, 21.0]])
    """
    m, n = G.shape[1:]
    Gf = _flat(G)
    return (Gf.T @ Gf).reshape(m, n, m, n), (Gf.T @ y).reshape(m, n)


def _objective(G, y, B, A, lam):
    """``F_r`` at every start, from the residuals themselves (not from :func:`normal_equations`,
    whose ``1/2 y^T y - <b, Delta> + ...`` loses digits to cancellation when the fit is close)."""
    import torch

    D = (B @ A).reshape(B.shape[0], -1)
    res = y.unsqueeze(0) - D @ _flat(G).T
    return 0.5 * (res ** 2).sum(-1) + 0.5 * lam * ((B ** 2).sum((-1, -2)) + (A ** 2).sum((-1, -2)))


def _ridge_solve(H, rhs, lam_eye):
    import torch

    x, info = torch.linalg.solve_ex(H + lam_eye, rhs.unsqueeze(-1))
    if bool((info != 0).any()):
        raise ValueError("a half-step of alternating least squares is singular (ridge = 0 with "
                         "fewer examples than unknowns?): raise the ridge")
    return x.squeeze(-1)


def balance(B, A):
    """The balanced factors of ``Delta = B A``: ``B = U_r S_r^(1/2)``, ``A = S_r^(1/2) V_r^T``
    from the SVD of ``Delta`` (batched over the leading dimension). ``Delta`` is unchanged and
    ``||B||_F^2 + ||A||_F^2`` drops to its least value over all factorisations, ``2 ||Delta||_*``,
    so the factor penalty of ``F_r`` never rises.

    >>> import torch
    >>> B = torch.tensor([[[4.0], [0.0]]], dtype=torch.float64)
    >>> A = torch.tensor([[[0.25, 0.0]]], dtype=torch.float64)
    >>> Bb, Ab = balance(B, A)
    >>> torch.allclose(Bb @ Ab, B @ A), float((Bb ** 2).sum() + (Ab ** 2).sum())
    (True, 2.0)
    """
    import torch

    r = B.shape[-1]
    U, S, Vh = torch.linalg.svd(B @ A, full_matrices=False)
    sq = S[..., :r].sqrt()
    return U[..., :r] * sq.unsqueeze(-2), sq.unsqueeze(-1) * Vh[..., :r, :]


def _gram_pairs(Q):
    """``Q`` (``m x n x m x n``) laid out for the two half-steps: rows ``(i, j, I)`` by column
    ``J`` (the ``B`` step), rows ``(j, J, i)`` by ``I`` (the ``A`` step)."""
    m, n = Q.shape[:2]
    return Q.reshape(m * n * m, n), Q.permute(1, 3, 0, 2).reshape(n * n * m, m).contiguous()


def _sweep(QB, QA, b, B, A, eyeB, eyeA):
    """One sweep of alternating least squares from ``A``: the exact ridge solve for ``B`` given
    ``A``, then for ``A`` given the new ``B``, then :func:`balance`. ``QB``, ``QA`` from
    :func:`_gram_pairs`; ``eyeB``, ``eyeA`` are ``lambda`` times identities. The normal matrices
    are contracted one factor at a time (two batched products each)."""
    S, m, r = B.shape
    n = A.shape[-1]
    # H_B[(i,k),(I,K)] = sum_{j,J} A[k,j] Q[i,j,I,J] A[K,J]
    Y = (QB @ A.transpose(-1, -2)).reshape(S, m, n, m, r).permute(0, 2, 1, 3, 4).reshape(S, n, m * m * r)
    HB = (A @ Y).reshape(S, r, m, m, r).permute(0, 2, 1, 3, 4).reshape(S, m * r, m * r)
    B = _ridge_solve(HB, (b @ A.transpose(-1, -2)).reshape(S, m * r), eyeB).reshape(S, m, r)
    # H_A[(k,j),(K,J)] = sum_{i,I} B[i,k] Q[i,j,I,J] B[I,K]
    Bt = B.transpose(-1, -2)
    Y = (QA @ B).reshape(S, n, n, m, r).permute(0, 3, 1, 2, 4).reshape(S, m, n * n * r)
    HA = (Bt @ Y).reshape(S, r, n, n, r).permute(0, 1, 2, 4, 3).reshape(S, r * n, r * n)
    A = _ridge_solve(HA, (Bt @ b).reshape(S, r * n), eyeA).reshape(S, r, n)
    return balance(B, A)


def fit_rank(G, y, B, A, lam: float, iters: int, stop_rtol: float = STOP_RTOL):
    """Alternating least squares on ``F_r`` (module docstring) from the starts ``B`` (``S x m x
    r``) and ``A`` (``S x r x n``), batched over the ``S`` starts.

    Each start runs until its own relative decrease of ``F_r`` over one sweep is at most
    ``stop_rtol`` (then it is left alone) or until ``iters`` sweeps. Returns ``(B, A, F,
    iterations, converged)``: the sweeps each start ran and whether it met the tolerance (a start
    with ``converged`` False hit the cap). Both half-steps are exact ridge solves and the
    balancing keeps ``B A``, so ``F`` never increases (checked below).

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> G = torch.randn(30, 4, 4, generator=g, dtype=torch.float64)
    >>> y = torch.randn(30, generator=g, dtype=torch.float64)
    >>> B0 = torch.randn(2, 4, 1, generator=g, dtype=torch.float64)
    >>> A0 = torch.randn(2, 1, 4, generator=g, dtype=torch.float64)
    >>> F0 = _objective(G, y, B0, A0, 1e-3)
    >>> B, A, F, it, ok = fit_rank(G, y, B0, A0, 1e-3, 500)
    >>> bool((F <= F0).all()), bool(ok.all()), bool((it < 500).all())
    (True, True, True)
    >>> fit_rank(G, y, B0, A0, 1e-3, 2)[4].tolist()
    [False, False]
    """
    import torch

    Q, b = normal_equations(G, y)
    QB, QA = _gram_pairs(Q)
    S, m, r = B.shape
    n = A.shape[-1]
    eyeB = lam * torch.eye(m * r, dtype=B.dtype, device=B.device)
    eyeA = lam * torch.eye(r * n, dtype=B.dtype, device=B.device)
    B, A = B.clone(), A.clone()
    F = _objective(G, y, B, A, lam)
    iterations = torch.zeros(S, dtype=torch.long)
    converged = torch.zeros(S, dtype=torch.bool)
    idx = torch.arange(S)
    for it in range(1, iters + 1):
        if len(idx) == S:  # every start still running: no gather and scatter
            B, A = _sweep(QB, QA, b, B, A, eyeB, eyeA)
            Fi = _objective(G, y, B, A, lam)
            done = (F - Fi) <= stop_rtol * Fi.abs()
            F = Fi
        else:
            Bi, Ai = _sweep(QB, QA, b, B[idx], A[idx], eyeB, eyeA)
            Fi = _objective(G, y, Bi, Ai, lam)
            done = (F[idx] - Fi) <= stop_rtol * Fi.abs()
            B[idx], A[idx], F[idx] = Bi, Ai, Fi
        iterations[idx] = it
        converged[idx[done]] = True
        idx = idx[~done]
        if len(idx) == 0:
            break
    return B, A, F, iterations, converged


def least_squares_solution(G, y):
    """The closed-form minimiser of ``1/2 sum_i (y_i - <G_i, Delta>)^2`` over all ``m x n``
    matrices, when the ``N x mn`` feature matrix has full column rank (``N >= mn``): the
    full-rank fit with ``ridge = 0``, against which the solver is checked (the problem is convex
    there, so alternating least squares must reach it).

    >>> import torch
    >>> G = torch.eye(4, dtype=torch.float64).reshape(4, 2, 2)
    >>> least_squares_solution(G, torch.tensor([1.0, 2, 3, 4], dtype=torch.float64)).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    import torch

    m, n = G.shape[1:]
    return torch.linalg.lstsq(_flat(G), y.unsqueeze(1)).solution.reshape(m, n)


def _gradient_norm(G, y, B, A, lam):
    """Relative gradient norm of ``F_r`` at ``(B, A)``: ``||grad F_r|| / (||sum_i y_i G_i||_F
    max(1, ||B A||_F))`` (the gradient's natural size at ``Delta = 0``, scaled up with the fit)."""
    import torch

    res = y - torch.einsum("imn,mn->i", G, B @ A)
    M = torch.einsum("i,imn->mn", res, G)
    gB = -M @ A.T + lam * B
    gA = -B.T @ M + lam * A
    scale = torch.linalg.norm(torch.einsum("i,imn->mn", y, G)) * max(1.0, float(torch.linalg.norm(B @ A)))
    return float(torch.sqrt((gB ** 2).sum() + (gA ** 2).sum()) / scale)


def _errors(pred, labels) -> int:
    return int(((pred * labels) <= 0).sum())


def run_trials(cfg: SweepConfig, r0: int, n_train: int, noise_index: int, trial_indices) -> list[dict]:
    """One outcome per seed index: every rank ``1..max_rank`` fitted at noise level
    ``cfg.noise[noise_index]`` (see the module docstring). Seeds run one after another, so an
    outcome does not depend on the batch it runs in."""
    import torch

    sigma = float(cfg.noise[noise_index])
    dtype = getattr(torch, cfg.dtype)
    dev = torch.device(cfg.device)
    out = []
    for t in trial_indices:
        G, s, z, Gt, st, zt = draw_instance(cfg, r0, n_train, t)
        y = torch.where(s + sigma * z > 0, 1.0, -1.0).to(torch.float64)
        yt = torch.where(st + sigma * zt > 0, 1.0, -1.0).to(torch.float64)
        Gbar, ybar = G.mean(0), y.mean()
        Gc = (G - Gbar).to(dev, dtype)
        yc = (y - ybar).to(dev, dtype)
        lam = cfg.ridge * n_train
        g = _generator(trial_seed(cfg.seed, "rank-sweep-starts", cfg.m, cfg.n, r0, n_train,
                                  noise_index, t))
        M0 = torch.einsum("i,imn->mn", (y - ybar), G - Gbar) / n_train
        U0, S0, V0h = torch.linalg.svd(M0)
        prev = None
        row = {"trial": int(t), "test_errors": [], "train_errors": [], "objective": [],
               "starts_agreeing": [], "starts": [], "grad_rel": [], "iterations": [],
               "capped": [], "delta_rank": []}
        for r in range(1, cfg.max_rank + 1):
            sq = S0[:r].sqrt()
            Bs = [U0[:, :r] * sq]
            As = [sq[:, None] * V0h[:r]]
            if prev is not None:
                Bs.append(torch.cat([prev[0], torch.zeros(cfg.m, 1, dtype=torch.float64)], 1))
                As.append(torch.cat([prev[1], torch.randn(1, cfg.n, generator=g, dtype=torch.float64)
                                     / math.sqrt(cfg.n)], 0))
            for _ in range(cfg.restarts):
                Bs.append(torch.randn(cfg.m, r, generator=g, dtype=torch.float64) / math.sqrt(cfg.m))
                As.append(torch.randn(r, cfg.n, generator=g, dtype=torch.float64) / math.sqrt(cfg.n))
            B0 = torch.stack(Bs).to(dev, dtype)
            A0 = torch.stack(As).to(dev, dtype)
            B, A, F, its, ok = fit_rank(Gc, yc, B0, A0, lam, cfg.iters, cfg.stop_rtol)
            B, A, F = B.double().cpu(), A.double().cpu(), F.double().cpu()
            best = int(torch.argmin(F))
            Fb = float(F[best])
            prev = (B[best], A[best])
            Delta = B[best] @ A[best]
            ftest = torch.einsum("imn,mn->i", Gt - Gbar, Delta) + ybar
            ftrain = torch.einsum("imn,mn->i", G - Gbar, Delta) + ybar
            sv = torch.linalg.svdvals(Delta)
            row["test_errors"].append(_errors(ftest, yt))
            row["train_errors"].append(_errors(ftrain, y))
            row["objective"].append(Fb)
            row["starts"].append(int(F.shape[0]))
            row["starts_agreeing"].append(int(((F - Fb) <= AGREE_RTOL * abs(Fb)).sum()))
            row["grad_rel"].append(_gradient_norm(Gc.double().cpu(), yc.double().cpu(), B[best], A[best], lam))
            row["iterations"].append(int(its.max()))
            row["capped"].append(int((~ok).sum()))
            row["delta_rank"].append(int((sv > 1e-9 * sv[0]).sum()) if float(sv[0]) > 0 else 0)
        row["bayes_errors"] = _errors(st, yt)
        out.append(row)
    return out


# ------------------------------------------------------------------------------ summary
# (torch-free: numpy and scipy only)


def _t_quantile(p: float, df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(p, df))


def paired_one_sided(diffs, confidence: float = 0.95) -> dict:
    """Mean of paired differences over seeds with its one-sided Student-t lower bound at
    ``confidence`` and the two-sided interval; ``positive`` is True when the lower bound is
    above 0 (the difference is positive at level ``1 - confidence``).

    >>> d = paired_one_sided([0.1, 0.2, 0.15, 0.12])
    >>> d["positive"], round(d["mean"], 4), d["n"]
    (True, 0.1425, 4)
    >>> paired_one_sided([0.0, 0.0, 0.0])["positive"]
    False
    """
    import numpy as np

    x = np.asarray(diffs, dtype=float)
    S = len(x)
    mean = float(x.mean())
    if S < 2:
        return {"mean": mean, "n": S, "lower": None, "lo": None, "hi": None, "positive": False,
                "n_positive": int((x > 0).sum()), "n_negative": int((x < 0).sum()),
                "n_zero": int((x == 0).sum())}
    se = float(x.std(ddof=1)) / math.sqrt(S)
    lower = mean - _t_quantile(confidence, S - 1) * se
    half = _t_quantile(0.5 + confidence / 2, S - 1) * se
    return {"mean": mean, "n": S, "lower": lower, "lo": mean - half, "hi": mean + half,
            "positive": bool(lower > 0), "n_positive": int((x > 0).sum()),
            "n_negative": int((x < 0).sum()), "n_zero": int((x == 0).sum())}


def bootstrap_argmin(errors, n_boot: int, seed: int, confidence: float = 0.95) -> dict:
    """The argmin over ranks of the seed-mean error (``errors``: seeds x ranks, ranks from 1)
    and its bootstrap over seeds: shares of each rank, and the percentile interval of the
    resampled argmin (a tie goes to the smallest rank).

    >>> b = bootstrap_argmin([[3, 1, 2], [4, 2, 3], [5, 1, 4]], 200, 0)
    >>> b["r_star"], b["interval"], b["share"]["2"]
    (2, [2, 2], 1.0)
    """
    import numpy as np

    E = np.asarray(errors, dtype=float)
    S, R = E.shape
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, S, size=(n_boot, S))
    means = E[idx].mean(axis=1)
    arg = means.argmin(axis=1) + 1
    alpha = 1 - confidence
    lo, hi = np.quantile(arg, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    return {"r_star": int(E.mean(0).argmin() + 1), "interval": [int(lo), int(hi)],
            "share": {str(r): float((arg == r).mean()) for r in range(1, R + 1)}, "n_boot": n_boot}


def _rate_stats(x, confidence):
    import numpy as np

    x = np.asarray(x, dtype=float)
    S = len(x)
    mean = float(x.mean())
    if S < 2:
        return {"mean": mean, "n": S, "lo": None, "hi": None}
    half = _t_quantile(0.5 + confidence / 2, S - 1) * float(x.std(ddof=1)) / math.sqrt(S)
    return {"mean": mean, "n": S, "lo": mean - half, "hi": mean + half}


def fit_certificate(rows: list, r: int, cap: int) -> dict:
    """How far the rank-``r`` fits of a setting's seeds are certified: every start's fit counts
    (``fits`` = seeds x starts); ``fits_capped`` ran ``cap`` sweeps without meeting the stopping
    tolerance (``cap_share`` of them); ``seeds_all_starts_agree`` is the number of seeds whose
    starts all reach the best objective to :data:`AGREE_RTOL` (``agree_share`` of the seeds);
    the relative gradient norm is that of the best start.

    >>> rows = [{"starts": [2], "capped": [0], "starts_agreeing": [2], "grad_rel": [1e-9],
    ...          "iterations": [30]},
    ...         {"starts": [2], "capped": [1], "starts_agreeing": [1], "grad_rel": [1e-7],
    ...          "iterations": [100]}]
    >>> c = fit_certificate(rows, 1, 100)
    >>> c["fits"], c["fits_capped"], c["cap_share"], c["agree_share"], c["iterations_max"]
    (4, 1, 0.25, 0.5, 100)
    """
    import numpy as np

    k = r - 1
    starts = [int(x["starts"][k]) for x in rows]
    agree = [int(x["starts_agreeing"][k]) for x in rows]
    capped = sum(int(x["capped"][k]) for x in rows)
    grads = [float(x["grad_rel"][k]) for x in rows]
    its = [int(x["iterations"][k]) for x in rows]
    all_agree = sum(a == s for a, s in zip(agree, starts))
    return {"seeds": len(rows), "starts": max(starts), "fits": sum(starts), "fits_capped": capped,
            "cap_share": capped / sum(starts), "cap": cap,
            "starts_agreeing_min": min(agree), "starts_agreeing_mean": float(np.mean(agree)),
            "seeds_all_starts_agree": all_agree, "agree_share": all_agree / len(rows),
            "grad_rel_max": max(grads), "grad_rel_median": float(np.median(grads)),
            "iterations_max": max(its), "iterations_median": float(np.median(its))}


def setting_estimates(cfg: SweepConfig, r0: int, n_train: int, noise_index: int, rows: list) -> dict:
    """Estimates of one setting ``(r0, N, sigma)`` from its trial outcomes (module docstring
    of :mod:`numerics.verdicts.rank_sweep` for the tests they feed)."""
    import numpy as np

    from numerics.verdicts.rank_sweep import pooled_certificate

    sigma = float(cfg.noise[noise_index])
    est = {"r0": r0, "n_train": n_train, "noise": sigma, "bayes_error": bayes_error(sigma),
           "seeds": len(rows)}
    if not rows:
        return est
    rows = sorted(rows, key=lambda x: x["trial"])
    E = np.array([x["test_errors"] for x in rows], dtype=float) / cfg.n_test
    T = np.array([x["train_errors"] for x in rows], dtype=float) / n_train
    R = E.shape[1]
    est["bayes_test_error"] = _rate_stats([x["bayes_errors"] / cfg.n_test for x in rows], cfg.confidence)
    est["per_rank"] = [{
        "r": r, "dim": r * (cfg.m + cfg.n - r), "test_error": _rate_stats(E[:, r - 1], cfg.confidence),
        "train_error": _rate_stats(T[:, r - 1], cfg.confidence),
        **fit_certificate(rows, r, cfg.iters),
        "delta_rank_min": int(min(x["delta_rank"][r - 1] for x in rows)),
    } for r in range(1, R + 1)]
    est["fits"] = pooled_certificate(est["per_rank"])
    est["optimal_rank"] = bootstrap_argmin(E, cfg.n_boot, trial_seed(cfg.seed, "rank-sweep-boot", r0,
                                                                     n_train, noise_index) % 2**32,
                                           cfg.confidence)
    ref = r0 if r0 <= R else None
    if ref is not None:
        est["variance_side"] = {str(r): paired_one_sided(E[:, r - 1] - E[:, ref - 1], cfg.confidence)
                                for r in range(ref + 1, R + 1)}
        est["bias_side"] = {str(r): paired_one_sided(E[:, r - 1] - E[:, ref - 1], cfg.confidence)
                            for r in range(1, ref)}
    # rank one against every larger rank (the paper's claim), and the reverse, one-sided with
    # Bonferroni over the R - 1 comparisons for "some rank beats rank one"
    est["vs_rank_one"] = {str(r): paired_one_sided(E[:, r - 1] - E[:, 0], cfg.confidence)
                          for r in range(2, R + 1)}
    bonf = 1 - (1 - cfg.confidence) / max(1, R - 1)
    est["beats_rank_one"] = {str(r): paired_one_sided(E[:, 0] - E[:, r - 1], bonf)
                             for r in range(2, R + 1)}
    if ref is not None:
        bonf_ref = 1 - (1 - cfg.confidence) / max(1, R - 1)
        est["beats_teacher_rank"] = {str(r): paired_one_sided(E[:, ref - 1] - E[:, r - 1], bonf_ref)
                                     for r in range(1, R + 1) if r != ref}
    return est


def summarise(cfg: SweepConfig, outcomes: dict, *, wall: dict | None = None,
              environment: list | None = None) -> dict:
    """The summary of a run: ``outcomes`` maps ``(r0, n_train, noise_index)`` to trial rows.

    >>> cfg = SweepConfig(m=4, n=4, max_rank=2, teacher_ranks=(1,), n_train=(30,), n_test=50,
    ...                   noise=(0.5,), seeds=3, iters=20, restarts=1, n_boot=50)
    >>> rows = run_trials(cfg, 1, 30, 0, range(3))
    >>> s = summarise(cfg, {(1, 30, 0): rows})
    >>> s["complete"], s["estimates"][0]["optimal_rank"]["r_star"] in (1, 2)
    (True, True)
    """
    from numerics.experiments.records import to_jsonable
    from numerics.verdicts.rank_sweep import CAP_SHARE_MAX, claim_verdicts

    estimates = []
    found = 0
    for r0 in cfg.teacher_ranks:
        for N in cfg.n_train:
            for j in range(len(cfg.noise)):
                rows = outcomes.get((r0, N, j), [])
                found += len(rows)
                estimates.append(setting_estimates(cfg, r0, N, j, rows))
    expected = len(cfg.teacher_ranks) * len(cfg.n_train) * len(cfg.noise) * cfg.seeds
    summary = {
        "format": SUMMARY_FORMAT,
        "model": {
            "features": "G_i in R^{m x n}, entries iid N(0, 1)",
            "teacher": "Delta* = U V^T / sqrt(r0), U, V Haar orthonormal; ||Delta*||_F = 1, so "
                       "s = <G, Delta*> ~ N(0, 1) for every r0",
            "labels": "y = sign(s + sigma z), z ~ N(0, 1); Bayes error arctan(sigma)/pi; "
                      "SNR Var(s)/Var(sigma z) = 1/sigma^2",
            "estimator": "centred squared loss with unpenalised intercept; F_r(B, A) = 1/2 ||yc - "
                         "<Gc, BA>||^2 + lambda/2 (||B||^2 + ||A||^2), lambda = ridge * N; "
                         "alternating least squares (exact ridge half-steps, then the factors "
                         "balanced through the SVD of BA) from the spectral start, the padded rank "
                         "r-1 solution and `restarts` Gaussian starts, each run until its relative "
                         "decrease of F_r per sweep is at most stop_rtol or for `iters` sweeps (the "
                         "cap); the best F_r kept (not certified globally optimal below full rank: "
                         "fits at the cap, starts agreeing and the relative gradient are recorded "
                         "per rank, `fits` pools them per setting)",
            "prediction": "sign(<G - mean G, Delta> + mean y); f = 0 is an error",
        },
        "sizes": {"m": cfg.m, "n": cfg.n, "max_rank": cfg.max_rank,
                  "teacher_ranks": list(cfg.teacher_ranks), "n_train": list(cfg.n_train),
                  "n_test": cfg.n_test, "noise": list(cfg.noise)},
        "solver": {"iters": cfg.iters, "restarts": cfg.restarts, "ridge": cfg.ridge,
                   "agree_rtol": AGREE_RTOL, "stop_rtol": cfg.stop_rtol, "device": cfg.device,
                   "dtype": cfg.dtype},
        "seeds": {"global_seed": cfg.seed, "n_seeds": cfg.seeds},
        "method": {
            "interval": f"{cfg.confidence:g} Student-t over seeds",
            "optimal_rank": f"argmin of the seed-mean held-out error; bootstrap over seeds "
                            f"({cfg.n_boot} resamples), percentile interval, ties to the smaller rank",
            "variance_side": "per r > r0: err(r) - err(r0) paired over seeds, one-sided t lower "
                             "bound at the stated confidence",
            "bias_side": "per r < r0: err(r) - err(r0), the same test",
            "beats": "err(ref) - err(r) one-sided, Bonferroni over the max_rank - 1 comparisons",
            "fit_certificate": "per rank: fits (seeds x starts), fits that hit the cap, seeds whose "
                               "starts all reach the best F_r to agree_rtol, relative gradient of "
                               "the best start; a verdict whose fits hit the cap in more than "
                               f"{100 * CAP_SHARE_MAX:g}% is held open",
        },
        "estimates": estimates,
        "units_found": found, "units_expected": expected, "complete": found == expected,
        "wall_time": wall or {"wall_s": 0.0, "sessions": 0},
        "environment": environment,
    }
    summary["verdicts"] = claim_verdicts(estimates)
    return to_jsonable(summary)


def save_figures(summary: dict, stem) -> list:
    """Held-out error against the rank, one panel per training size, a line per teacher rank
    and noise level (95% t intervals), saved as ``stem.png`` and ``stem.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path

    ests = [e for e in summary["estimates"] if "per_rank" in e]
    sizes = sorted({e["n_train"] for e in ests})
    if not sizes:
        return []
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.5 * len(sizes), 3.6), squeeze=False)
    for ax, N in zip(axes[0], sizes):
        for e in (e for e in ests if e["n_train"] == N):
            rs = [p["r"] for p in e["per_rank"]]
            mean = [p["test_error"]["mean"] for p in e["per_rank"]]
            lo = [p["test_error"]["lo"] if p["test_error"]["lo"] is not None else p["test_error"]["mean"]
                  for p in e["per_rank"]]
            hi = [p["test_error"]["hi"] if p["test_error"]["hi"] is not None else p["test_error"]["mean"]
                  for p in e["per_rank"]]
            line, = ax.plot(rs, mean, marker="o", label=f"r0={e['r0']}, sigma={e['noise']:g}")
            ax.fill_between(rs, lo, hi, alpha=0.2, color=line.get_color())
            ax.axhline(e["bayes_error"], color=line.get_color(), ls=":", lw=0.8)
        ax.set_title(f"N = {N}")
        ax.set_xlabel("rank r")
        ax.set_ylabel("held-out error")
        ax.legend(fontsize=7)
    fig.tight_layout()
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths
