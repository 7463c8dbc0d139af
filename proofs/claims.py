"""Claimed constants, each written once with its source; and our own heuristic references.

A leaf module: it imports nothing of this project and neither sympy nor torch, so the exact
side, the engine, the CLI and the benchmarks can all read the same value from here instead of
typing it again.

Two kinds of record, told apart by :attr:`Constant.kind`:

``"paper-claim"``
    A number a source paper states. The project checks it; it is never tuned to it.
``"heuristic"``
    A reference value of OUR choosing (THEORY.md), not a claim of any paper. It is printed
    beside measurements as a landmark, and a verdict against it says nothing about a paper.

Names for code elsewhere: :data:`CLAIMED_CSTAR` (the paper's C* ~ 1.35) and
:data:`COVER_RHO` (Cover's count as rho = 1/2, our heuristic for E4 separability).

Examples
--------
The claimed constant, exact and as a float, read back by its name:

>>> CLAIMED_CSTAR.value, CLAIMED_CSTAR.exact(), CLAIMED_CSTAR.as_float
('1.35', Fraction(27, 20), 1.35)
>>> by_name("cstar") is CLAIMED_CSTAR, CLAIMED_CSTAR.kind
(True, 'paper-claim')

Cover's count is ours, not the paper's, and says so:

>>> COVER_RHO.kind, COVER_RHO.exact(), COVER_RHO.is_paper_claim
('heuristic', Fraction(1, 2), False)
>>> print(COVER_RHO.citation())
rho = 1/2: Cover's count: N random labels in d dimensions are linearly separable with probability 1/2 at N = 2 d, i.e. rho = d / N = 1/2 for d = r (m + n - r) [heuristic of THEORY.md section 2 (R2), not a paper's claim; Cover (1965), IEEE Trans. Electron. Comput. EC-14(3)]

The record's value is the literal of the paper, and the float agrees with the exact value:

>>> all(float(c.exact()) == c.as_float for c in CONSTANTS)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "Constant",
    "CLAIMED_CSTAR",
    "COVER_RHO",
    "CONSTANTS",
    "KINDS",
    "by_name",
]

#: The kinds of record (see the module docstring).
KINDS = ("paper-claim", "heuristic")


@dataclass(frozen=True)
class Constant:
    """One claimed or reference constant and where it comes from.

    ``__post_init__`` checks the fields and raises ``ValueError`` naming the field.

    >>> c = Constant(name="demo", symbol="x", value="0.25", claim="x is a quarter",
    ...              kind="heuristic", source="none", seed=None, reading="x ~ 1/4")
    >>> c.exact(), c.as_float
    (Fraction(1, 4), 0.25)
    >>> Constant(name="demo", symbol="x", value="a quarter", claim="", kind="heuristic",
    ...          source="none", seed=None, reading="")
    Traceback (most recent call last):
    ...
    ValueError: value must be an exact decimal or p/q string, got 'a quarter'
    """

    name: str
    """Short key, e.g. ``"cstar"``."""
    symbol: str
    """How the text writes it, e.g. ``"C*"``."""
    value: str
    """The value exactly as the source writes it (a decimal or ``p/q`` string)."""
    claim: str
    """What the value is claimed to be, in words."""
    kind: str
    """``"paper-claim"`` or ``"heuristic"`` (ours, from THEORY.md)."""
    source: str
    """Paper (or THEORY.md section) it comes from."""
    seed: str | None
    """The seed file (``seeds/000_...``) holding the source's text, if any."""
    reading: str
    """The reading the project tests, with its qualifiers, e.g. "C* ~ 1.35 under Gaussian-iid
    features"."""

    def __post_init__(self):
        for field_name in ("name", "symbol", "value", "kind", "source"):
            if not isinstance(getattr(self, field_name), str) or not getattr(self, field_name):
                raise ValueError(f"{field_name} must be a non-empty string, got {getattr(self, field_name)!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if len(self.value) > 40 or not all(ch in "0123456789./" for ch in self.value) \
                or self.value.count("/") + self.value.count(".") > 1:
            raise ValueError(f"value must be an exact decimal or p/q string, got {self.value!r}")
        try:
            Fraction(self.value)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"value must be an exact decimal or p/q string, got {self.value!r}") from None
        if self.seed is not None and not self.seed.startswith("seeds/"):
            raise ValueError(f"seed must be a path under seeds/, got {self.seed!r}")

    def exact(self) -> Fraction:
        """The value as an exact ``Fraction``.

        >>> CLAIMED_CSTAR.exact()
        Fraction(27, 20)
        """
        return Fraction(self.value)

    @property
    def as_float(self) -> float:
        """The value as the nearest float (for plots and float engines).

        >>> COVER_RHO.as_float
        0.5
        """
        return float(self.exact())

    @property
    def is_paper_claim(self) -> bool:
        """True for a paper's claim, False for our heuristic.

        >>> CLAIMED_CSTAR.is_paper_claim
        True
        """
        return self.kind == "paper-claim"

    def citation(self) -> str:
        """One line: value, what it claims, and the source (marked heuristic where it is ours).

        >>> CLAIMED_CSTAR.citation()  # doctest: +ELLIPSIS
        'C* = 1.35: ... [claim of Rethinking the Rank Threshold for LoRA Fine-Tuning (2026), ...; seeds/000_24d26f7eaa886cf8.txt]'
        """
        where = self.source + (f"; {self.seed}" if self.seed else "")
        label = "claim of " if self.is_paper_claim else "heuristic of "
        return f"{self.symbol} = {self.value}: {self.claim} [{label}{where}]"

    def to_dict(self) -> dict:
        """JSON-able form (records and summaries may carry it).

        >>> sorted(CLAIMED_CSTAR.to_dict())
        ['as_float', 'claim', 'kind', 'name', 'reading', 'seed', 'source', 'symbol', 'value']
        """
        return {"name": self.name, "symbol": self.symbol, "value": self.value,
                "as_float": self.as_float, "claim": self.claim, "kind": self.kind,
                "source": self.source, "seed": self.seed, "reading": self.reading}


