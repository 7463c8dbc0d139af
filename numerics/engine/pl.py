"""The PL* constant of LoRA for squared loss: tangent kernel, Marchenko-Pastur comparison, and
the gradient-descent rate check (THEORY.md section 2, R2).

For ``theta = (B, A)`` and ``f(theta) = calA(B A)`` in ``R^M`` the Jacobian ``J`` has row ``i``
equal to ``[vec(G_i A^T), vec(B^T G_i)]`` (``p = r (m + n)`` columns), and the tangent kernel is

    ``J J^T = K_B + K_A``,  ``K_B[i, j] = <G_i A^T, G_j A^T>``,  ``K_A[i, j] = <B^T G_i, B^T G_j>``.

For ``L = 1/2 ||f(theta) - y||^2`` the gradient is ``J^T R`` and ``1/2 ||J^T R||^2 >=
lambda_min(J J^T) L``: the PL* constant at ``theta`` is ``mu(theta) = lambda_min(J J^T)``.
Because ``(B, A) -> (B C, C^{-1} A)`` leaves ``B A`` unchanged, ``J`` kills an
``r^2``-dimensional tangent space and ``rank J <= r (m + n - r)``; at ``B = 0`` only the
``B``-block is non-zero and ``rank J <= r m``. So ``mu = 0`` when ``M > r (m + n - r)`` (random
points) or ``M > r m`` (the LoRA start); this module measures what happens on both sides.

Definitions used throughout (stated once, used by every function and by the summaries):

- **Float64 kernel.** ``J J^T`` is formed from the ``right_native`` / ``left_native`` passes of
  the float64 cast of the features (no copy of ``J``), and ``torch.linalg.eigvalsh`` gives
  ``mu = lambda_min`` and ``lambda_max`` in float64.
- **Positivity rule.** ``mu`` counts as positive iff ``mu > POSITIVITY_RTOL * lambda_max`` with
  ``POSITIVITY_RTOL = 1e-10`` (the analogue of the ``1e-10`` float64 certificate of
  :mod:`numerics.engine.solvers`). An exact zero eigenvalue comes out of ``eigvalsh`` at about
  ``M eps lambda_max`` (``eps = 2.2e-16``), far below the rule for ``M <= 10^4``. The summary
  reports, per (size, rank), the largest ``mu / lambda_max`` called zero and the smallest called
  positive, so the gap the rule sits in is visible.
- **Normalisations.** ``mu / lambda_max`` (inverse condition number of the kernel) and
  ``mu / mean(diag(J J^T))`` (scale-free; the Marchenko-Pastur comparison uses it).
- **Points.** *Random*: entries of ``B`` and ``A`` iid ``N(0, s^2)``, ``s = (r m n)^(-1/4)``
  (:func:`numerics.engine.solvers.random_starts`). *LoRA start*: ``B = 0``, ``A`` iid ``N(0, 1/n)``
  (:func:`numerics.engine.solvers.recipe_init`).
- **Marchenko-Pastur edge.** For ``X`` of shape ``M x d`` with iid ``N(0, sigma^2)`` entries
  and ``M < d``, ``lambda_min(X X^T) ~ sigma^2 (sqrt(d) - sqrt(M))^2``. We set ``sigma^2 =
  mean(diag(J J^T)) / d`` per trial (so a Gaussian matrix with that ``sigma`` has the same
  expected row norm as ``J``); the prediction for ``mu / mean(diag)`` is then
  ``(1 - sqrt(M / d))^2`` (0 for ``M >= d``). Two choices of ``d``: ``"shape"``, ``d = r (m + n)``
  (the number of columns of ``J``), and ``"rank"``, the generic rank of ``J``:
  ``r (m + n - r)`` at random points and ``r m`` at the LoRA start. Real Gaussian matrices of
  shapes ``M x r(m+n)``, ``M x r(m+n-r)`` and ``M x r m`` are sampled in the same run as a
  baseline, with the same ``sigma^2`` rule applied to them.
- **Gradient descent.** Plain full-batch GD on ``(B, A)``: ``B <- B - eta calA^*(R) A^T``,
  ``A <- A - eta B^T calA^*(R)``, ``R = calA(B A) - y``, with the fixed step
  ``eta = c / beta_0``, ``beta_t = lambda_max(J J^T(theta_t)) + ||calA^*(R_t)||_2`` (an upper bound
  on the Hessian norm of ``L`` at ``theta_t``: ``||J^T J|| + ||sum_i R_i nabla^2 f_i||``) and
  ``c = 0.5`` by default. The descent lemma with PL* gives ``L_{t+1} <= (1 - eta mu_t) L_t``
  whenever ``eta <= 1 / beta`` on the segment ``[theta_t, theta_{t+1}]``. Losses, kernels and
  ``beta_t`` are recomputed in float64 from the explicit product ``B A``; the iteration runs in
  the working dtype.
- **Rate check** (:func:`check_pl_rate`). Step ``t`` passes iff ``L_{t+1} <= (1 - eta mu_t^+) L_t
  + slack L_t`` with ``mu_t^+ = mu_t`` if positive by the rule, else 0 (then the check is plain
  monotone descent); ``slack = RATE_SLACK_EPS * eps(working dtype)`` (``1e4 eps``: 2.2e-12 in
  float64, the float64 rounding of a sum of ``M`` squares of recomputed residuals, with room).
  Steps with ``L_t <= (1e3 eps)^2 L_0`` are at the rounding floor and are not checked (counted
  apart). The cumulative bound ``L_t <= L_0 prod_{s<t}(1 - eta mu_s^+) (1 + slack)^t`` is checked
  at every ``t``. A violation is a finding (``eta`` may exceed ``1 / beta`` locally), reported
  with ``eta beta`` at both ends of the step.

Examples
--------
Three random 6 x 6 instances at rank 1 (``r (m + n - r) = 11``): ``mu > 0`` with ``M = 8`` and
``mu = 0`` (below the rule) with ``M = 14``, at the same random point.

>>> from numerics.engine.instances import sample_instances
>>> from numerics.engine.solvers import random_starts
>>> B, A = random_starts([1, 2, 3], 6, 6, 1)
>>> few, _ = sample_instances([4, 5, 6], m=6, n=6, M=8)
>>> many, _ = sample_instances([4, 5, 6], m=6, n=6, M=14)
>>> pl_constant(few, B, A).positive.tolist(), pl_constant(many, B, A).positive.tolist()
([True, True, True], [False, False, False])
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import torch

from numerics.estimation.estimate import wilson_interval
from numerics.engine.instances import FeatureOperator, resolve_device, resolve_dtype, sample_instances
from numerics.experiments.records import environment_info, to_jsonable, wall_time
from numerics.verdicts.pl import ledger_entries  # noqa: F401  (re-exported)
from numerics.engine.seeding import trial_seed
from numerics.engine.solvers import random_starts, recipe_init
from proofs.validation import (InvalidArgument, require_nonneg_int, require_positive_int,
                               require_rank)

__all__ = [
    "POSITIVITY_RTOL",
    "RATE_SLACK_EPS",
    "FLOOR_EPS",
    "DEFAULT_GD_C",
    "QUANTILES",
    "SUMMARY_FORMAT",
    "PLConstant",
    "tangent_kernel",
    "dense_jacobian",
    "pl_constant",
    "is_positive",
    "lora_start",
    "mp_edge",
    "mp_normalised_edge",
    "gaussian_gram_spectrum",
    "GDTrace",
    "gd_trajectory",
    "check_pl_rate",
    "PLExperiment",
    "pl_cells",
    "run_trials",
    "summarise_pl",
    "pl_figure",
    "plot_pl_summary",
    "ledger_entries",
]

#: ``mu`` is positive iff ``mu > POSITIVITY_RTOL * lambda_max`` (float64 eigenvalues).
POSITIVITY_RTOL = 1e-10
#: Rounding allowance of the per-step rate check, in units of the working dtype's eps.
RATE_SLACK_EPS = 1e4
#: Steps with ``L_t <= (FLOOR_EPS * eps)^2 L_0`` are at the rounding floor and not checked.
FLOOR_EPS = 1e3
#: Default ``c`` in the step rule ``eta = c / beta_0``.
DEFAULT_GD_C = 0.5
#: Quantiles reported for the normalised constants and the MP ratios.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
from numerics.verdicts.pl import SUMMARY_FORMAT  # noqa: E402  (one definition)

_F64 = torch.float64


# --------------------------------------------------------------------------------------------
# The tangent kernel and the PL* constant


def _check_point(op: FeatureOperator, B: torch.Tensor, A: torch.Tensor) -> int:
    if not isinstance(op, FeatureOperator):
        raise InvalidArgument(f"op must be a FeatureOperator, got {type(op).__name__}")
    if B.dim() != 3 or tuple(B.shape[:2]) != (op.T, op.m):
        raise InvalidArgument(f"B must have shape ({op.T}, {op.m}, r), got {tuple(B.shape)}")
    if A.dim() != 3 or A.shape[0] != op.T or A.shape[2] != op.n or A.shape[1] != B.shape[2]:
        raise InvalidArgument(f"A must have shape ({op.T}, {B.shape[2]}, {op.n}), got {tuple(A.shape)}")
    return int(A.shape[1])


def tangent_kernel(op: FeatureOperator, B: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """The tangent kernel ``J J^T = K_B + K_A`` in float64, shape ``(T, M, M)``.

    ``J_B^T`` is ``op.right_native(A)`` viewed as ``(T, r m, M)`` and ``K_A = sum_j L_j L_j^T``
    with ``L = op.left_native(B)`` of shape ``(T, r, M, n)``, as in the Levenberg-Marquardt step
    of :mod:`numerics.engine.solvers`; ``J`` itself is never formed. The features and the point are cast
    to float64 first (exact from float32).

    Examples
    --------
    The same kernel from an explicit Jacobian (:func:`dense_jacobian`):

    >>> from numerics.engine.instances import sample_instances
    >>> from numerics.engine.solvers import random_starts
    >>> op, _ = sample_instances([0, 1], m=4, n=5, M=7)
    >>> B, A = random_starts([2, 3], 4, 5, 2)
    >>> K = tangent_kernel(op, B, A)
    >>> J = dense_jacobian(op, B, A)
    >>> K.shape, bool(torch.allclose(K, J @ J.transpose(1, 2), rtol=0, atol=1e-12))
    (torch.Size([2, 7, 7]), True)
    """
    r = _check_point(op, B, A)
    op64 = op.to(_F64)
    dev = op64.device
    B64, A64 = B.to(device=dev, dtype=_F64), A.to(device=dev, dtype=_F64)
    T, M, m, n = op64.T, op64.M, op64.m, op64.n
    JB_t = op64.right_native(A64).reshape(T, r * m, M)
    K = torch.bmm(JB_t.transpose(1, 2), JB_t)
    Ln = op64.left_native(B64).reshape(T * r, M, n)
    K += torch.bmm(Ln, Ln.transpose(1, 2)).view(T, r, M, M).sum(dim=1)
    return K


def dense_jacobian(op: FeatureOperator, B: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """The Jacobian ``J`` of ``theta -> calA(B A)`` built explicitly from ``op.dense()``, float64,
    shape ``(T, M, r (m + n))``; columns are ``vec(B)`` (row-major) then ``vec(A)``. For tests and
    small sizes: an independent route to :func:`tangent_kernel`.

    Examples
    --------
    A column of ``J`` is a directional derivative: perturb one entry of ``B``.

    >>> from numerics.engine.instances import sample_instances
    >>> from numerics.engine.solvers import random_starts
    >>> op, _ = sample_instances([0], m=3, n=2, M=4)
    >>> B, A = random_starts([1], 3, 2, 1)
    >>> E = torch.zeros_like(B); E[0, 1, 0] = 1.0
    >>> fd = op.apply((B + E) @ A) - op.apply(B @ A)          # exact: f is linear in B
    >>> bool(torch.allclose(dense_jacobian(op, B, A)[0, :, 1], fd[0], atol=1e-14))
    True
    """
    _check_point(op, B, A)  # validates the shapes and the rank
    G = op.to(_F64).dense()  # (T, M, m, n)
    dev = G.device
    B64, A64 = B.to(device=dev, dtype=_F64), A.to(device=dev, dtype=_F64)
    T, M = G.shape[:2]
    JB = torch.matmul(G, A64.transpose(1, 2).unsqueeze(1))  # (T, M, m, r) = G_i A^T
    JA = torch.matmul(B64.transpose(1, 2).unsqueeze(1), G)  # (T, M, r, n) = B^T G_i
    return torch.cat((JB.reshape(T, M, -1), JA.reshape(T, M, -1)), dim=2)


class PLConstant(NamedTuple):
    """Float64 spectrum summary of a batch of tangent kernels (tensors of shape ``(T,)``).

    ``mu`` is the raw ``lambda_min`` (may be a tiny negative number from rounding when the exact
    value is 0), ``positive`` applies :data:`POSITIVITY_RTOL`.
    """

    mu: torch.Tensor
    lambda_max: torch.Tensor
    mean_diag: torch.Tensor
    positive: torch.Tensor

    def normalised(self) -> dict:
        """``{"by_max": mu / lambda_max, "by_diag": mu / mean_diag}`` (tensors).

        >>> c = PLConstant(torch.tensor([1.0]), torch.tensor([4.0]), torch.tensor([2.0]),
        ...                torch.tensor([True]))
        >>> {k: v.tolist() for k, v in c.normalised().items()}
        {'by_max': [0.25], 'by_diag': [0.5]}
        """
        return {"by_max": self.mu / self.lambda_max, "by_diag": self.mu / self.mean_diag}


def is_positive(mu, lambda_max, rtol: float = POSITIVITY_RTOL):
    """The positivity rule ``mu > rtol * lambda_max`` (tensors, arrays or floats).

    >>> is_positive(1e-9, 1.0), is_positive(3e-15, 1.0), is_positive(0.0, 0.0)
    (True, False, False)
    """
    return mu > rtol * lambda_max


def _spectrum(K: torch.Tensor) -> PLConstant:
    """Spectrum summary; a kernel with a non-finite entry (a diverged iterate) gives NaNs."""
    finite = torch.isfinite(K).flatten(1).all(dim=1)
    ev = torch.linalg.eigvalsh(torch.where(finite.view(-1, 1, 1), K, 0.0))
    nan = torch.tensor(math.nan, dtype=K.dtype, device=K.device)
    mu = torch.where(finite, ev[:, 0], nan)
    lam_max = torch.where(finite, ev[:, -1], nan)
    mean_diag = K.diagonal(dim1=1, dim2=2).mean(dim=1)
    return PLConstant(mu, lam_max, mean_diag, is_positive(mu, lam_max))


def pl_constant(op: FeatureOperator, B: torch.Tensor, A: torch.Tensor) -> PLConstant:
    """``mu = lambda_min(J J^T)``, ``lambda_max`` and ``mean(diag(J J^T))`` per trial, in float64.

    Examples
    --------
    A second route: ``mu`` is the squared least singular value of ``J`` when ``M <= r(m+n)``.

    >>> from numerics.engine.instances import sample_instances
    >>> from numerics.engine.solvers import random_starts
    >>> op, _ = sample_instances([0], m=5, n=5, M=6)
    >>> B, A = random_starts([1], 5, 5, 1)
    >>> c = pl_constant(op, B, A)
    >>> s = torch.linalg.svdvals(dense_jacobian(op, B, A))[0, -1] ** 2
    >>> bool(abs(c.mu[0] - s) <= 1e-12 * c.lambda_max[0]), bool(c.positive[0])
    (True, True)
    """
    return _spectrum(tangent_kernel(op, B, A))


def lora_start(seeds: Sequence[int], m: int, n: int, r: int, *, device="cpu", dtype=_F64,
               sample_device=None):
    """The LoRA start ``(B0, A0)``: ``B0 = 0``, ``A0`` iid ``N(0, 1/n)`` (one generator per seed,
    :func:`numerics.engine.solvers.recipe_init`).

    >>> B0, A0 = lora_start([1, 2], m=4, n=6, r=2)
    >>> tuple(B0.shape), tuple(A0.shape), bool((B0 == 0).all())
    ((2, 4, 2), (2, 2, 6), True)
    """
    m, n = require_positive_int("m", m), require_positive_int("n", n)
    r = require_rank("r", r, m, n)
    A0 = recipe_init(seeds, n, r, device=device, dtype=dtype, sample_device=sample_device)
    B0 = torch.zeros((len(seeds), m, r), dtype=A0.dtype, device=A0.device)
    return B0, A0


# --------------------------------------------------------------------------------------------
# Marchenko-Pastur


def mp_normalised_edge(M: int, d: int) -> float:
    """Marchenko-Pastur lower edge of ``X X^T / (sigma^2 d)`` for ``X`` of shape ``M x d``:
    ``(1 - sqrt(M / d))^2`` for ``M < d`` and 0 otherwise.

    >>> mp_normalised_edge(25, 100), mp_normalised_edge(100, 100), mp_normalised_edge(200, 100)
    (0.25, 0.0, 0.0)
    """
    M, d = require_positive_int("M", M), require_positive_int("d", d)
    return (1.0 - math.sqrt(M / d)) ** 2 if M < d else 0.0


def mp_edge(M: int, d: int, sigma2: float) -> float:
    """``sigma^2 (sqrt(d) - sqrt(M))^2`` for ``M < d`` (0 otherwise): the MP prediction of
    ``lambda_min(X X^T)`` for ``X`` of shape ``M x d`` with iid ``N(0, sigma^2)`` entries.

    >>> mp_edge(25, 100, 2.0)
    50.0
    """
    if isinstance(sigma2, bool) or not isinstance(sigma2, numbers.Real) or not sigma2 >= 0:
        raise InvalidArgument(f"sigma2 must be a non-negative number, got {sigma2!r}")
    return float(sigma2) * require_positive_int("d", d) * mp_normalised_edge(M, d)


def gaussian_gram_spectrum(seeds: Sequence[int], M: int, dims: Sequence[int], *, device="cpu",
                           sample_device=None) -> dict:
    """The baseline: for each ``d`` in ``dims``, a Gaussian ``M x d`` matrix per seed (iid
    ``N(0, 1)``, float64, drawn in the order of ``dims`` from one generator per seed) and the
    spectrum of its Gram matrix ``X X^T`` (:class:`PLConstant`, the same positivity rule).

    Returns ``{d: PLConstant}``.

    >>> out = gaussian_gram_spectrum([0, 1], M=20, dims=[80, 10])
    >>> bool(out[80].positive.all()), bool(out[10].positive.any())
    (True, False)
    >>> ratio = out[80].normalised()["by_diag"] / mp_normalised_edge(20, 80)
    >>> bool(((ratio > 0.5) & (ratio < 1.5)).all())
    True
    """
    M = require_positive_int("M", M)
    dims = [require_positive_int("d", d) for d in dims]
    dev = resolve_device(device)
    sdev = dev if sample_device is None else resolve_device(sample_device)
    mats = {d: torch.empty((len(seeds), M, d), dtype=_F64, device=dev) for d in dims}
    for t, seed in enumerate(seeds):
        g = torch.Generator(device=sdev)
        g.manual_seed(int(seed))
        for d in dims:
            mats[d][t].copy_(torch.randn((M, d), generator=g, dtype=_F64, device=sdev))
    return {d: _spectrum(X @ X.transpose(1, 2)) for d, X in mats.items()}


# --------------------------------------------------------------------------------------------
# Gradient descent and the rate check


class GDTrace(NamedTuple):
    """Per-trial gradient-descent trace (float64 tensors): ``loss``, ``mu``, ``lambda_max`` and
    ``beta`` have shape ``(T, steps + 1)`` (values at ``theta_0 .. theta_steps``), ``eta`` and
    ``c`` shape ``(T,)``."""

    loss: torch.Tensor
    mu: torch.Tensor
    lambda_max: torch.Tensor
    beta: torch.Tensor
    eta: torch.Tensor


def gd_trajectory(op: FeatureOperator, y: torch.Tensor, B0: torch.Tensor, A0: torch.Tensor,
                  steps: int, c: float = DEFAULT_GD_C) -> GDTrace:
    """Plain full-batch gradient descent on ``L = 1/2 ||calA(B A) - y||^2`` with the fixed step
    ``eta = c / beta_0`` (see the module docstring), recording ``L_t``, ``mu_t``,
    ``lambda_max_t`` and ``beta_t`` in float64 at every iterate.

    The iteration runs in the dtype of ``op``; the recorded values are recomputed from the
    float64 casts of the iterates and features (the explicit product ``B A``).

    Examples
    --------
    >>> from numerics.engine.instances import sample_instances
    >>> from numerics.engine.solvers import random_starts
    >>> op, y = sample_instances([0, 1], m=6, n=6, M=5)
    >>> B0, A0 = random_starts([2, 3], 6, 6, 1)
    >>> tr = gd_trajectory(op, y, B0, A0, steps=20)
    >>> tr.loss.shape, bool((tr.loss[:, -1] < tr.loss[:, 0]).all())
    (torch.Size([2, 21]), True)
    >>> bool(torch.allclose(tr.eta * tr.beta[:, 0], torch.full((2,), 0.5, dtype=torch.float64)))
    True
    """
    steps = require_nonneg_int("steps", steps)
    c = _positive_float("c", c)
    _check_point(op, B0, A0)
    if tuple(y.shape) != (op.T, op.M):
        raise InvalidArgument(f"y must have shape {(op.T, op.M)}, got {tuple(y.shape)}")
    dt, dev = op.dtype, op.device
    op64 = op.to(_F64)
    y64 = y.to(device=dev, dtype=_F64)
    yw = y.to(device=dev, dtype=dt)
    B, A = B0.to(device=dev, dtype=dt).clone(), A0.to(device=dev, dtype=dt).clone()
    rows = {k: [] for k in ("loss", "mu", "lambda_max", "beta")}
    eta = None
    for t in range(steps + 1):
        B64, A64 = B.to(_F64), A.to(_F64)
        R64 = op64.apply(B64 @ A64) - y64
        D64 = op64.adjoint(R64)
        spec = _spectrum(tangent_kernel(op64, B64, A64))
        ok = torch.isfinite(D64).flatten(1).all(dim=1).view(-1, 1, 1)
        beta = spec.lambda_max + torch.linalg.matrix_norm(torch.where(ok, D64, 0.0), ord=2)
        rows["loss"].append(0.5 * (R64 * R64).sum(dim=1))
        rows["mu"].append(spec.mu)
        rows["lambda_max"].append(spec.lambda_max)
        rows["beta"].append(beta)
        if t == 0:
            eta = c / beta
        if t == steps:
            break
        if dt == _F64:
            D = D64
        else:
            D = op.adjoint(op.apply(B @ A) - yw)
        e = eta.to(dt).view(-1, 1, 1)
        B, A = B - e * (D @ A.transpose(1, 2)), A - e * (B.transpose(1, 2) @ D)
    stack = {k: torch.stack(v, dim=1) for k, v in rows.items()}
    return GDTrace(stack["loss"], stack["mu"], stack["lambda_max"], stack["beta"], eta)


def check_pl_rate(loss, mu, lambda_max, beta, eta: float, *, working_eps: float = 2.0 ** -52,
                  rtol: float = POSITIVITY_RTOL, max_violations: int = 5) -> dict:
    """Check one trajectory against the PL rate (rules in the module docstring).

    Parameters
    ----------
    loss, mu, lambda_max, beta : sequences of float, length ``steps + 1``
    eta : float
        The step.
    working_eps : float
        Machine epsilon of the working dtype (sets the slack and the rounding floor).
    rtol : float
        The positivity rule for ``mu``.

    Returns
    -------
    dict
        ``steps_checked``, ``steps_ok``, ``steps_at_floor``, ``steps_mu_positive``,
        ``all_steps_ok``, ``cumulative_ok``, ``violations`` (count), ``violations_within_step_rule``
        (violations with ``eta max(beta_t, beta_{t+1}) <= 1``), ``first_violations`` (up to
        ``max_violations`` dicts), ``max_eta_beta``, ``decrease_over_bound`` (median over
        positive-``mu`` steps of ``(1 - L_{t+1}/L_t) / (eta mu_t)``; at least 1 when the rate
        holds) and ``final_loss_ratio`` ``L_T / L_0``.

    Examples
    --------
    A loss that contracts by exactly ``1 - eta mu`` passes; one that stalls while ``mu > 0`` fails.

    >>> ok = check_pl_rate([1.0, 0.9, 0.81], [0.1, 0.1, 0.1], [1, 1, 1], [1, 1, 1], 1.0)
    >>> ok["all_steps_ok"], ok["cumulative_ok"], ok["steps_checked"]
    (True, True, 2)
    >>> bad = check_pl_rate([1.0, 0.95, 0.9], [0.1, 0.1, 0.1], [1, 1, 1], [1, 1, 1], 1.0)
    >>> bad["violations"], bad["first_violations"][0]["t"]
    (2, 0)
    """
    L = np.asarray(loss, dtype=float)
    mu = np.asarray(mu, dtype=float)
    lmax = np.asarray(lambda_max, dtype=float)
    bt = np.asarray(beta, dtype=float)
    slack = RATE_SLACK_EPS * working_eps
    floor = (FLOOR_EPS * working_eps) ** 2 * L[0]
    mu_pos = np.where(is_positive(mu, lmax, rtol), mu, 0.0)
    factor = 1.0 - eta * mu_pos
    steps = len(L) - 1
    np_err = np.seterr(invalid="ignore", over="ignore")
    checked = ok = at_floor = positive = 0
    viol, within = [], 0
    cum_ok = True
    bound = L[0]
    ratios = []
    for t in range(steps):
        bound = bound * factor[t] * (1 + slack)
        if L[t] <= floor:
            at_floor += 1
            continue
        checked += 1
        positive += bool(mu_pos[t] > 0)
        passed = L[t + 1] <= factor[t] * L[t] + slack * L[t]
        ok += bool(passed)
        if mu_pos[t] > 0:
            ratios.append((1 - L[t + 1] / L[t]) / (eta * mu_pos[t]))
        if not (L[t + 1] <= bound or L[t + 1] <= floor):  # NaN fails too
            cum_ok = False
        if not passed:
            eb = float(eta * max(bt[t], bt[t + 1]))  # NaN (diverged) counts as outside
            within += eb <= 1
            if len(viol) < max_violations:
                viol.append({"t": t, "loss": float(L[t]), "next_loss": float(L[t + 1]),
                             "bound": float(factor[t] * L[t]), "mu": float(mu[t]),
                             "eta_beta": eb})
    np.seterr(**np_err)
    return {
        "steps_checked": checked, "steps_ok": ok, "steps_at_floor": at_floor,
        "steps_mu_positive": positive, "all_steps_ok": ok == checked, "cumulative_ok": cum_ok,
        "violations": checked - ok, "violations_within_step_rule": within,
        "first_violations": viol,
        "max_eta_beta": float(eta * np.nanmax(bt)) if np.isfinite(bt).any() else None,
        "nonfinite": bool(not np.isfinite(L).all()),
        "decrease_over_bound": float(np.median(ratios)) if ratios else None,
        "final_loss_ratio": float(L[-1] / L[0]) if L[0] > 0 else None,
    }


# --------------------------------------------------------------------------------------------
# Experiments: description, cells, trials, the resumable runner


def _positive_float(name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(
            float(value)) or value <= 0:
        raise InvalidArgument(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


@dataclass
class PLExperiment:
    """A PL* sweep: sizes ``(m, n, r)``, a grid in ``rho`` (or explicit ``M`` values), trials per
    cell, gradient-descent settings, seed, device and dtype. The command line's settings, with
    their help and defaults, are :class:`numerics.experiments.pl.PLConfig`.

    >>> exp = PLExperiment(sizes=[(8, 8, 1)], rho_grid=[0.5, 1.0, 2.0], trials_per_cell=4)
    >>> [c[3] for c in pl_cells(exp)]
    [30, 15, 8]
    >>> PLExperiment(sizes=[(8, 8, 9)], rho_grid=[1.0])
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: r must satisfy 1 <= r <= min(m, n) = 8, got 9
    """

    sizes: list
    rho_grid: list | None = None
    m_values: list | None = None
    trials_per_cell: int = 40
    gd_steps: int = 40
    gd_trials: int = 4
    gd_c: float = DEFAULT_GD_C
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"
    batch_size: int = 16

    def __post_init__(self):
        if not isinstance(self.sizes, (list, tuple)) or not self.sizes:
            raise InvalidArgument(f"sizes must be a non-empty list of (m, n, r), got {self.sizes!r}")
        out = []
        for s in self.sizes:
            try:
                m, n, r = s
            except (TypeError, ValueError):
                raise InvalidArgument(f"sizes entries must be (m, n, r), got {s!r}") from None
            m, n = require_positive_int("m", m), require_positive_int("n", n)
            out.append((m, n, require_rank("r", r, m, n)))
        self.sizes = out
        if (self.rho_grid is None) == (self.m_values is None):
            raise InvalidArgument(f"exactly one of rho_grid and m_values must be given, got "
                                  f"{self.rho_grid!r} and {self.m_values!r}")
        if self.rho_grid is not None:
            if not self.rho_grid:
                raise InvalidArgument(f"rho_grid must not be empty, got {self.rho_grid!r}")
            self.rho_grid = [_positive_float("rho_grid value", v) for v in self.rho_grid]
        else:
            if not self.m_values:
                raise InvalidArgument(f"m_values must not be empty, got {self.m_values!r}")
            self.m_values = [require_positive_int("M", v) for v in self.m_values]
        self.trials_per_cell = require_positive_int("trials_per_cell", self.trials_per_cell)
        self.gd_steps = require_nonneg_int("gd_steps", self.gd_steps)
        self.gd_trials = require_nonneg_int("gd_trials", self.gd_trials)
        self.gd_c = _positive_float("gd_c", self.gd_c)
        self.seed = require_nonneg_int("seed", self.seed)
        self.batch_size = require_positive_int("batch_size", self.batch_size)
        self.dtype = str(resolve_dtype(self.dtype)).removeprefix("torch.")
        self.device = str(self.device)
        if self.device.split(":")[0] not in ("cpu", "cuda"):
            raise InvalidArgument(f"device must be 'cpu' or 'cuda[:k]', got {self.device!r}")

    @classmethod
    def from_spec(cls, spec: dict, **overrides) -> "PLExperiment":
        """The experiment a record header describes (``device`` and ``batch_size`` are not in
        the spec: they default to the device type and 16 unless given).

        >>> e = PLExperiment(sizes=[(4, 4, 1)], m_values=[3], seed=5)
        >>> PLExperiment.from_spec(e.record_spec()) == e
        True
        """
        if not isinstance(spec, dict) or spec.get("estimand") != "pl":
            raise InvalidArgument(f"spec must be the spec of a PL* record, got {spec!r}")
        names = ("sizes", "rho_grid", "m_values", "trials_per_cell", "gd_steps", "gd_trials",
                 "gd_c", "seed", "dtype")
        kw = {k: spec[k] for k in names}
        kw["sizes"] = [tuple(s) for s in kw["sizes"]]
        kw["device"] = spec.get("device_type", "cpu")
        kw.update(overrides)
        return cls(**kw)

    def record_spec(self) -> dict:
        """Every setting that determines the trials (the record header); the device enters only
        by its type (CPU and CUDA generators differ), the batch size not at all.

        >>> sorted(PLExperiment(sizes=[(4, 4, 1)], m_values=[3]).record_spec())[:4]
        ['device_type', 'dtype', 'estimand', 'features']
        """
        spec = {k: v for k, v in asdict(self).items() if k not in ("batch_size", "device")}
        spec.update(estimand="pl", format=SUMMARY_FORMAT, device_type=self.device.split(":")[0],
                    features="gaussian", positivity_rtol=POSITIVITY_RTOL,
                    rate_slack_eps=RATE_SLACK_EPS, floor_eps=FLOOR_EPS)
        return to_jsonable(spec)


def pl_cells(experiment: PLExperiment) -> list[tuple[int, int, int, int]]:
    """Cells ``(m, n, r, M)`` per size, ``rho`` ascending, by the one rule of
    :func:`numerics.estimation.sweep.cells_of_grid`.

    >>> pl_cells(PLExperiment(sizes=[(4, 4, 2)], m_values=[20, 3, 12]))
    [(4, 4, 2, 20), (4, 4, 2, 12), (4, 4, 2, 3)]
    """
    from numerics.estimation.sweep import cells_of_grid

    return [tuple(c) for c in cells_of_grid(experiment.sizes, experiment.rho_grid,
                                            experiment.m_values)]


def _trace_dict(tr: GDTrace, t: int) -> dict:
    return {"eta": float(tr.eta[t]), "loss": tr.loss[t].tolist(), "mu": tr.mu[t].tolist(),
            "lambda_max": tr.lambda_max[t].tolist(), "beta": tr.beta[t].tolist()}


def _spec_dict(c: PLConstant, t: int) -> dict:
    return {"mu": float(c.mu[t]), "lambda_max": float(c.lambda_max[t]),
            "mean_diag": float(c.mean_diag[t])}


def run_trials(cell, trial_indices: Sequence[int], *, global_seed: int = 0, device="cpu",
               dtype="float64", gd_steps: int = 0, gd_trials: int = 0,
               gd_c: float = DEFAULT_GD_C) -> list[dict]:
    """Run the given trials of one cell; one JSON-able dict per trial.

    Each trial draws its instance, random start, LoRA start and Gaussian baselines from its own
    seeds (:func:`numerics.engine.seeding.trial_seed` of the global seed, a role name, the cell and the
    trial index) and is computed on its own tensors (a batch of one of the batched functions
    above). Batched BLAS and LAPACK calls round differently with the position of a matrix in
    its batch (memory alignment; measured here at 1e-14 relative), so computing trial by trial is
    what makes an outcome bit-for-bit independent of the batch it runs in, of resuming and of
    the batch size. At the sizes where the cost matters (``M`` in the hundreds or more) each
    trial's kernel and eigendecomposition are large single calls anyway. Trials with index
    below ``gd_trials`` also run ``gd_steps`` steps of gradient descent from both starts.

    Outcome keys: ``trial``; ``random``, ``lora`` (``mu``, ``lambda_max``, ``mean_diag``);
    ``gauss`` (``{str(d): same}`` for ``d`` in ``r(m+n)``, ``r(m+n-r)``, ``r m``); and, for GD
    trials, ``gd = {"random": trace, "lora": trace}`` with ``eta``, ``loss``, ``mu``,
    ``lambda_max``, ``beta`` lists.

    Examples
    --------
    >>> a = run_trials((6, 6, 1, 8), [0, 1, 2], global_seed=3)
    >>> b = run_trials((6, 6, 1, 8), [2], global_seed=3)
    >>> a[2] == b[0], sorted(a[0])
    (True, ['gauss', 'lora', 'random', 'trial'])
    """
    m, n, r, M = (require_positive_int(k, v) for k, v in zip(("m", "n", "r", "M"), cell))
    r = require_rank("r", r, m, n)
    idx = [require_nonneg_int("trial index", i) for i in trial_indices]
    if not idx:
        return []
    return [_one_trial((m, n, r, M), i, global_seed=global_seed, device=device, dtype=dtype,
                       gd_steps=gd_steps if i < gd_trials else 0, gd_c=gd_c) for i in idx]


def _one_trial(cell, i, *, global_seed, device, dtype, gd_steps, gd_c) -> dict:
    """One trial on its own freshly allocated tensors (batch of one)."""
    m, n, r, M = cell
    inst, rand, lora, gauss = (trial_seed(global_seed, role, m, n, r, M, i) for role in
                               ("pl-instance", "pl-random-start", "pl-lora-start", "pl-gaussian"))
    op, y = sample_instances([inst], m, n, M, device=device, dtype=dtype)
    Br, Ar = random_starts([rand], m, n, r, device=device, dtype=dtype)
    Bl, Al = lora_start([lora], m, n, r, device=device, dtype=dtype)
    dims = list(dict.fromkeys([r * (m + n), r * (m + n - r), r * m]))
    base = gaussian_gram_spectrum([gauss], M, dims, device=device)
    out = {"trial": i, "random": _spec_dict(pl_constant(op, Br, Ar), 0),
           "lora": _spec_dict(pl_constant(op, Bl, Al), 0),
           "gauss": {str(d): _spec_dict(base[d], 0) for d in dims}}
    if gd_steps > 0:
        out["gd"] = {"random": _trace_dict(gd_trajectory(op, y, Br, Ar, gd_steps, gd_c), 0),
                     "lora": _trace_dict(gd_trajectory(op, y, Bl, Al, gd_steps, gd_c), 0)}
    return out


# --------------------------------------------------------------------------------------------
# Summary


def _quantiles(values) -> dict | None:
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return None
    return {f"q{int(round(100 * q)):02d}": float(np.quantile(v, q)) for q in QUANTILES}


def _positivity(spec_rows: list, expected: bool) -> dict:
    mu = np.array([s["mu"] for s in spec_rows], dtype=float)
    lmax = np.array([s["lambda_max"] for s in spec_rows], dtype=float)
    diag = np.array([s["mean_diag"] for s in spec_rows], dtype=float)
    pos = is_positive(mu, lmax)
    k, n = int(pos.sum()), int(pos.size)
    lo, hi = wilson_interval(k, n)
    by_max = mu / lmax
    return {"trials": n, "positive": k, "p": k / n, "wilson95": [lo, hi],
            "expected_positive": bool(expected),
            "mu_raw": _quantiles(mu), "mu_by_max": _quantiles(by_max),
            "mu_by_diag": _quantiles(mu / diag),
            "max_by_max_called_zero": float(by_max[~pos].max()) if (~pos).any() else None,
            "min_by_max_called_positive": float(by_max[pos].min()) if pos.any() else None}


def _mp(spec_rows: list, M: int, d: int) -> dict:
    edge = mp_normalised_edge(M, d)
    out = {"d": d, "predicted_by_diag": edge}
    if edge > 0:
        ratios = [s["mu"] / s["mean_diag"] / edge for s in spec_rows]
        out["ratio"] = _quantiles(ratios)
    else:
        out["ratio"] = None
    return out


def _gd_summary(rows: list, kind: str, working_eps: float) -> dict | None:
    traces = [o["gd"][kind] for o in rows if "gd" in o]
    if not traces:
        return None
    checks = [check_pl_rate(tr["loss"], tr["mu"], tr["lambda_max"], tr["beta"], tr["eta"],
                            working_eps=working_eps) for tr in traces]
    ntraj = len(checks)
    steps = sum(c["steps_checked"] for c in checks)
    ok = sum(c["steps_ok"] for c in checks)
    all_ok = sum(c["all_steps_ok"] for c in checks)
    cum_ok = sum(c["cumulative_ok"] for c in checks)
    viol = []
    for o, c in zip([o for o in rows if "gd" in o], checks):
        for v in c["first_violations"]:
            if len(viol) < 5:
                viol.append({"trial": o["trial"], **v})
    ratios = [c["decrease_over_bound"] for c in checks if c["decrease_over_bound"] is not None]
    return {
        "trajectories": ntraj, "steps_checked": steps, "steps_ok": ok,
        "step_fraction_ok": ok / steps if steps else None,
        "steps_at_floor": sum(c["steps_at_floor"] for c in checks),
        "steps_mu_positive": sum(c["steps_mu_positive"] for c in checks),
        "trajectories_all_steps_ok": all_ok,
        "trajectories_all_steps_ok_wilson95": list(wilson_interval(all_ok, ntraj)),
        "trajectories_cumulative_ok": cum_ok,
        "trajectories_cumulative_ok_wilson95": list(wilson_interval(cum_ok, ntraj)),
        "violations": steps - ok,
        "violations_within_step_rule": sum(c["violations_within_step_rule"] for c in checks),
        "max_eta_beta": max((c["max_eta_beta"] for c in checks if c["max_eta_beta"] is not None),
                            default=None),
        "nonfinite_trajectories": sum(c["nonfinite"] for c in checks),
        "decrease_over_bound": _quantiles(ratios),
        "final_loss_ratio": _quantiles([c["final_loss_ratio"] for c in checks]),
        "first_violations": viol,
    }


ESTIMANDS = {
    "mu": "mu(theta) = lambda_min(J J^T), J the Jacobian of theta=(B, A) -> calA(B A), squared "
          "loss (the PL* constant); float64 eigvalsh of the kernel K_B + K_A",
    "positive": f"mu > {POSITIVITY_RTOL:g} * lambda_max(J J^T) (float64)",
    "P_random": "P(mu > 0) at a random point, B and A iid N(0, s^2), s = (r m n)^(-1/4); "
                "expected: positive iff M <= r(m+n-r) (rho >= 1)",
    "P_lora": "P(mu > 0) at the LoRA start, B = 0, A iid N(0, 1/n); expected: positive iff "
              "M <= r m",
    "mp": "Marchenko-Pastur: mu / mean(diag(J J^T)) against (1 - sqrt(M/d))^2, i.e. sigma^2 = "
          "mean(diag(J J^T)) / d in sigma^2 (sqrt(d) - sqrt(M))^2; d = r(m+n) ('shape') or the "
          "generic rank ('rank': r(m+n-r) at random points, r m at the LoRA start); ratio = "
          "measured / predicted per trial (quantiles); baseline: real Gaussian M x d matrices with "
          "the same rule",
    "gd": "full-batch GD, eta = c / beta_0, beta_t = lambda_max(J J^T) + ||calA^*(R_t)||_2; step t "
          "passes iff L_{t+1} <= (1 - eta mu_t^+) L_t + slack L_t (mu^+ = mu if positive else 0, "
          f"slack = {RATE_SLACK_EPS:g} eps(working dtype)); steps with L_t <= ({FLOOR_EPS:g} eps)^2 "
          "L_0 not checked; cumulative: L_t <= L_0 prod_{s<t} (1 - eta mu_s^+) (1 + slack)^t",
}


def summarise_pl(experiment: PLExperiment, outcomes: dict, *, record=None) -> dict:
    """The summary dict: per (size, rank) group and cell, ``P(mu > 0)`` at random points and at
    the LoRA start with Wilson intervals, quantiles of the normalised constants, the MP ratios
    and the Gaussian baselines, and the GD rate check; plus definitions, sizes, grid, trials,
    seed, environment and wall time.

    Examples
    --------
    >>> exp = PLExperiment(sizes=[(4, 4, 1)], m_values=[9, 5], trials_per_cell=3, gd_steps=3,
    ...                    gd_trials=1)
    >>> out = {c: run_trials(c, range(3), gd_steps=3, gd_trials=1) for c in pl_cells(exp)}
    >>> s = summarise_pl(exp, out)
    >>> [(c["M"], c["random"]["positive"]) for c in s["groups"][0]["cells"]]
    [(9, 0), (5, 3)]
    """
    working_eps = torch.finfo(resolve_dtype(experiment.dtype)).eps
    grid = pl_cells(experiment)
    groups = {}
    found = 0
    for cell in grid:
        m, n, r, M = cell
        rows = outcomes.get(cell, [])
        g = groups.setdefault((m, n, r), {"m": m, "n": n, "r": r, "dim": r * (m + n - r),
                                          "rm": r * m, "cells": []})
        if not rows:
            continue
        found += len(rows)
        dim, rm, p = r * (m + n - r), r * m, r * (m + n)
        rand = [o["random"] for o in rows]
        lora = [o["lora"] for o in rows]
        c = {"M": M, "rho": dim / M, "trials": len(rows),
             "random": _positivity(rand, M <= dim), "lora": _positivity(lora, M <= rm)}
        c["random"]["mp"] = {"shape": _mp(rand, M, p), "rank": _mp(rand, M, dim)}
        c["lora"]["mp"] = {"shape": _mp(lora, M, p), "rank": _mp(lora, M, rm)}
        c["baseline"] = {}
        for label, d in (("shape", p), ("rank", dim), ("lora_rank", rm)):
            b = [o["gauss"][str(d)] for o in rows]
            c["baseline"][label] = {**_mp(b, M, d),
                                    "positive": int(sum(is_positive(x["mu"], x["lambda_max"])
                                                        for x in b))}
        c["gd"] = {"random": _gd_summary(rows, "random", working_eps),
                   "lora": _gd_summary(rows, "lora", working_eps)}
        g["cells"].append(c)
    for g in groups.values():
        g["structure"] = {}
        for kind in ("random", "lora"):
            cs = [c[kind] for c in g["cells"]]
            zero = [x["max_by_max_called_zero"] for x in cs if x["max_by_max_called_zero"] is not None]
            pos = [x["min_by_max_called_positive"] for x in cs if x["min_by_max_called_positive"] is not None]
            g["structure"][kind] = {
                "cells_as_expected": sum((x["positive"] == x["trials"]) if x["expected_positive"]
                                         else (x["positive"] == 0) for x in cs),
                "cells": len(cs),
                "max_by_max_called_zero": max(zero) if zero else None,
                "min_by_max_called_positive": min(pos) if pos else None,
            }
    sessions = getattr(outcomes, "sessions", [])
    expected = len(grid) * experiment.trials_per_cell
    return to_jsonable({
        "format": SUMMARY_FORMAT,
        "estimands": ESTIMANDS,
        "rules": {"positivity_rtol": POSITIVITY_RTOL, "rate_slack": RATE_SLACK_EPS * working_eps,
                  "rate_floor_rel": (FLOOR_EPS * working_eps) ** 2, "gd_c": experiment.gd_c,
                  "quantiles": list(QUANTILES), "wilson_confidence": 0.95},
        "experiment": experiment.record_spec(),
        "device": experiment.device,
        "trials_expected": expected, "trials_found": found, "complete": found == expected,
        "groups": list(groups.values()),
        "environment": [s["environment"] for s in sessions if s.get("event") == "start"
                        and "environment" in s] or [environment_info(experiment.device)],
        "wall_time": wall_time(sessions),
        "record": None if record is None else str(record),
    })


# --------------------------------------------------------------------------------------------
# Figure


def pl_figure(summary: dict):
    """``mu / mean(diag)`` against ``rho`` per (size, rank): medians and 5-95% bands at random
    points and at the LoRA start, the MP predictions (shape and rank), the Gaussian baseline
    (shape) medians; cells with median ``mu`` below the positivity rule are drawn at the bottom
    edge (open markers).

    >>> exp = PLExperiment(sizes=[(4, 4, 1)], m_values=[9, 5, 3], trials_per_cell=3)
    >>> out = {c: run_trials(c, range(3)) for c in pl_cells(exp)}
    >>> fig = pl_figure(summarise_pl(exp, out))
    >>> len(fig.axes)
    1
    """
    from matplotlib.figure import Figure

    groups = [g for g in summary["groups"] if g["cells"]]
    ncol = min(3, max(1, len(groups)))
    nrow = max(1, math.ceil(len(groups) / ncol))
    fig = Figure(figsize=(4.2 * ncol, 3.4 * nrow), layout="constrained")
    floor = 1e-8
    for k, g in enumerate(groups):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        m, n, r = g["m"], g["n"], g["r"]
        rho = np.array([c["rho"] for c in g["cells"]])
        dim, p, rm = g["dim"], r * (m + n), r * m
        fine = np.geomspace(rho.min(), rho.max(), 200)
        Mc = dim / fine
        ax.plot(fine, np.where(Mc < p, (1 - np.sqrt(np.minimum(Mc / p, 1))) ** 2, np.nan), "k--",
                lw=1, label="MP, d = r(m+n)")
        ax.plot(fine, np.where(Mc < dim, (1 - np.sqrt(np.minimum(Mc / dim, 1))) ** 2, np.nan),
                "k:", lw=1.2, label="MP, d = r(m+n-r)")
        ax.plot(fine, np.where(Mc < rm, (1 - np.sqrt(np.minimum(Mc / rm, 1))) ** 2, np.nan),
                color="tab:orange", ls=":", lw=1, label="MP, d = r m")
        for kind, color, label in (("random", "tab:blue", "random point"),
                                   ("lora", "tab:orange", "LoRA start (B = 0)")):
            med = np.array([c[kind]["mu_by_diag"]["q50"] for c in g["cells"]])
            lo = np.array([c[kind]["mu_by_diag"]["q05"] for c in g["cells"]])
            hi = np.array([c[kind]["mu_by_diag"]["q95"] for c in g["cells"]])
            pos = np.array([c[kind]["p"] >= 0.5 for c in g["cells"]])
            ax.fill_between(rho, np.clip(lo, floor, None), np.clip(hi, floor, None),
                            where=pos, color=color, alpha=0.2, lw=0)
            ax.plot(rho[pos], med[pos], "o-", color=color, ms=4, label=label)
            ax.plot(rho[~pos], np.full((~pos).sum(), floor), "o", mfc="none", color=color, ms=5)
        base = np.array([(c["baseline"]["shape"]["ratio"] or {}).get("q50", np.nan)
                         * c["baseline"]["shape"]["predicted_by_diag"] for c in g["cells"]])
        ax.plot(rho, base, "x", color="0.3", ms=5, label="Gaussian M x r(m+n)")
        ax.axvline(1.0, color="0.5", lw=0.8)
        ax.axvline((m + n - r) / m, color="tab:orange", lw=0.8, alpha=0.6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(floor / 3, 1.5)
        ax.set_title(f"{m}x{n}, r = {r}", fontsize=9)
        ax.set_xlabel("rho = r(m+n-r)/M")
        ax.set_ylabel("mu / mean diag(JJ^T)")
        if k == 0:
            ax.legend(fontsize=6, loc="lower right")
    fig.suptitle("PL* constant of LoRA (squared loss, Gaussian-iid features); open markers: "
                 f"mu <= {POSITIVITY_RTOL:g} lambda_max", fontsize=9)
    return fig


def plot_pl_summary(summary: dict, stem) -> list[Path]:
    """Save :func:`pl_figure` as ``stem.png`` and ``stem.pdf``.

    >>> import tempfile, os
    >>> [p.suffix for p in plot_pl_summary({"groups": []}, os.path.join(tempfile.mkdtemp(), "f"))]
    ['.png', '.pdf']
    """
    from numerics.estimation.plots import save_figure

    return save_figure(pl_figure(summary), stem)
