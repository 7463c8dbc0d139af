"""The rank conditions of THEORY.md sections 1, 2 and 6 as :class:`~proofs.statement.Statement` objects.

Every statement quantifies over *all* integer dimensions (``C`` is a positive real); each
carries the certificate the sympy route checks (:class:`~proofs.routes.SlackCertificate`:
slack substitution plus multipliers) and is decided independently by z3. Two statements are
recorded because they are FALSE (``expected=False``): the converse of the square-root
approximation behind "r >= 12", and the comparison without ``r <= min(m, n)``; a third false
one pins down what "R1 is weaker than J2 exactly when C* < 2(m+n-r)/(r+1)" means.

Notation: ``M = K N``; ``s`` stands for ``isqrt(8 M + 1)`` and ``r0`` for
``floor((s - 1) / 2)``, both given by their defining inequalities
(``s^2 <= 8M + 1 < (s+1)^2`` and ``2 r0 + 1 <= s < 2 r0 + 3``), so that statements about the
closed form of :func:`proofs.minimal_rank.barvinok_pataki_rank` are polynomial.

Examples
--------
>>> [s.id for s in rank_condition_statements()][:3]
['J1.closed-form', 'J1.sqrt-headline', 'J2.least-rank']
>>> from proofs import statement_by_id
>>> str(statement_by_id("R1.comparison"))
'for all integers r, m, n >= 1 with r <= m and r <= n: r(m + n - r) >= r(r + 1)/2'
"""

from __future__ import annotations

from fractions import Fraction

from sympy import And, Eq, Gt, Rational, Symbol, symbols

from .claims import CLAIMED_CSTAR
from .routes import GroundCertificate, IdentityCertificate, SlackCertificate
from .statement import Statement

__all__ = ["rank_condition_statements", "instance_statements"]

JANG = "Jang, Lee, Ryu (ICML 2024)"
RETHINK = "Rethinking the Rank Threshold (2026)"

# Variables (the domain is in the assumptions).
r, m, n, M, D = symbols("r m n M D", integer=True, positive=True)
K, N = symbols("K N", integer=True, positive=True)
r0 = Symbol("r0", integer=True, nonnegative=True)
s = Symbol("s", integer=True, nonnegative=True)
C = Symbol("C", positive=True)  # C*, a positive real

# Slack symbols (new, nonnegative); the route checks that they cover the hypotheses.
a, b, c, e, k, t, u, w = symbols("a b c e k t u w", nonnegative=True)

# s = isqrt(8M + 1) and r0 = floor((s - 1)/2), by their defining inequalities.
ISQRT_LO = s**2 <= 8 * M + 1
ISQRT_HI = 8 * M + 1 < (s + 1) ** 2
FLOOR_LO = 2 * r0 + 1 <= s
FLOOR_HI = s < 2 * r0 + 3
CLOSED_FORM = (ISQRT_LO, ISQRT_HI, FLOOR_LO, FLOOR_HI)
CLOSED_FORM_NOTE = (
    "s = isqrt(8M+1) and r0 = floor((s-1)/2) enter through their defining inequalities "
    "s^2 <= 8M+1 < (s+1)^2 and 2 r0 + 1 <= s < 2 r0 + 3 (the definitions of math.isqrt and floor).")

SUB_RMN = {r: 1 + a, m: 1 + a + b, n: 1 + a + c}          # 1 <= r <= min(m, n)
SUB_RNM = {r: 1 + a, n: 1 + a + b, m: 1 + a + b + c}      # 1 <= r <= n <= m


def _sub(*parts) -> tuple:
    merged = {}
    for p in parts:
        merged.update(p)
    return tuple(merged.items())


