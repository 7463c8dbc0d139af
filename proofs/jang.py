"""Jang, Lee, Ryu (seed 001), the counting steps behind J1 and J2 (THEORY.md section 1).

The closed form of ``r0`` (the largest ``r`` with ``r (r + 1) / 2 <= M``) and the least rank
of J2 are in :mod:`proofs.rank_conditions` (``J1.closed-form``, ``J2.least-rank``); this module
adds the steps of the arguments that are arithmetic, each checked by both routes (a slack
certificate and z3), with the linear-algebra facts they rest on named in ``assumed``:

``J1.extreme-point-count`` (Barvinok-Pataki)
    Let ``X = L L^T`` (``L``: (m+n) x R of full column rank) be a point of the lifted SDP's
    feasible set ``{X >= 0 : <A_i, X> = y_i, i = 1..M}``. Every symmetric ``D`` with
    ``<L^T A_i L, D> = 0`` gives feasible ``L (I +- t D) L^T`` for small ``t``; at an extreme
    point there is none but ``D = 0``. The map ``D -> (<L^T A_i L, D>)_i`` goes from the
    ``R (R + 1) / 2``-dimensional space of symmetric R x R matrices to ``R^M``, so its kernel has
    dimension ``k >= R (R + 1) / 2 - M`` (rank-nullity). Checked: from ``k >= R (R + 1) / 2 - M``
    and ``k <= 0`` follows ``R (R + 1) / 2 <= M``.
``J1.face-direction`` (one reduction step exists)
    ``R (R + 1) / 2 > M`` and ``k >= R (R + 1) / 2 - M`` give ``k > 0``: a nonzero direction
    ``D``; moving to where ``I + t D`` turns singular lowers the rank of ``X`` by at least one
    (the step of :func:`numerics.engine.jang.reduce_to_extreme`).
``J1.face-direction-with-value`` (the step can also keep the value)
    ``R (R + 1) / 2 > M + 1`` gives a kernel of dimension ``> 0`` for the ``M`` constraints and
    the objective ``tr X`` together; with ``R (R + 1) / 2 = M + 1`` a direction of the
    constraints alone exists, and its sign is chosen so that ``tr X`` does not grow.
``J2.weight-decay-bound`` (the variational form, one direction)
    ``lambda / 2 (a^2 + b^2) >= lambda N`` when ``N <= a b`` (WLOG ``a <= b``): with
    ``a = ||A||_F``, ``b = ||B||_F``, ``N = ||B A||_*`` and Hoelder's ``||B A||_* <= ||B||_F ||A||_F``
    (assumed), the weight-decayed LoRA loss is at least the convex loss at ``Delta = B A``; so a
    value within a tolerance of the convex optimum's lower bound is within it of LoRA's global
    minimum, the certificate of the ``jang`` experiment.

Examples
--------
>>> [s.id for s in jang_statements()]
['J1.extreme-point-count', 'J1.face-direction', 'J1.face-direction-with-value', 'J2.weight-decay-bound']
>>> from proofs.statement import check
>>> [check(s).status for s in jang_statements()]  # each rests on a cited linear-algebra fact
['proved-assuming', 'proved-assuming', 'proved-assuming', 'proved-assuming']
"""

from __future__ import annotations

from sympy import symbols

from .routes import SlackCertificate
from .statement import Statement

__all__ = ["jang_statements"]

JANG = "Jang, Lee, Ryu (ICML 2024)"

R, M = symbols("R M", integer=True, positive=True)
k = symbols("k", integer=True, nonnegative=True)
a, b, N, lam = symbols("a b N lam", nonnegative=True)
# slacks
u, w, c, d, e, f, g = symbols("u w c d e f g", nonnegative=True)

RANK_NULLITY = ("rank-nullity: the kernel of D -> (<L^T A_i L, D>)_i on symmetric R x R matrices "
                "(dimension R(R+1)/2) into R^M has dimension k >= R(R+1)/2 - M")
EXTREME = ("X = L L^T is an extreme point of {X >= 0 : <A_i, X> = y_i} iff no nonzero symmetric D "
           "has <L^T A_i L, D> = 0 for all i (else L(I +- tD)L^T are feasible for small t)")
LIFT = ("rank(Delta) <= rank(X) for X = [[P, Delta], [Delta^T, Q]] >= 0, and min tr(X)/2 over the "
        "lift of Delta is ||Delta||_*")
RANK_NULLITY_VALUE = ("rank-nullity for the M constraints and the objective together: kernel "
                      "dimension k >= R(R+1)/2 - (M + 1)")
HOELDER = "Hoelder for Schatten norms: ||B A||_* <= ||B||_F ||A||_F"


