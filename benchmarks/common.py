"""What the benchmark scripts share: the devices' datasheet peaks, the byte model of a solve,
the reference cell's arguments, CUDA-event timing and atomic writing of the result JSON.

>>> feature_passes(starts_run=2, iterations=10)
26
>>> device_peak("NVIDIA H200")["hbm_bytes_per_s"], device_peak("Some Other GPU")["known"]
(4800000000000.0, False)
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

#: Datasheet peaks by device name (as ``torch.cuda.get_device_name`` or the CPU's model name
#: reports it): HBM or DRAM bandwidth in bytes/s and dense FLOP/s. A device not listed gets
#: "peak unknown" (:func:`device_peak`), never another device's figure: the H200's HBM3e is 4.8
#: TB/s against the H100 SXM's 3.35, so quoting the H100's peak on an H200 overstated the share
#: by 43% (issue 13).
DEVICE_PEAKS = {
    # NVIDIA H100 SXM5 80 GB datasheet: HBM3 3.35 TB/s; FP64 tensor core 67, FP64 34, FP32 67 TFLOP/s
    "NVIDIA H100 80GB HBM3": {"hbm_bytes_per_s": 3.35e12, "fp64_tensor_flops": 67e12,
                              "fp64_vector_flops": 34e12, "fp32_flops": 67e12,
                              "source": "NVIDIA H100 SXM5 datasheet"},
    # NVIDIA H100 PCIe 80 GB: HBM2e 2.0 TB/s; FP64 tensor core 51, FP64 26, FP32 51 TFLOP/s
    "NVIDIA H100 PCIe": {"hbm_bytes_per_s": 2.0e12, "fp64_tensor_flops": 51e12,
                         "fp64_vector_flops": 26e12, "fp32_flops": 51e12,
                         "source": "NVIDIA H100 PCIe datasheet"},
    # NVIDIA H200 SXM 141 GB: HBM3e 4.8 TB/s; FP64 tensor core 67, FP64 34, FP32 67 TFLOP/s
    "NVIDIA H200": {"hbm_bytes_per_s": 4.8e12, "fp64_tensor_flops": 67e12,
                    "fp64_vector_flops": 34e12, "fp32_flops": 67e12,
                    "source": "NVIDIA H200 SXM datasheet"},
    # NVIDIA A100 SXM4 80 GB: HBM2e 2.039 TB/s; FP64 tensor core 19.5, FP64 9.7, FP32 19.5 TFLOP/s
    "NVIDIA A100-SXM4-80GB": {"hbm_bytes_per_s": 2.039e12, "fp64_tensor_flops": 19.5e12,
                              "fp64_vector_flops": 9.7e12, "fp32_flops": 19.5e12,
                              "source": "NVIDIA A100 datasheet (SXM4 80 GB)"},
    # NVIDIA A100 SXM4 40 GB: HBM2 1.555 TB/s; the same FLOP/s
    "NVIDIA A100-SXM4-40GB": {"hbm_bytes_per_s": 1.555e12, "fp64_tensor_flops": 19.5e12,
                              "fp64_vector_flops": 9.7e12, "fp32_flops": 19.5e12,
                              "source": "NVIDIA A100 datasheet (SXM4 40 GB)"},
    # AMD EPYC 9654 (one socket): 12 channels DDR5-4800, 460.8 GB/s; 96 cores x 2.4 GHz base x
    # 16 FP64 FLOP/cycle (two 256-bit FMA pipes) = 3.69 TFLOP/s FP64, twice that in FP32
    "AMD EPYC 9654 96-Core Processor": {"hbm_bytes_per_s": 460.8e9, "fp64_tensor_flops": None,
                                        "fp64_vector_flops": 3.69e12, "fp32_flops": 7.37e12,
                                        "source": "AMD EPYC 9654 product page (one socket, "
                                                  "base clock)"},
}


def device_peak(name: str | None) -> dict:
    """The datasheet peaks of the device called ``name`` with ``"device"`` and ``"known": True``,
    or ``{"device": name, "known": False}`` ("peak unknown") for a device not in
    :data:`DEVICE_PEAKS`. Every benchmark record carries the peak it used."""
    peak = DEVICE_PEAKS.get((name or "").strip())
    if peak is None:
        return {"device": name, "known": False}
    return {"device": name, "known": True, **peak}


def peak_fraction(value: float, peak: dict, key: str):
    """``value / peak[key]``, or None where the peak is unknown ("peak unknown").

    >>> peak_fraction(2.4e12, device_peak("NVIDIA H200"), "hbm_bytes_per_s")
    0.5
    >>> peak_fraction(2.4e12, device_peak("a CPU"), "hbm_bytes_per_s") is None
    True
    """
    denominator = peak.get(key) if peak.get("known") else None
    return None if not denominator else value / denominator


def cuda_device_peak(index: int = 0) -> dict:
    """:func:`device_peak` of CUDA device ``index``."""
    import torch

    return device_peak(torch.cuda.get_device_name(index))


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
