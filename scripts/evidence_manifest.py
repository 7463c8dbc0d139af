"""Write ``results/MANIFEST.json``: the committed evidence the ledger expects.

Per committed run (a ``results/<family>/<run>/`` folder with a ``summary.json``): the family,
the folder, its record files, :func:`numerics.verdicts.evidence.record_digest` of them, the sha256 of the
summary, the analysis settings the summary records about itself, and the ledger ids its
verdicts yield. ``lorank check`` then reports a missing or changed file as an error.

Run it only when a new run is committed (``python scripts/evidence_manifest.py --write``);
without ``--write`` it prints the manifest and exits 1 if it differs from the committed one.
Runs already in the manifest keep their pinned hashes: a changed committed file is an error
to fix, not something to re-pin (``--repin FOLDER`` re-pins one run on purpose).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from numerics.verdicts import evidence  # noqa: E402


def build(results: Path, repin=()) -> dict:
    from lorank.ledger import VERDICT_PROVIDERS
    import importlib

    old = {r["folder"]: r for r in (evidence.load_manifest(results) or {}).get("runs", [])}
    entries = []
    for name in VERDICT_PROVIDERS:
        entries += importlib.import_module(name).ledger_entries(results)
    runs = []
    for family, folder in evidence.run_folders(results):
        key = folder.relative_to(results).as_posix()
        ids = [e["id"] for e in entries if e["evidence"] == f"results/{key}/summary.json"]
        if key in old and key not in repin:
            runs.append({**old[key], "entries": ids})
        else:
            runs.append(evidence.manifest_run(results, family, folder, ids))
    return {"format": evidence.MANIFEST_FORMAT,
            "note": "written by scripts/evidence_manifest.py; lorank check reports a run whose "
                    "files are missing or whose hashes differ as an error",
            "runs": runs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--repin", action="append", default=[], metavar="FOLDER")
    args = parser.parse_args(argv)
    text = json.dumps(build(args.results, set(args.repin)), indent=1, sort_keys=True) + "\n"
    path = args.results / evidence.MANIFEST_NAME
    if args.write:
        path.write_text(text)
        return 0
    print(text, end="")
    return 0 if path.is_file() and path.read_text() == text else 1


if __name__ == "__main__":
    sys.exit(main())
