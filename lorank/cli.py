"""The ``lorank`` command line: ``check`` (the theorem ledger), ``prescribe`` (the rank
advisor), ``cstar`` (the Monte Carlo capacity engine) and the experiments of R2 and R3
(``separability``, ``pl``, ``rademacher``).

Bad input gives a one-line error that names the argument and the value, and exit status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from proofs.validation import InvalidArgument

__all__ = ["main", "build_parser", "DESCRIPTION"]

#: The top-level help's description: plain text (the module docstring is reST, whose
#: double backticks would leak into ``lorank --help``).
DESCRIPTION = ("The lorank command line: check (the theorem ledger), prescribe (the rank advisor), "
               "cstar (the Monte Carlo capacity engine) and the experiments of R2 and R3 "
               "(separability, pl, rademacher).")

#: subcommand -> (module, one-line help). Each module provides add_arguments(parser) and
#: run(args) -> int, and is imported only when its command runs (check needs no torch).
SUBCOMMANDS = {
    "check": ("lorank.check_cli", "check every statement: proofs by two routes, measured verdicts from records"),
    "prescribe": ("lorank.prescribe", "least LoRA rank per matrix and criterion for a model and data size"),
    "cstar": ("lorank.experiment_cli", "Monte Carlo estimate of C* (existence / one start / LoRA recipe)"),
    "separability": ("lorank.experiment_cli",
                     "E4: separability of random labels by rank r; verdict on 'PL removes the rank threshold'"),
    "pl": ("lorank.experiment_cli", "R2: PL* constant of LoRA (squared loss): tangent kernel, Marchenko-Pastur edge, GD rate"),
    "rademacher": ("lorank.experiment_cli",
                   "R3 rank sweeps: held-out error against the LoRA rank for binary and 3-class tasks"),
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def _version() -> str:
    from . import __version__

    return __version__


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the selected subcommand's module is imported.

    >>> build_parser().prog
    'lorank'
    """
    parser = _Parser(prog="lorank", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"lorank {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            importlib.import_module(module_name).add_arguments(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lorank`` console script.

    >>> main(["prescribe", "--m", "0", "--n", "8", "--K", "1", "--N", "4"])
    2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if a in SUBCOMMANDS), None)
    parser = build_parser(selected)
    args = parser.parse_args(argv)
    try:
        return importlib.import_module(SUBCOMMANDS[args.command][0]).run(args)
    except InvalidArgument as error:
        print(f"lorank {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lorank {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `lorank check | head`: the reader left, not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
