"""Seed 002 by measurement: gradient descent against the LoRA gradient flow, its conserved
quantity, the trace-squared loss and the Eckart-Young-Mirsky limit (THEORY.md section 3).

The exact side is :mod:`proofs.gradient_flow` (flow equations, ``B^T B - A A^T`` conserved, the
sequential/simultaneous step gap, the trace and spectral flows, the power-law tails); this module
measures what the proofs leave to numbers, in float64, batched over trials in torch (CPU or CUDA).

The flow and the steps (one solver loop each, shared by the three parts)
------------------------------------------------------------------------
For ``f(W0 + B A)`` with gradient ``G``: the flow ``B' = -G A^T``, ``A' = -B^T G``
(:func:`velocity`) is solved by the classical fourth-order Runge-Kutta method with a fixed step
(:func:`rk4`); its error is estimated by solving again with half the step (the reference is the
half-step solution, the estimate the difference of the two: RK4's error at the half step is
about 1/15 of it). Gradient descent (:func:`gd`) takes ``T / eta`` steps of size ``eta`` either
*simultaneously* (``B, A <- B - eta G A^T, A - eta B^T G`` with one ``G``) or *sequentially*
(``A`` first, then ``B`` with the new ``A`` and the gradient at the new ``W``).

Part ``steps`` (cell ``(1, m, n, r)``)
    The NTK-linearised squared loss ``f(W) = 1/(2M) sum_i (<G_i, W> - y_i)^2`` with ``G_i``
    entries iid ``N(0, 1/n)``, ``y_i`` iid ``N(0, 1)``, ``W0`` entries iid ``N(0, 1/(m n))``,
    the LoRA start ``B0 = 0``, ``A0`` entries iid ``N(0, 1/n)``. At each ``eta``: the relative
    error ``||theta_GD(T) - theta(T)|| / ||theta(T)||`` (``theta = (B, A)``) of both schemes,
    their difference, and the drift ``||C(T) - C(0)|| / ||C(0)||`` of ``C = B^T B - A A^T``;
    the flow's own drift; the reference's error estimate.
Part ``trace`` (cell ``(2, n, n, r)``)
    ``f(W) = 1/2 (tr W - t)^2``, ``W0`` entries iid ``N(0, 1/n)``, ``t = tr W0 - sqrt(n) z``,
    the LoRA start. The flow from 0 to ``T``: the loss at ``T / 10, 2T / 10, ...``, the bound
    ``L(0) exp(-2 ||A0||_F^2 t)`` of ``GF.balanced-decay`` at the same times, and the share of
    the traceless part ``||D - tr(D)/n I|| / ||D||`` of the LoRA update ``D = B A`` and of the
    full-parameter update (the flow ``W' = -c I`` solved by the same RK4).
Part ``eym`` (cell ``(3, alpha index + 1, r, n)``)
    ``Y = U diag(s) V^T``, ``s_j = j^-alpha`` (``j = 1..n``), ``U, V`` Haar orthogonal; the loss
    ``f(W) = 1/2 ||W - Y||_F^2`` with ``W0 = 0`` and the spectral start ``B0 = 0``,
    ``A0 = a0 V_r^T``. The flow to ``T``: the relative error ``||Y - B A|| / ||Y||``, the
    distance ``||B A - Y_r|| / ||Y||`` to the Eckart-Young-Mirsky truncation ``Y_r``, the
    truncation's own relative error from ``s`` (float64) and the relative gradient norm at ``T``.

Every trial also checks the flow equations numerically at its size: torch autograd of
``f(W0 + B A)`` at a random ``(B, A)`` against ``(G A^T, B^T G)`` (largest entry difference over
the largest entry).

Examples
--------
>>> cfg = FlowConfig(m=4, n=3, rank=2, examples=6, horizon=0.4, etas=(0.1, 0.05), ref_step=0.01,
...                  trials=2, trace_n=3, trace_rank=1, trace_horizon=1.0, trace_step=0.05,
...                  ey_n=6, ey_ranks=(1, 2), alphas=(1.0,), ey_horizon=2.0, ey_step=0.1)
>>> out = steps_trials(cfg, [0, 1])
>>> [len(o["error_sim"]) for o in out], all(o["autograd_rel"] < 1e-12 for o in out)
([2, 2], True)
>>> all(o["error_sim"][1] < o["error_sim"][0] for o in out)
True
"""

from __future__ import annotations

import abc
import math
from dataclasses import asdict, dataclass

from numerics.engine.seeding import trial_seed
from numerics.estimation.estimate import mean_t_interval

