"""One kernel for the damped Gauss-Newton system: a batched Cholesky factorisation fused with
both triangular solves, in Triton.

The library path of :func:`numerics.engine.solvers.lm_damped_step` solves ``S z = R`` (``S`` symmetric
positive definite, ``N x N``, one per trial) with three launches: ``torch.linalg.cholesky_ex``
and two ``torch.linalg.solve_triangular``. At the reference cell (``N = 252``) on an H100 these
are about a third of a full-batch iteration, and most of an iteration of the small, latency-bound
batches at the end of a solve (``results/bench/cholesky_latency.json``).

:func:`cholesky_solve_fused` does the same in one launch, one program (one warp) per trial:

* a left-looking blocked factorisation in block columns of ``BLOCK``: each diagonal block is
  updated by the block columns before it (``tl.dot``), factored column by column, and inverted
  by forward substitution on the identity; the panel below it is updated ``BLOCK`` rows at a
  time and multiplied by the transposed inverse (the inverted diagonal blocks of MAGMA's batched
  triangular solves);
* the forward solve ``L w = R`` rides along as one extra row of the panel, holding ``R^T``;
* the back solve ``L^T z = w`` goes block by block from the last, with the same inverses.

The loops over earlier block columns are software-pipelined (``NUM_STAGES``), which is what
makes the kernel faster than the library at every batch size measured (records above).

Each trial's arithmetic is the same whatever the batch (one program per trial, nothing shared
between trials), so outcomes do not depend on how trials are batched. The rounding differs from
LAPACK's, cuSOLVER's or MAGMA's (another order of operations, and the inverted diagonal blocks),
so the fused path is a different floating-point computation of the same step;
``LMConfig.system`` chooses ('auto': fused for float64 on CUDA).

On the CPU the kernel runs only under Triton's interpreter (``TRITON_INTERPRET=1`` before Triton
is imported; slowly, for tests at small sizes).
"""

from __future__ import annotations

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # the CPU builds of torch do not bring Triton
    triton = tl = None

#: the oldest Triton the kernel is known to work with: compiled with 3.6.0 on an H100, run by
#: the interpreter with 3.6.0 and 3.9.0 (float64 ``tl.dot`` is recent in Triton)
MIN_TRITON = (3, 6)


def _version_tuple(version: str) -> tuple[int, ...]:
    """``"3.6.0+git1"`` -> ``(3, 6, 0)``.

    >>> _version_tuple("3.6.0+gitabc"), _version_tuple("3.10")
    ((3, 6, 0), (3, 10))
    """
    parts = []
    for part in version.split("+")[0].split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


#: block-column width of the factorisation and rows of the panel handled at a time (a power of
#: two, at least 16 for ``tl.dot``), warps per trial and pipeline stages: the fastest of the
#: variants timed on an H100 (``benchmarks/cholesky_latency.py --variants``)
BLOCK = 16
NUM_WARPS = 1
NUM_STAGES = 4


def available() -> bool:
    """Whether a Triton of at least :data:`MIN_TRITON` can be imported (the CUDA builds of torch
    bring one; ``pip install lorank[kernels]`` on other machines)."""
    return triton is not None and _version_tuple(triton.__version__) >= MIN_TRITON


