"""The layout of the whole package: no import cycles, no private name used across modules, one
direction of dependence, and the experiment side importable without torch.

Read with :mod:`ast` from every ``import`` statement at any depth (function-level imports too),
over ``proofs/``, ``numerics/``, ``lorank/``, ``benchmarks/`` and ``scripts/``.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("proofs", "numerics", "lorank")
SCANNED = PACKAGES + ("benchmarks", "scripts")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in SCANNED:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


@functools.lru_cache(maxsize=None)
def _tree(path: Path) -> ast.Module:
    """The file's syntax tree, parsed once for all the tests here (they only read it)."""
    return ast.parse(path.read_text())


def _imports(name: str, path: Path, known: dict) -> list[tuple[str, list[str]]]:
    """``(module, [imported names])`` for every import in the file, resolved to full names."""
    tree = _tree(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            out.append((base, [a.name for a in node.names]))
    return out


def _graph() -> dict[str, set[str]]:
    known = _modules()
    graph = {m: set() for m in known}
    for name, path in known.items():
        for base, names in _imports(name, path, known):
            if base in known:
                graph[name].add(base)
            graph[name].update(f"{base}.{n}" for n in names if f"{base}.{n}" in known)
    return graph


def _cycle(graph) -> list[str] | None:
    colour: dict = {}
    stack: list = []

    def visit(node):
        colour[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            # a package's __init__ that re-exports its own submodules is not a cycle
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue
            if colour.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in colour:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(graph):
        if node not in colour:
            found = visit(node)
            if found:
                return found
    return None


def _private_crossings() -> list[str]:
    """Every ``from m import _name`` across modules, and every ``alias._name`` read through an
    imported module."""
    known = _modules()
    offences = []
    for name, path in known.items():
        tree = _tree(path)
        aliases = set()
        for base, names in _imports(name, path, known):
            if base in known or base.split(".")[0] in PACKAGES:
                offences += [f"{name}: from {base} import {n}" for n in names
                             if n.startswith("_") and not n.startswith("__")]
            aliases.update(n for n in names if f"{base}.{n}" in known)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                offences.append(f"{name}: {node.value.id}.{node.attr}")
    return offences


def _backward_edges(graph) -> list[list[str]]:
    """Imports against the direction proofs <- numerics <- lorank."""
    return [[a, b] for a, deps in sorted(graph.items()) for b in sorted(deps)
            if (a.startswith("proofs") and b.split(".")[0] in ("numerics", "lorank"))
            or (a.startswith("numerics") and b.startswith("lorank"))]


_FLAGS_CODE = ("import sys\nfrom lorank.cli import build_parser\n"
               "for c in ('cstar', 'separability', 'pl', 'rademacher'):\n"
               "    build_parser(c)\n"
               "print(sorted(m for m in ('torch', 'sympy') if m in sys.modules))")


def layout_facts() -> dict:
    """What the tests below assert, computed in one go (parsing every file is most of it)."""
    graph = _graph()
    return {"cycle": _cycle(graph), "private": _private_crossings(),
            "backward": _backward_edges(graph)}


def layout_job(folder: Path) -> dict:
    """:func:`layout_facts` in a fresh Python (this file run as a script), and the modules that
    building the experiment commands' parsers loads (in a second fresh Python): a background
    job (``tests/conftest.py``, ``Background``), so the parsing runs on the other core."""
    out = folder / "layout.json"
    proc = subprocess.run([sys.executable, __file__, str(out)], capture_output=True, text=True,
                          cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"the layout check failed in its process:\n{proc.stderr[-3000:]}")
    facts = json.loads(out.read_text())
    flags = subprocess.run([sys.executable, "-c", _FLAGS_CODE], capture_output=True, text=True,
                           cwd=ROOT, check=True)
    facts["parser_loads"] = flags.stdout.strip()
    return facts


BACKGROUND_JOBS = {"layout": layout_job}


@pytest.fixture(scope="module")
def facts(background, request):
    return background.result(request.module, "layout")


@pytest.mark.background("layout")
def test_no_import_cycles(facts):
    # Property: the import graph of all modules (function-level imports included) is acyclic.
    assert facts["cycle"] is None


@pytest.mark.background("layout")
def test_no_private_name_crosses_a_module(facts):
    # Property: no module imports a _private name from another module, or reaches one through
    # an imported module's attribute.
    assert facts["private"] == []


@pytest.mark.background("layout")
def test_dependence_runs_one_way(facts):
    # Property: proofs/ imports neither numerics/ nor lorank/; numerics/ never imports lorank/.
    assert facts["backward"] == []


@pytest.mark.background("layout")
def test_experiment_commands_build_their_flags_without_torch_or_sympy(facts):
    # Property: building every experiment command's parser loads neither torch nor sympy (the
    # CLI says how to install torch instead of failing inside an import).
    assert facts["parser_loads"] == "[]"


if __name__ == "__main__":  # the background job's process: write the facts to argv[1]
    Path(sys.argv[1]).write_text(json.dumps(layout_facts()))
