"""Jang, Lee, Ryu (seed 001) by measurement: low-rank existence (J1) and the LoRA landscape (J2)
(THEORY.md section 1).

The exact side is :mod:`proofs.jang` (the Barvinok-Pataki count, the weight-decay bound) and
:mod:`proofs.rank_conditions` (``r0``, the largest ``r`` with ``r (r + 1) / 2 <= M``); this module
measures, in float64, batched over trials in torch (CPU or CUDA).

Part ``exist`` (cell ``(1, m, n, M)``): J1
    A random consistent system ``calA(Delta) = y``: ``M`` measurement matrices ``G_i`` (m x n,
    entries iid N(0, 1)), ``y`` iid N(0, 1) (consistent when ``M < m n``). Three routes:

    (a) the semidefinite program ``min ||Delta||_*`` s.t. ``calA(Delta) = y`` through cvxpy and
        Clarabel (:func:`sdp_min_nuclear`; optional, ``pip install 'lorank[sdp]'``), for the
        first ``sdp_trials`` trials of a cell;
    (b) ADMM on the same problem (:func:`min_nuclear_admm`, batched): ``Delta`` = projection on
        the affine set, ``Z`` = singular value thresholding, residual-balanced penalty; the
        value is certified by a feasible upper bound (``||P(Z)||_*``, ``P`` the exact affine
        projection) and a dual lower bound (``<u, y>`` with ``||calA^* u||_op <= 1``);
    (c) the Barvinok-Pataki reduction (:func:`reduce_to_extreme`): the lift ``X = L L^T``,
        ``L = [U; V] sqrt(S)`` of a feasible ``Delta = U S V^T`` (tr X = 2 ||Delta||_*) moves
        along ``L D L^T`` with ``D`` symmetric in the kernel of ``D -> (<L^T A_i L, D>)_i``
        (and of the objective when the kernel allows) until ``I + t D`` becomes singular; the
        rank of ``X`` drops by at least one per step, while ``R (R + 1) / 2 > M``. It is run
        from the minimum-Frobenius-norm solution (full rank: J1's existence) and from the
        projected ADMM solution (keeping the value: an *optimal* extreme point).

    Measured: ranks (numerical rank: singular values above :data:`RANK_TOL` times the largest
    for exact float64 points, :data:`SOLVER_RANK_TOL` for solver outputs), residuals, values.
Part ``land`` (cell ``(2, r, m, n)``): J2
    ``calA`` and ``y`` as above, normalised to ``||calA||_op = 1`` and ``||y|| = 1``; weight decay
    ``lambda = weight_decay * ||calA^* y||_op``. The convex problem
    ``min 1/2 ||calA(Delta) - y||^2 + lambda ||Delta||_*`` by FISTA (:func:`convex_optimum`),
    certified by a duality gap. Gradient descent on ``1/2 ||calA(B A) - y||^2 + lambda/2
    (||A||^2 + ||B||^2)`` from ``starts`` random starts (entries iid ``N(0, init_scale^2 /
    (m + n))``) with the step ``step / (||A||_F^2 + ||B||_F^2 + ||residual|| + lambda)`` (a
    bound on the local curvature, :func:`lora_descent`); at the end the value, the gradient
    norm and the least eigenvalue of the exact Hessian (:func:`lora_hessian`).

Examples
--------
>>> cfg = JangSettings(sizes=((4, 4),), examples=(3,), trials=2, sdp_trials=0, admm_iters=300,
...                  land_m=3, land_n=3, land_examples=3, land_ranks=(1, 3), land_trials=1,
...                  starts=2, gd_iters=200, prox_iters=200)
>>> rows = exist_trials(cfg, 4, 4, 3, [0, 1])
>>> [row["red_lsq_R"] for row in rows], [row["r0"] for row in rows]
([2, 2], [2, 2])
>>> all(row["red_lsq_residual"] < 1e-10 for row in rows)
True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from numerics.engine.seeding import trial_seed

__all__ = ["JangSettings", "SUMMARY_FORMAT", "RANK_TOL", "SOLVER_RANK_TOL", "numerical_rank",
           "min_nuclear_admm", "reduce_to_extreme", "sdp_min_nuclear", "convex_optimum",
           "lora_descent", "lora_hessian", "exist_trials", "land_trials", "summarise",
           "save_figures", "sdp_available"]

SUMMARY_FORMAT = "lorank.jang-summary/1"
#: Numerical rank of an exact float64 point (a reduced solution): singular values above this
#: times the largest count.
RANK_TOL = 1e-9
#: Numerical rank of a solver's output (ADMM's thresholded iterate, the SDP's interior point,
#: FISTA's iterate): singular values above this times the largest count.
SOLVER_RANK_TOL = 1e-6
#: Clarabel's gap and feasibility tolerances for the SDP route (its defaults are 1e-8; an
#: interior point keeps singular values of the order of the gap's square root, so the SDP's
#: numerical rank needs the tighter tolerance).
SDP_TOL = 1e-11
#: The most reduction steps (each drops the rank of X by at least one, so min(m, n) suffice).
MAX_REDUCTION_STEPS = 10_000


@dataclass(frozen=True)
class JangSettings:
    """Everything that determines the trials (module docstring), and the analysis."""

    sizes: tuple = ((6, 6), (8, 8), (10, 10))
    examples: tuple = (3, 6, 10, 15)
    trials: int = 8
    sdp_trials: int = 2
    admm_iters: int = 2000
    land_m: int = 6
    land_n: int = 6
    land_examples: int = 6
    land_ranks: tuple = (1, 2, 3, 4, 6)
    land_trials: int = 6
    starts: int = 10
    weight_decay: float = 0.2
    init_scale: float = 1.0
    step: float = 1.0
    gd_iters: int = 5000
    prox_iters: int = 2000
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"
    value_tol: float = 1e-4
    grad_tol: float = 1e-6
    hess_tol: float = 1e-6
    confidence: float = 0.95

    def spec(self) -> dict:
        d = asdict(self)
        for k in ("value_tol", "grad_tol", "hess_tol", "confidence"):
            d.pop(k)
        return {k: [list(x) if isinstance(x, tuple) else x for x in v] if isinstance(v, tuple) else v
                for k, v in d.items()}


def sdp_available() -> bool:
    """Whether cvxpy (the SDP route, extra ``sdp``) can be imported.

    >>> isinstance(sdp_available(), bool)
    True
    """
    try:
        import cvxpy  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------------------ helpers

def _generator(seed: int):
    import torch

    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def _device(cfg):
    import torch

    return torch.device(cfg.device), getattr(torch, cfg.dtype)


def numerical_rank(X, tol: float = RANK_TOL):
    """Batched numerical rank: singular values above ``tol`` times the largest (0 for a zero
    matrix).

    >>> import torch
    >>> X = torch.diag(torch.tensor([1.0, 1e-3, 1e-12], dtype=torch.float64))[None]
    >>> numerical_rank(X).tolist(), numerical_rank(X, 1e-2).tolist()
    ([2], [1])
    """
    import torch

    s = torch.linalg.svdvals(X)
    top = s[..., :1]
    return ((s > tol * top) & (top > 0)).sum(-1)


def _svt(X, tau):
    """Singular value thresholding ``U max(S - tau, 0) V^T`` (``tau`` one value per batch)."""
    import torch

    U, s, Vh = torch.linalg.svd(X, full_matrices=False)
    s = torch.clamp(s - tau[:, None], min=0.0)
    return (U * s[:, None, :]) @ Vh, s


def _nuclear(X):
    import torch

    return torch.linalg.svdvals(X).sum(-1)


class _Affine:
    """The affine set ``{Delta : calA(Delta) = y}`` of a batch: ``calA`` as ``S x M x (m n)``,
    its Gram matrix's Cholesky factor, the exact projection and the minimum-norm solution."""

    def __init__(self, G, y):
        import torch

        S, M, m, n = G.shape
        self.m, self.n = m, n
        self.A = G.reshape(S, M, m * n)
        self.y = y
        K = self.A @ self.A.transpose(1, 2)
        self.chol = torch.linalg.cholesky(K)

    def apply(self, X):
        return (self.A @ X.reshape(X.shape[0], -1, 1))[..., 0]

    def adjoint(self, u):
        return (self.A.transpose(1, 2) @ u[..., None]).reshape(-1, self.m, self.n)

    def solve_gram(self, v):
        import torch

        return torch.cholesky_solve(v[..., None], self.chol)[..., 0]

    def project(self, X):
        return X - self.adjoint(self.solve_gram(self.apply(X) - self.y))

    def least_norm(self):
        return self.adjoint(self.solve_gram(self.y))

    def residual(self, X):
        import torch

        return torch.linalg.vector_norm(self.apply(X) - self.y, dim=-1) / torch.linalg.vector_norm(self.y, dim=-1)


