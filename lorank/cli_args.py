"""What every experiment command shares: argument parsing, the run folder and the report.

The commands ``cstar``, ``pl``, ``separability`` and ``rademacher`` read lists of integers, sizes
and grids, a device, and an output folder holding an append-only record; they end by writing
the summary atomically, saving a figure and printing a table or JSON. Each of those steps lives
here once. Every error is an :class:`~proofs.validation.InvalidArgument` naming the option and
the value (the CLI turns it into one line and exit status 2).

Examples
--------
>>> int_list("ranks", "1,2")
[1, 2]
>>> size_rank_triples("8x8,4x16", "1,4")
[(8, 8, 1), (8, 8, 4), (4, 16, 1), (4, 16, 4)]
>>> float_list("rho", "0.5:1:0.25")
[0.5, 0.75, 1.0]
"""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Callable

from proofs.validation import InvalidArgument

__all__ = ["int_list", "one_int", "nonneg", "float_list", "one_positive_float", "grid_of",
           "sizes", "size_rank_triples", "checked_device", "add_run_options", "fresh_record",
           "find_record", "write_and_print"]


def int_list(name: str, text: str) -> list[int]:
    """A comma list of positive integers.

    >>> int_list("trials", "0")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --trials must be a positive integer, got '0'
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise InvalidArgument(f"--{name} must be a comma-separated list of positive integers, got {text!r}")
    out = []
    for p in parts:
        if not re.fullmatch(r"\+?\d+", p) or int(p) < 1:
            where = "" if p == str(text).strip() else f" in {text!r}"
            raise InvalidArgument(f"--{name} must be a positive integer, got {p!r}{where}")
        out.append(int(p))
    return out


def one_int(name: str, text: str, minimum: int = 1) -> int:
    """One integer at least ``minimum`` (1 or 0).

    >>> one_int("seed", "0", minimum=0)
    0
    """
    t = str(text).strip()
    if not re.fullmatch(r"\+?\d+", t) or int(t) < minimum:
        kind = "a positive" if minimum >= 1 else "a non-negative"
        raise InvalidArgument(f"--{name} must be {kind} integer, got {text!r}")
    return int(t)


def nonneg(name: str, text: str) -> int:
    """One non-negative integer.

    >>> nonneg("seed", "x")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --seed must be a non-negative integer, got 'x'
    """
    return one_int(name, text, minimum=0)


def float_list(name: str, text: str, lower: str | None = "positive") -> list[float]:
    """A comma list, or ``START:STOP:STEP`` (inclusive of STOP up to rounding), of finite
    numbers; ``lower`` is ``"positive"``, ``"non-negative"`` or ``None``.

    >>> float_list("noise", "0,2", lower="non-negative")
    [0.0, 2.0]
    >>> float_list("rho", "1,-1")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --rho values must be positive numbers, got -1.0 in '1,-1'
    """
    text = str(text).strip()
    try:
        if ":" in text:
            a, b, c = (Fraction(x) for x in text.split(":"))
            if c <= 0 or b < a:
                raise ValueError
            values, v = [], a
            while v <= b:
                values.append(float(v))
                v += c
        else:
            values = [float(Fraction(x.strip())) for x in text.split(",") if x.strip()]
    except (ValueError, ZeroDivisionError):
        raise InvalidArgument(f"--{name} must be a comma list or START:STOP:STEP of numbers, got {text!r}") from None
    if not values:
        raise InvalidArgument(f"--{name} must not be empty, got {text!r}")
    too_low = {"positive": lambda v: v <= 0, "non-negative": lambda v: v < 0, None: lambda v: False}[lower]
    bad = [v for v in values if not math.isfinite(v) or too_low(v)]
    if bad:
        kind = f"{lower} numbers" if lower else "finite numbers"
        raise InvalidArgument(f"--{name} values must be {kind}, got {bad[0]!r} in {text!r}")
    return values


def one_positive_float(name: str, text: str) -> float:
    """One positive finite number.

    >>> one_positive_float("margin", "1e-8")
    1e-08
    >>> one_positive_float("gd-c", "0.5,1")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --gd-c must be a positive number, got '0.5,1'
    """
    try:
        v = float(str(text).strip())
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise InvalidArgument(f"--{name} must be a positive number, got {text!r}")
    return v


def grid_of(kn_text: str | None, rho_text: str | None, *, rho_flag: str, default_rho: str,
            kn_key: str = "kn_values") -> dict:
    """The grid of an experiment from its mutually exclusive ``--kn`` and rho options:
    ``{kn_key: [...]}`` when ``--kn`` was given, else ``{"rho_grid": [...]}`` (the default grid
    when the rho option was not given; an explicitly empty one is an error).

    >>> grid_of(None, None, rho_flag="rho", default_rho="1,2")
    {'rho_grid': [1.0, 2.0]}
    >>> grid_of("3,5", None, rho_flag="rho", default_rho="1", kn_key="m_values")
    {'m_values': [3, 5]}
    """
    if kn_text is not None:
        return {kn_key: int_list("kn", kn_text)}
    return {"rho_grid": float_list(rho_flag, default_rho if rho_text is None else rho_text)}


def sizes(text: str) -> list[tuple[int, int]]:
    """Matrix sizes ``MxN`` as a comma list.

    >>> sizes("8x8, 16X64")
    [(8, 8), (16, 64)]
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise InvalidArgument(f"--sizes must be a list such as 8x8,16x64, got {text!r}")
    out = []
    for p in parts:
        match = re.fullmatch(r"(\d+)[xX](\d+)", p)
        if not match:
            raise InvalidArgument(f"--sizes entries must look like MxN (e.g. 16x64), got {p!r}")
        m, n = (int(g) for g in match.groups())
        if m < 1 or n < 1:  # name the entry as typed, not just the bad number
            raise InvalidArgument(f"--sizes entries must have positive m and n, got {p!r}")
        out.append((m, n))
    return out


