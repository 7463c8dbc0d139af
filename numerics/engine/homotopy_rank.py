"""Estimand E0 at any rank r (issue 16): all complex rank-``<= r`` solutions of
``<G_i, Delta> = y_i``, ``M = r(m+n-r)`` (rho = 1), by the tracker of
:mod:`numerics.engine.homotopy`, and a certified decision "a real solution exists".

Parametrisation. ``Delta = [I_r; U'] V^T`` with ``U'`` ``(m-r) x r`` and ``V`` ``n x r``: a
rank-``r`` matrix whose top ``r x r`` block is invertible has exactly one such factorisation
(real if ``Delta`` is real), and generic instances have no solution with a singular top block
nor of rank below ``r``. Unknowns ``x = vec U'`` (``p = (m-r) r``, row-major) and
``w = vec V`` (``q = n r``, row-major), ``p + q = M``. Each equation is bilinear-affine:
``f_i = (1, x)^T A_i (1, w)`` with

- ``A_i[0, 0] = -y_i``; ``A_i[0, 1 + b r + k] = G_i[k, b]`` (``k < r``: the identity block);
- ``A_i[1 + j r + k', 1 + b r + k] = G_i[r + j, b] delta_{k k'}`` (``U' V^T``).

This is the family ``u^T G'_i v - L'_i . u`` of :func:`numerics.engine.homotopy.track` with
``u = (1, x)``, ``v = w``, ``G'_i = A_i[:, 1:]``, ``L'_i = -A_i[:, 0]``; at ``r = 1`` it is the
family :func:`numerics.engine.homotopy.solve_rank_one` tracks.

Start system (once per ``(m, n, r, seed, device)``): the linear product
``g_i = (a_i . (1, x)) (c_i . (1, w))`` has ``C(M, p)`` solutions (choose the ``p`` equations
whose first factor vanishes: two linear solves each); a gamma-trick homotopy carries them to a
random complex instance of the rank-``r`` family, where the finite, alpha-certified, distinct
endpoints must number ``determinantal_degree(m, n, r)`` (else ``RuntimeError``). A parameter
homotopy then carries those to every real instance, and each instance is certified exactly as
in :mod:`numerics.engine.homotopy` (alpha test with the constant second derivative bounded by
``||G'_i||_2``, disjoint ``2 beta`` balls, every endpoint classified real or non-real).

Examples
--------
>>> import torch
>>> g = torch.Generator().manual_seed(4)
>>> G = torch.randn(4, 8, 3, 3, generator=g, dtype=torch.float64)
>>> y = torch.randn(4, 8, generator=g, dtype=torch.float64)
>>> res = solve_rank(G, y, 2)               # 3x3, r = 2: degree 3 (odd)
>>> res.degree, res.certified.tolist(), res.exists.tolist()
(3, [True, True, True, True], [True, True, True, True])
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import torch

from proofs.exact_existence import determinantal_degree
from proofs.validation import InvalidArgument, require_nonneg_int, require_positive_int, require_rank

from .homotopy import (ALPHA_0, HomotopyResult, certify, dedupe_points, random_complex,
                       solve_or_nan, track)

#: Start paths tracked at once.
START_CHUNK = 20_000

__all__ = ["bilinear_coefficients", "solve_rank", "start_solutions_rank", "delta_of",
           "start_paths", "e0_rank_on_e1_instances"]


def start_paths(m: int, n: int, r: int) -> int:
    """Paths of the linear-product start system of :func:`solve_rank` (after transposing to
    ``m <= n``): ``C(r(m+n-r), (min(m,n)-r) r)``.

    >>> start_paths(3, 3, 2), start_paths(4, 3, 2), start_paths(5, 5, 3)
    (28, 45, 54264)
    """
    m, n = min(m, n), max(m, n)
    return math.comb(r * (m + n - r), (m - r) * r)


def bilinear_coefficients(G, y, r: int):
    """``A`` (T, M, 1 + p, 1 + q) of the module docstring for ``G`` (T, M, m, n), ``y`` (T, M).

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


def delta_of(z, m: int, n: int, r: int):
    """``Delta = [I_r; U'] V^T`` (..., m, n) of solutions ``z = (vec U', vec V)``.

    >>> import torch
    >>> z = torch.tensor([2.0, 3.0, 5.0])        # m = 2, n = 2, r = 1: u = (1, 2), v = (3, 5)
    >>> delta_of(z, 2, 2, 1).tolist()
    [[3.0, 5.0], [6.0, 10.0]]
    """
    p = (m - r) * r
    Up = z[..., :p].reshape(*z.shape[:-1], m - r, r)
    eye = torch.eye(r, dtype=z.dtype, device=z.device).expand(*z.shape[:-1], r, r)
    U = torch.cat([eye, Up], dim=-2)
    V = z[..., p:].reshape(*z.shape[:-1], n, r)
    return U @ V.transpose(-1, -2)


