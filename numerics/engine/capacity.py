"""Trial functions of the C* capacity engine: what the sweep runner calls for one grid cell.

:func:`run_trials` takes a cell ``(m, n, r, M)``, a list of trial indices and a global seed, and
returns one JSON-serialisable dict per trial. Each trial's instance and each of its start
points come from their own seeds (:func:`instance_seed`, :func:`start_seed`), so the outcome of
a trial does not depend on the batch size or on how the trials are split across calls,
processes or ranks. The instance of trial ``i`` depends on ``(features, m, n, M, K, i)`` but
not on ``r`` or the estimand: estimands and ranks are compared on the same instances.

Outcome schemas
---------------
``estimand="lm"`` (serves E1 and E2; THEORY.md section 2)::

    {"trial": int, "seed": int,                # the instance seed
     "restart_success": [bool, ...],           # restarts run, up to and including the first success
     "first_success": int | None,              # index of the first certified restart
     "best_rel_residual": float | None,        # least certified float64 relative residual (None if none finite)
     "iterations": int,                        # LM iterations over all restarts run (polishing included)
     "nonfinite": bool}                        # some restart produced a non-finite value (counted as a failure)

E2 is ``restart_success[0]``; E1 with ``k`` restarts is ``first_success is not None and
first_success < k``.

``estimand="recipe"`` (E3)::

    {"trial": int, "seed": int,
     "rel_residual_at": {"100": float | None, ...},   # float64 relative residual after each budget
     "nonfinite": bool}

Success for ``(T, eps)`` is ``rel_residual_at[str(T)] <= eps``, decided downstream.

``estimand="logistic"`` (E4, separability of fair +-1 labels by a rank-r update; Gaussian
features only, ``M = N``; solver and certificate in :mod:`numerics.engine.separability`)::

    {"trial": int, "seed": int,                # the instance seed (the same instance as "lm")
     "restart_success": [bool, ...],           # starts run, up to and including the first success
     "first_success": int | None,              # index of the first certified start
     "success_iteration": int | None,          # iterations the certified start took
     "iterations": int,                        # iterations over all starts run
     "best_margin": float | None,              # largest float64 normalised margin over the starts
     "nonfinite": bool}                        # some start produced a non-finite value (a failure)

E4 with ``k`` starts and budget ``T`` is ``first_success < k and success_iteration <= T``.

>>> out = run_trials("lm", (4, 4, 1, 5), [0, 1], global_seed=0, restarts=2)
>>> [o["first_success"] for o in out]
[0, 0]
"""

from __future__ import annotations

import contextlib
import math
import numbers

import torch

from numerics.engine.instances import resolve_device, resolve_dtype, sample_instances
from numerics.engine.seeding import trial_seed
from numerics.estimation.sweep import ESTIMANDS  # one list of estimands, where experiments are defined
from numerics.engine.solvers import (
    LMConfig,
    RecipeConfig,
    lm_restarts,
    lora_recipe,
    recipe_init,
)
from proofs.validation import InvalidArgument, require_positive_int, require_rank

__all__ = [
    "canonical_check",
    "ESTIMANDS",
    "auto_batch_size",
    "check_cell",
    "torch_threads",
    "instance_seed",
    "recipe_seed",
    "run_trials",
    "start_seed",
]

_FEATURES = ("gaussian", "structured")
_CPU_MAX_BATCH = 1024
_CUDA_MAX_BATCH = 1 << 16


def check_cell(cell, features: str = "gaussian", K=None) -> tuple[int, int, int, int]:
    """Check a cell ``(m, n, r, M)`` (and ``K`` for structured features) and return it.

    >>> check_cell((8, 8, 2, 21))
    (8, 8, 2, 21)
    >>> check_cell((8, 8, 2, 21), "structured", K=2)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: K must divide M = 21, got 2
    """
    try:
        m, n, r, M = cell
    except (TypeError, ValueError):
        raise InvalidArgument(f"cell must be (m, n, r, M), got {cell!r}") from None
    m, n, M = require_positive_int("m", m), require_positive_int("n", n), require_positive_int("M", M)
    r = require_rank("r", r, m, n)
    if features not in _FEATURES:
        raise InvalidArgument(f"features must be 'gaussian' or 'structured', got {features!r}")
    if features == "structured":
        if K is None:
            raise InvalidArgument("K must be given for structured features, got None")
        K = require_positive_int("K", K)
        if M % K:
            raise InvalidArgument(f"K must divide M = {M}, got {K}")
    return m, n, r, M


