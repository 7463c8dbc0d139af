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

import math
import os
from functools import lru_cache
from pathlib import Path

import torch

from proofs.exact_existence import determinantal_degree
from proofs.validation import (InvalidArgument, MethodFailure, require_nonneg_int,
                               require_positive_int, require_rank)

from .homotopy_track import (ALPHA_0, HomotopyResult, dedupe_points, merge_distinct,
                             random_complex, solve_or_nan, track)
from .homotopy_certify import bilinear_coefficients, delta_of, factors_of, rechart, solve_certified

#: Start paths tracked at once.
START_CHUNK = 20_000

__all__ = ["bilinear_coefficients", "solve_rank", "start_solutions_rank", "delta_of",
           "start_paths", "e0_rank_on_e1_instances", "tracking_chart", "to_identity_chart",
           "continue_in_better_charts", "TRACKING_CHARTS"]


def start_paths(m: int, n: int, r: int) -> int:
    """Paths of the linear-product start system of :func:`solve_rank` (after transposing to
    ``m <= n``): ``C(r(m+n-r), (min(m,n)-r) r)``.

    >>> start_paths(3, 3, 2), start_paths(4, 3, 2), start_paths(5, 5, 3)
    (28, 45, 54264)
    """
    m, n = min(m, n), max(m, n)
    return math.comb(r * (m + n - r), (m - r) * r)


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


#: Monodromy loops tracked at once (one round).
LOOPS_PER_ROUND = 8
#: Rounds without a new solution before the start solve gives up.
STALL_ROUNDS = 4
#: Most monodromy loops of one start solve.
MAX_LOOPS = 400


def _params(seed: int, M: int, m: int, n: int):
    """A random complex instance ``(G, y)`` of the family, from a CPU generator."""
    return random_complex((1, M, m, n), seed, "cpu"), random_complex((1, M), seed + 1, "cpu")


def monodromy_complete(G1, y1, known, r: int, degree: int, seed: int, device):
    """Known solutions ``known`` (K, M) of the complex instance ``(G1, y1)`` ((1, M, m, n),
    (1, M)) of the rank-``r`` family (coordinates ``(vec U', vec V)``), completed by monodromy
    loops (:func:`_start`) until they number ``degree`` or the loops stall; returns the
    alpha-certified, distinct solutions found (CPU), possibly fewer than ``degree``, and the
    number of loops used.

    The loops are fixed once drawn (groups of :data:`LOOPS_PER_ROUND` triangles
    ``p* -> p1 -> p2 -> p*``), and each known solution is tracked along each loop of a group
    once: a round tracks only the solutions found since the group's last round (the image of a
    solution under a fixed loop does not change). When every group has tracked every known
    solution and the count is short, a fresh group is drawn; :data:`STALL_ROUNDS` fresh groups
    in a row without a new solution, or :data:`MAX_LOOPS` loops, end the search. The work is
    about ``3 * degree`` paths per loop drawn, instead of one full triangle per known solution
    per loop per round."""
    m, n = G1.shape[-2:]
    M = G1.shape[1]
    dev = torch.device(device)
    fam = lambda G, y: tuple(t.to(dev) for t in _family(bilinear_coefficients(G, y, r)))
    star = fam(G1, y1)
    Gp1, Lp1, _ = star
    known = known.to(dev)
    kbeta = _alpha(known[None], Gp1, Lp1)[0][0]
    cat = lambda ps: tuple(torch.cat(t) for t in zip(*ps))
    base = 1_000_003 * (seed + 1)
    groups = []                      # [loops a, loops b, solutions already tracked along them]
    stall = loops = 0
    while known.shape[0] < degree and loops < MAX_LOOPS:
        K = known.shape[0]
        pending = [g for g in groups if g[2] < K]
        if not pending:
            if stall >= STALL_ROUNDS:
                break
            L = LOOPS_PER_ROUND
            pa = cat([fam(*_params(base + 4 * (loops + j), M, m, n)) for j in range(L)])
            pb = cat([fam(*_params(base + 2 + 4 * (loops + j), M, m, n)) for j in range(L)])
            groups.append([pa, pb, 0])
            loops += L
            stall += 1
            continue
        for g in pending:
            pa, pb, done_k = g
            L = pa[0].shape[0]
            z = known[done_k:K][None].expand(L, -1, -1).contiguous()
            ok = torch.ones(z.shape[:2], dtype=torch.bool, device=dev)
            for src, dst in ((star, pa), (pa, pb), (pb, star)):
                z, done = track(z, src, dst)
                ok &= done
                z = torch.where(ok[..., None], z, torch.zeros_like(z))   # failed paths stay put
            g[2] = K
            fin = _refine(z[ok][None], Gp1, Lp1)
            beta, _, alpha = _alpha(fin, Gp1, Lp1)
            good = alpha[0] < ALPHA_0
            before = known.shape[0]
            known, kbeta = merge_distinct(known, kbeta, fin[0][good], beta[0][good])
            if known.shape[0] > before:
                stall = 0
    beta, _, alpha = _alpha(known[None], Gp1, Lp1)
    good = alpha[0] < ALPHA_0
    return dedupe_points(known[good], beta[0][good]).cpu(), loops