# ------------------------------------------------------------------------------ route (b): ADMM

def min_nuclear_admm(G, y, iters: int) -> dict:
    """``min ||Delta||_*`` s.t. ``calA(Delta) = y`` by ADMM, batched (``G``: S x M x m x n).

    Returns the thresholded iterate ``Z`` (exact low rank, nearly feasible), its projection
    ``X`` (feasible to rounding), the certified bounds ``upper = ||X||_*`` and ``lower`` (dual:
    ``<u, y> / ||calA^* u||_op`` with ``calA^* u`` the projection of ``rho U`` on the range of
    ``calA^*``), and the relative residual of ``Z``.

    >>> import torch
    >>> g = torch.Generator().manual_seed(1)
    >>> G = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64)
    >>> y = torch.randn(2, 3, generator=g, dtype=torch.float64)
    >>> out = min_nuclear_admm(G, y, 800)
    >>> bool(((out["upper"] - out["lower"]) / out["upper"]).max() < 1e-6)
    True
    """
    import torch

    aff = _Affine(G, y)
    S = G.shape[0]
    X = aff.least_norm()
    rho = 1.0 / torch.linalg.matrix_norm(X, ord=2).clamp_min(1e-300)
    Z = X.clone()
    U = torch.zeros_like(X)
    for _ in range(iters):
        X = aff.project(Z - U)
        Z_prev = Z
        Z, _ = _svt(X + U, 1.0 / rho)
        U = U + X - Z
        r = torch.linalg.matrix_norm(X - Z)
        s = rho * torch.linalg.matrix_norm(Z - Z_prev)
        up, down = r > 10 * s, s > 10 * r
        factor = torch.where(up, torch.full_like(rho, 2.0), torch.where(down, torch.full_like(rho, 0.5),
                                                                        torch.ones_like(rho)))
        rho = rho * factor
        U = U / factor[:, None, None]
    Xf = aff.project(Z)
    upper = _nuclear(Xf)
    u = aff.solve_gram(aff.apply(rho[:, None, None] * U))
    Wdual = aff.adjoint(u)
    lower = (u * y).sum(-1) / torch.linalg.matrix_norm(Wdual, ord=2).clamp_min(1e-300)
    return {"Z": Z, "X": Xf, "upper": upper, "lower": lower, "residual": aff.residual(Z),
            "rank": numerical_rank(Z, SOLVER_RANK_TOL), "S": S}


