"""The one runner of every experiment family: resume, sharding, progress, atomic appends, merge.

:func:`run` runs every missing trial of every cell of a config, appending each finished batch to
an append-only record (:mod:`numerics.experiments.records`), and returns the outcomes read back from the
file. A killed run loses no finished batch; ``resume=True`` continues it with the same header.
``shard=(rank, world)`` runs only the trials with ``index % world == rank``, and
:func:`load` merges the records of all ranks into exactly the single-process outcomes (trials
are seeded from the global seed, the cell and the index, never from the batch or the process).

:func:`run_distributed` is the same under ``torchrun``: each rank writes
``record.rank<k>-of-<w>.jsonl`` in one folder, rank 0 merges.

Examples
--------
>>> import tempfile, os
>>> from numerics.experiments.protocol import family_named
>>> fam = family_named("cstar-lm")
>>> cfg = fam.config(sizes=((3, 3),), ranks=(1,), rho=None, kn=(4,), trials=3, restarts=1,
...                  max_iters=20)
>>> path = os.path.join(tempfile.mkdtemp(), "record.jsonl")
>>> out = run(fam, cfg, path, progress=False)
>>> [len(v) for v in out.values()]
[3]
>>> out == load(fam, cfg, [path])
True
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Mapping, Sequence

from proofs.validation import InvalidArgument

__all__ = ["Outcomes", "run", "load", "run_distributed", "records_in",
           "check_results", "check_family"]


class Outcomes(dict):
    """``{cell: [outcome, ...]}`` in trial order, with the records' ``spec``, ``sessions`` and
    ``paths`` as attributes. Compares equal to a dict with the same contents."""

    def __init__(self, *args, spec=None, sessions=(), paths=()):
        super().__init__(*args)
        self.spec = spec
        self.sessions = list(sessions)
        self.paths = [str(p) for p in paths]

    def n_trials(self) -> int:
        return sum(len(v) for v in self.values())


def _is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _check_shard(shard) -> tuple[int, int]:
    try:
        rank, world = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise InvalidArgument(f"shard must be (rank, world_size), got {shard!r}") from None
    if world < 1 or not 0 <= rank < world:
        raise InvalidArgument(f"shard must satisfy 0 <= rank < world_size, got {shard!r}")
    return rank, world


def check_results(cell, batch: Sequence[int], results) -> list:
    """The results of one batch, checked: a list of dicts with exactly the asked trials.

    >>> check_results((1, 1, 1, 1), [0], [{"trial": 1}])
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: the trials returned for cell (1, 1, 1, 1) are [1], asked for [0]
    """
    if not isinstance(results, (list, tuple)):
        raise InvalidArgument(f"a batch must return a list of dicts, got {type(results).__name__}")
    got = []
    for res in results:
        if not isinstance(res, Mapping) or "trial" not in res:
            raise InvalidArgument(f"a batch returned an outcome without 'trial': {res!r}")
        got.append(res["trial"])
    if sorted(got) != sorted(batch):
        raise InvalidArgument(f"the trials returned for cell {tuple(cell)} are {sorted(got)}, "
                              f"asked for {sorted(batch)}")
    return list(results)


def run(family, config, record_path, *, resume: bool = False, shard=(0, 1),
        progress: bool = True) -> Outcomes:
    """Run every missing trial of ``config`` into the record; return its outcomes.

    Parameters
    ----------
    family : numerics.experiments.protocol.Family
    config : the family's config
    record_path : path-like
        The JSON-lines record; without ``resume`` it must not exist.
    resume : bool
        Continue an existing record (its header must equal ``family.record_spec(config)``).
    shard : (rank, world_size)
        Run only the trials with ``index % world_size == rank``.
    progress : bool
        A rich progress bar (on a terminal only).
    """
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from numerics.experiments.records import open_record

    rank, world = _check_shard(shard)
    if resume and Path(record_path).exists():
        check_family(family, record_path)
    grid = family.cells(config)
    step = family.batch_size(config)
    with family.run_context(config), open_record(record_path, family.record_spec(config), resume=resume,
                                                 shard=(rank, world),
                                                 device=family.device(config)) as rec:
        todo = []
        for cell in grid:
            done = rec.done(cell)
            missing = [i for i in family.trial_indices(config, cell)
                       if i % world == rank and i not in done]
            if missing:
                todo.append((cell, missing))
        bar = Progress(TextColumn(f"[bold]{family.name}[/] {{task.description}}"), BarColumn(),
                       MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                       disable=not (progress and _is_tty()), transient=False)
        with bar:
            task = bar.add_task("", total=sum(len(mi) for _, mi in todo))
            for cell, missing in todo:
                bar.update(task, description=" ".join(str(c) for c in cell))
                for start in range(0, len(missing), step):
                    batch = missing[start:start + step]
                    rec.append(cell, check_results(cell, batch,
                                                   family.run_batch(config, cell, list(batch))))
                    bar.advance(task, len(batch))
    return load(family, config, [record_path])


def check_family(family, path) -> None:
    """Refuse a record of another family, naming the file and both families (a comparison of
    the specs would name only the first field that differs).

    >>> import tempfile, os
    >>> from numerics.experiments.protocol import family_named
    >>> from numerics.experiments.records import open_record
    >>> pl = family_named("pl")
    >>> path = os.path.join(tempfile.mkdtemp(), "record.jsonl")
    >>> with open_record(path, pl.record_spec(pl.config())):
    ...     pass
    >>> check_family(family_named("cstar-lm"), path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: record ...record.jsonl is a pl record (lorank pl), not a cstar-lm record (lorank cstar); the file is left untouched
    """
    from numerics.experiments.records import read_record

    from .protocol import family_of_spec

    spec = read_record(path).spec
    if family.matches_spec(spec):
        return
    try:
        other = family_of_spec(spec)
        what = f"a {other.name} record (lorank {other.command})"
    except InvalidArgument:
        what = "a record of no known experiment family"
    raise InvalidArgument(f"record {path} is {what}, not a {family.name} record (lorank "
                          f"{family.command}); the file is left untouched")


def load(family, config, paths) -> Outcomes:
    """The outcomes of ``config``'s cells in one or several records of the same spec (e.g.
    the per-rank records of a launch), merged. ``config`` is the run's config (from
    :meth:`~numerics.experiments.protocol.Family.from_spec` of the first record when
    re-summarising); the records must be of ``family`` and agree with each other.

    Raises
    ------
    InvalidArgument
        No paths; a record of another family or spec (naming the file and the field); or the
        same trial with different outcomes in two records.
    """
    from numerics.experiments.records import read_record, spec_mismatch

    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise InvalidArgument("no record to read")
    contents = [read_record(p) for p in paths]
    if not family.matches_spec(contents[0].spec):
        raise InvalidArgument(f"record {contents[0].path} is not a {family.name} record")
    for c in contents[1:]:
        diff = spec_mismatch(contents[0].spec, c.spec)
        if diff is not None:
            raise InvalidArgument(f"record {c.path} has another spec than {contents[0].path} "
                                  f"({diff.replace('requested', 'first has', 1)})")
    merged: dict = {}
    origin: dict = {}
    for c in contents:
        for cell, per_trial in c.trials.items():
            dest = merged.setdefault(tuple(cell), {})
            for i, out in per_trial.items():
                if i in dest and dest[i] != out:
                    raise InvalidArgument(f"records {origin[(cell, i)]} and {c.path} disagree on "
                                          f"trial {i} of cell {tuple(cell)}")
                dest[i] = out
                origin.setdefault((cell, i), c.path)
    grid = family.cells(config)
    return Outcomes({cell: [merged[tuple(cell)][i] for i in sorted(merged[tuple(cell)])]
                     for cell in grid if tuple(cell) in merged},
                    spec=contents[0].spec, sessions=[s for c in contents for s in c.sessions],
                    paths=[c.path for c in contents])


def records_in(folder) -> list[Path]:
    """The record(s) of a run folder: ``record.jsonl`` or ``record.jsonl.gz``, else the complete
    set of per-rank records of one launch.

    >>> import tempfile
    >>> records_in(tempfile.mkdtemp())
    []
    """
    from numerics.experiments.distributed import shard_records

    folder = Path(folder)
    single = [p for p in (folder / "record.jsonl", folder / "record.jsonl.gz") if p.exists()]
    if len(single) > 1:
        raise InvalidArgument(f"{str(folder)!r} holds both record.jsonl and record.jsonl.gz")
    return single or shard_records(folder)


def run_distributed(family, config, out, context, *, resume: bool = False,
                    progress: bool = True) -> Outcomes | None:
    """This process's share of a ``torchrun`` launch into ``out/record.rank<k>-of-<w>.jsonl``;
    after a barrier rank 0 returns the merge of all ranks (others ``None``)."""
    from numerics.experiments.distributed import RECORD_NAME, shard_record_path, shard_records

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    existing = [p for p in out.glob("record.rank*-of-*.jsonl*") if RECORD_NAME.search(p.name)]
    other = sorted({int(RECORD_NAME.search(p.name).group(2)) for p in existing} - {context.world_size})
    if other:
        raise InvalidArgument(f"{str(out)!r} holds records of a launch with world size {other[0]}; "
                              f"resume with the same number of processes, got {context.world_size}")
    path = shard_record_path(out, context.rank, context.world_size)
    if Path(str(path) + ".gz").exists():
        raise InvalidArgument(f"{str(path) + '.gz'!r} is compressed (read-only): gunzip it to resume")
    run(family, config, path, resume=resume, progress=progress and context.is_main,
        shard=(context.rank, context.world_size))
    context.barrier()
    if not context.is_main:
        return None
    return load(family, config, shard_records(out))
