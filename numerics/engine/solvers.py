"""Batched solvers for ``calA(B A) = y`` on a :class:`~numerics.engine.instances.FeatureOperator`.

One loop per method, shared by every estimand (THEORY.md section 2):

- :func:`levenberg_marquardt`: Levenberg-Marquardt / Gauss-Newton on ``theta = (B, A)`` with
  minimum-norm steps, many trials at once (estimands E1 and E2). :func:`lm_restarts` runs it
  from fresh random starts for the trials not yet certified.
- :func:`lora_recipe`: the standard LoRA recipe, ``B = 0``, Gaussian ``A``, plain full-batch
  gradient descent with a stated, scale-aware step (estimand E3).
- :func:`certify`: the relative residual ``||calA(B A) - y|| / ||y||`` recomputed in float64
  from the explicit product ``Delta = B A`` (a route independent of the factored residual the
  solvers iterate on). A success is ``certify(...) <= 1e-10``, nothing else.

The Levenberg-Marquardt step
----------------------------
With the residual ``R = calA(B A) - y`` and the Jacobian ``J`` (rows ``[vec(G_i A^T),
vec(B^T G_i)]``, ``p = r (m + n)`` columns), each iteration solves, by a batched Cholesky
factorisation (``LMConfig.system``: the library's factorisation and triangular solves, or, the
default for float64 on CUDA, one Triton kernel doing all three, :mod:`numerics.engine.fused_cholesky`),

- ``dtheta = -J^T (J J^T + mu I)^{-1} R``  when ``M <= p`` (the minimum-norm step), else
- ``dtheta = -(J^T J + mu I)^{-1} J^T R``,

with ``mu = lam * mean(diag(J J^T))`` (``lam`` is dimensionless, so the rule does not depend on
the scale of the features). ``lam`` adapts per trial: a step that lowers the loss is accepted
and ``lam`` shrinks by 3; otherwise it is rejected and ``lam`` grows by 4 (a failed Cholesky
counts as a rejection). The residual at the trial point is read off the ``G_i A^T`` pass
(``R_i = <G_i A^T, B> - y_i``), and that pass is also the ``B``-block of the next Jacobian, so
an iteration reads the features twice: ``right(A_new)`` and ``left(B_new)``. An iteration
waits for the device once (to count the active trials); finished trials are written out by
masked copies on the device.

A trial stops when its working-precision relative residual is below ``stop_rtol``, when it
stalls (the loss fell by less than a fraction ``stall_rtol`` over the last ``stall_window``
iterations, or ``lam`` reached ``lam_max``), when its loss is not finite, or at ``max_iter``.
Finished trials are dropped from the batch (the active set is compacted) once the active
fraction falls below ``compact_frac``. On CUDA, once few trials remain (``graph_rows``), an
iteration is captured as a CUDA graph and replayed: a small batch is bound by the time the host
takes to launch an iteration's kernels, and a replay is one launch.

Iterating in float32: candidates (working relative residual ``<= polish_rtol``) are polished by
up to ``polish_iter`` float64 iterations on the float64 cast of the instance (exact), then
certified like everything else.

All arithmetic is per trial (batched matrix products, batched Cholesky, one kernel program per
trial), so a trial's decisions do not depend on the batch it runs in. Its last bits may: the
libraries pick kernels by batch shape (on an H200, 23 of 7,800 trials of a 40-cell sweep, all
uncertified, stopped at another iteration when the starts ran in one batch,
``results/bench/sweep-40-cells-v2-h200.json``). The two systems round
differently, so on CUDA ``system="library"`` reproduces float64 runs of lorank 0.3.0 and
earlier exactly; on the CPU the library's system is the only one outside tests.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Sequence

import torch

from numerics.engine import fused_cholesky
from numerics.engine.instances import FeatureOperator, resolve_device, resolve_dtype
from proofs.validation import (InvalidArgument, require_positive_float, require_positive_int,
                               require_rank)

__all__ = [
    "CERTIFY_RTOL",
    "LMConfig",
    "LMResult",
    "RecipeConfig",
    "RecipeResult",
    "STATUS",
    "SYSTEMS",
    "solve_spd",
    "RESTART_SCHEDULES",
    "FUSED_MAX_SIZE",
    "certify",
    "levenberg_marquardt",
    "lm_restarts",
    "lora_recipe",
    "random_starts",
    "recipe_init",
    "trace_iterations",
]

#: A success is a residual recomputed in float64 at most this times ``||y||`` (THEORY.md).
CERTIFY_RTOL = 1e-10

#: How a step's symmetric positive definite system can be solved (``LMConfig.system``).
SYSTEMS = ("auto", "library", "fused")
#: How :func:`lm_restarts` schedules the starts of a trial (:attr:`LMConfig.restart_schedule`).
RESTART_SCHEDULES = ("auto", "sequential", "concurrent")
#: ``system="auto"`` solves systems of at most this many rows with the fused kernel and larger
#: ones with the library's: the largest size at which the fused solve was faster at every batch
#: size measured on an H200 (``results/bench/system_crossover-h200.json``: at 200 trials,
#: 1.09x faster at N = 640, even at 768, 0.88x at 1024; at 800 trials faster up to 1024).
FUSED_MAX_SIZE = 640

#: Why a Levenberg-Marquardt run stopped (``LMResult.status``).
STATUS = {0: "converged", 1: "stalled", 2: "max_iter", 3: "nonfinite"}
_CONVERGED, _STALLED, _MAX_ITER, _NONFINITE = 0, 1, 2, 3


#: Where :func:`trace_iterations` collects the iteration events (None: not tracing).
_TRACE: list | None = None


@contextlib.contextmanager
def trace_iterations():
    """Collect one event per Levenberg-Marquardt iteration, taken at its one host sync.

    Yields a list that fills with dicts ``{"it", "rows", "active", "compacted", "graph",
    "time"}``: the iteration number, the rows in the batch at its bookkeeping, the trials still
    active after it, whether the batch was compacted (for a replayed iteration: recaptured on
    a smaller batch) before the next step, whether the iteration was a CUDA-graph replay
    (bookkeeping and step in one launch), and ``time.perf_counter()`` right after the sync.
    No synchronisation is added, so the differences of ``time`` are the wall time of each
    iteration (``benchmarks/trace_engine.py`` splits a whole solve's time with them).

    >>> from numerics.engine.instances import sample_instances
    >>> op, y = sample_instances([0], m=3, n=3, M=2)
    >>> with trace_iterations() as events:
    ...     _ = levenberg_marquardt(op, y, 1, random_starts([1], 3, 3, 1))
    >>> events[0]["rows"], events[-1]["active"]
    (1, 0)
    """
    global _TRACE
    outer, _TRACE = _TRACE, []
    try:
        yield _TRACE
    finally:
        _TRACE = outer


@dataclass
class LMConfig:
    """Settings of :func:`levenberg_marquardt` (each field has its help text).

    >>> LMConfig().max_iter
    200
    >>> LMConfig(max_iter=0)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: max_iter must be a positive integer, got 0
    """

    max_iter: int = field(default=200, metadata={"help": "iterations per start"})
    lam0: float = field(default=1e-3, metadata={"help": "initial damping, mu = lam * mean diag(J J^T)"})
    lam_down: float = field(default=1 / 3, metadata={"help": "lam factor after an accepted step"})
    lam_up: float = field(default=4.0, metadata={"help": "lam factor after a rejected step"})
    lam_min: float = field(default=1e-15, metadata={"help": "floor on lam (raised to 100 eps of the dtype)"})
    lam_max: float = field(default=1e10, metadata={"help": "lam at which a trial counts as stalled"})
    stall_window: int = field(default=30, metadata={"help": "iterations over which progress is measured"})
    stall_rtol: float = field(default=1e-3, metadata={"help": "stalled if loss fell by less than this fraction over the window"})
    stop_rtol: float | None = field(default=None, metadata={"help": "stop at this working relative residual; None: 1e-11 in float64, 1e-5 in float32"})
    certify_rtol: float = field(default=CERTIFY_RTOL, metadata={"help": "success iff float64 relative residual <= this"})
    polish_rtol: float = field(default=1e-3, metadata={"help": "float32 runs: polish in float64 when the working residual is below this"})
    polish_iter: int = field(default=10, metadata={"help": "float64 polishing iterations for float32 runs"})
    start_scale: float | None = field(default=None, metadata={"help": "std of start entries of B and A; None: (r m n)^(-1/4), so that calA(B A) has O(1) entries"})
    compact_frac: float = field(default=0.75, metadata={"help": "compact the batch when the active fraction falls below this"})
    graph_rows: int = field(default=64, metadata={"help": "on CUDA, iterate by replaying a captured CUDA graph once at most this many trials are active (0: never)"})
    system: str = field(default="auto", metadata={"help": "how the step's SPD system is solved: 'library' (torch cholesky_ex + two solve_triangular), 'fused' (one Triton kernel, numerics.engine.fused_cholesky; float64), 'auto' (fused for float64 on CUDA where Triton is installed and the system has at most fused_max_size rows, else library)"})
    fused_max_size: int = field(default=FUSED_MAX_SIZE, metadata={"help": "system='auto' uses the fused kernel only for systems of at most this many rows (min(M, p)); above it the library's Cholesky is faster"})
    restart_schedule: str = field(default="auto", metadata={"help": "lm_restarts: 'sequential' (restart k runs for the trials still uncertified after restart k - 1), 'concurrent' (every start of every trial in one batch, outcomes cut at each trial's first success), 'auto' (concurrent on CUDA when the replicated features take at most concurrent_bytes, else sequential)"})
    concurrent_bytes: int = field(default=1 << 30, metadata={"help": "restart_schedule='auto': the most bytes of replicated features a concurrent batch may take"})
    graph_bytes: int = field(default=1 << 28, metadata={"help": "on CUDA, also iterate by replaying a CUDA graph when the active trials' features take at most this many bytes (0: by graph_rows only)"})

    def __post_init__(self):
        for name in ("max_iter", "stall_window", "polish_iter"):
            require_positive_int(name, getattr(self, name))
        for name in ("lam0", "lam_min", "lam_max", "lam_up", "stall_rtol", "certify_rtol",
                     "polish_rtol"):
            require_positive_float(name, getattr(self, name))
        require_positive_float("lam_down", self.lam_down, upper=1)
        require_positive_float("compact_frac", self.compact_frac, upper=1.0000001)
        if self.lam_up <= 1:
            raise InvalidArgument(f"lam_up must be above 1, got {self.lam_up!r}")
        if self.stop_rtol is not None:
            require_positive_float("stop_rtol", self.stop_rtol)
        if self.start_scale is not None:
            require_positive_float("start_scale", self.start_scale)
        if isinstance(self.graph_rows, bool) or not isinstance(self.graph_rows, int) or self.graph_rows < 0:
            raise InvalidArgument(f"graph_rows must be a non-negative integer, got {self.graph_rows!r}")
        if self.system not in SYSTEMS:
            raise InvalidArgument(f"system must be one of {', '.join(SYSTEMS)}, got {self.system!r}")
        if self.restart_schedule not in RESTART_SCHEDULES:
            raise InvalidArgument(f"restart_schedule must be one of {', '.join(RESTART_SCHEDULES)}, "
                                  f"got {self.restart_schedule!r}")
        for name in ("fused_max_size", "concurrent_bytes", "graph_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidArgument(f"{name} must be a non-negative integer, got {value!r}")

    def fused_system(self, device: torch.device, dtype: torch.dtype, size: int | None = None) -> bool:
        """Whether steps on ``device`` in ``dtype`` solve their system (of ``size`` rows, where
        given) with the fused kernel.

        >>> LMConfig().fused_system(torch.device("cpu"), torch.float64)
        False
        >>> LMConfig(system="library").fused_system(torch.device("cpu"), torch.float64, size=8)
        False
        >>> LMConfig(system="fused").fused_system(torch.device("cpu"), torch.float32)
        Traceback (most recent call last):
        ...
        proofs.validation.InvalidArgument: system 'fused' works in float64 only, got torch.float32
        """
        if self.system == "library":
            return False
        usable = fused_cholesky.available() and (
            device.type == "cuda" or fused_cholesky.interpreted())
        if self.system == "auto":
            small = size is None or size <= self.fused_max_size
            return usable and small and device.type == "cuda" and dtype == torch.float64
        if dtype != torch.float64:
            raise InvalidArgument(f"system 'fused' works in float64 only, got {dtype}")
        if not usable:
            raise InvalidArgument(
                f"system 'fused' needs Triton and a CUDA device (or TRITON_INTERPRET=1 on the "
                f"CPU), got device {device} with Triton "
                f"{'installed' if fused_cholesky.available() else 'not installed'}")
        return True

    def working_stop_rtol(self, dtype: torch.dtype) -> float:
        """The stop threshold in working precision ``dtype``.

        >>> LMConfig().working_stop_rtol(torch.float32)
        1e-05
        """
        if self.stop_rtol is not None:
            return self.stop_rtol
        return 1e-11 if dtype == torch.float64 else 1e-5


@dataclass
class LMResult:
    """Per-trial outcome of :func:`levenberg_marquardt` (tensors of leading size ``T``).

    ``rel_residual`` is the certified float64 value; ``success`` is ``rel_residual <=
    certify_rtol`` (and finite); ``status`` says why the iteration stopped (see ``STATUS``).
    """

    B: torch.Tensor
    A: torch.Tensor
    rel_residual: torch.Tensor
    success: torch.Tensor
    iterations: torch.Tensor
    nonfinite: torch.Tensor
    status: torch.Tensor


def random_starts(seeds: Sequence[int], m: int, n: int, r: int, *, scale: float | None = None,
                  device="cpu", dtype=torch.float64, sample_device=None):
    """Start points ``(B0, A0)``, entries iid ``N(0, scale^2)``, one generator per seed.

    The default ``scale = (r m n)^(-1/4)`` gives ``||B0 A0||_F ~ 1``, so ``calA(B0 A0)`` has
    entries of the size of ``y`` for Gaussian features. Draws are float64 (``B0`` then ``A0``)
    and then cast, as for instances.

    >>> B0, A0 = random_starts([1, 2], m=4, n=3, r=2)
    >>> tuple(B0.shape), tuple(A0.shape)
    ((2, 4, 2), (2, 2, 3))
    >>> bool((random_starts([2], 4, 3, 2)[0][0] == B0[1]).all())
    True
    """
    m, n = require_positive_int("m", m), require_positive_int("n", n)
    r = require_rank("r", r, m, n)
    dev, dtype = resolve_device(device), resolve_dtype(dtype)
    sdev = dev if sample_device is None else resolve_device(sample_device)
    s = (r * m * n) ** -0.25 if scale is None else require_positive_float("scale", scale)
    T = len(seeds)
    # drawn into float64 buffers on the sampling device, then moved and cast once (one copy
    # per tensor instead of one per trial)
    B0 = torch.empty((T, m, r), dtype=torch.float64, device=sdev)
    A0 = torch.empty((T, r, n), dtype=torch.float64, device=sdev)
    for t, seed in enumerate(seeds):
        g = torch.Generator(device=sdev)
        g.manual_seed(int(seed))
        torch.randn((m, r), generator=g, dtype=torch.float64, device=sdev, out=B0[t])
        torch.randn((r, n), generator=g, dtype=torch.float64, device=sdev, out=A0[t])
    B0.mul_(s)
    A0.mul_(s)
    return B0.to(device=dev, dtype=dtype), A0.to(device=dev, dtype=dtype)


def certify(op: FeatureOperator, y: torch.Tensor, B: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Relative residual ``||calA(B A) - y|| / ||y||`` recomputed in float64.

    The instance is cast to float64 (exact from float32), ``Delta = B A`` is formed explicitly,
    and ``calA(Delta)`` is taken through ``apply`` (not the factored residual of the solvers).

    >>> from numerics.engine.instances import sample_instances
    >>> op, y = sample_instances([0], m=3, n=3, M=2)
    >>> B = torch.zeros(1, 3, 1, dtype=torch.float64); A = torch.zeros(1, 1, 3, dtype=torch.float64)
    >>> certify(op, y, B, A)
    tensor([1.], dtype=torch.float64)
    """
    op64 = op.to(torch.float64)
    y64 = y.to(torch.float64)
    delta = B.to(torch.float64) @ A.to(torch.float64)
    res = op64.apply(delta) - y64
    return res.norm(dim=1) / y64.norm(dim=1)


def lm_residual(Rn: torch.Tensor, B: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``R_i = <G_i A^T, B> - y_i`` from the right pass ``Rn`` (layout ``(T, r, m, M)``)."""
    T, M = y.shape
    bt = B.transpose(1, 2).reshape(T, 1, -1)  # vec(B^T), (T, 1, r m)
    return torch.bmm(bt, Rn.view(T, -1, M)).view(T, M) - y


def lora_grad_B(Rn: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """``sum_i R_i G_i A^T`` as ``(T, m, r)``."""
    T, r, m, M = Rn.shape
    return torch.bmm(Rn.reshape(T, r * m, M), R.reshape(T, M, 1)).view(T, r, m).transpose(1, 2)


def lora_grad_A(Ln: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """``sum_i R_i B^T G_i`` as ``(T, r, n)``, from the left pass ``Ln`` (``(T, r, M, n)``)."""
    T, r, M, n = Ln.shape
    return torch.matmul(R.reshape(T, 1, 1, M), Ln).view(T, r, n)


def compact_batch(op: FeatureOperator, active: torch.Tensor, owned: bool):
    """Drop the finished trials: ``(op, keep)`` with ``keep`` the old row of each new row.

    The first compaction copies the active trials (``op`` belongs to the caller); later ones
    reuse that copy's storage (:meth:`FeatureOperator.compact_`), which for dense features moves
    only the active trials that sit behind the new end instead of every active trial.
    """
    if owned:
        return op.compact_(active)
    keep = active.nonzero().flatten()
    return op.subset(keep), keep


def solve_spd(S: torch.Tensor, rhs: torch.Tensor, fused: bool):
    """``(z, ok)``: ``S z = rhs`` (``rhs`` of shape ``(T, N, 1)``) through the Cholesky factor of
    each ``S`` (destroyed), ``ok`` False where ``S`` was not found positive definite."""
    if fused:
        z, ok = fused_cholesky.cholesky_solve_fused(S, rhs.view(rhs.shape[0], -1))
        return z.unsqueeze(2), ok
    L, info = torch.linalg.cholesky_ex(S)
    # two triangular solves (cuBLAS) rather than cholesky_solve (MAGMA on CUDA): the same
    # arithmetic, about 40% faster on an H100 (benchmarks/engine_components.py)
    z = torch.linalg.solve_triangular(
        L.mH, torch.linalg.solve_triangular(L, rhs, upper=False), upper=True)
    return z, info == 0


def _system_buffer(Rn: torch.Tensor, n: int):
    """``(J_t, Rn)``: for ``M <= p`` a buffer ``J_t`` of shape ``(T, p, M)`` whose first ``r m``
    rows hold the right pass (returned as a view of the layout of ``Rn``, so that updates of the
    state's right pass land in it) and whose other rows receive the left pass at each step;
    otherwise ``(None, Rn)``. Saves copying both passes into ``J^T`` at every step."""
    T, r, m, M = Rn.shape
    if M > r * (m + n):
        return None, Rn
    J_t = Rn.new_empty((T, r * (m + n), M))
    J_t[:, : r * m].copy_(Rn.view(T, r * m, M))
    return J_t, J_t[:, : r * m].view(T, r, m, M)


def lm_damped_step(Rn, Ln, R, lam, fused: bool = False, J_t=None):
    """The damped Gauss-Newton step ``(dB, dA)`` and whether its Cholesky factorisation worked.

    ``M <= p``: ``dtheta = -J^T (J J^T + mu I)^{-1} R`` with ``J J^T = Rn^T Rn + sum_j Ln_j
    Ln_j^T`` (no copy of ``J`` is formed); otherwise ``-(J^T J + mu I)^{-1} J^T R``;
    ``mu = lam * mean(diag)``. ``fused``: the system is solved by
    :func:`numerics.engine.fused_cholesky.cholesky_solve_fused` (one launch) instead of three library
    calls. ``J_t``: the buffer of :func:`_system_buffer` that ``Rn`` lives in (the left pass is
    copied into it); without it, ``J^T`` is assembled from ``Rn`` and ``Ln``.
    """
    T, r, m, M = Rn.shape
    n = Ln.shape[3]
    JB_t = Rn.view(T, r * m, M)  # J_B^T, parameters ordered as vec(B^T)
    if M <= r * (m + n):
        # one batched product over all p parameters (on an H100 about 25% faster than a product
        # per block plus a sum; benchmarks/engine_components.py)
        if J_t is None:
            J_t = torch.cat((JB_t, Ln.transpose(2, 3).reshape(T, r * n, M)), dim=1)
        else:
            J_t[:, r * m:].view(T, r, n, M).copy_(Ln.transpose(2, 3))
        S = torch.bmm(J_t.transpose(1, 2), J_t)
        rhs = R.unsqueeze(2)
    else:
        J = torch.cat((JB_t.transpose(1, 2), Ln.transpose(1, 2).reshape(T, M, r * n)), dim=2)
        S = J.transpose(1, 2) @ J
        rhs = J.transpose(1, 2) @ R.unsqueeze(2)
    diag = S.diagonal(dim1=1, dim2=2)
    diag += (lam * diag.mean(dim=1)).unsqueeze(1)
    z, ok = solve_spd(S, rhs, fused)
    if M <= r * (m + n):
        dB = -torch.bmm(JB_t, z).view(T, r, m).transpose(1, 2)
        dA = -lora_grad_A(Ln, z.view(T, M))
    else:
        dB = -z[:, : r * m].view(T, r, m).transpose(1, 2)
        dA = -z[:, r * m:].view(T, r, n)
    ok2 = ok.view(-1, 1, 1)
    return torch.where(ok2, dB, 0.0), torch.where(ok2, dA, 0.0), ok


@dataclass
class _LMState:
    """The Levenberg-Marquardt iteration's per-row state (row ``j`` is trial ``idx[j]``).

    Everything a step changes is updated in place, so that a captured CUDA graph of an iteration
    can be replayed on it. ``it`` is the iteration number as a device scalar and ``n_active``
    receives the number of active trials at each bookkeeping. The outputs have one extra row,
    ``T``, which padding rows (inactive copies that fill a graph's fixed batch) write to.
    """

    op: FeatureOperator
    y: torch.Tensor
    ynorm: torch.Tensor
    B: torch.Tensor
    A: torch.Tensor
    Rn: torch.Tensor
    Ln: torch.Tensor
    R: torch.Tensor
    loss: torch.Tensor
    lam: torch.Tensor
    hist: torch.Tensor
    idx: torch.Tensor
    active: torch.Tensor
    it: torch.Tensor
    n_active: torch.Tensor
    out: tuple  # (B_out, A_out, rel_out, it_out, status_out), T + 1 rows
    J_t: torch.Tensor | None = None  # the system buffer holding Rn (see _system_buffer)
    fused: bool = False  # steps solve their system with the fused kernel (LMConfig.fused_system)

    @property
    def rows(self) -> int:
        return int(self.idx.numel())

    def select(self, keep: torch.Tensor, op: FeatureOperator, active: torch.Tensor) -> "_LMState":
        """The rows ``keep`` (new tensors) with the operator ``op`` already restricted to them."""
        if self.J_t is None:
            J_t, Rn = None, self.Rn[keep]
        else:
            J_t = self.J_t[keep]
            Rn = J_t[:, : self.Rn.shape[1] * self.Rn.shape[2]].view(-1, *self.Rn.shape[1:])
        return _LMState(op, self.y[keep], self.ynorm[keep], self.B[keep], self.A[keep],
                        Rn, self.Ln[keep], self.R[keep], self.loss[keep],
                        self.lam[keep], self.hist[keep], self.idx[keep], active, self.it,
                        self.n_active, self.out, J_t, self.fused)


def lm_initial_state(op: FeatureOperator, y: torch.Tensor, B: torch.Tensor, A: torch.Tensor,
                   cfg: LMConfig, lam0: float) -> _LMState:
    """The state at iteration 0 from the starts ``(B, A)`` (copied): the two set-up passes.
    How steps solve their system is settled here, once (a system the device cannot use fails
    before any work)."""
    T, dev, dt = op.T, op.device, op.dtype
    fused = cfg.fused_system(dev, dt, size=min(op.M, B.shape[2] * (op.m + op.n)))
    J_t, Rn = _system_buffer(op.right_native(A), op.n)
    R = lm_residual(Rn, B, y)
    out = (torch.cat((B, B[:1])).clone(),  # T + 1 rows: the last one takes padding's writes
           torch.cat((A, A[:1])).clone(),
           torch.full((T + 1,), math.inf, dtype=dt, device=dev),
           torch.zeros(T + 1, dtype=torch.long, device=dev),
           torch.full((T + 1,), _MAX_ITER, dtype=torch.long, device=dev))
    return _LMState(op, y, y.norm(dim=1), B.clone(), A.clone(), Rn, op.left_native(B), R,
                    0.5 * (R * R).sum(dim=1), torch.full((T,), lam0, dtype=dt, device=dev),
                    torch.full((T, cfg.stall_window), math.inf, dtype=dt, device=dev),
                    torch.arange(T, device=dev), torch.ones(T, dtype=torch.bool, device=dev),
                    torch.zeros((), dtype=torch.long, device=dev),
                    torch.zeros((), dtype=torch.long, device=dev), out, J_t, fused)


def lm_lam_floor(cfg: LMConfig, dtype: torch.dtype) -> float:
    """The least damping factor in working precision ``dtype``."""
    return max(cfg.lam_min, 100 * torch.finfo(dtype).eps)


def lm_bookkeeping(st: _LMState, cfg: LMConfig, max_iter: int, stop_rtol: float) -> None:
    """Find the trials that stop at this iteration, write them out, update ``active`` and
    ``n_active`` (all on the device: masked copies, no host sync)."""
    W = cfg.stall_window
    B_out, A_out, rel_out, it_out, status_out = st.out
    rel = torch.sqrt(2 * st.loss) / st.ynorm
    finite = torch.isfinite(st.loss)
    converged = finite & (rel <= stop_rtol)
    col = (st.it % W).view(1, 1).expand(st.rows, 1)
    slow = (st.it >= W) & (st.loss > (1 - cfg.stall_rtol) * st.hist.gather(1, col).view(-1))
    stalled = finite & (slow | (st.lam >= cfg.lam_max))
    st.hist.scatter_(1, col, st.loss.view(-1, 1))
    done = st.active & (converged | ~finite | stalled | (st.it == max_iter))
    code = torch.where(
        converged, _CONVERGED,
        torch.where(~finite, _NONFINITE, torch.where(stalled, _STALLED, _MAX_ITER)),
    )
    d3 = done.view(-1, 1, 1)
    idx = st.idx
    B_out.index_copy_(0, idx, torch.where(d3, st.B, B_out.index_select(0, idx)))
    A_out.index_copy_(0, idx, torch.where(d3, st.A, A_out.index_select(0, idx)))
    rel_out.index_copy_(0, idx, torch.where(done, rel, rel_out.index_select(0, idx)))
    it_out.index_copy_(0, idx, torch.where(done, st.it, it_out.index_select(0, idx)))
    status_out.index_copy_(0, idx, torch.where(done, code, status_out.index_select(0, idx)))
    st.active.logical_and_(~done)
    st.n_active.copy_(st.active.sum())


def lm_iteration_step(st: _LMState, cfg: LMConfig, lam_floor: float) -> None:
    """One damped Gauss-Newton step for every active row, accepted where it lowers the loss
    (in place), then ``it += 1``."""
    dB, dA, chol_ok = lm_damped_step(st.Rn, st.Ln, st.R, st.lam, st.fused, st.J_t)
    B_new, A_new = st.B + dB, st.A + dA
    Rn_new = st.op.right_native(A_new)
    R_new = lm_residual(Rn_new, B_new, st.y)
    loss_new = 0.5 * (R_new * R_new).sum(dim=1)
    accept = st.active & chol_ok & torch.isfinite(loss_new) & (loss_new < st.loss)
    a1, a3, a4 = accept.view(-1, 1), accept.view(-1, 1, 1), accept.view(-1, 1, 1, 1)
    torch.where(a3, B_new, st.B, out=st.B)
    torch.where(a3, A_new, st.A, out=st.A)
    torch.where(a4, Rn_new, st.Rn, out=st.Rn)
    torch.where(a1, R_new, st.R, out=st.R)
    torch.where(accept, (st.lam * cfg.lam_down).clamp(min=lam_floor),
                (st.lam * cfg.lam_up).clamp(max=cfg.lam_max), out=st.lam)
    torch.where(accept, loss_new, st.loss, out=st.loss)
    # the left pass at the accepted points (computed for the whole batch: testing whether any
    # trial accepted would cost a host sync, skipping it would save a pass only in the rare
    # iteration where none did)
    torch.where(a4, st.op.left_native(st.B), st.Ln, out=st.Ln)
    st.it += 1


#: Replayed iterations start after this many eager iterations with a small batch (a short tail
#: does not repay a capture), on batches of a power of two rows, at least ``_GRAPH_MIN_ROWS``
#: (a replay on fewer rows saves less than a recapture costs). Measured on an H100:
#: ``results/bench/trace_engine_rho1.json``. The floor applies only while the padded rows'
#: features fit in ``LMConfig.graph_bytes`` (:func:`_graph_floor`): a padding row costs what an
#: active one does, so on large trials (128 x 128, r = 4: 139 MB of features each) a floor of
#: 16 made a one-trial tail run sixteen trials' arithmetic and copy 2 GB of features
#: (issue 13: the 128 x 128 r = 4 cells of the headline sweep, 1.5x slower than the baseline).
_GRAPH_PATIENCE = 3
_GRAPH_MIN_ROWS = 16


def _graph_floor(row_bytes: int, graph_bytes: int) -> int:
    """The least rows of a replayed batch: ``_GRAPH_MIN_ROWS``, lowered to the largest power
    of two whose trials' features (``row_bytes`` each) fit in ``graph_bytes`` (at least 1).

    >>> _graph_floor(1 << 20, 1 << 28), _graph_floor(139 << 20, 1 << 28), _graph_floor(1 << 30, 1 << 28)
    (16, 1, 1)
    """
    fit = max(1, graph_bytes // max(1, row_bytes))
    return min(_GRAPH_MIN_ROWS, 1 << (fit.bit_length() - 1))


def _graph_size(n_active: int, floor: int = _GRAPH_MIN_ROWS) -> int:
    """The rows of a replayed batch for ``n_active`` active trials (a power of two, at least
    ``floor``)."""
    return max(floor, 1 << max(0, n_active - 1).bit_length())


class _GraphedIterations:
    """Replay one captured CUDA graph of a whole iteration (bookkeeping, then step) on a batch
    of fixed size ``2^j``: the active rows, then inactive copies of the first row as padding.

    A small batch iterates at the speed the host launches its ~100 kernels, not at the speed the
    GPU runs them (``benchmarks/trace_engine.py``); a replay is one launch. Replaying
    bookkeeping and step together moves the host sync after the step, which then also runs on
    the rows finished in that bookkeeping: they are inactive, so nothing of theirs changes.
    """

    def __init__(self, st: _LMState, n_active: int, cfg: LMConfig, max_iter: int,
                 stop_rtol: float, lam_floor: float, floor: int = _GRAPH_MIN_ROWS):
        size = _graph_size(n_active, floor)
        keep = st.active.nonzero().flatten()
        pad = keep[:1].expand(size - n_active)
        keep = torch.cat((keep, pad))
        active = torch.zeros(size, dtype=torch.bool, device=st.idx.device)
        active[:n_active] = True
        self.st = st.select(keep, st.op.subset(keep), active)
        self.st.idx[n_active:] = st.out[0].shape[0] - 1  # padding writes to the spare output row
        self.size = size
        # captured on a side stream with the low-level calls: the ``torch.cuda.graph`` context
        # also runs the garbage collector and empties the allocator's cache, which costs more
        # than the capture (and makes the next full-size batch ask the driver for memory again)
        dev = st.idx.device
        with torch.cuda.device(dev):
            self.graph = torch.cuda.CUDAGraph()
            main = torch.cuda.current_stream(dev)
            side = torch.cuda.Stream(device=dev)
            side.wait_stream(main)
            with torch.cuda.stream(side):
                self.graph.capture_begin()
                try:
                    lm_bookkeeping(self.st, cfg, max_iter, stop_rtol)
                    lm_iteration_step(self.st, cfg, lam_floor)
                finally:
                    self.graph.capture_end()
            main.wait_stream(side)

    def replay(self) -> int:
        """Run one iteration; the number of trials active after its bookkeeping (a host sync)."""
        self.graph.replay()
        return int(self.st.n_active)


def _capture(st: _LMState, n_active: int, cfg: LMConfig, max_iter: int, stop_rtol: float,
             lam_floor: float, floor: int = _GRAPH_MIN_ROWS) -> _GraphedIterations | None:
    """A :class:`_GraphedIterations`, or None (with a warning) where the capture fails: the
    state is untouched by a failed capture (nothing runs while capturing), and the solve goes
    on eagerly from it."""
    try:
        return _GraphedIterations(st, n_active, cfg, max_iter, stop_rtol, lam_floor, floor)
    except RuntimeError as error:
        warnings.warn(f"CUDA graph capture failed, iterating eagerly: {str(error)[:200]}",
                      RuntimeWarning, stacklevel=2)
        return None


def _lm_loop(op: FeatureOperator, y: torch.Tensor, B: torch.Tensor, A: torch.Tensor,
             cfg: LMConfig, *, max_iter: int, stop_rtol: float, lam0: float):
    """The batched Levenberg-Marquardt iteration in the dtype of ``op``.

    Returns ``(B, A, working_rel_residual, iterations, status)`` for every trial.

    Each iteration: bookkeeping (which trials stop), one host sync (how many are active),
    compaction of the batch when few are, and the step. On CUDA, once the batch has had at most
    ``cfg.graph_rows`` active trials for more than ``_GRAPH_PATIENCE`` iterations, the
    iterations are replayed from a captured CUDA graph (:class:`_GraphedIterations`),
    recaptured on a batch a quarter the size or less as trials finish. A batch also replays
    from a graph when its active trials' features take at most ``cfg.graph_bytes``: such a batch
    is bound by the launches, not by the device's memory or arithmetic.
    """
    T = op.T
    dev, dt = op.device, op.dtype
    lam_floor = lm_lam_floor(cfg, dt)
    st = lm_initial_state(op, y, B, A, cfg, lam0)
    B_out, A_out, rel_out, it_out, status_out = st.out
    owned = False  # op is the caller's until the first compaction copies it
    graphed = None
    small = 0  # consecutive eager iterations with at most cfg.graph_rows active trials
    use_graphs = dev.type == "cuda" and (cfg.graph_rows > 0 or cfg.graph_bytes > 0)
    row_bytes = feature_bytes_per_trial(op)
    floor = _graph_floor(row_bytes, cfg.graph_bytes) if cfg.graph_bytes > 0 else _GRAPH_MIN_ROWS
    for it in range(max_iter + 1):
        if graphed is None:
            lm_bookkeeping(st, cfg, max_iter, stop_rtol)
            n_active, rows = int(st.n_active), st.rows  # the one host sync of an iteration
            compact = 0 < n_active < cfg.compact_frac * rows
        else:
            n_active, rows = graphed.replay(), graphed.size  # this iteration's bookkeeping and step
            compact = 0 < n_active and _graph_size(n_active, floor) * 4 <= rows
        if _TRACE is not None:
            _TRACE.append({"it": it, "rows": rows, "active": n_active, "compacted": compact,
                           "graph": graphed is not None, "time": time.perf_counter()})
        if n_active == 0:
            break
        if graphed is not None:
            if compact:  # recapture on a batch of a quarter the size or less
                recaptured = _capture(graphed.st, n_active, cfg, max_iter, stop_rtol, lam_floor, floor)
                if recaptured is None:  # go on eagerly from the replayed state (its own copy)
                    st, graphed, use_graphs, owned = graphed.st, None, False, True
                else:
                    graphed = recaptured
            continue
        few = n_active <= cfg.graph_rows or n_active * row_bytes <= cfg.graph_bytes
        small = small + 1 if use_graphs and few else 0
        if small > _GRAPH_PATIENCE:
            lm_iteration_step(st, cfg, lam_floor)  # this iteration's step, then replays from the next one
            graphed = _capture(st, n_active, cfg, max_iter, stop_rtol, lam_floor, floor)
            use_graphs = graphed is not None
            continue
        if compact:
            op, keep = compact_batch(st.op, st.active, owned)
            owned = True
            st = st.select(keep, op, torch.ones(n_active, dtype=torch.bool, device=dev))
        lm_iteration_step(st, cfg, lam_floor)
    return tuple(t[:T] for t in (B_out, A_out, rel_out, it_out, status_out))


def _check_problem(op: FeatureOperator, y: torch.Tensor, B=None, A=None):
    if not isinstance(op, FeatureOperator):
        raise InvalidArgument(f"op must be a FeatureOperator, got {type(op).__name__}")
    if tuple(y.shape) != (op.T, op.M):
        raise InvalidArgument(f"y must have shape {(op.T, op.M)}, got {tuple(y.shape)}")
    if B is not None and (B.dim() != 3 or tuple(B.shape[:2]) != (op.T, op.m)):
        raise InvalidArgument(f"B must have shape ({op.T}, {op.m}, r), got {tuple(B.shape)}")
    if A is not None and (A.dim() != 3 or A.shape[0] != op.T or A.shape[2] != op.n):
        raise InvalidArgument(f"A must have shape ({op.T}, r, {op.n}), got {tuple(A.shape)}")


def levenberg_marquardt(op: FeatureOperator, y: torch.Tensor, r: int, starts, config=None) -> LMResult:
    """Batched Levenberg-Marquardt on ``(B, A)`` from ``starts = (B0, A0)``, then certify.

    Parameters
    ----------
    op, y
        A batch of ``T`` instances (:func:`numerics.engine.instances.sample_instances`).
    r : int
        The rank.
    starts : (torch.Tensor, torch.Tensor)
        ``B0`` of shape ``(T, m, r)`` and ``A0`` of shape ``(T, r, n)``
        (:func:`random_starts`).
    config : LMConfig, optional

    Returns
    -------
    LMResult
        Float64 ``B``, ``A``, certified ``rel_residual``, ``success``, ``iterations``
        (float64 polishing included), ``nonfinite`` and ``status`` per trial.

    Examples
    --------
    Eight equations, rank 2 on 4 x 4 (``r max(m, n) = 8 >= M``): always solvable.

    >>> from numerics.engine.instances import sample_instances
    >>> op, y = sample_instances([0, 1, 2], m=4, n=4, M=8)
    >>> res = levenberg_marquardt(op, y, 2, random_starts([10, 11, 12], 4, 4, 2))
    >>> res.success.tolist(), bool((res.rel_residual <= 1e-10).all())
    ([True, True, True], True)
    """
    cfg = LMConfig() if config is None else config
    B0, A0 = starts
    _check_problem(op, y, B0, A0)
    r = require_rank("r", r, op.m, op.n)
    if B0.shape[2] != r or A0.shape[1] != r:
        raise InvalidArgument(f"starts must have rank {r}, got {B0.shape[2]} and {A0.shape[1]}")
    dt = op.dtype
    B0, A0, y = B0.to(dt), A0.to(dt), y.to(dt)
    B, A, rel_w, iters, status = _lm_loop(
        op, y, B0, A0, cfg, max_iter=cfg.max_iter, stop_rtol=cfg.working_stop_rtol(dt),
        lam0=cfg.lam0,
    )
    B, A = B.to(torch.float64), A.to(torch.float64)
    if dt != torch.float64:
        cand = (torch.isfinite(rel_w) & (rel_w <= cfg.polish_rtol)).nonzero().flatten()
        if cand.numel():
            sub = op.subset(cand).to(torch.float64)
            Bp, Ap, _, it_p, st_p = _lm_loop(
                sub, y[cand].to(torch.float64), B[cand], A[cand], cfg, max_iter=cfg.polish_iter,
                stop_rtol=cfg.working_stop_rtol(torch.float64), lam0=cfg.lam_min,
            )
            B[cand], A[cand] = Bp, Ap
            iters[cand] += it_p
            status[cand] = torch.where(st_p == _NONFINITE, st_p, status[cand])
    rel = certify(op, y, B, A)
    finite = torch.isfinite(rel) & torch.isfinite(B).flatten(1).all(1) & torch.isfinite(A).flatten(1).all(1)
    nonfinite = ~finite | (status == _NONFINITE)
    success = finite & (rel <= cfg.certify_rtol)
    return LMResult(B, A, rel, success, iters, nonfinite, status)


def lm_restarts(op: FeatureOperator, y: torch.Tensor, r: int, start_seeds, config=None,
                *, sample_device=None, first_starts=None) -> dict:
    """Levenberg-Marquardt with restarts: restart ``k`` runs only for trials not yet certified.

    Parameters
    ----------
    start_seeds : sequence of sequences of int
        ``start_seeds[t][k]`` seeds restart ``k`` of trial ``t`` (all rows the same length R).
    sample_device : optional
        Where the starts are drawn (see :func:`random_starts`).
    first_starts : (torch.Tensor, torch.Tensor), optional
        The starts of restart 0, already drawn: they must be ``random_starts`` of
        ``start_seeds[t][0]`` (with the same scale and ``sample_device``), as a benchmark that
        times the draw apart from the solve passes them. Checked for shape only.

    Returns
    -------
    dict of lists (one entry per trial)
        ``restart_success`` (the outcomes up to the first success), ``first_success`` (index
        or None), ``best_rel_residual`` (float64, over the restarts run), ``iterations`` (sum)
        and ``nonfinite`` (any restart non-finite).

    Examples
    --------
    >>> from numerics.engine.instances import sample_instances
    >>> op, y = sample_instances([0, 1], m=4, n=4, M=4)
    >>> out = lm_restarts(op, y, 1, [[5, 6], [7, 8]])
    >>> out["first_success"]
    [0, 0]
    """
    cfg = LMConfig() if config is None else config
    _check_problem(op, y)
    r = require_rank("r", r, op.m, op.n)
    scale = cfg.start_scale
    if concurrent_restarts(op, start_seeds, cfg):
        return _lm_restarts_concurrent(op, y, r, start_seeds, cfg, sample_device, first_starts)
    tally = RestartTally(op.T)
    best = [math.inf] * op.T
    for k, pending, sub, ysub in restart_rounds(op, y, start_seeds, tally):
        if k == 0 and first_starts is not None:
            starts = (first_starts[0].to(device=op.device, dtype=op.dtype),
                      first_starts[1].to(device=op.device, dtype=op.dtype))
            _check_problem(op, y, *starts)
        else:
            starts = random_starts([start_seeds[t][k] for t in pending], op.m, op.n, r, scale=scale,
                                   device=op.device, dtype=op.dtype, sample_device=sample_device)
        res = levenberg_marquardt(sub, ysub, r, starts, cfg)
        tally.add(k, pending, res)
        for t, rel in zip(pending, res.rel_residual.tolist()):
            if math.isfinite(rel) and not rel >= best[t]:
                best[t] = float(rel)
    return {**tally.lists(), "best_rel_residual": best}


def feature_bytes_per_trial(op: FeatureOperator) -> int:
    """The bytes of one trial's dense features, ``M m n`` entries of the operator's dtype (what a
    copy of the trial's instance costs, and what each pass over it reads).

    >>> from numerics.engine.instances import sample_instances
    >>> feature_bytes_per_trial(sample_instances([0], m=4, n=3, M=5)[0])
    480
    """
    return op.M * op.m * op.n * torch.empty((), dtype=op.dtype).element_size()


def concurrent_restarts(op: FeatureOperator, start_seeds, cfg: LMConfig) -> bool:
    """Whether :func:`lm_restarts` runs all starts of all trials in one batch
    (:attr:`LMConfig.restart_schedule`).

    Sequential restarts run restart ``k`` only for the trials still uncertified, so a trial that
    fails runs its ``R`` starts one after the other, each a full Levenberg-Marquardt solve. On a
    GPU a small batch iterates at the speed the host launches kernels, so ``R`` rounds cost ``R``
    times the launches of one; one batch of ``R T`` rows costs about the launches of one round.
    The outcomes are the same (each start's solve does not depend on its batch, and the tally
    keeps each trial's starts up to its first success only); the arithmetic of the starts after
    a trial's first success is done and discarded.

    >>> from numerics.engine.instances import sample_instances
    >>> op, _ = sample_instances([0, 1], m=4, n=4, M=4)
    >>> concurrent_restarts(op, [[1, 2], [3, 4]], LMConfig())  # auto: sequential on the CPU
    False
    >>> concurrent_restarts(op, [[1, 2], [3, 4]], LMConfig(restart_schedule="concurrent"))
    True
    """
    R = len(start_seeds[0]) if len(start_seeds) else 1
    if cfg.restart_schedule == "sequential" or R <= 1:
        return False
    if cfg.restart_schedule == "concurrent":
        return True
    return op.device.type == "cuda" and R * op.T * feature_bytes_per_trial(op) <= cfg.concurrent_bytes


def _lm_restarts_concurrent(op, y, r, start_seeds, cfg, sample_device, first_starts) -> dict:
    """:func:`lm_restarts` with every start in one batch: row ``k T + t`` is start ``k`` of trial
    ``t``; the tally then reads each trial's starts in order up to its first success, exactly
    as the sequential rounds record them."""
    T = op.T
    if len(start_seeds) != T or len({len(x) for x in start_seeds}) != 1 or len(start_seeds[0]) < 1:
        raise InvalidArgument(
            f"start_seeds must be {T} non-empty rows of equal length, got {len(start_seeds)} rows"
        )
    R = len(start_seeds[0])
    seeds = [start_seeds[t][k] for k in range(R) for t in range(T)]
    B0, A0 = random_starts(seeds[T:] if first_starts is not None else seeds, op.m, op.n, r,
                           scale=cfg.start_scale, device=op.device, dtype=op.dtype,
                           sample_device=sample_device)
    if first_starts is not None:
        first = (first_starts[0].to(device=op.device, dtype=op.dtype),
                 first_starts[1].to(device=op.device, dtype=op.dtype))
        _check_problem(op, y, *first)
        B0, A0 = torch.cat((first[0], B0)), torch.cat((first[1], A0))
    index = torch.arange(T, device=op.device).repeat(R)
    res = levenberg_marquardt(op.subset(index), y[index], r, (B0, A0), cfg)
    success, iterations = res.success.view(R, T), res.iterations.view(R, T)
    nonfinite, rel = res.nonfinite.view(R, T), res.rel_residual.view(R, T).tolist()
    tally = RestartTally(T)
    best = [math.inf] * T
    for k in range(R):
        pending = tally.pending()
        if not pending:
            break
        rows = torch.tensor(pending, device=op.device)
        tally.add(k, pending, SimpleNamespace(success=success[k, rows], iterations=iterations[k, rows],
                                              nonfinite=nonfinite[k, rows]))
        for t in pending:
            if math.isfinite(rel[k][t]) and not rel[k][t] >= best[t]:
                best[t] = float(rel[k][t])
    return {**tally.lists(), "best_rel_residual": best}


class RestartTally:
    """Per-trial outcomes over restarts (shared by the restart drivers of E1/E2 and E4):
    ``restart_success`` (up to the first success), ``first_success`` (index or None),
    ``iterations`` (sum over the starts run) and ``nonfinite`` (any start).

    >>> from types import SimpleNamespace
    >>> tally = RestartTally(2)
    >>> tally.add(0, [0, 1], SimpleNamespace(success=torch.tensor([False, True]),
    ...           iterations=torch.tensor([5, 3]), nonfinite=torch.tensor([False, False])))
    >>> tally.pending(), tally.lists()["first_success"], tally.lists()["iterations"]
    ([0], [None, 0], [5, 3])
    """

    def __init__(self, T: int):
        self.restart_success = [[] for _ in range(T)]
        self.first_success = [None] * T
        self.iterations = [0] * T
        self.nonfinite = [False] * T

    def pending(self) -> list[int]:
        """The trials not yet certified."""
        return [t for t, f in enumerate(self.first_success) if f is None]

    def add(self, k: int, pending: list[int], res) -> None:
        """Record restart ``k`` of the trials ``pending`` from a result with per-row ``success``,
        ``iterations`` and ``nonfinite`` (an :class:`LMResult` or a ``SepResult``)."""
        rows = zip(pending, res.success.tolist(), res.iterations.tolist(), res.nonfinite.tolist())
        for t, ok, its, nf in rows:
            self.restart_success[t].append(bool(ok))
            if ok:
                self.first_success[t] = k
            self.iterations[t] += int(its)
            self.nonfinite[t] = self.nonfinite[t] or bool(nf)

    def lists(self) -> dict:
        return {"restart_success": self.restart_success, "first_success": self.first_success,
                "iterations": self.iterations, "nonfinite": self.nonfinite}


def restart_rounds(op: FeatureOperator, targets: torch.Tensor, start_seeds, tally: RestartTally):
    """Yield ``(k, pending, op_k, targets_k)`` for restart ``k = 0, 1, ...``: the trials the tally
    still has pending (read afresh each round) and their instances; stops when none is."""
    T = op.T
    if len(start_seeds) != T or len({len(x) for x in start_seeds}) != 1 or len(start_seeds[0]) < 1:
        raise InvalidArgument(
            f"start_seeds must be {T} non-empty rows of equal length, got {len(start_seeds)} rows"
        )
    for k in range(len(start_seeds[0])):
        pending = tally.pending()
        if not pending:
            return
        if len(pending) == T:
            yield k, pending, op, targets
        else:
            index = torch.tensor(pending, device=op.device)
            yield k, pending, op.subset(index), targets[index]


@dataclass
class RecipeConfig:
    """Settings of :func:`lora_recipe`.

    The step rule is ``eta_t = c / L_t`` with the curvature bound
    ``L_t = s^2 (||A_t||_2^2 + ||B_t||_2^2) + s ||R_t||``, where ``s`` estimates ``||calA||_op``
    by ``power_iters`` power iterations on ``calA^* calA`` started at ``calA^*(y)``. ``L_t``
    bounds the Hessian of ``L`` at ``(B_t, A_t)``: its quadratic form is
    ``||J d||^2 + 2 <R, calA(dB dA)>``; the Gauss-Newton part is at most
    ``||calA||^2 (||A||_2^2 + ||B||_2^2) ||d||^2`` and the residual part at most
    ``2 ||calA|| ||R|| ||dB||_F ||dA||_F <= ||calA|| ||R|| ||d||^2``. ``c = 1`` is the classical
    ``1/L`` step; it was fixed before any transition was measured and is not tuned.

    >>> RecipeConfig().c
    1.0
    """

    c: float = field(default=1.0, metadata={"help": "step constant, eta_t = c / L_t"})
    power_iters: int = field(default=20, metadata={"help": "power iterations for ||calA||_op"})
    init_std: str = field(default="1/sqrt(n)", metadata={"help": "A0 entries N(0, 1/n) (Kaiming-like scale); B0 = 0"})
    stop_rtol: float | None = field(default=None, metadata={"help": "drop a trial once its working relative residual is below this (its value is carried to later budgets); None: 1e-12 in float64, off in float32"})
    compact_frac: float = field(default=0.75, metadata={"help": "compact the batch when the active fraction falls below this"})
    graph_steps: int = field(default=32, metadata={"help": "on CUDA, steps replayed from a captured CUDA graph between two looks of the host at the batch (0: every step eagerly, with a look after each, as up to lorank 0.5)"})

    def __post_init__(self):
        require_positive_float("c", self.c)
        if isinstance(self.graph_steps, bool) or not isinstance(self.graph_steps, int) or self.graph_steps < 0:
            raise InvalidArgument(f"graph_steps must be a non-negative integer, got {self.graph_steps!r}")
        require_positive_int("power_iters", self.power_iters)
        if self.init_std != "1/sqrt(n)":
            raise InvalidArgument(f"init_std must be '1/sqrt(n)', got {self.init_std!r}")
        if self.stop_rtol is not None:
            require_positive_float("stop_rtol", self.stop_rtol)
        require_positive_float("compact_frac", self.compact_frac, upper=1.0000001)


@dataclass
class RecipeResult:
    """Per-trial outcome of :func:`lora_recipe`: ``rel_residual_at`` of shape ``(T, len(budgets))``
    (float64, recomputed by :func:`certify`), ``nonfinite`` ``(T,)``, ``opnorm`` the estimate of
    ``||calA||_op``."""

    budgets: list
    rel_residual_at: torch.Tensor
    nonfinite: torch.Tensor
    opnorm: torch.Tensor


def recipe_init(seeds: Sequence[int], n: int, r: int, *, device="cpu", dtype=torch.float64,
                sample_device=None) -> torch.Tensor:
    """The recipe's ``A0``: entries iid ``N(0, 1/n)``, one generator per seed (float64 draws).

    >>> recipe_init([3, 4], n=16, r=2).shape
    torch.Size([2, 2, 16])
    """
    n, r = require_positive_int("n", n), require_positive_int("r", r)
    dev, dtype = resolve_device(device), resolve_dtype(dtype)
    sdev = dev if sample_device is None else resolve_device(sample_device)
    A0 = torch.empty((len(seeds), r, n), dtype=dtype, device=dev)
    for t, seed in enumerate(seeds):
        g = torch.Generator(device=sdev)
        g.manual_seed(int(seed))
        A0[t].copy_(torch.randn((r, n), generator=g, dtype=torch.float64, device=sdev) / math.sqrt(n))
    return A0


def feature_opnorm(op: FeatureOperator, y: torch.Tensor, iters: int) -> torch.Tensor:
    """Power-iteration estimate of ``||calA||_op`` (a lower estimate), started at ``calA^*(y)``."""
    tiny = torch.finfo(y.dtype).tiny
    v = op.adjoint(y)
    for _ in range(iters):
        v = v / v.flatten(1).norm(dim=1).clamp(min=tiny).view(-1, 1, 1)
        v = op.adjoint(op.apply(v))
    v = v / v.flatten(1).norm(dim=1).clamp(min=tiny).view(-1, 1, 1)
    return op.apply(v).norm(dim=1)


def spectral_norm2(X: torch.Tensor) -> torch.Tensor:
    """Squared spectral norms of a batch of thin matrices, via the small Gram matrix."""
    gram = X @ X.transpose(1, 2) if X.shape[1] <= X.shape[2] else X.transpose(1, 2) @ X
    if gram.shape[1] == 1:
        return gram.view(-1)
    if gram.shape[1] == 2:  # closed form, much cheaper than a batched eigvalsh on CPU
        a, b, c = gram[:, 0, 0], gram[:, 0, 1], gram[:, 1, 1]
        return 0.5 * (a + c) + torch.sqrt((0.5 * (a - c)) ** 2 + b * b)
    return torch.linalg.eigvalsh(gram)[:, -1].clamp(min=0)


def lora_recipe(op: FeatureOperator, y: torch.Tensor, r: int, budgets, config=None, *,
                A0: torch.Tensor) -> RecipeResult:
    """The LoRA recipe: ``B = 0``, ``A = A0``, gradient descent on ``1/2 ||calA(B A) - y||^2``.

    Runs ``max(budgets)`` steps once and records the float64 relative residual
    (:func:`certify`) after each budget. The step is ``eta_t = c / L_t`` (see
    :class:`RecipeConfig`); ``B`` and ``A`` are updated simultaneously from the gradients
    ``sum_i R_i G_i A^T`` and ``sum_i R_i B^T G_i``, read off the two passes ``right(A)`` and
    ``left(B)``; scaling ``alpha / r = 1``.

    A trial stops when its working relative residual is below ``stop_rtol`` (it is frozen, and
    its certified value is carried to every later budget) or is not finite. The host looks at
    the batch (to drop finished trials, or end) after every step on the CPU, and on CUDA after
    every ``graph_steps`` steps, which run as replays of a captured CUDA graph of one step: a
    step is a few dozen small kernels, so a batch of small instances is bound by the time the
    host takes to launch them. Between two looks a finished trial stays in the batch, frozen.

    Examples
    --------
    >>> from numerics.engine.instances import sample_instances
    >>> op, y = sample_instances([0, 1], m=6, n=6, M=6)
    >>> res = lora_recipe(op, y, 2, [0, 10, 100], A0=recipe_init([5, 6], 6, 2))
    >>> res.rel_residual_at.shape
    torch.Size([2, 3])
    >>> bool((res.rel_residual_at[:, 2] <= res.rel_residual_at[:, 0]).all())
    True
    """
    cfg = RecipeConfig() if config is None else config
    _check_problem(op, y, A=A0)
    r = require_rank("r", r, op.m, op.n)
    if A0.shape[1] != r:
        raise InvalidArgument(f"A0 must have rank {r}, got {tuple(A0.shape)}")
    budgets = check_budgets(budgets)
    T, M, m, n = op.shape
    dt, dev = op.dtype, op.device
    stop_rtol = cfg.stop_rtol if cfg.stop_rtol is not None else (1e-12 if dt == torch.float64 else 0.0)
    y = y.to(dt)
    s_full = feature_opnorm(op, y, cfg.power_iters)
    st = _RecipeState(op=op, y=y, ynorm=y.norm(dim=1), s=s_full,
                      A=A0.to(dt).clone(), B=torch.zeros((T, m, r), dtype=dt, device=dev),
                      active=torch.ones(T, dtype=torch.bool, device=dev),
                      frozen=torch.zeros(T, dtype=torch.bool, device=dev),
                      bad=torch.zeros(T, dtype=torch.bool, device=dev),
                      idx=torch.arange(T, device=dev))
    out = torch.full((T, len(budgets)), math.nan, dtype=torch.float64, device=dev)
    nonfinite = torch.zeros(T, dtype=torch.bool, device=dev)
    owned = False  # op is the caller's until the first compaction copies it
    chunk = cfg.graph_steps if dev.type == "cuda" and cfg.graph_steps > 0 else 1
    graphed = None
    k, t = 0, 0  # next budget to record, next step
    while True:
        if t == budgets[k]:  # a budget step, eagerly: record, then step
            Rn, R, rnorm = _recipe_eval(st)
            rel64 = certify(st.op, st.y, st.B, st.A)
            _recipe_write(out, st.idx, st.active | st.frozen, rel64, k, k + 1)
            _recipe_masks(st, rnorm / st.ynorm, stop_rtol)
            k += 1
            if k == len(budgets):
                break
            pending = (Rn, R, rnorm)
            steps = 1
        else:
            pending = None
            steps = min(chunk, budgets[k] - t)
        if pending is None:
            if chunk > 1 and graphed is None:
                _recipe_step(st, cfg, stop_rtol)  # warm-up (and the first of these steps)
                graphed = _capture_recipe(st, cfg, stop_rtol)
                if graphed is None:
                    chunk = 1
                for _ in range(steps - 1):
                    graphed.replay() if graphed is not None else _recipe_step(st, cfg, stop_rtol)
            elif graphed is not None:
                for _ in range(steps):
                    graphed.replay()
            else:
                _recipe_step(st, cfg, stop_rtol)
        n_active = int(st.active.sum())  # the host's look at the batch
        if n_active == 0:
            break
        if n_active < cfg.compact_frac * st.rows:
            _recipe_retire(st, out, nonfinite, k, len(budgets))
            op, keep = compact_batch(st.op, st.active, owned)
            owned = True
            st = st.select(keep, op)
            if pending is not None:
                pending = tuple(x[keep] for x in pending)
            graphed = None  # recaptured on the smaller batch
        if pending is not None:
            _recipe_update(st, cfg, *pending)
        t += steps
    _recipe_retire(st, out, nonfinite, k, len(budgets))
    return RecipeResult(list(budgets), out, nonfinite, s_full.double())


@dataclass
class _RecipeState:
    """The recipe's per-row state (row ``j`` is trial ``idx[j]``), updated in place so that a
    captured CUDA graph of a step can be replayed on it. ``frozen``: stopped below ``stop_rtol``;
    ``bad``: stopped at a non-finite residual; ``active`` excludes both."""

    op: FeatureOperator
    y: torch.Tensor
    ynorm: torch.Tensor
    s: torch.Tensor
    A: torch.Tensor
    B: torch.Tensor
    active: torch.Tensor
    frozen: torch.Tensor
    bad: torch.Tensor
    idx: torch.Tensor

    @property
    def rows(self) -> int:
        return int(self.idx.numel())

    def select(self, keep: torch.Tensor, op: FeatureOperator) -> "_RecipeState":
        return _RecipeState(op, self.y[keep], self.ynorm[keep], self.s[keep], self.A[keep],
                            self.B[keep], self.active[keep], self.frozen[keep], self.bad[keep],
                            self.idx[keep])


def _recipe_eval(st: _RecipeState):
    """``(Rn, R, ||R||)`` at the current point: the right pass and the residual."""
    Rn = st.op.right_native(st.A)
    R = lm_residual(Rn, st.B, st.y)
    return Rn, R, R.norm(dim=1)


def _recipe_masks(st: _RecipeState, rel: torch.Tensor, stop_rtol: float) -> None:
    """Stop the active rows whose working relative residual is not finite or below
    ``stop_rtol`` (on the device, no host sync)."""
    bad = st.active & ~torch.isfinite(rel)
    small = st.active & (rel <= stop_rtol)
    st.bad.logical_or_(bad)
    st.frozen.logical_or_(small)
    st.active.logical_and_(~(bad | small))


def _recipe_update(st: _RecipeState, cfg: RecipeConfig, Rn, R, rnorm) -> None:
    """One gradient step of the active rows from ``(Rn, R)`` at the current point (in place)."""
    grad_B = lora_grad_B(Rn, R)
    grad_A = lora_grad_A(st.op.left_native(st.B), R)
    curv = st.s * st.s * (spectral_norm2(st.A) + spectral_norm2(st.B)) + st.s * rnorm
    eta = (cfg.c / curv).view(-1, 1, 1)
    a3 = st.active.view(-1, 1, 1)
    B_new, A_new = st.B - eta * grad_B, st.A - eta * grad_A
    torch.where(a3, B_new, st.B, out=st.B)
    torch.where(a3, A_new, st.A, out=st.A)


def _recipe_step(st: _RecipeState, cfg: RecipeConfig, stop_rtol: float) -> None:
    """One step that records nothing: evaluate, stop finished rows, update the others."""
    Rn, R, rnorm = _recipe_eval(st)
    _recipe_masks(st, rnorm / st.ynorm, stop_rtol)
    _recipe_update(st, cfg, Rn, R, rnorm)


def _recipe_write(out, idx, rows, values, lo: int, hi: int) -> None:
    """``out[idx[j], lo:hi] = values[j]`` for the rows ``j`` where ``rows`` holds."""
    cur = out.index_select(0, idx)
    cur[:, lo:hi] = torch.where(rows.view(-1, 1), values.view(-1, 1), cur[:, lo:hi])
    out.index_copy_(0, idx, cur)


def _recipe_retire(st: _RecipeState, out, nonfinite, k: int, nb: int) -> None:
    """Before rows leave the batch (compaction, or the end): the frozen rows' certified value
    goes to every budget from ``k`` on, and the non-finite flags to their trials."""
    nonfinite.index_copy_(0, st.idx, nonfinite.index_select(0, st.idx) | st.bad)
    if k < nb and bool(st.frozen.any()):
        rel64 = certify(st.op, st.y, st.B, st.A)
        _recipe_write(out, st.idx, st.frozen, rel64, k, nb)


class _GraphedRecipeStep:
    """One captured recipe step (:func:`_recipe_step`) on the state's tensors, replayed in place."""

    def __init__(self, st: _RecipeState, cfg: RecipeConfig, stop_rtol: float):
        dev = st.idx.device
        with torch.cuda.device(dev):
            self.graph = torch.cuda.CUDAGraph()
            main = torch.cuda.current_stream(dev)
            side = torch.cuda.Stream(device=dev)
            side.wait_stream(main)
            with torch.cuda.stream(side):
                self.graph.capture_begin()
                try:
                    _recipe_step(st, cfg, stop_rtol)
                finally:
                    self.graph.capture_end()
            main.wait_stream(side)

    def replay(self) -> None:
        self.graph.replay()


def _capture_recipe(st: _RecipeState, cfg: RecipeConfig, stop_rtol: float):
    """A :class:`_GraphedRecipeStep`, or None (with a warning) where the capture fails (nothing
    runs while capturing, so the state is untouched and the steps go on eagerly)."""
    try:
        return _GraphedRecipeStep(st, cfg, stop_rtol)
    except RuntimeError as error:
        warnings.warn(f"CUDA graph capture failed, stepping eagerly: {str(error)[:200]}",
                      RuntimeWarning, stacklevel=2)
        return None


def check_budgets(budgets) -> list[int]:
    """Budgets: a non-empty, strictly increasing list of non-negative step counts.

    >>> check_budgets([100, 10])
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: budgets must be strictly increasing non-negative integers, got [100, 10]
    """
    try:
        values = [int(b) for b in budgets]
        ok = len(values) > 0 and all(v >= 0 for v in values) and \
            all(a < b for a, b in zip(values, values[1:])) and \
            all(not isinstance(b, bool) and float(b) == int(b) for b in budgets)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidArgument(
            f"budgets must be strictly increasing non-negative integers, got {budgets!r}"
        )
    return values
