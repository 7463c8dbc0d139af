"""A LoRA layer whose rank is learned (seed 004, THEORY.md section 5; SoRA's gated form).

:class:`GatedLoRALinear` wraps any ``nn.Linear``: its update is ``Delta = s B diag(g) A`` (SoRA's
gated form; ``s = lora_alpha / r`` fixed when the layer is made), with

- a proximal L1 step on the gate ``g`` (:meth:`GatedLoRALinear.prox_step`: soft-thresholding
  ``g <- sign(g) max(|g| - tau, 0)`` after each optimiser step, ``tau = step * lambda``);
- a count of consecutive steps each component has spent at ``g_j = 0``, and
  :meth:`GatedLoRALinear.prune`, which removes the components dead for ``patience`` steps or
  more (the shapes of ``A``, ``B``, ``g`` shrink; a dead component contributes exactly zero, so
  the function is unchanged: exactly in exact arithmetic, and in floating point up to the
  summation order of a matrix product of the new inner size);
- :attr:`GatedLoRALinear.learned_rank`, the number of live components (``g_j != 0``).

:func:`wrap_linear_layers` puts the gated layer in place of chosen ``nn.Linear`` layers of any
``nn.Module``; :func:`learned_rank_report` lists the learned rank per layer; :func:`prox_all` and
:func:`prune_all` apply the steps to every gated layer of a model.

Examples
--------
>>> import torch
>>> torch.manual_seed(0) and None
>>> layer = GatedLoRALinear(torch.nn.Linear(4, 3, dtype=torch.float64), r=3)
>>> layer.learned_rank, tuple(layer.lora_A.shape)
(3, (3, 4))
>>> with torch.no_grad():
...     _ = layer.gate.copy_(torch.tensor([0.5, -0.05, 0.0]))
>>> layer.prox_step(0.1)
2
>>> layer.gate.tolist(), layer.learned_rank
([0.4, -0.0, 0.0], 1)
>>> layer.prune(patience=1), tuple(layer.lora_B.shape)
(2, (3, 1))
"""

from __future__ import annotations

import math

import torch

__all__ = ["GatedLoRALinear", "wrap_linear_layers", "gated_layers", "learned_rank_report",
           "prox_all", "prune_all", "soft_threshold"]


def soft_threshold(g, tau: float):
    """``sign(g) max(|g| - tau, 0)``, the proximal map of ``tau ||g||_1``.

    >>> import torch
    >>> soft_threshold(torch.tensor([1.5, -0.2, 0.3, -2.0]), 0.5).tolist()
    [1.0, -0.0, 0.0, -1.5]
    """
    import torch

    return torch.sign(g) * torch.clamp(g.abs() - tau, min=0.0)


class GatedLoRALinear(torch.nn.Module):
    """``base(x) + s ((x A^T) * g) B^T``: a frozen ``nn.Linear`` plus the gated update
    ``Delta = s B diag(g) A`` (``A`` r x in, ``B`` out x r, ``g`` r), ``s = lora_alpha / r``.

    Parameters
    ----------
    base : torch.nn.Linear
        The layer to adapt; its parameters are frozen (``requires_grad = False``).
    r : int
        The initial rank (number of gated components), at least 1.
    lora_alpha : float
        ``s = lora_alpha / r`` (PEFT's name); kept when components are pruned.
    gate_init : float
        The initial value of every gate.
    generator : torch.Generator, optional
        For the Gaussian start of ``A`` (entries ``N(0, 1/in_features)``); ``B`` starts at 0.

    Raises
    ------
    ValueError
        If ``base`` is not an ``nn.Linear`` or ``r`` is not a positive integer.

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Linear(3, 2)
    >>> layer = GatedLoRALinear(lin, r=2)
    >>> x = torch.randn(5, 3)
    >>> torch.equal(layer(x), lin(x))   # B = 0: the start is the base layer
    True
    >>> GatedLoRALinear(torch.nn.Conv1d(1, 1, 1), r=1)
    Traceback (most recent call last):
    ...
    ValueError: base must be a torch.nn.Linear, got Conv1d
    """

    def __init__(self, base, r: int, lora_alpha: float = 1.0, gate_init: float = 1.0,
                 generator=None):
        import torch

        super().__init__()
        if not isinstance(base, torch.nn.Linear):
            raise ValueError(f"base must be a torch.nn.Linear, got {type(base).__name__}")
        if not isinstance(r, int) or isinstance(r, bool) or r < 1:
            raise ValueError(f"r must be a positive integer, got {r!r}")
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        w = base.weight
        self.in_features, self.out_features = base.in_features, base.out_features
        self.initial_rank = r
        self.scaling = float(lora_alpha) / r
        A = torch.randn(r, self.in_features, generator=generator, dtype=w.dtype) / math.sqrt(self.in_features)
        self.lora_A = torch.nn.Parameter(A.to(w.device))
        self.lora_B = torch.nn.Parameter(torch.zeros(self.out_features, r, dtype=w.dtype, device=w.device))
        self.gate = torch.nn.Parameter(torch.full((r,), float(gate_init), dtype=w.dtype, device=w.device))
        self.register_buffer("dead_steps", torch.zeros(r, dtype=torch.long, device=w.device))

    def forward(self, x):
        return self.base(x) + self.scaling * ((x @ self.lora_A.T) * self.gate) @ self.lora_B.T

    def delta_weight(self):
        """``Delta = s B diag(g) A`` (``out x in``, as ``nn.Linear`` stores its weight)."""
        return self.scaling * (self.lora_B * self.gate) @ self.lora_A

    @property
    def learned_rank(self) -> int:
        """The number of live components (``g_j != 0``)."""
        return int((self.gate != 0).sum())

    def prox_step(self, tau: float) -> int:
        """Soft-threshold the gate by ``tau`` (the proximal step of ``tau ||g||_1``), update each
        component's count of consecutive steps at ``g_j = 0``, and return how many are at 0."""
        import torch

        if not tau >= 0:
            raise ValueError(f"tau must be non-negative, got {tau!r}")
        with torch.no_grad():
            self.gate.copy_(soft_threshold(self.gate, tau))
            zero = self.gate == 0
            self.dead_steps.copy_(torch.where(zero, self.dead_steps + 1, torch.zeros_like(self.dead_steps)))
        return int(zero.sum())

    def prune(self, patience: int = 1) -> int:
        """Remove the components whose gate has been 0 for at least ``patience`` consecutive prox
        steps; return how many were removed. ``A``, ``B``, ``g`` become new, smaller parameters
        (rebuild the optimiser); the layer's function is unchanged, since a removed component had
        ``g_j = 0``."""
        import torch

        if not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be a positive integer, got {patience!r}")
        keep = (self.dead_steps < patience) | (self.gate != 0)
        removed = int((~keep).sum())
        if removed:
            with torch.no_grad():
                self.lora_A = torch.nn.Parameter(self.lora_A[keep].clone())
                self.lora_B = torch.nn.Parameter(self.lora_B[:, keep].clone())
                self.gate = torch.nn.Parameter(self.gate[keep].clone())
                self.dead_steps = self.dead_steps[keep].clone()
        return removed

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"initial_rank={self.initial_rank}, live={self.learned_rank}, scaling={self.scaling:g}")


