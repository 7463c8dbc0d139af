"""R2, exact certificates: the Jacobian of LoRA has generic full row rank up to the dimension
count, proved by one exact rank computation over a prime field per size.

Setting (THEORY.md section 2, R2): squared loss on ``theta = (B, A)``, ``B`` m x r, ``A`` r x n,
``calA(Delta)_i = <G_i, Delta>`` for ``i = 1..M``. The PL* constant is
``mu(theta) = lambda_min(J J^T)``, where ``J`` is the ``M x r(m+n)`` Jacobian of
``theta -> calA(B A)``, row ``i`` being ``(vec(G_i A^T), vec(B^T G_i))``.

The argument, written out (nothing is assumed beyond this algebra):

1. **Upper bound** (``R2.gauge-kernel``, ``R2.rank-J``): ``(B C, -C A)`` lies in the kernel of
   ``J`` for every r x r ``C`` (the gauge ``B -> B C``, ``A -> C^-1 A``), so ``rank J <=
   r(m+n) - r^2 = d`` with ``d = r(m+n-r)``, and ``mu > 0`` needs ``M <= d``.
2. **Mod p to Q.** Let every ``G_i``, ``B``, ``A`` be integer. Then ``J`` is an integer matrix.
   If ``rank J = M`` over the prime field ``F_p``, some ``M x M`` minor is nonzero mod ``p``;
   that minor is an integer (a polynomial with integer coefficients in the entries), and an
   integer that is nonzero mod ``p`` is nonzero. So ``rank J = M`` over ``Q`` (and ``R``).
3. **One point to generic.** Each ``M x M`` minor of ``J`` is a polynomial in the entries of
   ``(G_1..G_M, B, A)``. Step 2 shows one of them, ``P``, is not the zero polynomial. The set
   ``{P != 0}`` is Zariski-open and nonempty, hence dense with a complement of Lebesgue measure
   zero (the zero set of a nonzero polynomial is a null set). On it ``rank J = M``, i.e.
   ``J J^T`` is positive definite and ``mu > 0``. So for features and points drawn from any
   distribution with a density (Gaussian-iid ``G_i``, Gaussian ``B, A``), ``mu > 0`` with
   probability 1.
4. **All smaller M.** Rows of a matrix of full row rank are independent, so every subset of
   them is: full row rank at ``M = d`` gives it at every ``M <= d`` (the first ``M`` features of
   the same instance).

So one exact rank computation at ``M = d`` per ``(m, n, r)`` proves "generic PL* positivity for
every ``M <= d``" at that size. As a check of the code against the upper bound, the certificate
also computes the rank with one more feature (``M = d + 1``) and requires it to equal ``d``
(by step 1 the true rank cannot exceed ``d``, and rank mod ``p`` never exceeds the rank over Q).

Two routes, each exact and each enough on its own; a statement is ``proved`` only if both pass:

``route 1`` (:class:`GenericRankCertificate`)
    The Jacobian from its row formula, on the instance of seed ``seed``, rank by Gaussian
    elimination mod the prime :data:`PRIME` (vectorised numpy ``int64`` row operations; all
    residues are ``< 2^31`` so every product is ``< 2^62``, no overflow).
``route 2`` (:class:`IndependentRankCheck`)
    A different instance (another seed), the Jacobian built without the row formula (columns
    are exact differences of the forward map ``theta -> calA(B A)`` along unit directions,
    which is bilinear, so the difference is its derivative), and the rank either exactly over
    Z by fraction-free Bareiss elimination (Python integers) when ``J`` has at most
    :data:`BAREISS_MAX_COLUMNS` columns, or mod a second prime :data:`SECOND_PRIME`.

Examples
--------
>>> cert = certify_generic_rank(4, 3, 1, seed=0)
>>> cert.M, cert.rank, cert.rank_plus_one, cert.full
(6, 6, 6, True)
>>> cert.verify()
True
>>> rank_mod_p([[1, 2], [2, 4]], PRIME), bareiss_rank([[1, 2], [2, 4]])
(1, 1)
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["PRIME", "SECOND_PRIME", "ENTRY_BITS", "BAREISS_MAX_COLUMNS", "PL_RECORD_SIZES",
           "is_prime", "integer_instance", "jacobian", "jacobian_by_differences",
           "rank_mod_p", "bareiss_rank", "RankCertificate", "certify_generic_rank",
           "GenericRankCertificate", "IndependentRankCheck", "exact_rank_statements",
           "statement_id"]

#: The prime of route 1 (the Mersenne prime 2^31 - 1).
PRIME = 2**31 - 1
#: The prime of route 2 where Bareiss over Z is too slow (the largest prime below 2^31 - 1).
SECOND_PRIME = 2_147_483_629
#: Entries of the integer instances are uniform on [-2^(ENTRY_BITS-1), 2^(ENTRY_BITS-1) - 1].
ENTRY_BITS = 3
#: Route 2 uses Bareiss over Z when J has at most this many columns (r(m+n)); else SECOND_PRIME.
BAREISS_MAX_COLUMNS = 64
#: The seeds of the two routes' instances.
ROUTE1_SEED, ROUTE2_SEED = 0, 1

#: The (m, n, r) of the committed PL* records (results/pl/cpu-default: 8x8, 16x16; results/pl/h100:
#: 32x32, 64x64; r = 1, 2). tests/test_exact_rank.py checks this against the records' summaries.
PL_RECORD_SIZES = ((8, 8, 1), (8, 8, 2), (16, 16, 1), (16, 16, 2),
                   (32, 32, 1), (32, 32, 2), (64, 64, 1), (64, 64, 2))

RETHINK = "Rethinking the Rank Threshold (2026)"
SOURCE = f"{RETHINK}, R2 (PL* for squared loss); Liu, Zhu, Belkin (2022), PL*"


def _check_size(name: str, value, least: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def is_prime(p: int) -> bool:
    """Deterministic primality for ``p < 3,215,031,751`` (Miller-Rabin with bases 2, 3, 5, 7,
    which has no strong pseudoprime below that bound); larger ``p`` raise ``ValueError``.

    >>> is_prime(PRIME), is_prime(SECOND_PRIME), is_prime(2**31 - 3), is_prime(2)
    (True, True, False, True)
    """
    p = int(p)
    if p >= 3_215_031_751:
        raise ValueError(f"p must be below 3215031751 for this test, got {p}")
    if p < 2:
        return False
    for q in (2, 3, 5, 7):
        if p % q == 0:
            return p == q
    d, s = p - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in (2, 3, 5, 7):
        x = pow(a, d, p)
        if x in (1, p - 1):
            continue
        for _ in range(s - 1):
            x = x * x % p
            if x == p - 1:
                break
        else:
            return False
    return True


def _draw(rng: random.Random, count: int) -> np.ndarray:
    """``count`` integers, uniform on the ENTRY_BITS-bit signed range, from ``rng``'s bytes."""
    raw = np.frombuffer(rng.randbytes(count), dtype=np.uint8).astype(np.int64)
    half = 1 << (ENTRY_BITS - 1)
    return raw % (2 * half) - half