def _family(A):
    """``(G', L', 0)`` of :func:`numerics.engine.homotopy.track` from ``A``."""
    return A[..., :, 1:], -A[..., :, 0], torch.zeros(A.shape[:2], dtype=A.dtype, device=A.device)


def _residual(z, Gp, Lp):
    """``f_i = (1, x)^T G'_i w - L'_i . (1, x)``: ``z`` (T, P, M)."""
    P1 = Gp.shape[-2]
    one = torch.ones(z.shape[:-1] + (1,), dtype=z.dtype, device=z.device)
    u, v = torch.cat([one, z[..., :P1 - 1]], -1), z[..., P1 - 1:]
    return torch.einsum("tpa,tiab,tpb->tpi", u, Gp, v) - torch.einsum("tia,tpa->tpi", Lp, u)


def _jacobian(z, Gp, Lp):
    P1 = Gp.shape[-2]
    one = torch.ones(z.shape[:-1] + (1,), dtype=z.dtype, device=z.device)
    u, v = torch.cat([one, z[..., :P1 - 1]], -1), z[..., P1 - 1:]
    du = (torch.einsum("tiab,tpb->tpia", Gp, v) - Lp[:, None])[..., 1:]
    dv = torch.einsum("tpa,tiab->tpib", u, Gp)
    return torch.cat([du, dv], dim=-1)


def _newton(z, Gp, Lp):
    return solve_or_nan(_jacobian(z, Gp, Lp), _residual(z, Gp, Lp))


def _alpha(z, Gp, Lp):
    """``(beta, gamma, alpha)`` per endpoint; gamma bounded by ``||J^-1|| sqrt(sum ||G'_i||^2)``
    (the second derivative of ``f_i`` is the constant bilinear form of ``G'_i[1:, :]``)."""
    beta = _newton(z, Gp, Lp).abs().pow(2).sum(-1).sqrt()
    smin = torch.linalg.svdvals(_jacobian(z, Gp, Lp))[..., -1]
    gnorm = torch.linalg.matrix_norm(Gp, ord=2).pow(2).sum(-1).sqrt()
    gamma = gnorm[:, None] / smin
    return beta, gamma, beta * gamma


def _refine(z, Gp, Lp, steps=3):
    for _ in range(steps):
        z = z - _newton(z, Gp, Lp)
    return z


@lru_cache(maxsize=32)
def _start(m: int, n: int, r: int, seed: int, device: str):
    M = r * (m + n - r)
    p, q = (m - r) * r, n * r
    degree = determinantal_degree(m, n, r)
    G1 = random_complex((1, M, m, n), seed, "cpu")
    y1 = random_complex((1, M), seed + 1, "cpu")
    a = random_complex((M, 1 + p), seed + 2, "cpu")
    c = random_complex((M, 1 + q), seed + 3, "cpu")
    starts = []
    for rows in itertools.combinations(range(M), p):
        rest = [i for i in range(M) if i not in rows]
        x = (torch.linalg.solve(a[list(rows), 1:], -a[list(rows), 0]) if p else
             torch.zeros(0, dtype=torch.complex128))
        w = torch.linalg.solve(c[rest, 1:], -c[rest, 0])
        starts.append(torch.cat([x, w]))
    z0 = torch.stack(starts)[None]
    gamma = complex(random_complex((1,), seed + 4, "cpu")[0])
    A0 = gamma * torch.einsum("ia,ib->iab", a, c)[None]
    A1 = bilinear_coefficients(G1, y1, r)
    dev = torch.device(device)
    p0 = tuple(t.to(dev) for t in _family(A0))
    Gp1, Lp1, zero = (t.to(dev) for t in _family(A1))
    # in chunks of START_CHUNK paths (a start system has up to 200000; each path carries its
    # gathered (M, 1 + p, q) coefficients)
    ends = []
    for s in range(0, z0.shape[1], START_CHUNK):
        z, done = track(z0[:, s:s + START_CHUNK].to(dev), p0, (Gp1, Lp1, zero))
        ends.append(z[0][done[0]])
    fin = _refine(torch.cat(ends)[None], Gp1, Lp1)
    beta, _, alpha = _alpha(fin, Gp1, Lp1)
    keep = alpha[0] < ALPHA_0
    unique = dedupe_points(fin[0][keep], beta[0][keep]).cpu()
    if unique.shape[0] != degree:
        raise RuntimeError(f"start system of {m}x{n} r={r}: {unique.shape[0]} certified distinct "
                           f"solutions, expected the degree {degree} (seed {seed})")
    return G1[0], y1[0], unique


