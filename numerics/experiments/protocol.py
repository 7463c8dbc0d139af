"""The experiment protocol: what every experiment family declares, and the registry.

A family is a small object (see :class:`Family`) around a frozen config dataclass whose fields
are made with :func:`numerics.experiments.options.option`. The family says

- how a config becomes the record header's ``spec`` and back (:meth:`Family.spec`,
  :meth:`Family.from_spec`; every committed record's header reads back);
- its ``cells`` (tuples of four integers, the record's cell keys) and the trial indices of each;
- how to run a batch of trial indices in one cell (:meth:`Family.run_batch`, pure given the
  config's seed: the outcome of a trial does not depend on the batch it runs in);
- how to summarise the outcomes (:meth:`Family.summarise`), render the summary as text and
  draw its figures.

The runner (:mod:`numerics.experiments.runner`) owns resume, sharding, progress, atomic appends
and merging for every family; the command line (:mod:`lorank.experiment_cli`) builds each
command's flags from the config fields. A family module imports torch only inside the methods
that run trials, so building the command line and summarising need no torch.

Examples
--------
>>> sorted(f.name for f in families())
['cstar-lm', 'cstar-recipe', 'encoder-gated', 'encoder-lora', 'encoder-ntk', 'exact-above', 'exact-existence', 'gradient-flow', 'jang', 'learnable-rank', 'pl', 'rademacher', 'rank-sweep', 'separability', 'stable-rank', 'xent']
>>> family_named("pl").command
'pl'
>>> family_of_spec({"estimand": "pl", "format": "lorank.pl-summary/1"}).name
'pl'
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import importlib
from pathlib import Path
from typing import Any, Mapping, Sequence

from proofs.validation import InvalidArgument

from .options import defaults, flag_names, option_fields

__all__ = ["Family", "families", "family_named", "family_of_spec", "families_of_command",
           "FAMILY_MODULES", "analysis_settings", "check_memory", "memory_limit"]

#: Modules that each define ``FAMILY``; a new family adds one line here.
#: The most cells one run may have (the grid is checked before any cell is built).
MAX_CELLS = 100_000

FAMILY_MODULES = (
    "numerics.experiments.cstar",
    "numerics.experiments.separability",
    "numerics.experiments.pl",
    "numerics.experiments.rademacher",
    "numerics.experiments.xent",
    "numerics.experiments.rank_sweep",
    "numerics.experiments.gradient_flow",
    "numerics.experiments.jang",
    "numerics.experiments.stable_rank",
    "numerics.experiments.learnable_rank",
    "numerics.experiments.exact_existence",
    "numerics.experiments.exact_above",
    "numerics.experiments.encoder_ntk",
    "numerics.experiments.encoder_lora",
    "numerics.experiments.encoder_gated",
)


class Family(abc.ABC):
    """What an experiment family declares. Subclasses set the class attributes and override
    the abstract methods.

    Attributes
    ----------
    name : str
        The family's name (``"cstar-lm"``); also the ``family`` of its summaries.
    command : str
        The ``lorank`` subcommand that runs it.
    selector : str or None
        Where one command runs several families (``cstar``: ``--estimand lm`` or ``recipe``),
        the value that picks this one.
    Config : type
        The frozen config dataclass.
    summary_format : str
    figure_stem : str
    title : str
        One line for the help and the progress bar.
    verdicts : str
        The module whose ``ledger_entries(results_dir)`` turns this family's committed summaries
        into ledger entries (the ledger gathers them from the registered families).
    """

    name: str = ""
    command: str = ""
    selector: str | None = None
    Config: type = object
    summary_format: str = ""
    figure_stem: str = "figure"
    title: str = ""
    verdicts: str = ""
    needs_torch: bool = True
    #: Whether a trial's outcome is bitwise independent of the batch it runs in (else equal in
    #: every decision and to float rounding; the family's docstring says why).
    batch_invariant: bool = True

    # ---------------------------------------------------------------- config and spec
    def config(self, **values) -> Any:
        """A validated config: the field defaults, updated by ``values``."""
        kw = defaults(self.Config)
        unknown = set(values) - set(kw)
        if unknown:
            raise InvalidArgument(f"{self.name}: unknown setting {sorted(unknown)[0]!r}")
        kw.update({k: _frozen(v) for k, v in values.items()})
        config = self.Config(**kw)
        groups: dict = {}
        for f in option_fields(self.Config):
            if f.metadata["group"]:
                groups.setdefault(f.metadata["group"], []).append(f.name)
        for names in groups.values():
            if sum(getattr(config, n) is not None for n in names) != 1:
                raise InvalidArgument("give exactly one of " + " and ".join(
                    "--" + n.replace("_", "-") for n in names))
        count = self.grid_size(config)
        if count > MAX_CELLS:
            raise InvalidArgument(f"the grid has {count} cells ({self.grid_text(config)}), more than "
                                  f"{MAX_CELLS}: split the run")
        with flag_names():
            self.validate(config)
        return config

    #: The config fields whose lengths multiply to the number of cells (a tuple inside names
    #: mutually exclusive fields, of which the one that is set counts).
    grid_fields: tuple = ("sizes", "ranks", ("rho", "kn"))

    def _grid_lengths(self, config) -> list[tuple[str, int]]:
        out = []
        for f in self.grid_fields:
            names = f if isinstance(f, tuple) else (f,)
            name = next((n for n in names if getattr(config, n) is not None), names[0])
            value = getattr(config, name)
            out.append((name, len(value) if isinstance(value, (tuple, list)) else 1))
        return out

    def grid_size(self, config) -> int:
        """The number of cells, an upper bound counted from the field lengths before any cell
        is built (so a huge grid is refused at once)."""
        count = 1
        for _, n in self._grid_lengths(config):
            count *= n
        return count

    def grid_text(self, config) -> str:
        return " x ".join(f"{n} --{name.replace('_', '-')}" for name, n in self._grid_lengths(config))

    def validate(self, config) -> None:
        """Cross-field checks (raise :class:`InvalidArgument`); the default checks the cells."""
        self.cells(config)

    def preflight(self, config) -> None:
        """Checks before a run starts (memory of the device, GPU present); not when
        re-summarising a record."""
        memory_limit(self.device(config))

    @abc.abstractmethod
    def spec(self, config) -> dict:
        """Every setting that determines the trials (the engine's own description)."""

    def record_spec(self, config) -> dict:
        """The record header's spec: ``{"family": name}`` and :meth:`spec`. Every family's
        records are told apart by that one key (records of lorank 0.4.0, without it, are
        recognised by :meth:`matches_legacy_spec`)."""
        return {"family": self.name, **self.spec(config)}

    def matches_spec(self, spec: Mapping) -> bool:
        """Whether a record header's spec belongs to this family."""
        if "family" in spec:
            return spec["family"] == self.name
        return self.matches_legacy_spec(spec)

    @abc.abstractmethod
    def matches_legacy_spec(self, spec: Mapping) -> bool:
        """Whether a spec without a ``family`` key (lorank 0.4.0) belongs to this family."""

    @abc.abstractmethod
    def from_spec(self, spec: Mapping, **analysis) -> Any:
        """The config a record header describes, with analysis settings from ``analysis``."""

    def analysis(self, config) -> dict:
        """The analysis settings of ``config`` (pinned in every summary)."""
        return analysis_settings(config)

    # ---------------------------------------------------------------- trials
    @abc.abstractmethod
    def cells(self, config) -> list[tuple]:
        """The cells, each a tuple of four non-negative integers, in run order."""

    def trial_indices(self, config, cell) -> Sequence[int]:
        """The trial indices of a cell (default ``range(config.trials)``)."""
        return range(config.trials)

    def batch_size(self, config) -> int:
        """Trials per call of :meth:`run_batch` and per checkpoint."""
        return config.batch_size

    @abc.abstractmethod
    def run_batch(self, config, cell, trial_indices: Sequence[int]) -> list[dict]:
        """One outcome dict (with ``"trial"``) per index; pure given the config's seed."""

    def device(self, config) -> str:
        return getattr(config, "device", "cpu")

    def with_device(self, config, device: str):
        """The config run on ``device`` (a distributed rank's own GPU)."""
        return dataclasses.replace(config, device=device)

    def run_context(self, config):
        """A context manager around a whole run (e.g. torch CPU threads)."""
        threads = getattr(config, "threads", None)
        if threads is None or not str(self.device(config)).startswith("cpu"):
            return contextlib.nullcontext()
        from numerics.engine.capacity import torch_threads

        return torch_threads(threads)

    # ---------------------------------------------------------------- summary
    @abc.abstractmethod
    def summarise(self, config, outcomes) -> dict:
        """The summary of a run's outcomes (``{cell: [outcome, ...]}`` with the records'
        ``spec``, ``sessions`` and ``paths``)."""

    @abc.abstractmethod
    def render(self, summary: dict) -> str:
        """The summary as text for the terminal."""

    def figures(self, summary: dict, stem: Path) -> list:
        """Save the figures as ``stem.png`` and ``stem.pdf``; return the paths."""
        return []

    def __repr__(self) -> str:
        return f"<experiment family {self.name}>"


def _frozen(value):
    """Lists (as read from JSON) become tuples, so that configs compare and hash by value."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def analysis_settings(config) -> dict:
    """``{name: value}`` of the config's analysis fields.

    >>> from numerics.experiments.pl import FAMILY
    >>> analysis_settings(FAMILY.config())
    {}
    """
    from numerics.experiments.records import to_jsonable

    return {f.name: to_jsonable(getattr(config, f.name)) for f in option_fields(type(config))
            if f.metadata["role"] == "analysis"}


def families() -> list[Family]:
    """Every registered family, in registration order."""
    out = []
    for module_name in FAMILY_MODULES:
        module = importlib.import_module(module_name)
        found = module.FAMILY if isinstance(module.FAMILY, (list, tuple)) else [module.FAMILY]
        out.extend(found)
    return out


def family_named(name: str) -> Family:
    """The family called ``name``.

    >>> family_named("E5")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: no experiment family 'E5'; known: cstar-lm, cstar-recipe, separability, pl, rademacher, xent, rank-sweep, gradient-flow, jang, stable-rank, learnable-rank, exact-existence, exact-above, encoder-ntk, encoder-lora, encoder-gated
    """
    known = families()
    for f in known:
        if f.name == name:
            return f
    raise InvalidArgument(f"no experiment family {name!r}; known: {', '.join(f.name for f in known)}")


def families_of_command(command: str) -> list[Family]:
    """The families a ``lorank`` subcommand runs.

    >>> [f.selector for f in families_of_command("cstar")]
    ['lm', 'recipe']
    """
    return [f for f in families() if f.command == command]


def family_of_spec(spec: Mapping) -> Family:
    """The family whose records have this header spec.

    >>> family_of_spec({"kind": "elsewhere"})
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: the record's spec belongs to no known experiment family
    """
    if isinstance(spec, Mapping):
        for f in families():
            if f.matches_spec(spec):
                return f
    raise InvalidArgument("the record's spec belongs to no known experiment family")


def memory_limit(device: str) -> int:
    """Bytes of memory on ``device``: the GPU's total memory, or this machine's physical memory.

    >>> memory_limit("cpu") > 0
    True
    """
    import os

    if str(device).startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise InvalidArgument(f"--device {device!r} asked for, but torch sees no CUDA GPU")
        index = int(str(device).partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise InvalidArgument(f"--device {device!r}: torch sees {torch.cuda.device_count()} GPU(s)")
        return int(torch.cuda.get_device_properties(index).total_memory)
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 40


def check_memory(cells, device: str, features: str = "gaussian", K=None) -> None:
    """Refuse a grid whose largest single trial cannot fit in ``device``'s memory, before any
    allocation: Gaussian-iid features of a cell ``(m, n, r, M)`` take ``8 M m n`` bytes in
    float64 (structured ones ``8 (K m + (M / K) n)``), and the solver needs a few times that.

    >>> check_memory([(100000, 100000, 1, 1603)], "cpu")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --sizes 100000x100000 at r = 1 with M = 1603 (from --rho or --kn) needs about 1.2e+02 TiB for one trial's features, more than the memory of cpu
    """
    limit = memory_limit(device)
    for m, n, r, M in cells:
        need = 8 * (K * m + (M // K) * n) if features == "structured" and K else 8 * M * m * n
        if 4 * need > limit:
            shown = M if M < 10**12 else f"{M:.3g}"
            raise InvalidArgument(f"--sizes {m}x{n} at r = {r} with M = {shown} (from --rho or --kn) "
                                  f"needs about {need / 2**40:.2g} TiB for one trial's features, "
                                  f"more than the memory of {device}")