__all__ = ["FlowConfig", "SUMMARY_FORMAT", "RESOLVED_FLOOR", "velocity", "rk4", "gd", "balance",
           "regression_loss", "trace_loss", "frobenius_loss", "autograd_check", "steps_trials",
           "trace_trials", "eym_trials", "summarise", "fit_slope", "mean_interval",
           "save_figures"]

SUMMARY_FORMAT = "lorank.gradient-flow-summary/1"
#: Checkpoints of the trace loss along the horizon.
TRACE_CHECKPOINTS = 10
#: The trace loss is compared with its bound only where the bound is at least this fraction of
#: L(0): float64 rounds c = tr W - t to about 1e-16 of its scale, so L cannot be resolved below
#: about 1e-32 L(0), and a bound far below that says nothing about the computed loss.
RESOLVED_FLOOR = 1e-20


@dataclass(frozen=True)
class FlowConfig:
    """Everything that determines the trials (module docstring), and the analysis."""

    m: int = 12
    n: int = 10
    rank: int = 3
    examples: int = 40
    horizon: float = 2.0
    etas: tuple = (0.1, 0.05, 0.025, 0.0125, 0.00625)
    ref_step: float = 0.005
    trials: int = 20
    trace_n: int = 8
    trace_rank: int = 2
    trace_horizon: float = 10.0
    trace_step: float = 0.01
    ey_n: int = 96
    ey_ranks: tuple = (1, 2, 4, 8, 16)
    alphas: tuple = (0.75, 1.0, 1.5)
    ey_horizon: float = 30.0
    ey_step: float = 0.05
    spectral_scale: float = 1.0
    ey_trials: int = 2
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"
    slope_margin: float = 0.1
    confidence: float = 0.95

    def spec(self) -> dict:
        d = asdict(self)
        d.pop("slope_margin")
        d.pop("confidence")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _steps(horizon: float, step: float) -> int:
    return int(round(horizon / step))


# ------------------------------------------------------------------------------ losses

class _Loss(abc.ABC):
    """A batched loss ``f(W)`` (leading batch dimension) with its gradient; a loss that lacks
    either cannot be made (abstract methods).

    >>> _Loss()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: Can't instantiate abstract class _Loss...
    """

    @abc.abstractmethod
    def value(self, W):
        """``f(W)`` per batch element."""

    @abc.abstractmethod
    def grad(self, W):
        """``grad f(W)`` per batch element."""


class regression_loss(_Loss):
    """``f(W) = 1/(2M) sum_i (<G_i, W> - y_i)^2`` for features ``G`` (``S x M x m x n``) and
    targets ``y`` (``S x M``).

    >>> import torch
    >>> f = regression_loss(torch.ones(1, 2, 1, 1), torch.tensor([[1.0, 3.0]]))
    >>> f.value(torch.zeros(1, 1, 1)).item(), f.grad(torch.zeros(1, 1, 1)).item()
    (2.5, -2.0)
    """

    def __init__(self, G, y):
        self.G, self.y = G, y

    def residual(self, W):
        import torch

        return torch.einsum("smij,sij->sm", self.G, W) - self.y

    def value(self, W):
        return 0.5 * (self.residual(W) ** 2).mean(-1)

    def grad(self, W):
        import torch

        return torch.einsum("sm,smij->sij", self.residual(W), self.G) / self.G.shape[1]


class trace_loss(_Loss):
    """``f(W) = 1/2 (tr W - t)^2`` for square ``W`` and targets ``t`` (``S``); ``grad = c I``.

    >>> import torch
    >>> f = trace_loss(torch.tensor([1.0]))
    >>> f.grad(torch.eye(2)[None]).tolist()
    [[[1.0, 0.0], [0.0, 1.0]]]
    """

    def __init__(self, t):
        self.t = t

    def gap(self, W):
        return W.diagonal(dim1=-2, dim2=-1).sum(-1) - self.t

    def value(self, W):
        return 0.5 * self.gap(W) ** 2

    def grad(self, W):
        import torch

        eye = torch.eye(W.shape[-1], dtype=W.dtype, device=W.device)
        return self.gap(W)[:, None, None] * eye


class frobenius_loss(_Loss):
    """``f(W) = 1/2 ||W - Y||_F^2``; ``grad = W - Y``.

    >>> import torch
    >>> frobenius_loss(torch.ones(1, 2, 2)).value(torch.zeros(1, 2, 2)).item()
    2.0
    """

    def __init__(self, Y):
        self.Y = Y

    def value(self, W):
        return 0.5 * ((W - self.Y) ** 2).sum((-1, -2))

    def grad(self, W):
        return W - self.Y


# ------------------------------------------------------------------------------ solvers

