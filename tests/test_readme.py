"""The README's numbers are generated from the committed records, never typed in."""

from pathlib import Path

from lorank.report import BLOCKS, refresh_readme

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_blocks_match_the_records():
    # Property: every generated block in the README equals what the committed records give now
    # (refresh with `python -m lorank.report --write` after a new run).
    text = README.read_text()
    for name in BLOCKS:
        assert f"<!-- lorank:{name}:start -->" in text and f"<!-- lorank:{name}:end -->" in text
    assert refresh_readme(README) == text


def test_readme_opens_with_the_two_setup_commands_and_ci_runs_the_test_one():
    # Property: the first code block holds exactly two commands, the main job and the tests, and
    # .ci/run runs the second verbatim.
    text = README.read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2 and block[0].endswith("lorank check") and block[1].endswith("pytest")
    ci = (README.parent / ".ci" / "run").read_text()
    assert block[1] in ci.splitlines()
