"""``lorank check``: the theorem ledger (see :mod:`lorank.ledger`)."""

from __future__ import annotations

import argparse

from . import ledger


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print the ledger as a JSON list of entries")


def run(args) -> int:
    return ledger.check(json_output=args.json)