def jang_statements() -> list:
    """The statements of the module docstring.

    >>> [s.expected for s in jang_statements()]
    [True, True, True, True]
    """
    count_hyp = k >= R * (R + 1) / 2 - M
    extreme_hyp = k <= 0
    above_hyp = R * (R + 1) / 2 > M
    above_value_hyp = R * (R + 1) / 2 > M + 1
    value_kernel = k >= R * (R + 1) / 2 - (M + 1)
    order_hyp = a <= b
    hoelder_hyp = N <= a * b
    return [
        Statement(
            id="J1.extreme-point-count", source=f"{JANG}, J1 (Barvinok-Pataki bound)",
            title="an extreme point X = L L^T of the lifted SDP's feasible set has rank R with "
                  "R(R+1)/2 <= M",
            variables=(R, M, k), hypotheses=(count_hyp, extreme_hyp),
            conclusion=R * (R + 1) / 2 <= M,
            certificate=SlackCertificate((((R, 1 + c)), (M, 1 + w), (k, d)),
                                         ((count_hyp, 1), (extreme_hyp, 1))),
            assumed=(RANK_NULLITY, EXTREME, LIFT),
            rests_on=(RANK_NULLITY, EXTREME),
            checked=("the count: k >= R(R+1)/2 - M (rank-nullity) and k <= 0 (extreme point) give "
                     "R(R+1)/2 <= M, by a slack certificate and by z3; the two hypotheses are the "
                     "cited linear-algebra facts"),
            notes="k is the dimension of the face directions' space at X. With the lift (rank of "
                  "Delta at most R, trace 2 ||Delta||_*) and J1.closed-form this gives J1: a "
                  "consistent system has a solution of rank at most r0 = floor((isqrt(8M+1)-1)/2)."),
        Statement(
            id="J1.face-direction", source=f"{JANG}, J1 (Barvinok-Pataki reduction step)",
            title="if R(R+1)/2 > M, the face of the lifted SDP at a rank-R point has a nonzero "
                  "direction (kernel dimension k > 0)",
            variables=(R, M, k), hypotheses=(above_hyp, count_hyp), conclusion=k > 0,
            certificate=SlackCertificate((((R, 1 + c)), (M, 1 + w), (k, d)),
                                         ((count_hyp, 1), (above_hyp, 1))),
            assumed=(RANK_NULLITY,),
            rests_on=(RANK_NULLITY,),
            notes="Moving along L D L^T to the t where I + tD turns singular (D has a negative "
                  "eigenvalue for one of the signs) keeps the constraints and lowers rank X by at "
                  "least one; repeated while R(R+1)/2 > M it ends at an extreme point."),
        Statement(
            id="J1.face-direction-with-value", source=f"{JANG}, J1 (reduction at the optimum)",
            title="if R(R+1)/2 > M + 1, a nonzero face direction also keeps tr X (the SDP's "
                  "objective)",
            variables=(R, M, k), hypotheses=(above_value_hyp, value_kernel), conclusion=k > 0,
            certificate=SlackCertificate((((R, 1 + c)), (M, 1 + w), (k, d)),
                                         ((value_kernel, 1), (above_value_hyp, 1))),
            assumed=(RANK_NULLITY_VALUE,),
            rests_on=(RANK_NULLITY_VALUE,),
            notes="At R(R+1)/2 = M + 1 only the constraints' kernel is used; the sign of D is "
                  "chosen with tr(L D L^T) <= 0, which gives D a negative eigenvalue (L^T L > 0)."),
        Statement(
            id="J2.weight-decay-bound", source=f"{JANG}, J2 (weight decay = nuclear norm)",
            title="lambda/2 (||A||_F^2 + ||B||_F^2) >= lambda ||B A||_*: the LoRA loss is at least "
                  "the convex loss at Delta = B A",
            variables=(a, b, N, lam), hypotheses=(order_hyp, hoelder_hyp),
            conclusion=lam * (a**2 + b**2) / 2 >= lam * N,
            certificate=SlackCertificate(((a, e), (b, e + f), (N, g), (lam, u)),
                                         ((hoelder_hyp, lam),)),
            assumed=(HOELDER, "a <= b without loss of generality (the claim is symmetric in a, b)"),
            rests_on=(HOELDER,),
            notes="a = ||A||_F, b = ||B||_F, N = ||B A||_*; the premise N <= a b is Hoelder's "
                  "inequality (cited). Equality at balanced factors B = U S^(1/2), A = S^(1/2) V^T "
                  "of Delta = U S V^T, so both problems have the same minimum value."),
    ]