def integer_instance(m: int, n: int, r: int, M: int, seed: int):
    """The integer instance ``(G, B, A)`` of a seed: ``B`` (m x r), then ``A`` (r x n), then
    ``G_1, ..., G_M`` (each m x n), drawn in this order from ``random.Random(seed)`` with entries
    in ``[-4, 3]``. Draws are sequential, so the instance with ``M`` features is the first ``M``
    features of the instance with ``M + 1``.

    Returns
    -------
    G : ndarray, int64, shape (M, m, n)
    B : ndarray, int64, shape (m, r)
    A : ndarray, int64, shape (r, n)

    Examples
    --------
    >>> G, B, A = integer_instance(3, 2, 1, 4, seed=7)
    >>> G.shape, B.shape, A.shape, int(G.min()) >= -4, int(G.max()) <= 3
    ((4, 3, 2), (3, 1), (1, 2), True, True)
    >>> bool((integer_instance(3, 2, 1, 5, seed=7)[0][:4] == G).all())
    True
    """
    m, n, r = (_check_size(k, v) for k, v in (("m", m), ("n", n), ("r", r)))
    M, seed = _check_size("M", M, 0), _check_size("seed", seed, 0)
    rng = random.Random(seed)
    B = _draw(rng, m * r).reshape(m, r)
    A = _draw(rng, r * n).reshape(r, n)
    G = np.stack([_draw(rng, m * n).reshape(m, n) for _ in range(M)]) if M else \
        np.zeros((0, m, n), dtype=np.int64)
    return G, B, A


