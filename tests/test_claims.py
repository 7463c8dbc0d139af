"""Claimed constants (:mod:`proofs.claims`): one record each, read by every user.

- each record carries its value exactly, its source and its kind; the paper's C* = 1.35 cites
  seed 000 and the reading of THEORY.md; Cover's rho = 1/2 is marked as OUR heuristic;
- the files that used to type 1.35 (the advisor, the least-rank functions, the figures, the
  benchmarks) now read it from the module: no code constant 1.35 is left in them (docstrings
  and comments may still say the number).
"""

from __future__ import annotations

import ast
import inspect
from fractions import Fraction
from pathlib import Path

import pytest

from proofs import claims
from proofs.claims import CLAIMED_CSTAR, COVER_RHO

ROOT = Path(__file__).resolve().parent.parent
SEEDS = Path("/work/shared/seeds")


def test_cstar_record():
    assert CLAIMED_CSTAR.value == "1.35" and CLAIMED_CSTAR.exact() == Fraction(27, 20)
    assert CLAIMED_CSTAR.as_float == 1.35 and CLAIMED_CSTAR.kind == "paper-claim"
    assert CLAIMED_CSTAR.seed.startswith("seeds/000_")
    assert "Gaussian-iid" in CLAIMED_CSTAR.reading


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed texts live in the shared folder")
def test_cstar_is_the_seed_value():
    # Property: the value is the one the source text states, not a value of ours.
    text = (SEEDS / Path(CLAIMED_CSTAR.seed).name).read_text(encoding="utf-8")
    assert f"C^* \\approx {CLAIMED_CSTAR.value}" in text


def test_cover_is_our_heuristic_not_a_claim():
    assert COVER_RHO.kind == "heuristic" and not COVER_RHO.is_paper_claim
    assert COVER_RHO.exact() == Fraction(1, 2) and COVER_RHO.seed is None
    assert "not a paper's claim" in COVER_RHO.source and "Cover (1965)" in COVER_RHO.source
    assert "heuristic of" in COVER_RHO.citation()


def test_records_are_frozen_and_checked():
    with pytest.raises(Exception):
        CLAIMED_CSTAR.value = "2"   # type: ignore[misc]
    with pytest.raises(ValueError, match="kind"):
        claims.Constant("x", "x", "1", "", "guess", "none", None, "")
    with pytest.raises(ValueError, match="seed"):
        claims.Constant("x", "x", "1", "", "heuristic", "none", "elsewhere/1.txt", "")
    assert [c.name for c in claims.CONSTANTS] == ["cstar", "cover_rho"]


def test_defaults_read_the_claim():
    from lorank import prescribe as advisor
    from proofs import minimal_rank

    for fn in (advisor.margin, advisor.prescribe, advisor.canonical_table, advisor.r12_derivation,
               minimal_rank.least_rank, minimal_rank.least_rank_brute_force):
        assert inspect.signature(fn).parameters["cstar"].default == CLAIMED_CSTAR.value, fn.__name__


def _code_constants(path: Path) -> list:
    """Numeric or string constants 1.35 / "1.35" in code (docstrings excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and id(node) not in docstrings
            and node.value in (1.35, "1.35")]


OWNED = ["lorank/prescribe.py", "proofs/minimal_rank.py", "proofs/rank_conditions.py",
         "numerics/estimation/plots.py", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "benchmarks").glob("*.py"))]


@pytest.mark.parametrize("path", OWNED)
def test_no_typed_cstar_left(path):
    assert _code_constants(ROOT / path) == [], path


def test_the_scan_can_fail(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""Doc: 1.35."""\nX = 1.35\ndef f(c="1.35"):\n    """1.35"""\n')
    assert _code_constants(f) == [2, 3]