def wrap_linear_layers(model, names=None, r: int = 8, lora_alpha: float = 1.0,
                       gate_init: float = 1.0, generator=None) -> dict:
    """Replace ``nn.Linear`` submodules of ``model`` by :class:`GatedLoRALinear` in place: the
    ones named in ``names`` (dotted names as ``model.named_modules()`` gives them), or every
    ``nn.Linear`` when ``names`` is None. Returns ``{name: gated layer}``.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2))
    >>> sorted(wrap_linear_layers(net, names=["2"], r=2))
    ['2']
    >>> type(net[2]).__name__, type(net[0]).__name__
    ('GatedLoRALinear', 'Linear')
    >>> wrap_linear_layers(net, names=["1"])
    Traceback (most recent call last):
    ...
    ValueError: module '1' is ReLU, not torch.nn.Linear
    """
    import torch

    found = dict(model.named_modules())
    if names is None:
        names = [k for k, v in found.items() if isinstance(v, torch.nn.Linear) and k]
    out = {}
    for name in names:
        if name not in found:
            raise ValueError(f"model has no module {name!r}")
        mod = found[name]
        if not isinstance(mod, torch.nn.Linear):
            raise ValueError(f"module {name!r} is {type(mod).__name__}, not torch.nn.Linear")
        parent_name, _, child = name.rpartition(".")
        parent = found[parent_name] if parent_name else model
        layer = GatedLoRALinear(mod, r=r, lora_alpha=lora_alpha, gate_init=gate_init,
                                generator=generator)
        setattr(parent, child, layer)
        out[name] = layer
    return out


def gated_layers(model) -> dict:
    """``{name: layer}`` of every :class:`GatedLoRALinear` in ``model``."""
    return {k: v for k, v in model.named_modules() if isinstance(v, GatedLoRALinear)}


def learned_rank_report(model) -> list[dict]:
    """One row per gated layer: name, shape, initial and learned rank.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Linear(6, 2))
    >>> _ = wrap_linear_layers(net, r=3)
    >>> [(row["layer"], row["learned_rank"]) for row in learned_rank_report(net)]
    [('0', 3), ('1', 3)]
    """
    return [{"layer": k, "out_features": v.out_features, "in_features": v.in_features,
             "initial_rank": v.initial_rank, "components": int(v.gate.numel()),
             "learned_rank": v.learned_rank} for k, v in gated_layers(model).items()]


def prox_all(model, tau: float) -> int:
    """:meth:`GatedLoRALinear.prox_step` on every gated layer; the number of zero gates."""
    return sum(layer.prox_step(tau) for layer in gated_layers(model).values())


def prune_all(model, patience: int = 1) -> int:
    """:meth:`GatedLoRALinear.prune` on every gated layer; the number removed."""
    return sum(layer.prune(patience) for layer in gated_layers(model).values())


