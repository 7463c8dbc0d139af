"""Exact real existence just above the dimension count (issue 16, item 5): critical points of
the distance from a random point, found by homotopy continuation and alpha-certified.

The question. At ``M = r(m+n-r) - d`` conditions (``d >= 1``, ``rho = r(m+n-r)/M`` slightly
above 1) the real solutions ``{Delta real, rank <= r, <G_i, Delta> = y_i}`` form a
positive-dimensional set. Whether it is empty is decided here, per instance, exactly.

The chart. E0's ``Delta = [I_r; U'] V^T``, ``theta = (x, w) = (vec U', vec V)`` (row-major),
``D = r(m+n-r)`` coordinates, equations ``f_i(theta) = (1, x)^T A_i (1, w) = 0`` with ``A`` of
:func:`numerics.engine.homotopy_certify.bilinear_coefficients` (``i = 1..M``). An instance with
``m > n`` is solved transposed (``<G_i^T, Delta^T> = y_i``), so ``m <= n`` below.

The Lagrange system. For a point ``theta0`` (real, random, seeded per instance: see
:func:`theta0_of`), unknowns ``z = (x, w, lambda)`` (``D + M`` of them) and

- ``E_x = x - x0 - (sum_i lambda_i A_i)[1:, :] (1, w)``,
- ``E_w = w - w0 - (sum_i lambda_i A_i)[:, 1:]^T (1, x)``   (together ``theta - theta0 - J_f^T lambda``),
- ``E_f = f(theta)``:

quadratic (bilinear in ``(x, w)``, ``(lambda, x)``, ``(lambda, w)``), so its second derivative is
constant and Smale's ``gamma`` at ``z`` is at most ``||J(z)^-1||_2 sqrt(sum_k ||H_k / 2||_2^2)``
(``H_k`` the constant Hessian of component ``k``; Cauchy-Schwarz over the components).

The argument (the assumptions of every verdict E0-ABOVE.*), for generic real data ``(G, y)``
and ``theta0`` (Gaussian data are generic with probability one):

1. ``y`` is a regular value of ``theta -> (<G_i, Delta(theta)>)_i`` on ``R^D`` (Sard), so the
   real solution set ``S`` in the chart is a closed smooth submanifold of ``R^D`` of dimension
   ``d`` (or empty).
2. If ``S`` is non-empty it has a point nearest ``theta0`` (closed set); there ``theta -
   theta0`` is normal to ``S``, i.e. ``= J_f^T lambda`` with a real ``lambda`` (``J_f`` has full
   row rank on ``S``): a *real* critical point. Conversely the ``theta`` of a real critical
   point solves ``f = 0``, a real solution.
3. Solutions outside the chart: real rank-exactly-``r`` solutions form a ``d``-dimensional
   manifold (where non-empty); those whose top ``r x r`` block is singular lie in a subvariety
   of the rank-``r`` matrices of codimension 1, which ``M`` generic affine conditions cut to
   dimension ``d - 1``: no component lies only there. Solutions of rank ``< r`` lie in the
   rank-``(r-1)`` variety, of dimension ``(r-1)(m+n-r+1)``; where ``M > (r-1)(m+n-r+1)``
   (checked per cell: :func:`lower_rank_excluded`, and in general by
   :mod:`proofs.exact_above`), generic conditions miss it entirely.

So a real solution exists iff a real critical point exists. For generic data the critical
points are finitely many and nondegenerate; their number over ``C``, ``N(m, n, r, d)``
("critical count", a generic ED degree of the parametrised set; no closed form is known to
us), is found once per cell on a random complex instance by monodromy
(:func:`critical_start`; Duff et al., IMA J. Numer. Anal. 2019): a random ``(theta*,
lambda*)`` and random complex ``G*`` fix ``y*`` and ``theta0*`` (both enter linearly) so that it
solves; loops ``p* -> p1 -> p2 -> p*`` through random complex parameters add the certified,
distinct endpoints until the count has not grown for :data:`STALL_ROUNDS` rounds. It is a
lower bound made by loops. The other routes, on the same ``p*``:
:func:`multihomogeneous_points` (a linear-product homotopy, ``C(D, M) C(D, p)`` paths),
:func:`total_degree_points` (``2^(D+M)`` paths, small cells) and Bertini 2
(``lorank[bertini]``, tiny cells); ``scripts/exact_above_total_degree.py`` recounts the
committed cells point by point (records in ``results/exact-above/second-route/``). At ``d = 0``
the critical points are E0's solutions (``J_f`` square and invertible fixes ``lambda``), so
``N`` is the determinantal degree.

The decision. A parameter homotopy (straight segment from the complex ``p*`` to the real
instance; the random complex start keeps the segment off the discriminant with probability
one, the role of the gamma trick) carries the ``N`` start solutions to each instance. An
instance is *certified* when its ``N`` endpoints are approximate zeros (``alpha < ALPHA_0``),
each classified real (``alpha < ALPHA_REAL`` and ``||z - conj z|| < 1/(20 gamma)``,
Hauenstein-Sottile) or non-real (``||Im z|| > 2 beta``), with pairwise disjoint ``2 beta``
balls and none inside another's uniqueness ball (``1 / (20 gamma)`` where ``alpha < 0.03``;
float64 residuals at rounding level can make ``beta`` too small for the first test alone:
:func:`_distinct_keep`; and every ``beta`` carries a bound on its own float64 rounding, with
the endpoints float64 then cannot decide refined and tested in 256-bit arithmetic,
:func:`_resolve`, certificate ``critical-points/2``): then they are ``N`` distinct zeros, all of them (an instance has at
most ``N`` isolated ones), and the real count is exact. Critical points with huge coordinates (near the
boundary of the chart: ``|x|`` large, ``|lambda|`` larger) are ill-conditioned there; an
endpoint that fails the test is tested again for ``G(z') = F(S z')``, ``S = diag(max(1, |z_k|))``
(real and diagonal, so ``z`` is a zero of ``F`` iff ``S^-1 z`` is one of ``G``, and real iff it
is), with ``gamma`` bounded by the Frobenius norm of ``(J S)^-1 S H S / 2``; its ball in the
original coordinates has radius ``2 beta' max(s)``. ``exists``: certified and a real critical point.
An uncertified instance is tracked again through random complex intermediate parameters
(``retries``) and decided from the union of its certified endpoints; it is never counted.

What rests on numerics only: ``N`` (a non-existence decision needs all ``N``; an "exists"
decision needs only its one certified real zero, whatever ``N`` is). Every instance also checks
it from above: more than ``N`` distinct certified critical points would raise ``RuntimeError``.

Examples
--------
>>> import torch
>>> from numerics.engine.instances import sample_instances
>>> res = critical_on_e1_instances(2, 2, 1, 2, [0, 1, 2])     # 2x2, r = 1, d = 1
>>> res.degree, res.certified.tolist()
(7, [True, True, True])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from proofs.validation import (InvalidArgument, MethodFailure, require_nonneg_int,
                               require_positive_int, require_rank)

from .homotopy_certify import bilinear_coefficients
from .homotopy_precise import refine_and_test, rounding_bound
from .homotopy_track import ALPHA_0, ALPHA_REAL, random_complex, solve_or_nan

__all__ = ["CriticalResult", "lagrange", "track", "critical_start", "critical_count",
           "solve_critical", "critical_on_e1_instances", "theta0_of", "total_degree_count",
           "total_degree_points", "multihomogeneous_bezout", "multihomogeneous_points",
           "lower_rank_excluded", "check_cell"]

CORRECTOR_STEPS = 3
MAX_STEPS = 6000
INITIAL_STEP = 0.02
MIN_STEP = 1e-10
DIVERGED = 1e14
#: Monodromy loops per round, rounds without a new solution before the count is taken as
#: stable, and the most loops of one start solve.
LOOPS_PER_ROUND = 6
STALL_ROUNDS = 4
MAX_LOOPS = 600
#: Newton steps on the target before the certificate.
REFINE_STEPS = 3
#: Most unknowns ``D + M`` of the Lagrange system accepted.
MAX_UNKNOWNS = 80


def lower_rank_excluded(m: int, n: int, r: int, M: int) -> bool:
    """``M > (r-1)(m+n-r+1)``: ``M`` generic affine conditions miss every matrix of rank
    ``< r`` (the rank-``(r-1)`` variety has that dimension).

    >>> lower_rank_excluded(3, 3, 2, 7), lower_rank_excluded(3, 3, 2, 5)
    (True, False)
    """
    return M > (r - 1) * (m + n - r + 1)


def check_cell(m: int, n: int, r: int, M: int):
    """Validated ``(m, n, r, M)`` with ``1 <= M <= r(m+n-r)``, ``M > (r-1)(m+n-r+1)`` and at
    most :data:`MAX_UNKNOWNS` unknowns.

    >>> check_cell(2, 5, 1, 5)
    (2, 5, 1, 5)
    >>> check_cell(3, 3, 2, 5)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: M = 5 conditions at 3x3, r = 2 do not exceed (r-1)(m+n-r+1) = 5: solutions of lower rank are not excluded
    """
    m, n = require_positive_int("m", m), require_positive_int("n", n)
    r = require_rank("r", r, m, n)
    M = require_positive_int("M", M)
    D = r * (m + n - r)
    if M > D:
        raise InvalidArgument(f"M = {M} exceeds r(m+n-r) = {D} at {m}x{n}, r = {r}")
    if not lower_rank_excluded(m, n, r, M):
        raise InvalidArgument(f"M = {M} conditions at {m}x{n}, r = {r} do not exceed "
                              f"(r-1)(m+n-r+1) = {(r - 1) * (m + n - r + 1)}: solutions of lower "
                              "rank are not excluded")
    if D + M > MAX_UNKNOWNS:
        raise InvalidArgument(f"{m}x{n}, r = {r}, M = {M} has {D + M} unknowns, more than "
                              f"{MAX_UNKNOWNS}")
    return m, n, r, M


def _oriented_cell(m: int, n: int, r: int, M: int):
    """:func:`check_cell`, then ``m <= n`` (the routes solve the transposed cell, whose
    critical points correspond one to one)."""
    m, n, r, M = check_cell(m, n, r, M)
    return (n, m, r, M) if m > n else (m, n, r, M)


# --------------------------------------------------------------------------- the system


def lagrange(z, A, th0, *, identity: bool = True, jacobian: bool = True):
    """``(F, J)`` of the Lagrange system at ``z`` (Na, D + M) for per-path parameters ``A``
    (Na, M, 1+p, 1+q) and ``theta0`` (Na, D); ``identity=False`` drops the ``theta`` terms of
    ``E_x, E_w`` (the system is affine in the parameters, so that gives ``dF/dt`` for parameter
    increments ``(dA, dtheta0)``).

    >>> import torch
    >>> A = torch.randn(1, 2, 2, 3, dtype=torch.complex128, generator=torch.Generator().manual_seed(1))
    >>> z = torch.randn(1, 5, dtype=torch.complex128, generator=torch.Generator().manual_seed(2))
    >>> th0 = torch.zeros(1, 3, dtype=torch.complex128)
    >>> F, J = lagrange(z, A, th0)
    >>> h = 1e-7 * torch.eye(5, dtype=torch.complex128)
    >>> num = torch.stack([(lagrange(z + h[k], A, th0)[0] - F)[0] / 1e-7 for k in range(5)], -1)
    >>> bool((num - J[0]).abs().max() < 1e-5)
    True
    """
    Na, M, P1, Q1 = A.shape
    p, q = P1 - 1, Q1 - 1
    x, w, lam = z[:, :p], z[:, p:p + q], z[:, p + q:]
    one = torch.ones(Na, 1, dtype=z.dtype, device=z.device)
    u, wv = torch.cat([one, x], -1), torch.cat([one, w], -1)
    Aw = torch.einsum("piab,pb->pia", A, wv)            # (Na, M, 1+p)
    uA = torch.einsum("pa,piab->pib", u, A)             # (Na, M, 1+q)
    f = torch.einsum("pia,pa->pi", Aw, u)
    Fx, Fw = Aw[..., 1:], uA[..., 1:]                   # J_f blocks (Na, M, p), (Na, M, q)
    Ex = -th0[:, :p] - torch.einsum("pi,pia->pa", lam, Fx)
    Ew = -th0[:, p:] - torch.einsum("pi,pib->pb", lam, Fw)
    if identity:
        Ex, Ew = Ex + x, Ew + w
    F = torch.cat([Ex, Ew, f], -1)
    if not jacobian:
        return F, None
    N = p + q + M
    Lam = torch.einsum("pi,piab->pab", lam, A[:, :, 1:, 1:])   # (Na, p, q)
    J = torch.zeros(Na, N, N, dtype=z.dtype, device=z.device)
    eye_p = torch.eye(p, dtype=z.dtype, device=z.device)
    eye_q = torch.eye(q, dtype=z.dtype, device=z.device)
    J[:, :p, :p] = eye_p
    J[:, :p, p:p + q] = -Lam
    J[:, :p, p + q:] = -Fx.transpose(1, 2)
    J[:, p:p + q, :p] = -Lam.transpose(1, 2)
    J[:, p:p + q, p:p + q] = eye_q
    J[:, p:p + q, p + q:] = -Fw.transpose(1, 2)
    J[:, p + q:, :p] = Fx
    J[:, p + q:, p:p + q] = Fw
    return F, J


def hessians(A):
    """The constant Hessians ``H`` (T, N, N, N) (component first) of the Lagrange system of
    instances ``A`` (T, M, 1+p, 1+q), ``N = p + q + M``."""
    T, M, P1, Q1 = A.shape
    p, q = P1 - 1, Q1 - 1
    N = p + q + M
    B = A[:, :, 1:, 1:]
    H = torch.zeros(T, N, N, N, dtype=A.dtype, device=A.device)
    # E_x[a] = ... - sum_i lam_i B_i[a, :] w: d2 / dw_b dlam_i = -B_i[a, b]
    Bx = -B.permute(0, 2, 3, 1)                          # (T, p, q, M) [a, b, i]
    H[:, :p, p:p + q, p + q:] = Bx
    H[:, :p, p + q:, p:p + q] = Bx.transpose(2, 3)
    # E_w[b] = ... - sum_i lam_i B_i[:, b] . x: d2 / dx_a dlam_i = -B_i[a, b]
    Bw = -B.permute(0, 3, 2, 1)                          # (T, q, p, M) [b, a, i]
    H[:, p:p + q, :p, p + q:] = Bw
    H[:, p:p + q, p + q:, :p] = Bw.transpose(2, 3)
    # f_i = ... + x^T B_i w
    H[:, p + q:, :p, p:p + q] = B
    H[:, p + q:, p:p + q, :p] = B.transpose(2, 3)
    return H


def hessian_norm(A):
    """``sqrt(sum_k ||H_k / 2||_2^2)`` per instance (``A`` (T, M, 1+p, 1+q)): the bound on the
    constant second derivative of the Lagrange system in Smale's ``gamma`` (module docstring).

    >>> import torch
    >>> A = torch.zeros(1, 1, 2, 2, dtype=torch.complex128); A[0, 0, 1, 1] = 2.0
    >>> round(float(hessian_norm(A)[0]), 12)       # f = 2 x w, E_x = -2 l w, E_w = -2 l x
    1.732050807569
    """
    return (torch.linalg.matrix_norm(hessians(A) / 2, ord=2).pow(2).sum(-1)).sqrt()


# --------------------------------------------------------------------------- the tracker


def track(z0, system, *, max_steps: int = MAX_STEPS, tol: float = 1e-10):
    """Track ``z`` from ``t = 0`` to ``t = 1`` along ``H(z, t) = 0``: ``z0`` (N, K) start
    solutions, ``system(z, t, idx, need_t) -> (H, J, H_t)`` for the paths ``idx`` (a LongTensor
    into the N paths; ``t`` (Na,) float64; ``H_t`` may be None where ``need_t`` is False: the
    corrector does not use it). RK4 predictor on ``dz/dt = -J^-1 H_t``, three Newton
    corrector steps that must contract, step halved on failure and grown by 1.5 after two
    successes (the scheme of :func:`numerics.engine.homotopy_track.track`, for any system).

    Returns ``(z, done)``: endpoints (N, K) and the mask of paths that reached ``t = 1``.

    >>> import torch
    >>> def sys(z, t, idx, need_t):  # z^2 - (1 + 3t) = 0
    ...     tc = t.to(z.dtype)[:, None]
    ...     return z * z - (1 + 3 * tc), (2 * z)[:, :, None], -3 * torch.ones_like(z)
    >>> z, done = track(torch.tensor([[1 + 0j], [-1 + 0j]], dtype=torch.complex128), sys)
    >>> bool(done.all()), [round(v.real, 9) for v in z[:, 0].tolist()]
    (True, [2.0, -2.0])
    """
    dev = z0.device
    N = z0.shape[0]
    z = z0.clone()
    t = torch.zeros(N, dtype=torch.float64, device=dev)
    h = torch.full_like(t, INITIAL_STEP)
    streak = torch.zeros(N, dtype=torch.int64, device=dev)
    active = torch.ones(N, dtype=torch.bool, device=dev)
    failed = torch.zeros_like(active)

    def velocity(zz, tt, idx):
        _, J, Ht = system(zz, tt, idx, True)
        return -solve_or_nan(J, Ht)

    def correct(zz, tt, idx):
        ok = torch.ones(zz.shape[0], dtype=torch.bool, device=dev)
        last = None
        for _ in range(CORRECTOR_STEPS):
            H, J, _ = system(zz, tt, idx, False)
            dz = solve_or_nan(J, H)
            zz = zz - dz
            size = dz.abs().pow(2).sum(-1).sqrt() / (1 + zz.abs().pow(2).sum(-1).sqrt())
            if last is not None:
                ok &= (size <= 0.5 * last) | (size < tol)
            last = size
        return zz, ok & (last < 1e-7)

    for _ in range(max_steps):
        idx = active.nonzero().squeeze(1)
        if not idx.numel():
            break
        za, ta, ha, sa = z[idx], t[idx], h[idx], streak[idx]
        hh = torch.minimum(ha, 1 - ta)
        hc = hh.to(za.dtype)[:, None]
        k1 = velocity(za, ta, idx)
        k2 = velocity(za + 0.5 * hc * k1, ta + 0.5 * hh, idx)
        k3 = velocity(za + 0.5 * hc * k2, ta + 0.5 * hh, idx)
        k4 = velocity(za + hc * k3, ta + hh, idx)
        corr, ok = correct(za + hc / 6 * (k1 + 2 * k2 + 2 * k3 + k4), ta + hh, idx)
        ok &= torch.isfinite(corr.abs()).all(-1)
        za = torch.where(ok[:, None], corr, za)
        ta = torch.where(ok, ta + hh, ta)
        sa = torch.where(ok, sa + 1, torch.zeros_like(sa))
        grow = ok & (sa >= 2)
        ha = torch.where(grow, ha * 1.5, ha)
        sa = torch.where(grow, torch.zeros_like(sa), sa)
        ha = torch.where(~ok, ha * 0.5, ha)
        finished = ta >= 1
        fail = ((ha < MIN_STEP) | (za.abs().amax(-1) > DIVERGED)) & ~finished
        z[idx], t[idx], h[idx], streak[idx] = za, ta, ha, sa
        failed[idx] = fail
        active[idx] = ~finished & ~fail
    return z, (t >= 1) & ~failed


def _segment(A0, th0_0, A1, th0_1, inst0, inst1):
    """The parameter homotopy ``p(t) = (1 - t) p0 + t p1`` as a :func:`track` system; path
    ``k`` uses instance ``inst0[k]`` of ``p0`` and ``inst1[k]`` of ``p1``."""
    def system(z, t, idx, need_t=True):
        a0, a1 = A0[inst0[idx]], A1[inst1[idx]]
        b0, b1 = th0_0[inst0[idx]], th0_1[inst1[idx]]
        tc = t.to(z.dtype)
        At = a0 + tc[:, None, None, None] * (a1 - a0)
        bt = b0 + tc[:, None] * (b1 - b0)
        H, J = lagrange(z, At, bt)
        if not need_t:
            return H, J, None
        Ht, _ = lagrange(z, a1 - a0, b1 - b0, identity=False, jacobian=False)
        return H, J, Ht
    return system


def _refine(z, A, th0, steps=REFINE_STEPS):
    for _ in range(steps):
        F, J = lagrange(z, A, th0)
        z = z - solve_or_nan(J, F)
    return z


def _magnitudes(z, A, th0):
    """``(||F_abs||, ||J_abs||_F)`` per endpoint: the Lagrange system and its Jacobian at ``z``
    with every sum taken over absolute values (the scale of their float64 rounding errors):
    :func:`lagrange` at ``|x|, |w|, -|lambda|``, ``|A|``, ``-|theta0|``, where every term of
    ``F`` comes out non-negative and every entry of ``J`` is the sum of absolute values of its
    terms, up to sign."""
    p = A.shape[-2] - 1
    q = A.shape[-1] - 1
    az = z.abs()
    az = torch.cat([az[:, :p + q], -az[:, p + q:]], -1).to(z.dtype)
    F, J = lagrange(az, A.abs().to(A.dtype), -th0.abs().to(th0.dtype))
    return F.abs().pow(2).sum(-1).sqrt(), J.abs().pow(2).sum((-1, -2)).sqrt()


def _noise(z, A, th0, J, sv, beta, scale=None):
    """:func:`numerics.engine.homotopy_precise.rounding_bound` of ``beta`` for the Lagrange
    system at ``z`` (``sv``: the singular values of ``J``, the Jacobian used; ``scale``: the
    largest entry of the chart's diagonal scaling, which multiplies ``|J|``)."""
    _, M, P1, Q1 = A.shape
    fa, ja = _magnitudes(z, A, th0)
    if scale is not None:
        ja = ja * scale
    return rounding_bound(sv[..., -1], fa, ja, sv.pow(2).sum(-1).sqrt(), beta,
                          terms=P1 + Q1 + M + 2, size=J.shape[-1])


def _alpha(z, A, th0, hnorm):
    """``(beta, gamma, alpha, float_ok)`` of endpoints ``z`` (Na, K) with per-endpoint ``A``,
    ``th0`` and Hessian bound ``hnorm`` (Na,); ``beta`` includes a bound on its own float64
    rounding (:func:`_noise`), so that it is not smaller than the true one; ``float_ok``: alpha
    would pass without that bound."""
    F, J = lagrange(z, A, th0)
    beta = solve_or_nan(J, F).abs().pow(2).sum(-1).sqrt()
    sv = torch.linalg.svdvals(J)
    gamma = hnorm / sv[..., -1]
    float_ok = beta * gamma < ALPHA_0
    beta = beta + _noise(z, A, th0, J, sv, beta)
    return beta, gamma, beta * gamma, float_ok


def _same_radius(alpha, gamma):
    """Per endpoint, the radius within which any point has the *same* associated zero:
    ``1 / (20 gamma)`` where ``alpha < ALPHA_REAL`` (0.03; Hauenstein-Sottile, alphaCertified,
    the uniqueness test), else 0."""
    return torch.where(alpha < ALPHA_REAL, 1 / (20 * gamma), torch.zeros_like(gamma))


def _distinct_keep(z, radius, good, same=None):
    """Greedy: indices of ``good`` endpoints whose balls (``radius``: ``2 beta``, around which
    the zero lies) miss every kept one, and which lie outside every kept one's uniqueness ball
    and have no kept one inside their own (``same``: :func:`_same_radius`).

    In exact arithmetic the two conditions agree (disjoint ``2 beta`` balls put two zeros
    apart; a point within ``1 / (20 gamma)`` of an approximate zero with ``alpha < 0.03`` has
    its zero). In float64 ``beta`` is computed from a residual at rounding level: two endpoints
    of one ill-conditioned zero (``|z|`` near 1e3) were 1.7e-11 apart with radii summing to
    1.5e-11, so the radii alone called them distinct (4x4, r = 2, d = 1, trial 42: 161
    "distinct" zeros of a count of 160). The uniqueness ball is far larger there (about 6e-8)
    and merges them: an endpoint counts as a new zero only when both tests say so.

    >>> import torch
    >>> z = torch.tensor([[1.0 + 0j], [1.0 + 1.7e-11 + 0j], [2.0 + 0j]], dtype=torch.complex128)
    >>> good, radius = torch.ones(3, dtype=torch.bool), torch.full((3,), 7e-12, dtype=torch.float64)
    >>> _distinct_keep(z, radius, good), _distinct_keep(z, radius, good, torch.full((3,), 6e-8, dtype=torch.float64))
    ([0, 1, 2], [0, 2])
    """
    if same is None:
        same = torch.zeros_like(radius)
    kept = []
    for k in good.nonzero().squeeze(1).tolist():
        if kept:
            kz = z[kept]
            dist = (kz - z[k]).abs().pow(2).sum(-1).sqrt()
            if bool(((dist <= radius[kept] + radius[k] + 1e-12)
                     | (dist < torch.maximum(same[kept], same[k]))).any()):
                continue
        kept.append(k)
    return kept


#: Endpoints of one decision taken to high precision at most (:func:`_resolve`); endpoints of
#: pairs left undecided beyond it are merged by :func:`_distinct_keep` (never counted twice).
PRECISE_MAX = 64
#: Rounds of :func:`_resolve` (a refined endpoint can meet another's ball in its new place).
PRECISE_ROUNDS = 3


def _undecided(z, good, radius, same):
    """Sorted indices of ``good`` endpoints in a pair that the float64 tests cannot decide:
    their ``2 beta`` balls meet (not shown to be two zeros) and neither lies in the other's
    uniqueness ball (not shown to be one). :func:`_distinct_keep` would merge such a pair.

    >>> import torch
    >>> z = torch.tensor([[0j], [3e-7 + 0j], [1.0 + 0j]], dtype=torch.complex128)
    >>> good = torch.ones(3, dtype=torch.bool)
    >>> r, same = torch.full((3,), 2e-7, dtype=torch.float64), torch.full((3,), 1e-7, dtype=torch.float64)
    >>> _undecided(z, good, r, same), _undecided(z, good, r / 2, same)
    ([0, 1], [])
    """
    gi = good.nonzero().squeeze(1)
    n = gi.numel()
    if n < 2:
        return []
    zr = torch.view_as_real(z[gi]).reshape(n, -1)
    rg, sg = radius[gi], same[gi]
    found = set()
    for c in range(0, n, 1024):
        D = torch.cdist(zr[c:c + 1024], zr, compute_mode="donot_use_mm_for_euclid_dist")
        meet = D <= rg[c:c + 1024, None] + rg[None, :] + 1e-12
        one = D < torch.maximum(sg[c:c + 1024, None], sg[None, :])
        pairs = (meet & ~one).nonzero()
        pairs = pairs[pairs[:, 0] + c != pairs[:, 1]]
        found.update((pairs[:, 0] + c).tolist())
        found.update(pairs[:, 1].tolist())
    return sorted(gi[sorted(found)].tolist()) if found else []


def _resolve(z, good, real, radius, alpha, same, A, th0, hnorm, noisy=None, cache=None):
    """The endpoints of an instance (``A`` (1, M, 1+p, 1+q), ``th0`` (1, D), Hessian bound
    ``hnorm``) with the endpoints float64 cannot decide refined and tested in high precision
    (:func:`numerics.engine.homotopy_precise.refine_and_test`): those of an undecided pair
    (:func:`_undecided`) and those ``noisy`` ones (finite endpoints that fail the alpha test only
    because of the rounding bound on ``beta``). An endpoint within the uniqueness ball of a point
    already refined (in this call or in ``cache``, a list of
    :class:`~numerics.engine.homotopy_precise.PreciseTest` kept by the caller) has that point's
    zero and takes its test; any other is tested, at most :data:`PRECISE_MAX` per call. The
    refined point, test and radii replace the float64 ones (where the test fails the endpoint is
    no longer ``good``). Returns the updated ``(z, good, real, radius, alpha, same)`` (new
    tensors) and the number of endpoints tested."""
    z, good, real = z.clone(), good.clone(), real.clone()
    radius, alpha, same = radius.clone(), alpha.clone(), same.clone()
    cache = [] if cache is None else cache
    done, tested = set(), 0
    first = [] if noisy is None else noisy.nonzero().squeeze(1).tolist()
    for _ in range(PRECISE_ROUNDS):
        todo = sorted(set(first) | set(_undecided(z, good, radius, same)) - done)
        first = []
        if not todo:
            break
        for k in todo:
            done.add(k)
            t = next((c for c in cache if c.ok and c.same > 0 and
                      float((z[k].cpu() - c.z).abs().pow(2).sum().sqrt()) < c.same), None)
            if t is None:
                if tested >= PRECISE_MAX:
                    continue
                t = refine_and_test(z[k:k + 1].cpu(), A.cpu(), th0.cpu(), float(hnorm))
                tested += 1
                cache.append(t)
            z[k] = t.z.to(z.device)
            good[k], real[k] = t.ok, t.real
            radius[k], alpha[k], same[k] = t.radius, t.alpha, t.same
    return z, good, real, radius, alpha, same, tested


# --------------------------------------------------------------------------- start solutions


def _random_params(seed: int, m: int, n: int, r: int, M: int, device):
    """A random complex ``(A, theta0)`` ((1, M, 1+p, 1+q), (1, D)) of the family."""
    G = random_complex((1, M, m, n), seed, "cpu")
    y = random_complex((1, M), seed + 1, "cpu")
    th0 = random_complex((1, r * (m + n - r)), seed + 2, "cpu")
    return bilinear_coefficients(G, y, r).to(device), th0.to(device)


def _track_params(z, src, dst):
    """Track the solutions ``z`` (K, N) of the single parameter point ``src`` to ``dst``."""
    K = z.shape[0]
    zero = torch.zeros(K, dtype=torch.int64, device=z.device)
    return track(z, _segment(src[0], src[1], dst[0], dst[1], zero, zero))


def _pstar(m: int, n: int, r: int, M: int, seed: int):
    """The random complex instance ``p* = (A*, theta0*)`` of the cell (``m <= n``) and its
    known critical point ``z*`` (CPU): a random ``(theta*, lambda*)`` and random ``G*`` fix
    ``y*`` and ``theta0*`` so that ``z*`` solves (module docstring). The start of monodromy
    (:func:`critical_start`) and the instance the other routes solve."""
    D = r * (m + n - r)
    p = (m - r) * r
    G = random_complex((1, M, m, n), seed, "cpu")
    zs = random_complex((1, D + M), seed + 3, "cpu")
    x, w = zs[:, :p], zs[:, p:D]
    one = torch.ones(1, 1, dtype=torch.complex128)
    A_no_y = bilinear_coefficients(G, torch.zeros(1, M, dtype=torch.complex128), r)
    u, wv = torch.cat([one, x], -1), torch.cat([one, w], -1)
    y = torch.einsum("pa,piab,pb->pi", u, A_no_y, wv)          # f(theta*; G*, y*) = 0
    A = bilinear_coefficients(G, y, r)
    # theta0* = theta* - J_f^T lambda*: E_x = E_w = 0 at z*
    F, _ = lagrange(zs, A, torch.zeros(1, D, dtype=torch.complex128), jacobian=False)
    return A, F[:, :D], zs


@lru_cache(maxsize=32)
def _start(m: int, n: int, r: int, M: int, seed: int, device: str):
    dev = torch.device(device)
    A, th0, zs = _pstar(m, n, r, M, seed)
    star = (A.to(dev), th0.to(dev))
    hn = hessian_norm(star[0])
    known = _refine(zs.to(dev), *star)
    refined = []          # points tested in high precision, kept across rounds (_resolve)
    loops = stall = 0
    history = []
    base = 1_000_003 * (seed + 1)
    while stall < STALL_ROUNDS and loops < MAX_LOOPS:
        # LOOPS_PER_ROUND loops at once: path k of loop j goes p* -> pa[j] -> pb[j] -> p*
        before, L, K = known.shape[0], LOOPS_PER_ROUND, known.shape[0]
        pas = [_random_params(base + 8 * (loops + j), m, n, r, M, dev) for j in range(L)]
        pbs = [_random_params(base + 8 * (loops + j) + 4, m, n, r, M, dev) for j in range(L)]
        pa = (torch.cat([a for a, _ in pas]), torch.cat([b for _, b in pas]))
        pb = (torch.cat([a for a, _ in pbs]), torch.cat([b for _, b in pbs]))
        loop = torch.arange(L, device=dev).repeat_interleave(K)
        zero = torch.zeros_like(loop)
        z = known.repeat(L, 1)
        ok = torch.ones(L * K, dtype=torch.bool, device=dev)
        for src, dst, i0, i1 in ((star, pa, zero, loop), (pa, pb, loop, loop), (pb, star, loop, zero)):
            z, done = track(z, _segment(src[0], src[1], dst[0], dst[1], i0, i1))
            ok &= done
            z = torch.where(ok[:, None], z, torch.zeros_like(z))
        nk = int(ok.sum())
        fin = _refine(z[ok], star[0].expand(nk, -1, -1, -1), star[1].expand(nk, -1))
        allz = torch.cat([known, fin])
        T = allz.shape[0]
        beta, gamma, alpha, float_ok = _alpha(allz, star[0].expand(T, -1, -1, -1),
                                              star[1].expand(T, -1), hn.expand(T))
        fin = torch.isfinite(allz.abs()).all(-1)
        good = (alpha < ALPHA_0) & fin
        allz, good, _, radius, _, same, _ = _resolve(
            allz, good, torch.zeros_like(good), 2 * beta, alpha, _same_radius(alpha, gamma),
            star[0], star[1], hn[0], fin & ~good & float_ok, refined)
        known = allz[_distinct_keep(allz, radius, good, same)]
        loops += L
        history.append(known.shape[0])
        stall = stall + 1 if known.shape[0] == before else 0
    if stall < STALL_ROUNDS:
        raise MethodFailure(f"critical points of {m}x{n} r={r} M={M}: the monodromy count "
                           f"{known.shape[0]} still grew after {loops} loops (seed {seed})")
    return star[0].cpu(), star[1].cpu(), known.cpu(), tuple(history), loops


def critical_start(m: int, n: int, r: int, M: int, seed: int = 0, device="cpu"):
    """``((A*, theta0*), z*, info)``: a random complex instance of the Lagrange system of the
    cell (``m <= n``) and its critical points found by monodromy (module docstring), cached per
    ``(m, n, r, M, seed, device)``; ``info``: ``loops`` and ``history`` (the count after each
    round of :data:`LOOPS_PER_ROUND` loops).

    >>> (A, th0), z, info = critical_start(2, 2, 1, 2)
    >>> z.shape[0], info["history"][-4:]
    (7, (7, 7, 7, 7))
    """
    m, n, r, M = _oriented_cell(m, n, r, M)
    seed = require_nonneg_int("seed", seed)
    A, th0, z, history, loops = _start(m, n, r, M, seed, str(torch.device(device)))
    return (A, th0), z, {"loops": loops, "history": history, "seed": seed}


def critical_count(m: int, n: int, r: int, M: int, seed: int = 0) -> int:
    """``N(m, n, r, d)`` by monodromy (:func:`critical_start`, CPU).

    >>> critical_count(2, 2, 1, 3), critical_count(2, 2, 1, 2)   # d = 0: the degree C(2, 1)
    (2, 7)
    """
    return critical_start(m, n, r, M, seed)[1].shape[0]


def total_degree_points(m: int, n: int, r: int, M: int, seed: int = 0,
                        max_exponent: int = 16) -> torch.Tensor:
    """The critical points of :func:`critical_start`'s random complex instance ``p*`` (same
    seed) by a second route: the total-degree homotopy ``(1 - t) gamma (z_k^2 - 1) + t F(z;
    p*)`` from the ``2^(D+M)`` solutions of ``z_k^2 = 1``. Returns the certified (alpha test)
    distinct finite endpoints (K, D + M); paths to infinity fail at ``|z| >``
    :data:`DIVERGED`. Small cells only: ``D + M`` above ``max_exponent`` is refused (``2^15``
    paths took ten minutes on one core of an AMD EPYC).

    >>> total_degree_points(2, 2, 1, 2).shape
    torch.Size([7, 5])
    """
    m, n, r, M = _oriented_cell(m, n, r, M)
    max_exponent = require_nonneg_int("max_exponent", max_exponent)
    K = r * (m + n - r) + M
    if K > max_exponent:
        raise InvalidArgument(f"total_degree_points: 2^{K} paths is more than 2^max_exponent = "
                              f"2^{max_exponent}")
    import itertools

    z0 = torch.tensor(list(itertools.product((1.0, -1.0), repeat=K)), dtype=torch.complex128)
    return _solve_from_start(_pstar(m, n, r, M, seed)[:2], z0,
                             lambda z: (z * z - 1, torch.diag_embed(2 * z)), seed)


def _solve_from_start(pstar, z0, start_system, seed: int) -> torch.Tensor:
    """Track the solutions ``z0`` of ``start_system(z) -> (g, J_g)`` to the Lagrange system of
    ``pstar = (A, theta0)`` along ``(1 - t) gamma g + t F`` (``gamma`` random from ``seed``:
    the gamma trick) and return the certified (alpha test) distinct finite endpoints."""
    A, th0 = pstar
    gamma = complex(random_complex((1,), seed + 7, "cpu")[0])

    def system(z, t, idx, need_t=True):
        Na = z.shape[0]
        F, JF = lagrange(z, A.expand(Na, -1, -1, -1), th0.expand(Na, -1))
        g, Jg = start_system(z)
        tc = t.to(z.dtype)
        H = (1 - tc)[:, None] * gamma * g + tc[:, None] * F
        J = (1 - tc)[:, None, None] * gamma * Jg + tc[:, None, None] * JF
        return H, J, F - gamma * g

    z, done = track(z0, system)
    z = z[done]
    Ae, be = A.expand(z.shape[0], -1, -1, -1), th0.expand(z.shape[0], -1)
    z = _refine(z, Ae, be)
    hn = hessian_norm(A)
    beta, gamma, alpha, float_ok = _alpha(z, Ae, be, hn.expand(z.shape[0]))
    fin = torch.isfinite(z.abs()).all(-1)
    good = (alpha < ALPHA_0) & fin
    z, good, _, radius, _, same, _ = _resolve(z, good, torch.zeros_like(good), 2 * beta, alpha,
                                              _same_radius(alpha, gamma), A, th0, hn[0],
                                              fin & ~good & float_ok)
    return z[_distinct_keep(z, radius, good, same)]


def total_degree_count(m: int, n: int, r: int, M: int, seed: int = 0,
                       max_exponent: int = 16) -> int:
    """The critical count by the second route: the number of :func:`total_degree_points`.

    >>> total_degree_count(2, 2, 1, 2)
    7
    """
    return total_degree_points(m, n, r, M, seed, max_exponent).shape[0]


def multihomogeneous_bezout(m: int, n: int, r: int, M: int) -> int:
    """The 3-homogeneous Bezout number of the Lagrange system in the variable groups ``x``
    (``p = (m-r) r``), ``w`` (``q = n r``) and ``lambda`` (``M``): its ``D = p + q`` rows
    ``E_x, E_w`` have multidegree (1, 1, 1) and its ``M`` rows ``f`` (1, 1, 0), so it is the
    coefficient of ``a^p b^q c^M`` in ``(a+b+c)^D (a+b)^M``: ``C(D, M) C(D, p)``. The number
    of paths of :func:`multihomogeneous_points`, and an upper bound on ``N``.

    >>> multihomogeneous_bezout(2, 2, 1, 2), multihomogeneous_bezout(3, 4, 2, 9)
    (9, 450)
    """
    from math import comb

    m, n, r, M = _oriented_cell(m, n, r, M)
    p, D = (m - r) * r, r * (m + n - r)
    return comb(D, M) * comb(D, p)


def multihomogeneous_points(m: int, n: int, r: int, M: int, seed: int = 0,
                            max_paths: int = 100_000) -> torch.Tensor:
    """The critical points of :func:`critical_start`'s random complex instance ``p*`` (same
    seed) by a third route: a 3-homogeneous (linear-product) homotopy ``(1 - t) gamma g + t
    F(z; p*)`` (Morgan-Sommese 1987), where row ``k`` of ``g`` is a product of random affine
    forms, one in each variable group of that row's multidegree (``x, w, lambda`` for ``E_x,
    E_w``; ``x, w`` for ``f``; see :func:`multihomogeneous_bezout`). Its start solutions pick
    one factor per row, ``p`` rows for ``x``, ``q`` for ``w``, ``M`` for ``lambda``, and solve
    three linear systems: ``C(D, M) C(D, p)`` paths instead of total degree's ``2^(D+M)`` (450
    against 524,288 at 3x4, r = 2, d = 1). Returns the certified (alpha test) distinct finite
    endpoints (K, D + M); more than ``max_paths`` paths is refused.

    >>> multihomogeneous_points(2, 2, 1, 2).shape
    torch.Size([7, 5])
    """
    import itertools

    m, n, r, M = _oriented_cell(m, n, r, M)
    max_paths = require_positive_int("max_paths", max_paths)
    paths = multihomogeneous_bezout(m, n, r, M)
    if paths > max_paths:
        raise InvalidArgument(f"multihomogeneous_points: {paths} paths is more than max_paths = "
                              f"{max_paths}")
    p, D = (m - r) * r, r * (m + n - r)
    K = D + M
    groups = [(0, p), (p, D), (D, K)]
    # degree of row k in group g: E_x and E_w rows (the first D) in all three; f rows in x and w
    degree = torch.ones(K, 3, dtype=torch.bool)
    degree[D:, 2] = False
    coef = torch.zeros(K, 3, K, dtype=torch.complex128)
    forms = random_complex((K, K), seed + 11, "cpu")
    const = random_complex((K, 3), seed + 13, "cpu")
    for g, (lo, hi) in enumerate(groups):
        coef[:, g, lo:hi] = forms[:, lo:hi] * degree[:, g:g + 1]
    const = torch.where(degree, const, torch.ones_like(const))
    # start solutions: rows S (of the first D) take lambda; of the rest, rows X take x
    starts = []
    for lam_rows in itertools.combinations(range(D), M):
        rest = [k for k in range(K) if k not in lam_rows]
        for x_rows in itertools.combinations(rest, p):
            w_rows = [k for k in rest if k not in x_rows]
            z = torch.zeros(K, dtype=torch.complex128)
            for g, rows in ((0, list(x_rows)), (1, w_rows), (2, list(lam_rows))):
                lo, hi = groups[g]
                z[lo:hi] = torch.linalg.solve(coef[rows, g, lo:hi], -const[rows, g])
            starts.append(z)
    z0 = torch.stack(starts)

    def start_system(z):
        L = torch.einsum("kgj,pj->pkg", coef, z) + const          # (Na, K, 3) affine factors
        others = torch.stack([L[..., 1] * L[..., 2], L[..., 0] * L[..., 2],
                              L[..., 0] * L[..., 1]], -1)
        return L.prod(-1), torch.einsum("pkg,kgj->pkj", others, coef)

    return _solve_from_start(_pstar(m, n, r, M, seed)[:2], z0, start_system, seed)


# --------------------------------------------------------------------------- real instances


@dataclass(frozen=True)
class CriticalResult:
    """Per-instance outcome of :func:`solve_critical` (tensors of length T, CPU)."""

    degree: int
    """N, the critical count of the cell (the start solutions' number)."""
    certified: torch.Tensor
    """(T,) bool: N distinct certified endpoints, each classified real or non-real."""
    real_count: torch.Tensor
    """(T,) int64: certified real critical points (meaningful where certified)."""
    exists: torch.Tensor
    """(T,) bool: certified and ``real_count >= 1``."""
    real_found: torch.Tensor
    """(T,) bool: some certified real critical point (a real solution exists), certified or not."""
    max_alpha: torch.Tensor
    """(T,) float64: the largest alpha over the kept endpoints (inf where one failed)."""
    trackings: torch.Tensor
    """(T,) int64: trackings of the instance (1 + retries used)."""
    solutions: list
    """per instance, the kept endpoints (K, D + M) (``theta`` first)."""
    precise: torch.Tensor | None = None
    """(T,) int64: endpoints refined and tested in high precision, because float64 could not
    tell whether they and another are one zero or two (:func:`_resolve`)."""


#: Endpoints tested at once in the scaled chart.
SCALED_CHUNK = 512


def _scaled_test(z, A, th0, H):
    """Smale's test of ``G(z') = F(S z')``, ``S = diag(max(1, |z_k|))`` (real, so realness is
    kept), at endpoints ``z`` (K, N) with per-endpoint ``A``, ``th0`` and Hessians ``H`` (K, N,
    N, N): ``beta' = ||(J S)^-1 F||``, ``gamma' <= ||(J S)^-1 S H S / 2||_F`` (the Frobenius
    norm of the 3-tensor bounds the bilinear operator norm). Returns ``(radius, alpha, real,
    nonreal, same)`` with ``radius = 2 beta' max(s)`` in the original coordinates (``||S u|| <=
    max(s) ||u||``) and ``same`` the uniqueness radius ``1 / (20 gamma')`` of
    :func:`_same_radius`, valid in the original coordinates too (``||S u|| >= ||u||``, as
    ``s >= 1``)."""
    s = z.abs().clamp(min=1.0)
    F, J = lagrange(z, A, th0)
    JS = J * s.to(J.dtype)[:, None, :]
    zs = z / s
    beta = solve_or_nan(JS, F).abs().pow(2).sum(-1).sqrt()
    beta_float = beta
    beta = beta + _noise(z, A, th0, JS, torch.linalg.svdvals(JS), beta, s.amax(-1))
    K, N = z.shape
    ss = s.to(H.dtype)
    HS = H * ss[:, None, :, None] * ss[:, None, None, :] / 2
    Kt = torch.linalg.solve_ex(JS, HS.reshape(K, N, N * N))[0]
    gamma = Kt.abs().pow(2).sum((-1, -2)).sqrt()
    alpha = beta * gamma
    imag = zs.imag.abs().pow(2).sum(-1).sqrt()
    real = (alpha < ALPHA_REAL) & (2 * imag < 1 / (20 * gamma))
    nonreal = imag > 2 * beta
    return (2 * beta * s.amax(-1), alpha, real, nonreal, _same_radius(alpha, gamma),
            beta_float * gamma < ALPHA_0)


def _certify(z, done, A, th0, hn):
    """``(good, real, radius, alpha, same, noisy)`` of endpoints ``z`` (T, P, K) of instances
    ``A``, ``th0`` (``same``: :func:`_same_radius`; ``noisy``: finite endpoints that fail only
    because of the rounding bound on ``beta``, for :func:`_resolve`): the test with the constant Hessian bound ``hn``, and for the endpoints that fail
    it, the test in the scaled chart (:func:`_scaled_test`; critical points with huge
    coordinates, near the boundary of the chart, are ill-conditioned in the first)."""
    T, P, K = z.shape
    Ae = A[:, None].expand(T, P, *A.shape[1:]).reshape(T * P, *A.shape[1:])
    be = th0[:, None].expand(T, P, -1).reshape(T * P, -1)
    zf = z.reshape(T * P, K)
    beta, gamma, alpha, float_ok = _alpha(zf, Ae, be, hn[:, None].expand(T, P).reshape(-1))
    imag = zf.imag.abs().pow(2).sum(-1).sqrt()
    real = (alpha < ALPHA_REAL) & (2 * imag < 1 / (20 * gamma))
    nonreal = imag > 2 * beta
    fin = done.reshape(-1) & torch.isfinite(zf.abs()).all(-1)
    good = fin & (alpha < ALPHA_0) & (real ^ nonreal)
    radius = 2 * beta
    same = _same_radius(alpha, gamma)
    again = (fin & ~good).nonzero().squeeze(1)
    if again.numel():
        H = hessians(A)
        inst = again // P
        for c in range(0, again.numel(), SCALED_CHUNK):
            e, i = again[c:c + SCALED_CHUNK], inst[c:c + SCALED_CHUNK]
            rad2, a2, re2, nr2, same2, fo2 = _scaled_test(zf[e], A[i], th0[i], H[i])
            float_ok[e] |= fo2
            ok = (a2 < ALPHA_0) & (re2 ^ nr2)
            upd = e[ok]
            good[upd], real[upd], radius[upd], alpha[upd] = True, re2[ok], rad2[ok], a2[ok]
            same[upd] = same2[ok]
    alpha = torch.where(fin & torch.isfinite(alpha), alpha, torch.full_like(alpha, float("inf")))
    rs = lambda v: v.reshape(T, P)
    same = torch.where(good, same, torch.zeros_like(same))
    return rs(good), rs(real & good), rs(radius), rs(alpha), rs(same), rs(fin & ~good & float_ok)


def solve_critical(G, y, th0, r: int, *, start_seed: int = 0, device=None,
                   retries: int = 1) -> CriticalResult:
    """The certified decision of the module docstring for a batch of real instances ``G``
    (T, M, m, n), ``y`` (T, M) and points ``theta0`` (T, r(m+n-r)) (in the chart of ``m <= n``:
    instances with ``m > n`` are transposed first).

    >>> import torch
    >>> solve_critical(torch.zeros(2, 9, 3, 3), torch.zeros(2, 9), torch.zeros(2, 5), 1)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: M = 9 exceeds r(m+n-r) = 5 at 3x3, r = 1
    """
    if not isinstance(G, torch.Tensor) or G.ndim != 4:
        raise InvalidArgument(f"G must be a 4-d tensor (T, M, m, n), got {getattr(G, 'shape', G)!r}")
    T, M, m, n = G.shape
    m, n, r, M = check_cell(m, n, r, M)
    D = r * (m + n - r)
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (T, M):
        raise InvalidArgument(f"y must have shape (T, M) = ({T}, {M}), got {tuple(getattr(y, 'shape', ()))}")
    if not isinstance(th0, torch.Tensor) or tuple(th0.shape) != (T, D):
        raise InvalidArgument(f"theta0 must have shape (T, D) = ({T}, {D}), got "
                              f"{tuple(getattr(th0, 'shape', ()))}")
    retries = require_nonneg_int("retries", retries)
    dev = torch.device(device) if device is not None else G.device
    if m > n:
        G, m, n = G.transpose(-1, -2), n, m
    (As, ths), zs, _ = critical_start(m, n, r, M, start_seed)
    Nc = zs.shape[0]
    A1 = bilinear_coefficients(G.to(dev, torch.complex128), y.to(dev, torch.complex128), r)
    b1 = th0.to(dev, torch.complex128)
    hn = hessian_norm(A1)
    As, ths, zs = As.to(dev), ths.to(dev), zs.to(dev)
    zero = torch.zeros(T * Nc, dtype=torch.int64, device=dev)

    def tracking(rows, k):
        """Endpoints (len(rows), Nc, K) and done, via ``k`` random complex waypoints."""
        R = rows.numel()
        pi = torch.arange(R, device=dev).repeat_interleave(Nc)
        z = zs.repeat(R, 1)
        ok = torch.ones(z.shape[0], dtype=torch.bool, device=dev)
        src = (As, ths, zero[:z.shape[0]])
        for j in range(k):
            # a waypoint per instance row: seeded by (start_seed, tracking, instance row)
            wp = [_random_params(7_000_003 * (start_seed + 1) + 101 * k + 13 * j, m, n, r, M, dev)]
            Aw, bw = wp[0]
            z, done = track(z, _segment(src[0], src[1], Aw, bw, src[2], zero[:z.shape[0]]))
            ok &= done
            src = (Aw, bw, zero[:z.shape[0]])
        z, done = track(z, _segment(src[0], src[1], A1[rows], b1[rows], src[2], pi))
        ok &= done
        z = _refine(z, A1[rows][pi], b1[rows][pi])
        return z.reshape(R, Nc, -1), ok.reshape(R, Nc)

    everyone = torch.arange(T, device=dev)
    z, done = tracking(everyone, 0)
    # the greedy union of :func:`_decide` runs on the CPU (small per-instance loops)
    z, (good, real, radius, alpha, same, noisy) = z.cpu(), (v.cpu() for v in _certify(z, done, A1, b1, hn))
    pools = [[(z[i], good[i], real[i], radius[i], alpha[i], same[i], noisy[i])] for i in range(T)]
    trackings = torch.ones(T, dtype=torch.int64)
    A1c, b1c, hnc = A1.cpu(), b1.cpu(), hn.cpu()
    decided = [_decide(Nc, pools[i], A1c[i:i + 1], b1c[i:i + 1], hnc[i]) for i in range(T)]
    for k in range(1, retries + 1):
        bad = [i for i in range(T) if not decided[i][0]]
        if not bad:
            break
        rows = torch.tensor(bad, device=dev)
        z, done = tracking(rows, k)
        g2, r2, b2, a2, s2, n2 = (v.cpu() for v in _certify(z, done, A1[rows], b1[rows], hn[rows]))
        z = z.cpu()
        for j, i in enumerate(bad):
            pools[i].append((z[j], g2[j], r2[j], b2[j], a2[j], s2[j], n2[j]))
            trackings[i] += 1
            decided[i] = _decide(Nc, pools[i], A1c[i:i + 1], b1c[i:i + 1], hnc[i])
    cert = torch.tensor([d[0] for d in decided], dtype=torch.bool)
    rc = torch.tensor([d[1] for d in decided], dtype=torch.int64)
    rf = torch.tensor([d[2] for d in decided], dtype=torch.bool)
    ma = torch.tensor([d[3] for d in decided], dtype=torch.float64)
    return CriticalResult(Nc, cert, rc, cert & (rc >= 1), rf, ma, trackings,
                          [d[4] for d in decided],
                          torch.tensor([d[5] for d in decided], dtype=torch.int64))


def _decide(Nc, pool, A=None, th0=None, hnorm=None):
    """``(certified, real_count, real_found, max_alpha, kept, precise)`` from the union of an instance's
    trackings (greedy in order: good endpoints distinct from the kept ones), pairs the float64
    tests cannot decide resolved in high precision (:func:`_resolve`, with the instance's ``A``
    (1, M, 1+p, 1+q), ``th0`` (1, D) and Hessian bound ``hnorm``; without ``A`` such pairs are
    merged)."""
    z = torch.cat([p[0] for p in pool])
    good = torch.cat([p[1] for p in pool])
    real = torch.cat([p[2] for p in pool])
    radius = torch.cat([p[3] for p in pool])
    alpha = torch.cat([p[4] for p in pool])
    same = torch.cat([p[5] for p in pool])
    noisy = torch.cat([p[6] for p in pool]) if all(len(p) > 6 for p in pool) else None
    precise = 0
    if A is not None:
        z, good, real, radius, alpha, same, precise = _resolve(z, good, real, radius, alpha, same,
                                                               A, th0, hnorm, noisy)
    kept = _distinct_keep(z, radius, good, same)
    if len(kept) > Nc:
        # more distinct certified zeros than the critical count: N (monodromy) is wrong
        raise MethodFailure(f"{len(kept)} distinct certified critical points, more than the "
                           f"critical count N = {Nc} found by monodromy: N is undercounted")
    cert = len(kept) == Nc
    rc = int(real[kept].sum()) if kept else 0
    ma = float(alpha[kept].max()) if cert else float("inf")
    return cert, rc, rc >= 1, ma, z[kept].cpu(), precise


def theta0_of(global_seed: int, m: int, n: int, r: int, M: int, trial: int):
    """The point ``theta0`` of trial ``trial`` (float64, ``r(m+n-r)`` standard normal entries
    from a CPU generator seeded ``trial_seed(global_seed, "theta0", m, n, r, M, trial)``;
    drawn in the chart of ``min(m, n) x max(m, n)``).

    >>> bool((theta0_of(0, 2, 3, 1, 3, 5) == theta0_of(0, 2, 3, 1, 3, 5)).all())
    True
    """
    from .seeding import trial_seed

    g = torch.Generator(device="cpu").manual_seed(trial_seed(global_seed, "theta0", m, n, r, M, int(trial)))
    return torch.randn(r * (m + n - r), generator=g, dtype=torch.float64)


def critical_on_e1_instances(m: int, n: int, r: int, M: int, trial_indices, *,
                             global_seed: int = 0, device="cpu", start_seed: int = 0,
                             retries: int = 1) -> CriticalResult:
    """:func:`solve_critical` on the very instances E1 sees in the cell ``(m, n, r, M)``
    (Gaussian features; :func:`numerics.engine.capacity.instance_seed`, drawn by
    :func:`numerics.engine.instances.sample_instances` in float64 on the CPU) with the points
    :func:`theta0_of`."""
    from .capacity import instance_seed
    from .instances import sample_instances

    m, n, r, M = check_cell(m, n, r, M)
    seeds = [instance_seed(global_seed, "gaussian", m, n, M, None, int(t)) for t in trial_indices]
    op, y = sample_instances(seeds, m, n, M, device="cpu", dtype=torch.float64)
    th0 = torch.stack([theta0_of(global_seed, m, n, r, M, t) for t in trial_indices])
    return solve_critical(op.dense(), y, th0, r, start_seed=start_seed, device=device,
                          retries=retries)