def _k_key(features, K):
    return int(K) if features == "structured" else None


def instance_seed(global_seed: int, features: str, m: int, n: int, M: int, K, trial: int) -> int:
    """Seed of trial ``trial``'s instance (independent of ``r`` and of the estimand).

    >>> instance_seed(0, "gaussian", 8, 8, 21, None, 3) == instance_seed(0, "gaussian", 8, 8, 21, None, 3)
    True
    """
    return trial_seed(global_seed, "instance", features, m, n, M, _k_key(features, K), trial)


def start_seed(global_seed: int, features: str, m: int, n: int, r: int, M: int, K, trial: int,
               restart: int) -> int:
    """Seed of the Levenberg-Marquardt start ``restart`` of trial ``trial``.

    >>> start_seed(0, "gaussian", 8, 8, 2, 21, None, 3, 0) != start_seed(0, "gaussian", 8, 8, 2, 21, None, 3, 1)
    True
    """
    return trial_seed(global_seed, "lm-start", features, m, n, r, M, _k_key(features, K), trial,
                      restart)


def recipe_seed(global_seed: int, features: str, m: int, n: int, r: int, M: int, K, trial: int) -> int:
    """Seed of the recipe's Gaussian ``A0`` for trial ``trial``.

    >>> isinstance(recipe_seed(0, "gaussian", 8, 8, 2, 21, None, 3), int)
    True
    """
    return trial_seed(global_seed, "recipe-init", features, m, n, r, M, _k_key(features, K), trial)


def _free_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