def jacobian(G, B, A) -> np.ndarray:
    """The Jacobian of ``theta = (B, A) -> calA(B A)`` from its row formula: row ``i`` is
    ``(vec(G_i A^T), vec(B^T G_i))`` (row-major ``vec``), an integer ``M x r(m+n)`` matrix.

    Entries are sums of ``n`` (or ``m``) products of instance entries, far below 2^63.

    >>> G = np.array([[[1, 0], [0, 2]]]); B = np.array([[1], [1]]); A = np.array([[3, 1]])
    >>> jacobian(G, B, A).tolist()
    [[3, 2, 1, 2]]
    """
    G, B, A = (np.asarray(x, dtype=np.int64) for x in (G, B, A))
    M = G.shape[0]
    rows_b = np.matmul(G, A.T).reshape(M, -1)      # G_i A^T, m x r
    rows_a = np.matmul(B.T, G).reshape(M, -1)      # B^T G_i, r x n
    return np.concatenate([rows_b, rows_a], axis=1)


def _forward(G, B, A) -> np.ndarray:
    """``calA(B A)``: the M inner products ``<G_i, B A>`` (integers)."""
    return np.tensordot(G, B @ A, axes=([1, 2], [0, 1]))


def jacobian_by_differences(G, B, A) -> np.ndarray:
    """The same Jacobian built without the row formula: column ``t`` is
    ``calA((B + E) A) - calA(B A)`` for the unit direction ``E`` of the ``t``-th entry of ``B``,
    then ``calA(B (A + F)) - calA(B A)`` for the entries of ``A``. The map is linear in ``B``
    for fixed ``A`` and in ``A`` for fixed ``B``, so each difference *is* the partial derivative
    (no step size, exact in integers).

    >>> G, B, A = integer_instance(3, 4, 2, 5, seed=1)
    >>> bool((jacobian_by_differences(G, B, A) == jacobian(G, B, A)).all())
    True
    """
    G, B, A = (np.asarray(x, dtype=np.int64) for x in (G, B, A))
    base = _forward(G, B, A)
    columns = []
    for X, other in ((B, "B"), (A, "A")):
        for idx in np.ndindex(*X.shape):
            moved = X.copy()
            moved[idx] += 1
            value = _forward(G, moved, A) if other == "B" else _forward(G, B, moved)
            columns.append(value - base)
    return np.stack(columns, axis=1)


def rank_mod_p(matrix, p: int = PRIME) -> int:
    """The rank of an integer matrix over the prime field ``F_p`` (Gaussian elimination with
    vectorised numpy ``int64`` row operations).

    Parameters
    ----------
    matrix : array_like of int
    p : int
        A prime below 2^31 (so that the product of two residues is below 2^62 < 2^63).

    Raises
    ------
    ValueError
        If ``p`` is not a prime below 2^31, or ``matrix`` is not a 2-d integer array.

    Examples
    --------
    >>> rank_mod_p([[1, 2, 3], [4, 5, 6], [7, 8, 9]]), rank_mod_p([[2, 0], [0, 2]], 2)
    (2, 0)
    >>> rank_mod_p([[1, 0]], 4)
    Traceback (most recent call last):
    ...
    ValueError: p must be a prime below 2^31, got 4
    """
    p = int(p)
    if not (2 <= p < 2**31 and is_prime(p)):
        raise ValueError(f"p must be a prime below 2^31, got {p}")
    a = np.asarray(matrix)
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"matrix must be a 2-d integer array, got dtype {a.dtype}, shape {a.shape}")
    a = np.mod(a.astype(np.int64), p)
    rows, cols = a.shape
    rank = 0
    for c in range(cols):
        if rank == rows:
            break
        nonzero = np.flatnonzero(a[rank:, c])
        if nonzero.size == 0:
            continue
        pivot = rank + int(nonzero[0])
        if pivot != rank:
            a[[rank, pivot]] = a[[pivot, rank]]
        inverse = pow(int(a[rank, c]), p - 2, p)          # Fermat: a^(p-2) = a^-1 mod p
        a[rank, c:] = a[rank, c:] * inverse % p
        below = rank + 1 + np.flatnonzero(a[rank + 1:, c])
        if below.size:
            factors = a[below, c][:, None]
            a[below, c:] = (a[below, c:] - factors * a[rank, c:] % p) % p
        rank += 1
    return rank


