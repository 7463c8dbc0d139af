"""Append-only, resumable trial records and atomic summary files.

A record is a JSON-lines file. Line 1 is the header; every later line is one event:

``{"kind": "header", "format": "lorank.trial-record/1", "spec": {...}, "created": ISO-8601}``
    ``spec`` is the run specification: every setting that determines the trials (estimand,
    features, sizes, grid, trials per cell, seed, solver settings, device type, dtype).
``{"kind": "session", "event": "start", "time": ..., "unix": ..., "shard": [rank, world], "environment": {...}}``
    written each time a process opens the record (first run and every resume).
``{"kind": "trial", "cell": [m, n, r, M], "outcome": {"trial": i, ...}, "unix": ...}``
    one finished trial; ``outcome`` is what the trial function returned, with non-finite floats
    stored as ``null`` (JSON has no NaN).
``{"kind": "session", "event": "end", "time": ..., "unix": ..., "wall_s": ..., "trials_written": k, "status": "ok" | "error"}``
    written when a process closes the record normally or after an exception; a killed process
    leaves none.

Every append is one ``write`` of whole lines followed by ``flush`` and ``os.fsync``, so a killed
run leaves at worst a half-written last line (no final newline). Reading ignores it; resuming
truncates it (that trial runs again, with the same seed). A damaged line anywhere else, or a
header that does not match the requested spec, raises :class:`InvalidArgument` naming the file
and the field, and the file is left as it was: finished trials are never deleted.

Examples
--------
>>> import tempfile, os
>>> d = tempfile.mkdtemp()
>>> path = os.path.join(d, "run.jsonl")
>>> with open_record(path, {"estimand": "lm", "seed": 0}) as rec:
...     rec.append((8, 8, 1, 10), [{"trial": 0, "ok": True}, {"trial": 1, "ok": False}])
>>> contents = read_record(path)
>>> contents.trials[(8, 8, 1, 10)][1]
{'ok': False, 'trial': 1}
"""

from __future__ import annotations

import datetime as _dt
import functools
import importlib.metadata
import json
import math
import numbers
import os
import platform
import tempfile
import time
import zlib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from proofs.validation import InvalidArgument

__all__ = [
    "RECORD_FORMAT",
    "cell_key",
    "to_jsonable",
    "utc_now",
    "wall_time",
    "session_environments",
    "environment_info",
    "git_revision",
    "write_json_atomic",
    "RecordContents",
    "read_record",
    "RecordWriter",
    "open_record",
    "spec_mismatch",
]

RECORD_FORMAT = "lorank.trial-record/1"


# --------------------------------------------------------------------------------------------
# JSON helpers