#: Environment variable naming a folder where start solutions are kept between processes.
START_CACHE_ENV = "LORANK_START_CACHE"


def _start_cache_file(m: int, n: int, r: int, seed: int):
    folder = os.environ.get(START_CACHE_ENV)
    return Path(folder) / f"rank-start-{m}x{n}-r{r}-seed{seed}.pt" if folder else None


def _cached_start(m: int, n: int, r: int, seed: int, degree: int, Gp1, Lp1):
    """The start solutions kept in ``$LORANK_START_CACHE`` for ``(m, n, r, seed)``, re-certified
    here against ``p*`` (regenerated from the seed, never read from the file): refined by
    Newton, every point alpha-certified, and ``degree`` of them distinct. A missing, unreadable
    or failing file is ignored (the caller solves anew), so a cache can make a start faster but
    never different in kind: a set of ``degree`` certified distinct solutions is the whole
    solution set of ``p*`` whatever produced it."""
    path = _start_cache_file(m, n, r, seed)
    if path is None or not path.is_file():
        return None
    try:
        z = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:                   # unreadable: solve anew
        return None
    M = Gp1.shape[1]
    if not isinstance(z, torch.Tensor) or z.dtype != torch.complex128 or tuple(z.shape) != (degree, M):
        return None
    z = _refine(z.to(Gp1.device)[None], Gp1, Lp1)
    beta, _, alpha = _alpha(z, Gp1, Lp1)
    if not bool((alpha[0] < ALPHA_0).all()):
        return None
    unique = dedupe_points(z[0], beta[0])
    return unique.cpu() if unique.shape[0] == degree else None


def _store_start(m: int, n: int, r: int, seed: int, z) -> None:
    """Keep ``z`` in ``$LORANK_START_CACHE`` (atomically: a temporary file, then a rename)."""
    path = _start_cache_file(m, n, r, seed)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(z.cpu().contiguous(), tmp)
    os.replace(tmp, path)


