"""Estimand E0 at r = 1 (issue 16): all complex solutions of ``<G_i, Delta> = y_i``,
``rank Delta <= 1``, ``M = m + n - 1`` (rho = 1), by batched homotopy continuation in torch
complex128, and a per-instance decision "a real solution exists", numerically certified.

Formulation. ``Delta = u v^T`` with ``u_1 = 1`` (a real rank-1 matrix with ``Delta[0] != 0``
has such a real factorisation; generic instances have no solution with ``Delta[0] = 0``).
Unknowns ``z = (u_2..u_m, v_1..v_n)``, ``M = m + n - 1`` of them; equations
``f_i(z) = u^T G_i v - y_i``, bilinear. The number of solutions of a generic instance is
``determinantal_degree(m, n, 1) = C(m+n-2, m-1)`` (:mod:`proofs.exact_existence`).

Two homotopies, one path tracker (:func:`track`):

1. **Start solutions, once per (m, n)**: a random complex instance ``p*`` is solved from the
   linear-product start system ``g_i = (a_i . (1, u') ) (c_i . v - 1)`` (``C(m+n-1, m-1)``
   solutions, each two linear solves) by ``H = (1 - t) gamma g + t f_{p*}`` (gamma trick);
   the ``C(m+n-2, m-2)`` paths that diverge are dropped, the finite endpoints are refined,
   alpha-tested and deduplicated, and their number must equal the degree (where a path failed
   or jumped, monodromy loops complete the set:
   :func:`numerics.engine.homotopy_rank.monodromy_complete`).
2. **Parameter homotopy to every instance**: ``p(t) = (1 - t) p* + t p`` for the real
   instance ``p = (G, y)``; with ``p*`` random complex the segment misses the discriminant
   with probability 1, so all ``degree`` paths stay regular and end at the ``degree``
   solutions of ``p``.

Tracking: an RK4 predictor on ``dz/dt = -J^{-1} dH/dt`` and a Newton corrector (at most
:data:`CORRECTOR_STEPS` steps, required to contract), per-path adaptive step sizes (halved
on a failed correction, grown by 1.5 after two successes), all instances and paths in one
batch (``(T, P, M)`` tensors).

Certification of an instance: :mod:`numerics.engine.homotopy_certify` (shared by every rank).
For each endpoint ``x`` (after Newton refinement on the target), ``beta = ||J(x)^{-1} f(x)||``,
``gamma`` bounded from the constant second derivative of the bilinear system,
``alpha = beta * gamma``; ``x`` passes if ``alpha < ALPHA_0 = (13 - 3 sqrt 17) / 4`` (then it
is an approximate zero and its zero lies within ``2 beta``: Smale 1986 / Blum-Cucker-Shub-Smale,
ch. 8), re-expressed in a better-conditioned chart where it fails in the tracking chart. The
instance is certified iff ``degree`` endpoints pass, are pairwise distinct as matrices, and
each is classified *real* (``alpha < 0.03`` and ``||x - conj(x)|| < 1 / (20 gamma)``:
Hauenstein-Sottile, alphaCertified, ACM TOMS 2012, section 2) or *non-real* (``||Im x|| > 2
beta``). An uncertified instance is tracked again from another start instance and decided from
the union of its endpoints (``retries``). The arithmetic is float64 (not interval), so this is
a numerical certificate, not a proof. Uncertified instances are reported as such, never counted.

Device: tracking runs where ``device`` says (CPU or CUDA; the start system is tracked on the same
device, once per (m, n, seed, device) in a process, and kept on the CPU).

Examples
--------
>>> import torch
>>> G = torch.randn(4, 3, 2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
>>> y = torch.randn(4, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
>>> res = solve_rank_one(G, y)
>>> res.degree, res.certified.tolist(), bool((res.real_count <= 2).all())
(2, [True, True, True, True], True)
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import torch

from proofs.exact_existence import determinantal_degree
from proofs.validation import (InvalidArgument, MethodFailure, require_nonneg_int,
                               require_positive_int)

from .homotopy_track import (ALPHA_0, LAST_TRACK, HomotopyResult, unpack_uv,
                             dedupe_points, random_complex, solve_or_nan, track)

__all__ = ["ALPHA_0", "HomotopyResult", "solve_rank_one", "start_solutions", "track", "e0_on_e1_instances",
           "alpha_test", "residual", "dedupe_points", "random_complex", "solve_or_nan", "LAST_TRACK"]

def residual(z, G, y):
    """``f_i(z) = u^T G_i v - y_i``: ``z`` (T, P, M), ``G`` (T, M, m, n), ``y`` (T, M).

    >>> import torch
    >>> G = torch.zeros(1, 2, 2, 1, dtype=torch.complex128); G[0, 0, 0, 0] = 1; G[0, 1, 1, 0] = 1
    >>> z = torch.tensor([[[2.0, 3.0]]], dtype=torch.complex128)   # u = (1, 2), v = (3,)
    >>> residual(z, G, torch.zeros(1, 2, dtype=torch.complex128)).real.tolist()
    [[[3.0, 6.0]]]
    """
    m = G.shape[-2]
    u, v = unpack_uv(z, m)
    return torch.einsum("tpa,tiab,tpb->tpi", u, G, v) - y[:, None, :]


def _jacobian(z, G):
    """``df/dz`` (T, P, M, M): columns ``(G_i v)[1:]`` for ``u'``, ``u^T G_i`` for ``v``."""
    m = G.shape[-2]
    u, v = unpack_uv(z, m)
    du = torch.einsum("tiab,tpb->tpia", G, v)[..., 1:]
    dv = torch.einsum("tpa,tiab->tpib", u, G)
    return torch.cat([du, dv], dim=-1)