def velocity(loss, W0, B, A):
    """The gradient flow ``(-G A^T, -B^T G)`` at ``W = W0 + B A`` (GF.flow-equations).

    >>> import torch
    >>> dB, dA = velocity(frobenius_loss(torch.ones(1, 1, 1)), torch.zeros(1, 1, 1),
    ...                   torch.ones(1, 1, 1), torch.full((1, 1, 1), 2.0))
    >>> dB.item(), dA.item()
    (-2.0, -1.0)
    """
    G = loss.grad(W0 + B @ A)
    return -(G @ A.transpose(-1, -2)), -(B.transpose(-1, -2) @ G)


def rk4(field, state, step: float, steps: int, every: int = 0):
    """``steps`` classical Runge-Kutta steps of size ``step`` for ``state' = field(state)``
    (``state`` a tuple of tensors); with ``every > 0`` also the states after every ``every``
    steps. Returns ``(state, checkpoints)``.

    >>> import torch
    >>> (x,), _ = rk4(lambda s: (-s[0],), (torch.ones(1),), 0.1, 10)
    >>> abs(x.item() - math.exp(-1)) < 1e-6
    True
    """
    marks = []
    for k in range(1, steps + 1):
        k1 = field(state)
        k2 = field(tuple(s + 0.5 * step * d for s, d in zip(state, k1)))
        k3 = field(tuple(s + 0.5 * step * d for s, d in zip(state, k2)))
        k4 = field(tuple(s + step * d for s, d in zip(state, k3)))
        state = tuple(s + step / 6 * (a + 2 * b + 2 * c + d)
                      for s, a, b, c, d in zip(state, k1, k2, k3, k4))
        if every and k % every == 0:
            marks.append(state)
    return state, marks


def gd(loss, W0, B, A, eta: float, steps: int, scheme: str):
    """``steps`` gradient steps of size ``eta``: ``"simultaneous"`` (one gradient for both
    factors) or ``"sequential"`` (``A`` first, then ``B`` with the new ``A``).

    >>> import torch
    >>> f = frobenius_loss(torch.ones(1, 1, 1))
    >>> B, A = gd(f, torch.zeros(1, 1, 1), torch.zeros(1, 1, 1), torch.ones(1, 1, 1), 0.5, 1,
    ...           "sequential")
    >>> B.item(), A.item()
    (0.5, 1.0)
    """
    for _ in range(steps):
        if scheme == "simultaneous":
            dB, dA = velocity(loss, W0, B, A)
            B, A = B + eta * dB, A + eta * dA
        elif scheme == "sequential":
            A = A - eta * (B.transpose(-1, -2) @ loss.grad(W0 + B @ A))
            B = B - eta * (loss.grad(W0 + B @ A) @ A.transpose(-1, -2))
        else:
            raise ValueError(f"scheme must be 'simultaneous' or 'sequential', got {scheme!r}")
    return B, A


def balance(B, A):
    """``C = B^T B - A A^T`` (GF.balancedness), batched.

    >>> import torch
    >>> balance(torch.ones(1, 2, 1), torch.ones(1, 1, 3)).item()
    -1.0
    """
    return B.transpose(-1, -2) @ B - A @ A.transpose(-1, -2)


def _norm(X):
    return X.flatten(1).norm(dim=1)


def autograd_check(loss, W0, B, A) -> list:
    """Per batch entry: ``max |autograd - formula| / max |autograd|`` over the entries of the
    gradient of ``f(W0 + B A)`` in ``(B, A)``, the formula being ``(G A^T, B^T G)``.

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> f = frobenius_loss(torch.randn(2, 5, 4, generator=g, dtype=torch.float64))
    >>> B = torch.randn(2, 5, 2, generator=g, dtype=torch.float64)
    >>> A = torch.randn(2, 2, 4, generator=g, dtype=torch.float64)
    >>> max(autograd_check(f, torch.zeros(2, 5, 4, dtype=torch.float64), B, A)) < 1e-14
    True
    """
    import torch

    Bg, Ag = B.detach().clone().requires_grad_(True), A.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        total = loss.value(W0 + Bg @ Ag).sum()
        gB, gA = torch.autograd.grad(total, (Bg, Ag))
    dB, dA = velocity(loss, W0, B, A)
    diff = torch.maximum(_norm_inf(gB + dB), _norm_inf(gA + dA))
    scale = torch.maximum(_norm_inf(gB), _norm_inf(gA)).clamp_min(1e-300)
    return (diff / scale).tolist()


def _norm_inf(X):
    return X.flatten(1).abs().amax(dim=1)


# ------------------------------------------------------------------------------ trials

def _generator(seed: int):
    import torch

    g = torch.Generator(device="cpu")
    g.manual_seed(int(seed))
    return g


def _to(cfg, *tensors):
    import torch

    dev, dt = torch.device(cfg.device), getattr(torch, cfg.dtype)
    return tuple(x.to(dev, dt) for x in tensors)


