"""The path tracker shared by every E0 homotopy (issue 16): batched predictor-corrector
continuation in torch complex128 for the bilinear family ``f_i = u^T G_i v - L_i . u - y_i``
(``u = (1, x)``), the alpha-test constants, and the per-instance result type. The rank-one
homotopy (:mod:`numerics.engine.homotopy`), the certificate
(:mod:`numerics.engine.homotopy_certify`) and the rank-``r`` homotopy
(:mod:`numerics.engine.homotopy_rank`) build on it.

Examples
--------
>>> import torch
>>> p = torch.tensor([[0j], [1e-12 + 0j], [1 + 0j]], dtype=torch.complex128)
>>> dedupe_points(p, torch.full((3,), 1e-10, dtype=torch.float64)).shape[0]
2
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["ALPHA_0", "ALPHA_REAL", "HomotopyResult", "track", "solve_or_nan", "random_complex", "unpack_uv",
           "dedupe_points", "merge_distinct", "LAST_TRACK"]

#: Smale's constant: alpha < ALPHA_0 makes x an approximate zero.
ALPHA_0 = (13 - 3 * math.sqrt(17)) / 4
#: Real-zero test (Hauenstein-Sottile): alpha below this and ||x - conj x|| < 1/(20 gamma).
ALPHA_REAL = 0.03
CORRECTOR_STEPS = 3
MAX_STEPS = 4000
INITIAL_STEP = 0.02
MIN_STEP = 1e-9
DIVERGED = 1e8
#: Counters of the last :func:`track` call (steps, paths, the sum over steps of the paths still
#: active, and the paths that did not reach ``t = 1``), for timing estimates and diagnoses.
LAST_TRACK: dict = {}


def unpack_uv(z, m):
    """``u = (1, z[:m-1])`` and ``v = z[m-1:]`` (batched over leading dims)."""
    one = torch.ones(z.shape[:-1] + (1,), dtype=z.dtype, device=z.device)
    return torch.cat([one, z[..., :m - 1]], dim=-1), z[..., m - 1:]


def solve_or_nan(J, f):
    """``J^{-1} f`` batched; singular systems give NaN (the path is then failed), not an error."""
    x, info = torch.linalg.solve_ex(J, f.unsqueeze(-1))
    x = x.squeeze(-1)
    return torch.where((info == 0)[..., None], x, torch.full_like(x, float("nan")))


def random_complex(shape, seed, device):
    """Standard complex Gaussian entries (real and imaginary parts N(0, 1/2)) from a CPU
    generator seeded ``seed``, moved to ``device``."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    re = torch.randn(*shape, generator=g, dtype=torch.float64)
    im = torch.randn(*shape, generator=g, dtype=torch.float64)
    return torch.complex(re, im).to(device) / math.sqrt(2)


def merge_distinct(known, kbeta, cand, cbeta, chunk: int = 2048):
    """``(points, beta)``: the distinct points ``known`` (K, M) followed by those of ``cand``
    (C, M) whose ``2 beta`` balls (plus ``1e-8``) are disjoint from every point kept before
    them, greedily in order: the rule of :func:`dedupe_points` applied to
    ``cat([known, cand])`` when ``known`` is itself distinct, computed chunk by chunk (memory ``O(chunk (K + C))`` instead of
    ``O((K + C)^2)``, and one host synchronisation per chunk instead of one per point).

    >>> import torch
    >>> k = torch.tensor([[0j]], dtype=torch.complex128)
    >>> c = torch.tensor([[1e-12 + 0j], [1 + 0j], [1 + 1e-12j]], dtype=torch.complex128)
    >>> b = lambda n: torch.full((n,), 1e-10, dtype=torch.float64)
    >>> merge_distinct(k, b(1), c, b(3))[0].tolist()
    [[0j], [(1+0j)]]
    """
    kept, kb = known, kbeta
    for s in range(0, cand.shape[0], chunk):
        c, cb = cand[s:s + chunk], cbeta[s:s + chunk]
        cr = torch.cat([c.real, c.imag], -1)
        if kept.shape[0]:
            kr = torch.cat([kept.real, kept.imag], -1)
            d = torch.cdist(cr, kr, compute_mode="donot_use_mm_for_euclid_dist")
            far = (d > 2 * (cb[:, None] + kb[None, :]) + 1e-8).all(1)
            c, cb, cr = c[far], cb[far], cr[far]
        if not c.shape[0]:
            continue
        dc = torch.cdist(cr, cr, compute_mode="donot_use_mm_for_euclid_dist")
        apart = (dc > 2 * (cb[:, None] + cb[None, :]) + 1e-8).cpu().numpy()
        keep = np.zeros(c.shape[0], dtype=bool)
        for k in range(c.shape[0]):        # greedy within the chunk, in order
            keep[k] = bool(apart[k, keep].all())
        keep_t = torch.from_numpy(keep).to(c.device)
        kept, kb = torch.cat([kept, c[keep_t]]), torch.cat([kb, cb[keep_t]])
    return kept, kb