#: The paper's constant of the manifold criterion ``r (m + n - r) > C* K N`` (THEORY.md R1).
CLAIMED_CSTAR = Constant(
    name="cstar",
    symbol="C*",
    value="1.35",
    claim=("the rank-r LoRA manifold interpolates K N generic equations once "
           "r (m + n - r) > C* K N, i.e. above the dimension ratio rho = C*"),
    kind="paper-claim",
    source="Rethinking the Rank Threshold for LoRA Fine-Tuning (2026), result R1 (manifold count)",
    seed="seeds/000_24d26f7eaa886cf8.txt",
    reading="C* ~ 1.35 under Gaussian-iid features",
)

#: Cover's function-counting result, used as OUR reference for E4 separability (THEORY.md R2).
#: Not a claim of seed 000: the paper's PL claim is about optimisation, not this capacity.
COVER_RHO = Constant(
    name="cover_rho",
    symbol="rho",
    value="1/2",
    claim=("Cover's count: N random labels in d dimensions are linearly separable with "
           "probability 1/2 at N = 2 d, i.e. rho = d / N = 1/2 for d = r (m + n - r)"),
    kind="heuristic",
    source=("THEORY.md section 2 (R2), not a paper's claim; "
            "Cover (1965), IEEE Trans. Electron. Comput. EC-14(3)"),
    seed=None,
    reading="separability capacity N / d = 2 (rho = 1/2), our heuristic landmark for E4",
)

#: Every record, paper claims first.
CONSTANTS: tuple = (CLAIMED_CSTAR, COVER_RHO)


def by_name(name: str) -> Constant:
    """The record called ``name``.

    >>> by_name("cover_rho").value
    '1/2'
    >>> by_name("cstr")
    Traceback (most recent call last):
    ...
    KeyError: "no claimed constant 'cstr'; known: cstar, cover_rho"
    """
    for c in CONSTANTS:
        if c.name == name:
            return c
    raise KeyError(f"no claimed constant {name!r}; known: {', '.join(c.name for c in CONSTANTS)}")
