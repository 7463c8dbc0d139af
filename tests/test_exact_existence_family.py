"""E0 as an experiment family (``lorank exact``, issue 16): pairing with E1, the summary's
counting rules, the verdict rules, the Kac-Rice formula, and the committed run."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import mpmath
import pytest

from numerics.experiments.exact_existence import FAMILY, summarise
from numerics.verdicts.exact_existence import claim_verdicts, ledger_entries
from proofs.exact_existence import determinantal_degree, expected_real_count_r1

RESULTS = Path(__file__).resolve().parent.parent / "results"
RUN = RESULTS / "exact-existence" / "e0-cpu"


def _row(t, certified=True, real=2, first=0, restarts=3):
    return {"trial": t, "certified": certified, "real_count": real if certified else None,
            "exists": (real >= 1) if certified else None, "max_alpha": 1e-12,
            "e1_first_success": first,
            "e1": [first is not None and first < k for k in range(1, restarts + 1)]}


def _by_claim(summary):
    return {v["claim"]: v for v in summary["verdicts"]}


def test_e1_in_the_record_is_cstar_lm_on_the_same_instances():
    # Property: the paired E1 of trial t is exactly what `lorank cstar --estimand lm` records
    # for trial t of the cell (m, n, 1, M) at KN = M (same seeds, same solver settings).
    pytest.importorskip("torch")
    from numerics.experiments.protocol import family_named

    cfg = FAMILY.config(sizes=((2, 3),), trials=6, restarts=3, max_iters=40)
    rows = FAMILY.run_batch(cfg, (2, 3, 1, 4), list(range(6)))
    lm = family_named("cstar-lm")
    lcfg = lm.config(sizes=((2, 3),), ranks=(1,), rho=None, kn=(4,), trials=6, restarts=3,
                     max_iters=40)
    ref = lm.run_batch(lcfg, (2, 3, 1, 4), list(range(6)))
    assert [r["e1_first_success"] for r in rows] == [r["first_success"] for r in ref]
    # degree 3 is odd: every certified instance has a real solution
    assert all(r["exists"] for r in rows if r["certified"])
    assert sum(r["certified"] for r in rows) >= 5


def test_uncertified_instances_are_never_counted():
    cfg = FAMILY.config(sizes=((2, 2),), trials=4, restarts=3)
    rows = [_row(0, real=2), _row(1, real=0, first=None), _row(2, certified=False, first=0),
            _row(3, certified=False, first=None)]
    s = summarise(cfg, {(2, 2, 1, 3): rows})
    c = s["cells"][0]
    assert (c["trials"], c["certified"], c["uncertified"]) == (4, 2, 2)
    assert c["e0"]["successes"] == 1 and c["e0"]["trials"] == 2
    assert c["e1"]["3"]["trials"] == 2 and c["e1"]["3"]["successes"] == 1
    assert c["uncertified_trials"] == [2, 3]
    assert c["real_count_histogram"] == {"0": 1, "2": 1}
    assert _by_claim(s)["certified"]["status"] == "open"


def test_odd_degree_without_a_real_solution_is_a_contradiction():
    cfg = FAMILY.config(sizes=((2, 3),), trials=3, restarts=3)
    good = summarise(cfg, {(2, 3, 1, 4): [_row(0, real=1), _row(1, real=3), _row(2, real=1)]})
    assert _by_claim(good)["odd-degree-exists"]["status"] == "supported"
    bad = summarise(cfg, {(2, 3, 1, 4): [_row(0, real=1), _row(1, real=0, first=None),
                                         _row(2, real=1)]})
    assert _by_claim(bad)["odd-degree-exists"]["status"] == "contradicted"
    # uncertified odd-degree instances are not evidence either way
    none = summarise(cfg, {(2, 3, 1, 4): [_row(t, certified=False) for t in range(3)]})
    assert _by_claim(none)["odd-degree-exists"]["status"] == "open"


def test_e1_success_where_e0_finds_no_real_solution_is_a_contradiction():
    cfg = FAMILY.config(sizes=((2, 2),), trials=2, restarts=3)
    s = summarise(cfg, {(2, 2, 1, 3): [_row(0, real=2, first=1), _row(1, real=0, first=2)]})
    v = _by_claim(s)
    assert v["e1-below-e0"]["status"] == "contradicted"
    assert s["cells"][0]["e1"]["3"]["contradictions"] == 1
    assert s["cells"][0]["e1"]["2"]["contradictions"] == 0   # first success 2 is not < 2


def test_shortfall_counts_pairs():
    cfg = FAMILY.config(sizes=((2, 2),), trials=4, restarts=3)
    rows = [_row(0, first=0), _row(1, first=2), _row(2, first=None), _row(3, real=0, first=None)]
    e1 = summarise(cfg, {(2, 2, 1, 3): rows})["cells"][0]["e1"]
    assert [e1[k]["missed"] for k in "123"] == [2, 2, 1]
    assert [e1[k]["successes"] for k in "123"] == [1, 1, 2]
    assert e1["3"]["shortfall"] == pytest.approx(0.25)


def test_kac_rice_against_the_sphere_volumes():
    # Route 2: vol S^{m-1} vol S^{n-1} / 2 times the join integral, over vol RP^{m+n-1}, by
    # mpmath quadrature; route 1 is the Gamma closed form.
    def vol(k):
        return 2 * mpmath.pi ** (mpmath.mpf(k + 1) / 2) / mpmath.gamma(mpmath.mpf(k + 1) / 2)

    for m, n in ((1, 4), (2, 2), (2, 5), (3, 4), (4, 4), (5, 7), (8, 8)):
        with mpmath.workdps(30):   # the closed form is evaluated at 30 digits too
            join = mpmath.quad(lambda t: mpmath.sin(t) ** (m + n - 2), [0, mpmath.pi])
            route2 = (join * vol(m - 1) * vol(n - 1) / 2 / 2) / (vol(m + n - 1) / 2)
        assert abs(expected_real_count_r1(m, n) - route2) < mpmath.mpf(10) ** -20
        assert expected_real_count_r1(m, n) == expected_real_count_r1(n, m)
        assert 1 <= expected_real_count_r1(m, n) <= determinantal_degree(m, n, 1)


def test_kac_rice_verdict_rule():
    cfg = FAMILY.config(sizes=((2, 2),), trials=40, restarts=3)
    # 2x2: counts are 0 or 2; Kac-Rice pi/2 needs P(2 real) = pi/4 ~ 0.785
    near = [_row(t, real=2 if t < 31 else 0, first=0 if t < 31 else None) for t in range(40)]
    assert _by_claim(summarise(cfg, {(2, 2, 1, 3): near}))["kac-rice"]["status"] == "supported"
    far = [_row(t, real=2 if t < 12 else 0, first=0 if t < 12 else None) for t in range(40)]
    assert _by_claim(summarise(cfg, {(2, 2, 1, 3): far}))["kac-rice"]["status"] == "contradicted"


@pytest.mark.skipif(not (RUN / "summary.json").exists(), reason="no committed E0 run")
def test_committed_run_re_summarises_to_its_summary():
    # The committed summary is what summarise makes of the committed record (cells and
    # verdicts), and its ledger entries are the summary's verdicts.
    from numerics.experiments.records import read_record
    from numerics.experiments.runner import load

    committed = json.loads((RUN / "summary.json").read_text())
    record = RUN / "record.jsonl.gz"
    cfg = FAMILY.from_spec(read_record(record).spec)
    again = summarise(cfg, load(FAMILY, cfg, [record]))
    assert json.loads(json.dumps(again["cells"])) == committed["cells"]
    assert [(v["claim"], v["status"]) for v in again["verdicts"]] == \
        [(v["claim"], v["status"]) for v in committed["verdicts"]]
    ids = {e["id"]: e["status"] for e in ledger_entries(RESULTS)}
    for v in committed["verdicts"]:
        assert ids[f"E0.{v['claim']}.e0-cpu"] == v["status"]
    with gzip.open(record, "rt") as f:
        assert sum(1 for _ in f) > 1


# ---------------------------------------------------------------- E0 at r >= 2
def _ints(m, n, M, T, seed):
    import torch

    g = torch.Generator().manual_seed(seed)
    G = torch.randint(-5, 6, (T, M, m, n), generator=g).to(torch.float64)
    y = torch.randint(-5, 6, (T, M), generator=g).to(torch.float64)
    return G, y


def test_rank_engine_at_r1_equals_the_r1_engine():
    # The general bilinear parametrisation at r = 1 against solve_rank_one (another start
    # system, the same tracker): the same certified real counts.
    torch = pytest.importorskip("torch")
    from numerics.engine.homotopy import solve_rank_one
    from numerics.engine.homotopy_rank import solve_rank

    g = torch.Generator().manual_seed(5)
    G = torch.randn(6, 5, 3, 3, generator=g, dtype=torch.float64)
    y = torch.randn(6, 5, generator=g, dtype=torch.float64)
    a, b = solve_rank(G, y, 1), solve_rank_one(G, y)
    both = a.certified & b.certified
    assert int(both.sum()) >= 5
    assert a.real_count[both].tolist() == b.real_count[both].tolist()


@pytest.mark.parametrize("m, n", [(3, 3), (4, 3)])
def test_rank_two_solutions_are_rank_two_interpolants(m, n):
    # Independent of the parametrisation: every endpoint gives a matrix of rank <= 2 meeting
    # the M = 2(m+n-2) conditions, and the count is the degree (3 at 3x3, 6 at 4x3).
    torch = pytest.importorskip("torch")
    from numerics.engine.homotopy_rank import delta_of, solve_rank

    M = 2 * (m + n - 2)
    g = torch.Generator().manual_seed(7)
    G = torch.randn(3, M, m, n, generator=g, dtype=torch.float64)
    y = torch.randn(3, M, generator=g, dtype=torch.float64)
    res = solve_rank(G, y, 2)
    assert res.degree == determinantal_degree(m, n, 2) and bool(res.certified.all())
    mm, nn = min(m, n), max(m, n)
    D = delta_of(res.solutions, mm, nn, 2)
    if m > n:
        D = D.transpose(-1, -2)
    fit = torch.einsum("tiab,tpab->tpi", G.to(D.dtype), D) - y[:, None, :]
    assert float(fit.abs().max()) < 1e-8
    assert bool((torch.linalg.svdvals(D)[..., 2:].abs() < 1e-8).all()) if min(m, n) > 2 else True


def test_rank_two_real_counts_agree_with_the_groebner_route():
    pytest.importorskip("torch")
    from numerics.engine.homotopy_rank import solve_rank
    from proofs.exact_existence import real_solution_count_groebner

    G, y = _ints(3, 3, 8, 3, seed=31)
    res = solve_rank(G, y, 2)
    exact = [real_solution_count_groebner(G[k].tolist(), y[k].tolist(), 2) for k in range(3)]
    decided = [k for k in range(3) if exact[k] is not None and bool(res.certified[k])]
    assert len(decided) >= 2
    assert all(exact[k][1] == res.degree for k in decided)
    assert [exact[k][0] for k in decided] == [int(res.real_count[k]) for k in decided]


@pytest.mark.slow
@pytest.mark.parametrize("m, n, r", [(4, 4, 2), (4, 4, 3), (3, 6, 2), (4, 5, 3)])
def test_rank_start_systems_have_the_degree(m, n, r):
    # (the cheap case 3x3 r = 2 is in the module doctest; these track 91 to 816 start paths;
    # 5x5 r = 4, 10626 paths, degree 5, passed once in 12 minutes on one loaded CPU core)
    pytest.importorskip("torch")
    from numerics.engine.homotopy_rank import e0_rank_on_e1_instances, start_solutions_rank

    _, z = start_solutions_rank(m, n, r)
    assert z.shape[0] == determinantal_degree(m, n, r)
    res = e0_rank_on_e1_instances(m, n, r, range(8))
    assert int(res.certified.sum()) >= 7


def test_random_tracking_chart_gives_the_same_certified_counts():
    # Tracking in a random complex chart Q [I; U'] V^T and certifying in the identity chart must
    # decide every instance that both charts certify alike: the same real counts (3x3, r = 2,
    # degree 3; 4x3 is solved transposed, as 3x4, degree 6; the CUDA test adds 4x4, degree 20).
    torch = pytest.importorskip("torch")
    from numerics.engine.homotopy_rank import delta_of, solve_rank

    for m, n in ((3, 3), (4, 3)):
        M = 2 * (m + n - 2)
        g = torch.Generator().manual_seed(11)
        G = torch.randn(4, M, m, n, generator=g, dtype=torch.float64)
        y = torch.randn(4, M, generator=g, dtype=torch.float64)
        a, b = solve_rank(G, y, 2), solve_rank(G, y, 2, chart="random")
        both = a.certified & b.certified
        assert int(both.sum()) >= 3
        assert a.real_count[both].tolist() == b.real_count[both].tolist()
        # the random chart's endpoints are solutions in the identity chart
        mm, nn = min(m, n), max(m, n)
        D = delta_of(b.solutions[b.certified], mm, nn, 2)
        Gc = (G if m <= n else G.transpose(-1, -2))[b.certified].to(D.dtype)
        fit = torch.einsum("tiab,tpab->tpi", Gc, D) - y[b.certified][:, None, :]
        assert float(fit.abs().max()) < 1e-8


def test_a_cut_path_continued_in_another_chart_ends_where_it_would_have():
    # continue_in_better_charts takes a path on from where it stopped, along the same parameter
    # segment, in the chart of its largest-volume rows: paths cut after 8 steps and continued
    # that way end where the uncut paths end (3x4, r = 2, degree 6, two instances).
    torch = pytest.importorskip("torch")
    from numerics.engine.homotopy_certify import bilinear_coefficients
    from numerics.engine.homotopy_rank import (_family, continue_in_better_charts,
                                               start_solutions_rank)
    from numerics.engine.homotopy_track import track

    (Gs, ys), zs = start_solutions_rank(3, 4, 2)
    g = torch.Generator().manual_seed(3)
    G = torch.randn(2, 10, 3, 4, generator=g, dtype=torch.float64).to(torch.complex128)
    y = torch.randn(2, 10, generator=g, dtype=torch.float64).to(torch.complex128)
    start = _family(bilinear_coefficients(Gs[None], ys[None], 2))
    target = _family(bilinear_coefficients(G, y, 2))
    z0 = zs[None].expand(2, -1, -1).contiguous()
    full, done_full = track(z0, start, target)
    cut, done_cut, t = track(z0, start, target, max_steps=8, return_t=True)
    assert not bool(done_cut.any()) and bool(((t > 0) & (t < 1)).all())
    z, done, rescued = continue_in_better_charts(cut, done_cut, t, (Gs, ys), (G, y), 3, 4, 2)
    assert bool(done.all()) and rescued.tolist() == [6, 6] and bool(done_full.all())
    assert float((z - full).abs().max()) < 1e-6


def test_tracking_chart_is_refused_unless_known():
    torch = pytest.importorskip("torch")
    from numerics.engine.homotopy_rank import solve_rank
    from proofs.validation import InvalidArgument

    with pytest.raises(InvalidArgument, match="chart"):
        solve_rank(torch.zeros(1, 8, 3, 3), torch.zeros(1, 8), 2, chart="upper")


def test_tracking_chart_enters_the_spec_only_when_random():
    # identity: the spec of every earlier record (they resume unchanged); random: named
    ident = FAMILY.config(sizes=((3, 3),), ranks=(2,), trials=2)
    rand = FAMILY.config(sizes=((3, 3),), ranks=(2,), trials=2, tracking_chart="random")
    assert "tracking_chart" not in FAMILY.record_spec(ident)
    assert FAMILY.record_spec(rand)["tracking_chart"] == "random"
    assert FAMILY.from_spec(FAMILY.record_spec(rand)) == rand
    assert FAMILY.from_spec(FAMILY.record_spec(ident)) == ident


def test_a_random_chart_run_says_so_in_its_record_and_summary(tmp_path):
    pytest.importorskip("torch")
    from numerics.experiments.exact_existence import render_summary
    from numerics.experiments.records import read_record
    from numerics.experiments.runner import load, run

    cfg = FAMILY.config(sizes=((3, 3),), ranks=(2,), trials=2, tracking_chart="random",
                        restarts=2)
    run(FAMILY, cfg, tmp_path / "record.jsonl", progress=False)
    outcomes = load(FAMILY, cfg, [tmp_path / "record.jsonl"])
    assert read_record(tmp_path / "record.jsonl").spec["tracking_chart"] == "random"
    summary = summarise(cfg, outcomes)
    assert summary["certificate"]["tracking_chart"] == "random"
    assert summary["cells"][0]["certified"] == 2
    assert "tracked in the random chart" in render_summary(summary)


@pytest.mark.cuda
def test_rank_engine_cuda_equals_cpu():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    from numerics.engine.homotopy_rank import e0_rank_on_e1_instances

    for chart in ("identity", "random"):
        cpu = e0_rank_on_e1_instances(4, 4, 2, range(8), chart=chart)
        gpu = e0_rank_on_e1_instances(4, 4, 2, range(8), device="cuda", chart=chart)
        both = cpu.certified & gpu.certified.cpu()
        assert int(both.sum()) >= 7
        assert gpu.real_count.cpu()[both].tolist() == cpu.real_count[both].tolist()


# ---------------------------------------------------------------- certificate v2
def test_second_chart_certifies_a_zero_with_huge_coordinates():
    # A real rank-one solution whose first row is tiny: in the tracking chart (u_1 = 1) its
    # coordinates are ~1e5 and the alpha test fails; in the chart of its largest row it passes,
    # is classified real, and its matrix is the same.
    torch = pytest.importorskip("torch")
    from numerics.engine.homotopy import alpha_test
    from numerics.engine.homotopy_certify import delta_of, endpoint_certificates

    g = torch.Generator().manual_seed(7)
    m, n = 3, 4
    M = m + n - 1
    u = torch.tensor([1e-5, 0.8, -1.1], dtype=torch.float64)
    v = torch.randn(n, generator=g, dtype=torch.float64)
    G = torch.randn(1, M, m, n, generator=g, dtype=torch.float64)
    y = torch.einsum("a,iab,b->i", u, G[0], v)[None]
    z = torch.cat([u[1:] / u[0], v * u[0]]).to(torch.complex128)[None, None]
    Gc, yc = G.to(torch.complex128), y.to(torch.complex128)
    _, _, alpha = alpha_test(z, Gc, yc)
    assert float(alpha) > 0.157          # fails in the tracking chart (ALPHA_0 = 0.157...)
    e = endpoint_certificates(z, torch.ones(1, 1, dtype=torch.bool), Gc, yc, 1)
    assert e.good.tolist() == [[True]] and e.real.tolist() == [[True]]
    assert e.recharted_per.tolist() == [1]
    assert torch.allclose(e.delta[0, 0].reshape(m, n), delta_of(z[0, 0], m, n, 1), rtol=1e-8)


def test_rechart_is_the_same_matrix_at_rank_two():
    torch = pytest.importorskip("torch")
    from numerics.engine.homotopy_certify import delta_of, rechart

    g = torch.Generator().manual_seed(3)
    m, n, r = 5, 4, 2
    z = torch.complex(torch.randn(6, (m - r) * r + n * r, generator=g, dtype=torch.float64),
                      torch.randn(6, (m - r) * r + n * r, generator=g, dtype=torch.float64))
    z[:, :2] *= 1e4                          # a nearly singular top block
    perm, zt = rechart(z, m, n, r)
    D, Dt = delta_of(z, m, n, r), delta_of(zt, m, n, r)
    back = torch.gather(Dt, 1, torch.argsort(perm, -1)[..., None].expand(-1, m, n))
    assert torch.allclose(back, D, rtol=1e-9, atol=1e-6)
    # the chart's U' block is moderate (greedy volume pivoting), the tracking chart's was not
    p = (m - r) * r
    assert float(z[:, :p].abs().max()) > 1e3 and float(zt[:, :p].abs().max()) < 10


def test_monodromy_finds_the_degree_and_completes_a_partial_set():
    torch = pytest.importorskip("torch")
    from numerics.engine.homotopy import start_solutions
    from numerics.engine.homotopy_rank import monodromy_complete, start_solutions_rank

    _, z = start_solutions_rank(3, 4, 2)
    assert z.shape[0] == determinantal_degree(3, 4, 2)
    (G, y), z1 = start_solutions(3, 3)
    done, _ = monodromy_complete(G[None], y[None], z1[:2], 1, 6, 0, "cpu")
    assert done.shape[0] == 6


def test_records_of_the_first_certificate_are_summarised_but_never_resumed(tmp_path):
    # A v1 record (no "certificate" in its spec) re-summarises to its committed summary (above)
    # and a resume of it by this version is refused, naming the field.
    import shutil

    from numerics.experiments.records import read_record
    from proofs.validation import InvalidArgument
    from numerics.experiments.runner import run

    src = gzip.decompress((RUN / "record.jsonl.gz").read_bytes())
    (tmp_path / "record.jsonl").write_bytes(src)
    spec = read_record(tmp_path / "record.jsonl").spec
    assert "certificate" not in spec
    cfg = FAMILY.from_spec(spec)
    with pytest.raises(InvalidArgument, match="certificate|retries"):
        run(FAMILY, cfg, tmp_path / "record.jsonl", resume=True)
    shutil.rmtree(tmp_path)


def test_new_spec_round_trips_with_its_certificate():
    cfg = FAMILY.config(sizes=((2, 3),), trials=2, retries=2)
    spec = FAMILY.record_spec(cfg)
    assert spec["certificate"] == "charts+union/2" and spec["retries"] == 2
    assert FAMILY.from_spec(spec) == cfg


# --- monodromy start solutions: chunked merge and the on-disk cache -------------------------

def _greedy_distinct(points, beta):
    """The reference rule, point by point: keep a point when its 2-beta ball (plus 1e-8) is
    disjoint from that of every point kept before it."""
    kept = []
    for k in range(points.shape[0]):
        if all(float((points[k] - points[j]).abs().pow(2).sum().sqrt())
               > 2 * float(beta[k] + beta[j]) + 1e-8 for j in kept):
            kept.append(k)
    return points[kept]


def test_merge_distinct_is_the_greedy_rule():
    """Property: for distinct known points and any candidates (near-duplicates included, and
    chunks smaller than the input), merge_distinct keeps exactly what the point-by-point greedy
    rule keeps from the concatenation, in the same order; dedupe_points is that rule too."""
    torch = pytest.importorskip("torch")
    from numerics.engine.homotopy_track import dedupe_points, merge_distinct

    for seed in range(20):
        g = torch.Generator().manual_seed(seed)
        base = torch.complex(torch.randn(12, 3, generator=g, dtype=torch.float64),
                             torch.randn(12, 3, generator=g, dtype=torch.float64))
        beta = torch.rand(12, generator=g, dtype=torch.float64) * 1e-9
        known, kb = base[:4], beta[:4]                     # distinct (random points)
        pick = torch.randint(0, 12, (30,), generator=g)
        cand = base[pick] + 1e-13 * torch.randn(30, 3, generator=g, dtype=torch.float64)
        cb = beta[pick]
        want = _greedy_distinct(torch.cat([known, cand]), torch.cat([kb, cb]))
        assert want.shape[0] == len(set(range(4)) | set(pick.tolist()))   # each point once
        for chunk in (1, 7, 64):
            got, got_b = merge_distinct(known, kb, cand, cb, chunk=chunk)
            assert torch.equal(got, want), (seed, chunk)
            assert got_b.shape[0] == got.shape[0]
        assert torch.equal(dedupe_points(torch.cat([known, cand]), torch.cat([kb, cb])), want)


def _same_set(a, b, tol=1e-9):
    import torch

    d = torch.cdist(torch.cat([a.real, a.imag], -1), torch.cat([b.real, b.imag], -1))
    return a.shape == b.shape and bool((d.min(1).values < tol).all()) and bool((d.min(0).values < tol).all())


def test_start_cache_is_reused_and_recertified(tmp_path, monkeypatch):
    """Property: with $LORANK_START_CACHE set, a solved start is written once and read back by a
    later process (the lru cache cleared here) as the same solution set; a file that is not a
    certified solution set (garbage, points that solve nothing, or a duplicate in place of a
    solution) is refused by the check, and the start is then solved anew, still with degree
    distinct solutions."""
    torch = pytest.importorskip("torch")
    import numerics.engine.homotopy_rank as HR

    monkeypatch.setenv(HR.START_CACHE_ENV, str(tmp_path))
    HR._start.cache_clear()
    (_, _), z = HR.start_solutions_rank(3, 3, 2, seed=7)      # degree 3
    files = list(tmp_path.glob("rank-start-3x3-r2-seed7.pt"))
    assert len(files) == 1 and z.shape[0] == 3
    HR._start.cache_clear()
    calls = []
    monkeypatch.setattr(HR, "monodromy_complete", lambda *a, **k: calls.append(1) or (_ for _ in ()).throw(AssertionError("solved anew")))
    (_, _), z2 = HR.start_solutions_rank(3, 3, 2, seed=7)
    assert not calls and _same_set(z, z2)
    monkeypatch.undo()
    monkeypatch.setenv(HR.START_CACHE_ENV, str(tmp_path))
    (G1, y1), _ = HR.start_solutions_rank(3, 3, 2, seed=7)
    Gp1, Lp1, _ = HR._family(HR.bilinear_coefficients(G1[None], y1[None], 2))
    assert HR._cached_start(3, 3, 2, 7, 3, Gp1, Lp1) is not None     # the good file passes
    bad = [b"not a tensor", torch.randn(3, z.shape[1], dtype=torch.float64).to(torch.complex128),
           torch.cat([z[:2], z[:1]])]                      # a duplicate in place of a solution
    for content in bad:
        if isinstance(content, bytes):
            files[0].write_bytes(content)
        else:
            torch.save(content, files[0])
        assert HR._cached_start(3, 3, 2, 7, 3, Gp1, Lp1) is None
    HR._start.cache_clear()                                # the last bad file: solved anew
    (_, _), z3 = HR.start_solutions_rank(3, 3, 2, seed=7)
    assert _same_set(z, z3)
    HR._start.cache_clear()