def size_rank_triples(sizes_text: str, ranks_text: str) -> list[tuple[int, int, int]]:
    """Every ``(m, n, r)`` of ``--sizes`` x ``--ranks``; ``r > min(m, n)`` is an error.

    >>> size_rank_triples("4x4", "5")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --ranks value r=5 exceeds min(m, n) = 4 for size 4x4
    """
    ranks = int_list("ranks", ranks_text)
    triples = []
    for m, n in sizes(sizes_text):
        for r in ranks:
            if r > min(m, n):
                raise InvalidArgument(f"--ranks value r={r} exceeds min(m, n) = {min(m, n)} for size {m}x{n}")
            triples.append((m, n, r))
    return triples


def checked_device(text: str) -> str:
    """``cpu``, ``cuda`` or ``cuda:k``, refused when torch sees no GPU.

    >>> checked_device("cpu")
    'cpu'
    >>> checked_device("tpu")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --device must be cpu, cuda or cuda:k, got 'tpu'
    """
    device = str(text).strip()
    if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise InvalidArgument(f"--device must be cpu, cuda or cuda:k, got {text!r}")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InvalidArgument(f"--device {device!r} asked for, but torch sees no CUDA GPU")
    return device


def add_run_options(parser, *, unit: str = "trials", figure: str = "the figure") -> None:
    """The options every experiment command ends with: ``--resume``, ``--json``, ``--no-plot``
    and ``--no-progress`` (``unit`` names what a resumed run keeps)."""
    a = parser.add_argument
    a("--resume", action="store_true", help=f"continue an interrupted run in --out; finished {unit} are kept")
    a("--json", action="store_true", help="print the summary JSON instead of the table")
    a("--no-plot", action="store_true", help=f"do not save {figure}")
    a("--no-progress", action="store_true", help="no progress bar")


def fresh_record(out, resume: bool, *, unit: str = "trials") -> Path:
    """The record ``out/record.jsonl`` of a run: refused if it exists without ``--resume`` or
    is compressed (read-only); the folder is made.

    >>> import tempfile
    >>> fresh_record(tempfile.mkdtemp(), resume=False).name
    'record.jsonl'
    """
    out = Path(out)
    if (out / "record.jsonl.gz").exists():
        raise InvalidArgument(f"--out {str(out)!r} holds a compressed record (record.jsonl.gz), "
                              "which is read-only: gunzip it to resume, or use --summarise")
    record = out / "record.jsonl"
    if record.exists() and not resume:
        raise InvalidArgument(f"--out {str(out)!r} already holds a record; pass --resume to continue "
                              f"it or choose another --out (finished {unit} are never overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    return record


def find_record(folder) -> Path:
    """The record (plain or gzipped) in ``folder``, for ``--summarise``.

    >>> import tempfile
    >>> try:
    ...     find_record(tempfile.mkdtemp())
    ... except InvalidArgument as error:
    ...     print(str(error).endswith("holds no record.jsonl or record.jsonl.gz"))
    True
    """
    folder = Path(folder)
    record = next((c for c in (folder / "record.jsonl", folder / "record.jsonl.gz") if c.exists()), None)
    if record is None:
        raise InvalidArgument(f"--summarise {str(folder)!r} holds no record.jsonl or record.jsonl.gz")
    return record


def write_and_print(args, summary: dict, out, *, render: Callable[[dict], str], record_text,
                    save_figure: Callable[[dict, Path], object] | None = None,
                    stem: str = "phase_transition") -> None:
    """Write ``out/summary.json`` atomically, save the figure ``out/<stem>.png/.pdf`` (unless
    ``--no-plot``), and print the summary as JSON (``--json``) or as ``render(summary)`` with
    where the files are."""
    from numerics.records import write_json_atomic

    out = Path(out)
    write_json_atomic(out / "summary.json", summary)
    plotted = save_figure is not None and not args.no_plot
    if plotted:
        save_figure(summary, out / stem)
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    print(render(summary))
    print(f"\nrecord: {record_text}\nsummary: {out / 'summary.json'}"
          + (f"\nfigure: {out / stem}.png / .pdf" if plotted else ""))
