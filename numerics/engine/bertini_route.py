"""A second route for E0 at r = 1 (issue 16): the same rank-one systems solved by Bertini 2
(``pip install 'lorank[bertini]'``; its ``ZeroDimSolver``: a multihomogeneous start system for
the variable groups ``u' = (u_2..u_m)`` and ``v``, adaptive precision, the power-series
endgame), independently of lorank's tracker and certificate.

The system is written exactly: each float64 coefficient becomes the rational it equals
(``Fraction(float)``), so Bertini solves the very instance E0 sees. Its answer is counted as
Bertini reports it: the finite solutions, and among them those whose every coordinate has
``|imag| < REAL_TOL`` (:func:`bertini.is_real`). That classification is Bertini's numerical one,
not a certificate; the cross-check (:mod:`scripts.exact_existence_bertini`) compares the counts
with E0's certified ones instance by instance and reports every disagreement.

Examples
--------
>>> import numpy as np
>>> G = np.zeros((3, 2, 2)); G[0, 0, 0] = G[1, 1, 1] = 1.0; G[2, 0, 1] = G[2, 1, 0] = 1.0
>>> count_solutions(G, np.array([1.0, 1.0, 3.0]))   # doctest: +SKIP
(2, 2)
"""

from __future__ import annotations

from fractions import Fraction

__all__ = ["REAL_TOL", "count_solutions", "count_solutions_rank", "count_critical_points", "available"]

#: Bertini's realness tolerance on every coordinate of a finite solution.
REAL_TOL = 1e-8


def available() -> bool:
    """Whether the optional ``bertini2`` package imports.

    >>> isinstance(available(), bool)
    True
    """
    try:
        import bertini  # noqa: F401
    except ImportError:
        return False
    return True


def count_solutions(G, y, seed: int = 0) -> tuple[int, int]:
    """``(finite, real)`` solutions of ``u^T G_i v = y_i`` with ``u_1 = 1`` for one instance
    ``G`` (M, m, n), ``y`` (M,) (array-likes of floats), by Bertini 2, its random start system
    drawn from ``seed`` (Bertini's ``random.set_random_seed``), with its records off (no
    ``./bertini_output`` folder is written or read).

    Raises ``ImportError`` naming the extra when ``bertini2`` is not installed.
    """
    import numpy as np

    try:
        import bertini
    except ImportError as err:   # pragma: no cover - depends on the environment
        raise ImportError("the bertini route needs the optional extra: pip install 'lorank[bertini]'") from err
    bertini.recording(False)
    bertini.random.set_random_seed(int(seed))
    G, y = np.asarray(G, dtype=float), np.asarray(y, dtype=float)
    M, m, n = G.shape
    u = [bertini.Variable(f"u{a}") for a in range(1, m)]
    v = [bertini.Variable(f"v{b}") for b in range(n)]
    system = bertini.System()
    for group in (u, v):
        vg = bertini.VariableGroup()
        for x in group:
            vg.append(x)
        system.add_variable_group(vg)
    c = lambda x: bertini.coefficient(Fraction(float(x)))   # noqa: E731 - exact rational
    for i in range(M):
        f = c(-y[i])
        for a in range(m):
            for b in range(n):
                f = f + (c(G[i, a, b]) * v[b] if a == 0 else c(G[i, a, b]) * u[a - 1] * v[b])
        system.add_function(f)
    result = bertini.ZeroDimSolver(system).solve()
    points = [np.asarray(p, dtype=complex) for p in result]
    return len(points), sum(1 for p in points if bertini.is_real(p, REAL_TOL))


