"""The cross-entropy LoRA recipe where a separator exists (THEORY.md section 2, R2; issue 12, item 4).

The paper's claim "with cross-entropy a PL argument removes the rank threshold" is read here as
an *optimisation* claim: where a rank-``r`` separator exists, the LoRA recipe (``B = 0``,
Gaussian ``A``, plain full-batch gradient descent) on the cross-entropy (logistic) loss drives
the loss to 0, i.e. reaches a point where every margin is positive. E4
(:mod:`numerics.engine.separability`) measures whether a separator *exists* for random labels;
this module measures whether the recipe *finds* one, conditional on existence.

Instances
---------
Gaussian-iid features ``G_1 .. G_N`` in R^{m x n} (``K = 1``, ``M = N``), drawn by
:func:`numerics.engine.instances.sample_instances` from the seed
:func:`numerics.engine.capacity.instance_seed` (the features of E1 and E4 at the same cell,
trial and global seed). Two kinds of labels:

- ``"random-separable"``: E4's fair labels ``s_i = sign(y_i)`` of the same instance. The instance
  is first certified separable by E4's solver (damped Gauss-Newton with restarts,
  :func:`numerics.engine.separability.separate`, with E4's start seeds). A trial whose instance
  is not certified is recorded with ``separator_certified = False``; the summary excludes it
  from the conditional rate (it counts neither as a success nor as a failure).
- ``"planted"``: ``s_i = sign(<G_i, Delta*>)`` with a rank-``r0`` teacher ``Delta* = U V^T``,
  ``U`` (``m x r0``) and ``V`` (``n x r0``) iid ``N(0, 1)`` from their own generator
  (:func:`teacher_seed`). For ``r >= r0`` the teacher is a rank-``r`` separator by construction,
  at any ``N`` (also ``N >> r (m + n - r)``); ``separator_certified`` is whether every teacher
  margin is positive in float64 (false only if some ``<G_i, Delta*> = 0``).

The recipe
----------
``B0 = 0``, ``A0`` entries iid ``N(0, 1/n)`` (:func:`numerics.engine.solvers.recipe_init`, E3's
recipe, from :func:`recipe_seed`), then ``theta <- theta - eta_t grad L(theta)`` on the mean
logistic loss ``L = (1/N) sum_i log(1 + exp(-z_i))``, ``z_i = s_i <G_i, B A>``, with ``B`` and
``A`` updated together. Step rule (derived as E3's, :class:`numerics.engine.solvers.RecipeConfig`,
fixed before anything was measured and not tuned): ``eta_t = c / L_t`` with the curvature bound

    ``L_t = s^2 (||A_t||_2^2 + ||B_t||_2^2) / (4 N) + s ||g_t|| / N``,

``s`` a power-iteration estimate of ``||calA||_op`` and ``g_i = -s_i sigma(-z_i)``. The Hessian
quadratic form of ``L`` at ``(B, A)`` in a direction ``d = (dB, dA)`` is
``(1/N) sum_i w_i (J_i d)^2 + (2/N) <calA^*(g), dB dA>`` with ``w_i = sigma(z_i) sigma(-z_i) <= 1/4``;
the first part is at most ``s^2 (||A||_2^2 + ||B||_2^2) ||d||^2 / (4 N)`` and the second at most
``2 s ||g|| ||dB||_F ||dA||_F / N <= s ||g|| ||d||^2 / N``. ``c = 1`` is the classical ``1/L``
step.

Outcome of a trial
------------------
Success at budget ``T``: the iterate after ``T`` steps separates, certified in float64 by
:func:`numerics.engine.separability.certify_separation` (normalised margin ``>= 1e-8``). Per
trial the outcome records the success and the normalised margin at each budget, the loss at
each budget and at the end, the minimum over the trajectory (steps ``0 .. max(budgets)``) of the
Lojasiewicz ratio ``||grad L|| / L`` (a PL-type inequality ``||grad L||^2 >= 2 mu L`` with a
positive ``mu`` cannot hold once ``L -> 0`` unless this ratio stays bounded below; for logistic
loss ``||grad L|| / L`` is the natural scale-free ratio), and the squared-loss recipe of E3
(:func:`numerics.engine.solvers.lora_recipe`, same instance, same ``A0``, targets ``s_i``) at the
same budgets: its float64 relative residual ``||calA(B A) - s|| / ||s||``.

>>> out = run_trials((4, 4, 1, 6), [0, 1], global_seed=0, labels="planted", budgets=(10, 200))
>>> [o["separator_certified"] for o in out]
[True, True]
>>> sorted(out[0]["success_at"])
['10', '200']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import torch

from numerics.engine.instances import FeatureOperator, resolve_device, resolve_dtype, sample_instances
from numerics.engine.seeding import trial_seed
from numerics.engine.separability import (MARGIN_THRESHOLD, SepConfig, certify_separation,
                                          labels_from_targets, sep_start_seed, separate)
from numerics.engine.solvers import (check_budgets, feature_opnorm, lora_grad_A, lora_grad_B,
                                     lora_recipe, recipe_init, spectral_norm2)
from proofs.validation import InvalidArgument, require_positive_float, require_positive_int, require_rank

__all__ = ["LABELS", "XentConfig", "XentResult", "teacher_seed", "sample_xent_instances",
           "logistic_loss_and_grad", "xent_recipe", "run_trials"]

#: The two kinds of labels.
LABELS = ("random-separable", "planted")


@dataclass
class XentConfig:
    """Settings of :func:`xent_recipe`.

    >>> XentConfig().c
    1.0
    >>> XentConfig(c=0)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: c must be a positive finite number, got 0
    """

    c: float = field(default=1.0, metadata={"help": "step constant, eta_t = c / L_t"})
    power_iters: int = field(default=20, metadata={"help": "power iterations for ||calA||_op"})
    margin_threshold: float = field(default=MARGIN_THRESHOLD,
                                    metadata={"help": "success iff float64 normalised margin >= this"})

    def __post_init__(self):
        require_positive_float("c", self.c)
        require_positive_int("power_iters", self.power_iters)
        require_positive_float("margin_threshold", self.margin_threshold)


@dataclass
class XentResult:
    """Per-trial outcome of :func:`xent_recipe` (leading size ``T``; ``k`` indexes budgets):
    ``margin_at`` (``(T, k)``, float64 normalised margins, NaN where not finite), ``success_at``
    (``margin_at >= margin_threshold``), ``loss_at`` (``(T, k)``, float64 mean logistic loss),
    ``min_loj_ratio`` (``(T,)``, min over steps of ``||grad L|| / L``), ``nonfinite`` ``(T,)``."""

    budgets: list
    margin_at: torch.Tensor
    success_at: torch.Tensor
    loss_at: torch.Tensor
    min_loj_ratio: torch.Tensor
    nonfinite: torch.Tensor


def teacher_seed(global_seed: int, m: int, n: int, r0: int, N: int, trial: int) -> int:
    """Seed of the planted teacher of a trial (its own generator, apart from the instance's).

    >>> teacher_seed(0, 8, 8, 1, 30, 0) != teacher_seed(0, 8, 8, 1, 30, 1)
    True
    """
    return trial_seed(global_seed, "xent-teacher", "gaussian", m, n, r0, N, trial)


def _teacher(seeds, m, n, r0, device, dtype):
    dev = resolve_device(device)
    out = torch.empty((len(seeds), m, n), dtype=torch.float64, device=dev)
    for t, seed in enumerate(seeds):
        g = torch.Generator(device="cpu").manual_seed(int(seed))
        U = torch.randn((m, r0), generator=g, dtype=torch.float64)
        V = torch.randn((n, r0), generator=g, dtype=torch.float64)
        out[t].copy_(U @ V.T)
    return out


def sample_xent_instances(instance_seeds, m: int, n: int, N: int, *, labels: str,
                          teacher_seeds=None, teacher_rank: int = 1, device="cpu",
                          dtype=torch.float64):
    """``(op, s, separator_margin)``: the features of ``instance_seeds``, the labels, and for
    planted labels the float64 normalised margin of the teacher (``None`` for random labels).

    The teacher is drawn on the CPU (float64) from ``teacher_seeds``, so the labels of an
    instance do not depend on the device; planted labels are ``sign(<G_i, Delta*>)`` computed
    in float64.

    >>> op, s, tm = sample_xent_instances([1], 3, 4, 50, labels="planted", teacher_seeds=[2])
    >>> tuple(s.shape), bool((tm > 0).all())
    ((1, 50), True)
    """
    if labels not in LABELS:
        raise InvalidArgument(f"labels must be one of {LABELS}, got {labels!r}")
    op, y = sample_instances(list(instance_seeds), m, n, N, features="gaussian", device=device,
                             dtype=dtype)
    if labels == "random-separable":
        return op, labels_from_targets(y), None
    r0 = require_rank("teacher_rank", teacher_rank, m, n)
    if teacher_seeds is None or len(teacher_seeds) != len(instance_seeds):
        raise InvalidArgument("planted labels need one teacher seed per instance")
    delta = _teacher(teacher_seeds, m, n, r0, op.device, torch.float64)
    f = op.to(torch.float64).apply(delta)
    s = labels_from_targets(f)
    eye = torch.eye(n, dtype=torch.float64, device=op.device).expand(len(instance_seeds), n, n)
    margin = certify_separation(op, s, delta, eye)          # Delta* = Delta* I, in float64
    return op, s.to(op.dtype), margin


def logistic_loss_and_grad(op: FeatureOperator, s: torch.Tensor, B: torch.Tensor, A: torch.Tensor):
    """``(loss, grad_B, grad_A, g)`` of the mean logistic loss ``(1/N) sum softplus(-z_i)``,
    ``z_i = s_i <G_i, B A>``; ``g_i = -s_i sigma(-z_i)`` (so ``dL/df_i = g_i / N``).

    >>> from numerics.engine.separability import sample_separability_instances
    >>> op, s = sample_separability_instances([0], 2, 3, 4)
    >>> B = torch.zeros(1, 2, 1, dtype=torch.float64); A = torch.ones(1, 1, 3, dtype=torch.float64)
    >>> loss, gB, gA, g = logistic_loss_and_grad(op, s, B, A)
    >>> round(float(loss), 6), float(gA.abs().max())    # log 2, and no gradient in A at B = 0
    (0.693147, 0.0)
    """
    T, M = s.shape
    Rn = op.right_native(A)                                    # (T, r, m, M)
    bt = B.transpose(1, 2).reshape(T, 1, -1)
    f = torch.bmm(bt, Rn.reshape(T, -1, M)).view(T, M)
    z = s * f
    loss = torch.nn.functional.softplus(-z).mean(dim=1)
    g = -s * torch.sigmoid(-z)
    gN = g / M
    grad_B = lora_grad_B(Rn, gN)
    grad_A = lora_grad_A(op.left_native(B), gN)
    return loss, grad_B, grad_A, g


def xent_recipe(op: FeatureOperator, s: torch.Tensor, r: int, budgets, config: XentConfig | None = None,
                *, A0: torch.Tensor) -> XentResult:
    """The cross-entropy LoRA recipe: ``B = 0``, ``A = A0``, ``max(budgets)`` steps of gradient
    descent with ``eta_t = c / L_t`` (module docstring), the float64 certificate at each budget.

    Every trial runs all steps (the loss and the Lojasiewicz ratio are tracked to the end).

    >>> op, s, _ = sample_xent_instances([0, 1], 4, 4, 40, labels="planted", teacher_seeds=[5, 6])
    >>> res = xent_recipe(op, s, 1, [0, 300], A0=recipe_init([7, 8], 4, 1))
    >>> res.success_at[:, 0].tolist(), bool((res.loss_at[:, 1] < res.loss_at[:, 0]).all())
    ([False, False], True)
    """
    cfg = XentConfig() if config is None else config
    if tuple(s.shape) != (op.T, op.M):
        raise InvalidArgument(f"s must have shape {(op.T, op.M)}, got {tuple(s.shape)}")
    if not bool(((s == 1) | (s == -1)).all()):
        raise InvalidArgument("s must hold labels +1 and -1 only")
    r = require_rank("r", r, op.m, op.n)
    if A0.dim() != 3 or tuple(A0.shape) != (op.T, r, op.n):
        raise InvalidArgument(f"A0 must have shape {(op.T, r, op.n)}, got {tuple(A0.shape)}")
    budgets = check_budgets(budgets)
    T, M, m, n = op.shape
    dt, dev = op.dtype, op.device
    s = s.to(dt)
    A = A0.to(dt).clone()
    B = torch.zeros((T, m, r), dtype=dt, device=dev)
    sn = feature_opnorm(op, s, cfg.power_iters)
    k = len(budgets)
    margin_at = torch.full((T, k), math.nan, dtype=torch.float64, device=dev)
    loss_at = torch.full((T, k), math.nan, dtype=torch.float64, device=dev)
    min_ratio = torch.full((T,), math.inf, dtype=torch.float64, device=dev)
    nonfinite = torch.zeros(T, dtype=torch.bool, device=dev)
    j = 0
    for t in range(budgets[-1] + 1):
        loss, gB, gA, g = logistic_loss_and_grad(op, s, B, A)
        gnorm = torch.sqrt(gB.flatten(1).pow(2).sum(1) + gA.flatten(1).pow(2).sum(1))
        ratio = (gnorm / loss).to(torch.float64)
        nonfinite |= ~(torch.isfinite(loss) & torch.isfinite(gnorm))
        min_ratio = torch.where(torch.isfinite(ratio), torch.minimum(min_ratio, ratio), min_ratio)
        if t == budgets[j]:
            margin_at[:, j] = certify_separation(op, s, B, A)
            loss_at[:, j] = _loss64(op, s, B, A)
            j += 1
            if j == k:
                break
        curv = sn * sn * (spectral_norm2(A) + spectral_norm2(B)) / (4 * M) + sn * g.norm(dim=1) / M
        eta = (cfg.c / curv).view(-1, 1, 1)
        B, A = B - eta * gB, A - eta * gA
    success = torch.isfinite(margin_at) & (margin_at >= cfg.margin_threshold)
    return XentResult(list(budgets), margin_at, success, loss_at, min_ratio, nonfinite)


def _loss64(op, s, B, A):
    """The mean logistic loss recomputed in float64 from ``Delta = B A``."""
    delta = B.to(torch.float64) @ A.to(torch.float64)
    z = s.to(torch.float64) * op.to(torch.float64).apply(delta)
    return torch.nn.functional.softplus(-z).mean(dim=1)


def _num(x):
    x = float(x)
    return x if math.isfinite(x) else None


def run_trials(cell, trial_indices: Sequence[int], *, global_seed: int = 0,
               labels: str = "planted", teacher_rank: int = 1, budgets=(100, 1000),
               restarts: int = 4, max_iters: int = 100, device="cpu", dtype="float64",
               config: XentConfig | None = None, batch_size: int = 64) -> list[dict]:
    """One outcome dict per trial index of ``cell = (m, n, r, N)``, in order::

        {"trial", "seed",                      # the instance seed (E1's and E4's features)
         "separator_certified": bool,          # E4's solver certified it / the teacher separates
         "separator_margin": float | None,     # that separator's float64 normalised margin
         "success_at": {budget: bool},         # the recipe's iterate separates (float64)
         "margin_at": {budget: float | None},
         "loss_at": {budget: float | None},    # mean logistic loss (float64)
         "min_loj_ratio": float | None,        # min over steps of ||grad L|| / L
         "e3_rel_residual_at": {budget: float | None},  # squared-loss recipe, targets s
         "nonfinite": bool}

    Trials are seeded from ``global_seed``, the cell and the index only, so the outcome of a
    trial does not depend on ``batch_size``.

    >>> out = run_trials((3, 3, 1, 4), [0], labels="random-separable", budgets=(5,), restarts=1)
    >>> out[0]["separator_certified"], sorted(out[0])[:3]
    (True, ['e3_rel_residual_at', 'loss_at', 'margin_at'])
    """
    from numerics.engine.capacity import instance_seed, recipe_seed

    m, n, r, N = (require_positive_int(k, v) for k, v in zip("mnrN", cell))
    r = require_rank("r", r, m, n)
    if labels not in LABELS:
        raise InvalidArgument(f"labels must be one of {LABELS}, got {labels!r}")
    if labels == "planted" and teacher_rank > r:
        raise InvalidArgument(f"teacher_rank {teacher_rank} is above r = {r}: the teacher is then "
                              "no rank-r separator")
    budgets = check_budgets(budgets)
    restarts = require_positive_int("restarts", restarts)
    batch_size = require_positive_int("batch_size", batch_size)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    out = []
    trials = [int(t) for t in trial_indices]
    for lo in range(0, len(trials), batch_size):
        chunk = trials[lo: lo + batch_size]
        seeds = [instance_seed(global_seed, "gaussian", m, n, N, None, t) for t in chunk]
        tseeds = [teacher_seed(global_seed, m, n, teacher_rank, N, t) for t in chunk]
        op, s, tmargin = sample_xent_instances(seeds, m, n, N, labels=labels, teacher_seeds=tseeds,
                                               teacher_rank=teacher_rank, device=dev, dtype=dt)
        if labels == "random-separable":
            start_seeds = [[sep_start_seed(global_seed, m, n, r, N, t, k) for k in range(restarts)]
                           for t in chunk]
            sep = separate(op, s, r, start_seeds, SepConfig(max_iter=max_iters))
            certified = [fs is not None for fs in sep["first_success"]]
            smargin = [m_ if ok else None for m_, ok in zip(sep["best_margin"], certified)]
        else:
            tm = tmargin.tolist()
            certified = [math.isfinite(v) and v > 0 for v in tm]
            smargin = [_num(v) for v in tm]
        rseeds = [recipe_seed(global_seed, "gaussian", m, n, r, N, None, t) for t in chunk]
        A0 = recipe_init(rseeds, n, r, device=dev, dtype=dt)
        res = xent_recipe(op, s, r, budgets, config, A0=A0)
        e3 = lora_recipe(op, s, r, budgets, A0=A0)
        keys = [str(b) for b in budgets]
        for j, t in enumerate(chunk):
            out.append({
                "trial": t, "seed": seeds[j],
                "separator_certified": bool(certified[j]),
                "separator_margin": smargin[j],
                "success_at": dict(zip(keys, res.success_at[j].tolist())),
                "margin_at": {b: _num(v) for b, v in zip(keys, res.margin_at[j].tolist())},
                "loss_at": {b: _num(v) for b, v in zip(keys, res.loss_at[j].tolist())},
                "min_loj_ratio": _num(res.min_loj_ratio[j]),
                "e3_rel_residual_at": {b: _num(v) for b, v in zip(keys, e3.rel_residual_at[j].tolist())},
                "nonfinite": bool(res.nonfinite[j]) or bool(e3.nonfinite[j]),
            })
        del op, s
    return out
