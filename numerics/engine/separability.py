"""Estimand E4, separability (THEORY.md section 2, R2): can a rank-r update separate random labels?

An instance is a Gaussian-iid feature batch ``G_1 .. G_N`` in R^{m x n} (``K = 1``, ``M = N``)
with binary labels ``s_i = +-1``. A *separator* of rank ``r`` is ``Delta = B A`` (``B`` in
R^{m x r}, ``A`` in R^{r x n}) with every margin ``s_i <G_i, Delta>`` positive. ``p_sep`` is the
probability that one exists, a curve over ``rho = r (m + n - r) / N``.

Labels
------
The instance of a trial is drawn by :func:`numerics.engine.instances.sample_instances` from the trial's
own generator: first the features ``G``, then the Gaussian targets ``y``. The labels are
``s_i = sign(y_i)`` (``+1`` where ``y_i >= 0``): iid fair signs, independent of ``G``, drawn
after the instance from the same generator. So E4 runs on the same features as E1 at the same
``(m, n, M)`` and seed, and a float32 instance has the labels of its float64 twin.

Solver: damped Gauss-Newton on the logistic loss
------------------------------------------------
:func:`logistic_gauss_newton` minimises ``L(B, A) = sum_i log(1 + exp(-z_i))``, ``z_i = s_i
<G_i, B A>``, over ``theta = (B, A)`` with Levenberg-Marquardt-damped generalised Gauss-Newton
steps. With ``J`` the Jacobian of ``theta -> (<G_i, B A>)_i``, the gradient ``g_i = dL/df_i =
-s_i sigma(-z_i)`` and the curvature ``w_i = sigma(z_i) sigma(-z_i)``, each iteration takes

- ``dtheta = -J^T D (D J J^T D + mu I)^{-1} D^{-1} g`` (``D = diag(sqrt(w))``) when
  ``N <= p = r (m + n)``, where ``D^{-1} g = -s exp(-z / 2)`` is formed directly, else
- ``dtheta = -(J^T W J + mu I)^{-1} J^T g``;

both are the minimiser of the damped quadratic model ``g^T J dtheta + 1/2 dtheta^T (J^T W J +
mu I) dtheta``. ``mu = lam * mean(diag)`` of the weighted system (dimensionless ``lam``). A step
that lowers ``L`` is accepted and ``lam`` shrinks by 3, otherwise ``lam`` grows by 4. After an
accepted step ``B`` and ``A`` are rescaled to equal Frobenius norms (``B A`` is unchanged), which
keeps the damping balanced between the two factors. The weights use ``z`` clipped to
``[-60, 60]`` (``w < 1e-26`` beyond; the loss itself is never clipped).

Why this method: with ``A`` fixed the problem is logistic regression in ``B`` (and vice versa),
on which Newton-type steps converge in a few iterations where plain gradient descent needs
thousands (the logistic loss of nearly separable data is badly conditioned). The joint damped
step moves both factors at once, as E1's Levenberg-Marquardt does, and the trust-region rule
needs no step size. Measured against :func:`gradient_descent_baseline` (normalised gradient
descent, step 0.05 of the norm, 3000 steps) from the same starts on the same 40 instances at
8 x 8, r = 1 (seeds 100.., starts 500..): certified 13 / 26 / 39 against 8 / 24 / 39 at
rho = 0.35 / 0.4 / 0.5, with 13-22 mean iterations against 70-380, about 10x less time.

A trial stops as soon as it is certified (checked whenever every working-precision margin is
positive), when ``lam`` reaches ``lam_max`` or the loss fell by less than ``stall_rtol`` over
``stall_window`` iterations (stalled), when the loss is not finite, or after ``max_iter``
iterations. Uncertified trials are restarted from fresh random starts (:func:`separate`).

Certificate
-----------
:func:`certify_separation` recomputes, in float64, ``Delta = B A`` explicitly, the margins
``s_i <G_i, Delta>`` through ``apply`` and the normalised margin ``min_i s_i <G_i, Delta> /
(||G_i||_F ||Delta||_F)``. A success is a finite normalised margin ``>= 1e-8``
(:data:`MARGIN_THRESHOLD`); anything non-finite is a failure and is reported. A failure proves
nothing (the solver may have missed a separator), so the estimated ``p_sep`` is a lower bound
and its transition an upper bound on the separability transition.

>>> op, s = sample_separability_instances([0, 1], m=4, n=4, N=6)
>>> out = separate(op, s, 1, [[10, 11], [12, 13]])
>>> out["first_success"]
[0, 0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from numerics.engine.instances import (
    FeatureOperator,
    GaussianFeatures,
    sample_instances,
)
from numerics.engine.seeding import trial_seed
from numerics.engine.solvers import RestartTally, compact_batch, random_starts, restart_rounds
from proofs.validation import (InvalidArgument, require_positive_float, require_positive_int,
                               require_rank)

__all__ = [
    "MARGIN_THRESHOLD",
    "SepConfig",
    "SepResult",
    "labels_from_targets",
    "sample_separability_instances",
    "feature_norms",
    "certify_separation",
    "logistic_gauss_newton",
    "gradient_descent_baseline",
    "separate",
    "sep_start_seed",
    "sufficient_rho",
    "cover_rho",
]

#: A success is a float64 normalised margin ``min_i s_i <G_i, Delta> / (||G_i|| ||Delta||)`` at
#: least this (far above float64 rounding, about ``1e-16 sqrt(m n)``, and far below the margins
#: of the separators found, see the tests).
MARGIN_THRESHOLD = 1e-8
_Z_CLIP = 60.0


@dataclass
class SepConfig:
    """Settings of :func:`logistic_gauss_newton` and :func:`separate`.

    >>> SepConfig().max_iter
    100
    >>> SepConfig(margin_threshold=0)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: margin_threshold must be a positive finite number, got 0
    """

    max_iter: int = field(default=100, metadata={"help": "iterations per start (the budget)"})
    lam0: float = field(default=1e-2, metadata={"help": "initial damping, mu = lam * mean diag"})
    lam_down: float = field(default=1 / 3, metadata={"help": "lam factor after an accepted step"})
    lam_up: float = field(default=4.0, metadata={"help": "lam factor after a rejected step"})
    lam_min: float = field(default=1e-12, metadata={"help": "floor on lam"})
    lam_max: float = field(default=1e10, metadata={"help": "lam at which a start counts as stalled"})
    stall_window: int = field(default=25, metadata={"help": "iterations over which progress is measured"})
    stall_rtol: float = field(default=1e-4, metadata={"help": "stalled if the loss fell by less than this fraction over the window"})
    margin_threshold: float = field(default=MARGIN_THRESHOLD, metadata={"help": "success iff float64 normalised margin >= this"})
    start_scale: float | None = field(default=None, metadata={"help": "std of start entries; None: (r m n)^(-1/4), margins O(1)"})
    compact_frac: float = field(default=0.75, metadata={"help": "compact the batch when the active fraction falls below this"})

    def __post_init__(self):
        for name in ("max_iter", "stall_window"):
            require_positive_int(name, getattr(self, name))
        for name in ("lam0", "lam_min", "lam_max", "lam_up", "stall_rtol", "margin_threshold"):
            require_positive_float(name, getattr(self, name))
        require_positive_float("lam_down", self.lam_down, upper=1)
        require_positive_float("compact_frac", self.compact_frac, upper=1.0000001)
        if self.lam_up <= 1:
            raise InvalidArgument(f"lam_up must be above 1, got {self.lam_up!r}")
        if self.start_scale is not None:
            require_positive_float("start_scale", self.start_scale)


@dataclass
class SepResult:
    """Per-trial outcome of one start (tensors of leading size ``T``).

    ``margin`` is the certified float64 normalised margin (NaN where not finite), ``success``
    is ``margin >= margin_threshold``, ``iterations`` the iterations run (to the certificate on a
    success), ``nonfinite`` flags a non-finite loss, iterate or certificate.
    """

    B: torch.Tensor
    A: torch.Tensor
    margin: torch.Tensor
    success: torch.Tensor
    iterations: torch.Tensor
    nonfinite: torch.Tensor


def labels_from_targets(y: torch.Tensor) -> torch.Tensor:
    """Labels ``s = sign(y)`` with ``sign(0) = +1``, in the dtype of ``y``.

    >>> labels_from_targets(torch.tensor([[-0.3, 0.0, 2.0]]))
    tensor([[-1.,  1.,  1.]])
    """
    return torch.where(y >= 0, 1.0, -1.0).to(y.dtype)


def sample_separability_instances(seeds, m: int, n: int, N: int, *, device="cpu",
                                  dtype=torch.float64, sample_device=None):
    """A batch ``(op, s)``: Gaussian-iid features (``K = 1``, ``M = N``) and fair +-1 labels.

    The features are those of :func:`numerics.engine.instances.sample_instances` for the same seed;
    the labels are the signs of its targets (drawn after the features from the same generator).

    >>> op, s = sample_separability_instances([3], m=2, n=3, N=5)
    >>> op.shape, sorted(set(s.flatten().tolist())) <= [-1.0, 1.0]
    ((1, 5, 2, 3), True)
    """
    op, y = sample_instances(seeds, m, n, N, features="gaussian", device=device, dtype=dtype,
                             sample_device=sample_device)
    return op, labels_from_targets(y)


def feature_norms(op: FeatureOperator) -> torch.Tensor:
    """``||G_i||_F`` in float64, shape ``(T, M)``.

    >>> g = torch.ones(1, 2, 3, 2, dtype=torch.float64)   # T=1, m=2, M=3, n=2
    >>> feature_norms(GaussianFeatures(g))
    tensor([[2., 2., 2.]], dtype=torch.float64)
    """
    if isinstance(op, GaussianFeatures):
        return op.data.to(torch.float64).pow(2).sum(dim=(1, 3)).sqrt()
    return op.to(torch.float64).dense().pow(2).sum(dim=(2, 3)).sqrt()


def certify_separation(op: FeatureOperator, s: torch.Tensor, B: torch.Tensor,
                       A: torch.Tensor) -> torch.Tensor:
    """Normalised margin ``min_i s_i <G_i, Delta> / (||G_i||_F ||Delta||_F)``, in float64.

    The instance is cast to float64 (exact from float32), ``Delta = B A`` is formed explicitly
    in float64 and ``<G_i, Delta>`` is taken through ``apply``; a non-finite value (or
    ``Delta = 0``) gives NaN. A success is a value ``>= MARGIN_THRESHOLD``.

    >>> g = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]], dtype=torch.float64).transpose(1, 2)
    >>> op = GaussianFeatures(g)                 # m=1, n=2: G_0 = [1, 0], G_1 = [0, 1]
    >>> s = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    >>> B = torch.ones(1, 1, 1, dtype=torch.float64); A = torch.tensor([[[1.0, -1.0]]], dtype=torch.float64)
    >>> round(float(certify_separation(op, s, B, A)), 6)    # 1 / sqrt(2)
    0.707107
    """
    op64 = op.to(torch.float64)
    delta = B.to(torch.float64) @ A.to(torch.float64)
    margins = s.to(torch.float64) * op64.apply(delta)
    dnorm = delta.flatten(1).norm(dim=1)
    normalised = (margins / feature_norms(op64)).min(dim=1).values / dnorm
    ok = torch.isfinite(normalised) & (dnorm > 0)
    return torch.where(ok, normalised, torch.full_like(normalised, math.nan))


def _forward(op, s, B, A):
    """The right pass ``Rn`` (``(T, r, m, M)``), the signed margins ``z`` and the loss."""
    Rn = op.right_native(A)
    T, M = s.shape
    bt = B.transpose(1, 2).reshape(T, 1, -1)
    f = torch.bmm(bt, Rn.reshape(T, -1, M)).view(T, M)
    z = s * f
    return Rn, z, torch.nn.functional.softplus(-z).sum(dim=1)


def _gn_step(Rn, Ln, s, z, lam):
    """The damped generalised Gauss-Newton step ``(dB, dA)`` and whether Cholesky worked."""
    T, r, m, M = Rn.shape
    n = Ln.shape[3]
    zc = z.clamp(-_Z_CLIP, _Z_CLIP)
    logw = torch.nn.functional.logsigmoid(zc) + torch.nn.functional.logsigmoid(-zc)
    d = torch.exp(0.5 * logw)                                   # sqrt(w)
    JB_t = Rn.reshape(T, r * m, M)                              # J_B^T, params as vec(B^T)
    if M <= r * (m + n):
        K = torch.bmm(JB_t.transpose(1, 2), JB_t)
        LnF = Ln.reshape(T * r, M, n)
        K = K + torch.bmm(LnF, LnF.transpose(1, 2)).view(T, r, M, M).sum(dim=1)
        S = d.unsqueeze(2) * K * d.unsqueeze(1)
        rhs = (-s * torch.exp(-0.5 * zc)).unsqueeze(2)          # D^{-1} g
    else:
        J = torch.cat((JB_t.transpose(1, 2), Ln.transpose(1, 2).reshape(T, M, r * n)), dim=2)
        Jw = J * d.unsqueeze(2)
        S = Jw.transpose(1, 2) @ Jw
        g = -s * torch.sigmoid(-z)
        rhs = J.transpose(1, 2) @ g.unsqueeze(2)
    diag = S.diagonal(dim1=1, dim2=2)
    diag += (lam * diag.mean(dim=1)).unsqueeze(1)
    L, info = torch.linalg.cholesky_ex(S)
    u = torch.cholesky_solve(rhs, L)
    if M <= r * (m + n):
        c = (d.unsqueeze(2) * u).view(T, M)                     # (W K + mu I)^{-1} g
        dB = -torch.bmm(JB_t, c.unsqueeze(2)).view(T, r, m).transpose(1, 2)
        dA = -torch.matmul(c.view(T, 1, 1, M), Ln).view(T, r, n)
    else:
        dB = -u[:, : r * m].reshape(T, r, m).transpose(1, 2)
        dA = -u[:, r * m:].reshape(T, r, n)
    ok = (info == 0) & torch.isfinite(u).flatten(1).all(dim=1)
    ok3 = ok.view(-1, 1, 1)
    return torch.where(ok3, dB, 0.0), torch.where(ok3, dA, 0.0), ok


def _balance(B, A):
    """Rescale so that ``||B||_F = ||A||_F`` (``B A`` unchanged); returns ``(B, A, c)``."""
    nb = B.flatten(1).norm(dim=1)
    na = A.flatten(1).norm(dim=1)
    c = torch.where((nb > 0) & (na > 0), torch.sqrt(na / nb), torch.ones_like(nb))
    return B * c.view(-1, 1, 1), A / c.view(-1, 1, 1), c


def _check_problem(op, s, B=None, A=None):
    if not isinstance(op, FeatureOperator):
        raise InvalidArgument(f"op must be a FeatureOperator, got {type(op).__name__}")
    if tuple(s.shape) != (op.T, op.M):
        raise InvalidArgument(f"s must have shape {(op.T, op.M)}, got {tuple(s.shape)}")
    if not bool(((s == 1) | (s == -1)).all()):
        raise InvalidArgument("s must hold labels +1 and -1 only")
    if B is not None and (B.dim() != 3 or tuple(B.shape[:2]) != (op.T, op.m)):
        raise InvalidArgument(f"B must have shape ({op.T}, {op.m}, r), got {tuple(B.shape)}")
    if A is not None and (A.dim() != 3 or A.shape[0] != op.T or A.shape[2] != op.n):
        raise InvalidArgument(f"A must have shape ({op.T}, r, {op.n}), got {tuple(A.shape)}")


def logistic_gauss_newton(op: FeatureOperator, s: torch.Tensor, r: int, starts,
                          config: SepConfig | None = None) -> SepResult:
    """Batched damped Gauss-Newton on the logistic loss from ``starts = (B0, A0)``; every trial
    stops as soon as it is certified (float64, :func:`certify_separation`).

    Parameters
    ----------
    op, s : a batch of ``T`` instances and their labels (:func:`sample_separability_instances`).
    r : int
    starts : (B0, A0) of shapes ``(T, m, r)`` and ``(T, r, n)``.
    config : SepConfig, optional

    Returns
    -------
    SepResult

    Examples
    --------
    Six labels, rank 1 on 4 x 4 (``r max(m, n) = 4 < 6`` but ``rho = 7/6``): separable.

    >>> op, s = sample_separability_instances([0, 1, 2], m=4, n=4, N=6)
    >>> res = logistic_gauss_newton(op, s, 1, random_starts([5, 6, 7], 4, 4, 1))
    >>> res.success.tolist(), bool((res.margin >= MARGIN_THRESHOLD).all())
    ([True, True, True], True)
    """
    cfg = SepConfig() if config is None else config
    B0, A0 = starts
    _check_problem(op, s, B0, A0)
    r = require_rank("r", r, op.m, op.n)
    if B0.shape[2] != r or A0.shape[1] != r:
        raise InvalidArgument(f"starts must have rank {r}, got {B0.shape[2]} and {A0.shape[1]}")
    dev, dt = op.device, op.dtype
    T, W = op.T, cfg.stall_window
    B, A, s = B0.to(dt), A0.to(dt), s.to(dt)
    B, A, _ = _balance(B, A)
    full_op, full_s = op, s

    B_out, A_out = B.to(torch.float64).clone(), A.to(torch.float64).clone()
    margin_out = torch.full((T,), math.nan, dtype=torch.float64, device=dev)
    it_out = torch.zeros(T, dtype=torch.long, device=dev)
    success_out = torch.zeros(T, dtype=torch.bool, device=dev)
    nonfinite_out = torch.zeros(T, dtype=torch.bool, device=dev)

    idx = torch.arange(T, device=dev)
    active = torch.ones(T, dtype=torch.bool, device=dev)
    owned = False  # op is the caller's until the first compaction copies it
    Rn, z, loss = _forward(op, s, B, A)
    Ln = op.left_native(B)
    lam = torch.full((T,), cfg.lam0, dtype=dt, device=dev)
    hist = torch.full((T, W), math.inf, dtype=dt, device=dev)
    check = torch.ones(T, dtype=torch.bool, device=dev)  # margins changed since last certificate

    for it in range(cfg.max_iter + 1):
        finite = torch.isfinite(loss) & torch.isfinite(z).all(dim=1)
        certified = torch.zeros_like(active)
        cand = active & finite & check & (z > 0).all(dim=1)
        if bool(cand.any()):
            ci = cand.nonzero().flatten()
            marg = certify_separation(op.subset(ci), s[ci], B[ci], A[ci])
            good = torch.isfinite(marg) & (marg >= cfg.margin_threshold)
            certified[ci] = good
            margin_out[idx[ci]] = marg
        check = torch.zeros_like(check)
        slow = (loss > (1 - cfg.stall_rtol) * hist[:, it % W]) if it >= W else torch.zeros_like(active)
        stalled = finite & (slow | (lam >= cfg.lam_max))
        hist[:, it % W] = loss
        done = active & (certified | ~finite | stalled | (it == cfg.max_iter))
        if bool(done.any()):
            rows = idx[done]
            B_out[rows] = B[done].to(torch.float64)
            A_out[rows] = A[done].to(torch.float64)
            it_out[rows] = it
            success_out[rows] = certified[done]
            nonfinite_out[rows] = ~finite[done]
            active = active & ~done
        n_active = int(active.sum())
        if n_active == 0:
            break
        if n_active < cfg.compact_frac * active.numel():
            op, keep = compact_batch(op, active, owned)
            owned = True
            s = s[keep]
            B, A, Rn, Ln, z = B[keep], A[keep], Rn[keep], Ln[keep], z[keep]
            loss, lam, hist, idx = loss[keep], lam[keep], hist[keep], idx[keep]
            active = torch.ones(n_active, dtype=torch.bool, device=dev)
            check = torch.zeros(n_active, dtype=torch.bool, device=dev)

        dB, dA, ok = _gn_step(Rn, Ln, s, z, lam)
        B_new, A_new = B + dB, A + dA
        B_new, A_new, c = _balance(B_new, A_new)
        Rn_new, z_new, loss_new = _forward(op, s, B_new, A_new)
        accept = active & ok & torch.isfinite(loss_new) & (loss_new < loss)
        a2, a3 = accept.view(-1, 1), accept.view(-1, 1, 1)
        B = torch.where(a3, B_new, B)
        A = torch.where(a3, A_new, A)
        Rn = torch.where(accept.view(-1, 1, 1, 1), Rn_new, Rn)
        z = torch.where(a2, z_new, z)
        loss = torch.where(accept, loss_new, loss)
        lam = torch.where(accept, (lam * cfg.lam_down).clamp(min=cfg.lam_min),
                          (lam * cfg.lam_up).clamp(max=cfg.lam_max))
        check = accept
        if bool(accept.any()):
            Ln = torch.where(accept.view(-1, 1, 1, 1), op.left_native(B), Ln)

    # the certificate of the final iterate of every trial that ended without a success
    missing = (~success_out).nonzero().flatten()
    if missing.numel():
        margin_out[missing] = certify_separation(full_op.subset(missing), full_s[missing],
                                                 B_out[missing], A_out[missing])
    bad = ~(torch.isfinite(B_out).flatten(1).all(1) & torch.isfinite(A_out).flatten(1).all(1))
    nonfinite_out |= bad
    success_out &= ~bad
    return SepResult(B_out, A_out, margin_out, success_out, it_out, nonfinite_out)


def gradient_descent_baseline(op: FeatureOperator, s: torch.Tensor, r: int, starts, *,
                              max_iter: int = 2000, step: float = 0.5,
                              margin_threshold: float = MARGIN_THRESHOLD) -> SepResult:
    """Plain normalised gradient descent on the logistic loss, for comparison only.

    Step rule: ``theta <- theta - step * grad / ||grad||`` times ``||theta||`` (a fixed fraction
    of the current norm, as the loss is scale-free in direction); certified like
    :func:`logistic_gauss_newton`, checked every iteration.

    >>> op, s = sample_separability_instances([0], m=4, n=4, N=4)
    >>> gradient_descent_baseline(op, s, 1, random_starts([5], 4, 4, 1)).success.tolist()
    [True]
    """
    B0, A0 = starts
    _check_problem(op, s, B0, A0)
    max_iter = require_positive_int("max_iter", max_iter)
    dt, T = op.dtype, op.T
    B, A, s = B0.to(dt).clone(), A0.to(dt).clone(), s.to(dt)
    success = torch.zeros(T, dtype=torch.bool, device=op.device)
    iters = torch.full((T,), max_iter, dtype=torch.long, device=op.device)
    margin = torch.full((T,), math.nan, dtype=torch.float64, device=op.device)
    B_out, A_out = B.to(torch.float64).clone(), A.to(torch.float64).clone()
    for it in range(max_iter + 1):
        Rn, z, _ = _forward(op, s, B, A)
        cand = ~success & (z > 0).all(dim=1)
        if bool(cand.any()):
            ci = cand.nonzero().flatten()
            mg = certify_separation(op.subset(ci), s[ci], B[ci], A[ci])
            good = torch.isfinite(mg) & (mg >= margin_threshold)
            gi = ci[good]
            success[gi], iters[gi], margin[gi] = True, it, mg[good]
            B_out[gi], A_out[gi] = B[gi].to(torch.float64), A[gi].to(torch.float64)
        if bool(success.all()) or it == max_iter:
            break
        g = -s * torch.sigmoid(-z)
        T_, r_, m, M = Rn.shape
        gB = torch.bmm(Rn.reshape(T_, r_ * m, M), g.unsqueeze(2)).view(T_, r_, m).transpose(1, 2)
        gA = torch.matmul(g.view(T_, 1, 1, M), op.left_native(B)).view(T_, r_, op.n)
        gnorm = torch.sqrt(gB.flatten(1).pow(2).sum(1) + gA.flatten(1).pow(2).sum(1))
        tnorm = torch.sqrt(B.flatten(1).pow(2).sum(1) + A.flatten(1).pow(2).sum(1))
        f = (step * tnorm / gnorm.clamp(min=torch.finfo(dt).tiny)).view(-1, 1, 1)
        live = (~success).view(-1, 1, 1)
        B = torch.where(live, B - f * gB, B)
        A = torch.where(live, A - f * gA, A)
    return SepResult(B_out, A_out, margin, success, iters, ~torch.isfinite(B).flatten(1).all(1))


def separate(op: FeatureOperator, s: torch.Tensor, r: int, start_seeds,
             config: SepConfig | None = None, *, sample_device=None) -> dict:
    """Gauss-Newton on the logistic loss with restarts: restart ``k`` runs only for the trials
    not yet certified.

    Parameters
    ----------
    start_seeds : sequence of sequences of int
        ``start_seeds[t][k]`` seeds restart ``k`` of trial ``t`` (rows of equal length).

    Returns
    -------
    dict of lists, one entry per trial
        ``restart_success`` (up to and including the first success), ``first_success``
        (index or None), ``success_iteration`` (iterations of the certified start, or None),
        ``iterations`` (sum over the starts run), ``best_margin`` (largest float64 normalised
        margin over the starts run, None if none finite) and ``nonfinite`` (any start).

    Examples
    --------
    Two copies of one feature with opposite labels: no separator exists, every start fails.

    >>> gen = torch.Generator().manual_seed(0)
    >>> g = torch.randn(1, 3, 1, 3, generator=gen, dtype=torch.float64).expand(1, 3, 2, 3)
    >>> out = separate(GaussianFeatures(g.clone()), torch.tensor([[1.0, -1.0]], dtype=torch.float64),
    ...                1, [[1, 2]])
    >>> out["restart_success"], out["first_success"]
    ([[False, False]], [None])
    """
    cfg = SepConfig() if config is None else config
    _check_problem(op, s)
    r = require_rank("r", r, op.m, op.n)
    tally = RestartTally(op.T)
    success_it = [None] * op.T
    best = [None] * op.T
    for k, pending, sub, ssub in restart_rounds(op, s, start_seeds, tally):
        starts = random_starts([start_seeds[t][k] for t in pending], op.m, op.n, r,
                               scale=cfg.start_scale, device=op.device, dtype=op.dtype,
                               sample_device=sample_device)
        res = logistic_gauss_newton(sub, ssub, r, starts, cfg)
        tally.add(k, pending, res)
        for t, ok, its, marg in zip(pending, res.success.tolist(), res.iterations.tolist(),
                                    res.margin.tolist()):
            if ok:
                success_it[t] = int(its)
            if math.isfinite(marg) and (best[t] is None or marg > best[t]):
                best[t] = float(marg)
    return {**tally.lists(), "success_iteration": success_it, "best_margin": best}


def sep_start_seed(global_seed: int, m: int, n: int, r: int, N: int, trial: int, restart: int) -> int:
    """Seed of start ``restart`` of trial ``trial`` of E4 (distinct from E1's start seeds).

    >>> sep_start_seed(0, 8, 8, 1, 30, 0, 0) != sep_start_seed(0, 8, 8, 1, 30, 0, 1)
    True
    """
    return trial_seed(global_seed, "sep-start", "gaussian", m, n, r, N, None, trial, restart)


def cover_rho() -> float:
    """Cover's count as a ``rho``: a linear class of dimension ``d`` separates ``N`` random
    labels with probability 1/2 at ``N = 2 d``; with ``d = r (m + n - r)`` that is ``rho = 1/2``.

    This is our heuristic reference (:data:`proofs.claims.COVER_RHO`), not a claim of the paper.

    >>> cover_rho()
    0.5
    """
    from proofs.claims import COVER_RHO

    return COVER_RHO.as_float


def sufficient_rho(m: int, n: int, r: int) -> float:
    """``rho`` above which separation is certain: ``r max(m, n) >= N`` (fix a generic factor;
    the margins are then a surjective linear map of the other, solve for margins = labels),
    i.e. ``rho >= (m + n - r) / max(m, n)``.

    >>> sufficient_rho(8, 8, 1)
    1.875
    """
    m, n = require_positive_int("m", m), require_positive_int("n", n)
    r = require_rank("r", r, m, n)
    return (m + n - r) / max(m, n)