def _j1_j2() -> list:
    feasible = r0 * (r0 + 1) / 2 <= M
    maximal = (r0 + 1) * (r0 + 2) / 2 > M
    closed_sub = _sub({r0: u, s: 2 * u + 1 + t, M: 1 + w})
    headline_hyp = r * (r + 1) / 2 <= M
    sqrt_hyp = r**2 > 2 * M
    below_hyp = r <= r0
    return [
        Statement(
            id="J1.closed-form", source=f"{JANG}, J1 (Barvinok-Pataki)",
            assumed=(
                ("s = isqrt(8M+1) and r0 = floor((s-1)/2) are given by their defining "
                 "inequalities"),),
            title="r0 = floor((isqrt(8M+1)-1)/2) is the largest r with r(r+1)/2 <= M",
            variables=(M, s, r0), hypotheses=CLOSED_FORM, conclusion=And(feasible, maximal),
            certificate=(
                SlackCertificate(closed_sub, ((ISQRT_LO, Rational(1, 8)),), part=feasible),
                SlackCertificate(closed_sub, ((ISQRT_HI, Rational(1, 8)),
                                              (FLOOR_HI, (2 * r0 + s + 4) / 8)), part=maximal),
            ),
            notes=CLOSED_FORM_NOTE + " r0 satisfies the bound and r0 + 1 violates it; since "
                  "r(r+1)/2 increases in r, r0 is the largest feasible r (and r0 + 1 the least "
                  "rank with r(r+1)/2 > M, see J2.least-rank). The SDP/extreme-point argument "
                  "behind J1 itself is cited, not machine-checked."),
        Statement(
            id="J1.sqrt-headline", source=f"{JANG}, J1 headline r <~ sqrt(N)",
            title="a rank allowed by Barvinok-Pataki is below sqrt(2M)",
            variables=(r, M), hypotheses=(headline_hyp,), conclusion=r**2 < 2 * M,
            certificate=SlackCertificate(_sub({r: 1 + a, M: 1 + w}), ((headline_hyp, 2),))),
        Statement(
            id="J2.least-rank", source=f"{JANG}, J2 (Sard count r(r+1)/2 > M)",
            assumed=(
                ("s = isqrt(8M+1) and r0 = floor((s-1)/2) are given by their defining "
                 "inequalities"),),
            title="no rank r <= r0 satisfies J2, so r0 + 1 is the least rank with r(r+1)/2 > M",
            variables=(M, s, r0, r), hypotheses=CLOSED_FORM + (below_hyp,),
            conclusion=r * (r + 1) / 2 <= M,
            certificate=SlackCertificate(
                _sub({r: 1 + a, r0: 1 + a + b, s: 3 + 2 * a + 2 * b + t, M: 1 + w}),
                ((ISQRT_LO, Rational(1, 8)),)),
            notes=CLOSED_FORM_NOTE + " With J1.closed-form ((r0+1)(r0+2)/2 > M) this gives "
                  "least_rank_sard(M) = r0 + 1 for every M >= 1."),
        Statement(
            id="J2.sqrt-conservative", source=f"{JANG}, J2; approximation r > sqrt(2KN)",
            title="the square-root approximation is conservative: r^2 > 2M implies r(r+1)/2 > M",
            variables=(r, M), hypotheses=(sqrt_hyp,), conclusion=r * (r + 1) / 2 > M,
            certificate=SlackCertificate(_sub({r: 1 + a, M: 1 + w}), ((sqrt_hyp, Rational(1, 2)),))),
        Statement(
            id="J2.sqrt-converse", source=f"{JANG}, J2; the approximation behind 'r >= 12'",
            title="FALSE: r(r+1)/2 > M does not imply r^2 > 2M (M = 64, r = 11)",
            variables=(r, M), hypotheses=(r * (r + 1) / 2 > M,), conclusion=r**2 > 2 * M,
            expected=False, witness={"r": 11, "M": 64},
            notes="At K N = 64 (16-shot binary, two label logits) J2 asks r >= 11 while "
                  "r > sqrt(128) asks r >= 12: the prescription 'r >= 12' is the approximation."),
    ]