def _stack(rows):
    import torch

    return tuple(torch.stack(col) for col in zip(*rows))


def _steps_instance(cfg: FlowConfig, trial: int):
    import torch

    g = _generator(trial_seed(cfg.seed, "gradient-flow-steps", cfg.m, cfg.n, cfg.rank,
                              cfg.examples, trial))
    d = torch.float64
    m, n, r, M = cfg.m, cfg.n, cfg.rank, cfg.examples
    G = torch.randn(M, m, n, generator=g, dtype=d) / math.sqrt(n)
    y = torch.randn(M, generator=g, dtype=d)
    W0 = torch.randn(m, n, generator=g, dtype=d) / math.sqrt(m * n)
    B0 = torch.zeros(m, r, dtype=d)
    A0 = torch.randn(r, n, generator=g, dtype=d) / math.sqrt(n)
    Bc = torch.randn(m, r, generator=g, dtype=d) / math.sqrt(m)
    Ac = torch.randn(r, n, generator=g, dtype=d) / math.sqrt(n)
    return G, y, W0, B0, A0, Bc, Ac


def steps_trials(cfg: FlowConfig, trial_indices) -> list[dict]:
    """Outcomes of part ``steps`` (module docstring), one per trial index, batched.

    Each trial's instance comes from its own generator (:func:`trial_seed` of the global seed,
    the sizes and the index), so an outcome does not depend on the batch it runs in (up to the
    last bits of batched matrix products; see :mod:`numerics.experiments.gradient_flow`)."""
    import torch

    trials = list(trial_indices)
    G, y, W0, B0, A0, Bc, Ac = _to(cfg, *_stack([_steps_instance(cfg, t) for t in trials]))
    loss = regression_loss(G, y)
    field = lambda s: velocity(loss, W0, *s)  # noqa: E731
    T = cfg.horizon
    (Bh, Ah), _ = rk4(field, (B0, A0), cfg.ref_step, _steps(T, cfg.ref_step))
    (Br, Ar), _ = rk4(field, (B0, A0), cfg.ref_step / 2, 2 * _steps(T, cfg.ref_step))
    scale = torch.sqrt(_norm(Br) ** 2 + _norm(Ar) ** 2)
    C0 = balance(B0, A0)
    c0 = _norm(C0)

    def error(B, A):
        return torch.sqrt(_norm(B - Br) ** 2 + _norm(A - Ar) ** 2) / scale

    rows = {"error_sim": [], "error_seq": [], "gap_sim_seq": [], "drift_sim": [], "drift_seq": []}
    for eta in cfg.etas:
        k = _steps(T, eta)
        Bs, As = gd(loss, W0, B0, A0, eta, k, "simultaneous")
        Bq, Aq = gd(loss, W0, B0, A0, eta, k, "sequential")
        rows["error_sim"].append(error(Bs, As))
        rows["error_seq"].append(error(Bq, Aq))
        rows["gap_sim_seq"].append(torch.sqrt(_norm(Bs - Bq) ** 2 + _norm(As - Aq) ** 2) / scale)
        rows["drift_sim"].append(_norm(balance(Bs, As) - C0) / c0)
        rows["drift_seq"].append(_norm(balance(Bq, Aq) - C0) / c0)
    ref_error = torch.sqrt(_norm(Bh - Br) ** 2 + _norm(Ah - Ar) ** 2) / scale
    flow_drift = _norm(balance(Br, Ar) - C0) / c0
    loss0, lossT = loss.value(W0 + B0 @ A0), loss.value(W0 + Br @ Ar)
    check = autograd_check(loss, W0, Bc, Ac)
    out = []
    for i, t in enumerate(trials):
        row = {"trial": int(t)}
        for key, values in rows.items():
            row[key] = [float(v[i]) for v in values]
        row.update(ref_error=float(ref_error[i]), flow_drift=float(flow_drift[i]),
                   loss_start=float(loss0[i]), loss_end=float(lossT[i]),
                   autograd_rel=float(check[i]))
        out.append(row)
    return out


def _trace_instance(cfg: FlowConfig, trial: int):
    import torch

    n, r = cfg.trace_n, cfg.trace_rank
    g = _generator(trial_seed(cfg.seed, "gradient-flow-trace", n, r, trial))
    d = torch.float64
    W0 = torch.randn(n, n, generator=g, dtype=d) / math.sqrt(n)
    t = W0.trace() - math.sqrt(n) * torch.randn((), generator=g, dtype=d)
    A0 = torch.randn(r, n, generator=g, dtype=d) / math.sqrt(n)
    Bc = torch.randn(n, r, generator=g, dtype=d) / math.sqrt(n)
    Ac = torch.randn(r, n, generator=g, dtype=d) / math.sqrt(n)
    return W0, t, torch.zeros(n, r, dtype=d), A0, Bc, Ac