@lru_cache(maxsize=32)
def _start(m: int, n: int, r: int, seed: int, device: str):
    """Monodromy solve of a random complex instance ``p*`` (HomotopyContinuation.jl's
    ``monodromy_solve``, Duff et al., "Solving polynomial systems via homotopy continuation
    and monodromy", IMA J. Numer. Anal. 2019): a random complex point ``z0`` and random ``G*``
    fix ``y*`` so that ``z0`` solves ``p*``; each loop tracks every known solution along the
    triangle ``p* -> p1 -> p2 -> p*`` through two random complex instances and adds the
    endpoints that are alpha-certified and distinct from the known ones
    (:func:`monodromy_complete`); it stops when the known solutions number the degree (the
    count that the linear-product start system of :func:`start_paths` paths would have to
    reach); ``MethodFailure`` otherwise. Where ``$LORANK_START_CACHE`` names a folder, a
    solved start is kept there and re-certified when read (:func:`_cached_start`)."""
    M = r * (m + n - r)
    p, q = (m - r) * r, n * r
    degree = determinantal_degree(m, n, r)
    dev = torch.device(device)
    G1, _ = _params(seed, M, m, n)
    z0 = random_complex((1, 1, p + q), seed + 2, "cpu")
    # y* = f(z0; G*, y = 0), so that f(z0; G*, y*) = 0
    A_no_y = bilinear_coefficients(G1, torch.zeros(1, M, dtype=torch.complex128), r)
    u = torch.cat([torch.ones(1, 1, 1, dtype=torch.complex128), z0[..., :p]], -1)
    w = torch.cat([torch.ones(1, 1, 1, dtype=torch.complex128), z0[..., p:]], -1)
    y1 = torch.einsum("tpa,tiab,tpb->ti", u, A_no_y, w)
    fam = lambda G, y: tuple(t.to(dev) for t in _family(bilinear_coefficients(G, y, r)))
    star = fam(G1, y1)
    Gp1, Lp1, _ = star
    cached = _cached_start(m, n, r, seed, degree, Gp1, Lp1)
    if cached is not None:
        return G1[0], y1[0], cached
    known = _refine(z0.to(dev), Gp1, Lp1)[0]
    unique, loops = monodromy_complete(G1, y1, known, r, degree, seed, dev)
    if unique.shape[0] == degree:
        _store_start(m, n, r, seed, unique)
    if unique.shape[0] != degree:
        raise MethodFailure(f"start system of {m}x{n} r={r}: {unique.shape[0]} certified distinct "
                           f"solutions after {loops} monodromy loops, expected the degree "
                           f"{degree} (seed {seed})")
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


#: Charts a rank-``r`` instance can be tracked in (:func:`solve_rank`).
TRACKING_CHARTS = ("identity", "random")
#: Offset of the seed of a random tracking chart (its start seed added), apart from the seeds
#: of the start instances.
CHART_SEED = 7_000_003


def _require_chart(chart) -> None:
    if chart not in TRACKING_CHARTS:
        raise InvalidArgument(f"chart must be one of {', '.join(TRACKING_CHARTS)}, got {chart!r}")


def tracking_chart(m: int, seed: int, chart: str = "random", device="cpu"):
    """The ``m x m`` unitary ``Q`` of the tracking chart ``Delta = Q [I_r; U'] V^T``: the
    identity (``chart="identity"``), or Haar-random (QR of a complex Gaussian, phases fixed) from
    a CPU generator seeded ``CHART_SEED + seed``.

    >>> Q = tracking_chart(4, 0)
    >>> bool(torch.allclose(Q.conj().T @ Q, torch.eye(4, dtype=Q.dtype)))
    True
    >>> bool((tracking_chart(3, 5, "identity") == torch.eye(3)).all())
    True
    """
    _require_chart(chart)
    if chart == "identity":
        return torch.eye(m, dtype=torch.complex128, device=device)
    Q, R = torch.linalg.qr(random_complex((m, m), CHART_SEED + seed, "cpu"))
    d = R.diagonal()
    return (Q * (d / d.abs())).to(device)


def to_identity_chart(z, Q, m: int, n: int, r: int):
    """The coordinates ``(vec U', vec V)`` in the chart "top ``r`` rows of ``U`` are the
    identity" of the matrices ``Delta = Q [I_r; U'] V^T`` given by ``z`` (..., M) in the chart
    of ``Q``; NaN where the top ``r x r`` block of ``Q [I_r; U']`` is singular.

    >>> g = torch.Generator().manual_seed(1)
    >>> z = torch.randn(2, 8, dtype=torch.complex128, generator=g)      # 3x3, r = 2
    >>> Q = tracking_chart(3, 0)
    >>> zi = to_identity_chart(z, Q, 3, 3, 2)
    >>> bool(torch.allclose(delta_of(zi, 3, 3, 2), Q @ delta_of(z, 3, 3, 2)))
    True
    """
    p = (m - r) * r
    U, V = factors_of(z, m, n, r)
    U = Q @ U
    top = U[..., :r, :]
    Ui, info = torch.linalg.solve_ex(top, U, left=False)            # U top^-1
    Vi = V @ top.transpose(-1, -2)
    zi = torch.cat([Ui[..., r:, :].reshape(*z.shape[:-1], p), Vi.reshape(*z.shape[:-1], n * r)], -1)
    return torch.where((info == 0)[..., None], zi, torch.full_like(zi, float("nan")))