def _r1() -> list:
    comparison_sub = _sub(SUB_RMN)
    weak_c = C * (r + 1) < 2 * (m + n - r)
    weak_m = M <= r * (r + 1) / 2
    strong_c = C * (r + 1) >= 2 * (m + n - r)
    strong_m = Eq(M, r * (r + 1) / 2)
    int_c = C * (r * (r + 1) / 2 - 1) < r * (m + n - r)
    int_m = M <= r * (r + 1) / 2 - 1
    int_c_ge = C * (r * (r + 1) / 2 - 1) >= r * (m + n - r)
    int_m_eq = Eq(M, r * (r + 1) / 2 - 1)
    r1_sub = _sub(SUB_RMN, {M: 1 + w, C: k})
    return [
        Statement(
            id="R1.identity", source=f"{RETHINK}, R1 (manifold count)",
            assumed=(
                "the m x n matrices of rank exactly r form a manifold of dimension r(m+n) - r^2",),
            title="r(m+n) - r^2 = r(m+n-r), the dimension of the rank-r manifold",
            variables=(r, m, n), hypotheses=(),
            conclusion=Eq(r * (m + n) - r**2, r * (m + n - r), evaluate=False),
            certificate=IdentityCertificate(),
            notes="That the m x n matrices of rank exactly r form a smooth manifold of this "
                  "dimension is a cited standard fact; the identity of the two counts is checked."),
        Statement(
            id="R1.comparison", source=f"{RETHINK}, R1 vs {JANG}, J2",
            title="manifold count >= Sard count for 1 <= r <= min(m, n)",
            variables=(r, m, n), hypotheses=(r <= m, r <= n),
            conclusion=r * (m + n - r) >= r * (r + 1) / 2,
            certificate=SlackCertificate(comparison_sub)),
        Statement(
            id="R1.comparison-unrestricted", source=f"{RETHINK}, R1 vs {JANG}, J2",
            title="FALSE without r <= min(m, n): the comparison needs the rank to exist",
            variables=(r, m, n), hypotheses=(), conclusion=r * (m + n - r) >= r * (r + 1) / 2,
            expected=False),
        Statement(
            id="R1.weaker-than-J2", source=f"{RETHINK}, R1 vs {JANG}, J2",
            title="if C*(r+1) < 2(m+n-r), R1 holds at every M <= r(r+1)/2",
            variables=(r, m, n, M, C), hypotheses=(r <= m, r <= n, weak_c, weak_m),
            conclusion=C * M < r * (m + n - r),
            certificate=SlackCertificate(r1_sub, ((weak_c, r / 2), (weak_m, C))),
            notes="With R1.stronger-than-J2-at-boundary: for 1 <= r <= min(m, n), R1 "
                  "(r(m+n-r) > C* M) holds at every count M in (0, r(r+1)/2] iff "
                  "C* < 2(m+n-r)/(r+1). This is THEORY.md's 'exactly when' with the boundary "
                  "count M = r(r+1)/2 included. Over the J2-feasible integer counts "
                  "M <= r(r+1)/2 - 1 alone the exact condition is C*(r(r+1)/2 - 1) < r(m+n-r) "
                  "(R1.weaker-than-J2.integer-exact); the strict reading of the threshold is "
                  "refuted by R1.weaker-than-J2.strict-count-converse."),
        Statement(
            id="R1.stronger-than-J2-at-boundary", source=f"{RETHINK}, R1 vs {JANG}, J2",
            title="if C*(r+1) >= 2(m+n-r), R1 fails at the count M = r(r+1)/2",
            variables=(r, m, n, M, C), hypotheses=(r <= m, r <= n, strong_c, strong_m),
            conclusion=C * M >= r * (m + n - r),
            certificate=SlackCertificate(r1_sub, ((strong_c, r / 2), (strong_m, C))),
            notes="The converse half of R1.weaker-than-J2."),
        Statement(
            id="R1.weaker-than-J2.integer-exact", source=f"{RETHINK}, R1 vs {JANG}, J2",
            title="over J2-feasible integer counts M <= r(r+1)/2 - 1, R1 holds at all of them "
                  "if C*(r(r+1)/2 - 1) < r(m+n-r)",
            variables=(r, m, n, M, C), hypotheses=(r <= m, r <= n, int_c, int_m),
            conclusion=C * M < r * (m + n - r),
            certificate=SlackCertificate(r1_sub, ((int_c, 1), (int_m, C))),
            notes="r(r+1)/2 is an integer, so the J2-feasible counts M < r(r+1)/2 are exactly "
                  "M <= r(r+1)/2 - 1. With its converse this is the exact condition over integer M."),
        Statement(
            id="R1.weaker-than-J2.integer-exact-converse", source=f"{RETHINK}, R1 vs {JANG}, J2",
            title="if C*(r(r+1)/2 - 1) >= r(m+n-r), R1 fails at the J2-feasible count r(r+1)/2 - 1",
            variables=(r, m, n, M, C), hypotheses=(r <= m, r <= n, int_c_ge, int_m_eq),
            conclusion=C * M >= r * (m + n - r),
            certificate=SlackCertificate(r1_sub, ((int_c_ge, 1), (int_m_eq, C)))),
        Statement(
            id="R1.weaker-than-J2.strict-count-converse", source=f"{RETHINK}, R1 vs {JANG}, J2",
            title="FALSE: C*(r+1) >= 2(m+n-r) does not force R1 to fail at a J2-feasible count",
            variables=(r, m, n, M, C), hypotheses=(r <= m, r <= n, strong_c, int_m_eq),
            conclusion=C * M >= r * (m + n - r), expected=False,
            witness={"r": 2, "m": 2, "n": 2, "M": 2, "C": Fraction(4, 3)},
            notes="r = m = n = 2, C* = 4/3 = 2(m+n-r)/(r+1): the largest J2-feasible count is "
                  "M = 2, and R1 holds there (4 > 8/3). So with strictly J2-feasible counts, "
                  "'weaker exactly when C* < 2(m+n-r)/(r+1)' is only the sufficient half."),
    ]