def _traceless_share(D):
    import torch

    n = D.shape[-1]
    eye = torch.eye(n, dtype=D.dtype, device=D.device)
    part = D - (D.diagonal(dim1=-2, dim2=-1).sum(-1) / n)[:, None, None] * eye
    return _norm(part) / _norm(D).clamp_min(1e-300)


def trace_trials(cfg: FlowConfig, trial_indices) -> list[dict]:
    """Outcomes of part ``trace`` (module docstring), one per trial index, batched."""
    import torch

    trials = list(trial_indices)
    W0, t, B0, A0, Bc, Ac = _to(cfg, *_stack([_trace_instance(cfg, i) for i in trials]))
    loss = trace_loss(t)
    steps = _steps(cfg.trace_horizon, cfg.trace_step)
    every = steps // TRACE_CHECKPOINTS
    (BT, AT), marks = rk4(lambda s: velocity(loss, W0, *s), (B0, A0), cfg.trace_step, steps, every)
    (WT,), _ = rk4(lambda s: (-loss.grad(s[0]),), (W0,), cfg.trace_step, steps)
    L0 = loss.value(W0 + B0 @ A0)
    k0 = _norm(A0) ** 2 - _norm(B0) ** 2
    times = [every * (j + 1) * cfg.trace_step for j in range(len(marks))]
    losses = [loss.value(W0 + Bm @ Am) for Bm, Am in marks]
    gT = loss.grad(W0 + BT @ AT)
    grad_T = torch.sqrt(_norm(gT @ AT.transpose(-1, -2)) ** 2 + _norm(BT.transpose(-1, -2) @ gT) ** 2)
    lora_share = _traceless_share(BT @ AT)
    full_share = _traceless_share(WT - W0)
    check = autograd_check(loss, W0, Bc, Ac)
    out = []
    for i, tr in enumerate(trials):
        bound = [float(L0[i]) * math.exp(-2 * float(k0[i]) * s) for s in times]
        out.append({"trial": int(tr), "loss_start": float(L0[i]), "k0": float(k0[i]),
                    "times": times, "loss": [float(L[i]) for L in losses], "bound": bound,
                    "grad_end": float(grad_T[i]), "traceless_lora": float(lora_share[i]),
                    "traceless_full": float(full_share[i]),
                    "update_norm": float(_norm(BT @ AT)[i]), "autograd_rel": float(check[i])})
    return out


def _haar(n: int, g):
    import torch

    Z = torch.randn(n, n, generator=g, dtype=torch.float64)
    Qm, R = torch.linalg.qr(Z)
    return Qm * torch.sign(torch.diagonal(R))


def _eym_instance(cfg: FlowConfig, alpha: float, r: int, trial: int):
    import torch

    n = cfg.ey_n
    g = _generator(trial_seed(cfg.seed, "gradient-flow-eym", n, float(alpha), trial))
    U, V = _haar(n, g), _haar(n, g)
    s = torch.arange(1, n + 1, dtype=torch.float64) ** (-float(alpha))
    Y = (U * s) @ V.T
    Yr = (U[:, :r] * s[:r]) @ V[:, :r].T
    A0 = cfg.spectral_scale * V[:, :r].T.clone()
    Bc = torch.randn(n, r, generator=g, dtype=torch.float64) / math.sqrt(n)
    Ac = torch.randn(r, n, generator=g, dtype=torch.float64) / math.sqrt(n)
    return Y, Yr, torch.zeros(n, r, dtype=torch.float64), A0, Bc, Ac, s


def eym_trials(cfg: FlowConfig, alpha_index: int, r: int, trial_indices) -> list[dict]:
    """Outcomes of part ``eym`` at ``alpha = cfg.alphas[alpha_index]`` and rank ``r`` (module
    docstring), one per trial index, batched. The instance (``U``, ``V``) does not depend on
    ``r``: every rank of a trial index sees the same matrix."""
    import torch

    trials = list(trial_indices)
    alpha = cfg.alphas[alpha_index]
    Y, Yr, B0, A0, Bc, Ac, s = _to(cfg, *_stack([_eym_instance(cfg, alpha, r, t) for t in trials]))
    loss = frobenius_loss(Y)
    W0 = torch.zeros_like(Y)
    (BT, AT), _ = rk4(lambda st: velocity(loss, W0, *st), (B0, A0), cfg.ey_step,
                      _steps(cfg.ey_horizon, cfg.ey_step))
    W = BT @ AT
    ynorm = _norm(Y)
    rel = _norm(Y - W) / ynorm
    dist = _norm(W - Yr) / ynorm
    exact = torch.sqrt((s[:, r:] ** 2).sum(-1) / (s ** 2).sum(-1))
    R = Y - W
    grad = torch.sqrt(_norm(R @ AT.transpose(-1, -2)) ** 2 + _norm(BT.transpose(-1, -2) @ R) ** 2)
    drift = _norm(balance(BT, AT) - balance(B0, A0)) / _norm(balance(B0, A0))
    check = autograd_check(loss, W0, Bc, Ac)
    return [{"trial": int(t), "rel_error": float(rel[i]), "distance": float(dist[i]),
             "eym_float64": float(exact[i]), "grad_rel": float(grad[i] / ynorm[i]),
             "flow_drift": float(drift[i]), "autograd_rel": float(check[i])}
            for i, t in enumerate(trials)]


