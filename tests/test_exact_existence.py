"""Exact existence at rho = 1 (issue 16): the degree, its Groebner route, the parity statement,
and the homotopy estimand E0 (numerics/engine/homotopy.py) against the exact side."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proofs import InvalidArgument, check
from proofs.exact_existence import (GROEBNER_SIZES, degree_r1_closed_form, determinantal_degree,
                                    dimension_count, exact_existence_statements, groebner_count)

# --- the degree formula ------------------------------------------------------------------

# Reference values, each by a route other than the product formula: r = 1 is the Segre variety
# P^(m-1) x P^(n-1), of degree C(m+n-2, m-1) (2, 3, 3, 6, 3432); rank <= n-1 in n x n is the
# hypersurface det = 0, of degree n (3x3 r=2: 3, 4x4 r=3: 4); r = min(m, n) is the whole space
# (1). 4x4 r=2 = 20 is the value usually quoted for that variety (e.g. Harris, Lecture 19); it
# was not recomputed here by a second route (the Groebner route stops at 3x3).
KNOWN = [((2, 2, 1), 2), ((2, 3, 1), 3), ((3, 2, 1), 3), ((3, 3, 1), 6), ((3, 3, 2), 3),
         ((4, 4, 3), 4), ((4, 4, 2), 20), ((8, 8, 1), 3432), ((5, 5, 5), 1), ((1, 7, 1), 1)]


@pytest.mark.parametrize("size, degree", KNOWN)
def test_known_degrees(size, degree):
    assert determinantal_degree(*size) == degree


def test_determinant_has_degree_n():
    # rank <= n-1 in n x n is the hypersurface det = 0, of degree n.
    for k in range(1, 12):
        assert determinantal_degree(k, k, k - 1 if k > 1 else 1) == (k if k > 1 else 1)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 14), st.integers(1, 14), st.data())
def test_symmetric_and_r1_binomial(m, n, data):
    # Property: deg is symmetric in (m, n) and equals C(m+n-2, m-1) at r = 1.
    r = data.draw(st.integers(1, min(m, n)))
    assert determinantal_degree(m, n, r) == determinantal_degree(n, m, r)
    assert determinantal_degree(m, n, 1) == degree_r1_closed_form(m, n) == math.comb(m + n - 2, m - 1)
    assert dimension_count(m, n, r) == m * n - (m - r) * (n - r)


@pytest.mark.parametrize("call, name, value", [
    (lambda: determinantal_degree(0, 2, 1), "m", "0"),
    (lambda: determinantal_degree(2, -1, 1), "n", "-1"),
    (lambda: determinantal_degree(2, 3, 3), "r", "3"),
    (lambda: determinantal_degree(2.0, 3, 1), "m", "2.0"),
    (lambda: degree_r1_closed_form(3, 0), "n", "0"),
    (lambda: dimension_count(3, 3, 0), "r", "0"),
    (lambda: groebner_count(2, 2, 1, seed=-2), "seed", "-2"),
])
def test_bad_inputs_name_argument_and_value(call, name, value):
    with pytest.raises(InvalidArgument) as info:
        call()
    assert info.value.args[0].startswith(name) and value in info.value.args[0]


# --- the Groebner route ------------------------------------------------------------------

@pytest.mark.parametrize("size", [(2, 2, 1), (2, 3, 1), (3, 3, 2)])
@pytest.mark.parametrize("parametrise", [False, True])
def test_groebner_count_equals_formula(size, parametrise):
    c = groebner_count(*size, seed=7, parametrise=parametrise)
    assert c.none_at_infinity is True
    assert c.distinct == c.length == determinantal_degree(*size)
    assert c.degree_certified == determinantal_degree(*size)


@pytest.mark.slow
@pytest.mark.parametrize("size", [(3, 3, 1), (2, 4, 1), (4, 2, 1)])
def test_groebner_count_equals_formula_larger(size):
    c = groebner_count(*size, seed=11, parametrise=True)
    assert c.degree_certified == determinantal_degree(*size)


def test_double_root_is_not_counted_as_distinct():
    # A non-radical ideal (x^2): length 2, but no distinct count and no certified degree.
    import sympy

    from proofs.exact_existence import _shape_position_count, _standard_monomial_count

    x = sympy.Symbol("x")
    assert _shape_position_count(sympy.groebner([x**2], x, order="lex"), (x,)) is None
    assert _standard_monomial_count(sympy.groebner([x**2], x, order="grevlex"), (x,)) == 2
    y = sympy.Symbol("y")
    assert _standard_monomial_count(sympy.groebner([x * y], x, y, order="grevlex"), (x, y)) is None


# --- the statements ----------------------------------------------------------------------

def test_statements_have_expected_status():
    verdicts = {v.id: v for v in map(check, exact_existence_statements(((2, 3, 1), (3, 3, 2))))}
    assert verdicts["EX.degree-r1-binomial"].status == "proved"
    for sid in ("EX.dimension-count", "EX.degree-groebner.2x3.r1", "EX.degree-groebner.3x3.r2",
                "EX.parity-odd-degree"):
        assert verdicts[sid].status == "proved-assuming"
        assert all(r.answer is True for r in verdicts[sid].routes)
    ids = [s.id for s in exact_existence_statements()]
    assert [i for i in ids if i.startswith("EX.degree-groebner.")] == [
        f"EX.degree-groebner.{m}x{n}.r{r}" for m, n, r in GROEBNER_SIZES]


# --- E0: the homotopy against the exact side ---------------------------------------------

torch = pytest.importorskip("torch")

from numerics.engine.homotopy import (ALPHA_0, alpha_test, residual, solve_rank_one,  # noqa: E402
                                      start_solutions)
from proofs.exact_existence import real_solution_count_two_rows  # noqa: E402


def _instances(m, n, T, seed):
    g = torch.Generator().manual_seed(seed)
    M = m + n - 1
    return (torch.randn(T, M, m, n, generator=g, dtype=torch.float64),
            torch.randn(T, M, generator=g, dtype=torch.float64))


@pytest.mark.parametrize("m, n", [(2, 2), (2, 3), (3, 2), (3, 3), (2, 4)])
def test_start_system_has_degree_many_certified_solutions(m, n):
    (G, y), z = start_solutions(m, n)
    assert z.shape == (determinantal_degree(m, n, 1), m + n - 1)
    beta, gamma, alpha = alpha_test(z[None], G[None], y[None])
    assert bool((alpha < ALPHA_0).all())


@pytest.mark.parametrize("m, n", [(2, 2), (2, 3), (3, 3)])
def test_homotopy_finds_degree_distinct_solutions(m, n):
    G, y = _instances(m, n, 12, seed=100 + m * 10 + n)
    res = solve_rank_one(G, y)
    assert res.degree == determinantal_degree(m, n, 1)
    assert res.solutions.shape == (12, res.degree, m + n - 1)
    assert bool(res.certified.all())
    # Every endpoint solves its instance, and the endpoints of an instance are distinct.
    assert float(residual(res.solutions, G.to(torch.complex128), y.to(torch.complex128)).abs().max()) < 1e-9
    z = torch.view_as_real(res.solutions).flatten(-2)   # C^M as R^2M, same Euclidean distances
    gaps = torch.cdist(z, z) + torch.eye(res.degree) * 1e9
    assert float(gaps.min()) > 1e-6
    # Real counts have the parity of the degree (non-real solutions pair up).
    assert bool(((res.real_count - res.degree) % 2 == 0).all())


@pytest.mark.parametrize("m, n", [(2, 3), (3, 2)])
def test_odd_degree_always_has_a_real_solution(m, n):
    # EX.parity-odd-degree, instance by instance: degree 3, so every certified instance has a
    # real solution; and at least one instance certified (else the test would say nothing).
    G, y = _instances(m, n, 40, seed=5)
    res = solve_rank_one(G, y)
    assert res.degree % 2 == 1
    assert int(res.certified.sum()) >= 38
    assert bool(res.exists[res.certified].all())


@pytest.mark.parametrize("m, n, T", [(2, 2, 16), (2, 3, 6), (3, 2, 6)])
def test_real_counts_agree_with_the_two_row_route(m, n, T):
    # Second route: for two rows the solutions are the roots of one univariate polynomial,
    # real ones counted exactly by Sturm sequences (sympy, rational inputs). 3x2 is 2x3
    # transposed (Delta -> Delta^T, G_i -> G_i^T).
    G, y = _instances(m, n, T, seed=17)
    res = solve_rank_one(G, y)
    Gt = G if m == 2 else G.transpose(-1, -2)
    exact = [real_solution_count_two_rows(Gt[k].tolist(), y[k].tolist()) for k in range(T)]
    assert all(e is not None for e in exact)
    assert bool(res.certified.all())
    assert [e[0] for e in exact] == res.real_count.tolist()
    assert {e[1] for e in exact} == {res.degree}


def test_even_degree_instances_can_lack_a_real_solution():
    # Can fail: at 2x2 (degree 2) some Gaussian instances have no real solution, and the
    # homotopy must report them as certified non-existence, not as failures.
    G, y = _instances(2, 2, 40, seed=3)
    res = solve_rank_one(G, y)
    assert bool(res.certified.all())
    assert 0 < int(res.exists.sum()) < 40


def test_batched_equals_one_by_one():
    G, y = _instances(2, 3, 5, seed=9)
    batch = solve_rank_one(G, y)
    for k in range(5):
        one = solve_rank_one(G[k:k + 1], y[k:k + 1])
        assert one.real_count.tolist() == batch.real_count[k:k + 1].tolist()
        assert one.certified.tolist() == batch.certified[k:k + 1].tolist()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_equals_cpu():
    G, y = _instances(3, 3, 8, seed=1)
    cpu, gpu = solve_rank_one(G, y), solve_rank_one(G, y, device="cuda")
    assert gpu.real_count.cpu().tolist() == cpu.real_count.tolist()
    assert gpu.certified.cpu().tolist() == cpu.certified.tolist()


@pytest.mark.parametrize("call, name, value", [
    (lambda: solve_rank_one(torch.zeros(2, 3, 2, 3, dtype=torch.float64), torch.zeros(2, 3)), "G", "(2, 3, 2, 3)"),
    (lambda: solve_rank_one(torch.zeros(2, 3, 2, 2, dtype=torch.float64), torch.zeros(2, 4)), "y", "(2, 4)"),
    (lambda: solve_rank_one(torch.zeros(3, 2, 2), torch.zeros(3)), "G", "torch.Size([3, 2, 2])"),
    (lambda: start_solutions(0, 2), "m", "0"),
    (lambda: start_solutions(2, 2, seed=-1), "seed", "-1"),
    (lambda: real_solution_count_two_rows([[[1]]], [1]), "G", "1 x 1 x 1"),
    (lambda: real_solution_count_two_rows([[[1], [0]], [[0], [1]]], [1]), "y", "1"),
])
def test_homotopy_bad_inputs(call, name, value):
    with pytest.raises(InvalidArgument) as info:
        call()
    assert info.value.args[0].startswith(name) and value in info.value.args[0]


@pytest.mark.parametrize("m, n", [(2, 2), (3, 3)])
def test_e1_never_succeeds_where_e0_certifies_no_real_solution(m, n):
    # E1 (LM) certifies a real solution when it succeeds, so on the same instances every E1
    # success must be an E0 "exists"; at even degree some instances have none, so this can fail.
    from numerics.engine.capacity import run_trials
    from numerics.engine.homotopy import e0_on_e1_instances

    trials = list(range(60))
    e0 = e0_on_e1_instances(m, n, trials, global_seed=0)
    e1 = run_trials("lm", (m, n, 1, m + n - 1), trials, global_seed=0, restarts=4)
    assert bool(e0.certified.all())
    for t, out in zip(trials, e1):
        if out["first_success"] is not None:
            assert bool(e0.exists[t]), f"trial {t}: E1 found a solution, E0 says none"


def test_committed_shortfall_record_is_consistent():
    # The CPU record (scripts/exact_existence_shortfall.py): every summary number recomputed
    # from its per-trial rows; no E1 success on an instance E0 certifies as having no real
    # solution; every certified odd-degree instance has a real solution (EX.parity-odd-degree).
    import gzip
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "results/exact-existence/cpu-default/shortfall.json.gz"
    record = json.loads(gzip.decompress(path.read_bytes()))
    assert record["format"] == "lorank.exact-existence-shortfall/1"
    for c in record["cells"]:
        rows = record["rows"][f"{c['m']}x{c['n']}"]
        cert = [r for r in rows if r["certified"]]
        assert c["degree"] == determinantal_degree(c["m"], c["n"], 1)
        assert len(rows) == c["trials"] and c["uncertified"] == len(rows) - len(cert)
        assert c["e0"]["successes"] == sum(r["exists"] for r in cert) and c["e0"]["trials"] == len(cert)
        assert all((r["real_count"] - c["degree"]) % 2 == 0 for r in cert)
        if c["degree"] % 2:
            assert c["e0"]["successes"] == c["e0"]["trials"]
        for k, x in c["e1"].items():
            ok = [r["e1_first_success"] is not None and r["e1_first_success"] < int(k) for r in cert]
            assert x["successes"] == sum(ok) and x["contradictions"] == 0
            assert x["missed"] == sum(r["exists"] and not o for r, o in zip(cert, ok))


def _integer_instances(m, n, T, seed):
    # Small integers are exact in float64 and keep the rational Groebner route fast.
    g = torch.Generator().manual_seed(seed)
    M = m + n - 1
    return (torch.randint(-9, 10, (T, M, m, n), generator=g).to(torch.float64),
            torch.randint(-9, 10, (T, M), generator=g).to(torch.float64))


@pytest.mark.parametrize("m, n, T", [(3, 3, 3), (2, 4, 3)])
def test_real_counts_agree_with_the_groebner_route(m, n, T):
    # Second route at sizes the two-row reduction does not cover: a lex Groebner basis over Q
    # in shape position, real solutions = real roots of its univariate polynomial (Sturm).
    from proofs.exact_existence import real_solution_count_groebner

    G, y = _integer_instances(m, n, T, seed=21)
    res = solve_rank_one(G, y)
    exact = [real_solution_count_groebner(G[k].tolist(), y[k].tolist(), 1) for k in range(T)]
    assert all(e is not None and e[1] == res.degree for e in exact)
    assert bool(res.certified.all())
    assert [e[0] for e in exact] == res.real_count.tolist()


@pytest.mark.slow
@pytest.mark.parametrize("m, n, T", [(3, 3, 12), (3, 2, 8), (2, 5, 8)])   # 4x3 (degree 10): minutes
def test_real_counts_agree_with_the_groebner_route_more(m, n, T):
    from proofs.exact_existence import real_solution_count_groebner

    G, y = _integer_instances(m, n, T, seed=22)
    res = solve_rank_one(G, y)
    exact = [real_solution_count_groebner(G[k].tolist(), y[k].tolist(), 1) for k in range(T)]
    decided = [k for k in range(T) if exact[k] is not None and bool(res.certified[k])]
    assert len(decided) >= T - 1
    assert [exact[k][0] for k in decided] == [int(res.real_count[k]) for k in decided]


def _separation_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "e0_separation_check.py"
    spec = importlib.util.spec_from_file_location("e0_separation_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_e0_separation_script_measures_certified_instances_and_resumes(tmp_path):
    """The separation check (scripts/e0_separation_check.py) of E0's certified instances at
    two tiny cells: every certified instance's endpoints are far apart (no duplicate of one
    zero), the counts add up, and a second call keeps the record instead of recomputing."""
    import json

    script = _separation_script()
    out = tmp_path / "sep.json"
    assert script.main(["2x2:1", "3x3:2", "--trials", "6", "--out", str(out)]) == 0
    first = json.loads(out.read_text())
    assert [(c["m"], c["n"], c["r"], c["degree"]) for c in first["cells"]] == [(2, 2, 1, 2),
                                                                              (3, 3, 2, 3)]
    for c in first["cells"]:
        assert 0 < c["certified"] <= c["trials"] == 6 and c["below"] == 0
        assert c["least_relative_separation"] > first["threshold"]
    assert script.main(["2x2:1", "3x3:2", "--trials", "6", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == first


@pytest.mark.parametrize("argv, names", [
    (["2x2"], "2x2"), (["2x2:2"], "2x2:2"), (["axb:1"], "axb:1"),
    (["2x2:1", "--trials", "0"], "--trials"), (["2x2:1", "--trials", "x"], "--trials"),
    (["2x2:1", "--threshold", "0"], "--threshold"), (["2x2:1", "--threshold", "2"], "--threshold"),
    (["2x2:1"], "--out"),
])
def test_e0_separation_script_rejects_bad_input_before_any_work(tmp_path, capsys, argv, names):
    """Every bad argument: exit code 2 and a message naming it, no record."""
    import re

    out = [] if names == "--out" else ["--out", str(tmp_path / "sep.json")]
    with pytest.raises(SystemExit) as exit_:
        _separation_script().main(argv + out)
    assert exit_.value.code == 2
    assert re.search(names, capsys.readouterr().err)
    assert not (tmp_path / "sep.json").exists()
