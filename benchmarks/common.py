"""What the benchmark scripts share: the H100's datasheet peaks, the byte model of a solve, the
reference cell's arguments, CUDA-event timing and atomic writing of the result JSON.

>>> feature_passes(starts_run=2, iterations=10)
26
>>> import argparse; ap = argparse.ArgumentParser(); add_cell_arguments(ap)
>>> args = ap.parse_args([]); (args.m, args.n, args.r, cell_M(args))
(64, 64, 2, 187)
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from numerics.experiments.records import write_json_atomic  # noqa: E402
from proofs.claims import CLAIMED_CSTAR  # noqa: E402

#: datasheet peaks of the H100 SXM (HBM3 3.35 TB/s; FP64 67 TFLOP/s tensor-core, 34 vector;
#: FP32 67 TFLOP/s)
H100_PEAK = {
    "hbm_bytes_per_s": 3.35e12,
    "fp64_tensor_flops": 67e12,
    "fp64_vector_flops": 34e12,
    "fp32_flops": 67e12,
}


def feature_passes(starts_run: int, iterations: int) -> int:
    """Feature passes a solve needs (the byte model): per start the two that set up the first
    step and the float64 certificate's, and two per iteration (the trial point's right pass,
    the accepted point's left pass)."""
    return 3 * starts_run + 2 * iterations


def add_cell_arguments(ap, *, rho: float | None = CLAIMED_CSTAR.as_float) -> None:
    """``--m --n --r`` (default the reference cell 64 x 64, r = 2) and, unless ``rho`` is None,
    ``--rho`` (the cell's ``M`` is then :func:`cell_M`; default the claimed C*,
    :data:`proofs.claims.CLAIMED_CSTAR`)."""
    ap.add_argument("--m", type=int, default=64)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--r", type=int, default=2)
    if rho is not None:
        ap.add_argument("--rho", type=float, default=rho)


def cell_M(args) -> int:
    """``M = round(r (m + n - r) / rho)``: the number of equations of the cell."""
    return round(args.r * (args.m + args.n - args.r) / args.rho)


def cuda_median_ms(fn, reps: int) -> float:
    """Median milliseconds of ``fn()`` over ``reps`` runs (CUDA events), after two warm-ups."""
    import torch

    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def new_output(path: str) -> str:
    """``--out`` of a benchmark: a file that does not exist yet (a committed benchmark record is
    an artefact that no run overwrites). Used as argparse's ``type``, so the run is refused
    before it starts.

    >>> import tempfile, os
    >>> new_output(os.path.join(tempfile.mkdtemp(), "b.json")).endswith("b.json")
    True
    >>> new_output(__file__)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: ... exists: a benchmark record is never overwritten; choose a new --out
    """
    import argparse

    if os.path.exists(path):
        raise argparse.ArgumentTypeError(f"{path} exists: a benchmark record is never overwritten; "
                                         "choose a new --out")
    return path


def write_result(path, result: dict) -> None:
    """Write a benchmark's result JSON atomically, making its folder if needed; an existing file
    is refused (see :func:`new_output`)."""
    if os.path.exists(path):
        raise FileExistsError(f"{path} exists: a benchmark record is never overwritten")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_json_atomic(path, result)
