"""Endpoints of the homotopies decided in high precision (mpmath), where float64 cannot decide
them (issue 16).

The certificates of :mod:`numerics.engine.homotopy_certify` (E0) and
:mod:`numerics.engine.homotopy_critical` (exact-above) evaluate Smale's ``beta = ||J^-1 F||`` in
float64. At a zero with huge coordinates the residual ``F`` is at rounding level and
``beta`` is rounding noise: in the 4x4, r = 2, d = 2 cell two endpoints of (most likely) one
zero, 2.6e-7 apart at ``|z|`` near 4.4e4, had ``2 beta`` radii summing to 2.15e-7, so the
float64 test called them two zeros (``results/bench/exact-above-4x4r2d2-duplicate-zero-cpu.json``).
The float64 tests therefore add a bound on that noise to ``beta`` (:func:`rounding_bound`):
what they then call distinct is distinct, and what they cannot decide is decided here.

:func:`refine_and_test` takes one endpoint to :data:`PRECISE_BITS` bits, Newton-refines it there
and runs the same test in that precision: ``beta`` from the residual at the refined point,
``gamma <= ||J^-1||_F * hnorm`` (the system is quadratic: its second derivative is the constant
bounded by ``hnorm``), Hauenstein-Sottile's realness test. Its ``beta`` is then far below any
distance between distinct zeros of a generic instance, so two endpoints of one zero land within
each other's radius (they round to the same float64 point, give or take an ulp, which the
radius covers) and endpoints of two zeros do not.

The systems, for one instance with coefficients ``A`` (M, 1+p, 1+q) and unknowns ``x`` (p),
``w`` (q): ``f_i = (1, x)^T A_i (1, w)`` (E0's square system, ``M = p + q``), and with
multipliers ``lam`` (M) and a point ``theta0`` (p + q) the Lagrange system ``E_x = x - theta0_x
- sum_i lam_i df_i/dx``, ``E_w`` alike, ``f`` (:func:`numerics.engine.homotopy_critical.lagrange`).

>>> import torch
>>> A = torch.zeros(1, 2, 2, 2, dtype=torch.complex128)   # f1 = x w - 2, f2 = x - w + 1
>>> A[0, 0, 0, 0], A[0, 0, 1, 1] = -2.0, 1.0
>>> A[0, 1, 0, 0], A[0, 1, 1, 0], A[0, 1, 0, 1] = 1.0, 1.0, -1.0
>>> t = refine_and_test(torch.tensor([[1.001 + 1e-9j, 1.998 + 0j]]), A, None, 0.5)
>>> t.ok, t.real, [round(c.real, 12) for c in t.z.tolist()], t.beta < 1e-60
(True, True, [1.0, 2.0], True)
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import torch

from .homotopy_track import ALPHA_0, ALPHA_REAL

__all__ = ["PRECISE_BITS", "PreciseTest", "refine_and_test", "rounding_bound", "UNIT_ROUNDOFF"]

#: Working precision of :func:`refine_and_test`, in bits.
PRECISE_BITS = 256
#: Newton steps at most in that precision (each at least doubles the correct digits of an
#: approximate zero; float64 gives about 50 bits to start from).
PRECISE_NEWTON = 10
#: float64 unit roundoff.
UNIT_ROUNDOFF = 2.0 ** -53


def rounding_bound(smin, f_abs, j_abs, j_norm, beta, terms: int, size: int,
                   unit=UNIT_ROUNDOFF):
    """A bound on the float64 rounding error of ``beta = ||J^-1 F||``, per endpoint (tensors):
    ``||J^-1|| (e_F + (e_J + e_solve) beta)`` with ``e_F = c k u ||F_abs||`` (each component of
    ``F`` a sum of at most ``k = terms`` products, ``F_abs`` the same sums of absolute values,
    ``u`` the unit roundoff), ``e_J = c k u ||J_abs||_F`` and ``e_solve = c N u ||J||_F`` (LU with
    partial pivoting, ``N = size``), ``c = 8`` covering complex products, sums and a pivot growth of a
    few. ``smin`` is the least singular value of ``J`` (``||J^-1||_2 = 1 / smin``), or a lower
    bound of it; ``unit`` is the unit roundoff of the arithmetic (float64's by default).

    >>> import torch
    >>> one = torch.ones(1, dtype=torch.float64)
    >>> b = rounding_bound(one, 1e6 * one, one, one, 0 * one, terms=10, size=5)
    >>> bool(8 * 10 * 2**-53 * 1e6 <= b[0] < 1e-8)
    True
    """
    c = 8 * unit
    return (c * terms * f_abs + (c * terms * j_abs + c * size * j_norm) * beta) / smin


@dataclass(frozen=True)
class PreciseTest:
    """The test of one endpoint in :data:`PRECISE_BITS` bits (floats rounded from it)."""

    ok: bool
    """an approximate zero (``alpha < ALPHA_0``) classified real or non-real."""
    real: bool
    z: torch.Tensor
    """the refined point rounded to complex128."""
    beta: float
    gamma: float
    alpha: float
    radius: float
    """``2 beta`` plus the rounding of ``z`` to complex128: the zero lies within it of ``z``."""
    same: float
    """``1 / (20 gamma)`` where ``alpha < ALPHA_REAL``, else 0 (the uniqueness radius)."""


def _system(A, th0, z, p: int, q: int):
    """``(F, J)`` (mpmath lists) of one instance at ``z`` (list of mpc); ``th0`` None: E0's
    ``f`` alone."""
    M = len(A)
    x, w = z[:p], z[p:p + q]
    u, wv = [mpmath.mpc(1)] + x, [mpmath.mpc(1)] + w
    Aw = [[mpmath.fsum(A[i][a][b] * wv[b] for b in range(q + 1)) for a in range(p + 1)]
          for i in range(M)]
    uA = [[mpmath.fsum(u[a] * A[i][a][b] for a in range(p + 1)) for b in range(q + 1)]
          for i in range(M)]
    f = [mpmath.fsum(Aw[i][a] * u[a] for a in range(p + 1)) for i in range(M)]
    if th0 is None:
        F = f
        J = [[Aw[i][1 + a] for a in range(p)] + [uA[i][1 + b] for b in range(q)] for i in range(M)]
        return F, J
    lam = z[p + q:]
    Ex = [x[a] - th0[a] - mpmath.fsum(lam[i] * Aw[i][1 + a] for i in range(M)) for a in range(p)]
    Ew = [w[b] - th0[p + b] - mpmath.fsum(lam[i] * uA[i][1 + b] for i in range(M)) for b in range(q)]
    Lam = [[mpmath.fsum(lam[i] * A[i][1 + a][1 + b] for i in range(M)) for b in range(q)]
           for a in range(p)]
    zero, one = mpmath.mpc(0), mpmath.mpc(1)
    J = []
    for a in range(p):
        J.append([one if c == a else zero for c in range(p)] + [-Lam[a][b] for b in range(q)]
                 + [-Aw[i][1 + a] for i in range(M)])
    for b in range(q):
        J.append([-Lam[a][b] for a in range(p)] + [one if c == b else zero for c in range(q)]
                 + [-uA[i][1 + b] for i in range(M)])
    for i in range(M):
        J.append([Aw[i][1 + a] for a in range(p)] + [uA[i][1 + b] for b in range(q)]
                 + [zero] * M)
    return Ex + Ew + f, J


def _norm(v) -> mpmath.mpf:
    return mpmath.sqrt(mpmath.fsum(abs(c) ** 2 for c in v))


def refine_and_test(z, A, th0, hnorm: float) -> PreciseTest:
    """Newton-refine the endpoint ``z`` (1, K) complex128 of the instance ``A`` (1, M, 1+p,
    1+q) (``th0`` (1, p+q) for the Lagrange system, None for E0's) in :data:`PRECISE_BITS`
    bits and test it there (module docstring); ``hnorm`` bounds the system's constant second
    derivative, ``sqrt(sum_k ||H_k / 2||_2^2)``. A point where Newton does not settle or ``J``
    is singular is not ``ok``."""
    _, M, P1, Q1 = A.shape
    p, q = P1 - 1, Q1 - 1
    with mpmath.workprec(PRECISE_BITS):
        Am = [[[mpmath.mpc(complex(c)) for c in row] for row in Ai] for Ai in A[0].tolist()]
        tm = None if th0 is None else [mpmath.mpc(complex(c)) for c in th0[0].tolist()]
        zm = [mpmath.mpc(complex(c)) for c in z[0].tolist()]
        fail = PreciseTest(False, False, z[0].clone(), float("inf"), float("inf"), float("inf"),
                           float("inf"), 0.0)
        tol = mpmath.mpf(2) ** (40 - PRECISE_BITS)
        try:
            for _ in range(PRECISE_NEWTON):
                F, J = _system(Am, tm, zm, p, q)
                dz = mpmath.lu_solve(mpmath.matrix(J), mpmath.matrix(F))
                zm = [zm[k] - dz[k] for k in range(len(zm))]
                if _norm(dz) <= tol * max(mpmath.mpf(1), _norm(zm)):
                    break
            else:
                return fail
            F, J = _system(Am, tm, zm, p, q)
            Jinv = mpmath.inverse(mpmath.matrix(J))
        except ZeroDivisionError:
            return fail
        K = len(zm)
        step = [mpmath.fsum(Jinv[k, j] * F[j] for j in range(K)) for k in range(K)]
        jinv_f = mpmath.sqrt(mpmath.fsum(abs(Jinv[k, j]) ** 2 for k in range(K) for j in range(K)))
        # rounding at this precision, bounded as in float64 (rounding_bound, with 1 / ||J^-1||_F
        # for the least singular value): F and J at |x|, |w|, -|lambda|, |A|, -|theta0| have
        # every term non-negative, up to the sign of an entry
        absA = [[[abs(c) for c in row] for row in Ai] for Ai in Am]
        za = [abs(c) for c in zm[:p + q]] + [-abs(c) for c in zm[p + q:]]
        Fa, Ja = _system(absA, None if tm is None else [-abs(c) for c in tm], za, p, q)
        frob = lambda rows: mpmath.sqrt(mpmath.fsum(abs(c) ** 2 for row in rows for c in row))
        beta = _norm(step)
        beta = beta + rounding_bound(1 / jinv_f, _norm(Fa), frob(Ja), frob(J), beta,
                                     terms=P1 + Q1 + M + 2, size=K,
                                     unit=mpmath.mpf(2) ** -PRECISE_BITS)
        gamma = jinv_f * mpmath.mpf(hnorm) * (1 + mpmath.mpf(2) ** -40)
        alpha = beta * gamma
        imag = _norm([c.imag for c in zm])
        real = bool(alpha < ALPHA_REAL and 2 * imag < 1 / (20 * gamma))
        nonreal = bool(imag > 2 * beta)
        ok = bool(alpha < ALPHA_0) and (real != nonreal)
        zr = torch.tensor([complex(c) for c in zm], dtype=torch.complex128)
        rounding = float(_norm(zm)) * 2.0 ** -50
        same = float(1 / (20 * gamma)) if alpha < ALPHA_REAL else 0.0
        return PreciseTest(ok, real and ok, zr, float(beta), float(gamma), float(alpha),
                           float(2 * beta) + rounding, same)