def count_solutions_rank(G, y, r: int, seed: int = 0) -> tuple[int, int]:
    """``(finite, real)`` rank-``<= r`` solutions of ``<G_i, Delta> = y_i`` for one instance ``G``
    (M, m, n), ``y`` (M,) with ``M = r(m + n - r)``, by Bertini 2, in E0's parametrisation
    ``Delta = [I_r; U'] V^T`` (``m <= n``; variable groups ``vec U'`` and ``vec V``; the
    equations ``(1, x)^T A_i (1, w)`` of
    :func:`numerics.engine.homotopy_certify.bilinear_coefficients`). At ``r = 1`` it is the
    system of :func:`count_solutions`.
    """
    import numpy as np
    import torch

    from .homotopy_certify import bilinear_coefficients

    try:
        import bertini
    except ImportError as err:   # pragma: no cover - depends on the environment
        raise ImportError("the bertini route needs the optional extra: pip install 'lorank[bertini]'") from err
    bertini.recording(False)
    bertini.random.set_random_seed(int(seed))
    G, y = np.asarray(G, dtype=float), np.asarray(y, dtype=float)
    if G.shape[1] > G.shape[2]:
        G = G.transpose(0, 2, 1)
    A = bilinear_coefficients(torch.from_numpy(G)[None], torch.from_numpy(y)[None], r)[0].numpy()
    M, P1, Q1 = A.shape
    x = [bertini.Variable(f"x{a}") for a in range(P1 - 1)]
    w = [bertini.Variable(f"w{b}") for b in range(Q1 - 1)]
    system = bertini.System()
    for group in (x, w):
        vg = bertini.VariableGroup()
        for var in group:
            vg.append(var)
        system.add_variable_group(vg)
    c = lambda v: bertini.coefficient(Fraction(float(v)))   # noqa: E731 - exact rational
    for i in range(M):
        f = c(A[i, 0, 0])
        for b in range(1, Q1):
            if A[i, 0, b] != 0:
                f = f + c(A[i, 0, b]) * w[b - 1]
        for a in range(1, P1):
            for b in range(1, Q1):
                if A[i, a, b] != 0:
                    f = f + c(A[i, a, b]) * x[a - 1] * w[b - 1]
        system.add_function(f)
    result = bertini.ZeroDimSolver(system).solve()
    points = [np.asarray(p, dtype=complex) for p in result]
    return len(points), sum(1 for p in points if bertini.is_real(p, REAL_TOL))


def count_critical_points(G, y, theta0, r: int, seed: int = 0) -> tuple[int, int]:
    """``(finite, real)`` solutions of the Lagrange system of
    :mod:`numerics.engine.homotopy_critical` (critical points of the distance from ``theta0``
    to ``{f = 0}`` in the chart ``Delta = [I_r; U'] V^T``) for one real instance ``G`` (M, m, n)
    (``m <= n``), ``y`` (M,), ``theta0`` (r(m+n-r),), by Bertini 2 (one variable group, total
    degree start system), every coefficient the rational its float64 equals. For generic data
    ``finite`` is the critical count ``N`` of the cell.
    """
    import numpy as np
    import torch

    from .homotopy_certify import bilinear_coefficients

    try:
        import bertini
    except ImportError as err:   # pragma: no cover - depends on the environment
        raise ImportError("the bertini route needs the optional extra: pip install 'lorank[bertini]'") from err
    bertini.recording(False)
    bertini.random.set_random_seed(int(seed))
    G, y = np.asarray(G, dtype=float), np.asarray(y, dtype=float)
    th0 = np.asarray(theta0, dtype=float)
    A = bilinear_coefficients(torch.from_numpy(G)[None], torch.from_numpy(y)[None], r)[0].numpy()
    M, P1, Q1 = A.shape
    x = [bertini.Variable(f"x{a}") for a in range(P1 - 1)]
    w = [bertini.Variable(f"w{b}") for b in range(Q1 - 1)]
    lam = [bertini.Variable(f"l{i}") for i in range(M)]
    system = bertini.System()
    vg = bertini.VariableGroup()
    for var in x + w + lam:
        vg.append(var)
    system.add_variable_group(vg)
    c = lambda v: bertini.coefficient(Fraction(float(v)))   # noqa: E731 - exact rational
    u, wv = [None] + x, [None] + w      # index 0 is the constant 1

    def term(i, a, b):
        t = c(A[i, a, b])
        if a:
            t = t * u[a]
        if b:
            t = t * wv[b]
        return t

    for i in range(M):                   # f_i = (1, x)^T A_i (1, w)
        f = c(0)
        for a in range(P1):
            for b in range(Q1):
                if A[i, a, b] != 0:
                    f = f + term(i, a, b)
        system.add_function(f)
    for a in range(1, P1):               # x_a - x0_a - sum_i lam_i (A_i[a, :] . (1, w))
        e = x[a - 1] - c(th0[a - 1])
        for i in range(M):
            for b in range(Q1):
                if A[i, a, b] != 0:
                    e = e - lam[i] * (c(A[i, a, b]) * wv[b] if b else c(A[i, a, b]))
        system.add_function(e)
    for b in range(1, Q1):               # w_b - w0_b - sum_i lam_i (A_i[:, b] . (1, x))
        e = w[b - 1] - c(th0[P1 - 1 + b - 1])
        for i in range(M):
            for a in range(P1):
                if A[i, a, b] != 0:
                    e = e - lam[i] * (c(A[i, a, b]) * u[a] if a else c(A[i, a, b]))
        system.add_function(e)
    result = bertini.ZeroDimSolver(system).solve()
    points = [np.asarray(p, dtype=complex) for p in result]
    return len(points), sum(1 for p in points if bertini.is_real(p, REAL_TOL))
