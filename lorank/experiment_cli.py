"""The one command-line driver of every experiment family (``cstar``, ``separability``, ``pl``,
``rademacher``).

Each command's flags are built from its families' config fields
(:mod:`numerics.experiments.options`): one flag per field, its default the field's default, its
help the field's help. ``cstar`` runs two families, picked by ``--estimand lm`` (E1/E2) or
``--estimand recipe`` (E3); a flag that the picked family does not have is refused. Every
command also takes:

- ``--out DIR``: the run folder (default ``runs/<command>[-<estimand>]``); a folder under the
  committed ``results/`` is refused, and so is a folder with a compressed (committed) record;
- ``--resume``: continue the run in ``--out``; finished trials are kept;
- ``--summarise DIR --out NEW``: run nothing; summarise the record(s) in ``DIR`` into the new
  folder ``NEW`` (the summary beside a record is never rewritten; ``NEW`` may be ``DIR`` itself
  only while ``DIR`` has no summary, e.g. a run interrupted before its end). Only analysis flags
  and output flags may be given with it;
- ``--distributed``: this process's share of a ``torchrun`` launch (one record per rank, rank 0
  merges);
- ``--json``, ``--no-plot``, ``--no-progress``.

Every summary carries ``derived_from``: the record files, the SHA-256 of their content and the
analysis settings, so a summary can be checked against the record it names.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from proofs.validation import InvalidArgument

__all__ = ["add_arguments", "run", "COMMON_FLAGS"]

#: Flags every experiment command has besides its config fields.
COMMON_FLAGS = ("--out", "--resume", "--summarise", "--distributed", "--json", "--no-plot",
                "--no-progress", "--estimand")



def _committed_results(out: Path) -> Path | None:
    """The committed-results folder that ``out`` lies in, if any: a folder holding lorank's
    evidence manifest (the repository's ``results/``, or its installed copy), found by walking up
    from ``out`` so that the answer does not depend on how lorank was installed.

    >>> import tempfile
    >>> _committed_results(Path(tempfile.mkdtemp()) / "run") is None
    True
    """
    from numerics.verdicts.evidence import MANIFEST_FORMAT, MANIFEST_NAME

    for folder in [out.resolve(), *out.resolve().parents]:
        manifest = folder / MANIFEST_NAME
        if manifest.is_file():
            try:
                if json.loads(manifest.read_text()).get("format") == MANIFEST_FORMAT:
                    return folder
            except (OSError, ValueError, AttributeError):
                continue
    return None


def _families(command: str):
    from numerics.experiments.protocol import families_of_command

    found = families_of_command(command)
    if not found:
        raise ValueError(f"no experiment family runs the command {command!r}")
    return found


def _fields(command: str) -> dict:
    """``{field name: field}`` over the command's families; a shared name must have the same
    default and metadata in each (one default per field)."""
    from numerics.experiments.options import option_fields

    out: dict = {}
    for fam in _families(command):
        for f in option_fields(fam.Config):
            if f.name in out:
                g = out[f.name]
                if (g.default, g.metadata["help"], g.metadata["role"]) != \
                        (f.default, f.metadata["help"], f.metadata["role"]):
                    raise ValueError(f"{command}: field {f.name!r} differs between families")
            else:
                out[f.name] = f
    return out


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, command: str | None = None) -> None:
    """Add the flags of ``command`` (default: the last word of ``parser.prog``)."""
    command = command or parser.prog.split()[-1]
    parser.allow_abbrev = False
    fams = _families(command)
    parser.description = "; ".join(f.title for f in fams)
    if len(fams) > 1:
        parser.add_argument("--estimand", default=None, choices=[f.selector for f in fams],
                            help="which estimand: " + "; ".join(f"{f.selector}: {f.title}" for f in fams)
                            + f" (default {fams[0].selector})")
    groups: dict = {}
    for name, f in _fields(command).items():
        meta = f.metadata
        owners = [fam.selector for fam in fams if name in fam.Config.__dataclass_fields__]
        only = "" if len(owners) == len(fams) else f"; --estimand {owners[0]} only"
        role = {"spec": "", "run": "; no outcome depends on it", "analysis": "; analysis only"}[meta["role"]]
        help_text = f"{meta['help']} (default {meta['show'](f.default)}{only}{role})"
        target = parser
        if meta["group"]:
            if meta["group"] not in groups:
                groups[meta["group"]] = parser.add_mutually_exclusive_group()
            target = groups[meta["group"]]
        allowed = getattr(meta["parse"], "choices", None)
        metavar = "{" + ",".join(allowed) + "}" if allowed else name.upper()
        target.add_argument(_flag(name), dest=name, default=None, metavar=metavar,
                            help=help_text.replace("%", "%%"))
    a = parser.add_argument
    a("--out", default=None, help=f"output folder (default runs/{command}"
                                  + ("-<estimand>" if len(fams) > 1 else "") + ")")
    a("--resume", action="store_true", help="continue an interrupted run in --out; finished trials are kept")
    a("--summarise", default=None, metavar="DIR",
      help="run nothing: summarise the record(s) in DIR into a new --out folder (or into DIR "
           "itself while it has no summary; a summary is never rewritten); only analysis and "
           "output flags may be given with it")
    a("--distributed", action="store_true",
      help="this process's share of a torchrun launch (torchrun --nproc-per-node N -m lorank "
           f"{command} --distributed ...): one record per rank in --out, rank 0 merges; without "
           "torchrun, one process")
    a("--json", action="store_true", help="print the summary JSON instead of the table")
    a("--no-plot", action="store_true", help="do not save the figure")
    a("--no-progress", action="store_true", help="no progress bar")


def _given(args, fields: dict) -> dict:
    """``{field name: raw text}`` of the config flags the user gave."""
    return {name: getattr(args, name) for name in fields if getattr(args, name, None) is not None}


def _parse(fields: dict, given: dict) -> dict:
    """The values of the given flags; a flag of a mutually exclusive group (``--rho`` /
    ``--kn``) sets the group's other fields to ``None``.

    >>> fields = _fields("pl")
    >>> _parse(fields, {"kn": "3,5"})
    {'kn': (3, 5), 'rho': None}
    """
    values = {name: fields[name].metadata["parse"](name, text) for name, text in given.items()}
    for name in given:
        group = fields[name].metadata["group"]
        if group:
            values.update({other: None for other, f in fields.items()
                           if f.metadata["group"] == group and other not in given})
    return values


def _pick_family(command: str, args, given: dict):
    fams = _families(command)
    if len(fams) == 1:
        return fams[0]
    selector = getattr(args, "estimand", None) or fams[0].selector
    fam = next(f for f in fams if f.selector == selector)
    for name in given:
        if name not in fam.Config.__dataclass_fields__:
            raise InvalidArgument(f"{_flag(name)} is not used by --estimand {selector}, got "
                                  f"{_flag(name)} {given[name]!r}")
    return fam


def _needs_torch(command: str) -> None:
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError:
        raise InvalidArgument(f"lorank {command} needs torch, which is not installed: "
                              "pip install 'lorank[numerics]' (or the torch build of your choice)") from None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _out_path(text: str) -> Path:
    """The ``--out`` folder; an empty one is refused (``Path("")`` would be the working
    directory).

    >>> _out_path("")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --out must name a folder, got ''
    """
    if not text.strip():
        raise InvalidArgument(f"--out must name a folder, got {text!r}")
    return Path(text)


def _check_out(out: Path, *, resume: bool) -> None:
    """Refuse an output folder that cannot be one, or that holds a committed result."""
    text = str(out)
    committed = _committed_results(out)
    if committed is not None:
        raise InvalidArgument(f"--out {text!r} lies in the committed results folder {str(committed)!r} "
                              "(it holds the evidence manifest), which no command writes to: "
                              "choose a folder under runs/")
    if out.exists() and not out.is_dir():
        raise InvalidArgument(f"--out {text!r} exists and is not a folder")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise InvalidArgument(f"--out {text!r}: {str(probe)!r} is a file, not a folder")
    import os

    if not os.access(probe, os.W_OK | os.X_OK) or _inside(probe, Path("/proc")) or \
            _inside(probe, Path("/sys")):
        raise InvalidArgument(f"--out {text!r} cannot be written ({str(probe)!r} is not writable)")
    if out.is_dir():
        if any(out.glob("record*.jsonl.gz")):
            raise InvalidArgument(f"--out {text!r} holds a compressed record (a committed result, "
                                  "read-only): choose another --out, or --summarise it into one")
        if not resume and (out / "summary.json").exists():
            raise InvalidArgument(f"--out {text!r} already holds a summary; choose another --out "
                                  "(no command rewrites a finished result)")


def _make_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidArgument(f"--out {str(out)!r} cannot be created ({error.strerror})") from None


def _derived_from(family, config, summary: dict, records, out: Path) -> dict:
    """The summary's link to its records: their names and digest, and the analysis settings
    (the config's analysis options, and what the summary states about its own analysis, as
    :func:`numerics.verdicts.evidence.analysis_settings` reads it for the ledger's check). Record paths
    are relative to the summary's folder (``record.jsonl``, or ``../run/record.jsonl.gz`` for a
    re-summary)."""
    from numerics.verdicts.evidence import analysis_settings, record_digest

    import os

    names = sorted(os.path.relpath(Path(p).resolve(), Path(out).resolve()) for p in records)
    return {"family": family.name, "records": names,
            "record_sha256": record_digest(records),
            "analysis": {"options": family.analysis(config), **analysis_settings(summary)}}


def _report(args, family, summary: dict, out: Path, records) -> None:
    from numerics.experiments.records import write_json_atomic

    write_json_atomic(out / "summary.json", summary)
    stem = out / family.figure_stem
    plotted = not args.no_plot
    if plotted:
        family.figures(summary, stem)
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    print(family.render(summary))
    print(f"\nrecord: {', '.join(str(p) for p in records)}\nsummary: {out / 'summary.json'}"
          + (f"\nfigure: {stem}.png / .pdf" if plotted else ""))


def _summarise_only(command: str, args, fields: dict, given: dict) -> int:
    from numerics.experiments.protocol import family_of_spec
    from numerics.experiments.runner import load, records_in
    from numerics.experiments.records import read_record

    refused = [n for n in given if fields[n].metadata["role"] != "analysis"]
    flags = [_flag(n) for n in refused] + [f for f, on in (("--resume", args.resume),
                                                          ("--distributed", args.distributed)) if on]
    if flags:
        raise InvalidArgument(f"{flags[0]} is not used with --summarise (the run's settings are "
                              f"read from its record), got {flags[0]}"
                              + (f" {given[refused[0]]!r}" if refused else ""))
    if not args.summarise.strip():
        raise InvalidArgument("--summarise must name a folder, got ''")
    folder = Path(args.summarise)
    if not folder.is_dir():
        raise InvalidArgument(f"--summarise {str(folder)!r} is not a folder")
    records = records_in(folder)
    if not records:
        raise InvalidArgument(f"--summarise {str(folder)!r} holds no record.jsonl, record.jsonl.gz "
                              "or per-rank records")
    spec = read_record(records[0]).spec
    try:
        family = family_of_spec(spec)
    except InvalidArgument:
        raise InvalidArgument(f"--summarise {str(folder)!r}: record {records[0]} is not a record of "
                              f"lorank {command}") from None
    fams = _families(command)
    if family not in fams:
        raise InvalidArgument(f"--summarise {str(folder)!r}: record {records[0]} is a {family.name} "
                              f"record (lorank {family.command} --summarise), not a {command} "
                              "record")
    if getattr(args, "estimand", None) is not None and family.selector != args.estimand:
        raise InvalidArgument(f"--estimand {args.estimand} does not match the record in "
                              f"{str(folder)!r}, which is {family.name}")
    for name in given:
        if name not in family.Config.__dataclass_fields__:
            raise InvalidArgument(f"{_flag(name)} is not used by {family.name}, got "
                                  f"{_flag(name)} {given[name]!r}")
    if args.out is None:
        raise InvalidArgument("--summarise needs --out NEW_FOLDER (or the run's own folder, if it "
                              "has no summary yet): the summary beside a record is never rewritten")
    out = _out_path(args.out)
    in_place = out.resolve() == folder.resolve()
    if in_place and ((folder / "summary.json").exists() or any(folder.glob("record*.jsonl.gz"))):
        raise InvalidArgument(f"--out {args.out!r} is the --summarise folder, which already holds "
                              "a summary or a committed record: choose a new folder outside it")
    if not in_place and _inside(out, folder):
        raise InvalidArgument(f"--out {args.out!r} lies in the --summarise folder: choose a new "
                              "folder outside it")
    _check_out(out, resume=False)
    if not in_place and out.is_dir() and any(out.iterdir()):
        raise InvalidArgument(f"--out {args.out!r} is not empty: a re-summary goes to a new folder, "
                              "never beside another run's record")
    config = family.from_spec(spec, **_parse(fields, given))
    outcomes = load(family, config, records)
    summary = family.summarise(config, outcomes)
    summary["derived_from"] = _derived_from(family, config, summary, records, out)
    _make_out(out)
    _report(args, family, summary, out, records)
    return 0


def run(args) -> int:
    """Run one experiment command with parsed arguments; return the exit status."""
    command = args.command
    fields = _fields(command)
    given = _given(args, fields)
    if args.summarise is not None:
        _needs_torch(command)
        return _summarise_only(command, args, fields, given)
    family = _pick_family(command, args, given)
    config = family.config(**_parse(fields, given))
    out = _out_path(args.out if args.out is not None else
                    f"runs/{command}" + (f"-{family.selector}" if family.selector else ""))
    _check_out(out, resume=args.resume)
    if not args.resume and any(out.glob("record*.jsonl")):
        raise InvalidArgument(f"--out {str(out)!r} already holds a record; pass --resume to continue "
                              "it or choose another --out (finished trials are never overwritten)")
    _needs_torch(command)
    family.preflight(config)
    progress = not args.no_progress and not args.json
    if args.distributed:
        return _run_distributed(args, family, config, out, progress)
    from numerics.experiments.runner import run as run_trials

    _make_out(out)
    record = out / "record.jsonl"
    outcomes = run_trials(family, config, record, resume=args.resume, progress=progress)
    summary = family.summarise(config, outcomes)
    summary["derived_from"] = _derived_from(family, config, summary, [record], out)
    _report(args, family, summary, out, [record])
    return 0


def _run_distributed(args, family, config, out: Path, progress: bool) -> int:
    from numerics.experiments.distributed import DistributedContext, scaling_report, shard_records
    from numerics.experiments.runner import run_distributed

    context = DistributedContext.from_environment(family.device(config))
    config = family.with_device(config, context.device)
    if (out / "record.jsonl").exists():
        raise InvalidArgument(f"--out {str(out)!r} holds a single-process record; a --distributed "
                              "run writes per-rank records: choose another --out")
    if not args.resume and any(out.glob("record.rank*-of-*.jsonl*")):
        raise InvalidArgument(f"--out {str(out)!r} already holds per-rank records; pass --resume to "
                              "continue them or choose another --out")
    _make_out(out)
    context.init()
    try:
        outcomes = run_distributed(family, config, out, context, resume=args.resume,
                                   progress=progress)
        if context.is_main:
            records = shard_records(out)
            summary = family.summarise(config, outcomes)
            summary["distributed"] = scaling_report(summary)
            summary["derived_from"] = _derived_from(family, config, summary, records, out)
            _report(args, family, summary, out, records)
        context.barrier()
    finally:
        context.close()
    return 0
