"""E0 against its second route, Bertini 2 (issue 16): the live check needs the optional extra
(`pip install 'lorank[bertini]'`) and is skipped without it; the committed cross-check record is
checked without it."""

import gzip
import json
from pathlib import Path

import pytest

from proofs.exact_existence import determinantal_degree

RECORDS = sorted((Path(__file__).resolve().parents[1] / "results/exact-existence/bertini-cpu").glob("crosscheck*.json.gz"))


def test_bertini_finds_the_degree_and_e0_s_real_counts():
    pytest.importorskip("bertini", reason="the bertini route needs: pip install 'lorank[bertini]'")
    torch = pytest.importorskip("torch")
    from numerics.engine.bertini_route import count_solutions
    from numerics.engine.homotopy import solve_rank_one

    g = torch.Generator().manual_seed(11)
    for m, n in ((2, 3), (3, 3)):
        G = torch.randn(4, m + n - 1, m, n, generator=g, dtype=torch.float64)
        y = torch.randn(4, m + n - 1, generator=g, dtype=torch.float64)
        e0 = solve_rank_one(G, y)
        assert bool(e0.certified.all())
        for t in range(4):
            finite, real = count_solutions(G[t].numpy(), y[t].numpy())
            assert finite == determinantal_degree(m, n, 1)
            assert real == int(e0.real_count[t])


def test_bertini_rank_two_system_is_e0_s():
    pytest.importorskip("bertini", reason="the bertini route needs: pip install 'lorank[bertini]'")
    torch = pytest.importorskip("torch")
    from numerics.engine.bertini_route import count_solutions_rank
    from numerics.engine.homotopy_rank import solve_rank

    g = torch.Generator().manual_seed(4)
    G = torch.randn(2, 8, 3, 3, generator=g, dtype=torch.float64)
    y = torch.randn(2, 8, generator=g, dtype=torch.float64)
    e0 = solve_rank(G, y, 2)
    for t in range(2):
        assert count_solutions_rank(G[t].numpy(), y[t].numpy(), 2) == (3, int(e0.real_count[t]))


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_committed_crosscheck_is_consistent_and_e0_never_loses_to_the_exact_route(path):
    # Every number of the record recomputed from its rows; where Bertini and E0 disagree on a
    # two-row or 3x3 rank-one instance, the exact count sides with E0 (the record says which
    # route erred).
    record = json.loads(gzip.decompress(path.read_bytes()))
    assert record["format"] == "lorank.exact-existence-bertini/1"
    rank = record.get("rank", 1)
    for c in record["cells"]:
        rows = c["rows"]
        cert = [r for r in rows if r["e0_certified"]]
        assert c["degree"] == determinantal_degree(c["m"], c["n"], rank) and len(rows) == c["trials"]
        assert c["bertini_finds_degree"] == sum(r["bertini_finite"] == c["degree"] for r in rows)
        assert c["e0_certified"] == len(cert)
        assert c["real_counts_agree"] == sum(r["e0_real"] == r["bertini_real"] for r in cert)
        assert len(c["disagreements"]) == len(cert) - c["real_counts_agree"]
        for d in c["disagreements"]:
            if rank == 1 and (c["m"] == 2 or (c["m"], c["n"]) == (3, 3)):
                assert d["exact_real"] == d["e0_real"], d
        # E0's certified real counts have the parity of the degree (conjugate pairs)
        assert all((r["e0_real"] - c["degree"]) % 2 == 0 for r in cert)