# ------------------------------------------------------------------------------ route (c): reduction

def _factor(Delta):
    """``L_u, L_v`` with ``Delta = L_u L_v^T``, ``L = [L_u; L_v]``, ``tr(L L^T) = 2 ||Delta||_*``
    (columns of exactly zero singular values dropped; the same count for the whole batch)."""
    import torch

    U, s, Vh = torch.linalg.svd(Delta, full_matrices=False)
    keep = int((s > 0).sum(-1).max())
    root = torch.sqrt(s[:, :keep])
    return U[:, :, :keep] * root[:, None, :], Vh[:, :keep, :].transpose(1, 2) * root[:, None, :]


def _sym_basis_rows(H):
    """The coordinates of ``D -> <H, D>`` on symmetric ``D`` in the basis ``E_jj``,
    ``E_jk + E_kj`` (``j < k``): ``H_jj`` and ``H_jk + H_kj``. ``H``: ... x R x R."""
    import torch

    R = H.shape[-1]
    iu = torch.triu_indices(R, R, device=H.device)
    full = H + H.transpose(-1, -2)
    diag = iu[0] == iu[1]
    vals = full[..., iu[0], iu[1]]
    return torch.where(diag, vals / 2, vals), iu


def _reduce_group(G, y, Lu, Lv, keep_value: bool):
    """One reduction step for a batch whose ``X`` all have the same rank ``R`` (module
    docstring); returns the new factors (a list, one per trial: the ranks may differ)."""
    import torch

    S, M = y.shape
    R = Lu.shape[-1]
    H = torch.einsum("sar,smab,sbq->smrq", Lu, G, Lv)
    rows, iu = _sym_basis_rows(H)
    gram = Lu.transpose(1, 2) @ Lu + Lv.transpose(1, 2) @ Lv
    obj, _ = _sym_basis_rows(gram / 2)
    p = R * (R + 1) // 2
    if keep_value and p > M + 1:
        rows = torch.cat([rows, obj[:, None, :]], dim=1)
    _, _, Vh = torch.linalg.svd(rows, full_matrices=True)
    c = Vh[:, -1, :]
    D = torch.zeros(S, R, R, dtype=Lu.dtype, device=Lu.device)
    D[:, iu[0], iu[1]] = c
    D[:, iu[1], iu[0]] = c
    slope = (gram * D).sum((-1, -2))
    D = torch.where((slope > 0)[:, None, None], -D, D)
    lam = torch.linalg.eigvalsh(D)[:, 0]
    t = -1.0 / lam
    core = torch.eye(R, dtype=Lu.dtype, device=Lu.device) + t[:, None, None] * D
    w, Q = torch.linalg.eigh(core)
    out = []
    for i in range(S):
        keep = w[i] > RANK_TOL * w[i, -1]
        root = Q[i][:, keep] * torch.sqrt(w[i][keep])[None, :]
        out.append((Lu[i] @ root, Lv[i] @ root))
    return out


