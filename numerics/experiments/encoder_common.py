"""Options and checks shared by the two real-encoder families (issue 15): the task list, the
model and corpus folders, and the preflight that reads the model's sizes from its
``config.json`` (no transformers needed for that).

Examples
--------
>>> tasks("tasks", "business/sports,all")
(('business', 'sports'), ('business', 'entertainment', 'politics', 'sports', 'tech'))
>>> show_tasks((('business', 'sports'),))
'business/sports'
>>> folder("model_dir", " ")
Traceback (most recent call last):
...
proofs.validation.InvalidArgument: --model-dir must name a folder, got ' '
"""

from __future__ import annotations

import json
from pathlib import Path

from proofs.validation import InvalidArgument

from .options import MAX_GRID_VALUES
from .protocol import Family

__all__ = ["tasks", "show_tasks", "folder", "show_folder", "matrices", "model_sizes",
           "preflight_dirs", "EncoderFamily", "MAX_LEN", "MAX_PER_CLASS"]

#: The longest token sequence (BERT's position embeddings stop at 512).
MAX_LEN = 512
#: The most documents per class (the largest BBC class has 511).
MAX_PER_CLASS = 511


def tasks(name: str, text: str) -> tuple:
    """A comma list of tasks (``all`` or classes joined by ``/``), no repeats."""
    from numerics.engine.encoder import parse_task

    parts = [p.strip() for p in str(text).split(",")]
    if not str(text).strip() or any(not p for p in parts):
        raise InvalidArgument(f"--{name.replace('_', '-')} must be a comma list of tasks such as "
                              f"business/sports or all, got {text!r}")
    if len(parts) > MAX_GRID_VALUES:
        raise InvalidArgument(f"--{name} has {len(parts)} values, more than {MAX_GRID_VALUES}")
    out = tuple(parse_task(name, p) for p in parts)
    if len(set(out)) != len(out):
        raise InvalidArgument(f"--{name} must not repeat a task, got {text!r}")
    return out


def show_tasks(values) -> str:
    from numerics.engine.encoder import task_name

    return ",".join(task_name(t) for t in values)


def folder(name: str, text: str) -> str:
    """A folder path (its contents are checked when the run starts)."""
    t = str(text)
    if not t.strip():
        raise InvalidArgument(f"--{name.replace('_', '-')} must name a folder, got {text!r}")
    return t


def show_folder(value) -> str:
    return "the installed package's folder" if value is None else str(value)


def model_dir_option():
    """The ``--model-dir`` option every encoder family shares (a fresh dataclass field each call)."""
    from .options import option

    return option(None, "encoder folder (config.json, model.safetensors, tokenizer.json); its "
                  "sha256 goes into the record", folder, role="run", show=show_folder)


def corpus_dir_option():
    """The ``--corpus-dir`` option every encoder family shares."""
    from .options import option

    return option(None, "corpus folder with one folder of .txt files per BBC class; the sha256 of "
                  "its file list goes into the record", folder, role="run", show=show_folder)


def matrices(name: str, text: str) -> tuple:
    """A comma list of query, value, mlp (no repeats)."""
    from numerics.engine.encoder import MATRICES

    parts = [p.strip() for p in str(text).split(",")]
    bad = [p for p in parts if p not in MATRICES]
    if bad or not parts:
        raise InvalidArgument(f"--{name} must be a comma list of {', '.join(MATRICES)}, got {text!r}")
    if len(set(parts)) != len(parts):
        raise InvalidArgument(f"--{name} must not repeat a value, got {text!r}")
    return tuple(parts)


def model_sizes(model_dir) -> dict:
    """``hidden``, ``intermediate``, ``layers`` from the model folder's ``config.json``."""
    try:
        cfg = json.loads((Path(model_dir) / "config.json").read_text())
        return {"hidden": int(cfg["hidden_size"]), "intermediate": int(cfg["intermediate_size"]),
                "layers": int(cfg["num_hidden_layers"]),
                "positions": int(cfg.get("max_position_embeddings", MAX_LEN))}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InvalidArgument(f"--model-dir {str(model_dir)!r}: config.json unreadable "
                              f"({type(error).__name__})") from None


def preflight_dirs(config, command: str) -> tuple[str, str, dict]:
    """The resolved folders and the model's sizes; raises :class:`InvalidArgument` when a folder
    or a file is missing (the families check their own flags against the sizes, then call
    :func:`numerics.engine.encoder.require_extra`)."""
    from numerics.engine.encoder import resolve_dirs

    from .protocol import memory_limit

    memory_limit(config.device)  # a CUDA device that is not there is refused first
    model, corpus = resolve_dirs(config.model_dir, config.corpus_dir)
    sizes = model_sizes(model)
    if config.max_len > sizes["positions"]:
        raise InvalidArgument(f"--max-len {config.max_len} exceeds the model's "
                              f"{sizes['positions']} positions")
    return model, corpus, sizes


class EncoderFamily(Family):
    """What the two encoder families share: the model and corpus folders and their hashes (which
    go into the record's spec), the per-class document budget, and the summary and figures of
    their engine module (``engine_module``, with ``summarise(cfg, outcomes, **provenance)`` and
    ``save_figures(summary, stem)``). Subclasses add ``engine_config``, ``preflight``,
    ``from_spec``, ``cells``, ``run_batch`` and ``render``."""

    engine_module = ""
    needs_extra = True

    def _engine(self):
        import importlib

        return importlib.import_module(self.engine_module)

    def _dirs(self, config):
        from numerics.engine.encoder import resolve_dirs

        return resolve_dirs(config.model_dir, config.corpus_dir)

    def _hashes(self, config) -> dict:
        from numerics.engine.encoder import corpus_digest, model_digest

        model, corpus = self._dirs(config)
        return {"model_sha256": model_digest(model), "corpus_sha256": corpus_digest(corpus)}

    def validate(self, config) -> None:
        if config.test_per_class + max(config.per_class) > MAX_PER_CLASS:
            raise InvalidArgument(f"--per-class {max(config.per_class)} and --test-per-class "
                                  f"{config.test_per_class} together exceed {MAX_PER_CLASS} "
                                  "documents per class")

    def spec(self, config) -> dict:
        return self.engine_config(config, self._hashes(config)).spec()

    def matches_legacy_spec(self, spec) -> bool:
        return False

    def summarise(self, config, outcomes) -> dict:
        from numerics.experiments.records import run_provenance

        spec = getattr(outcomes, "spec", None) or {}
        cfg = self.engine_config(config, {k: spec.get(k, "") for k in ("model_sha256", "corpus_sha256")})
        return self._engine().summarise(cfg, outcomes, **run_provenance(outcomes))

    def figures(self, summary, stem):
        return self._engine().save_figures(summary, stem)
