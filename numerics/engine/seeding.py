"""Deterministic per-trial seeds.

Every random object of the capacity engine (an instance, a solver's start point) is drawn from
its own ``torch.Generator`` seeded by :func:`trial_seed`. A seed is a function of the global
seed and a key that names the object (estimand or role, sizes, trial index, restart), never of
the batch a trial happens to sit in or of the process that runs it. So a trial gives the same
result alone, in a batch of 1000, or on another rank of a distributed run.

The key is written in a canonical text form (integers, strings, ``None``, booleans and floats
only; NumPy or torch integers are read as Python integers) and hashed with BLAKE2b; the first
eight bytes, with the top bit cleared, are the seed.

>>> trial_seed(0, "instance", "gaussian", 8, 8, 30, None, 0)
560711639236213731
>>> trial_seed(0, "instance", 8) == trial_seed(0, "instance", 8)
True
>>> trial_seed(0, "instance", 8) == trial_seed(1, "instance", 8)
False
"""

from __future__ import annotations

import hashlib
import math
import numbers

from proofs.validation import InvalidArgument

__all__ = ["trial_seed", "SEED_BITS"]

#: Seeds are non-negative and fit in 63 bits (``torch.Generator.manual_seed`` takes them as is).
SEED_BITS = 63


def _canonical(part, name: str) -> str:
    """The canonical text of one key component."""
    if part is None or isinstance(part, bool):
        return repr(part)
    if isinstance(part, numbers.Integral):
        return repr(int(part))
    if isinstance(part, str):
        return repr(part)
    if isinstance(part, numbers.Real):
        value = float(part)
        if not math.isfinite(value):
            raise InvalidArgument(f"{name} must be finite, got {part!r}")
        return repr(value)
    raise InvalidArgument(
        f"{name} must be an int, str, float, bool or None, got {part!r} of type {type(part).__name__}"
    )


def trial_seed(global_seed: int, *key) -> int:
    """A deterministic 63-bit seed from ``global_seed`` and a key tuple.

    Parameters
    ----------
    global_seed : int
        The run's seed, a non-negative integer.
    *key
        Components naming the random object, e.g. ``("lm-start", m, n, r, M, trial, restart)``.
        Each is an ``int``, ``str``, ``float``, ``bool`` or ``None``.

    Returns
    -------
    int
        A seed in ``[0, 2**63)``.

    Raises
    ------
    InvalidArgument
        If ``global_seed`` is not a non-negative integer or a key component has another type.

    Examples
    --------
    >>> s = trial_seed(2026, "E1", 64, 64, 2, 187, 5, 0)
    >>> 0 <= s < 2**63
    True
    >>> import numpy as np
    >>> s == trial_seed(2026, "E1", np.int64(64), 64, 2, 187, 5, 0)
    True
    >>> trial_seed(-1, "E1")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: global_seed must be a non-negative integer, got -1
    """
    if (
        isinstance(global_seed, bool)
        or not isinstance(global_seed, numbers.Integral)
        or global_seed < 0
    ):
        raise InvalidArgument(f"global_seed must be a non-negative integer, got {global_seed!r}")
    parts = [repr(int(global_seed))]
    parts += [_canonical(part, f"key[{i}]") for i, part in enumerate(key)]
    text = "(" + ", ".join(parts) + ")"
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << SEED_BITS) - 1)
