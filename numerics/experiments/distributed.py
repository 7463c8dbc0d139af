"""Spread a sweep over processes with PyTorch's own launcher (``torchrun``) and merge the result.

Trials are independent and each is seeded from the global seed and its index
(:mod:`numerics.engine.seeding`), so a sweep splits over processes without changing any outcome:
rank ``k`` of ``W`` runs the trials with ``index % W == k`` of every cell
(:func:`numerics.experiments.runner.run` with ``shard=(k, W)``) and appends them to its own
record, ``record.rank<k>-of-<W>.jsonl``; when every rank is done, rank 0 merges the records
(:func:`numerics.experiments.runner.load`) into one set of outcomes, which is the single-process
set with the same seed. A rank that is killed loses only its unfinished batch: run the same
command again with ``--resume`` and every rank continues its own record.

The process group comes from the environment that ``torchrun`` sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``): NCCL when the sweep runs on CUDA (rank ``k``
uses ``cuda:<LOCAL_RANK>``), gloo on the CPU. Without those variables the same code runs as one
process (world size 1), which is what the CPU tests and a plain ``lorank <command> --distributed``
do. The group is used for barriers only; trials never cross processes. NCCL settings in the
environment (``NCCL_NVLS_ENABLE=0`` on the multi-GPU machines) are left as they are.

Examples
--------
>>> ctx = DistributedContext.from_environment("cpu", environ={})
>>> ctx.rank, ctx.world_size, ctx.device, ctx.backend
(0, 1, 'cpu', 'gloo')
>>> shard_record_path("out", 1, 4).name
'record.rank1-of-4.jsonl'
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from proofs.validation import InvalidArgument

__all__ = ["DistributedContext", "shard_record_path", "shard_records", "scaling_report",
           "scaling_efficiency"]

#: Barrier timeout: a rank may finish its share long before another (a sweep can take hours).
BARRIER_TIMEOUT = datetime.timedelta(hours=48)

RECORD_NAME = re.compile(r"record\.rank(\d+)-of-(\d+)\.jsonl(\.gz)?$")


def _env_int(environ: Mapping, name: str, default: int) -> int:
    text = environ.get(name)
    if text is None:
        return default
    if not re.fullmatch(r"\d+", str(text).strip()):
        raise InvalidArgument(f"environment variable {name} must be a non-negative integer, got {text!r}")
    return int(text)


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a ``torchrun`` launch (or a single process).

    ``device`` is the device this rank computes on (``cuda:<local_rank>`` for a CUDA sweep),
    ``backend`` the process-group backend (``nccl`` for CUDA, ``gloo`` for CPU).
    """

    rank: int
    world_size: int
    local_rank: int
    device: str
    backend: str

    @classmethod
    def from_environment(cls, device: str, environ: Mapping | None = None) -> "DistributedContext":
        """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (absent: one process).

        >>> DistributedContext.from_environment("cpu", {"RANK": "1", "WORLD_SIZE": "2",
        ...                                              "LOCAL_RANK": "1"}).rank
        1
        >>> DistributedContext.from_environment("cpu", {"RANK": "2", "WORLD_SIZE": "2"})
        Traceback (most recent call last):
        ...
        proofs.validation.InvalidArgument: RANK must be below WORLD_SIZE = 2, got 2
        """
        environ = os.environ if environ is None else environ
        world = _env_int(environ, "WORLD_SIZE", 1)
        if world < 1:
            raise InvalidArgument(f"WORLD_SIZE must be at least 1, got {world}")
        rank = _env_int(environ, "RANK", 0)
        if rank >= world:
            raise InvalidArgument(f"RANK must be below WORLD_SIZE = {world}, got {rank}")
        local = _env_int(environ, "LOCAL_RANK", rank)
        device = str(device)
        if device.startswith("cuda"):
            if ":" in device and world > 1:
                raise InvalidArgument(f"--device must be plain 'cuda' under torchrun (each rank "
                                      f"takes cuda:LOCAL_RANK), got {device!r}")
            return cls(rank, world, local, device if world == 1 else f"cuda:{local}", "nccl")
        return cls(rank, world, local, device, "gloo")

    @property
    def is_main(self) -> bool:
        """Rank 0 merges, summarises and prints."""
        return self.rank == 0

    def init(self) -> None:
        """Join the process group (world size above 1); pin the CUDA device first."""
        if self.world_size == 1:
            return
        import torch
        import torch.distributed as dist

        if self.backend == "nccl":
            torch.cuda.set_device(torch.device(self.device))
        if not dist.is_initialized():
            dist.init_process_group(backend=self.backend, timeout=BARRIER_TIMEOUT)

    def barrier(self) -> None:
        """Wait for every rank (no-op for one process)."""
        if self.world_size == 1:
            return
        import torch.distributed as dist

        dist.barrier()

    def close(self) -> None:
        """Leave the process group."""
        if self.world_size == 1:
            return
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def shard_record_path(out, rank: int, world_size: int) -> Path:
    """The record of rank ``rank`` of ``world_size`` in the folder ``out``.

    >>> shard_record_path("runs/x", 0, 2).as_posix()
    'runs/x/record.rank0-of-2.jsonl'
    """
    return Path(out) / f"record.rank{rank}-of-{world_size}.jsonl"