# ------------------------------------------------------------------------------ summary
# (torch-free: numpy, scipy and mpmath)


def fit_slope(x, y) -> float:
    """Least-squares slope of ``log y`` against ``log x``.

    >>> round(fit_slope([1, 2, 4], [3, 6, 12]), 12)
    1.0
    """
    import numpy as np

    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])


#: The mean and its Student-t interval (:func:`numerics.estimation.estimate.mean_t_interval`).
mean_interval = mean_t_interval


def _quantiles(values) -> dict:
    import numpy as np

    x = np.asarray(values, float)
    return {k: float(np.quantile(x, q)) for k, q in (("min", 0.0), ("q50", 0.5), ("max", 1.0))}


def _steps_summary(cfg: FlowConfig, rows: list) -> dict:
    import numpy as np

    if not rows:
        return {"trials": 0}
    rows = sorted(rows, key=lambda x: x["trial"])
    out = {"trials": len(rows), "etas": list(cfg.etas), "horizon": cfg.horizon,
           "loss_ratio": _quantiles([x["loss_end"] / x["loss_start"] for x in rows])}
    for key in ("error_sim", "error_seq", "gap_sim_seq", "drift_sim", "drift_seq"):
        slopes = [fit_slope(cfg.etas, x[key]) for x in rows]
        per_eta = np.asarray([x[key] for x in rows], float)
        out[key] = {"slope": mean_interval(slopes, cfg.confidence),
                    "slope_range": [float(min(slopes)), float(max(slopes))],
                    "median_per_eta": [float(v) for v in np.median(per_eta, axis=0)]}
    smallest = min(min(x["error_sim"][-1], x["error_seq"][-1]) for x in rows)
    out["reference"] = {"error_max": float(max(x["ref_error"] for x in rows)),
                        "smallest_gd_error": float(smallest),
                        "ratio": float(max(x["ref_error"] for x in rows) / smallest)}
    out["flow_drift_max"] = float(max(x["flow_drift"] for x in rows))
    out["smallest_gd_drift"] = float(min(min(x["drift_sim"][-1], x["drift_seq"][-1]) for x in rows))
    out["autograd_rel_max"] = float(max(x["autograd_rel"] for x in rows))
    return out


def _trace_summary(cfg: FlowConfig, rows: list) -> dict:
    if not rows:
        return {"trials": 0}
    rows = sorted(rows, key=lambda x: x["trial"])
    ratio = [max((L / b for L, b in zip(x["loss"], x["bound"]) if b >= RESOLVED_FLOOR * x["loss_start"]),
                 default=0.0) for x in rows]
    resolved = [sum(b >= RESOLVED_FLOOR * x["loss_start"] for b in x["bound"]) for x in rows]
    return {"trials": len(rows), "times": rows[0]["times"],
            "loss_start": _quantiles([x["loss_start"] for x in rows]),
            "loss_end": _quantiles([x["loss"][-1] for x in rows]),
            "loss_ratio_end": _quantiles([x["loss"][-1] / x["loss_start"] for x in rows]),
            "k0": _quantiles([x["k0"] for x in rows]),
            "bound_ratio_max": float(max(ratio)),
            "bound_checkpoints_min": int(min(resolved)),
            "grad_end": _quantiles([x["grad_end"] for x in rows]),
            "traceless_lora": _quantiles([x["traceless_lora"] for x in rows]),
            "traceless_full": _quantiles([x["traceless_full"] for x in rows]),
            "loss_curve_median": [float(v) for v in _median_curve([x["loss"] for x in rows])],
            "bound_curve_median": [float(v) for v in _median_curve([x["bound"] for x in rows])],
            "autograd_rel_max": float(max(x["autograd_rel"] for x in rows))}


def _median_curve(curves):
    import numpy as np

    return np.median(np.asarray(curves, float), axis=0)


def _eym_summary(cfg: FlowConfig, outcomes: dict) -> list:
    from proofs.tails import rate_constants, relative_tail_error

    out = []
    for k, alpha in enumerate(cfg.alphas):
        lo_c, hi_c = (float(v) for v in rate_constants(alpha))
        per_rank = []
        for r in cfg.ey_ranks:
            rows = outcomes.get((k, r), [])
            if not rows:
                per_rank.append({"r": r, "trials": 0})
                continue
            finite = float(relative_tail_error(alpha, r, cfg.ey_n))
            infinite = float(relative_tail_error(alpha, r))
            rel = [x["rel_error"] for x in rows]
            per_rank.append({
                "r": r, "trials": len(rows),
                "rel_error": {"mean": float(sum(rel) / len(rel)), "min": min(rel), "max": max(rel)},
                "distance_max": float(max(x["distance"] for x in rows)),
                "eym_finite": finite, "eym_infinite": infinite,
                "eym_float64_max_dev": float(max(abs(x["eym_float64"] - finite) for x in rows)),
                "rel_dev_max": float(max(abs(v - finite) / finite for v in rel)),
                "grad_rel_max": float(max(x["grad_rel"] for x in rows)),
                "flow_drift_max": float(max(x["flow_drift"] for x in rows)),
                "autograd_rel_max": float(max(x["autograd_rel"] for x in rows)),
                "bound_hi": hi_c * r ** (0.5 - alpha), "bound_lo": lo_c * r ** (0.5 - alpha)})
        done = [p for p in per_rank if p["trials"]]
        entry = {"alpha": float(alpha), "predicted_exponent": 0.5 - float(alpha),
                 "c_lo": lo_c, "c_hi": hi_c, "per_rank": per_rank}
        if len(done) >= 2:
            rs = [p["r"] for p in done]
            entry["fitted_exponent"] = fit_slope(rs, [p["rel_error"]["mean"] for p in done])
            entry["finite_exponent"] = fit_slope(rs, [p["eym_finite"] for p in done])
            entry["infinite_exponent"] = fit_slope(rs, [p["eym_infinite"] for p in done])
        out.append(entry)
    return out


def summarise(cfg: FlowConfig, outcomes: dict, *, wall: dict | None = None,
              environment: list | None = None) -> dict:
    """The summary of a run; ``outcomes`` maps ``("steps",)``, ``("trace",)`` and ``("eym", k, r)``
    to trial rows.

    >>> cfg = FlowConfig(m=4, n=3, rank=2, examples=6, horizon=0.4, etas=(0.1, 0.05),
    ...                  ref_step=0.01, trials=2, trace_n=3, trace_rank=1, trace_horizon=1.0,
    ...                  trace_step=0.05, ey_n=6, ey_ranks=(1, 2), alphas=(1.0,), ey_horizon=2.0,
    ...                  ey_step=0.1, ey_trials=1)
    >>> out = {("steps",): steps_trials(cfg, [0, 1]), ("trace",): trace_trials(cfg, [0, 1]),
    ...        ("eym", 0, 1): eym_trials(cfg, 0, 1, [0]), ("eym", 0, 2): eym_trials(cfg, 0, 2, [0])}
    >>> s = summarise(cfg, out)
    >>> s["complete"], s["units_found"], [v["claim"] for v in s["verdicts"]][:2]
    (True, 6, ['steps-to-flow.simultaneous', 'steps-to-flow.sequential'])
    """
    from numerics.experiments.records import to_jsonable
    from numerics.verdicts.gradient_flow import claim_verdicts

    steps_rows = outcomes.get(("steps",), [])
    trace_rows = outcomes.get(("trace",), [])
    eym = {(k, r): outcomes.get(("eym", k, r), []) for k in range(len(cfg.alphas)) for r in cfg.ey_ranks}
    found = len(steps_rows) + len(trace_rows) + sum(len(v) for v in eym.values())
    expected = 2 * cfg.trials + len(cfg.alphas) * len(cfg.ey_ranks) * cfg.ey_trials
    summary = {
        "format": SUMMARY_FORMAT,
        "model": {
            "flow": "dB/dt = -G A^T, dA/dt = -B^T G, G = grad f(W0 + BA) (GF.flow-equations), "
                    "solved by classical RK4 with a fixed step; reference: the half step, error "
                    "estimate: difference of the step and the half step",
            "steps": "f = 1/(2M) sum_i (<G_i, W> - y_i)^2, G_i entries N(0, 1/n), y_i N(0, 1), W0 "
                     "entries N(0, 1/(mn)); B0 = 0, A0 entries N(0, 1/n); gradient descent "
                     "simultaneous and sequential (A first, then B at the new A) for T/eta steps",
            "trace": "f = 1/2 (tr W - t)^2, W0 entries N(0, 1/n), t = tr W0 - sqrt(n) z; B0 = 0, "
                     "A0 entries N(0, 1/n); the flow and the full-parameter flow W' = -c I",
            "eym": "Y = U diag(j^-alpha) V^T (U, V Haar), f = 1/2 ||BA - Y||_F^2, spectral start "
                   "B0 = 0, A0 = a0 V_r^T",
            "autograd": "torch autograd of f(W0 + BA) at a random (B, A) against (G A^T, B^T G)",
        },
        "sizes": {"steps": {"m": cfg.m, "n": cfg.n, "r": cfg.rank, "M": cfg.examples},
                  "trace": {"n": cfg.trace_n, "r": cfg.trace_rank},
                  "eym": {"n": cfg.ey_n, "ranks": list(cfg.ey_ranks), "alphas": list(cfg.alphas)}},
        "solver": {"horizon": cfg.horizon, "etas": list(cfg.etas), "ref_step": cfg.ref_step,
                   "trace_horizon": cfg.trace_horizon, "trace_step": cfg.trace_step,
                   "ey_horizon": cfg.ey_horizon, "ey_step": cfg.ey_step,
                   "spectral_scale": cfg.spectral_scale, "device": cfg.device, "dtype": cfg.dtype},
        "seeds": {"global_seed": cfg.seed, "trials": cfg.trials, "ey_trials": cfg.ey_trials},
        "method": {"slope": "least-squares slope of log(value) against log(eta) per trial; mean "
                            f"over trials with a {cfg.confidence:g} Student-t interval",
                   "slope_margin": cfg.slope_margin,
                   "exponent": "least-squares slope of log(mean relative error) against log(r) "
                               "over the rank grid",
                   "trace_bound": "L(t) / (L(0) exp(-2 k0 t)) at the checkpoints where the bound "
                                  f"is at least {RESOLVED_FLOOR:g} L(0) (float64 resolution of L)",
                   "tails": "mpmath Hurwitz zeta (proofs.tails): finite spectrum j <= n and the "
                            "infinite one; bounds c_lo, c_hi r^(1/2 - alpha) of GF.ey-tail-general"},
        "steps": _steps_summary(cfg, steps_rows),
        "trace": _trace_summary(cfg, trace_rows),
        "eym": _eym_summary(cfg, eym),
        "units_found": found, "units_expected": expected, "complete": found == expected,
        "wall_time": wall or {"wall_s": 0.0, "sessions": 0},
        "environment": environment,
    }
    summary["verdicts"] = claim_verdicts(summary)
    return to_jsonable(summary)


