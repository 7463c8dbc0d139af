"""The README's numbers are generated from the committed records, never typed in, and every
verdict it quotes is the ledger's (``scripts/readme_tables.py``)."""

import importlib.util
import re
from pathlib import Path

import pytest

import lorank.ledger as ledger

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def _tables():
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "scripts" / "readme_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _block(text: str, name: str) -> str:
    return text.split(f"<!-- lorank:{name}:start -->\n", 1)[1].split(f"<!-- lorank:{name}:end -->", 1)[0]


@pytest.fixture
def session_checks(checked_verdicts, monkeypatch):
    """``proofs.statement.check`` gives the session's verdict (conftest: every statement checked
    afresh this session) for a statement equal to the one that was checked, and checks any other
    statement now: the tables quote statuses of statements the session has already checked."""
    import proofs.statement

    checked = {v.id: v for v in checked_verdicts}
    fresh = proofs.statement.check

    def check(statement, timeout_s=None):
        v = checked.get(statement.id)
        if v is not None and v.statement == statement and timeout_s is None:
            return v
        return fresh(statement, timeout_s)

    monkeypatch.setattr(proofs.statement, "check", check)


def test_readme_blocks_match_the_records(session_checks):
    # Property: every generated block in the README equals what the committed records give now
    # (refresh with `python scripts/readme_tables.py --write` after a new run).
    tables = _tables()
    text = README.read_text()
    for name in tables.BLOCKS:
        assert f"<!-- lorank:{name}:start -->" in text and f"<!-- lorank:{name}:end -->" in text
    assert tables.refresh_readme(README) == text


def test_every_verdict_quoted_in_the_readme_is_the_ledgers():
    text = README.read_text()
    entries = {e["id"]: e for e in ledger.measured_entries(ROOT / "results")}
    # Property: each "`id` ... **status**" line of a generated block names a ledger entry and
    # quotes its status.
    quoted = []
    for name in ("cstar", "pl", "separability", "rademacher"):
        for line in _block(text, name).splitlines():
            m = re.match(r"- `([^`]+)`.*?\*\*(\w+)\*\*", line)
            if m:
                quoted.append(m.groups())
    assert quoted and all(entries[i]["status"] == status for i, status in quoted)
    # Property: every C* estimand and level the table shows has its ledger line, and every
    # per-size position in the table is the ledger entry's per_size position for that row.
    cstar = _block(text, "cstar")
    ids = {i for i, _ in quoted}
    for line in cstar.splitlines():
        m = re.match(r"\| (E\d[^|]*) \| (\d+)x(\d+) \| (\d+) \|.*\| (\w+) / (\w+) \|$", line)
        if not m:
            continue
        variant, mm, nn, r, pos5, pos95 = m.groups()
        for p, pos in (("0.5", pos5), ("0.95", pos95)):
            entry = next(e for e in entries.values() if e.get("variant") == variant
                         and f".p{p}." in e["id"] and e["id"] in ids)
            row = next(s for s in entry["per_size"] if (s["m"], s["n"], s["r"]) == (int(mm), int(nn), int(r)))
            assert row["position"] == pos, (entry["id"], line)
    # Property: the R3 table's per-setting column is the ledger entry's per-setting status.
    for line in _block(text, "rademacher").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 9 and cells[1].isdigit():
            task, n_train, noise, status = cells[0], int(cells[1]), float(cells[2]), cells[-1]
            entry = next(e for i, e in entries.items() if i.startswith("R3.") and f".{task}.cpu-256" in i)
            assert {(x["n_train"], x["noise"]): x["status"] for x in entry["per_setting"]}[(n_train, noise)] == status


def test_readme_rate_intervals_lie_in_0_1():
    # Property: every interval printed in the R3 table's Wilson columns lies in [0, 1].
    for line in _block(README.read_text(), "rademacher").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 9 and cells[1].isdigit():
            for cell in cells[3:5]:
                lo, hi = map(float, re.search(r"\[([-\d.]+), ([-\d.]+)\]", cell).groups())
                assert 0.0 <= lo <= hi <= 1.0


def test_readme_opens_with_the_two_setup_commands_and_ci_runs_the_test_one():
    # Property: the first code block holds exactly two commands, the main job and the tests, and
    # .ci/run runs the second verbatim.
    text = README.read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2 and block[0].endswith("lorank check") and block[1].endswith("pytest")
    ci = (README.parent / ".ci" / "run").read_text()
    assert block[1] in ci.splitlines()