def bareiss_rank(matrix) -> int:
    """The rank of an integer matrix over Z (hence Q), by fraction-free Bareiss elimination in
    Python integers (every division is exact: after step k each entry is a (k+1) x (k+1)
    minor, Sylvester's identity). Exact at any size, but slow beyond ~64 columns.

    >>> bareiss_rank([[2, 4, 1], [1, 2, 0], [3, 6, 1]]), bareiss_rank([[0, 0], [0, 0]])
    (2, 0)
    >>> bareiss_rank([[2**70, 1], [1, 0]])
    2
    """
    a = [[int(x) for x in row] for row in np.asarray(matrix, dtype=object).tolist()]
    rows = len(a)
    cols = len(a[0]) if rows else 0
    rank, previous = 0, 1
    for c in range(cols):
        if rank == rows:
            break
        pivot = next((i for i in range(rank, rows) if a[i][c] != 0), None)
        if pivot is None:
            continue
        a[rank], a[pivot] = a[pivot], a[rank]
        head = a[rank]
        hc = head[c]
        for i in range(rank + 1, rows):
            row = a[i]
            ic = row[c]
            for k in range(c + 1, cols):
                row[k] = (hc * row[k] - ic * head[k]) // previous
            row[c] = 0
        previous = hc
        rank += 1
    return rank


@dataclass(frozen=True)
class RankCertificate:
    """One exact rank computation, recorded so that anyone can redo it: the size, the number
    of features ``M``, the field (``p``, or ``0`` for Z by Bareiss), the seed of the integer
    instance, how ``J`` was built, and the rank found (at ``M`` and at ``M + 1`` features).

    >>> cert = certify_generic_rank(3, 3, 1, seed=5)
    >>> (cert.m, cert.n, cert.r, cert.M, cert.p, cert.seed, cert.rank)
    (3, 3, 1, 5, 2147483647, 5, 5)
    >>> cert.verify(), RankCertificate(**{**cert.as_dict(), "rank": 4}).verify()
    (True, False)
    """

    m: int
    n: int
    r: int
    M: int
    p: int
    """The prime of the field; 0 means exact over Z (Bareiss)."""
    seed: int
    construction: str
    """``"rows"`` (:func:`jacobian`) or ``"differences"`` (:func:`jacobian_by_differences`)."""
    rank: int
    """rank of J with the first M features."""
    rank_plus_one: int
    """rank of J with M + 1 features (same instance)."""

    @property
    def dimension(self) -> int:
        """``r(m+n-r)``, the gauge bound on rank J.

        >>> certify_generic_rank(3, 3, 1, seed=5).dimension
        5
        """
        return self.r * (self.m + self.n - self.r)

    @property
    def full(self) -> bool:
        """Full row rank at ``M`` and the gauge bound attained (not exceeded) at ``M + 1``.

        >>> certify_generic_rank(3, 3, 1, seed=5).full
        True
        """
        return self.rank == self.M and self.rank_plus_one == min(self.M + 1, self.dimension)

    def as_dict(self) -> dict:
        """The fields, JSON-able.

        >>> sorted(certify_generic_rank(2, 2, 1, seed=0).as_dict())
        ['M', 'construction', 'm', 'n', 'p', 'r', 'rank', 'rank_plus_one', 'seed']
        """
        return {k: getattr(self, k) for k in
                ("m", "n", "r", "M", "p", "seed", "construction", "rank", "rank_plus_one")}

    def verify(self) -> bool:
        """Recompute both ranks from the recorded fields and compare.

        >>> certify_generic_rank(2, 3, 1, seed=3, p=0, construction="differences").verify()
        True
        """
        again = certify_generic_rank(self.m, self.n, self.r, M=self.M, p=self.p, seed=self.seed,
                                     construction=self.construction)
        return again == self