def reduce_to_extreme(G, y, Delta, keep_value: bool = True) -> dict:
    """The Barvinok-Pataki reduction (module docstring, route (c)) from feasible points
    ``Delta`` (S x m x n) of ``calA(Delta) = y``, batched by the current rank of the lift.

    Returns per trial: ``R`` (rank of the final lift X; ``R (R + 1) / 2 <= M``), ``Delta``,
    ``steps`` and ``trace`` (``tr X / 2`` at the end, at least ``||Delta||_*``).

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> G = torch.randn(3, 5, 6, 6, generator=g, dtype=torch.float64)
    >>> y = torch.randn(3, 5, generator=g, dtype=torch.float64)
    >>> out = reduce_to_extreme(G, y, _Affine(G, y).least_norm())
    >>> out["R"], out["steps"]   # 6 -> 2: 2 * 3 / 2 = 3 <= 5 < 3 * 4 / 2
    ([2, 2, 2], [4, 4, 4])
    >>> bool(_Affine(G, y).residual(out["Delta"]).max() < 1e-12)
    True
    """
    import torch

    S, M = y.shape
    Lu, Lv = _factor(Delta)
    state = [(Lu[i], Lv[i]) for i in range(S)]
    steps = [0] * S
    for _ in range(MAX_REDUCTION_STEPS):
        todo = [i for i in range(S) if (lambda R: R * (R + 1) // 2 > M)(state[i][0].shape[-1])]
        if not todo:
            break
        groups: dict = {}
        for i in todo:
            groups.setdefault(state[i][0].shape[-1], []).append(i)
        for idx in groups.values():
            new = _reduce_group(G[idx], y[idx], torch.stack([state[i][0] for i in idx]),
                                torch.stack([state[i][1] for i in idx]), keep_value)
            for i, f in zip(idx, new):
                state[i] = f
                steps[i] += 1
    Delta_out = torch.stack([lu @ lv.T for lu, lv in state])
    trace = torch.stack([0.5 * ((lu ** 2).sum() + (lv ** 2).sum()) for lu, lv in state])
    return {"R": [int(lu.shape[-1]) for lu, _ in state], "Delta": Delta_out, "steps": steps,
            "trace": trace}


# ------------------------------------------------------------------------------ route (a): SDP

def sdp_min_nuclear(G, y) -> dict:
    """``min ||Delta||_*`` s.t. ``calA(Delta) = y`` for one instance (numpy float64 arrays
    ``G``: M x m x n, ``y``: M) through cvxpy (its SDP form) and Clarabel; needs the ``sdp``
    extra. Clarabel runs with gap and feasibility tolerances :data:`SDP_TOL`. Returns ``value``,
    ``Delta`` (numpy), ``status`` (cvxpy's, e.g. ``optimal`` or ``optimal_inaccurate``) and
    ``seconds``."""
    import time
    import warnings

    import cvxpy as cp
    import numpy as np

    M, m, n = G.shape
    D = cp.Variable((m, n))
    A = np.asarray(G, dtype=float).reshape(M, m * n)
    prob = cp.Problem(cp.Minimize(cp.normNuc(D)), [A @ cp.reshape(D, (m * n,), order="C") == y])
    t0 = time.perf_counter()
    with warnings.catch_warnings():   # "may be inaccurate": the status says so, and is recorded
        warnings.simplefilter("ignore", UserWarning)
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=SDP_TOL, tol_gap_rel=SDP_TOL, tol_feas=SDP_TOL)
    return {"value": float(prob.value), "Delta": np.asarray(D.value), "status": prob.status,
            "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------------------ part exist

def _exist_instance(cfg, m, n, M, trial):
    import torch

    g = _generator(trial_seed(cfg.seed, "jang-exist", m, n, M, trial))
    d = torch.float64
    return torch.randn(M, m, n, generator=g, dtype=d), torch.randn(M, generator=g, dtype=d)


def exist_trials(cfg: JangSettings, m: int, n: int, M: int, trial_indices) -> list[dict]:
    """Outcomes of part ``exist`` at ``(m, n, M)``, one per trial index, batched (each
    instance from its own generator, so an outcome does not depend on its batch up to the last
    bits of batched products)."""
    import torch

    from proofs.minimal_rank import barvinok_pataki_rank

    trials = list(trial_indices)
    dev, dt = _device(cfg)
    pairs = [_exist_instance(cfg, m, n, M, t) for t in trials]
    G = torch.stack([p[0] for p in pairs]).to(dev, dt)
    y = torch.stack([p[1] for p in pairs]).to(dev, dt)
    aff = _Affine(G, y)
    admm = min_nuclear_admm(G, y, cfg.admm_iters)
    lsq = aff.least_norm()
    red_lsq = reduce_to_extreme(G, y, lsq)
    red_opt = reduce_to_extreme(G, y, admm["X"])
    rank_lsq = numerical_rank(red_lsq["Delta"])
    rank_opt = numerical_rank(red_opt["Delta"])
    res_lsq, res_opt = aff.residual(red_lsq["Delta"]), aff.residual(red_opt["Delta"])
    nuc_opt = _nuclear(red_opt["Delta"])
    out = []
    for i, t in enumerate(trials):
        row = {"trial": int(t), "r0": barvinok_pataki_rank(M),
               "admm_rank": int(admm["rank"][i]), "admm_upper": float(admm["upper"][i]),
               "admm_lower": float(admm["lower"][i]), "admm_residual": float(admm["residual"][i]),
               "lsq_rank": int(numerical_rank(lsq[i:i + 1])[0]),
               "red_lsq_R": red_lsq["R"][i], "red_lsq_rank": int(rank_lsq[i]),
               "red_lsq_steps": red_lsq["steps"][i], "red_lsq_residual": float(res_lsq[i]),
               "red_opt_R": red_opt["R"][i], "red_opt_rank": int(rank_opt[i]),
               "red_opt_steps": red_opt["steps"][i], "red_opt_residual": float(res_opt[i]),
               "red_opt_value": float(nuc_opt[i]), "sdp": None}
        if t < cfg.sdp_trials:
            import numpy as np

            sdp = sdp_min_nuclear(G[i].cpu().numpy(), y[i].cpu().numpy())
            Dz = torch.as_tensor(sdp["Delta"], dtype=torch.float64)[None]
            row["sdp"] = {"value": sdp["value"], "status": sdp["status"],
                          "rank": int(numerical_rank(Dz, SOLVER_RANK_TOL)[0]),
                          "seconds": sdp["seconds"],
                          "residual": float(np.linalg.norm(G[i].cpu().numpy().reshape(M, -1)
                                                           @ sdp["Delta"].reshape(-1)
                                                           - y[i].cpu().numpy())
                                            / np.linalg.norm(y[i].cpu().numpy()))}
        out.append(row)
    return out


# ------------------------------------------------------------------------------ part land

def convex_optimum(G, y, lam, iters: int) -> dict:
    """``min 1/2 ||calA(Delta) - y||^2 + lam ||Delta||_*`` by FISTA with step 1 (the caller
    has ``||calA||_op <= 1``), batched; ``upper`` is the value at the last iterate, ``lower`` the
    dual bound ``-c <r, y> - c^2 ||r||^2 / 2`` with ``c = min(1, lam / ||calA^* r||_op)``.

    >>> import torch
    >>> G = torch.eye(4, dtype=torch.float64).reshape(1, 4, 2, 2)   # calA = vec: ||.||_op = 1
    >>> y = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float64)   # the identity
    >>> out = convex_optimum(G, y, torch.tensor([0.5], dtype=torch.float64), 50)
    >>> round(float(out["upper"][0]), 12), round(float(out["lower"][0]), 12), int(out["rank"][0])
    (0.75, 0.75, 2)
    """
    import torch

    S, M, m, n = G.shape
    A = G.reshape(S, M, m * n)

    def apply(X):
        return (A @ X.reshape(S, -1, 1))[..., 0]

    def adjoint(u):
        return (A.transpose(1, 2) @ u[..., None]).reshape(S, m, n)

    X = torch.zeros(S, m, n, dtype=G.dtype, device=G.device)
    Yk, tk = X, 1.0
    for _ in range(iters):
        Xn, _ = _svt(Yk - adjoint(apply(Yk) - y), lam)
        tn = (1 + math.sqrt(1 + 4 * tk * tk)) / 2
        Yk = Xn + ((tk - 1) / tn) * (Xn - X)
        X, tk = Xn, tn
    r = apply(X) - y
    upper = 0.5 * (r ** 2).sum(-1) + lam * _nuclear(X)
    c = torch.clamp(lam / torch.linalg.matrix_norm(adjoint(r), ord=2).clamp_min(1e-300), max=1.0)
    lower = -c * (r * y).sum(-1) - 0.5 * c ** 2 * (r ** 2).sum(-1)
    return {"Delta": X, "upper": upper, "lower": lower, "rank": numerical_rank(X, SOLVER_RANK_TOL)}


def _lora_parts(G, y, lam, B, A):
    """Value, residual and gradients of the weight-decayed LoRA loss for starts ``B`` (S x P x
    m x r), ``A`` (S x P x r x n) on instances ``G`` (S x M x m x n), ``y`` (S x M)."""
    import torch

    W = B @ A
    R = torch.einsum("smij,spij->spm", G, W) - y[:, None, :]
    Gw = torch.einsum("spm,smij->spij", R, G)
    l = lam[:, None]
    value = 0.5 * (R ** 2).sum(-1) + 0.5 * l * ((A ** 2).sum((-1, -2)) + (B ** 2).sum((-1, -2)))
    gB = Gw @ A.transpose(-1, -2) + l[..., None, None] * B
    gA = B.transpose(-1, -2) @ Gw + l[..., None, None] * A
    return value, R, Gw, gB, gA


def lora_descent(G, y, lam, B, A, iters: int, step: float):
    """Gradient descent from the starts ``B, A`` (S x P x ...) with the step
    ``step / (||A||_F^2 + ||B||_F^2 + ||residual|| + lam)`` per start and iteration; returns the
    final ``B, A``, value and gradient norm.

    >>> import torch
    >>> G = torch.eye(4, dtype=torch.float64).reshape(1, 4, 2, 2)
    >>> y = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float64)
    >>> B = 0.3 * torch.ones(1, 1, 2, 2, dtype=torch.float64); A = B.clone()
    >>> B[..., 0, 1] = -0.2
    >>> out = lora_descent(G, y, torch.tensor([0.5], dtype=torch.float64), B, A, 400, 0.5)
    >>> round(float(out["value"][0, 0]), 9), bool(out["grad"][0, 0] < 1e-9)
    (0.75, True)
    """
    import torch

    for _ in range(iters):
        value, R, Gw, gB, gA = _lora_parts(G, y, lam, B, A)
        curv = ((A ** 2).sum((-1, -2)) + (B ** 2).sum((-1, -2))
                + torch.linalg.vector_norm(R, dim=-1) + lam[:, None])
        eta = (step / curv)[..., None, None]
        B, A = B - eta * gB, A - eta * gA
    value, R, Gw, gB, gA = _lora_parts(G, y, lam, B, A)
    grad = torch.sqrt((gB ** 2).sum((-1, -2)) + (gA ** 2).sum((-1, -2)))
    return {"B": B, "A": A, "value": value, "grad": grad}


def lora_hessian(G, y, lam, B, A):
    """The exact Hessian of the weight-decayed LoRA loss in ``(vec B, vec A)`` (row-major),
    batched like :func:`lora_descent`: ``J^T J + [[0, C], [C^T, 0]] + lam I`` with ``J`` the
    Jacobian of ``(B, A) -> calA(B A)`` and ``C[(a, k), (l, b)] = (calA^* r)_ab delta_kl``.

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> G = torch.randn(1, 3, 2, 3, generator=g, dtype=torch.float64)
    >>> y = torch.randn(1, 3, generator=g, dtype=torch.float64); lam = torch.tensor([0.3], dtype=torch.float64)
    >>> B = torch.randn(1, 1, 2, 2, generator=g, dtype=torch.float64)
    >>> A = torch.randn(1, 1, 2, 3, generator=g, dtype=torch.float64)
    >>> def f(t):
    ...     b, a = t[:4].reshape(1, 1, 2, 2), t[4:].reshape(1, 1, 2, 3)
    ...     return _lora_parts(G, y, lam, b, a)[0].sum()
    >>> auto = torch.autograd.functional.hessian(f, torch.cat([B.flatten(), A.flatten()]))
    >>> bool((lora_hessian(G, y, lam, B, A)[0, 0] - auto).abs().max() < 1e-12)
    True
    """
    import torch

    S, P, m, r = B.shape
    n = A.shape[-1]
    _, _, Gw, _, _ = _lora_parts(G, y, lam, B, A)
    JB = torch.einsum("smab,sprb->spmar", G, A).reshape(S, P, G.shape[1], m * r)
    JA = torch.einsum("spar,smab->spmrb", B, G).reshape(S, P, G.shape[1], r * n)
    J = torch.cat([JB, JA], dim=-1)
    H = J.transpose(-1, -2) @ J
    eye_r = torch.eye(r, dtype=B.dtype, device=B.device)
    C = torch.einsum("spab,kl->spaklb", Gw, eye_r).reshape(S, P, m * r, r * n)
    H[..., :m * r, m * r:] += C
    H[..., m * r:, :m * r] += C.transpose(-1, -2)
    idx = torch.arange(H.shape[-1], device=H.device)
    H[..., idx, idx] += lam[:, None, None]
    return H


def _land_instance(cfg, trial):
    import torch

    m, n, M = cfg.land_m, cfg.land_n, cfg.land_examples
    g = _generator(trial_seed(cfg.seed, "jang-land", m, n, M, trial))
    d = torch.float64
    G = torch.randn(M, m, n, generator=g, dtype=d)
    y = torch.randn(M, generator=g, dtype=d)
    G = G / torch.linalg.matrix_norm(G.reshape(M, m * n), ord=2)
    return G, y / torch.linalg.vector_norm(y)


def _start(cfg, r, trial, start):
    import torch

    m, n, M = cfg.land_m, cfg.land_n, cfg.land_examples
    g = _generator(trial_seed(cfg.seed, "jang-start", m, n, M, r, trial, start))
    s = cfg.init_scale / math.sqrt(m + n)
    return (torch.randn(m, r, generator=g, dtype=torch.float64) * s,
            torch.randn(r, n, generator=g, dtype=torch.float64) * s)


def land_trials(cfg: JangSettings, r: int, trial_indices) -> list[dict]:
    """Outcomes of part ``land`` at rank ``r``: per instance the convex optimum (certified
    bounds, rank) and per start the final value, gradient norm and least Hessian eigenvalue."""
    import torch

    trials = list(trial_indices)
    dev, dt = _device(cfg)
    inst = [_land_instance(cfg, t) for t in trials]
    G = torch.stack([p[0] for p in inst]).to(dev, dt)
    y = torch.stack([p[1] for p in inst]).to(dev, dt)
    M, m, n = G.shape[1:]
    lam_max = torch.linalg.matrix_norm(torch.einsum("sm,smij->sij", y, G), ord=2)
    lam = cfg.weight_decay * lam_max
    conv = convex_optimum(G, y, lam, cfg.prox_iters)
    starts = [[_start(cfg, r, t, k) for k in range(cfg.starts)] for t in trials]
    B = torch.stack([torch.stack([s[0] for s in row]) for row in starts]).to(dev, dt)
    A = torch.stack([torch.stack([s[1] for s in row]) for row in starts]).to(dev, dt)
    gd = lora_descent(G, y, lam, B, A, cfg.gd_iters, cfg.step)
    H = lora_hessian(G, y, lam, gd["B"], gd["A"])
    hmin = torch.linalg.eigvalsh(H)[..., 0]
    rank_end = numerical_rank((gd["B"] @ gd["A"]).flatten(0, 1), SOLVER_RANK_TOL).reshape(len(trials), -1)
    out = []
    for i, t in enumerate(trials):
        out.append({"trial": int(t), "lam": float(lam[i]), "conv_upper": float(conv["upper"][i]),
                    "conv_lower": float(conv["lower"][i]), "conv_rank": int(conv["rank"][i]),
                    "value": [float(v) for v in gd["value"][i]],
                    "grad": [float(v) for v in gd["grad"][i]],
                    "hess_min": [float(v) for v in hmin[i]],
                    "rank_end": [int(v) for v in rank_end[i]]})
    return out


# ------------------------------------------------------------------------------ summary

def _stats(values) -> dict:
    vals = sorted(float(v) for v in values)
    if not vals:
        return {"n": 0}
    return {"n": len(vals), "min": vals[0], "max": vals[-1], "mean": sum(vals) / len(vals)}


def _exist_summary(cfg: JangSettings, outcomes: dict) -> list:
    out = []
    for (m, n, M), rows in sorted(outcomes.items()):
        entry = {"m": m, "n": n, "M": M, "trials": len(rows)}
        if not rows:
            out.append(entry)
            continue
        r0 = rows[0]["r0"]
        gaps = [(x["admm_upper"] - x["admm_lower"]) / x["admm_upper"] for x in rows]
        sdp = [x for x in rows if x["sdp"] is not None]
        entry.update(
            r0=r0, manifold_rank=next((k for k in range(1, min(m, n) + 1) if k * (m + n - k) >= M), None),
            admm_rank=_stats(x["admm_rank"] for x in rows),
            admm_rank_counts=_counts(x["admm_rank"] for x in rows),
            admm_gap_max=max(gaps), admm_residual_max=max(x["admm_residual"] for x in rows),
            admm_certified=sum(g <= cfg.value_tol for g in gaps),
            admm_rank_within_bound=sum(x["admm_rank"] <= r0 for x in rows),
            admm_certified_over=sum(g <= cfg.value_tol and x["admm_rank"] > r0 for g, x in zip(gaps, rows)),
            lsq_rank=_stats(x["lsq_rank"] for x in rows),
            red_lsq_R=_stats(x["red_lsq_R"] for x in rows),
            red_lsq_rank=_stats(x["red_lsq_rank"] for x in rows),
            red_lsq_steps=_stats(x["red_lsq_steps"] for x in rows),
            red_lsq_residual_max=max(x["red_lsq_residual"] for x in rows),
            red_lsq_within_bound=sum(x["red_lsq_R"] * (x["red_lsq_R"] + 1) // 2 <= M
                                     and x["red_lsq_rank"] <= r0 for x in rows),
            red_opt_R=_stats(x["red_opt_R"] for x in rows),
            red_opt_rank=_stats(x["red_opt_rank"] for x in rows),
            red_opt_steps=_stats(x["red_opt_steps"] for x in rows),
            red_opt_residual_max=max(x["red_opt_residual"] for x in rows),
            red_opt_within_bound=sum(x["red_opt_R"] * (x["red_opt_R"] + 1) // 2 <= M
                                     and x["red_opt_rank"] <= r0 for x in rows),
            red_opt_value_excess_max=max((x["red_opt_value"] - x["admm_upper"]) / x["admm_upper"]
                                         for x in rows),
            red_opt_gap_max=max((x["red_opt_value"] - x["admm_lower"]) / x["red_opt_value"]
                                for x in rows),
            sdp_trials=len(sdp))
        if sdp:
            entry.update(
                sdp_value_diff_max=max(abs(x["sdp"]["value"] - x["admm_upper"]) / x["admm_upper"]
                                       for x in sdp),
                sdp_rank_agree=sum(x["sdp"]["rank"] == x["admm_rank"] for x in sdp),
                sdp_ranks=[x["sdp"]["rank"] for x in sdp],
                sdp_status=sorted({x["sdp"]["status"] for x in sdp}),
                sdp_residual_max=max(x["sdp"]["residual"] for x in sdp),
                sdp_seconds=sum(x["sdp"]["seconds"] for x in sdp))
        out.append(entry)
    return out


def _counts(values) -> dict:
    c: dict = {}
    for v in values:
        c[str(v)] = c.get(str(v), 0) + 1
    return dict(sorted(c.items(), key=lambda kv: int(kv[0])))


def classify_start(value, grad, hess_min, lower, reference, cfg_tols) -> str:
    """The class of one start: ``optimal`` (value within ``value_tol`` of the certified convex
    lower bound), ``spurious`` (gradient at most ``grad_tol``, least Hessian eigenvalue at least
    ``-hess_tol`` and value above ``reference (1 + value_tol)``, ``reference`` a value attained
    at this rank: a certified non-global approximate second-order point), ``saddle`` (small
    gradient, eigenvalue below ``-hess_tol``), ``rank-limited`` (small gradient and PSD Hessian
    at the best value attained at this rank, above the convex optimum) or ``budget``.

    >>> tols = (1e-4, 1e-6, 1e-6)
    >>> classify_start(1.0, 1e-3, 0.0, 1.0, 1.0, tols)
    'optimal'
    >>> classify_start(1.2, 1e-8, 1e-9, 1.0, 1.0, tols), classify_start(1.2, 1e-8, -1e-2, 1.0, 1.0, tols)
    ('spurious', 'saddle')
    >>> classify_start(1.2, 1e-3, 0.0, 1.0, 1.0, tols), classify_start(1.2, 1e-8, 0.0, 1.0, 1.2, tols)
    ('budget', 'rank-limited')
    """
    value_tol, grad_tol, hess_tol = cfg_tols
    if value - lower <= value_tol * lower:
        return "optimal"
    if grad > grad_tol:
        return "budget"
    if hess_min < -hess_tol:
        return "saddle"
    if value > reference * (1 + value_tol):
        return "spurious"
    return "rank-limited"


def _land_summary(cfg: JangSettings, outcomes: dict) -> list:
    tols = (cfg.value_tol, cfg.grad_tol, cfg.hess_tol)
    M = cfg.land_examples
    out = []
    for r in cfg.land_ranks:
        rows = outcomes.get(r, [])
        entry = {"r": r, "above": r * (r + 1) // 2 > M, "instances": len(rows)}
        classes = {"optimal": 0, "spurious": 0, "saddle": 0, "rank-limited": 0, "budget": 0}
        gaps, worst, examples = [], [], []
        for row in rows:
            best = min(row["value"])
            reference = min(best, row["conv_upper"]) if r >= row["conv_rank"] else best
            gaps.append((row["conv_upper"] - row["conv_lower"]) / row["conv_lower"])
            for k, (v, g, h) in enumerate(zip(row["value"], row["grad"], row["hess_min"])):
                c = classify_start(v, g, h, row["conv_lower"], reference, tols)
                classes[c] += 1
                worst.append((v - row["conv_lower"]) / row["conv_lower"])
                if c == "spurious" and len(examples) < 5:
                    examples.append({"trial": row["trial"], "start": k, "excess": (v - reference) / reference,
                                     "grad": g, "hess_min": h, "rank": row["rank_end"][k]})
        starts = sum(classes.values())
        entry.update(starts=starts, classes=classes,
                     conv_rank=_counts(row["conv_rank"] for row in rows),
                     conv_gap_max=max(gaps) if gaps else None,
                     excess=_stats(worst), grad=_stats(g for row in rows for g in row["grad"]),
                     hess_min=_stats(h for row in rows for h in row["hess_min"]),
                     spurious_examples=examples)
        out.append(entry)
    return out


def summarise(cfg: JangSettings, outcomes: dict, *, wall: dict | None = None,
              environment: list | None = None) -> dict:
    """The summary of a run; ``outcomes`` maps ``("exist", m, n, M)`` and ``("land", r)`` to
    trial rows.

    >>> cfg = JangSettings(sizes=((4, 4),), examples=(3,), trials=2, sdp_trials=0, admm_iters=300,
    ...                  land_m=3, land_n=3, land_examples=3, land_ranks=(1, 3), land_trials=1,
    ...                  starts=2, gd_iters=300, prox_iters=300)
    >>> out = {("exist", 4, 4, 3): exist_trials(cfg, 4, 4, 3, [0, 1]),
    ...        ("land", 1): land_trials(cfg, 1, [0]), ("land", 3): land_trials(cfg, 3, [0])}
    >>> s = summarise(cfg, out)
    >>> s["complete"], s["units_found"], s["exist"][0]["r0"]
    (True, 4, 2)
    """
    from numerics.experiments.records import to_jsonable
    from numerics.verdicts.jang import claim_verdicts

    exist = {key[1:]: rows for key, rows in outcomes.items() if key[0] == "exist"}
    for m, n in cfg.sizes:
        for M in cfg.examples:
            exist.setdefault((m, n, M), [])
    land = {key[1]: rows for key, rows in outcomes.items() if key[0] == "land"}
    found = sum(len(v) for v in exist.values()) + sum(len(v) for v in land.values())
    expected = len(cfg.sizes) * len(cfg.examples) * cfg.trials + len(cfg.land_ranks) * cfg.land_trials
    summary = {
        "format": SUMMARY_FORMAT,
        "model": {
            "exist": "G_i entries iid N(0, 1) (m x n), y iid N(0, 1); min ||Delta||_* s.t. calA(Delta) = y "
                     "by (a) cvxpy/Clarabel SDP, (b) batched ADMM (certified upper and dual lower "
                     "bound), (c) Barvinok-Pataki reduction of the lift X = L L^T from the "
                     "minimum-Frobenius solution and from the projected ADMM solution",
            "land": "G_i, y as above, normalised to ||calA||_op = 1, ||y|| = 1; lambda = weight_decay "
                    "||calA^* y||_op; convex optimum of 1/2||calA(D) - y||^2 + lambda ||D||_* by "
                    "FISTA with a duality-gap lower bound; GD on 1/2||calA(BA) - y||^2 + lambda/2 "
                    "(||A||^2 + ||B||^2) from random starts, exact Hessian at the end",
        },
        "sizes": {"exist": [list(s) for s in cfg.sizes], "examples": list(cfg.examples),
                  "land": {"m": cfg.land_m, "n": cfg.land_n, "M": cfg.land_examples,
                           "ranks": list(cfg.land_ranks)}},
        "solver": {"admm_iters": cfg.admm_iters, "prox_iters": cfg.prox_iters, "gd_iters": cfg.gd_iters,
                   "step": cfg.step, "init_scale": cfg.init_scale, "weight_decay": cfg.weight_decay,
                   "starts": cfg.starts, "sdp_trials": cfg.sdp_trials, "rank_tol": RANK_TOL,
                   "solver_rank_tol": SOLVER_RANK_TOL, "device": cfg.device, "dtype": cfg.dtype},
        "seeds": {"global_seed": cfg.seed, "trials": cfg.trials, "land_trials": cfg.land_trials},
        "method": {"value_tol": cfg.value_tol, "grad_tol": cfg.grad_tol, "hess_tol": cfg.hess_tol,
                   "confidence": cfg.confidence,
                   "classes": "optimal: value within value_tol of the certified convex lower bound; "
                              "spurious: gradient <= grad_tol, least Hessian eigenvalue >= -hess_tol, "
                              "value above (1 + value_tol) x a value attained at this rank; saddle: "
                              "small gradient, eigenvalue < -hess_tol; rank-limited: small gradient, "
                              "PSD Hessian, at the best value attained at this rank (r below the "
                              "convex optimum's rank); budget: gradient above grad_tol"},
        "exist": _exist_summary(cfg, exist),
        "land": _land_summary(cfg, land),
        "units_found": found, "units_expected": expected, "complete": found == expected,
        "wall_time": wall or {"wall_s": 0.0, "sessions": 0},
        "environment": environment,
    }
    summary["verdicts"] = claim_verdicts(summary)
    return to_jsonable(summary)


def save_figures(summary: dict, stem) -> list:
    """Two panels: ranks found against M with the Barvinok-Pataki floor r0, and the classes of
    the GD starts against the LoRA rank; saved as ``stem.png`` and ``stem.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    done = [e for e in summary["exist"] if e["trials"]]
    Ms = sorted({e["M"] for e in done})
    axes[0].plot(Ms, [next(e["r0"] for e in done if e["M"] == M) for M in Ms], color="k", marker="s",
                 label="r0: largest r with r(r+1)/2 <= M")
    for (m, n) in sorted({(e["m"], e["n"]) for e in done}):
        sel = [e for e in done if (e["m"], e["n"]) == (m, n)]
        xs = [e["M"] for e in sel]
        line, = axes[0].plot(xs, [e["admm_rank"]["mean"] for e in sel], marker="o",
                             label=f"{m}x{n} min-nuclear (ADMM), mean")
        axes[0].plot(xs, [e["red_lsq_R"]["max"] for e in sel], marker="x", ls="--",
                     color=line.get_color(), label=f"{m}x{n} reduced from min-Frobenius, max")
    axes[0].set_xlabel("M (equations)")
    axes[0].set_ylabel("rank")
    axes[0].legend(fontsize=6)
    axes[0].set_title("J1: ranks of solutions against the Barvinok-Pataki floor", fontsize=8)
    land = [e for e in summary["land"] if e["starts"]]
    names = ["optimal", "rank-limited", "spurious", "saddle", "budget"]
    bottom = [0.0] * len(land)
    for name in names:
        vals = [e["classes"][name] / e["starts"] for e in land]
        axes[1].bar([str(e["r"]) for e in land], vals, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, vals)]
    axes[1].set_xlabel("LoRA rank r (threshold: r(r+1)/2 > M)")
    axes[1].set_ylabel("fraction of starts")
    axes[1].legend(fontsize=7)
    sz = summary["sizes"]["land"]
    axes[1].set_title(f"J2: GD on weight-decayed LoRA, {sz['m']}x{sz['n']}, M = {sz['M']}", fontsize=8)
    fig.tight_layout()
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths
