"""Batched dense linear algebra for the solvers, where the library routine is slow for our shapes.

:func:`blocked_cholesky` factorises a batch of symmetric positive definite matrices by recursive
halving: the two diagonal blocks are factorised in turn (down to blocks of at most ``base``,
handed to ``torch.linalg.cholesky_ex``), and the off-diagonal block and the Schur complement
come from a batched triangular solve and a batched product. The arithmetic is the textbook
block Cholesky (Golub and Van Loan, *Matrix Computations*, 4th ed., section 4.2.9); only the
order of operations differs from the unblocked factorisation, so the factors agree to
round-off. The point is time: on a GPU the library's batched factorisation of one matrix of
order ``M`` is a long chain of dependent steps, which dominates an iteration when the batch
holds few trials (``benchmarks/cholesky_latency.py``).
"""

from __future__ import annotations

import torch

from proofs.validation import InvalidArgument, require_positive_int

__all__ = ["blocked_cholesky"]


def blocked_cholesky(S: torch.Tensor, base: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower Cholesky factors of the batch ``S`` (``(T, n, n)``), like ``torch.linalg.cholesky_ex``.

    Returns ``(L, info)``: ``L`` lower triangular with ``S = L L^T``, and ``info[t]`` zero when
    ``S[t]`` is positive definite, else the order of its first leading minor that is not (as
    the library reports it). Only the lower triangle of ``S`` is read. Where ``info[t]`` is not
    zero, ``L[t]`` is not a factor and may hold non-finite values.

    >>> A = torch.randn(3, 10, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> S = A @ A.mT + 10 * torch.eye(10, dtype=torch.float64)
    >>> L, info = blocked_cholesky(S, base=3)
    >>> info.tolist(), bool(torch.allclose(L @ L.mT, S)), bool(torch.equal(L, L.tril()))
    ([0, 0, 0], True, True)
    >>> S[1, 6, 6] = -100.0                      # the leading minor of order 7 is indefinite
    >>> blocked_cholesky(S, base=3)[1].tolist()
    [0, 7, 0]
    """
    base = require_positive_int("base", base)
    if S.dim() != 3 or S.shape[1] != S.shape[2]:
        raise InvalidArgument(f"S must be a batch of square matrices (T, n, n), got {tuple(S.shape)}")
    L = torch.zeros_like(S)
    info = torch.zeros(S.shape[0], dtype=torch.int32, device=S.device)
    _factor(S, L, info, 0, base)
    return L, info


def _factor(A: torch.Tensor, L: torch.Tensor, info: torch.Tensor, offset: int, base: int) -> None:
    """Write the factor of the block ``A`` into the view ``L``; record failures in ``info``."""
    k = A.shape[-1]
    if k <= base:
        Lk, ik = torch.linalg.cholesky_ex(A)
        L.copy_(Lk)
        info.copy_(torch.where((info == 0) & (ik != 0), ik + offset, info))
        return
    h = k // 2
    _factor(A[:, :h, :h], L[:, :h, :h], info, offset, base)
    L11 = L[:, :h, :h]
    # L21 = A21 L11^{-T}, i.e. L11 L21^T = A21^T
    L21 = torch.linalg.solve_triangular(L11, A[:, h:, :h].mT, upper=False).mT
    L[:, h:, :h] = L21
    _factor(A[:, h:, h:] - L21 @ L21.mT, L[:, h:, h:], info, offset + h, base)