def certify_generic_rank(m: int, n: int, r: int, *, M: Optional[int] = None, p: int = PRIME,
                         seed: int = ROUTE1_SEED, construction: str = "rows") -> RankCertificate:
    """Compute the exact rank of ``J`` on the integer instance of ``seed`` with ``M`` and
    ``M + 1`` features (default ``M = r(m+n-r)``), over ``F_p`` (or over Z by Bareiss if
    ``p = 0``).

    Parameters
    ----------
    m, n, r : int
        Sizes, ``1 <= r <= min(m, n)``.
    M : int, optional
        Number of features (default ``r(m+n-r)``).
    p : int
        A prime below 2^31, or 0 for exact rank over Z.
    seed : int
        Seed of :func:`integer_instance`.
    construction : {"rows", "differences"}
        :func:`jacobian` or :func:`jacobian_by_differences`.

    Examples
    --------
    >>> c = certify_generic_rank(5, 4, 2, p=0, construction="differences")
    >>> c.M, c.rank, c.rank_plus_one
    (14, 14, 14)
    >>> certify_generic_rank(2, 2, 3)
    Traceback (most recent call last):
    ...
    ValueError: r must be an integer in [1, min(m, n)] = [1, 2], got 3
    """
    m, n, r = (_check_size(k, v) for k, v in (("m", m), ("n", n), ("r", r)))
    if r > min(m, n):
        raise ValueError(f"r must be an integer in [1, min(m, n)] = [1, {min(m, n)}], got {r}")
    M = r * (m + n - r) if M is None else _check_size("M", M)
    if construction not in ("rows", "differences"):
        raise ValueError(f"construction must be 'rows' or 'differences', got {construction!r}")
    build = jacobian if construction == "rows" else jacobian_by_differences
    J = build(*integer_instance(m, n, r, M + 1, seed))
    rank = (lambda X: bareiss_rank(X)) if p == 0 else (lambda X: rank_mod_p(X, p))
    return RankCertificate(m, n, r, M, int(p), int(seed), construction, rank(J[:M]), rank(J))


def _field(p: int) -> str:
    return "Z (Bareiss, exact integers)" if p == 0 else f"F_p, p = {p}"


def _describe(cert: RankCertificate) -> str:
    return (f"{cert.m}x{cert.n} r={cert.r}: J built by {cert.construction} on the integer instance "
            f"of seed {cert.seed} (entries in [-4, 3]); over {_field(cert.p)}: rank J = {cert.rank} "
            f"with M = {cert.M} features, rank J = {cert.rank_plus_one} with M + 1 = {cert.M + 1} "
            f"(gauge bound r(m+n-r) = {cert.dimension})")


def _judge(cert: RankCertificate) -> tuple:
    """(True, detail) if the certificate shows full row rank at M = r(m+n-r) and the bound at
    M + 1; (None, reason) otherwise."""
    if cert.p != 0 and not is_prime(cert.p):
        return None, f"{cert.p} is not prime"
    if cert.M != cert.dimension:
        return None, f"M = {cert.M} is not r(m+n-r) = {cert.dimension}"
    if cert.rank_plus_one > cert.dimension:
        return None, (f"rank {cert.rank_plus_one} exceeds the gauge bound {cert.dimension}: the "
                      "Jacobian or the elimination is wrong")
    if not cert.full:
        return None, f"not full row rank: {_describe(cert)}"
    return True, (f"{_describe(cert)}. Full row rank at M = r(m+n-r) over {_field(cert.p)} "
                  "implies full row rank over Q, hence on a nonempty Zariski-open set of "
                  "(G, B, A), hence for every M <= r(m+n-r)")


@dataclass(frozen=True)
class GenericRankCertificate:
    """Route 1: the row-formula Jacobian mod :data:`PRIME` on the instance of ``seed``.

    >>> from proofs.catalogue import statement_by_id
    >>> ok, detail = GenericRankCertificate(8, 8, 1).verify(statement_by_id(statement_id(8, 8, 1)))
    >>> ok, detail.split(":")[0]
    (True, '8x8 r=1')
    """

    m: int
    n: int
    r: int
    p: int = PRIME
    seed: int = ROUTE1_SEED

    def certificate(self) -> RankCertificate:
        """The rank computation (fresh each call).

        >>> GenericRankCertificate(4, 4, 1).certificate().rank
        7
        """
        return certify_generic_rank(self.m, self.n, self.r, p=self.p, seed=self.seed,
                                    construction="rows")

    def verify(self, statement) -> tuple:
        """``(True, detail)`` iff the exact rank is full at ``M = r(m+n-r)``, else
        ``(None, reason)`` (never False: a degenerate instance proves nothing).

        >>> GenericRankCertificate(3, 3, 1, seed=0).verify(None)[0]
        True
        """
        return _judge(self.certificate())