def dedupe_points(points, beta):
    """Points whose 2-beta balls are disjoint from all earlier kept points (pairwise; greedy in
    order): :func:`merge_distinct` from an empty set.

    >>> import torch
    >>> p = torch.tensor([[0j], [1e-12 + 0j], [1 + 0j]], dtype=torch.complex128)
    >>> dedupe_points(p, torch.full((3,), 1e-10, dtype=torch.float64)).shape[0]
    2
    """
    return merge_distinct(points[:0], beta[:0], points, beta)[0]


class _Coefficients:
    """One coefficient tensor ``C`` (Tc, M, a, b) of the family, contracted with the active paths'
    ``u`` (Na, a) and ``v`` (Na, b) without copying ``C`` once per path.

    - ``Tc == 1`` (shared by every instance: the start instance of a parameter homotopy, or a
      start system): one matrix product over all active paths.
    - ``Tc == T``: the active paths are scattered into an instance-major ``(U, P, .)`` buffer
      (``U`` instances with an active path), contracted by one batched product per instance, and
      gathered back; or, when few paths of those instances are active, ``C`` is gathered per
      path (whichever moves fewer bytes).

    Each path's result is its own sum of products (another batch changes at most the rounding
    order of a matrix product).
    """

    def __init__(self, C):
        self.C = C
        self.Tc, self.M, self.a, self.b = C.shape
        if self.Tc == 1:
            self.for_v = C[0].reshape(self.M * self.a, self.b).T.contiguous()
            self.for_u = C[0].permute(1, 0, 2).reshape(self.a, self.M * self.b).contiguous()

    def prepare(self, inst, slot, P):
        """Per step: ``inst``/``slot`` (Na,) instance and path slot of each active path."""
        self.per_path = None
        if self.Tc == 1:
            return
        uniq, inv = torch.unique_consecutive(inst, return_inverse=True)
        U, Na = uniq.numel(), inst.numel()
        if U * P * (self.a + self.b) <= Na * self.a * self.b:
            self.uniq, self.inv, self.slot, self.P = uniq, inv, slot, P
            Cu = self.C[uniq]
            self.for_v = Cu.reshape(U, self.M * self.a, self.b)
            self.for_u = Cu.permute(0, 2, 1, 3).reshape(U, self.a, self.M * self.b)
        else:
            self.per_path = self.C[inst]

    def gv(self, v):
        """``C_i v`` (Na, M, a)."""
        if self.Tc == 1:
            return (v @ self.for_v).reshape(-1, self.M, self.a)
        if self.per_path is not None:
            return torch.einsum("piab,pb->pia", self.per_path, v)
        buf = v.new_zeros(self.uniq.numel(), self.P, self.b)
        buf[self.inv, self.slot] = v
        full = torch.matmul(self.for_v, buf.transpose(1, 2))
        return full.reshape(-1, self.M, self.a, self.P)[self.inv, :, :, self.slot]

    def ug(self, u):
        """``u^T C_i`` (Na, M, b)."""
        if self.Tc == 1:
            return (u @ self.for_u).reshape(-1, self.M, self.b)
        if self.per_path is not None:
            return torch.einsum("pa,piab->pib", u, self.per_path)
        buf = u.new_zeros(self.uniq.numel(), self.P, self.a)
        buf[self.inv, self.slot] = u
        full = torch.matmul(buf, self.for_u)
        return full.reshape(-1, self.P, self.M, self.b)[self.inv, self.slot]

    def ugv(self, u, v):
        """``u^T C_i v`` (Na, M)."""
        return torch.einsum("pia,pa->pi", self.gv(v), u)