def _newton_step(z, G, y):
    return solve_or_nan(_jacobian(z, G), residual(z, G, y))


def _gamma_bound(z, G):
    """Upper bound on Smale's gamma for the bilinear system: ||J^-1|| sqrt(sum ||G_i||^2)."""
    J = _jacobian(z, G)
    smin = torch.linalg.svdvals(J)[..., -1]
    gnorm = torch.linalg.matrix_norm(G, ord=2).pow(2).sum(-1).sqrt()   # (T,)
    return gnorm[:, None] / smin


def alpha_test(z, G, y):
    """``(beta, gamma, alpha)`` per endpoint (T, P) for the bilinear system ``(G, y)``.

    >>> import torch
    >>> G = torch.randn(1, 3, 2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> res = solve_rank_one(G, torch.ones(1, 3, dtype=torch.float64))
    >>> beta, gamma, alpha = alpha_test(res.solutions, G.to(torch.complex128), torch.ones(1, 3, dtype=torch.complex128))
    >>> bool((alpha < ALPHA_0).all())
    True
    """
    beta = _newton_step(z, G, y).abs().pow(2).sum(-1).sqrt()
    gamma = _gamma_bound(z, G)
    return beta, gamma, beta * gamma


def _refine(z, G, y, steps=3):
    for _ in range(steps):
        z = z - _newton_step(z, G, y)
    return z


@lru_cache(maxsize=32)
def _start(m: int, n: int, seed: int, device: str = "cpu"):
    """The start instance and its certified solutions (CPU tensors); the start system's paths
    are tracked and certified on ``device`` (the 6435 paths of 8x8 take minutes on one CPU
    core)."""
    M = m + n - 1
    degree = determinantal_degree(m, n, 1)
    G1 = random_complex((1, M, m, n), seed, "cpu")
    y1 = random_complex((1, M), seed + 1, "cpu")
    # Linear-product start system g_i = (a_i . u)(c_i . v - 1), u = (1, u').
    a = random_complex((M, m), seed + 2, "cpu")
    c = random_complex((M, n), seed + 3, "cpu")
    starts = []
    for rows in itertools.combinations(range(M), m - 1):
        rest = [i for i in range(M) if i not in rows]
        # a_i . (1, u') = 0 for i in rows: A' u' = -a_i0
        up = torch.linalg.solve(a[list(rows), 1:], -a[list(rows), 0]) if m > 1 else \
            torch.zeros(0, dtype=torch.complex128)
        v = torch.linalg.solve(c[rest], torch.ones(len(rest), dtype=torch.complex128))
        starts.append(torch.cat([up, v]))
    z0 = torch.stack(starts)[None]
    # g_i = (a_i . u)(c_i . v - 1) = u^T (a_i c_i^T) v - a_i . u: the family
    # f_i = u^T G_i v - L_i . u - y_i at (G, L, y) = gamma (a c^T, a, 0); gamma trick.
    gamma = complex(random_complex((1,), seed + 4, "cpu")[0])
    G0, L0 = gamma * torch.einsum("ia,ib->iab", a, c)[None], gamma * a[None]
    dev = torch.device(device)
    G1d, y1d = G1.to(dev), y1.to(dev)
    z, done = track(z0.to(dev), (G0.to(dev), L0.to(dev), torch.zeros(1, M, dtype=torch.complex128,
                                                                       device=dev)),
                    (G1d, torch.zeros_like(L0, device=dev), y1d))
    fin = z[0][done[0]]
    fin = _refine(fin[None], G1d, y1d)
    beta, gam, alpha = alpha_test(fin, G1d, y1d)
    keep = alpha[0] < ALPHA_0
    fin, beta = fin[0][keep], beta[0][keep]
    unique = dedupe_points(fin, beta).cpu()
    if unique.shape[0] < degree:
        # a path of the start system failed or jumped: complete by monodromy loops
        from .homotopy_rank import monodromy_complete

        unique, _ = monodromy_complete(G1, y1, unique, 1, degree, seed, device)
    if unique.shape[0] != degree:
        raise MethodFailure(f"start system of {m}x{n}: {unique.shape[0]} certified distinct "
                           f"solutions, expected the degree {degree} (seed {seed})")
    return G1[0], y1[0], unique