def _necessary_sufficient() -> list:
    r1_hyp = r * (m + n - r) > C * M
    c_ge_1 = C >= 1
    witness_hyp = D * (1 - C) > C
    ls_hyp = r * m >= M
    rho_hyp = r * (m + n - r) * m >= (m + n - r) * M
    r1_part = Gt(D, C * (D + 1))
    dc_part = Gt(D + 1, D, evaluate=False)
    dc_sub = _sub({C: k, D: 1 + e})
    return [
        Statement(
            id="DC.cstar-at-least-one", source=f"{RETHINK}, dimension-count necessary condition",
            assumed=(
                "dimension of the rank-r variety: its image under calA has dimension <= r(m+n-r)",
                "for each 0 < C < 1 some integer D has D(1-C) > C (Archimedean property)",),
            rests_on=(
                ("dimension of the rank-r variety: its image under calA has dimension "
                 "<= r(m+n-r)"),),
            checked=("the integer facts at r = 1, m = 1, n = D, M = D + 1 (R1 holds, M > "
                     "r(m+n-r)), by a sympy certificate and by z3"),
            title="any existence constant has C* >= 1: for 0 < C < 1, at r = 1, m = 1, n = D, "
                  "M = D + 1 with D(1-C) > C, R1 holds (D > C M) but M > r(m+n-r) = D",
            variables=(C, D), hypotheses=(C < 1, witness_hyp), conclusion=And(r1_part, dc_part),
            certificate=(SlackCertificate(dc_sub, ((witness_hyp, 1),), part=r1_part),
                         SlackCertificate(dc_sub, part=dc_part)),
            notes="Geometric premise, CITED and not machine-checked: the image of the rank-r "
                  "variety under the linear map calA has dimension <= r(m+n-r), so a generic "
                  "system with M > r(m+n-r) equations has no rank-r solution. Checked: at "
                  "r = 1, m = 1, n = D, M = D + 1 (r(m+n-r) = D) the R1 condition D > C M holds "
                  "whenever D(1-C) > C, while M > r(m+n-r). Such D exists for every 0 < C < 1 "
                  "(D = floor(C/(1-C)) + 1, Archimedean property; not encoded). Hence a C* "
                  "for which R1 guarantees generic existence must be >= 1."),
        Statement(
            id="DC.consistent-when-cstar-ge-1", source=f"{RETHINK}, dimension-count necessary condition",
            title="with C* >= 1, R1 implies the necessary count r(m+n-r) >= M",
            variables=(r, m, n, M, C), hypotheses=(r <= m, r <= n, c_ge_1, r1_hyp),
            conclusion=r * (m + n - r) >= M,
            certificate=SlackCertificate(_sub(SUB_RMN, {M: 1 + w, C: 1 + k}),
                                         ((r1_hyp, 1), (c_ge_1, M)))),
        Statement(
            id="LS.sufficient-implies-necessary", source="linear-solve sufficient condition (THEORY.md s.2)",
            assumed=(
                "m >= n without loss of generality (transposing preserves every count)",
                ("a generic A makes calA(B A) = y a generic linear system in the m r entries "
                 "of B"),),
            title="r max(m,n) >= M implies r(m+n-r) >= M (m >= n without loss of generality)",
            variables=(r, m, n, M), hypotheses=(r <= n, n <= m, ls_hyp),
            conclusion=r * (m + n - r) >= M,
            certificate=SlackCertificate(_sub(SUB_RNM, {M: 1 + w}), ((ls_hyp, 1),)),
            notes="m >= n WLOG: transposing swaps m and n and preserves every count. That a "
                  "generic A makes calA(B A) = y a generic linear system in the m r entries of "
                  "B is cited, not machine-checked."),
        Statement(
            id="LS.rho-threshold", source="linear-solve sufficient condition (THEORY.md s.2)",
            assumed=(
                "m >= n without loss of generality (transposing preserves every count)",),
            title="rho = r(m+n-r)/M >= (m+n-r)/max(m,n) implies r max(m,n) >= M (m >= n WLOG)",
            variables=(r, m, n, M), hypotheses=(r <= n, n <= m, rho_hyp), conclusion=r * m >= M,
            certificate=SlackCertificate(_sub(SUB_RNM, {M: 1 + w}), ((rho_hyp, 1),),
                                         scale=m + n - r),
            notes="rho >= (m+n-r)/m is written multiplied out by M m > 0. So existence is "
                  "certain once rho reaches (m+n-r)/max(m,n), which LS.threshold-below-2 bounds."),
        Statement(
            id="LS.threshold-below-2", source="linear-solve sufficient condition (THEORY.md s.2)",
            assumed=(
                "m >= n without loss of generality (transposing preserves every count)",),
            title="(m+n-r)/max(m,n) < 2, i.e. m + n - r < 2m for 1 <= r <= n <= m",
            variables=(r, m, n), hypotheses=(r <= n, n <= m), conclusion=m + n - r < 2 * m,
            certificate=SlackCertificate(_sub(SUB_RNM))),
    ]


