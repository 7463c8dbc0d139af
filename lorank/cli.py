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

from proofs.validation import InvalidArgument, MethodFailure

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
    "xent": ("lorank.experiment_cli", "R2: cross-entropy LoRA recipe where a separator exists (P(separates | separator))"),
    "rank-sweep": ("lorank.experiment_cli", "R3 with a rank-r0 teacher: held-out error against the rank, argmin_r and the variance side"),
    "gradient-flow": ("lorank.experiment_cli", "seed 002: GD against the LoRA gradient flow (slope in eta), trace-squared loss, Eckart-Young from a spectral start"),
    "jang": ("lorank.experiment_cli", "seed 001: rank of min-nuclear-norm interpolants vs r(r+1)/2 <= KN (SDP, ADMM, Barvinok-Pataki reduction); GD on weight-decayed LoRA from many starts"),
    "stable-rank": ("lorank.experiment_cli", "seed 003: stable rank sr(Delta), sr(W0 + Delta) of learned LoRA updates against the nominal rank r, alpha/r and alpha/sqrt(r)"),
    "learnable-rank": ("lorank.experiment_cli", "seed 004: gated LoRA (B diag(g) A, proximal L1, pruning): learned rank per seed on binary and K-class NTK tasks"),
    "exact": ("lorank.experiment_cli", "E0 (issue 16): certified real existence at rho = 1 by homotopy continuation (all complex solutions), paired with E1[k] on the same instances"),
    "exact-above": ("lorank.experiment_cli", "issue 16 item 5: certified real existence just above rho = 1 (critical points of the distance from a random point, by homotopy continuation), paired with E1[k] on the same instances"),
    "encoder-ntk": ("lorank.experiment_cli", "issue 15: empirical NTK features of a pretrained encoder on BBC News: least interpolating rank, transition in rho, spectrum vs Gaussian-iid (needs lorank[encoder])"),
    "encoder-lora": ("lorank.experiment_cli", "issue 15: PEFT LoRA rank sweep (query, value) of a pretrained encoder on BBC News tasks, with full fine-tuning as reference (needs lorank[encoder])"),
    "encoder-gated": ("lorank.experiment_cli", "issue 15: gated LoRA (SoRA's Delta = B diag(g) A, proximal L1 on g) on query and value of a pretrained encoder on BBC News tasks: the learned rank per matrix against lambda (needs lorank[encoder])"),
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_known_args(self, args=None, namespace=None):  # noqa: D401 - argparse API
        if args is not None:
            args = self._dash_values(list(args))
        return super().parse_known_args(args, namespace)

    def _dash_values(self, args: list[str]) -> list[str]:
        """Take a value that starts with ``-`` after a flag that needs one as that flag's value
        (``--sizes -8x8`` -> ``--sizes=-8x8``), so the flag's own check names it; argparse would
        say only "expected one argument". A word that is a flag of this parser stays a flag.

        >>> p = _Parser(prog="demo")
        >>> _ = p.add_argument("--sizes")
        >>> p._dash_values(["--sizes", "-8x8", "--sizes", "-h"])
        ['--sizes=-8x8', '--sizes', '-h']
        """
        takes_value = {s for a in self._actions if a.option_strings and a.nargs is None
                       for s in a.option_strings}
        out: list[str] = []
        i = 0
        while i < len(args):
            word = args[i]
            nxt = args[i + 1] if i + 1 < len(args) else None
            if word in takes_value and nxt is not None and nxt.startswith("-") and \
                    not nxt.startswith("--") and nxt not in self._option_string_actions:
                out.append(f"{word}={nxt}")
                i += 2
            else:
                out.append(word)
                i += 1
        return out


def _version() -> str:
    from . import __version__

    return __version__


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the selected subcommand's module is imported. Its ``subcommands``
    maps each subcommand to its parser.

    >>> build_parser().prog, build_parser().subcommands["pl"].prog
    ('lorank', 'lorank pl')
    """
    parser = _Parser(prog="lorank", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"lorank {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            importlib.import_module(module_name).add_arguments(command)
    parser.subcommands = dict(sub.choices)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lorank`` console script.

    >>> main(["prescribe", "--m", "0", "--n", "8", "--K", "1", "--N", "4"])
    2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = next((a for a in argv if a in SUBCOMMANDS), None)
    parser = build_parser(selected)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the subcommand, which names it: "lorank pl: error: ..."
        parser.subcommands[args.command].error(
            f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return importlib.import_module(SUBCOMMANDS[args.command][0]).run(args)
    except InvalidArgument as error:
        print(f"lorank {args.command}: error: {error}", file=sys.stderr)
        return 2
    except MethodFailure as error:   # a check of our own method failed: say so, no traceback
        print(f"lorank {args.command}: stopped: a check of lorank's own method failed: {error} "
              "(a run keeps its finished trials in its record)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lorank {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `lorank check | head`: the reader left, not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