def start_solutions(m: int, n: int, seed: int = 0, device="cpu"):
    """``((G*, y*), z*)``: a random complex instance of the ``m x n`` rank-1 problem and its
    ``degree`` solutions, found once by the linear-product homotopy, alpha-tested and
    deduplicated on ``device`` (cached per ``(m, n, seed, device)``; raises ``RuntimeError`` if the count is not
    the degree).

    >>> (G, y), z = start_solutions(3, 3)
    >>> tuple(G.shape), tuple(z.shape)
    ((5, 3, 3), (6, 5))
    """
    m, n = require_positive_int("m", m), require_positive_int("n", n)
    seed = require_nonneg_int("seed", seed)
    dev = torch.device(device)
    G, y, z = _start(m, n, seed, str(dev))
    return (G, y), z


def solve_rank_one(G, y, *, start_seed: int = 0, device=None, retries: int = 1) -> HomotopyResult:
    """All complex solutions of ``u^T G_i v = y_i`` (``u_1 = 1``) for a batch of real
    instances ``G`` (T, M, m, n), ``y`` (T, M) with ``M = m + n - 1``, and whether a real one
    exists (certified as in the module docstring).

    Parameters
    ----------
    G, y : torch.Tensor
        Real (float64) or complex instances.
    start_seed : int
        Seed of the random complex start instance.
    retries : int
        Further trackings of an uncertified instance, from the start instances of
        ``start_seed + 1``, ... (:func:`numerics.engine.homotopy_certify.solve_certified`).
    device : str or torch.device, optional
        Where to track (default: ``G``'s device); results come back on it.

    Raises
    ------
    InvalidArgument
        If the shapes are not ``(T, m + n - 1, m, n)`` and ``(T, m + n - 1)``.

    Examples
    --------
    >>> import torch
    >>> G = torch.randn(3, 4, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    >>> y = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    >>> res = solve_rank_one(G, y)
    >>> res.degree, res.certified.tolist(), res.exists.tolist()   # degree 3 is odd
    (3, [True, True, True], [True, True, True])
    >>> solve_rank_one(G[:, :3], y)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: G must have shape (T, m + n - 1, m, n) = (T, 4, 2, 3), got (3, 3, 2, 3)
    """
    if not isinstance(G, torch.Tensor) or G.ndim != 4:
        raise InvalidArgument(f"G must be a 4-d tensor (T, M, m, n), got {getattr(G, 'shape', G)!r}")
    T, M, m, n = G.shape
    if M != m + n - 1:
        raise InvalidArgument(f"G must have shape (T, m + n - 1, m, n) = (T, {m + n - 1}, {m}, {n}), "
                              f"got {tuple(G.shape)}")
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (T, M):
        raise InvalidArgument(f"y must have shape (T, M) = ({T}, {M}), got {tuple(getattr(y, 'shape', ()))}")
    dev = torch.device(device) if device is not None else G.device
    retries = require_nonneg_int("retries", retries)
    degree = determinantal_degree(m, n, 1)
    Gc = G.to(dev, torch.complex128)
    yc = y.to(dev, torch.complex128)
    L = torch.zeros(1, M, m, dtype=torch.complex128, device=dev)

    def track_once(rows, seed):
        (Gs, ys), zs = start_solutions(m, n, seed, device=dev)
        z0 = zs.to(dev)[None].expand(rows.numel(), -1, -1).contiguous()
        z, done = track(z0, (Gs.to(dev)[None], L, ys.to(dev)[None]), (Gc[rows], L, yc[rows]))
        return _refine(z, Gc[rows], yc[rows]), done

    from .homotopy_certify import solve_certified

    return solve_certified(track_once, Gc, yc, 1, degree, start_seed=start_seed, retries=retries)


def e0_on_e1_instances(m: int, n: int, trial_indices, *, global_seed: int = 0, device="cpu",
                       start_seed: int = 0, retries: int = 1) -> HomotopyResult:
    """E0 on the very instances E1 sees in the cell ``(m, n, 1, m + n - 1)`` (Gaussian
    features): the seeds are :func:`numerics.engine.capacity.instance_seed`, the draws
    :func:`numerics.engine.instances.sample_instances` (float64, drawn on the CPU).

    >>> res = e0_on_e1_instances(2, 3, [0, 1, 2])
    >>> res.certified.tolist(), res.exists.tolist()
    ([True, True, True], [True, True, True])
    """
    from .capacity import instance_seed
    from .instances import sample_instances

    m, n = require_positive_int("m", m), require_positive_int("n", n)
    M = m + n - 1
    seeds = [instance_seed(global_seed, "gaussian", m, n, M, None, int(t)) for t in trial_indices]
    op, y = sample_instances(seeds, m, n, M, device="cpu", dtype=torch.float64)
    return solve_rank_one(op.dense(), y, start_seed=start_seed, device=device, retries=retries)
