"""The rank advisor, ``lorank prescribe``: least LoRA rank per matrix kind and criterion.

For each adapted matrix (query, key, value, attention output, MLP gate/up/down; or one bare
``m x n`` matrix) and each criterion of :data:`proofs.minimal_rank.CRITERIA`, the advisor
gives the least rank ``r <= min(m, n)`` that satisfies the criterion with ``M = K N``
equations, and the exact margin ``lhs - rhs`` at that rank, for both conventions of
THEORY.md section 0 when the task is binary (``K = 1``: one logit, Jang et al.'s count;
``K = 2``: two label-word logits, their code). ``K > 2`` is used as given. All arithmetic is
exact (integers and ``Fraction``; ``--cstar "1.35"`` is 27/20).

The margin is that of the criterion's polynomial form:

=================== ============================ ==============================
criterion           condition                    margin ``lhs - rhs``
=================== ============================ ==============================
``sard``            ``r(r+1)/2 > KN``            ``r(r+1)/2 - KN``
``sqrt_approx``     ``r > sqrt(2KN)``            ``r^2 - 2KN`` (squared form)
``manifold``        ``r(m+n-r) > C* KN``         ``r(m+n-r) - C* KN``
``dimension_count`` ``r(m+n-r) >= KN``           ``r(m+n-r) - KN``
``linear_solve``    ``r max(m,n) >= KN``         ``r max(m,n) - KN``
=================== ============================ ==============================

``sard`` and ``sqrt_approx`` do not depend on the shape; they are only capped at ``min(m, n)``.

JSON schema (``--json``)
------------------------
::

    {
      "inputs": {"source": "model" | "config" | "dims", "name": str | null,
                 "model_type": str | null, "K": int, "N": int,
                 "cstar": str (as given), "cstar_exact": "p/q", "binary": bool,
                 "criterion": str (the one used for --peft)},
      "matrices": {kind: {"out_features": int, "in_features": int,
                          "target_module": str | null, "rank_pattern_key": str | null}},
      "conventions": {"K=1": {"K": int, "N": int, "M": int, "meaning": str}, ...},
      "least_rank": {"K=1": {criterion: {kind: int | null}}, ...},
      "margin":     {"K=1": {criterion: {kind: "p/q" | null}}, ...},
      "criteria":   {criterion: {"condition": str, "kind": str, "source": str}},
      "canonical":  [{"setting": str, "K": int, "N": int, "M": int, "m": 768, "n": 768,
                      "least_rank": {criterion: int | null}}, ...]
    }

``null`` means no rank ``r <= min(m, n)`` satisfies the criterion. Conventions are keyed
``"K=1"`` and ``"K=2"`` for a binary task (``--K`` 1 or 2), else ``"K=<K>"``.

PEFT file (``--peft PATH``)
---------------------------
``PATH`` holds exactly keyword arguments of ``peft.LoraConfig``, nothing else, so that
``peft.LoraConfig(**json.load(open(PATH)))`` works as it stands::

    {"r": int, "lora_alpha": int, "target_modules": [str, ...],
     "rank_pattern": {regex key: int}, "alpha_pattern": {regex key: int}}

Where the numbers come from goes to a sidecar, ``<PATH without .json>.provenance.json``
(:func:`provenance_path`)::

    {"tool", "version", "model", "model_type", "criterion", "condition",
     "convention", "K", "N", "M", "cstar", "cstar_claim", "ranks": {kind: int | null},
     "excluded": [kind, ...], "shapes": {kind: [out_features, in_features]}}

Choices:

- the ranks are those of ``--criterion`` (default ``manifold``) under the caller's ``--K``;
- ``r`` is the largest rank over the adapted kinds, so a module that no pattern matches still
  gets enough rank; ``rank_pattern`` lists the kinds whose least rank is smaller;
- ``lora_alpha = r`` and ``alpha_pattern`` mirrors ``rank_pattern``: the scaling
  ``alpha / r`` is 1 on every module;
- a kind for which no rank ``<= min(m, n)`` suffices is left out of ``target_modules`` with a
  warning on stderr and listed in the sidecar's ``excluded``; if every kind is left out,
  nothing is written and the command fails (exit 2);
- in BERT-style models the ``rank_pattern`` key of the MLP down-projection is
  ``layer\\.\\d+\\.output\\.dense`` (not ``output.dense``, which would also match
  ``attention.output.dense``), and if the attention output is left out while the
  down-projection is kept, the down-projection is targeted per layer
  (``layer.<i>.output.dense``).

Both files are written atomically (temporary files in the same folder, then ``os.replace``);
a path that cannot be written (a directory, a folder that does not exist or is not a folder,
a read-only or pseudo file system such as ``/proc``) is refused with exit 2 and leaves nothing
behind.

Examples
--------
>>> from lorank.models import builtin_model
>>> p = prescribe(builtin_model("roberta-base").matrices(), K=2, N=32)
>>> [p.rank("K=2", c, "query") for c in ("sard", "sqrt_approx", "manifold")]
[11, 12, 1]
>>> p.rank("K=1", "sard", "query")
8
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Iterable, Optional, Sequence

from proofs.claims import CLAIMED_CSTAR
from proofs.minimal_rank import CRITERIA, least_rank, least_rank_sard, least_rank_sqrt_approx, manifold_dimension
from proofs.validation import (MAX_EXACT_DIGITS, InvalidArgument, require_positive_fraction,
                              require_positive_int, shown)

from .models import BUILTIN_MODELS, FAMILIES, MatrixKind, ModelShapes, builtin_model, dims_matrix, from_config

__all__ = [
    "CANONICAL_SETTINGS",
    "Cell",
    "Convention",
    "Prescription",
    "add_arguments",
    "canonical_table",
    "conventions",
    "format_margin",
    "margin",
    "PEFT_KEYS",
    "check_output_path",
    "peft_config",
    "peft_provenance",
    "provenance_path",
    "prescribe",
    "r12_derivation",
    "render",
    "run",
    "to_json",
    "write_json_atomic",
    "write_json_files_atomic",
]

#: (setting, K, N) of the canonical few-shot table, all at 768 x 768 (RoBERTa-base).
CANONICAL_SETTINGS: tuple = (
    ("16-shot binary, one logit", 1, 32),
    ("16-shot binary, two label-word logits", 2, 32),
    ("16-shot MNLI-like, three classes", 3, 48),
)
CANONICAL_SHAPE = (768, 768)

# criterion -> (condition in polynomial form, sides(r, m, n, M, c) -> (lhs, rhs), strict)
_SIDES = {
    "sard": ("r(r+1)/2 > KN", lambda r, m, n, M, c: (Fraction(r * (r + 1), 2), Fraction(M)), True),
    "sqrt_approx": ("r^2 > 2KN", lambda r, m, n, M, c: (Fraction(r * r), Fraction(2 * M)), True),
    "manifold": ("r(m+n-r) > C* KN", lambda r, m, n, M, c: (Fraction(manifold_dimension(m, n, r)), c * M), True),
    "dimension_count": ("r(m+n-r) >= KN", lambda r, m, n, M, c: (Fraction(manifold_dimension(m, n, r)), Fraction(M)), False),
    "linear_solve": ("r max(m,n) >= KN", lambda r, m, n, M, c: (Fraction(r * max(m, n)), Fraction(M)), False),
}
assert set(_SIDES) == set(CRITERIA), "every criterion needs its margin"


def _criterion(name: str, argument: str = "criterion") -> str:
    if name not in CRITERIA:
        raise InvalidArgument(f"{argument} must be one of {', '.join(CRITERIA)}, got {name!r}")
    return name


def margin(criterion: str, r: int, m: int, n: int, M: int, cstar=CLAIMED_CSTAR.value) -> Fraction:
    """Exact margin ``lhs - rhs`` of ``criterion`` at rank ``r`` (see the module table).

    The criterion holds exactly when the margin is positive (``> 0`` for the strict ones,
    ``>= 0`` for ``dimension_count`` and ``linear_solve``).

    Examples
    --------
    At 16-shot binary with two logits (``M = 64``), 768 x 768:

    >>> margin("sard", 11, 768, 768, 64), margin("sard", 10, 768, 768, 64)
    (Fraction(2, 1), Fraction(-9, 1))
    >>> margin("manifold", 1, 768, 768, 64, "1.35")   # 1535 - 1.35 * 64 = 1448.6
    Fraction(7243, 5)
    """
    _criterion(criterion)
    c = require_positive_fraction("cstar", cstar)
    lhs, rhs = _SIDES[criterion][1](r, m, n, M, c)
    return lhs - rhs


def format_margin(x: Optional[Fraction]) -> str:
    """A margin as a signed decimal: exact when the denominator has only factors 2 and 5.

    >>> format_margin(Fraction(7243, 5)), format_margin(Fraction(2)), format_margin(Fraction(1, 3))
    ('+1448.6', '+2', '+0.333333...')
    >>> format_margin(None)
    ''
    """
    if x is None:
        return ""
    sign = "-" if x < 0 else "+"
    x = abs(Fraction(x))
    d, twos, fives = x.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    if d == 1:
        digits = max(twos, fives)
        scaled = x.numerator * 10**digits // x.denominator
        whole, frac = divmod(scaled, 10**digits)
        return f"{sign}{whole}" + (f".{frac:0{digits}d}" if digits else "")
    whole, rest = divmod(x.numerator * 10**6 // x.denominator, 10**6)
    return f"{sign}{whole}.{rest:06d}..."


@dataclass(frozen=True)
class Convention:
    """One way of counting outputs: ``K`` per example, ``N`` examples, ``M = K N``.

    >>> conventions(2, 32)[0]
    Convention(key='K=1', K=1, N=32, M=32, meaning='binary, one logit (Jang et al.)')
    """

    key: str
    K: int
    N: int
    M: int
    meaning: str


def conventions(K, N) -> tuple[Convention, ...]:
    """The K conventions to report: both binary ones for ``K`` in {1, 2}, else ``K`` as given.

    >>> [c.M for c in conventions(1, 32)], [c.M for c in conventions(3, 48)]
    ([32, 64], [144])
    """
    K = require_positive_int("K", K)
    N = require_positive_int("N", N)
    if K <= 2:
        return (
            Convention("K=1", 1, N, N, "binary, one logit (Jang et al.)"),
            Convention("K=2", 2, N, 2 * N, "binary, two label-word logits (their code)"),
        )
    return (Convention(f"K={K}", K, N, K * N, f"{K} outputs per example, as given"),)


@dataclass(frozen=True)
class Cell:
    """Least rank (``None``: no ``r <= min(m, n)`` suffices) and the exact margin there.

    >>> Cell(11, Fraction(2)).text()
    '11 (+2)'
    >>> Cell(None, None).text()
    'none'
    """

    rank: Optional[int]
    margin: Optional[Fraction]

    def text(self) -> str:
        """Display form: ``"rank (margin)"`` or ``"none"``.

        >>> Cell(1, Fraction(7243, 5)).text()
        '1 (+1448.6)'
        """
        return "none" if self.rank is None else f"{self.rank} ({format_margin(self.margin)})"


def _cell(criterion: str, m: int, n: int, M: int, c: Fraction) -> Cell:
    r = least_rank(criterion, m, n, M, c)
    return Cell(r, None if r is None else margin(criterion, r, m, n, M, c))


@dataclass(frozen=True)
class Prescription:
    """The advisor's answer: per convention, criterion and matrix kind, a :class:`Cell`.

    >>> from lorank.models import dims_matrix
    >>> p = prescribe([dims_matrix(16, 16)], K=3, N=48)
    >>> p.rank("K=3", "manifold", "matrix")   # r(32 - r) > 1.35 * 144 = 194.4: 8 * 24 = 192, 9 * 23 = 207
    9
    >>> p.rank("K=3", "sard", "matrix") is None   # J2 needs 17 > min(16, 16)
    True
    """

    matrices: tuple
    conventions: tuple
    cstar: str
    cstar_exact: Fraction
    K: int
    N: int
    cells: dict  # convention key -> criterion -> kind -> Cell

    def rank(self, convention: str, criterion: str, kind: str) -> Optional[int]:
        """Least rank for one convention (``"K=2"``), criterion and matrix kind.

        >>> prescribe([dims_matrix(768, 768)], 2, 32).rank("K=2", "sqrt_approx", "matrix")
        12
        """
        return self.cells[convention][criterion][kind].rank

    @property
    def binary(self) -> bool:
        """Whether the task was read as binary (``K`` in {1, 2}).

        >>> prescribe([dims_matrix(8, 8)], 1, 4).binary
        True
        """
        return self.K <= 2

    def convention(self, key: Optional[str] = None) -> Convention:
        """The convention with ``key``; by default the caller's ``K``.

        >>> prescribe([dims_matrix(8, 8)], 1, 4).convention().M
        4
        """
        key = key or f"K={self.K}"
        return next(c for c in self.conventions if c.key == key)


def prescribe(matrices: Iterable[MatrixKind], K, N, cstar=CLAIMED_CSTAR.value) -> Prescription:
    """Least rank and margin under every criterion, for every matrix kind and K convention.

    Parameters
    ----------
    matrices : iterable of MatrixKind
        From :meth:`lorank.models.ModelShapes.matrices` or :func:`lorank.models.dims_matrix`.
    K, N : int
        Outputs per example (the caller's convention) and number of examples.
    cstar : str, int or Fraction
        The constant of the manifold criterion, read exactly (default ``"1.35"``).

    Returns
    -------
    Prescription

    Raises
    ------
    InvalidArgument
        For non-positive or non-integer ``K``/``N`` or a non-positive ``cstar``.

    Examples
    --------
    >>> from lorank.models import builtin_model
    >>> p = prescribe(builtin_model("roberta-base").matrices(), K=3, N=48)
    >>> p.rank("K=3", "sard", "value"), p.rank("K=3", "manifold", "mlp_down")
    (17, 1)
    """
    matrices = tuple(matrices)
    convs = conventions(K, N)
    c = require_positive_fraction("cstar", cstar)
    cells = {
        conv.key: {
            crit: {mk.kind: _cell(crit, mk.m, mk.n, conv.M, c) for mk in matrices} for crit in CRITERIA
        }
        for conv in convs
    }
    return Prescription(matrices, convs, str(cstar), c, int(K), int(N), cells)


def canonical_table(cstar=CLAIMED_CSTAR.value) -> list[dict]:
    """The canonical few-shot table at 768 x 768: least rank per criterion.

    >>> [(row["M"], row["least_rank"]["sard"], row["least_rank"]["sqrt_approx"]) for row in canonical_table()]
    [(32, 8, 9), (64, 11, 12), (144, 17, 17)]
    >>> {row["least_rank"]["manifold"] for row in canonical_table()}
    {1}
    """
    m, n = CANONICAL_SHAPE
    c = require_positive_fraction("cstar", cstar)
    return [
        {"setting": setting, "K": K, "N": N, "M": K * N, "m": m, "n": n,
         "least_rank": {crit: least_rank(crit, m, n, K * N, c) for crit in CRITERIA}}
        for setting, K, N in CANONICAL_SETTINGS
    ]


def _sqrt_decimal(x: int, digits: int = 6) -> str:
    with localcontext() as ctx:
        ctx.prec = 30
        root = Decimal(x).sqrt()
    return f"{root:.{digits}f}"


def r12_derivation(K: int = 2, N: int = 32, cstar=CLAIMED_CSTAR.value) -> list[str]:
    """Where "r >= 12" comes from, computed: J2's count and its square-root approximation.

    Every number is computed (``math.isqrt`` through :mod:`proofs.minimal_rank`); the first
    line states the setting, the others each give the threshold and its two neighbours.

    >>> for line in r12_derivation(): print(line)
    16-shot binary with two label-word logits: M = K N = 2 x 32 = 64.
    J2 (sard): r(r+1)/2 > 64. r = 10 gives 55 <= 64; r = 11 gives 66 > 64. Least r = 11.
    Square-root form: r > sqrt(2 x 64) = sqrt(128) = 11.313708. 11^2 = 121 <= 128; 12^2 = 144 > 128. Least r = 12.
    So "r >= 12" is the square-root form; J2's exact count asks for r >= 11.
    With one logit (K = 1, M = 32) the same two routes give 8 and 9.
    Manifold count (R1) at 768 x 768, C* = 1.35: r = 1 gives 1 x (768 + 768 - 1) = 1535 > 1.35 x 64 = 86.4. Least r = 1.
    """
    K, N = require_positive_int("K", K), require_positive_int("N", N)
    c = require_positive_fraction("cstar", cstar)
    M = K * N
    rs, rq = least_rank_sard(M), least_rank_sqrt_approx(M)
    lines = [f"16-shot binary with two label-word logits: M = K N = {K} x {N} = {M}."
             if (K, N) == (2, 32) else f"K = {K}, N = {N}: M = K N = {M}."]
    before = f"r = {rs - 1} gives {(rs - 1) * rs // 2} <= {M}; " if rs > 1 else ""
    lines.append(f"J2 (sard): r(r+1)/2 > {M}. {before}r = {rs} gives {rs * (rs + 1) // 2} > {M}. Least r = {rs}.")
    before = f"{rq - 1}^2 = {(rq - 1) ** 2} <= {2 * M}; " if rq > 1 else ""
    lines.append(f"Square-root form: r > sqrt(2 x {M}) = sqrt({2 * M}) = {_sqrt_decimal(2 * M)}. "
                 f"{before}{rq}^2 = {rq * rq} > {2 * M}. Least r = {rq}.")
    lines.append(f'So "r >= {rq}" is the square-root form; J2\'s exact count asks for r >= {rs}.')
    if K == 2:
        lines.append(f"With one logit (K = 1, M = {N}) the same two routes give "
                     f"{least_rank_sard(N)} and {least_rank_sqrt_approx(N)}.")
    m, n = CANONICAL_SHAPE
    r1 = least_rank("manifold", m, n, M, c)
    if r1 is not None:
        cstr = str(cstar)
        lines.append(
            f"Manifold count (R1) at {m} x {n}, C* = {cstr}: r = {r1} gives {r1} x ({m} + {n} - {r1}) = "
            f"{manifold_dimension(m, n, r1)} > {cstr} x {M} = {format_margin(c * M)[1:]}. Least r = {r1}.")
    return lines


_SHAPE_NOTE = "Note: sard and sqrt_approx do not depend on the shape; they are only capped at min(m, n)."


def _table_text(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain-text fallback
        widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        out = [title, fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
        out += [fmt.format(*row) for row in rows]
        return "\n".join(out + ([caption] if caption else [])) + "\n"
    table = Table()
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i < 2 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    buffer = io.StringIO()
    Console(file=buffer, width=160, force_terminal=False, color_system=None).print(table)
    lines = [title] + [line.rstrip() for line in buffer.getvalue().splitlines()] + ([caption] if caption else [])
    return "\n".join(lines) + "\n"


def render(prescription: Prescription, name: str = "", cstar_note: bool = True) -> str:
    """The human-readable report: one table per K convention, the canonical few-shot table
    and the derivation of "r >= 12".

    >>> text = render(prescribe([dims_matrix(768, 768)], K=2, N=32), name="768 x 768")
    >>> "11 (+2)" in text and "12 (+16)" in text and "1 (+1448.6)" in text
    True
    """
    p = prescription
    out = []
    head = f"lorank prescribe: {name}" if name else "lorank prescribe"
    out.append(f"{head}; K = {p.K}, N = {p.N}, C* = {p.cstar}"
               + (" (binary task: both K conventions shown)" if p.binary else
                  f" (K = {p.K} taken as given: K classes count K in both conventions)"))
    out.append("criteria (cell = least rank (margin lhs - rhs there, exact); 'none' = no rank <= min(m, n)):")
    width = max(len(k) for k in CRITERIA)
    cond = max(len(v[0]) for v in _SIDES.values())
    out.extend(f"  {k:<{width}}  {_SIDES[k][0]:<{cond}}  {CRITERIA[k].kind}; {CRITERIA[k].source}" for k in CRITERIA)
    out.append("")
    headers = ["matrix", "m x n"] + list(CRITERIA)
    for conv in p.conventions:
        rows = [[mk.label, f"{mk.m} x {mk.n}"] + [p.cells[conv.key][crit][mk.kind].text() for crit in CRITERIA]
                for mk in p.matrices]
        out.append(_table_text(f"{conv.key}: {conv.meaning}; M = K N = {conv.M}", headers, rows))
    out.append(_SHAPE_NOTE)
    out.append("")
    rows = [[row["setting"], f"K={row['K']} N={row['N']}", str(row["M"])]
            + [("none" if row["least_rank"][c] is None else str(row["least_rank"][c])) for c in CRITERIA]
            for row in canonical_table(p.cstar_exact)]
    out.append(_table_text(f"Canonical few-shot table, {CANONICAL_SHAPE[0]} x {CANONICAL_SHAPE[1]} (C* = {p.cstar})",
                           ["setting", "K, N", "M"] + list(CRITERIA), rows))
    out.append('Where "r >= 12" comes from:')
    out.extend("  " + line for line in r12_derivation(cstar=p.cstar))
    return "\n".join(out).rstrip() + "\n"


def to_json(prescription: Prescription, source: str = "dims", name: Optional[str] = None,
            model_type: Optional[str] = None, criterion: str = "manifold") -> dict:
    """The machine-readable answer (schema in the module docstring).

    >>> d = to_json(prescribe([dims_matrix(768, 768)], K=2, N=32))
    >>> d["least_rank"]["K=2"]["sard"], d["least_rank"]["K=1"]["sard"], d["margin"]["K=2"]["manifold"]
    ({'matrix': 11}, {'matrix': 8}, {'matrix': '7243/5'})
    """
    p = prescription
    return {
        "inputs": {"source": source, "name": name, "model_type": model_type, "K": p.K, "N": p.N,
                   "cstar": p.cstar, "cstar_exact": str(p.cstar_exact), "binary": p.binary,
                   "criterion": _criterion(criterion)},
        "matrices": {mk.kind: {"out_features": mk.out_features, "in_features": mk.in_features,
                               "target_module": mk.module, "rank_pattern_key": mk.pattern}
                     for mk in p.matrices},
        "conventions": {c.key: {"K": c.K, "N": c.N, "M": c.M, "meaning": c.meaning} for c in p.conventions},
        "least_rank": {ck: {crit: {kind: cell.rank for kind, cell in by_kind.items()}
                            for crit, by_kind in by_crit.items()} for ck, by_crit in p.cells.items()},
        "margin": {ck: {crit: {kind: None if cell.margin is None else str(cell.margin)
                               for kind, cell in by_kind.items()}
                        for crit, by_kind in by_crit.items()} for ck, by_crit in p.cells.items()},
        "criteria": {k: {"condition": c.condition, "kind": c.kind, "source": c.source} for k, c in CRITERIA.items()},
        "canonical": canonical_table(p.cstar_exact),
    }


def _suffix_targets(module: str, name: str) -> bool:
    # PEFT's list form of target_modules: exact name or a "."-separated suffix.
    return name == module or name.endswith("." + module)


#: The keys :func:`peft_config` writes: all of them are fields of ``peft.LoraConfig`` (since
#: peft 0.6), so the file is its keyword arguments as they stand.
PEFT_KEYS = ("r", "lora_alpha", "target_modules", "rank_pattern", "alpha_pattern")


@dataclass(frozen=True)
class _PeftPlan:
    config: dict
    provenance: dict
    warnings: tuple


def _peft_plan(prescription: Prescription, shapes: ModelShapes, criterion: str,
               convention: Optional[str]) -> _PeftPlan:
    p = prescription
    criterion = _criterion(criterion, "--criterion")
    matrices = [mk for mk in p.matrices]
    if any(mk.module is None or mk.pattern is None for mk in matrices):
        raise InvalidArgument(
            f"--peft needs PEFT module names, which model_type {shapes.model_type!r} of {shapes.name!r} "
            f"does not give (known: {', '.join(t for types in FAMILIES.values() for t in types)})")
    conv = p.convention(convention)
    ranks = {mk.kind: p.cells[conv.key][criterion][mk.kind].rank for mk in matrices}
    kept = [mk for mk in matrices if ranks[mk.kind] is not None]
    dropped = [mk for mk in matrices if ranks[mk.kind] is None]
    if not kept:
        raise InvalidArgument(
            f"--criterion {criterion}: no rank r <= min(m, n) satisfies {_SIDES[criterion][0]} for any "
            f"matrix kind at K N = {conv.M}; nothing to write to --peft")
    warnings = tuple(f"{mk.label} ({mk.m} x {mk.n}) left out of target_modules: no rank r <= {min(mk.m, mk.n)} "
                     f"satisfies {criterion} at K N = {conv.M}" for mk in dropped)
    r = max(ranks[mk.kind] for mk in kept)
    rank_pattern = {mk.pattern: ranks[mk.kind] for mk in kept if ranks[mk.kind] != r}
    dropped_names = [name for mk in dropped for name in mk.example_names]
    targets: list[str] = []
    for mk in kept:
        if mk.layer_suffix and any(_suffix_targets(mk.module, name) for name in dropped_names):
            new = [mk.layer_suffix.format(i=i) for i in range(shapes.num_hidden_layers)]
        else:
            new = [mk.module]
        targets.extend(t for t in new if t not in targets)
    config = {"r": r, "lora_alpha": r, "target_modules": targets, "rank_pattern": rank_pattern,
              "alpha_pattern": dict(rank_pattern)}
    assert tuple(config) == PEFT_KEYS
    provenance = {
        "tool": "lorank prescribe", "version": _version(), "model": shapes.name,
        "model_type": shapes.model_type, "criterion": criterion,
        "condition": CRITERIA[criterion].condition, "convention": conv.key, "K": conv.K, "N": conv.N,
        "M": conv.M, "cstar": p.cstar, "cstar_claim": CLAIMED_CSTAR.citation(), "ranks": ranks,
        "excluded": [mk.kind for mk in dropped],
        "shapes": {mk.kind: [mk.out_features, mk.in_features] for mk in matrices},
    }
    return _PeftPlan(config, provenance, warnings)


def peft_config(prescription: Prescription, shapes: ModelShapes, criterion: str = "manifold",
                convention: Optional[str] = None) -> tuple[dict, list[str]]:
    r"""``peft.LoraConfig`` keyword arguments from the advisor's ranks, and the warnings raised.

    The dictionary has exactly the keys :data:`PEFT_KEYS`; where the numbers come from is in
    :func:`peft_provenance`. See the module docstring for the choices. ``convention`` defaults
    to the caller's ``K``.

    Raises
    ------
    InvalidArgument
        If the model has no known PEFT module names, or no kind has a sufficient rank.

    Examples
    --------
    >>> from lorank.models import builtin_model
    >>> roberta = builtin_model("roberta-base")
    >>> cfg, warnings = peft_config(prescribe(roberta.matrices(), 2, 32), roberta, "sard")
    >>> cfg["r"], cfg["rank_pattern"], cfg["target_modules"][:3], warnings
    (11, {}, ['query', 'key', 'value'], [])
    >>> tuple(cfg) == PEFT_KEYS
    True

    With 100000 examples the 768 x 768 matrices need rank 203 under the manifold count, the
    768 x 3072 ones only 72; the down-projection's key cannot match the attention output:

    >>> cfg, _ = peft_config(prescribe(roberta.matrices(), 2, 100_000), roberta, "manifold")
    >>> cfg["r"], cfg["rank_pattern"]
    (203, {'intermediate\\.dense': 72, 'layer\\.\\d+\\.output\\.dense': 72})
    """
    plan = _peft_plan(prescription, shapes, criterion, convention)
    return dict(plan.config), list(plan.warnings)


def peft_provenance(prescription: Prescription, shapes: ModelShapes, criterion: str = "manifold",
                    convention: Optional[str] = None) -> dict:
    """Where the ``--peft`` numbers come from: the sidecar's content (module docstring).

    >>> from lorank.models import builtin_model
    >>> roberta = builtin_model("roberta-base")
    >>> src = peft_provenance(prescribe(roberta.matrices(), 2, 32), roberta, "sard")
    >>> src["criterion"], src["K"], src["N"], src["cstar"], src["ranks"]["query"], src["excluded"]
    ('sard', 2, 32, '1.35', 11, [])
    """
    return _peft_plan(prescription, shapes, criterion, convention).provenance


def provenance_path(path) -> str:
    """The sidecar of a ``--peft`` file: ``lora.json`` -> ``lora.provenance.json``.

    >>> provenance_path("out/lora.json"), provenance_path("lora")
    ('out/lora.provenance.json', 'lora.provenance.json')
    """
    path = os.fspath(path)
    root, ext = os.path.splitext(path)
    return (root if ext.lower() == ".json" else path) + ".provenance.json"


def _version() -> str:
    from . import __version__

    return __version__


def check_output_path(path, argument: str = "--peft") -> str:
    """Check that ``path`` names a file that can be created or replaced; return it.

    Refuses (:class:`InvalidArgument`, naming ``argument`` and the path): an empty path, a
    path ending in a separator, an existing directory, a folder that does not exist or is not
    a folder (``<file>/sub``), and a folder where no file can be created (``/proc``).

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     ok = check_output_path(os.path.join(folder, "lora.json"))
    ...     check_output_path(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --peft must be a file path, got the directory '...'
    """
    path = os.fspath(path)
    if not path or path.endswith((os.sep, "/")) or "\0" in path:
        raise InvalidArgument(f"{argument} must be a file path, got {shown(path, 1000)}")
    if os.path.isdir(path):
        raise InvalidArgument(f"{argument} must be a file path, got the directory {shown(path, 1000)}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(folder):
        raise InvalidArgument(f"{argument} folder does not exist, got {shown(path, 1000)}")
    if not os.path.isdir(folder):
        raise InvalidArgument(f"{argument} folder is not a folder, got {shown(path, 1000)}")
    return path


def _unwritable(argument: str, path: str, error: OSError) -> InvalidArgument:
    reason = error.strerror or type(error).__name__
    return InvalidArgument(f"{argument} cannot be written ({reason}), got {shown(path, 1000)}")


def write_json_atomic(path, data, argument: str = "--peft") -> str:
    """Write ``data`` as JSON to ``path`` atomically (temporary file, then ``os.replace``).

    Any failure to write is an :class:`InvalidArgument` naming ``argument`` and the path, and
    leaves no file behind.

    >>> import tempfile, os, json
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     target = write_json_atomic(os.path.join(folder, "lora.json"), {"r": 1})
    ...     with open(target) as handle:
    ...         print(json.load(handle), sorted(os.listdir(folder)))
    {'r': 1} ['lora.json']
    >>> write_json_atomic("/proc/lora.json", {"r": 1})
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --peft cannot be written (No such file or directory), got '/proc/lora.json'
    """
    return write_json_files_atomic({path: data}, argument)[0]


def write_json_files_atomic(files: dict, argument: str = "--peft") -> list:
    """Write several JSON files all-or-nothing: every one to a temporary file first, then
    each moved into place; on any failure nothing new is left behind.

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = write_json_files_atomic({os.path.join(folder, "a.json"): 1,
    ...                                      os.path.join(folder, "b.json"): 2})
    ...     sorted(os.listdir(folder))
    ['a.json', 'b.json']
    """
    paths = [check_output_path(path, argument) for path in files]
    temporaries: list = []
    try:
        umask = os.umask(0)
        os.umask(umask)
        for path, data in zip(paths, files.values()):
            folder = os.path.dirname(os.path.abspath(path))
            try:
                fd, tmp = tempfile.mkstemp(prefix=".lorank-", suffix=".json.tmp", dir=folder)
            except OSError as error:
                raise _unwritable(argument, path, error) from None
            temporaries.append(tmp)
            try:
                os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle, indent=2)
                    handle.write("\n")
            except OSError as error:
                raise _unwritable(argument, path, error) from None
        for path, tmp in zip(paths, temporaries):
            try:
                os.replace(tmp, path)
            except OSError as error:
                raise _unwritable(argument, path, error) from None
    except BaseException:
        for tmp in temporaries:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    return paths


# ----------------------------------------------------------------------------- command line


class _Once(argparse.Action):
    """Store a scalar option's string, refusing a second occurrence (``--K 3 --K 5`` would
    otherwise silently keep the last one)."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = getattr(namespace, "_lorank_given", None)
        if seen is None:
            seen = {}
            setattr(namespace, "_lorank_given", seen)
        if self.dest in seen:
            raise argparse.ArgumentError(
                self, f"takes one value, given twice: {seen[self.dest]!r} and {values!r}")
        seen[self.dest] = values
        setattr(namespace, self.dest, values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``prescribe`` options to ``parser``. Every value is read as a string and checked
    by :func:`run`, so that bad values give :class:`InvalidArgument` with one message style.
    Each option takes one value and may be given once.

    >>> p = argparse.ArgumentParser(); add_arguments(p)
    >>> vars(p.parse_args(["--model", "roberta-base", "--K", "2", "--N", "32"]))["K"]
    '2'
    """
    parser.allow_abbrev = False  # "--m" must never be read as an abbreviation of "--model"
    once = dict(type=str, action=_Once)
    source = parser.add_argument_group("what to adapt (give exactly one)")
    source.add_argument("--m", **once, help="rows (out_features) of one bare weight matrix")
    source.add_argument("--n", **once, help="columns (in_features) of that matrix")
    source.add_argument("--model", **once,
                        help="built-in model: " + ", ".join(BUILTIN_MODELS))
    source.add_argument("--config", **once, metavar="PATH", help="a Hugging Face config.json")
    data = parser.add_argument_group("data")
    data.add_argument("--K", **once, help="outputs per example (1 or 2: binary, both conventions shown)")
    data.add_argument("--N", **once, help="number of training examples")
    parser.add_argument("--cstar", **once, default=CLAIMED_CSTAR.value,
                        help=f"C* of the manifold criterion, exact (default {CLAIMED_CSTAR.value}, "
                             f"the claim of seed 000: {CLAIMED_CSTAR.reading})")
    parser.add_argument("--criterion", **once, default="manifold",
                        help=f"criterion for --peft: one of {', '.join(CRITERIA)} (default manifold)")
    parser.add_argument("--kinds", **once, default=None,
                        help="comma-separated matrix kinds to adapt (default all), e.g. query,value")
    parser.add_argument("--json", action="store_true", help="print the machine-readable answer")
    parser.add_argument("--peft", **once, metavar="PATH",
                        help="write peft.LoraConfig keyword arguments here, so that "
                             "LoraConfig(**json.load(open(PATH))) works; where they come from goes "
                             "to PATH's sidecar <PATH without .json>.provenance.json")


def _int_option(name: str, text) -> int:
    if isinstance(text, str):
        digits = text.strip()
        if digits.isascii() and digits.isdigit() and len(digits.lstrip("0")) > MAX_EXACT_DIGITS:
            raise InvalidArgument(f"{name} must be a positive integer of at most {MAX_EXACT_DIGITS} digits, "
                                  f"got {shown(text)}")
        try:
            text = int(digits, 10)
        except ValueError:
            pass
    return require_positive_int(name, text)


def _resolve(args) -> tuple:
    m, n = getattr(args, "m", None), getattr(args, "n", None)
    model, config = getattr(args, "model", None), getattr(args, "config", None)
    given = [label for label, present in (("--m/--n", m is not None or n is not None),
                                          ("--model", model is not None), ("--config", config is not None))
             if present]
    if len(given) != 1:
        raise InvalidArgument(
            f"give exactly one of --m/--n, --model, --config, got {', '.join(given) if given else 'none'}")
    if given[0] == "--m/--n":
        if m is None or n is None:
            missing = "--m" if m is None else "--n"
            raise InvalidArgument(f"{missing} is needed with {'--n' if missing == '--m' else '--m'}, got none")
        return "dims", None, None, (dims_matrix(_int_option("--m", m), _int_option("--n", n)),)
    shapes = builtin_model(model) if model is not None else from_config(config)
    return ("model" if model is not None else "config"), shapes, shapes.name, shapes.matrices()


def run(args) -> int:
    """Run ``lorank prescribe`` with parsed ``args``; print the report (or JSON) to stdout.

    Returns 0. Bad input raises :class:`InvalidArgument` (the CLI prints it on one line and
    exits 2). Warnings (kinds left out of ``--peft``) go to stderr.

    >>> p = argparse.ArgumentParser(); add_arguments(p)
    >>> run(p.parse_args(["--m", "768", "--n", "768", "--K", "2", "--N", "32", "--json"])) # doctest: +ELLIPSIS
    {...
    0
    >>> run(p.parse_args(["--m", "2.5", "--n", "768", "--K", "2", "--N", "32"]))
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --m must be a positive integer, got '2.5'
    """
    source, shapes, name, matrices = _resolve(args)
    for option in ("K", "N"):
        if getattr(args, option, None) is None:
            raise InvalidArgument(f"--{option} is required ({'outputs per example' if option == 'K' else 'examples'}), got none")
    K, N = _int_option("--K", args.K), _int_option("--N", args.N)
    cstar_text = getattr(args, "cstar", None)
    cstar_text = CLAIMED_CSTAR.value if cstar_text is None else cstar_text   # "" is refused, not defaulted
    require_positive_fraction("--cstar", cstar_text)
    criterion = getattr(args, "criterion", None)
    criterion = _criterion("manifold" if criterion is None else criterion, "--criterion")
    kinds = getattr(args, "kinds", None)
    if kinds is not None:
        wanted = [k.strip() for k in kinds.split(",") if k.strip()]
        known = [mk.kind for mk in matrices]
        bad = [k for k in wanted if k not in known]
        if bad or not wanted:
            raise InvalidArgument(f"--kinds must name some of {', '.join(known)}, got {kinds!r}")
        matrices = tuple(mk for mk in matrices if mk.kind in wanted)
    peft_path = getattr(args, "peft", None)
    if peft_path is not None:   # refuse an unwritable path before any work
        sidecar = provenance_path(check_output_path(peft_path, "--peft"))
        check_output_path(sidecar, "--peft (its provenance sidecar)")
    p = prescribe(matrices, K, N, cstar_text)
    if peft_path is not None:
        if shapes is None:
            raise InvalidArgument(f"--peft needs --model or --config (module names), got dimensions only: {peft_path!r}")
        try:
            plan = _peft_plan(p, shapes, criterion, None)
        except InvalidArgument as error:
            raise InvalidArgument(f"{error} (writing {peft_path!r})") from None
        for warning in plan.warnings:
            print(f"lorank prescribe: warning: {warning}", file=sys.stderr)
        config = plan.config
        write_json_files_atomic({peft_path: plan.config, sidecar: plan.provenance}, "--peft")
    if getattr(args, "json", False):
        print(json.dumps(to_json(p, source, name, shapes.model_type if shapes else None, criterion), indent=2))
    else:
        label = name if source != "dims" else f"{matrices[0].m} x {matrices[0].n} matrix"
        if shapes is not None:
            label += (f" (model_type {shapes.model_type}, hidden {shapes.hidden_size}, FFN {shapes.intermediate_size}, "
                      f"{shapes.num_hidden_layers} layers, {shapes.num_attention_heads} heads"
                      + (f", {shapes.num_key_value_heads} key/value heads" if shapes.num_key_value_heads != shapes.num_attention_heads else "")
                      + ")")
        print(render(p, label), end="")
    if peft_path is not None:
        print(f"lorank prescribe: wrote {peft_path} (criterion {criterion}, r = {config['r']}; "
              f"LoraConfig(**json.load(open(path))) ready) and its provenance {sidecar}",
              file=sys.stderr if getattr(args, "json", False) else sys.stdout)
    return 0
