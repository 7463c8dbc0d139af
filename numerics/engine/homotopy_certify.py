"""The per-instance certificate of E0 at any rank (issue 16), shared by the rank-one and the
rank-``r`` homotopies: endpoints in the chart they were tracked in, a second chart for those
that fail there, distinctness of the zeros as matrices, and the union of several trackings.

The system. ``Delta = [I_r; U'] V^T``, unknowns ``z = (vec U', vec V)`` (row-major),
``f_i(z) = (1, x)^T A_i (1, w) = 0`` with ``A`` from :func:`bilinear_coefficients`: bilinear in
``(x, w)``, so its second derivative is constant and ``gamma`` (Smale) has two valid bounds for
an endpoint ``z`` with Jacobian ``J``:

1. ``||J^-1||_2 * sqrt(sum_i ||A_i[1:, 1:]||_2^2)`` (each ``D^2 f_i / 2`` is bounded by
   ``||A_i[1:, 1:]||_2``, Cauchy-Schwarz over the ``(x, w)`` split);
2. ``||J^-1 D^2 f / 2||_F``, the Frobenius norm of the 3-tensor (it bounds the bilinear
   operator norm).

The certificate uses bound 1 everywhere and the smaller of the two where bound 1 fails.

Charts. The chart "top ``r`` rows of ``U`` are the identity" is ill-conditioned where that
block of a solution is nearly singular: its coordinates are huge and the alpha test fails
although the zero is simple (the committed runs' uncertified instances were mostly of this
kind). Such an endpoint is re-expressed in the chart of the ``r`` rows of ``U`` of largest
volume (greedy pivoting): ``U~ = U U_S^-1``, ``V~ = V U_S^T``, rows permuted so that ``S``
comes first, ``G_i`` permuted alike (``<G_i, Delta> = <P G_i, P Delta>``); a permutation chart
is real, so a real zero has real coordinates in it and the Hauenstein-Sottile realness test
still applies. Newton-refined there, it is alpha-tested and classified there.

Distinctness. Zeros certified in different charts are compared as matrices: if
``||z - z*|| <= 2 beta`` then ``||Delta(z) - Delta(z*)||_F <= 2 beta (||U||_F + ||V||_F) + 4
beta^2`` (``Delta = U V^T`` is bilinear), so two endpoints whose matrices are further apart than
the sum of those radii have distinct zeros.

The decision for an instance: ``degree`` endpoints that are each an approximate zero (alpha <
ALPHA_0), classified real or non-real, and pairwise distinct as matrices: then these are
``degree`` distinct zeros, i.e. all of them (a finite solution set has at most ``degree``
points; generic instances have a finite one), and the real count is exact. With several
trackings of one instance (other start instances), the union of their endpoints is scanned
greedily in order: an endpoint is kept if it is certified and distinct from every kept one;
the instance is certified when exactly ``degree`` are kept.

Examples
--------
>>> import torch
>>> g = torch.Generator().manual_seed(4)
>>> G = torch.randn(3, 5, 2, 4, generator=g, dtype=torch.float64)
>>> y = torch.randn(3, 5, generator=g, dtype=torch.float64)
>>> from numerics.engine.homotopy import solve_rank_one
>>> res = solve_rank_one(G, y)
>>> res.degree, res.certified.tolist()
(4, [True, True, True])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .homotopy_precise import refine_and_test, rounding_bound
from .homotopy_track import ALPHA_0, ALPHA_REAL, HomotopyResult, solve_or_nan

__all__ = ["bilinear_coefficients", "delta_of", "endpoint_certificates", "decide",
           "merge_trackings", "rechart", "Endpoints", "solve_certified", "factors_of"]

#: Newton steps in the second chart before its alpha test.
RECHART_NEWTON = 4
#: Endpoints re-charted at once (each carries its own permuted coefficients).
RECHART_CHUNK = 4096
#: Endpoints of one instance tested in high precision at most (the rest stay uncertified).
PRECISE_MAX = 32


def bilinear_coefficients(G, y, r: int):
    """``A`` (T, M, 1 + p, 1 + q) of the module docstring for ``G`` (T, M, m, n), ``y`` (T, M):
    ``A_i[0, 0] = -y_i``, ``A_i[0, 1 + b r + k] = G_i[k, b]`` (``k < r``, the identity block),
    ``A_i[1 + j r + k', 1 + b r + k] = G_i[r + j, b] delta_{k k'}``.

    >>> import torch
    >>> G = torch.randn(1, 3, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> A = bilinear_coefficients(G, torch.zeros(1, 3, dtype=torch.float64), 1)
    >>> bool((A[0, :, 0, 1:] == G[0, :, 0, :]).all() and (A[0, :, 1:, 1:] == G[0, :, 1:, :]).all())
    True
    """
    T, M, m, n = G.shape
    p, q = (m - r) * r, n * r
    A = torch.zeros(T, M, 1 + p, 1 + q, dtype=G.dtype, device=G.device)
    A[..., 0, 0] = -y
    A[..., 0, 1:] = G[..., :r, :].transpose(-1, -2).reshape(T, M, q)
    eye = torch.eye(r, dtype=G.dtype, device=G.device)
    A[..., 1:, 1:] = torch.einsum("tijb,kl->tijkbl", G[..., r:, :], eye).reshape(T, M, p, q)
    return A


def factors_of(z, m: int, n: int, r: int):
    """``(U, V)`` with ``U = [I_r; U']`` (..., m, r) and ``V`` (..., n, r) of ``z = (vec U', vec V)``.

    >>> import torch
    >>> U, V = factors_of(torch.tensor([2.0, 3.0, 5.0]), 2, 2, 1)
    >>> U.tolist(), V.tolist()
    ([[1.0], [2.0]], [[3.0], [5.0]])
    """
    p = (m - r) * r
    Up = z[..., :p].reshape(*z.shape[:-1], m - r, r)
    eye = torch.eye(r, dtype=z.dtype, device=z.device).expand(*z.shape[:-1], r, r)
    return torch.cat([eye, Up], dim=-2), z[..., p:].reshape(*z.shape[:-1], n, r)


def delta_of(z, m: int, n: int, r: int):
    """``Delta = [I_r; U'] V^T`` (..., m, n) of solutions ``z = (vec U', vec V)``.

    >>> import torch
    >>> z = torch.tensor([2.0, 3.0, 5.0])        # m = 2, n = 2, r = 1: u = (1, 2), v = (3, 5)
    >>> delta_of(z, 2, 2, 1).tolist()
    [[3.0, 5.0], [6.0, 10.0]]
    """
    U, V = factors_of(z, m, n, r)
    return U @ V.transpose(-1, -2)


def _split(z, A):
    p1 = A.shape[-2]
    one = torch.ones(z.shape[:-1] + (1,), dtype=z.dtype, device=z.device)
    return torch.cat([one, z[..., :p1 - 1]], -1), z[..., p1 - 1:]


def _residual(z, A):
    """``f_i = (1, x)^T A_i (1, w)``: ``z`` (T, P, M), ``A`` (T, M, 1 + p, 1 + q)."""
    u, w = _split(z, A)
    one = torch.ones(w.shape[:-1] + (1,), dtype=z.dtype, device=z.device)
    return torch.einsum("tpa,tiab,tpb->tpi", u, A, torch.cat([one, w], -1))


def _jacobian(z, A):
    u, w = _split(z, A)
    one = torch.ones(w.shape[:-1] + (1,), dtype=z.dtype, device=z.device)
    wv = torch.cat([one, w], -1)
    dx = torch.einsum("tiab,tpb->tpia", A[:, :, 1:, :], wv)
    dw = torch.einsum("tpa,tiab->tpib", u, A[:, :, :, 1:])
    return torch.cat([dx, dw], dim=-1)


def _newton(z, A):
    return solve_or_nan(_jacobian(z, A), _residual(z, A))


def _gamma_frobenius(J, A):
    """Bound 2 of the module docstring, per endpoint: ``J`` (T, P, M, M), ``A`` (T, M, 1+p, 1+q)."""
    T, P, M, _ = J.shape
    p = A.shape[-2] - 1
    B = A[:, :, 1:, 1:]                                  # (T, M, p, q)
    D = torch.zeros(T, M, M, M, dtype=A.dtype, device=A.device)
    D[:, :, :p, p:] = B / 2
    D[:, :, p:, :p] = B.transpose(-1, -2) / 2
    K = torch.linalg.solve_ex(J, D.reshape(T, 1, M, M * M).expand(T, P, M, M * M))[0]
    return K.abs().pow(2).sum((-1, -2)).sqrt()


@dataclass
class Endpoints:
    """Per-endpoint certificate data (tensors (T, P, ...)) of one tracking."""

    z: torch.Tensor
    """endpoints in the tracking chart."""
    good: torch.Tensor
    """approximate zero (alpha < ALPHA_0) and classified real or non-real."""
    real: torch.Tensor
    """certified real zero (meaningful where ``good``)."""
    alpha: torch.Tensor
    """the alpha bound used (in the chart where it passed, else the tracking chart's)."""
    delta: torch.Tensor
    """(T, P, m n) the endpoint's matrix (in the orientation of the tracked system)."""
    radius: torch.Tensor
    """(T, P) Frobenius radius around ``delta`` that contains the zero's matrix."""
    recharted_per: torch.Tensor | None = None
    """(T,) endpoints certified only in a second chart."""
    precise_per: torch.Tensor | None = None
    """(T,) endpoints tested in high precision (float64 could not certify them for rounding
    alone, :func:`numerics.engine.homotopy_precise.refine_and_test`)."""


def _magnitudes(z, A):
    """``(||f_abs||, ||J_abs||_F)`` per endpoint ``z`` (T, P, M): ``f`` and its Jacobian with every
    sum taken over absolute values (the scale of their float64 rounding errors), i.e.
    :func:`_residual` and :func:`_jacobian` at ``|z|``, ``|A|``."""
    az, aA = z.abs().to(z.dtype), A.abs().to(A.dtype)
    return (_residual(az, aA).abs().pow(2).sum(-1).sqrt(),
            _jacobian(az, aA).abs().pow(2).sum((-1, -2)).sqrt())


def _test(z, A, gnorm, frob: bool):
    """``(beta, gamma, alpha, real, nonreal, float_ok)`` of endpoints ``z`` (T, P, M) of ``A``
    (``float_ok``: alpha would pass without the rounding bound); ``beta``
    includes a bound on its own float64 rounding
    (:func:`numerics.engine.homotopy_precise.rounding_bound`): at a zero with huge coordinates
    the residual is at rounding level, and two endpoints of one zero must not look like two."""
    J = _jacobian(z, A)
    beta = solve_or_nan(J, _residual(z, A)).abs().pow(2).sum(-1).sqrt()
    sv = torch.linalg.svdvals(J)
    smin = sv[..., -1]
    fa, ja = _magnitudes(z, A)
    noise = rounding_bound(smin, fa, ja, sv.pow(2).sum(-1).sqrt(), beta,
                           terms=A.shape[-1] + A.shape[-2] + 2, size=J.shape[-1])
    beta_float = beta
    beta = beta + noise
    gamma = gnorm[:, None] / smin
    if frob:
        gamma = torch.minimum(gamma, _gamma_frobenius(J, A))
    alpha = beta * gamma
    imag = z.imag.abs().pow(2).sum(-1).sqrt()
    real = (alpha < ALPHA_REAL) & (2 * imag < 1 / (20 * gamma))
    nonreal = imag > 2 * beta
    return beta, gamma, alpha, real, nonreal, beta_float * gamma < ALPHA_0


def _radius(z, beta, m, n, r):
    U, V = factors_of(z, m, n, r)
    nu = U.abs().pow(2).sum((-1, -2)).sqrt()
    nv = V.abs().pow(2).sum((-1, -2)).sqrt()
    return 2 * beta * (nu + nv) + 4 * beta * beta


def rechart(z, m: int, n: int, r: int):
    """``(perm, z~)``: for endpoints ``z`` (N, M), the row order ``perm`` (N, m) whose first ``r``
    rows of ``U`` have the largest volume found by greedy pivoting, and the coordinates ``z~`` of
    the same matrix in the chart "those rows of ``U`` are the identity" (rows permuted by
    ``perm``).

    >>> import torch
    >>> z = torch.tensor([[1e4 + 0j, 2.0 + 0j, 3.0 + 0j]], dtype=torch.complex128)  # u = (1, 1e4)
    >>> perm, zt = rechart(z, 2, 2, 1)
    >>> perm.tolist(), [round(abs(c), 6) for c in zt[0].tolist()]
    ([[1, 0]], [0.0001, 20000.0, 30000.0])
    >>> bool(torch.allclose(delta_of(zt, 2, 2, 1)[0], delta_of(z, 2, 2, 1)[0][[1, 0]]))
    True
    """
    U, V = factors_of(z, m, n, r)
    N = z.shape[0]
    R = U.clone()
    chosen = torch.zeros(N, m, dtype=torch.bool, device=z.device)
    rows = []
    for _ in range(r):
        norms = R.abs().pow(2).sum(-1).masked_fill(chosen, -1.0)
        k = norms.argmax(-1)
        rows.append(k)
        chosen[torch.arange(N, device=z.device), k] = True
        q = R[torch.arange(N, device=z.device), k]                    # (N, r)
        q = q / q.abs().pow(2).sum(-1, keepdim=True).sqrt()
        R = R - (R @ q.conj()[..., None]) * q[:, None, :]
    S = torch.stack(rows, -1)                                          # (N, r)
    idx = torch.arange(m, device=z.device).expand(N, m)
    rest = torch.argsort(idx + m * chosen.long(), dim=-1)[:, :m - r]
    perm = torch.cat([S, rest], -1)
    US = torch.gather(U, 1, S[..., None].expand(N, r, r))
    Ut = torch.linalg.solve(US, torch.gather(U, 1, perm[..., None].expand(N, m, r)),
                            left=False)                                # U P U_S^-1
    Vt = V @ US.transpose(-1, -2)
    zt = torch.cat([Ut[:, r:].reshape(N, -1), Vt.reshape(N, -1)], -1)
    return perm, zt


def endpoint_certificates(z, done, G, y, r: int) -> Endpoints:
    """The certificate data of endpoints ``z`` (T, P, M) of instances ``G`` (T, M, m, n), ``y``
    (T, M) (complex128), tracked in the chart "top ``r`` rows of ``U`` are the identity";
    ``done``: reached ``t = 1``. Endpoints that fail the test in that chart get a second chart
    (module docstring)."""
    T, P, M = z.shape
    m, n = G.shape[-2:]
    A = bilinear_coefficients(G, y, r)
    gnorm = torch.linalg.matrix_norm(A[:, :, 1:, 1:], ord=2).pow(2).sum(-1).sqrt()
    beta, gamma, alpha, real, nonreal, noisy = _test(z, A, gnorm, frob=False)
    fin = done & torch.isfinite(z.abs()).all(-1)
    good = fin & (alpha < ALPHA_0) & (real ^ nonreal)
    delta = delta_of(z, m, n, r).reshape(T, P, m * n)
    radius = _radius(z, beta, m, n, r)
    again = (fin & ~good).nonzero()
    recharted = torch.zeros(T, dtype=torch.int64, device=z.device)
    for s in range(0, again.shape[0], RECHART_CHUNK):
        ti, pi = again[s:s + RECHART_CHUNK].unbind(-1)
        perm, zt = rechart(z[ti, pi], m, n, r)
        Gp = torch.gather(G[ti], 2, perm[:, None, :, None].expand(-1, M, m, n))
        Ap = bilinear_coefficients(Gp, y[ti], r)
        zt = zt[:, None]
        for _ in range(RECHART_NEWTON):
            zt = zt - _newton(zt, Ap)
        gn = torch.linalg.matrix_norm(Ap[:, :, 1:, 1:], ord=2).pow(2).sum(-1).sqrt()
        b2, _, a2, re2, nr2, fo2 = (x[:, 0] for x in _test(zt, Ap, gn, frob=True))
        ok = (a2 < ALPHA_0) & (re2 ^ nr2) & torch.isfinite(zt[:, 0].abs()).all(-1)
        noisy[ti, pi] |= fo2
        inv = torch.argsort(perm, -1)
        d2 = torch.gather(delta_of(zt[:, 0], m, n, r), 1, inv[..., None].expand(-1, m, n))
        upd = ok.nonzero().squeeze(1)
        tu, pu = ti[upd], pi[upd]
        recharted.index_add_(0, tu, torch.ones_like(tu))
        good[tu, pu] = True
        real[tu, pu] = re2[upd]
        alpha[tu, pu] = a2[upd]
        delta[tu, pu] = d2[upd].reshape(-1, m * n)
        radius[tu, pu] = _radius(zt[upd, 0], b2[upd], m, n, r)
    # endpoints that fail only because of the rounding bound: tested in high precision
    noisy = fin & ~good & noisy
    precise = torch.zeros(T, dtype=torch.int64, device=z.device)
    todo = noisy.nonzero().tolist()
    per = {}
    for t, k in todo:
        per[t] = per.get(t, 0) + 1
        if per[t] > PRECISE_MAX:
            continue
        res = refine_and_test(z[t, k][None].cpu(), A[t:t + 1].cpu(), None, float(gnorm[t]))
        precise[t] += 1
        if not res.ok:
            continue
        zr = res.z.to(z.device)
        good[t, k], real[t, k], alpha[t, k] = True, res.real, res.alpha
        delta[t, k] = delta_of(zr, m, n, r).reshape(m * n)
        # the radius of the refined point, its rounding to float64 included, as a matrix radius
        radius[t, k] = _radius(zr, torch.tensor(res.radius / 2, dtype=radius.dtype,
                                                device=z.device), m, n, r)
    return Endpoints(z, good, real, alpha, delta, radius, recharted, precise)


def _distinct(delta, radius):
    """(T,) all pairs of an instance's matrices further apart than the sum of their radii."""
    P = delta.shape[1]
    dr = torch.cat([delta.real, delta.imag], -1)
    dist = torch.cdist(dr, dr, compute_mode="donot_use_mm_for_euclid_dist")
    eye = torch.eye(P, dtype=torch.bool, device=delta.device)[None]
    return ((dist > radius[:, :, None] + radius[:, None, :]) | eye).all(-1).all(-1)


def decide(degree: int, e: Endpoints) -> HomotopyResult:
    """The decision of the module docstring for one tracking of ``degree`` paths per instance.

    >>> import torch
    >>> d = torch.tensor([[[1.0 + 0j], [2.0 + 0j]]], dtype=torch.complex128)
    >>> small = torch.full((1, 2), 1e-12, dtype=torch.float64)
    >>> e = Endpoints(d, torch.ones(1, 2, dtype=torch.bool), torch.tensor([[True, False]]), small, d, small)
    >>> res = decide(2, e)
    >>> res.certified.tolist(), res.real_count.tolist(), res.exists.tolist()
    ([True], [1], [True])
    """
    certified = e.good.all(-1) & _distinct(e.delta, e.radius)
    real_count = (e.real & e.good).sum(-1)
    max_alpha = torch.where(torch.isfinite(e.alpha), e.alpha,
                            torch.full_like(e.alpha, float("inf"))).amax(-1)
    return HomotopyResult(degree, e.z, certified, real_count, certified & (real_count >= 1),
                          max_alpha)


def merge_trackings(degree: int, first: HomotopyResult, trackings, rows) -> HomotopyResult:
    """``first`` with the instances ``rows`` (a list of indices into it) re-decided from the
    union of their endpoints over ``trackings`` (a list of :class:`Endpoints` of those rows,
    the first tracking first): greedy in order, an endpoint is kept if it is ``good`` and its
    matrix is distinct from every kept one; certified when exactly ``degree`` are kept.

    >>> import torch
    >>> one = torch.ones(1, 2, dtype=torch.bool)
    >>> small = torch.full((1, 2), 1e-12, dtype=torch.float64)
    >>> a = torch.tensor([[[1.0 + 0j], [1.0 + 0j]]], dtype=torch.complex128)    # a jumped path
    >>> b = torch.tensor([[[1.0 + 0j], [2.0 + 0j]]], dtype=torch.complex128)
    >>> ea, eb = Endpoints(a, one, one, small, a, small), Endpoints(b, one, one, small, b, small)
    >>> first = decide(2, ea)
    >>> first.certified.tolist(), merge_trackings(2, first, [ea, eb], [0]).certified.tolist()
    ([False], [True])
    """
    z, cert = first.solutions.clone(), first.certified.clone()
    real_count, alpha = first.real_count.clone(), first.max_alpha.clone()
    for j, row in enumerate(rows):
        kept_d, kept_r, kept_z, kept_real, kept_alpha = [], [], [], [], []
        for e in trackings:
            good = e.good[j].cpu()
            for k in good.nonzero().squeeze(1).tolist():
                d, rad = e.delta[j, k], e.radius[j, k]
                if kept_d:
                    dist = (torch.stack(kept_d) - d).abs().pow(2).sum(-1).sqrt()
                    if bool((dist <= torch.stack(kept_r) + rad).any()):
                        continue
                kept_d.append(d)
                kept_r.append(rad)
                kept_z.append(e.z[j, k])
                kept_real.append(bool(e.real[j, k]))
                kept_alpha.append(float(e.alpha[j, k]))
        if len(kept_d) == degree:
            cert[row] = True
            z[row] = torch.stack(kept_z)
            real_count[row] = sum(kept_real)
            alpha[row] = max(kept_alpha)
    return HomotopyResult(degree, z, cert, real_count, cert & (real_count >= 1), alpha)


def _rows(e: Endpoints, rows) -> Endpoints:
    return Endpoints(e.z[rows], e.good[rows], e.real[rows], e.alpha[rows], e.delta[rows],
                     e.radius[rows])


def solve_certified(track_once, G, y, r: int, degree: int, *, start_seed: int,
                    retries: int) -> HomotopyResult:
    """Track every instance once (``track_once(rows, seed) -> (z, done)``: the instances
    ``rows`` of ``G`` (T, M, m, n), ``y`` (T, M), complex128, from the start instance of
    ``seed``, refined), certify (:func:`endpoint_certificates`, :func:`decide`), then track the
    uncertified instances again from the start instances of ``start_seed + 1``, ... (at most
    ``retries`` more trackings) and re-decide them from the union of their endpoints
    (:func:`merge_trackings`). ``trackings`` of the result: how many trackings an instance
    got; ``recharted``: its endpoints certified in a second chart (first tracking)."""
    T = G.shape[0]
    dev = G.device
    everyone = torch.arange(T, device=dev)
    z, done = track_once(everyone, start_seed)
    first = endpoint_certificates(z, done, G, y, r)
    res = decide(degree, first)
    trackings = torch.ones(T, dtype=torch.int64, device=dev)
    recharted_per = first.recharted_per
    history = [(everyone, first)]
    for k in range(1, retries + 1):
        bad = (~res.certified).nonzero().squeeze(1)
        if not bad.numel():
            break
        z, done = track_once(bad, start_seed + k)
        e = endpoint_certificates(z, done, G[bad], y[bad], r)
        history.append((bad, e))
        trackings[bad] += 1
        parts = []
        for rows, ej in history:
            pos = torch.searchsorted(rows, bad)
            parts.append(_rows(ej, pos))
        res = merge_trackings(degree, res, parts, bad.tolist())
    return HomotopyResult(res.degree, res.solutions, res.certified, res.real_count, res.exists,
                          res.max_alpha, trackings, recharted_per)