def _monotonicity() -> list:
    step_hyp = 2 * (r + 1) <= m + n
    back_hyp = 2 * (r + 1) > m + n
    f_next, f_here = (r + 1) * (m + n - r - 1), r * (m + n - r)
    free_sub = _sub({r: 1 + a, m: 1 + b, n: 1 + c})
    return [
        Statement(
            id="MONO.step", source=f"{RETHINK}, R1 (monotonicity of r(m+n-r))",
            title="r(m+n-r) increases from r to r+1 when 2(r+1) <= m+n",
            variables=(r, m, n), hypotheses=(step_hyp,), conclusion=f_next > f_here,
            certificate=SlackCertificate(free_sub, ((step_hyp, 1),))),
        Statement(
            id="MONO.step-exact", source=f"{RETHINK}, R1 (monotonicity of r(m+n-r))",
            title="and does not increase when 2(r+1) > m+n, so the condition is exact",
            variables=(r, m, n), hypotheses=(back_hyp,), conclusion=f_next <= f_here,
            certificate=SlackCertificate(free_sub, ((back_hyp, 1),))),
        Statement(
            id="MONO.min-le-half", source=f"{RETHINK}, R1 (monotonicity of r(m+n-r))",
            title="min(m, n) <= (m+n)/2: every rank r <= min(m, n) has 2r <= m+n",
            variables=(r, m, n), hypotheses=(r <= m, r <= n), conclusion=2 * r <= m + n,
            certificate=SlackCertificate(_sub(SUB_RMN))),
        Statement(
            id="MONO.rank-range", source=f"{RETHINK}, R1 (monotonicity of r(m+n-r))",
            title="r(m+n-r) is strictly increasing on 1 <= r <= min(m, n)",
            variables=(r, m, n), hypotheses=(r + 1 <= m, r + 1 <= n), conclusion=f_next > f_here,
            certificate=SlackCertificate(_sub({r: 1 + a, m: 2 + a + b, n: 2 + a + c})),
            notes="Step r -> r+1 with r+1 <= min(m, n); so the least rank under any criterion "
                  "of the form r(m+n-r) > c M is found by a threshold on [1, min(m, n)]."),
    ]


