"""The layout of :mod:`proofs`: light leaves, lazy re-exports, no import cycles, one direction.

- ``proofs.validation`` (exceptions, input checks) and ``proofs.claims`` (claimed constants)
  import no sympy, torch, numpy, z3 or mpmath, even through ``proofs/__init__``;
- ``from proofs import ...`` still gives every public name, and ``proofs.__all__`` keeps every
  name of 0.4.0;
- the import graph of ``proofs/`` (every ``import`` statement in every module, at any depth,
  read with :mod:`ast`, plus the lazy re-export table of ``__init__``) has no cycle, and no
  module of ``proofs/`` imports torch, :mod:`numerics` or :mod:`lorank`.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

import proofs

ROOT = Path(__file__).resolve().parent.parent
PROOFS = ROOT / "proofs"
HEAVY = ("sympy", "torch", "numpy", "z3", "mpmath", "scipy")
FORBIDDEN = ("torch", "numerics", "lorank")

#: proofs.__all__ of lorank 0.4.0; every name must still be there.
ALL_0_4_0 = [
    "Statement", "RouteResult", "Verdict", "check", "check_all", "all_statements",
    "statement_by_id", "rank_condition_statements", "instance_statements",
    "structured_statements", "pl_statements", "rademacher_statements",
    "lora_gradient", "explicit_gradient_check",
    "SlackCertificate", "IdentityCertificate", "GroundCertificate", "MatrixCertificate",
    "StrictSlackCertificate", "SquareStepCertificate", "LemmaCertificate",
    "sympy_route", "z3_route", "search_counterexample", "verify_counterexample",
    "SMT_TIMEOUT_S",
    "CRITERIA", "Criterion", "least_rank", "least_rank_brute_force", "least_rank_sard",
    "least_rank_sqrt_approx", "least_rank_manifold", "least_rank_dimension_count",
    "least_rank_linear_solve", "barvinok_pataki_rank", "manifold_dimension",
    "InvalidArgument",
]


# ----------------------------------------------------------------------------- light leaves


def _loaded_after(statement: str) -> list:
    code = (f"import sys; {statement}; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return ast.literal_eval(out.strip())


@pytest.mark.parametrize("statement", [
    "import proofs.validation",
    "import proofs.claims",
    "import proofs.validation, proofs.claims",
    "from proofs.validation import InvalidArgument",
    "from proofs.claims import CLAIMED_CSTAR, COVER_RHO",
    "import proofs",
    "import proofs.minimal_rank",
])
def test_leaf_imports_load_no_heavy_library(statement):
    # Property: a fresh interpreter that imports only the leaves has no sympy (nor torch, ...).
    assert _loaded_after(statement) == []


def test_the_probe_sees_sympy():
    # The probe above can fail: importing a theorem module does load sympy.
    assert "sympy" in _loaded_after("from proofs import check_all")


def test_lazy_exports_resolve_and_are_the_same_objects():
    import importlib

    assert set(ALL_0_4_0) <= set(proofs.__all__)
    for name in proofs.__all__:
        value = getattr(proofs, name)
        module = importlib.import_module(f"proofs.{proofs._EXPORTS[name]}")
        assert value is getattr(module, name), name
    assert proofs.InvalidArgument is importlib.import_module("proofs.validation").InvalidArgument
    assert proofs.RouteResult is importlib.import_module("proofs.statement").RouteResult
    assert set(proofs.__all__) <= set(dir(proofs))
    with pytest.raises(AttributeError):
        proofs.not_a_name  # noqa: B018
    from proofs import pl, rademacher  # submodules still import through the package

    assert pl.__name__ == "proofs.pl" and rademacher.__name__ == "proofs.rademacher"


# ----------------------------------------------------------------------------- import graph


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, package_modules: set) -> tuple[set, set]:
    """(modules of the package this file imports, top-level names of everything it imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    inside, tops = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                tops.add(alias.name.split(".")[0])
                if alias.name in package_modules:
                    inside.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            tops.add(target.split(".")[0])
            for alias in node.names:
                if f"{target}.{alias.name}" in package_modules:   # `from . import routes`: a submodule
                    inside.add(f"{target}.{alias.name}")
                elif target in package_modules:                  # a name defined in `target` itself
                    inside.add(target)
    return inside - {me}, tops


def _lazy_exports(init: Path) -> set:
    """The modules named by the ``_EXPORTS`` table of a lazy ``__init__`` (imported on access)."""
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in targets):
                return {f"proofs.{v}" for v in ast.literal_eval(node.value).values()}
    return set()


@functools.lru_cache(maxsize=None)
def import_graph(folder: Path) -> tuple[dict, dict]:
    """(module -> modules of the package it imports, module -> top-level names it imports),
    read once per folder for all the tests here (they only read it)."""
    files = sorted(folder.glob("*.py"))
    names = {_module_name(f) for f in files}
    graph, tops = {}, {}
    for f in files:
        graph[_module_name(f)], tops[_module_name(f)] = _imports(f, names)
    graph[_module_name(folder / "__init__.py")] |= _lazy_exports(folder / "__init__.py")
    return graph, tops


def find_cycle(graph: dict):
    """A cycle of ``graph`` as a list of nodes (first == last), or None.

    >>> find_cycle({"a": {"b"}, "b": {"a"}}), find_cycle({"a": {"b"}, "b": set()})
    (['a', 'b', 'a'], None)
    """
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_cycle_finder_finds_cycles():
    # The check below can fail: a three-module cycle and a self-contained package are told apart.
    assert find_cycle({"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}}) == ["p.a", "p.b", "p.c", "p.a"]
    assert find_cycle({"p": {"p.a"}, "p.a": {"p.b"}, "p.b": set()}) is None


def test_graph_reads_relative_and_function_level_imports():
    graph, _ = import_graph(PROOFS)
    assert "proofs.routes" in graph["proofs.statement"]        # `from . import routes`
    assert "proofs.results" in graph["proofs.routes"]          # `from .results import RouteResult`
    assert "proofs.catalogue" in graph["proofs"]               # lazy table of __init__


def test_no_import_cycle_in_proofs():
    graph, _ = import_graph(PROOFS)
    assert find_cycle(graph) is None, find_cycle(graph)


@pytest.mark.parametrize("module", sorted(import_graph(PROOFS)[1]))
def test_proofs_never_imports_torch_numerics_or_lorank(module):
    _, tops = import_graph(PROOFS)
    assert not (tops[module] & set(FORBIDDEN)), (module, tops[module] & set(FORBIDDEN))


@pytest.mark.parametrize("leaf", ["proofs.validation", "proofs.claims", "proofs.results"])
def test_leaves_import_nothing_of_the_project(leaf):
    graph, tops = import_graph(PROOFS)
    assert graph[leaf] == set() and not (tops[leaf] & {"sympy", "torch", "numpy", "z3", "mpmath"})