def track(z0, p0, p1, *, max_steps: int = MAX_STEPS, tol: float = 1e-10, return_t: bool = False):
    """Track ``z`` from ``t = 0`` to ``t = 1`` along ``H(z, t) = f(z; (1 - t) p0 + t p1)`` for
    the family ``f_i = u^T G_i v - L_i . u - y_i``, ``p = (G, L, y)`` with ``G`` (T, M, m, n),
    ``L`` (T, M, m), ``y`` (T, M), complex128 (a leading dimension of 1 is shared by all ``T``
    instances and is never copied per path); ``z0`` (T, P, M) solutions of ``p0``.

    Returns ``(z, done)``: endpoints and a (T, P) mask of the paths that reached ``t = 1``
    (the others failed: step below MIN_STEP, |z| beyond DIVERGED, or max_steps); with
    ``return_t``, ``(z, done, t)``, ``t`` (T, P) where each path stopped (a failed path's ``z`` is
    its last accepted point, at that ``t``).

    >>> import torch
    >>> g = torch.Generator().manual_seed(3)
    >>> c = lambda *s: torch.complex(torch.randn(*s, generator=g, dtype=torch.float64),
    ...                              torch.randn(*s, generator=g, dtype=torch.float64))
    >>> G, y, L = c(1, 3, 2, 2), c(1, 3), torch.zeros(1, 3, 2, dtype=torch.complex128)
    >>> from numerics.engine.homotopy import residual, start_solutions
    >>> (G0, y0), z0 = start_solutions(2, 2)
    >>> z, done = track(z0[None], (G0[None], L, y0[None]), (G, L, y))
    >>> bool(done.all()), float(residual(z, G, y).abs().max()) < 1e-8
    (True, True)
    """
    (G0, L0, y0), (G1, L1, y1) = p0, p1
    m = G0.shape[-2]
    dev = z0.device
    T, P, M = z0.shape
    # The parameters are affine in t: G(t) = G0 + t dG, contracted with (u, v) separately
    # instead of materialising G(t); a shared (leading dimension 1) G0 is one matrix product.
    g0, dg = _Coefficients(G0), _Coefficients(G1 - G0)
    L0b, dLb = L0.expand(T, -1, -1), (L1 - L0).expand(T, -1, -1)
    y0b, dyb = y0.expand(T, -1), (y1 - y0).expand(T, -1)
    # Paths are tracked flat (N = T P) and only the active ones are computed at each step
    # (compaction).
    N = T * P
    inst = torch.arange(T, device=dev).repeat_interleave(P)
    slot = torch.arange(P, device=dev).repeat(T)
    z = z0.reshape(N, M).clone()
    t = torch.zeros(N, dtype=torch.float64, device=dev)
    h = torch.full_like(t, INITIAL_STEP)
    streak = torch.zeros(N, dtype=torch.int64, device=dev)
    active = torch.ones(N, dtype=torch.bool, device=dev)
    failed = torch.zeros_like(active)

    def jac_res(zz, tt, l0, dl, y0_, dy_):
        w = tt.to(zz.dtype)[:, None, None]
        u, v = unpack_uv(zz, m)
        Gv = g0.gv(v) + w * dg.gv(v)
        uG = g0.ug(u) + w * dg.ug(u)
        Lt = l0 + w * dl
        J = torch.cat([(Gv - Lt)[..., 1:], uG], dim=-1)
        f = torch.einsum("pia,pa->pi", Gv - Lt, u) - (y0_ + w[:, :, 0] * dy_)
        return J, f

    def velocity(zz, tt, par):
        J, _ = jac_res(zz, tt, *par)
        _, dl, _, dy_ = par
        u, v = unpack_uv(zz, m)
        Ht = dg.ugv(u, v) - torch.einsum("pia,pa->pi", dl, u) - dy_
        return -solve_or_nan(J, Ht)

    def correct(zz, tt, par):
        ok = torch.ones(zz.shape[0], dtype=torch.bool, device=dev)
        last = None
        for _ in range(CORRECTOR_STEPS):
            J, f = jac_res(zz, tt, *par)
            dz = solve_or_nan(J, f)
            zz = zz - dz
            size = dz.abs().pow(2).sum(-1).sqrt() / (1 + zz.abs().pow(2).sum(-1).sqrt())
            if last is not None:
                ok &= (size <= 0.5 * last) | (size < tol)
            last = size
        return zz, ok & (last < 1e-7)

    steps = work = 0
    for _ in range(max_steps):
        idx = active.nonzero().squeeze(1)
        if not idx.numel():
            break
        steps += 1
        work += idx.numel()
        ii = inst[idx]
        g0.prepare(ii, slot[idx], P)
        dg.prepare(ii, slot[idx], P)
        par = (L0b[ii], dLb[ii], y0b[ii], dyb[ii])
        za, ta, ha, sa = z[idx], t[idx], h[idx], streak[idx]
        hh = torch.minimum(ha, 1 - ta)
        hc = hh.to(za.dtype)[:, None]
        k1 = velocity(za, ta, par)
        k2 = velocity(za + 0.5 * hc * k1, ta + 0.5 * hh, par)
        k3 = velocity(za + 0.5 * hc * k2, ta + 0.5 * hh, par)
        k4 = velocity(za + hc * k3, ta + hh, par)
        corr, ok = correct(za + hc / 6 * (k1 + 2 * k2 + 2 * k3 + k4), ta + hh, par)
        ok &= torch.isfinite(corr.abs()).all(-1)
        za = torch.where(ok[:, None], corr, za)
        ta = torch.where(ok, ta + hh, ta)
        sa = torch.where(ok, sa + 1, torch.zeros_like(sa))
        grow = ok & (sa >= 2)
        ha = torch.where(grow, ha * 1.5, ha)
        sa = torch.where(grow, torch.zeros_like(sa), sa)
        ha = torch.where(~ok, ha * 0.5, ha)
        finished = ta >= 1
        big = za.abs().amax(-1) > DIVERGED
        fail = ((ha < MIN_STEP) | big) & ~finished
        z[idx], t[idx], h[idx], streak[idx] = za, ta, ha, sa
        failed[idx] = fail
        active[idx] = ~finished & ~fail
    LAST_TRACK.update(steps=steps, paths=N, active_path_steps=work,
                      failed_paths=int((~((t >= 1) & ~failed)).sum()))
    if return_t:
        return z.reshape(T, P, M), ((t >= 1) & ~failed).reshape(T, P), t.reshape(T, P)
    return z.reshape(T, P, M), ((t >= 1) & ~failed).reshape(T, P)


@dataclass(frozen=True)
class HomotopyResult:
    """Per-instance outcome of :func:`solve_rank_one` (tensors of length T)."""

    degree: int
    solutions: torch.Tensor
    """(T, degree, M) endpoints, complex128."""
    certified: torch.Tensor
    """(T,) bool: all ``degree`` endpoints alpha-certified, distinct, classified."""
    real_count: torch.Tensor
    """(T,) int64: number of certified real solutions (meaningful where certified)."""
    exists: torch.Tensor
    """(T,) bool: certified and ``real_count >= 1``."""
    max_alpha: torch.Tensor
    """(T,) float64: the largest alpha bound over the instance's endpoints."""
    trackings: torch.Tensor | None = None
    """(T,) int64: trackings of the instance (1 + retries used; :mod:`.homotopy_certify`)."""
    recharted: torch.Tensor | None = None
    """(T,) int64: endpoints of the first tracking certified only in a second chart."""