def to_jsonable(obj: Any) -> Any:
    """Convert ``obj`` into plain JSON types: dicts with string keys, lists, str, int, float,
    bool and None. numpy scalars and arrays become Python numbers and lists, tuples become
    lists, dataclasses their ``to_dict()`` (or their fields), and non-finite floats ``None``.

    >>> import numpy as np
    >>> to_jsonable({"a": np.float64(0.5), "b": (1, float("nan")), "c": np.arange(2)})
    {'a': 0.5, 'b': [1, None], 'c': [0, 1]}
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if is_dataclass(obj) and not isinstance(obj, type):
        if hasattr(obj, "to_dict"):
            return to_jsonable(obj.to_dict())
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in fields(obj)}
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy arrays and scalars
        return to_jsonable(obj.tolist())
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj) if isinstance(obj, (set, frozenset)) else obj
        return [to_jsonable(v) for v in items]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise InvalidArgument(f"value is not JSON-serialisable: {obj!r} of type {type(obj).__name__}")


def _dumps(obj: Any, **kw) -> str:
    return json.dumps(to_jsonable(obj), allow_nan=False, sort_keys=True, **kw)


def cell_key(cell: Sequence[int]) -> str:
    """Canonical text key of a cell ``(m, n, r, M)``.

    >>> cell_key((8, 8, 1, 10))
    'm=8,n=8,r=1,M=10'
    """
    m, n, r, M = _check_cell("cell", cell)
    return f"m={m},n={n},r={r},M={M}"


def _check_cell(name, cell) -> tuple[int, int, int, int]:
    if type(cell) in (list, tuple) and len(cell) == 4 and all(type(v) is int and v >= 1 for v in cell):
        return tuple(cell)  # the common case (a record line's cell), without the checks below
    try:
        vals = tuple(cell)
    except TypeError:
        raise InvalidArgument(f"{name} must be (m, n, r, M), got {cell!r}") from None
    if len(vals) != 4 or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
                             for v in vals):
        raise InvalidArgument(f"{name} must be four positive integers (m, n, r, M), got {cell!r}")
    return tuple(int(v) for v in vals)


def utc_now() -> tuple[str, float]:
    unix = time.time()
    iso = _dt.datetime.fromtimestamp(unix, tz=_dt.timezone.utc).isoformat(timespec="seconds")
    return iso, unix


# --------------------------------------------------------------------------------------------
# Environment


@functools.lru_cache(maxsize=None)
def _version(dist: str) -> str | None:
    # Read once per process (package metadata lookups take milliseconds each; a process runs
    # the packages it imported, whatever is installed later).
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=None)
def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _source_revision() -> dict:
    """The git commit of the lorank source tree, whether it had uncommitted changes, and
    ``tree_sha256``: a hash of every ``.py`` file under ``numerics``, ``proofs`` and ``lorank``
    (relative path and bytes, in sorted order), which identifies the code that ran even where
    the git metadata does not describe the files (a copy of a working tree whose ``.git`` is
    another state's: the records made on the device before this field said "clean" at the
    last commit while running uncommitted code).

    ``{"commit": None, "dirty": None}`` outside a git checkout or without git (an installed
    wheel): the package version and ``tree_sha256`` then identify the code.

    Asked of git once per process (two subprocesses, tens of milliseconds, on every record
    opened and every summary otherwise): the code a process runs is the code it imported, so
    the first answer describes it for the rest of the process.
    """
    return {**dict(_source_revision_once()), "tree_sha256": _tree_sha256()}


@functools.lru_cache(maxsize=None)
def _tree_sha256() -> str:
    import hashlib

    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for top in ("numerics", "proofs", "lorank"):
        for path in sorted((root / top).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _source_revision_once() -> tuple:
    return git_revision(Path(__file__).resolve().parents[2])


def git_revision(root) -> tuple:
    """``(("commit", sha), ("dirty", bool))`` of the git checkout at ``root`` (the repository
    root: ``dirty`` asks about tracked changes under ``root/numerics``, ``root/proofs`` and
    ``root/lorank``); ``None`` for each where git cannot say.

    Until this function, ``root`` was ``numerics/`` (one level short), so the pathspecs named
    ``numerics/numerics`` etc.: git found nothing there and every record made since the
    ``numerics/experiments`` layout (cd1978f) says ``"dirty": false``, changed or not; their
    ``tree_sha256`` (added later) identifies the code that ran.

    >>> git_revision("/nonexistent")
    (('commit', None), ('dirty', None))
    """
    import subprocess

    root = Path(root)
    if not root.is_dir():
        return (("commit", None), ("dirty", None))
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--show-toplevel", "HEAD"],
                                capture_output=True, text=True, timeout=10)
        lines = commit.stdout.split()
        # not a checkout's root (an installed copy in a virtual environment inside some
        # repository): that repository's commit would not describe the code
        if commit.returncode != 0 or len(lines) != 2 or Path(lines[0]).resolve() != root.resolve():
            return (("commit", None), ("dirty", None))
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                 "--untracked-files=no", "--", "numerics", "proofs", "lorank"],
                                capture_output=True, text=True, timeout=10)
        dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
        return (("commit", lines[1]), ("dirty", dirty))
    except (OSError, subprocess.SubprocessError):
        return (("commit", None), ("dirty", None))


def environment_info(device: str | None = None) -> dict:
    """Software versions, the device name and the time, without the host name.

    Versions are read from package metadata, so torch is imported only when ``device`` names a
    CUDA device (to ask for its name, and to record ``lm_system_float64``: whether float64
    Levenberg-Marquardt steps there use the fused kernel or the library, ``LMConfig.system``);
    without torch installed its version is ``None``.

    >>> info = environment_info("cpu")
    >>> sorted(k for k in info if k in ("numpy", "python", "scipy", "sympy", "torch"))
    ['numpy', 'python', 'scipy', 'sympy', 'torch']
    >>> info["device"], "hostname" in info, "node" in info
    ('cpu', False, False)
    """
    iso, unix = utc_now()
    info = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "lorank": _version("lorank"),
        "lorank_source": _source_revision(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "sympy": _version("sympy"),
        "matplotlib": _version("matplotlib"),
        "torch": _version("torch"),
        "triton": _version("triton"),
        "device": device,
        "device_name": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "time_utc": iso,
        "unix": unix,
    }
    if device is not None and str(device).startswith("cuda"):
        try:
            import torch  # local import: numerics records must load without torch

            if torch.cuda.is_available():
                index = torch.device(device).index or 0
                info["device_name"] = torch.cuda.get_device_name(index)
                info["cuda"] = torch.version.cuda
                from numerics.engine.solvers import LMConfig  # how float64 LM steps solve their system

                info["lm_system_float64"] = ("fused" if LMConfig().fused_system(
                    torch.device(device), torch.float64) else "library")
            else:
                info["device_name"] = "CUDA requested but not available"
        except ImportError:
            info["device_name"] = "CUDA requested but torch is not installed"
    return info


# --------------------------------------------------------------------------------------------
# Atomic JSON


def write_json_atomic(path, obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically: a temporary file in the same directory is
    written, flushed and fsync'd, then moved over ``path`` with ``os.replace``. A reader sees the
    old file or the new one, never a partial one; on any error the temporary file is removed.

    >>> import tempfile, os
    >>> p = write_json_atomic(os.path.join(tempfile.mkdtemp(), "s.json"), {"x": 1.5})
    >>> p.read_text()
    '{\\n  "x": 1.5\\n}\\n'
    """
    path = Path(path)
    text = _dumps(obj, indent=2) + "\n"  # serialise first: a bad object leaves nothing behind
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a summary is as readable as any file
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# --------------------------------------------------------------------------------------------
# Reading


