"""Weight shapes and PEFT module names of the matrices LoRA adapts in a transformer.

A :class:`ModelShapes` holds the few numbers of a Hugging Face ``config.json`` that fix the
shapes (hidden size, intermediate size, layers, heads, key/value heads, head dimension) and
the architecture family, which fixes the module names. :meth:`ModelShapes.matrices` turns it
into one :class:`MatrixKind` per adapted matrix: ``out_features x in_features`` as
``nn.Linear`` stores its weight, which is the ``m x n`` of THEORY.md section 0.

Families and their PEFT names
-----------------------------
========================  ==========================================================
``bert`` (BERT, RoBERTa,  ``query``, ``key``, ``value``, ``attention.output.dense``,
MiniLM, XLM-R, ELECTRA)   ``intermediate.dense``, ``output.dense``
``llama`` (Llama,         ``q_proj``, ``k_proj``, ``v_proj``, ``o_proj``, ``gate_proj``,
Mistral, Qwen2, Gemma)    ``up_proj``, ``down_proj``
========================  ==========================================================

In the ``bert`` family the MLP down-projection ``encoder.layer.<i>.output.dense`` and the
attention output ``encoder.layer.<i>.attention.output.dense`` share the suffix
``output.dense``. PEFT matches a ``rank_pattern`` key ``p`` against a full module name with
``re.match(rf"(.*\\.)?({p})$", name)`` (``rf".*\\.{p}$"`` before PEFT 0.14), so the key
``output.dense`` would catch both; the down-projection therefore gets the key
``layer\\.\\d+\\.output\\.dense``, which cannot match the attention output. Each kind carries
``example_names`` (realistic full module names) so the matching can be checked.

Examples
--------
>>> roberta = builtin_model("roberta-base")
>>> [(k.kind, k.out_features, k.in_features) for k in roberta.matrices()]  # doctest: +NORMALIZE_WHITESPACE
[('query', 768, 768), ('key', 768, 768), ('value', 768, 768), ('attention_output', 768, 768),
 ('mlp_up', 3072, 768), ('mlp_down', 768, 3072)]
>>> llama = builtin_model("llama-7b")
>>> [k.module for k in llama.matrices()]
['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Optional

from proofs.validation import InvalidArgument, require_positive_int

__all__ = [
    "MatrixKind",
    "ModelShapes",
    "BUILTIN_MODELS",
    "FAMILIES",
    "KIND_LABELS",
    "builtin_model",
    "from_config",
    "from_config_dict",
    "dims_matrix",
]

#: Human-readable label of each matrix kind, in display order.
KIND_LABELS: dict[str, str] = {
    "query": "query",
    "key": "key",
    "value": "value",
    "attention_output": "attention output",
    "mlp_gate": "MLP gate",
    "mlp_up": "MLP up",
    "mlp_down": "MLP down",
    "matrix": "matrix",
}


@dataclass(frozen=True)
class MatrixKind:
    """One kind of adapted weight matrix, ``out_features x in_features`` (``m x n``).

    Parameters
    ----------
    kind : str
        One of :data:`KIND_LABELS` (``"query"``, ..., ``"mlp_down"``; ``"matrix"`` for bare
        dimensions).
    out_features, in_features : int
        The weight's shape as ``nn.Linear`` stores it; ``m = out_features``, ``n = in_features``.
    module : str or None
        The suffix for PEFT's ``target_modules`` (a module is targeted when its full name
        equals it or ends with ``"." + module``). ``None`` when the architecture is unknown.
    pattern : str or None
        The regex key for PEFT's ``rank_pattern`` that matches this kind and no other.
    layer_suffix : str or None
        A ``str.format`` template with ``{i}`` for a per-layer ``target_modules`` suffix, used
        when ``module`` alone would also target another kind that is not adapted.
    example_names : tuple of str
        Realistic full module names of this kind (layer 0 and a later layer), for checks.

    Examples
    --------
    >>> k = MatrixKind("query", 768, 768, "query", "query")
    >>> k.m, k.n, k.label
    (768, 768, 'query')
    """

    kind: str
    out_features: int
    in_features: int
    module: Optional[str] = None
    pattern: Optional[str] = None
    layer_suffix: Optional[str] = None
    example_names: tuple = ()

    @property
    def m(self) -> int:
        """Rows of the weight (``out_features``).

        >>> MatrixKind("mlp_up", 3072, 768).m
        3072
        """
        return self.out_features

    @property
    def n(self) -> int:
        """Columns of the weight (``in_features``).

        >>> MatrixKind("mlp_up", 3072, 768).n
        768
        """
        return self.in_features

    @property
    def label(self) -> str:
        """Readable name of the kind.

        >>> MatrixKind("mlp_down", 768, 3072).label
        'MLP down'
        """
        return KIND_LABELS.get(self.kind, self.kind)


# family -> model_type values it covers (model_type as in config.json).
FAMILIES: dict[str, tuple[str, ...]] = {
    "bert": ("bert", "roberta", "xlm-roberta", "camembert", "electra", "mpnet"),
    "llama": ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2"),
}

# Full-name prefix of layer i used for the example names, per model_type (default: family's).
_EXAMPLE_PREFIX = {
    "bert": "bert.encoder.layer.{i}.",
    "roberta": "roberta.encoder.layer.{i}.",
    "xlm-roberta": "roberta.encoder.layer.{i}.",
    "camembert": "roberta.encoder.layer.{i}.",
    "electra": "electra.encoder.layer.{i}.",
    "mpnet": "mpnet.encoder.layer.{i}.",
    "llama": "model.layers.{i}.",
}


def _family_of(model_type: Optional[str]) -> Optional[str]:
    for family, types in FAMILIES.items():
        if model_type in types:
            return family
    return None


@dataclass(frozen=True)
class ModelShapes:
    """The shape-determining numbers of a transformer and where they came from.

    Parameters
    ----------
    name : str
        Built-in name or the config file path.
    model_type : str or None
        ``config.json``'s ``model_type``; picks the family (:data:`FAMILIES`) and so the PEFT
        module names. ``None`` or an unknown type still gives shapes, without module names.
    hidden_size, intermediate_size, num_hidden_layers, num_attention_heads : int
    num_key_value_heads : int
        Key/value heads (grouped-query attention); equals ``num_attention_heads`` without GQA.
    head_dim : int
        Per-head dimension; ``hidden_size // num_attention_heads`` unless the config says.

    Examples
    --------
    >>> s = ModelShapes("toy", "llama", 64, 128, 2, 8, 2, 8)
    >>> {k.kind: (k.m, k.n) for k in s.matrices()}["key"]   # GQA: 2 heads of 8
    (16, 64)
    """

    name: str
    model_type: Optional[str]
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    source: str = field(default="builtin")

    @property
    def family(self) -> Optional[str]:
        """The architecture family (``"bert"``, ``"llama"``) or ``None`` if unknown.

        >>> builtin_model("minilm-l6").family
        'bert'
        """
        return _family_of(self.model_type)

    def matrices(self) -> tuple[MatrixKind, ...]:
        """One :class:`MatrixKind` per adapted matrix, in display order.

        Without a known family the kinds of a BERT-style block (no gate) are returned with
        ``module = pattern = None``.

        >>> [k.kind for k in builtin_model("bert-base").matrices()]
        ['query', 'key', 'value', 'attention_output', 'mlp_up', 'mlp_down']
        >>> [k.kind for k in builtin_model("llama-7b").matrices()][4:]
        ['mlp_gate', 'mlp_up', 'mlp_down']
        """
        h, f = self.hidden_size, self.intermediate_size
        q_out = self.num_attention_heads * self.head_dim
        kv_out = self.num_key_value_heads * self.head_dim
        family = self.family
        prefix = _EXAMPLE_PREFIX.get(self.model_type) or _EXAMPLE_PREFIX.get(family or "", "")

        def names(tail: str) -> tuple:
            if family is None:
                return ()
            return tuple(prefix.format(i=i) + tail for i in sorted({0, self.num_hidden_layers - 1}))

        if family == "llama":
            spec = [
                ("query", q_out, h, "q_proj", "self_attn.q_proj"),
                ("key", kv_out, h, "k_proj", "self_attn.k_proj"),
                ("value", kv_out, h, "v_proj", "self_attn.v_proj"),
                ("attention_output", h, q_out, "o_proj", "self_attn.o_proj"),
                ("mlp_gate", f, h, "gate_proj", "mlp.gate_proj"),
                ("mlp_up", f, h, "up_proj", "mlp.up_proj"),
                ("mlp_down", h, f, "down_proj", "mlp.down_proj"),
            ]
            return tuple(
                MatrixKind(kind, out, inp, module, module, None, names(tail))
                for kind, out, inp, module, tail in spec
            )
        spec = [
            ("query", q_out, h, "query", "query", None, "attention.self.query"),
            ("key", kv_out, h, "key", "key", None, "attention.self.key"),
            ("value", kv_out, h, "value", "value", None, "attention.self.value"),
            ("attention_output", h, q_out, "attention.output.dense", r"attention\.output\.dense",
             None, "attention.output.dense"),
            ("mlp_up", f, h, "intermediate.dense", r"intermediate\.dense", None, "intermediate.dense"),
            ("mlp_down", h, f, "output.dense", r"layer\.\d+\.output\.dense", "layer.{i}.output.dense",
             "output.dense"),
        ]
        if family is None:
            return tuple(MatrixKind(kind, out, inp) for kind, out, inp, *_ in spec)
        return tuple(
            MatrixKind(kind, out, inp, module, pattern, layer_suffix, names(tail))
            for kind, out, inp, module, pattern, layer_suffix, tail in spec
        )


def _shapes(name, model_type, hidden, inter, layers, heads, kv=None, head_dim=None):
    return ModelShapes(name, model_type, hidden, inter, layers, heads, kv or heads,
                       head_dim or hidden // heads)


#: Built-in models (shapes from their published ``config.json``).
BUILTIN_MODELS: dict[str, ModelShapes] = {
    "roberta-base": _shapes("roberta-base", "roberta", 768, 3072, 12, 12),
    "roberta-large": _shapes("roberta-large", "roberta", 1024, 4096, 24, 16),
    "bert-base": _shapes("bert-base", "bert", 768, 3072, 12, 12),
    "minilm-l6": _shapes("minilm-l6", "bert", 384, 1536, 6, 12),  # all-MiniLM-L6-v2
    "llama-7b": _shapes("llama-7b", "llama", 4096, 11008, 32, 32),
}


def builtin_model(name: str) -> ModelShapes:
    """The built-in model called ``name`` (case and ``_``/``-`` insensitive).

    Raises
    ------
    InvalidArgument
        For an unknown name; the message lists the known ones.

    Examples
    --------
    >>> builtin_model("RoBERTa_base").hidden_size
    768
    >>> builtin_model("gpt-5")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --model must be one of bert-base, llama-7b, minilm-l6, roberta-base, roberta-large, got 'gpt-5'
    """
    key = str(name).strip().lower().replace("_", "-")
    if key not in BUILTIN_MODELS:
        raise InvalidArgument(f"--model must be one of {', '.join(sorted(BUILTIN_MODELS))}, got {name!r}")
    return BUILTIN_MODELS[key]


# config key -> accepted aliases, in order of preference.
_ALIASES = {
    "hidden_size": ("hidden_size", "n_embd", "d_model", "dim"),
    "intermediate_size": ("intermediate_size", "n_inner", "d_ff", "ffn_dim", "hidden_dim"),
    "num_hidden_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "num_attention_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
}


def _config_int(where: str, data: dict, key: str) -> int:
    for alias in _ALIASES.get(key, (key,)):
        if alias in data and data[alias] is not None:
            value = data[alias]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgument(f"{where}: {alias} must be a positive integer, got {value!r}")
            return value
    others = [a for a in _ALIASES.get(key, ()) if a != key]
    also = f" (or {', '.join(others)})" if others else ""
    raise InvalidArgument(f"{where} lacks the key {key!r}{also}")


def from_config_dict(data, name: str = "config.json", where: Optional[str] = None) -> ModelShapes:
    """Shapes from the parsed contents of a Hugging Face ``config.json``.

    Needed keys: ``hidden_size``, ``intermediate_size``, ``num_hidden_layers``,
    ``num_attention_heads`` (or the aliases ``n_embd``/``d_model``/``dim``, ``n_inner``/``d_ff``/
    ``ffn_dim``, ``n_layer``/``num_layers``, ``n_head``/``num_heads``). Optional:
    ``num_key_value_heads`` (GQA), ``head_dim``, ``model_type``. A GPT-2 style
    ``n_inner: null`` means ``4 * hidden``.

    Examples
    --------
    >>> s = from_config_dict({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
    ...                       "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8})
    >>> s.head_dim, s.num_key_value_heads
    (128, 8)
    >>> from_config_dict({"hidden_size": 768})
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --config 'config.json' lacks the key 'intermediate_size' (or n_inner, d_ff, ffn_dim, hidden_dim)
    """
    where = where or f"--config {name!r}"
    if not isinstance(data, dict):
        raise InvalidArgument(f"{where} must hold a JSON object, got {type(data).__name__}")
    hidden = _config_int(where, data, "hidden_size")
    if "n_inner" in data and data["n_inner"] is None and "intermediate_size" not in data:
        inter = 4 * hidden  # GPT-2: n_inner = None means 4 * n_embd
    else:
        inter = _config_int(where, data, "intermediate_size")
    layers = _config_int(where, data, "num_hidden_layers")
    heads = _config_int(where, data, "num_attention_heads")
    kv = _config_int(where, data, "num_key_value_heads") if data.get("num_key_value_heads") is not None else heads
    if data.get("head_dim") is not None:
        head_dim = _config_int(where, data, "head_dim")
    elif hidden % heads:
        raise InvalidArgument(
            f"{where}: hidden size {hidden} is not a multiple of num_attention_heads {heads} "
            "and there is no head_dim")
    else:
        head_dim = hidden // heads
    if heads % kv:
        raise InvalidArgument(
            f"{where}: num_key_value_heads must divide num_attention_heads {heads}, got {kv}")
    model_type = data.get("model_type")
    if model_type is not None and not isinstance(model_type, str):
        raise InvalidArgument(f"{where}: model_type must be a string, got {model_type!r}")
    return ModelShapes(name, model_type, hidden, inter, layers, heads, kv, head_dim, source="config")


def from_config(path) -> ModelShapes:
    """Shapes from a Hugging Face ``config.json`` on disk, read as plain JSON.

    Raises
    ------
    InvalidArgument
        If the file is missing or unreadable, is not JSON, or lacks a needed key (named).

    Examples
    --------
    >>> from_config("/no/such/config.json")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: --config file not found, got '/no/such/config.json'
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InvalidArgument(f"--config file not found, got {path!r}")
    if os.path.isdir(path):
        raise InvalidArgument(f"--config must be a file, got the directory {path!r}")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as error:
        raise InvalidArgument(f"--config cannot be read ({error.strerror}), got {path!r}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        reason = f"line {error.lineno}: {error.msg}" if isinstance(error, json.JSONDecodeError) else "not UTF-8"
        raise InvalidArgument(f"--config is not valid JSON ({reason}), got {path!r}") from None
    return from_config_dict(data, name=path)


def dims_matrix(m, n) -> MatrixKind:
    """A bare ``m x n`` matrix (``--m --n``), checked.

    >>> dims_matrix(768, 768)
    MatrixKind(kind='matrix', out_features=768, in_features=768, module=None, pattern=None, layer_suffix=None, example_names=())
    """
    return MatrixKind("matrix", require_positive_int("--m", m), require_positive_int("--n", n))