@dataclass(frozen=True)
class IndependentRankCheck:
    """Route 2 (the statement's ``smt`` slot): another instance, ``J`` by forward-map
    differences, rank over Z (Bareiss) for at most :data:`BAREISS_MAX_COLUMNS` columns, else
    mod :data:`SECOND_PRIME`. Called as ``check(statement, timeout_s) -> (answer, detail,
    counterexample)``.

    >>> IndependentRankCheck(3, 3, 1)(None, 10.0)[0]
    True
    """

    m: int
    n: int
    r: int
    seed: int = ROUTE2_SEED

    @property
    def p(self) -> int:
        """0 (Bareiss over Z) for small J, else :data:`SECOND_PRIME`.

        >>> IndependentRankCheck(8, 8, 1).p, IndependentRankCheck(64, 64, 2).p
        (0, 2147483629)
        """
        return 0 if self.r * (self.m + self.n) <= BAREISS_MAX_COLUMNS else SECOND_PRIME

    def __call__(self, statement, timeout_s: float) -> tuple:
        start = time.perf_counter()
        cert = certify_generic_rank(self.m, self.n, self.r, p=self.p, seed=self.seed,
                                    construction="differences")
        answer, detail = _judge(cert)
        return answer, f"{detail} ({time.perf_counter() - start:.2f} s)", None


def statement_id(m: int, n: int, r: int) -> str:
    """The ledger id of the generic-positivity statement at ``(m, n, r)``.

    >>> statement_id(64, 64, 2)
    'R2.pl-star-generic.64x64.r2'
    """
    return f"R2.pl-star-generic.{m}x{n}.r{r}"


NOTES = (
    "Machine-checked: one exact rank of the integer Jacobian J (rows (vec(G_i A^T), "
    "vec(B^T G_i))) at M = r(m+n-r) features, by two independent routes (route 1: row formula, "
    f"seed {ROUTE1_SEED}, Gaussian elimination mod p = {PRIME}; route 2: another instance, seed "
    f"{ROUTE2_SEED}, J from exact differences of the bilinear forward map, rank over Z by "
    f"Bareiss when r(m+n) <= {BAREISS_MAX_COLUMNS}, else mod p = {SECOND_PRIME}); both also find "
    "rank r(m+n-r) with M + 1 features (the gauge bound of R2.gauge-kernel / R2.rank-J, attained). "
    "Assumed, nothing beyond this algebra (written out in proofs/exact_rank.py): (a) a nonzero "
    "M x M minor mod p is a nonzero integer, so rank over F_p = M gives rank over Q = M (over Z "
    "directly for Bareiss); (b) that minor is a polynomial in the entries of (G_1..G_M, B, A), "
    "not identically zero, so it is nonzero on a nonempty Zariski-open set whose complement is "
    "Lebesgue-null: for Gaussian features and points J has full row rank and mu = lambda_min(J J^T) "
    "> 0 with probability 1; (c) rows of a full-row-rank matrix stay independent, so the first M' "
    "features give full row rank for every M' <= r(m+n-r). Conversely mu = 0 for every M > "
    "r(m+n-r) (R2.rank-J). The Monte Carlo entries R2.pl-star.positivity.<run> are an "
    "illustration of this statement, not its proof. The route names in the ledger "
    "(sympy-certificate, z3-smt) are the slots of proofs.statement.check; the details say what "
    "ran.")


def exact_rank_statements(sizes=PL_RECORD_SIZES) -> list:
    """One statement per size: "generic PL* positivity for every M <= r(m+n-r)".

    >>> [s.id for s in exact_rank_statements(((8, 8, 1),))]
    ['R2.pl-star-generic.8x8.r1']
    >>> from proofs.statement import check
    >>> check(exact_rank_statements(((4, 6, 2),))[0]).status
    'proved'
    """
    import sympy

    from .statement import Statement

    out = []
    for m, n, r in sizes:
        d = r * (m + n - r)
        out.append(Statement(
            id=statement_id(m, n, r), source=SOURCE,
            title=(f"{m}x{n}, r = {r}: for generic (e.g. Gaussian) features G_i and points (B, A), "
                   f"mu = lambda_min(J J^T) > 0 for every M <= r(m+n-r) = {d}"),
            variables=(), hypotheses=(), conclusion=sympy.true,
            certificate=GenericRankCertificate(m, n, r), smt=IndependentRankCheck(m, n, r),
            text=(f"at m = {m}, n = {n}, r = {r}: the Jacobian J of theta = (B, A) -> calA(B A) has "
                  f"rank M for all (G_1..G_M, B, A) outside a proper algebraic subset, for every "
                  f"M <= r(m+n-r) = {d}; so the squared-loss PL* constant mu = lambda_min(J J^T) "
                  f"is positive with probability 1 for Gaussian features and points (and mu = 0 "
                  f"for every M > {d})"),
            notes=NOTES))
    return out
