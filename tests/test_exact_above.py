"""Exact existence just above rho = 1 (issue 16, item 5): the critical-point decision of
numerics/engine/homotopy_critical.py against E0 (d = 0), E1 (every interpolant E1 finds is a
real solution, so a real critical point must be certified), second routes for the critical
count, batching, and bad inputs."""

import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from numerics.engine import homotopy_critical as hc  # noqa: E402
from proofs.validation import InvalidArgument  # noqa: E402

TINY = (2, 2, 1, 2)          # 2x2, r = 1, d = 1: N = 7 (monodromy; total degree and Bertini agree)


def _instances(cell, trials, seed=0):
    from numerics.engine.capacity import instance_seed
    from numerics.engine.instances import sample_instances

    m, n, r, M = cell
    seeds = [instance_seed(seed, "gaussian", m, n, M, None, t) for t in trials]
    op, y = sample_instances(seeds, m, n, M, device="cpu", dtype=torch.float64)
    th0 = torch.stack([hc.theta0_of(seed, m, n, r, M, t) for t in trials])
    return op.dense(), y, th0


def paired_runs() -> dict:
    """The two pairings the tests below read: E0 and the critical points at d = 0 (2x2, r = 1,
    trials 0-3), and E1 and the critical points at :data:`TINY` (trials 0-7)."""
    from numerics.engine.capacity import run_trials
    from numerics.engine.homotopy import e0_on_e1_instances
    from numerics.engine.solvers import LMConfig

    d0 = (hc.critical_on_e1_instances(2, 2, 1, 3, range(4)), e0_on_e1_instances(2, 2, range(4)))
    trials = list(range(8))
    e1 = run_trials("lm", TINY, trials, global_seed=0, device="cpu", dtype="float64", restarts=2,
                    lm_config=LMConfig(max_iter=60), sample_device="cpu", cpu_threads=None)
    return {"d0": d0, "e1": ([t["first_success"] for t in e1],
                             hc.critical_on_e1_instances(*TINY, trials))}


@pytest.fixture(scope="module")
def paired():
    """:func:`paired_runs`, once for the module, in this process: its monodromy starts (2x2,
    r = 1, d = 0 and d = 1) are the ones that the second-route test below and the doctests of
    ``homotopy_critical`` use, so a session finds them once (``critical_start`` keeps them per
    process; run in a process of its own, they were found twice)."""
    return paired_runs()


def test_at_d0_the_critical_points_are_e0_s_solutions(paired):
    """d = 0: J_f is square, so theta - theta0 = J_f^T lambda fixes lambda: the critical points'
    theta-parts are exactly E0's solutions, N is the determinantal degree, real counts agree."""
    from proofs.exact_existence import determinantal_degree

    res, e0 = paired["d0"]
    assert res.degree == determinantal_degree(2, 2, 1) == 2
    assert bool(res.certified.all()) and bool(e0.certified.all())
    assert res.real_count.tolist() == e0.real_count.cpu().tolist()
    for t in range(4):
        ours = res.solutions[t][:, :3]
        theirs = e0.solutions[t].cpu()
        dist = (ours[:, None, :] - theirs[None, :, :]).abs().amax(-1)
        assert bool((dist.amin(1) < 1e-8).all()) and bool((dist.amin(0) < 1e-8).all())


def test_every_e1_interpolant_has_a_certified_real_critical_point(paired):
    """Falsifiable: an instance where E1 certified an interpolant has a real solution, so the
    decision must find a certified real critical point there (and certify its theta solves f)."""
    from numerics.engine.homotopy_certify import bilinear_coefficients

    trials = list(range(8))
    first_success, res = paired["e1"]
    found = [j for j in range(len(trials)) if first_success[j] is not None]
    assert found, "E1 found no interpolant: the check would be empty"
    G, y, _ = _instances(TINY, trials)
    A = bilinear_coefficients(G, y, 1)
    for j in found:
        assert bool(res.real_found[j])
        assert bool(res.exists[j]) or not bool(res.certified[j])
    # the real critical points are real solutions: f(theta) = 0 to float precision
    for j in range(len(trials)):
        z = res.solutions[j]
        real = z[(z.imag.abs().amax(-1) < 1e-8)].real
        u = torch.cat([torch.ones(real.shape[0], 1, dtype=torch.float64), real[:, :1]], -1)
        w = torch.cat([torch.ones(real.shape[0], 1, dtype=torch.float64), real[:, 1:3]], -1)
        f = torch.einsum("pa,iab,pb->pi", u, A[j], w)
        assert not f.numel() or float(f.abs().amax()) < 1e-8
    # parity: complex critical points come in conjugate pairs
    for j in range(len(trials)):
        if bool(res.certified[j]):
            assert int(res.real_count[j]) % 2 == res.degree % 2


def _script(name):
    """The module ``scripts/<name>.py``, loaded from its file."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _second_route_script():
    return _script("exact_above_total_degree")


SECOND_ROUTES = Path(__file__).resolve().parents[1] / "results" / "exact-above" / "second-route"
ROUTE_KEYS = {"lorank.exact-above-total-degree/1": "total_degree",
              "lorank.exact-above-multihomogeneous/1": "multihomogeneous"}


def test_the_critical_count_by_a_second_route(tmp_path):
    """N by monodromy equals the total-degree homotopy's count (2^5 paths) at the tiniest cell,
    point by point; the script that makes the committed second-route record writes it and, run
    again, keeps the cells it has (resume) instead of recomputing them."""
    import json

    script = _second_route_script()
    out = tmp_path / "td.json"
    assert script.main(["2x2:1:1", "--out", str(out)]) == 0
    first = json.loads(out.read_text())
    (cell,) = first["cells"]
    assert cell["monodromy"]["count"] == cell["total_degree"]["count"] == cell["matched"] == 7
    assert cell["paths"] == 2 ** 5 and cell["agree"]
    assert script.main(["2x2:1:1", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == first
    mh = tmp_path / "mh.json"
    assert script.main(["--route", "multihomogeneous", "2x2:1:1", "--out", str(mh)]) == 0
    (cell,) = json.loads(mh.read_text())["cells"]
    assert cell["multihomogeneous"]["count"] == cell["matched"] == 7 and cell["paths"] == 9
    with pytest.raises(SystemExit):   # a record of another route is not resumed
        script.main(["--route", "multihomogeneous", "2x2:1:1", "--out", str(out)])
    with pytest.raises(InvalidArgument, match="max_exponent"):
        hc.total_degree_points(*TINY, max_exponent=4)   # 2^5 paths
    with pytest.raises(InvalidArgument, match="max_exponent"):
        hc.total_degree_points(*TINY, max_exponent=-1)


@pytest.mark.parametrize("argv, names", [
    (["2x5"], "2x5"), (["2x5:1"], "2x5:1"), (["axb:1:1"], "axb:1:1"), (["2x2:2:1"], "2x2:2:1"),
    (["2x2:1:5"], "2x2:1:5"), (["3x4:2:1"], "2\\^19"), (["2x2:1:1", "--seed", "-1"], "--seed"),
    (["2x2:1:1", "--max-exponent", "x"], "--max-exponent"), (["2x2:1:1"], "--out"),
    (["--route", "homotopy", "2x2:1:1"], "--route"),
    (["--route", "multihomogeneous", "3x4:2:1", "--max-paths", "100"], "--max-paths"),
    (["--route", "multihomogeneous", "2x2:1:1", "--max-paths", "0"], "--max-paths"),
])
def test_second_route_script_rejects_bad_input_before_any_work(tmp_path, capsys, argv, names):
    """Every bad argument: exit code 2 and a message naming it, no traceback, no record."""
    out = [] if "--out" == names else ["--out", str(tmp_path / "td.json")]
    with pytest.raises(SystemExit) as exit_:
        _second_route_script().main(argv + out)
    assert exit_.value.code == 2
    assert re.search(names, capsys.readouterr().err)
    assert not (tmp_path / "td.json").exists()


@pytest.mark.parametrize("cell", [(2, 2, 1, 2), (2, 3, 1, 3), (3, 3, 2, 7), (3, 4, 2, 9), (4, 5, 1, 7),
                                  (3, 3, 1, 5)])
def test_multihomogeneous_bezout_is_the_coefficient_of_the_multidegrees(cell):
    """The path count C(D, M) C(D, p) is the coefficient of a^p b^q c^M in (a+b+c)^D (a+b)^M,
    expanded by sympy."""
    import sympy

    m, n, r, M = cell
    p, D = (m - r) * r, r * (m + n - r)
    a, b, c = sympy.symbols("a b c")
    poly = sympy.Poly(sympy.expand((a + b + c) ** D * (a + b) ** M), a, b, c)
    assert hc.multihomogeneous_bezout(*cell) == poly.coeff_monomial(a ** p * b ** (D - p) * c ** M)


def test_multihomogeneous_route_finds_monodromy_s_points_and_the_degree_at_d0():
    """The linear-product homotopy's certified points are monodromy's, one to one, at the
    tiniest cell (N = 7 of 9 paths); at d = 0 it counts the determinantal degree (3x3, r = 1:
    6 = C(4, 2)); more paths than max_paths is refused."""
    from proofs.exact_existence import determinantal_degree

    (A, th0), mono, _ = hc.critical_start(*TINY)
    pstar = hc._pstar(*TINY, 0)          # the instance the other routes solve: monodromy's
    assert torch.equal(pstar[0], A) and torch.equal(pstar[1], th0)
    z = hc.multihomogeneous_points(*TINY)
    dist = (z[:, None, :] - mono[None, :, :]).abs().pow(2).sum(-1).sqrt()
    assert z.shape[0] == mono.shape[0] == 7
    assert sorted(dist.argmin(1).tolist()) == list(range(7)) and float(dist.amin(1).max()) < 1e-8
    assert hc.multihomogeneous_points(3, 3, 1, 5).shape[0] == determinantal_degree(3, 3, 1) == 6
    with pytest.raises(InvalidArgument, match="max_paths"):
        hc.multihomogeneous_points(*TINY, max_paths=8)


def _committed_cells(seed):
    """Every committed exact-above cell (m, n, r, M) whose N was found from start seed ``seed``,
    with the summaries that give it: {cell: [(summary path, N)]}."""
    import json

    out = {}
    for path in SECOND_ROUTES.parent.glob("*/summary.json"):
        summary = json.loads(path.read_text())
        if summary["config"]["start_seed"] == seed:
            for c in summary["cells"]:
                out.setdefault((c["m"], c["n"], c["r"], c["M"]), []).append(
                    (path, c["critical_points"]))
    return out


SECOND_ROUTE_RECORDS = sorted(p.name for p in SECOND_ROUTES.glob("*.json"))


@pytest.mark.parametrize("name", SECOND_ROUTE_RECORDS)
def test_committed_second_route_record_confirms_every_committed_n_it_covers(name):
    """Falsifiable: in each committed record of another route, every cell's count equals
    monodromy's and every point matches one to one, and monodromy's count there is the N
    (critical_points) of every committed exact-above summary of that cell made from the same
    complex instance (start seed); every cell of the record is a committed cell."""
    import json

    record = json.loads((SECOND_ROUTES / name).read_text())
    key = ROUTE_KEYS[record["format"]]
    for c in record["cells"]:
        D = c["r"] * (c["m"] + c["n"] - c["r"])
        assert c["unknowns"] == D + c["M"] and c["M"] == D - c["d"]
        assert c["paths"] == (2 ** c["unknowns"] if key == "total_degree" else
                              hc.multihomogeneous_bezout(c["m"], c["n"], c["r"], c["M"]))
        assert c["agree"] and c["monodromy"]["count"] == c[key]["count"] == c["matched"]
    committed = _committed_cells(record["seed"])
    for c in record["cells"]:
        cell = (c["m"], c["n"], c["r"], c["M"])
        assert cell in committed, cell
        for path, n in committed[cell]:
            assert n == c["monodromy"]["count"], (path, cell)


def test_the_multihomogeneous_records_together_cover_every_committed_cell():
    """Every committed exact-above cell has its N recounted by the multihomogeneous route on
    the same complex instance, in one of the committed records of that route."""
    import json

    assert {"total-degree.json", "multihomogeneous.json"} <= set(SECOND_ROUTE_RECORDS)
    covered, seeds = set(), set()
    for name in SECOND_ROUTE_RECORDS:
        record = json.loads((SECOND_ROUTES / name).read_text())
        if ROUTE_KEYS[record["format"]] == "multihomogeneous":
            seeds.add(record["seed"])
            covered |= {(c["m"], c["n"], c["r"], c["M"]) for c in record["cells"]}
    assert seeds == {0}
    committed = set(_committed_cells(0))
    assert committed and committed <= covered, sorted(committed - covered)


@pytest.mark.slow
def test_second_route_records_reproduce_from_their_command(tmp_path):
    """Each committed record's smallest cell (2x5, r = 1, d = 1), made again: same counts and
    matches."""
    import json

    for route, name in (("total-degree", "total-degree.json"),
                        ("multihomogeneous", "multihomogeneous.json")):
        record = json.loads((SECOND_ROUTES / name).read_text())
        key = ROUTE_KEYS[record["format"]]
        committed = next(c for c in record["cells"] if (c["m"], c["n"], c["r"], c["d"]) == (2, 5, 1, 1))
        out = tmp_path / name
        assert _second_route_script().main(["--route", route, "2x5:1:1", "--out", str(out)]) == 0
        (cell,) = json.loads(out.read_text())["cells"]
        assert cell["monodromy"]["count"] == committed["monodromy"]["count"]
        assert cell[key]["count"] == committed[key]["count"]
        assert cell["matched"] == committed["matched"]


def test_bertini_counts_the_same_critical_points():
    pytest.importorskip("bertini", reason="the bertini route needs: pip install 'lorank[bertini]'")
    from numerics.engine.bertini_route import count_critical_points

    G, y, th0 = _instances(TINY, [0])
    res = hc.solve_critical(G, y, th0, 1)
    for t in range(1):
        assert bool(res.certified[t])
        assert count_critical_points(G[t].numpy(), y[t].numpy(), th0[t].numpy(), 1) == (
            res.degree, int(res.real_count[t]))


@pytest.mark.slow
def test_second_routes_at_larger_cells():
    """2x3 r = 1 d = 1 (N = 10): total degree (2^7 paths) and Bertini; 3x3 r = 2 d = 1."""
    assert hc.critical_count(2, 3, 1, 3) == hc.total_degree_count(2, 3, 1, 3) == 10
    try:
        from numerics.engine.bertini_route import count_critical_points
        import bertini  # noqa: F401
    except ImportError:
        return
    for cell in ((2, 3, 1, 3), (3, 3, 2, 7)):
        G, y, th0 = _instances(cell, [0])
        res = hc.solve_critical(G, y, th0, cell[2])
        assert bool(res.certified[0])
        assert count_critical_points(G[0].numpy(), y[0].numpy(), th0[0].numpy(), cell[2]) == (
            res.degree, int(res.real_count[0]))


def test_batched_equals_unbatched():
    trials = [0, 1, 2]
    batched = hc.critical_on_e1_instances(*TINY, trials)
    for j, t in enumerate(trials):
        one = hc.critical_on_e1_instances(*TINY, [t])
        assert bool(one.certified[0]) == bool(batched.certified[j])
        assert int(one.real_count[0]) == int(batched.real_count[j])
        assert bool(one.exists[0]) == bool(batched.exists[j])


def test_monodromy_start_is_a_solution_set_of_its_instance():
    (A, th0), z, info = hc.critical_start(*TINY)
    K = z.shape[0]
    F, _ = hc.lagrange(z, A.expand(K, -1, -1, -1), th0.expand(K, -1), jacobian=False)
    assert float(F.abs().max()) < 1e-9
    assert len(info["history"]) >= hc.STALL_ROUNDS and len(set(info["history"][-hc.STALL_ROUNDS:])) == 1


@pytest.mark.parametrize("call, needle", [
    (lambda: hc.check_cell(3, 3, 2, 5), "(r-1)(m+n-r+1) = 5"),
    (lambda: hc.check_cell(2, 2, 1, 4), "M = 4 exceeds r(m+n-r) = 3"),
    (lambda: hc.check_cell(2, 2, 3, 1), "r"),
    (lambda: hc.check_cell(2, 2, 1, 0), "M"),
    (lambda: hc.check_cell(9, 9, 4, 55), "unknowns"),
    (lambda: hc.solve_critical(torch.zeros(2, 2, 2), torch.zeros(2, 2), torch.zeros(2, 3), 1), "4-d"),
    (lambda: hc.solve_critical(torch.zeros(2, 2, 2, 2), torch.zeros(2, 3), torch.zeros(2, 3), 1), "y must"),
    (lambda: hc.solve_critical(torch.zeros(2, 2, 2, 2), torch.zeros(2, 2), torch.zeros(2, 4), 1), "theta0"),
    (lambda: hc.solve_critical(torch.zeros(2, 2, 2, 2), torch.zeros(2, 2), torch.zeros(2, 3), 1,
                               retries=-1), "retries"),
    (lambda: hc.critical_start(2, 2, 1, 2, seed=-1), "seed"),
])
def test_bad_inputs(call, needle):
    with pytest.raises(InvalidArgument) as err:
        call()
    assert needle in str(err.value)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_equals_cpu():
    """The same decisions on the GPU (start solutions found on the CPU either way)."""
    for cell in (TINY, (3, 3, 2, 7)):
        G, y, th0 = _instances(cell, range(8))
        cpu = hc.solve_critical(G, y, th0, cell[2])
        gpu = hc.solve_critical(G, y, th0, cell[2], device="cuda")
        assert cpu.degree == gpu.degree
        assert cpu.certified.tolist() == gpu.certified.tolist()
        assert cpu.real_count.tolist() == gpu.real_count.tolist()


def test_more_distinct_zeros_than_n_is_an_error():
    """The union check of N from above: a pool with N + 1 distinct certified zeros raises."""
    z = torch.arange(3, dtype=torch.float64).to(torch.complex128)[:, None]
    ones = torch.ones(3, dtype=torch.bool)
    small = torch.full((3,), 1e-12, dtype=torch.float64)
    with pytest.raises(RuntimeError, match="undercounted"):
        hc._decide(2, [(z, ones, ones, small, small, small)])
    assert hc._decide(3, [(z, ones, ones, small, small, small)])[:3] == (True, 3, True)


def test_two_endpoints_of_one_zero_count_once_even_where_float64_radii_are_disjoint():
    """The trial that found it (4x4, r = 2, d = 1, trial 42): two trackings each reach a zero
    with |z| near 1e3, 1.7e-11 apart, with 2 beta radii (from residuals at rounding level)
    summing to 1.5e-11. Inside one point's uniqueness ball (1 / (20 gamma), about 6e-8) they
    are one zero: the union has N distinct zeros, not N + 1, and the instance is certified."""
    first = torch.tensor([[1332.0 + 0j], [5.0 + 0j]], dtype=torch.complex128)
    second = torch.tensor([[1332.0 + 1.7e-11 + 0j], [5.0 + 0j]], dtype=torch.complex128)
    ones = torch.ones(2, dtype=torch.bool)
    radius = torch.tensor([5.1e-12, 1e-13], dtype=torch.float64)
    alpha = torch.tensor([2e-6, 1e-12], dtype=torch.float64)
    same = torch.tensor([6e-8, 1e-2], dtype=torch.float64)
    pool = [(first, ones, ones, radius, alpha, same), (second, ones, ones, 2 * radius, alpha, same)]
    assert hc._decide(2, pool)[:3] == (True, 2, True)
    no_uniqueness = [(a, b, c, d, e, torch.zeros_like(f)) for a, b, c, d, e, f in pool]
    with pytest.raises(RuntimeError, match="undercounted"):      # the radii alone: 3 > N = 2
        hc._decide(2, no_uniqueness)


def test_existence_curves_pair_e0_at_rho_1_with_the_points_above(tmp_path):
    """existence_curves: per size, rho = 1 from the E0 summary with the current certificate and
    the most certified instances (an older certificate is ignored even with more), then one
    point per exact-above cell, sorted by rho; sizes without an E0 cell are left out."""
    import json

    from numerics.verdicts.exact_above import E0_CERTIFICATE, existence_curves

    def write(folder, summary):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "summary.json").write_text(json.dumps(summary))

    def e0_cell(m, n, r, s, t):
        return {"m": m, "n": n, "r": r, "e0": {"successes": s, "trials": t, "wilson": [0.1, 0.9]}}

    def above_cell(m, n, r, rho, s, t):
        return {"m": m, "n": n, "r": r, "rho": rho,
                "exists": {"successes": s, "trials": t, "wilson": [0.2, 1.0]}}

    write("exact-existence/old", {"cells": [e0_cell(3, 4, 1, 999, 999)]})
    write("exact-existence/a", {"certificate": {"version": E0_CERTIFICATE},
                                "cells": [e0_cell(3, 4, 1, 90, 100), e0_cell(2, 5, 1, 5, 5)]})
    write("exact-existence/b", {"certificate": {"version": E0_CERTIFICATE},
                                "cells": [e0_cell(3, 4, 1, 190, 200)]})
    write("exact-above/x", {"cells": [above_cell(3, 4, 1, 1.2, 50, 50),
                                      above_cell(3, 4, 1, 1.1, 49, 50),
                                      above_cell(4, 4, 1, 1.1, 50, 50)]})
    curves = existence_curves(tmp_path)
    assert list(curves) == [(3, 4, 1)]
    assert [(rho, s, t, rec) for rho, s, t, _, rec in curves[(3, 4, 1)]] == [
        (1.0, 190, 200, "exact-existence/b"), (1.1, 49, 50, "exact-above/x"),
        (1.2, 50, 50, "exact-above/x")]


def test_a_failed_method_check_stops_the_run_in_one_line_and_keeps_its_trials(tmp_path, capsys,
                                                                             monkeypatch):
    """When a check of the method fails mid-run (here: more distinct certified zeros than N,
    forced on the second batch), ``lorank exact-above`` says so in one line with exit status 1,
    no traceback, and the record keeps the finished batch and ends with an error session."""
    import json

    from lorank.cli import main
    from proofs.validation import MethodFailure

    real = hc.critical_on_e1_instances
    calls = []

    def second_batch_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise MethodFailure("3 distinct certified critical points, more than the critical "
                                "count N = 2 found by monodromy: N is undercounted")
        return real(*args, **kwargs)

    monkeypatch.setattr(hc, "critical_on_e1_instances", second_batch_fails)
    out = tmp_path / "run"
    code = main(["exact-above", "--sizes", "2x2", "--trials", "4", "--batch-size", "2",
                 "--restarts", "1", "--out", str(out), "--no-plot", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "stopped" in err and "N is undercounted" in err
    rows = [json.loads(line) for line in (out / "record.jsonl").read_text().splitlines()]
    assert sum(r.get("kind") == "trial" for r in rows) == 2
    assert rows[-1].get("event") == "end" and rows[-1].get("status") == "error"


def test_pairs_float64_cannot_decide_are_decided_in_high_precision():
    """Two endpoints near one zero whose float64 balls meet but which lie outside each other's
    uniqueness ball (the float64 tests cannot say one zero or two) are refined in high precision
    to the same point and count once (the second takes the first one's test: it lies in its
    uniqueness ball); two endpoints near two distinct zeros whose (inflated)
    balls meet are refined apart and count twice. Without the instance the pair is merged."""
    (A, th0), zs, _ = hc.critical_start(2, 2, 1, 2)
    hn = hc.hessian_norm(A)[0]
    shift = torch.zeros_like(zs[0])
    shift[0] = 3e-9
    one_zero = torch.stack([zs[0] + shift, zs[0] - shift])
    gap = float((zs[0] - zs[1]).abs().pow(2).sum().sqrt())
    two_zeros = torch.stack([zs[0] + shift, zs[1]])
    # near one zero the second endpoint lies in the first one's refined uniqueness ball and
    # takes its test (one high-precision test); near two zeros both are tested
    for z, wide, count in ((one_zero, 1e-8, 1), (two_zeros, gap, 2)):
        good = torch.ones(2, dtype=torch.bool)
        radius = torch.full((2,), wide, dtype=torch.float64)
        alpha = torch.full((2,), 1e-3, dtype=torch.float64)
        same = torch.zeros(2, dtype=torch.float64)
        assert hc._undecided(z, good, radius, same) == [0, 1]
        z2, good2, _, radius2, _, same2, tested = hc._resolve(z, good, good.clone(), radius, alpha,
                                                              same, A, th0, hn)
        assert tested == count and bool(good2.all())
        assert len(hc._distinct_keep(z2, radius2, good2, same2)) == count
        assert len(hc._distinct_keep(z, radius, good, same)) == 1       # float64 alone: merged


def _recheck_script():
    return _script("exact_above_recheck")


@pytest.mark.parametrize("argv, names", [
    (["results/exact-above/cpu-small", "--chunk", "0"], "--chunk"),
    (["results/exact-above/cpu-small", "--limit", "0"], "--limit"),
    (["results/exact-above/cpu-small", "--chunk", "x"], "--chunk"),
    (["results/exact-above/no-such-run"], "no-such-run"),
    (["results/exact-above/cpu-small"], "--out"),
])
def test_recheck_script_rejects_bad_input_before_any_work(tmp_path, capsys, argv, names):
    """Every bad argument of scripts/exact_above_recheck.py: exit code 2 and a message naming
    it, no traceback, no record."""
    out = [] if "--out" == names else ["--out", str(tmp_path / "rc.json")]
    root = Path(__file__).resolve().parents[1]
    argv = [str(root / argv[0])] + argv[1:]
    with pytest.raises(SystemExit) as exit_:
        _recheck_script().main(argv + out)
    assert exit_.value.code == 2
    assert re.search(names, capsys.readouterr().err)
    assert not (tmp_path / "rc.json").exists()


def test_recheck_compares_certification_then_counts():
    """A trial differs on certification first; where both are certified, on its real count and
    existence; two uncertified trials agree whatever their counts."""
    rc = _recheck_script()
    a = {"certified": True, "real_count": 2, "exists": True}
    assert rc.compare(a, dict(a)) == []
    assert rc.compare(a, {**a, "certified": False}) == ["certified"]
    assert rc.compare(a, {**a, "real_count": 0, "exists": False}) == ["real_count", "exists"]
    no = {"certified": False, "real_count": 1, "exists": False}
    assert rc.compare(no, {**no, "real_count": 3}) == []