def _kernel_body(S_ptr, R_ptr, W_ptr, V_ptr, Z_ptr, BAD_ptr, N, BS: tl.constexpr,
                 NB):  # pragma: no cover
    b = tl.program_id(0).to(tl.int64)
    S = S_ptr + b * N * N
    Rv = R_ptr + b * N
    W = W_ptr + b * N  # the forward solve's w (written block by block)
    V = V_ptr + b * (NB * BS * BS)  # the inverse of each diagonal block of L, (NB, BS, BS)
    Z = Z_ptr + b * N
    cols = tl.arange(0, BS)
    ci = cols[:, None]
    cj = cols[None, :]
    eye = ci == cj
    chunk = ci  # the rows of a chunk of the panel, BS at a time
    bad = tl.zeros((), dtype=tl.int32)
    for k in range(0, NB):
        c0 = k * BS
        cc = c0 + cj
        cvalid = cc < N
        dvalid = (c0 + ci) < N
        # the diagonal block A_kk - sum_j L_kj L_kj^T, symmetric from its lower triangle,
        # padding pivots (beyond N) set to 1
        D = tl.load(S + (c0 + ci) * N + cc, mask=(ci >= cj) & dvalid & cvalid, other=0.0)
        for j in range(0, k):
            Dkj = tl.load(S + (c0 + ci) * N + j * BS + cj, mask=dvalid, other=0.0)
            D -= tl.dot(Dkj, tl.trans(Dkj))
        D = tl.where(ci >= cj, D, tl.trans(D))
        D = tl.where(eye & ~cvalid, 1.0, D)
        # its factor L_kk, column by column
        Lkk = tl.zeros((BS, BS), dtype=tl.float64)
        for jj in tl.static_range(BS):
            dcol = tl.sum(tl.where(cj == jj, D, 0.0), axis=1)  # D[:, jj]
            drow = tl.sum(tl.where(ci == jj, D, 0.0), axis=0)  # D[jj, :] (the same values)
            d = tl.sum(tl.where(cols == jj, drow, 0.0), axis=0)
            bad += tl.where(d > 0.0, 0, 1)  # not positive, or NaN: not positive definite
            s = tl.sqrt(tl.where(d > 0.0, d, 1.0))
            rs = 1.0 / s
            lcol = tl.where(cols > jj, dcol * rs, 0.0)
            lrow = tl.where(cols > jj, drow * rs, 0.0)
            Lkk = tl.where(cj == jj, tl.where(ci == jj, s, lcol[:, None]), Lkk)
            D -= lcol[:, None] * lrow[None, :]
        # its inverse, row by row (forward substitution on the identity)
        LkkT = tl.trans(Lkk)
        Linv = tl.zeros((BS, BS), dtype=tl.float64)
        for jj in tl.static_range(BS):
            v = tl.sum(tl.where(cj == jj, LkkT, 0.0), axis=1)  # L_kk[jj, t], indexed by t
            ljj = tl.sum(tl.where(cols == jj, v, 0.0), axis=0)
            acc = tl.sum(tl.where(ci < jj, v[:, None], 0.0) * Linv, axis=0)
            new = (tl.where(cols == jj, 1.0, 0.0) - acc) / ljj
            Linv = tl.where(ci == jj, new[None, :], Linv)
        tl.store(S + (c0 + ci) * N + cc, Lkk, mask=(ci >= cj) & dvalid & cvalid)
        tl.store(V + (c0 + ci) * BS + cj, Linv)
        # the panel below it, BS rows at a time (chunks q = k..NB-1: rows (k + 1) BS .. NB BS),
        # with R^T as row NB BS (its block of w): L_ik = (A_ik - sum_j L_ij L_kj^T) Linv^T
        for q in range(k, NB):
            rr = (q + 1) * BS + chunk
            mat = rr < N
            rhs = rr == NB * BS
            P = tl.load(S + rr * N + cc, mask=mat & cvalid, other=0.0)
            P += tl.load(Rv + cc + 0 * rr, mask=rhs & cvalid, other=0.0)
            for j in range(0, k):
                jc = j * BS + cj
                Lj = tl.load(S + rr * N + jc, mask=mat, other=0.0)
                Lj += tl.load(W + jc + 0 * rr, mask=rhs, other=0.0)
                Dkj = tl.load(S + (c0 + ci) * N + jc, mask=dvalid, other=0.0)
                P -= tl.dot(Lj, tl.trans(Dkj))
            P = tl.dot(P, tl.trans(Linv))
            tl.store(S + rr * N + cc, P, mask=mat & cvalid)
            tl.store(W + cc + 0 * rr, P, mask=rhs & cvalid)
        tl.debug_barrier()  # this block column is read by every thread from the next one on
    # back solve L^T z = w, block by block from the last: z_k = Linv^T (w_k - L_below^T z)
    for t in range(0, NB):
        k = NB - 1 - t
        c0 = k * BS
        cc = c0 + cj
        acc = tl.load(W + c0 + cols, mask=(c0 + cols) < N, other=0.0)
        for q in range(0, t):  # rows (k + 1) BS .. NB BS - 1
            rr = (k + 1 + q) * BS + chunk
            Lk = tl.load(S + rr * N + cc, mask=(rr < N) & (cc < N), other=0.0)
            zc = tl.load(Z + rr, mask=rr < N, other=0.0)
            acc -= tl.sum(Lk * zc, axis=0)
        LinvT = tl.load(V + (c0 + cj) * BS + ci)  # LinvT[i, j] = Linv[j, i]
        zk = tl.sum(LinvT * acc[None, :], axis=1)
        tl.store(Z + c0 + cols, zk, mask=(c0 + cols) < N)
        tl.debug_barrier()
    tl.store(BAD_ptr + b, bad)