#: Re-charted continuations of a failed path (``chart="random"``).
RESCUE_ROUNDS = 2
#: Path counts of the last tracking of :func:`solve_rank` (paths; failed in the tracking chart;
#: of those, continued to ``t = 1`` in another chart; still failed), for diagnoses.
LAST_TRACKING: dict = {}


def continue_in_better_charts(z, done, t, start, target, m: int, n: int, r: int,
                              rounds: int = RESCUE_ROUNDS):
    """Paths that failed in their chart, continued in a better one: a path ``(z, t)`` that
    stopped before ``t = 1`` (its last accepted point, ``done`` False, finite) is re-expressed
    in the chart of the ``r`` rows of ``U`` of largest volume (:func:`rechart`; a permutation
    ``P`` of the rows, the instance's ``G`` permuted alike), and tracked on along the *same*
    parameter segment, from ``p(t) = (1 - t) p_start + t p_target`` to ``p_target``; its endpoint
    is expressed back in the identity chart of ``z``. At most ``rounds`` times per path.
    ``start`` = ``(G*, y*)`` ((M, m, n), (M,)) and ``target`` = ``(G, y)`` ((T, M, m, n), (T, M))
    as matrices, in the coordinates of ``z`` (T, P, M). Returns ``(z, done, rescued)``, with
    ``rescued`` (T,) the paths of each instance that reached ``t = 1`` this way.

    A failed path's step size collapses where its coordinates grow huge (the top ``r x r``
    block of ``U`` nearly singular: the chart's boundary) or where the path nearly meets
    another; the first is removed by the chart change, the second is not (the path then fails
    again and stays failed). The certificate judges endpoints only, so this changes which
    paths end, never what counts as certified."""
    Gs, ys = start
    G1, y1 = target
    T, P, M = z.shape
    z, done, t = z.clone(), done.clone(), t.clone()
    rescued = torch.zeros(T, dtype=torch.int64, device=z.device)
    for _ in range(rounds):
        bad = (~done & torch.isfinite(z.abs()).all(-1)).nonzero()
        if not bad.shape[0]:
            break
        ti, pi = bad.unbind(-1)
        tf = t[ti, pi].to(z.dtype)
        Gf = (1 - tf)[:, None, None, None] * Gs[None] + tf[:, None, None, None] * G1[ti]
        yf = (1 - tf)[:, None] * ys[None] + tf[:, None] * y1[ti]
        perm, zt = rechart(z[ti, pi], m, n, r)
        rows = perm[:, None, :, None].expand(-1, M, m, n)
        A0 = bilinear_coefficients(torch.gather(Gf, 2, rows), yf, r)
        A1 = bilinear_coefficients(torch.gather(G1[ti], 2, rows), y1[ti], r)
        ze, de, te = track(zt[:, None], _family(A0), _family(A1), return_t=True)
        # back[k][perm[k, j], j] = 1: Delta = back @ Delta~ (Delta~ = Delta with rows perm)
        back = torch.nn.functional.one_hot(perm, m).transpose(-1, -2).to(z.dtype)
        z[ti, pi] = to_identity_chart(ze[:, 0], back, m, n, r)
        ok = de[:, 0] & torch.isfinite(z[ti, pi].abs()).all(-1)
        done[ti, pi] = ok
        t[ti, pi] = torch.where(ok, torch.ones_like(t[ti, pi]), t[ti, pi] + (1 - t[ti, pi]) * te[:, 0])
        rescued.index_add_(0, ti[ok], torch.ones_like(ti[ok]))
    return z, done, rescued