def save_figures(summary: dict, stem) -> list:
    """Three panels: GD error and drift against eta (log-log), the trace loss against time with
    the bound, and the Eckart-Young-Mirsky relative error against the rank with the tails and
    bounds; saved as ``stem.png`` and ``stem.pdf``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    st = summary["steps"]
    if st.get("trials"):
        for key, label in (("error_sim", "simultaneous"), ("error_seq", "sequential"),
                           ("drift_sim", "drift of C, simultaneous")):
            axes[0].loglog(st["etas"], st[key]["median_per_eta"], marker="o",
                           label=f"{label} (slope {st[key]['slope']['mean']:.3f})")
        axes[0].set_xlabel("step eta")
        axes[0].set_ylabel("relative error at T (median)")
        axes[0].set_title(f"GD against the flow, T = {st['horizon']:g}", fontsize=8)
        axes[0].legend(fontsize=7)
    tr = summary["trace"]
    if tr.get("trials"):
        axes[1].semilogy(tr["times"], tr["loss_curve_median"], marker="o", label="loss (median)")
        axes[1].semilogy(tr["times"], tr["bound_curve_median"], ls="--", label="L0 exp(-2 k0 t)")
        axes[1].set_xlabel("time t")
        axes[1].set_ylabel("trace-squared loss")
        axes[1].set_title("LoRA flow from B0 = 0 (median over trials)", fontsize=8)
        axes[1].legend(fontsize=7)
    for e in summary["eym"]:
        done = [p for p in e["per_rank"] if p["trials"]]
        if not done:
            continue
        rs = [p["r"] for p in done]
        line, = axes[2].loglog(rs, [p["rel_error"]["mean"] for p in done], marker="o",
                               label=f"alpha={e['alpha']:g} flow")
        axes[2].loglog(rs, [p["eym_infinite"] for p in done], ls=":", color=line.get_color())
        axes[2].loglog(rs, [p["bound_hi"] for p in done], ls="--", color=line.get_color(), lw=0.8)
    axes[2].set_xlabel("rank r")
    axes[2].set_ylabel("relative error of the flow's limit")
    axes[2].set_title("dotted: infinite tail; dashed: c_hi r^(1/2 - alpha)", fontsize=8)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    stem = Path(stem)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths
