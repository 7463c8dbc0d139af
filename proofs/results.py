"""One route's answer, :class:`RouteResult`: a leaf shared by :mod:`proofs.routes` (which makes
them) and :mod:`proofs.statement` (which combines them), so that neither imports the other
for it. No sympy here.

>>> RouteResult("z3-smt", False, "sat", 0.1, {"r": 11}).answer
False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

__all__ = ["RouteResult"]


@dataclass(frozen=True)
class RouteResult:
    """One route's answer: ``True`` (proved), ``False`` (refuted, with a counterexample) or
    ``None`` (not decided), with a human-readable ``detail``.

    >>> RouteResult("sympy-certificate", True, "remainder 1/8", 0.01).answer
    True
    """

    name: str
    answer: Optional[bool]
    detail: str
    seconds: float
    counterexample: Optional[dict] = None

    def to_dict(self) -> dict:
        """JSON-able form, without the counterexample (the verdict carries it).

        >>> RouteResult("z3", None, "unknown", 0.5).to_dict()
        {'name': 'z3', 'answer': None, 'detail': 'unknown', 'seconds': 0.5}
        """
        return {"name": self.name, "answer": self.answer, "detail": self.detail,
                "seconds": round(self.seconds, 4)}