def solve_rank(G, y, r: int, *, start_seed: int = 0, device=None, retries: int = 1,
               chart: str = "identity") -> HomotopyResult:
    """All complex rank-``<= r`` solutions of ``<G_i, Delta> = y_i`` for a batch of instances
    ``G`` (T, M, m, n), ``y`` (T, M) with ``M = r(m+n-r)``, certified as in
    :func:`numerics.engine.homotopy.solve_rank_one` (``solutions`` are ``(vec U', vec V)``;
    :func:`delta_of` gives the matrices). An instance with ``m > n`` is solved transposed
    (``<G_i^T, Delta^T> = y_i``: the same real and complex counts, and ``C(M, (n-r) r)`` start
    paths instead of ``C(M, (m-r) r)``); its ``solutions`` then parametrise ``Delta^T``.

    ``chart``: where the paths are tracked. ``"identity"``: in the chart ``Delta = [I_r; U']
    V^T`` itself (the committed v2 runs). ``"random"``: in ``Delta = Q [I_r; U'] V^T`` with
    ``Q = tracking_chart(m, seed)`` unitary and complex (one per tracking: the instance becomes
    ``<Q^T G_i, [I_r; U'] V^T> = y_i``), and a path that fails there is continued in the chart
    of its largest-volume rows (:func:`continue_in_better_charts`); endpoints are then expressed
    in the identity chart (:func:`to_identity_chart`) and certified exactly as with
    ``"identity"``. A real solution's top ``r x r`` block of ``U`` is nearly singular with
    probability of order ``eps`` (a real hypersurface), so paths ending there are tracked
    through huge coordinates and can fail; in a complex chart that block is nearly singular with
    probability of order ``eps^2`` only, and a path passing near a chart's boundary on the way
    is taken on in another chart (in the committed records, ``results/bench/tracking-chart-*``,
    that continuation does most of the work). The certificate is the same for both: it judges
    endpoints, not paths.

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
    retries = require_nonneg_int("retries", retries)
    _require_chart(chart)
    if m > n:
        G, m, n = G.transpose(-1, -2), n, m
    degree = determinantal_degree(m, n, r)
    Gc, yc = G.to(dev, torch.complex128), y.to(dev, torch.complex128)
    A1 = bilinear_coefficients(Gc, yc, r)
    Gp1, Lp1, zero = _family(A1)

    def track_once(rows, seed):
        (Gs, ys), zs = start_solutions_rank(m, n, r, seed, device=dev)
        A0 = bilinear_coefficients(Gs[None].to(dev), ys[None].to(dev), r)   # shared by all rows
        Gp0, Lp0, zero0 = _family(A0)
        z0 = zs.to(dev)[None].expand(rows.numel(), -1, -1).contiguous()
        if chart == "identity":
            z, done = track(z0, (Gp0.contiguous(), Lp0.contiguous(), zero0),
                            (Gp1[rows], Lp1[rows], zero[rows]))
            failed = int((~done).sum())
            LAST_TRACKING.update(paths=done.numel(), failed=failed, continued=0, failed_after=failed)
        else:
            Q = tracking_chart(m, seed, chart, dev)
            Gt = torch.einsum("ab,tiac->tibc", Q, Gc[rows])
            Gq, Lq, zq = _family(bilinear_coefficients(Gt, yc[rows], r))
            z, done, t = track(z0, (Gp0.contiguous(), Lp0.contiguous(), zero0), (Gq, Lq, zq),
                               return_t=True)
            failed = int((~done).sum())
            z, done, rescued = continue_in_better_charts(z, done, t, (Gs.to(dev), ys.to(dev)),
                                                         (Gt, yc[rows]), m, n, r)
            LAST_TRACKING.update(paths=done.numel(), failed=failed, continued=int(rescued.sum()),
                                 failed_after=int((~done).sum()))
            z = to_identity_chart(z, Q, m, n, r)
        return _refine(z, Gp1[rows], Lp1[rows]), done

    return solve_certified(track_once, Gc, yc, r, degree, start_seed=start_seed, retries=retries)


def e0_rank_on_e1_instances(m: int, n: int, r: int, trial_indices, *, global_seed: int = 0,
                            device="cpu", start_seed: int = 0, retries: int = 1,
                            chart: str = "identity") -> HomotopyResult:
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
    return solve_rank(op.dense(), y, r, start_seed=start_seed, device=device, retries=retries,
                      chart=chart)