@dataclass
class RecordContents:
    """What a record holds.

    ``trials`` maps a cell ``(m, n, r, M)`` to ``{trial index: outcome}``; ``sessions`` lists the
    session lines in order (a start line without its end line, left by a killed process, gets
    ``"killed": true`` and ``"wall_s"`` up to its last trial line); ``partial_tail`` is the number of bytes of a half-written last line
    (ignored); ``valid_bytes`` the length of the file up to the last complete line.
    """

    path: Path
    header: dict
    trials: dict = field(default_factory=dict)
    sessions: list = field(default_factory=list)
    partial_tail: int = 0
    valid_bytes: int = 0

    @property
    def spec(self) -> dict:
        return self.header["spec"]

    def n_trials(self) -> int:
        return sum(len(v) for v in self.trials.values())


def read_record(path) -> RecordContents:
    """Read a trial record, ignoring a half-written last line.

    Raises
    ------
    InvalidArgument
        If the file is missing, has no complete header, or a complete line is not a valid
        record line, or two lines give different outcomes for one (cell, trial).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "r.jsonl")
    >>> with open_record(p, {"seed": 1}) as rec:
    ...     rec.append((2, 2, 1, 3), [{"trial": 0}])
    >>> with open(p, "a") as fh:
    ...     _ = fh.write('{"kind": "trial", "cell": [2, 2')    # a run killed mid-write
    >>> c = read_record(p)
    >>> c.n_trials(), c.partial_tail > 0
    (1, True)
    >>> import gzip
    >>> with open(p + ".gz", "wb") as fh:
    ...     _ = fh.write(gzip.compress(open(p, "rb").read())[:-12])  # a truncated download
    >>> read_record(p + ".gz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: record ....jsonl.gz cannot be read: Compressed file ended before the end-of-stream marker was reached
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":  # a committed, compressed record (read-only)
            import gzip

            data = gzip.decompress(data)
    except FileNotFoundError:
        raise InvalidArgument(f"record {path} does not exist") from None
    except (OSError, EOFError, zlib.error) as exc:  # EOFError: a truncated .gz
        raise InvalidArgument(f"record {path} cannot be read: {exc}") from None
    cut = data.rfind(b"\n") + 1
    body, tail = data[:cut], data[cut:]
    lines = body.split(b"\n")[:-1] if body else []
    if not lines:
        raise InvalidArgument(f"record {path} has no complete header line (empty or killed while "
                              "it was created); it holds no finished trials")
    header = _parse_line(path, 1, lines[0])
    if header.get("kind") != "header" or header.get("format") != RECORD_FORMAT or not isinstance(
            header.get("spec"), dict):
        raise InvalidArgument(f"record {path}: line 1 is not a {RECORD_FORMAT} header")
    contents = RecordContents(path, header, partial_tail=len(tail), valid_bytes=cut)
    open_session, last_unix = None, None
    for lineno, raw in enumerate(lines[1:], start=2):
        obj = _parse_line(path, lineno, raw)
        kind = obj.get("kind")
        if kind == "session":
            if obj.get("event") == "start":
                _close_killed(open_session, last_unix)
                open_session, last_unix = obj, obj.get("unix")
            else:
                open_session = None
            contents.sessions.append(obj)
        elif kind == "trial":
            last_unix = obj.get("unix", last_unix)
            cell, outcome = _check_trial_line(path, lineno, obj)
            per_cell = contents.trials.setdefault(cell, {})
            i = outcome["trial"]
            if i in per_cell and per_cell[i] != outcome:
                raise InvalidArgument(f"record {path}: line {lineno} gives trial {i} of cell "
                                      f"{cell_key(cell)} a different outcome than an earlier line")
            per_cell[i] = outcome
        else:
            raise InvalidArgument(f"record {path}: line {lineno} has unknown kind {kind!r}")
    _close_killed(open_session, last_unix)
    return contents


def _close_killed(session, last_unix):
    """Mark a session without an end line (a killed process) with the time it ran up to its
    last trial line; the file itself is not changed."""
    if session is None:
        return
    start = session.get("unix")
    session["killed"] = True
    session["wall_s"] = (float(last_unix) - float(start)
                         if isinstance(start, (int, float)) and isinstance(last_unix, (int, float))
                         else 0.0)


def _parse_line(path, lineno, raw: bytes) -> dict:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidArgument(f"record {path}: line {lineno} is corrupt (not valid JSON)") from None
    if not isinstance(obj, dict):
        raise InvalidArgument(f"record {path}: line {lineno} is corrupt (not a JSON object)")
    return obj


def _check_trial_line(path, lineno, obj):
    try:
        cell = _check_cell("cell", obj.get("cell"))
    except InvalidArgument:
        raise InvalidArgument(f"record {path}: line {lineno} has a bad cell "
                              f"{obj.get('cell')!r}") from None
    outcome = obj.get("outcome")
    if not isinstance(outcome, dict) or isinstance(outcome.get("trial"), bool) or not isinstance(
            outcome.get("trial"), int) or outcome["trial"] < 0:
        raise InvalidArgument(f"record {path}: line {lineno} has no outcome with a trial index")
    return cell, outcome


# --------------------------------------------------------------------------------------------
# Spec comparison


def spec_mismatch(expected: Mapping, found: Mapping, prefix: str = "spec") -> str | None:
    """The first field (dotted path) where two specs differ, with both values, or None.

    Both are compared after a JSON round trip, so tuples equal lists.

    >>> spec_mismatch({"seed": 0, "sizes": [[8, 8, 1]]}, {"seed": 0, "sizes": [(8, 8, 1)]})
    >>> spec_mismatch({"seed": 0}, {"seed": 1})
    'spec.seed: requested 0, found 1'
    """
    a = json.loads(_dumps(expected))
    b = json.loads(_dumps(found))
    return _first_diff(a, b, prefix)


def _first_diff(a, b, where):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                return f"{where}.{k}: not requested, found {json.dumps(b[k])}"
            if k not in b:
                return f"{where}.{k}: requested {json.dumps(a[k])}, missing in the file"
            d = _first_diff(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if a != b:
        return f"{where}: requested {json.dumps(a)}, found {json.dumps(b)}"
    return None


# --------------------------------------------------------------------------------------------
# Writing


class RecordWriter:
    """An open record in append mode; use :func:`open_record` to get one.

    ``done(cell)`` is the set of trial indices already in the record for that cell, and
    ``append(cell, outcomes)`` writes finished trials, one line each, with one flush and fsync.
    """

    def __init__(self, path: Path, contents: RecordContents, shard, device):
        self.path = path
        self.contents = contents
        self._fh = open(path, "ab")
        self._written = 0
        self._status = "ok"
        iso, self._start = utc_now()
        self._write_lines([{"kind": "session", "event": "start", "time": iso,
                            "unix": self._start, "shard": list(shard),
                            "environment": environment_info(device)}])

    def done(self, cell) -> set[int]:
        """Trial indices already recorded for ``cell``."""
        return set(self.contents.trials.get(_check_cell("cell", cell), {}))

    def append(self, cell, outcomes: Iterable[Mapping]) -> None:
        """Append finished trials of one cell (flushed and fsync'd before returning)."""
        cell = _check_cell("cell", cell)
        iso, unix = utc_now()
        lines, new = [], {}
        for out in outcomes:
            out = to_jsonable(out)
            if not isinstance(out, dict) or isinstance(out.get("trial"), bool) or not isinstance(
                    out.get("trial"), int) or out["trial"] < 0:
                raise InvalidArgument(f"outcome must be a dict with a non-negative int 'trial', "
                                      f"got {out!r}")
            new[out["trial"]] = out
            lines.append({"kind": "trial", "cell": list(cell), "outcome": out, "unix": unix})
        self._write_lines(lines)
        self.contents.trials.setdefault(cell, {}).update(new)
        self._written += len(lines)

    def _write_lines(self, objs) -> None:
        if not objs:
            return
        payload = "".join(_dumps(o) + "\n" for o in objs).encode("utf-8")
        self._fh.write(payload)
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def mark_error(self) -> None:
        self._status = "error"

    def close(self) -> None:
        if self._fh.closed:
            return
        iso, unix = utc_now()
        try:
            self._write_lines([{"kind": "session", "event": "end", "time": iso, "unix": unix,
                                "wall_s": unix - self._start, "trials_written": self._written,
                                "status": self._status}])
        finally:
            self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.mark_error()
        self.close()
        return False


def open_record(path, spec: Mapping, *, resume: bool = False, shard=(0, 1),
                device: str | None = None) -> RecordWriter:
    """Create a record for ``spec``, or reopen one to resume it.

    Parameters
    ----------
    path : path-like
    spec : mapping
        The run specification (JSON-serialisable) written into the header.
    resume : bool
        If False the file must not exist (finished trials are never overwritten). If True and
        the file exists, its header must match ``spec`` and a half-written last line is
        truncated; if it does not exist a new record is started.
    shard : (rank, world_size)
        Stored in the session line, for runs split over processes.
    device : str or None
        Passed to :func:`environment_info` for the session line.

    Raises
    ------
    InvalidArgument
        The file exists and ``resume`` is False; or it is corrupt; or its spec differs
        (the message names the file and the first differing field). The file is not changed.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "r.jsonl")
    >>> open_record(p, {"seed": 0}).close()
    >>> open_record(p, {"seed": 1}, resume=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: record ... does not match the requested run (spec.seed: requested 1, found 0); the file is left untouched
    """
    if Path(path).suffix == ".gz":
        raise InvalidArgument(f"record {path} is compressed and read-only; gunzip it to resume "
                              "or extend it")
    path = Path(path)
    spec = json.loads(_dumps(spec))
    if not isinstance(spec, dict):
        raise InvalidArgument(f"spec must be a mapping, got {spec!r}")
    if path.exists():
        if not resume:
            raise InvalidArgument(f"record {path} already exists; resume it (resume=True, "
                                  "--resume) or choose another path")
        contents = read_record(path)
        diff = spec_mismatch(spec, contents.spec)
        if diff is not None:
            raise InvalidArgument(f"record {path} does not match the requested run ({diff}); "
                                  "the file is left untouched")
        if contents.partial_tail:
            with open(path, "r+b") as fh:  # drop the half-written last line of a killed run
                fh.truncate(contents.valid_bytes)
                fh.flush()
                os.fsync(fh.fileno())
            contents.partial_tail = 0
        return RecordWriter(path, contents, shard, device)
    path.parent.mkdir(parents=True, exist_ok=True)
    iso, _ = utc_now()
    header = {"kind": "header", "format": RECORD_FORMAT, "spec": spec, "created": iso}
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise InvalidArgument(f"record {path} already exists (created concurrently)") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write((_dumps(header) + "\n").encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(path.parent if str(path.parent) else Path("."))
    return RecordWriter(path, RecordContents(path, header, valid_bytes=path.stat().st_size),
                        shard, device)


def run_provenance(outcomes) -> dict:
    """``{"wall": ..., "environment": ...}`` of a run's outcomes (as loaded by the runner, with
    their ``sessions``): the keyword arguments every family's engine ``summarise`` takes.

    >>> run_provenance({})
    {'wall': {'wall_s': 0, 'sessions': 0, 'killed_sessions': 0}, 'environment': None}
    """
    sessions = getattr(outcomes, "sessions", [])
    return {"wall": wall_time(sessions), "environment": session_environments(sessions) or None}


def wall_time(sessions) -> dict:
    """Process wall time summed over sessions (concurrent processes add up), and how many
    sessions were killed (those count up to their last finished trial).

    >>> wall_time([{"event": "start"}, {"event": "end", "wall_s": 2.5}])
    {'wall_s': 2.5, 'sessions': 1, 'killed_sessions': 0}
    """
    starts = [s for s in sessions if s.get("event") == "start"]
    total = sum(float(s.get("wall_s") or 0.0) for s in sessions
                if s.get("event") == "end" or s.get("killed"))
    return {"wall_s": total, "sessions": len(starts),
            "killed_sessions": sum(bool(s.get("killed")) for s in starts)}


def session_environments(sessions) -> list:
    """The environment of every session start of a record (what ran each part of it).

    >>> session_environments([{"event": "start", "environment": {"device": "cpu"}}, {"event": "end"}])
    [{'device': 'cpu'}]
    """
    return [s["environment"] for s in sessions if s.get("event") == "start" and "environment" in s]