def rank_condition_statements() -> list:
    """The statements of THEORY.md sections 1-2 (all integer dimensions).

    >>> len(rank_condition_statements()) >= 20
    True
    """
    return _j1_j2() + _r1() + _necessary_sufficient() + _monotonicity()


def instance_statements() -> list:
    """Ground instances: R1 at r = 1 on 768 x 768 and the table of THEORY.md section 6.

    Each row pins K, N; the least J2 rank ``r_J2`` (it satisfies r(r+1)/2 > KN and r - 1 does
    not), the least square-root-approximation rank ``r_sqrt`` (likewise for r^2 > 2KN), and
    R1 at r = 1 on 768 x 768 with the claimed C* (:data:`proofs.claims.CLAIMED_CSTAR`, 1.35).

    >>> [str(s) for s in instance_statements()][0]
    'at r = 1, m = 768, n = 768, C = 27/20, K = 2, N = 32: r(m + n - r) > C K N'
    """
    mm, nn = symbols("m n", integer=True, positive=True)
    rj, rs = Symbol("r_J2", integer=True, positive=True), Symbol("r_sqrt", integer=True, positive=True)
    cstar = Rational(CLAIMED_CSTAR.value)           # exact: "1.35" is 27/20
    c_text = CLAIMED_CSTAR.value
    out = [Statement(
        id="R1.instance-768", source=f"{RETHINK}, R1 on canonical setups",
        title=f"R1 holds at r = 1 on 768 x 768 with C* = {c_text} and KN = 64: 1535 > {float(cstar * 64):g}",
        variables=(r, mm, nn, C, K, N),
        hypotheses=(Eq(r, 1), Eq(mm, 768), Eq(nn, 768), Eq(C, cstar), Eq(K, 2), Eq(N, 32)),
        conclusion=r * (mm + nn - r) > C * K * N, certificate=GroundCertificate())]
    rows = [("16shot-binary-K1", 1, 32, 8, 9), ("16shot-binary-K2", 2, 32, 11, 12),
            ("16shot-mnli-K3", 3, 48, 17, 17)]
    for name, kk, nnum, r_j2, r_sq in rows:
        out.append(Statement(
            id=f"TABLE.{name}", source="THEORY.md section 6 (Jang et al. few-shot setups)",
            title=f"K = {kk}, N = {nnum}: least J2 rank {r_j2}, least sqrt-approximation rank "
                  f"{r_sq}, R1 (C* = {c_text}) already at r = 1 on 768 x 768",
            variables=(K, N, rj, rs, mm, nn, C),
            hypotheses=(Eq(K, kk), Eq(N, nnum), Eq(rj, r_j2), Eq(rs, r_sq), Eq(mm, 768),
                        Eq(nn, 768), Eq(C, cstar)),
            conclusion=And(rj * (rj + 1) / 2 > K * N, (rj - 1) * rj / 2 <= K * N,
                           rs**2 > 2 * K * N, (rs - 1) ** 2 <= 2 * K * N,
                           mm + nn - 1 > C * K * N),
            certificate=GroundCertificate()))
    return out
