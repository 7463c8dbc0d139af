"""``lorank check``: the theorem ledger (see :mod:`lorank.ledger`)."""

from __future__ import annotations

import argparse

from . import ledger


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print the ledger as a JSON list of entries (no wall-clock times "
                             "unless --timings: the same output on every run and install)")
    parser.add_argument("--results", metavar="DIR", default=None,
                        help="read the measured verdicts' evidence from DIR (a copy of results/ "
                             "with its MANIFEST.json) instead of the results shipped with lorank")
    parser.add_argument("--timings", action="store_true",
                        help="with --json: keep the wall-clock 'seconds' of entries and routes")


def run(args) -> int:
    return ledger.check(json_output=args.json, results_dir=args.results, timings=args.timings)