#: The size ``N`` and the number of block columns ``NB`` are run-time arguments, not
#: ``tl.constexpr``, and are not specialised on (``do_not_specialize``): one compiled kernel
#: serves every size of a sweep. With ``N`` a compile-time constant every new size compiled a
#: new kernel (1.9 to 5 s each on an H200), which made a 40-cell sweep 9x slower than the
#: library path (issue 13). Only ``BS`` (the block width) and the launch options select a
#: compiled variant.
_kernel = (triton.jit(_kernel_body, do_not_specialize=["N", "NB"]) if triton is not None
           else None)


def compiled_variants() -> int | None:
    """How many compiled variants of the kernel this process holds (None where Triton keeps no
    such cache, e.g. under the interpreter): 1 after a sweep over any sizes, since the size is a
    run-time argument (:mod:`benchmarks.bench_sweep` records it)."""
    if _kernel is None:
        return None
    cache = getattr(_kernel, "device_caches", None) or getattr(_kernel, "cache", None)
    if not cache:
        return None if cache is None else 0
    total = 0
    for value in cache.values():
        entries = value[0] if isinstance(value, tuple) else value
        total += len(entries) if hasattr(entries, "__len__") else 1
    return total


def interpreted() -> bool:
    """Whether Triton runs kernels in its interpreter (``TRITON_INTERPRET=1`` set before Triton
    was first imported): the only way the kernel runs on CPU tensors."""
    return triton is not None and bool(triton.knobs.runtime.interpret)


def cholesky_solve_fused(S: torch.Tensor, R: torch.Tensor, *, num_warps: int | None = None,
                         num_stages: int | None = None, block: int = BLOCK):
    """``(z, ok)`` with ``S z = R`` through the Cholesky factor of each ``S`` (float64).

    ``S`` is ``(T, N, N)`` symmetric positive definite (only its lower triangle is read) and,
    if contiguous, is overwritten by its factor ``L``; ``R`` is ``(T, N)``. ``ok[t]`` is False
    where a pivot was not positive (``S[t]`` not positive definite, or not finite); ``z[t]`` is
    then meaningless, as the step built from it is discarded.

    On a CUDA device (on the CPU only under the interpreter: ``tests/test_fused_cholesky.py``
    runs such checks there)::

    >>> S = torch.tensor([[[4.0, 2.0], [2.0, 3.0]]], dtype=torch.float64, device="cuda")  # doctest: +SKIP
    >>> z, ok = cholesky_solve_fused(S.clone(), torch.tensor([[2.0, 1.0]], dtype=torch.float64, device="cuda"))  # doctest: +SKIP
    >>> z, ok  # doctest: +SKIP
    (tensor([[0.5000, 0.0000]], device='cuda:0', dtype=torch.float64), tensor([True], device='cuda:0'))
    """
    if not available():
        raise RuntimeError(f"the fused Cholesky kernel needs Triton >= "
                           f"{'.'.join(map(str, MIN_TRITON))} (pip install 'lorank[kernels]')")
    if S.device.type != "cuda" and not interpreted():
        raise RuntimeError("the fused Cholesky kernel runs on CUDA tensors, or on CPU tensors "
                           "under TRITON_INTERPRET=1")
    if S.dtype != torch.float64 or R.dtype != torch.float64:
        raise TypeError(f"cholesky_solve_fused works in float64, got {S.dtype} and {R.dtype}")
    T, N, N2 = S.shape
    if N2 != N or R.shape != (T, N):
        raise ValueError(f"S must be (T, N, N) and R (T, N), got {tuple(S.shape)} and "
                         f"{tuple(R.shape)}")
    S, R = S.contiguous(), R.contiguous()
    W = torch.empty_like(R)
    Z = torch.empty_like(R)
    nb = -(-N // block)
    V = torch.empty((T, nb * block, block), dtype=S.dtype, device=S.device)
    bad = torch.empty(T, dtype=torch.int32, device=S.device)
    num_warps = NUM_WARPS if num_warps is None else num_warps
    num_stages = NUM_STAGES if num_stages is None else num_stages
    if T:
        _kernel[(T,)](S, R, W, V, Z, bad, N, BS=block, NB=nb,
                      num_warps=num_warps, num_stages=num_stages)
    return Z, bad == 0