def auto_batch_size(cell, *, features: str = "gaussian", K=None, device="cpu",
                    dtype=torch.float64, estimand: str = "lm") -> int:
    """A batch size that fits in free memory (half of it on CUDA, a quarter on CPU).

    Per trial it counts three copies of the features (the batch, a compacted or restarted
    subset, and the float64 cast for certification), the two right and two left passes, and the
    ``min(M, p)``-square systems. On CPU it is capped at 1024 (larger batches do not run faster).

    >>> 1 <= auto_batch_size((8, 8, 2, 21)) <= 1024
    True
    """
    m, n, r, M = check_cell(cell, features, K)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    item = torch.finfo(dt).bits // 8
    feat = m * M * n if features == "gaussian" else m * int(K) + n * (M // int(K))
    passes = 4 * r * M * (m + n)
    side = min(M, r * (m + n))
    system = (3 + r) * side * side if estimand in ("lm", "logistic") else 0
    if estimand == "logistic" and M > r * (m + n):  # the weighted Jacobian of the parameter form
        system += 2 * M * r * (m + n)
    per_trial = (2 * feat + passes + system) * item + feat * 8 + 4096
    frac = 0.5 if dev.type == "cuda" else 0.25
    cap = _CUDA_MAX_BATCH if dev.type == "cuda" else _CPU_MAX_BATCH
    return max(1, min(cap, int(frac * _free_bytes(dev)) // per_trial))


@contextlib.contextmanager
def torch_threads(n):
    """Run the block with ``n`` torch intra-op CPU threads (``None``: leave as is), then restore.

    The engine's work is many small matrix products; on a small or shared CPU the intra-op
    threads mostly wait on each other (measured on the 2-core development machine under load:
    1 thread ran 3-80x faster than 2 at sizes 8 x 8 to 64 x 64). CPU parallelism is better had
    from processes over trials, which per-trial seeding makes exact.

    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    """
    if n is None:
        yield
        return
    n = require_positive_int("cpu_threads", n)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_trials(trial_indices) -> list[int]:
    try:
        trials = list(trial_indices)
    except TypeError:
        raise InvalidArgument(
            f"trial_indices must be a sequence of non-negative integers, got {trial_indices!r}"
        ) from None
    for t in trials:
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
            raise InvalidArgument(f"trial_indices must hold non-negative integers, got {t!r}")
    return [int(t) for t in trials]


def _finite_or_none(x: float):
    return float(x) if math.isfinite(x) else None


def run_trials(estimand: str, cell, trial_indices, *, global_seed: int, features: str = "gaussian",
               K=None, device="cpu", dtype="float64", restarts: int = 1, max_iter=None,
               budgets=(100, 1000), batch_size=None, sample_device=None, lm_config=None,
               recipe_config=None, cpu_threads: int | None = 1, sep_config=None) -> list[dict]:
    """Run the trials ``trial_indices`` of one cell and return one outcome dict per trial.

    Parameters
    ----------
    estimand : {"lm", "recipe", "logistic"}
        ``"lm"``: Levenberg-Marquardt with restarts (E1, E2); ``"recipe"``: the LoRA recipe (E3);
        ``"logistic"``: Gauss-Newton on the logistic loss with restarts (E4, Gaussian only).
    cell : (m, n, r, M)
    trial_indices : sequence of int
    global_seed : int
    features : {"gaussian", "structured"}; K : int, structured features only.
    device, dtype : where and in which precision to iterate (certification is float64).
    restarts : int
        Starts per trial for ``"lm"`` and ``"logistic"`` (restart k only runs for trials not
        yet certified).
    max_iter : int, optional
        Iterations per start for ``"lm"`` and ``"logistic"`` (default: the config's).
    budgets : sequence of int
        Step counts at which ``"recipe"`` records the residual (strictly increasing).
    batch_size : int, optional
        Trials per batch (default :func:`auto_batch_size`). Outcomes do not depend on it.
    sample_device : optional
        Where instances and starts are drawn (default ``device``); ``"cpu"`` gives the CPU's
        instances on a GPU.
    lm_config, recipe_config, sep_config : optional solver settings
        (:class:`~numerics.engine.separability.SepConfig` for ``"logistic"``).
    cpu_threads : int or None
        Torch CPU threads while the trials run (restored afterwards); ``None`` leaves the
        setting alone. Default 1 (see :func:`torch_threads`). No effect on results.

    Returns
    -------
    list of dict
        In the order of ``trial_indices``; schemas in the module docstring.

    Examples
    --------
    >>> out = run_trials("recipe", (6, 6, 2, 6), [0], global_seed=1, budgets=[10, 100])
    >>> sorted(out[0]["rel_residual_at"]), out[0]["nonfinite"]
    (['10', '100'], False)
    >>> run_trials("E5", (6, 6, 2, 6), [0], global_seed=1)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: estimand must be one of ('lm', 'recipe', 'logistic'), got 'E5'
    >>> [o["first_success"] for o in run_trials("logistic", (4, 4, 1, 5), [0, 1], global_seed=0)]
    [0, 0]
    """
    if estimand not in ESTIMANDS:
        raise InvalidArgument(f"estimand must be one of {ESTIMANDS}, got {estimand!r}")
    m, n, r, M = check_cell(cell, features, K)
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    trials = _check_trials(trial_indices)
    restarts = require_positive_int("restarts", restarts)
    if estimand == "logistic" and features != "gaussian":
        raise InvalidArgument(f"features must be 'gaussian' for estimand 'logistic', got {features!r}")
    if estimand == "logistic":
        from numerics.engine.separability import SepConfig

        cfg = sep_config if sep_config is not None else SepConfig()
        if max_iter is not None:
            cfg = SepConfig(**{**cfg.__dict__, "max_iter": require_positive_int("max_iter", max_iter)})
    elif estimand == "lm":
        cfg = lm_config if lm_config is not None else LMConfig()
        if max_iter is not None:
            cfg = LMConfig(**{**cfg.__dict__, "max_iter": require_positive_int("max_iter", max_iter)})
    else:
        cfg = recipe_config if recipe_config is not None else RecipeConfig()
        budgets = list(budgets)
    if batch_size is None:
        batch_size = auto_batch_size((m, n, r, M), features=features, K=K, device=dev, dtype=dt,
                                     estimand=estimand)
    batch_size = require_positive_int("batch_size", batch_size)
    if not trials:
        return []
    threads = cpu_threads if dev.type == "cpu" else None
    with torch_threads(threads):
        return _run(estimand, trials, m, n, r, M, global_seed=global_seed, features=features,
                    K=K, dev=dev, dt=dt, restarts=restarts, cfg=cfg, budgets=budgets,
                    batch_size=batch_size, sample_device=sample_device)


def _restart_rows(chunk, seeds, res: dict, keys) -> list[dict]:
    """One output row per trial of ``chunk``: its index, its instance seed, then ``res[key][j]``
    for each of ``keys`` (the per-trial lists of a restart solver's result), in that order.

    >>> _restart_rows([7], [11], {"first_success": [0], "nonfinite": [False]},
    ...               ("first_success", "nonfinite"))
    [{'trial': 7, 'seed': 11, 'first_success': 0, 'nonfinite': False}]
    """
    return [{"trial": t, "seed": seeds[j], **{k: res[k][j] for k in keys}}
            for j, t in enumerate(chunk)]


def _run(estimand, trials, m, n, r, M, *, global_seed, features, K, dev, dt, restarts, cfg,
         budgets, batch_size, sample_device) -> list[dict]:
    out: list[dict] = []
    for lo in range(0, len(trials), batch_size):
        chunk = trials[lo: lo + batch_size]
        seeds = [instance_seed(global_seed, features, m, n, M, K, t) for t in chunk]
        op, y = sample_instances(seeds, m, n, M, features=features, K=K, device=dev, dtype=dt,
                                 sample_device=sample_device)
        if estimand == "lm":
            start_seeds = [[start_seed(global_seed, features, m, n, r, M, K, t, k)
                            for k in range(restarts)] for t in chunk]
            res = lm_restarts(op, y, r, start_seeds, cfg, sample_device=sample_device)
            res["best_rel_residual"] = [_finite_or_none(v) for v in res["best_rel_residual"]]
            out += _restart_rows(chunk, seeds, res, ("restart_success", "first_success",
                                                     "best_rel_residual", "iterations", "nonfinite"))
        elif estimand == "logistic":
            from numerics.engine.separability import labels_from_targets, sep_start_seed, separate

            start_seeds = [[sep_start_seed(global_seed, m, n, r, M, t, k) for k in range(restarts)]
                           for t in chunk]
            res = separate(op, labels_from_targets(y), r, start_seeds, cfg,
                           sample_device=sample_device)
            out += _restart_rows(chunk, seeds, res, ("restart_success", "first_success",
                                                     "success_iteration", "iterations",
                                                     "best_margin", "nonfinite"))
        else:
            A0 = recipe_init([recipe_seed(global_seed, features, m, n, r, M, K, t) for t in chunk],
                             n, r, device=dev, dtype=dt, sample_device=sample_device)
            res = lora_recipe(op, y, r, budgets, cfg, A0=A0)
            rel = res.rel_residual_at.tolist()
            nonfinite = res.nonfinite.tolist()
            for j, t in enumerate(chunk):
                out.append({
                    "trial": t,
                    "seed": seeds[j],
                    "rel_residual_at": {str(b): _finite_or_none(v) for b, v in zip(res.budgets, rel[j])},
                    "nonfinite": bool(nonfinite[j]),
                })
        del op, y
    return out


def canonical_check(m: int = 768, n: int = 768, r: int = 1, Ns=(32, 64), trials: int = 3, *,
                    seed: int = 0, device="cpu", dtype="float32", restarts: int = 2,
                    config=None) -> list[dict]:
    """Certify directly a few instances at a canonical few-shot size (one trial at a time).

    Returns one dict per ``N``: ``m, n, r, N, rho, sufficient`` (``r max(m, n) >= N``),
    ``trials, certified, margins`` (float64 normalised margins), ``iterations``, ``dtype`` and
    ``seconds``.

    >>> out = canonical_check(16, 16, 1, Ns=(4,), trials=2)
    >>> out[0]["certified"], out[0]["sufficient"]
    (2, True)
    """
    import time

    m, n = require_positive_int("m", m), require_positive_int("n", n)
    r = require_rank("r", r, m, n)
    trials = require_positive_int("trials", trials)
    from numerics.engine.separability import SepConfig

    cfg = SepConfig() if config is None else config
    out = []
    for N in Ns:
        N = require_positive_int("N", N)
        t0 = time.perf_counter()
        res = run_trials("logistic", (m, n, r, N), range(trials), global_seed=seed, device=device,
                         dtype=dtype, restarts=restarts, sep_config=cfg, batch_size=1,
                         cpu_threads=None)
        out.append({"m": m, "n": n, "r": r, "N": N, "rho": r * (m + n - r) / N,
                    "sufficient": r * max(m, n) >= N, "trials": trials,
                    "certified": sum(o["first_success"] is not None for o in res),
                    "margins": [o["best_margin"] for o in res],
                    "iterations": [o["iterations"] for o in res],
                    "dtype": str(resolve_dtype(dtype)).removeprefix("torch."),
                    "seconds": time.perf_counter() - t0})
    return out