def shard_records(out) -> list[Path]:
    """The per-rank records in ``out`` (plain or gzipped), checked to form one complete launch.

    Raises
    ------
    InvalidArgument
        Records of different world sizes, or a rank missing.

    >>> import tempfile
    >>> shard_records(tempfile.mkdtemp())
    []
    """
    found = {}
    for path in sorted(Path(out).glob("record.rank*-of-*.jsonl*")):
        match = RECORD_NAME.search(path.name)
        if match:
            found[(int(match.group(1)), int(match.group(2)))] = path
    if not found:
        return []
    worlds = {w for _, w in found}
    if len(worlds) != 1:
        raise InvalidArgument(f"{str(out)!r} holds records of several world sizes "
                              f"({sorted(worlds)}); merge one launch at a time")
    world = worlds.pop()
    missing = [k for k in range(world) if (k, world) not in found]
    if missing:
        raise InvalidArgument(f"{str(out)!r} lacks the record of rank {missing[0]} of {world}")
    return [found[(k, world)] for k in range(world)]


def scaling_report(summary: Mapping) -> dict:
    """Per-rank trials and wall time of a launch, from a summary's ``sessions``.

    Each session's start event carries its ``shard``; its end event (if the process ended
    normally) its ``wall_s`` and ``trials_written``. The launch's throughput is all trials
    written over the wall time of the slowest rank (its sessions summed), which is what N
    processes deliver together.

    >>> report = scaling_report({"sessions": [
    ...     {"event": "start", "shard": [0, 2]}, {"event": "end", "wall_s": 10.0, "trials_written": 50},
    ...     {"event": "start", "shard": [1, 2]}, {"event": "end", "wall_s": 12.5, "trials_written": 50}]})
    >>> report["world_size"], report["trials_per_second"]
    (2, 8.0)
    """
    per_rank: dict = {}
    world = None
    current = None
    for event in summary.get("sessions", []):
        if event.get("event") == "start":
            rank, world = (int(v) for v in event.get("shard", (0, 1)))
            current = per_rank.setdefault(rank, {"rank": rank, "trials": 0, "wall_s": 0.0, "sessions": 0})
            current["sessions"] += 1
        elif event.get("event") == "end" and current is not None:
            current["trials"] += int(event.get("trials_written") or 0)
            current["wall_s"] += float(event.get("wall_s") or 0.0)
    ranks = [per_rank[k] for k in sorted(per_rank)]
    slowest = max((r["wall_s"] for r in ranks), default=0.0)
    trials = sum(r["trials"] for r in ranks)
    return {"world_size": world or 1, "per_rank": ranks, "trials": trials,
            "wall_s_slowest_rank": slowest,
            "trials_per_second": trials / slowest if slowest > 0 else None}


def scaling_efficiency(launch: Mapping, single: Mapping) -> float | None:
    """Trials per second of an N-process launch over N times that of a one-process run.

    Both arguments are summaries (or :func:`scaling_report` dicts) of the same experiment.

    >>> one = {"world_size": 1, "trials_per_second": 10.0}
    >>> scaling_efficiency({"world_size": 4, "trials_per_second": 36.0}, one)
    0.9
    """
    a = launch if "trials_per_second" in launch else scaling_report(launch)
    b = single if "trials_per_second" in single else scaling_report(single)
    if not a["trials_per_second"] or not b["trials_per_second"]:
        return None
    return a["trials_per_second"] / (a["world_size"] * b["trials_per_second"])