def start_solutions_rank(m: int, n: int, r: int, seed: int = 0, device="cpu"):
    """``((G*, y*), z*)``: a random complex rank-``r`` instance and its ``degree`` solutions
    (cached per ``(m, n, r, seed, device)``).

    >>> (G, y), z = start_solutions_rank(3, 3, 2)
    >>> tuple(G.shape), tuple(z.shape)
    ((8, 3, 3), (3, 8))
    """
    m, n = require_positive_int("m", m), require_positive_int("n", n)
    r = require_rank("r", r, m, n)
    seed = require_nonneg_int("seed", seed)
    G, y, z = _start(m, n, r, seed, str(torch.device(device)))
    return (G, y), z


def solve_rank(G, y, r: int, *, start_seed: int = 0, device=None) -> HomotopyResult:
    """All complex rank-``<= r`` solutions of ``<G_i, Delta> = y_i`` for a batch of instances
    ``G`` (T, M, m, n), ``y`` (T, M) with ``M = r(m+n-r)``, certified as in
    :func:`numerics.engine.homotopy.solve_rank_one` (``solutions`` are ``(vec U', vec V)``;
    :func:`delta_of` gives the matrices). An instance with ``m > n`` is solved transposed
    (``<G_i^T, Delta^T> = y_i``: the same real and complex counts, and ``C(M, (n-r) r)`` start
    paths instead of ``C(M, (m-r) r)``); its ``solutions`` then parametrise ``Delta^T``.

    >>> import torch
    >>> solve_rank(torch.zeros(2, 7, 3, 3), torch.zeros(2, 7), 2)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: G must have shape (T, r(m+n-r), m, n) = (T, 8, 3, 3), got (2, 7, 3, 3)
    """
    if not isinstance(G, torch.Tensor) or G.ndim != 4:
        raise InvalidArgument(f"G must be a 4-d tensor (T, M, m, n), got {getattr(G, 'shape', G)!r}")
    T, M, m, n = G.shape
    r = require_rank("r", r, m, n)
    if M != r * (m + n - r):
        raise InvalidArgument(f"G must have shape (T, r(m+n-r), m, n) = (T, {r * (m + n - r)}, {m}, "
                              f"{n}), got {tuple(G.shape)}")
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (T, M):
        raise InvalidArgument(f"y must have shape (T, M) = ({T}, {M}), got {tuple(getattr(y, 'shape', ()))}")
    dev = torch.device(device) if device is not None else G.device
    if m > n:
        G, m, n = G.transpose(-1, -2), n, m
    degree = determinantal_degree(m, n, r)
    (Gs, ys), zs = start_solutions_rank(m, n, r, start_seed, device=dev)
    A0 = bilinear_coefficients(Gs[None].to(dev), ys[None].to(dev), r).expand(T, -1, -1, -1)
    A1 = bilinear_coefficients(G.to(dev, torch.complex128), y.to(dev, torch.complex128), r)
    Gp0, Lp0, zero = _family(A0)
    Gp1, Lp1, _ = _family(A1)
    z0 = zs.to(dev)[None].expand(T, -1, -1).contiguous()
    z, done = track(z0, (Gp0.contiguous(), Lp0.contiguous(), zero), (Gp1, Lp1, zero))
    z = _refine(z, Gp1, Lp1)
    beta, gamma, alpha = _alpha(z, Gp1, Lp1)
    return certify(degree, z, done, beta, gamma, alpha)


def e0_rank_on_e1_instances(m: int, n: int, r: int, trial_indices, *, global_seed: int = 0,
                            device="cpu", start_seed: int = 0) -> HomotopyResult:
    """E0 at rank ``r`` on the very instances E1 sees in the cell ``(m, n, r, r(m+n-r))``
    (Gaussian features; seeds :func:`numerics.engine.capacity.instance_seed`, draws
    :func:`numerics.engine.instances.sample_instances` in float64 on the CPU).

    >>> res = e0_rank_on_e1_instances(3, 3, 2, [0, 1])
    >>> res.degree, res.exists.tolist()
    (3, [True, True])
    """
    from .capacity import instance_seed
    from .instances import sample_instances

    m, n = require_positive_int("m", m), require_positive_int("n", n)
    r = require_rank("r", r, m, n)
    M = r * (m + n - r)
    seeds = [instance_seed(global_seed, "gaussian", m, n, M, None, int(t)) for t in trial_indices]
    op, y = sample_instances(seeds, m, n, M, device="cpu", dtype=torch.float64)
    return solve_rank(op.dense(), y, r, start_seed=start_seed, device=device)
