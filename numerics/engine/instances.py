"""Batched random instances of the interpolation problem ``calA(B A) = y``.

A *cell* is ``(m, n, r, M)``: the update is ``m x n``, the rank ``r``, and there are ``M = K N``
equations ``<G_i, Delta> = y_i`` (THEORY.md section 0). A batch holds ``T`` independent
instances, one per trial; trial ``t`` is drawn from its own ``torch.Generator`` seeded with
``seeds[t]``, so a trial's instance does not depend on the batch it is drawn in.

The solvers see an instance only through a small operator interface (:class:`FeatureOperator`):

- ``apply(Delta)``  ``(T, m, n) -> (T, M)``, ``calA(Delta)_i = <G_i, Delta>``;
- ``adjoint(R)``    ``(T, M) -> (T, m, n)``, ``sum_i R_i G_i``;
- ``right(A)``      ``(T, r, n) -> (T, M, m, r)``, ``G_i A^T`` (the Jacobian block in ``B``);
- ``left(B)``       ``(T, m, r) -> (T, M, r, n)``, ``B^T G_i`` (the Jacobian block in ``A``);
- ``right_native``, ``left_native``: the same, in the contiguous layouts ``(T, r, m, M)`` and
  ``(T, r, M, n)`` that the solvers contract with batched matrix products;
- ``subset(index)``, ``to(dtype)``, ``dense()``.

Two feature models:

- :class:`GaussianFeatures`: all entries of all ``G_i`` iid ``N(0, 1)``. Stored as one tensor in
  the layout ``(T, m, M, n)`` so that both ``right`` and ``left`` are single batched matrix
  products over contiguous memory (``(T, r, n) @ (T, n, m M)`` and ``(T, r, m) @ (T, m, M n)``).
- :class:`StructuredFeatures`: last-layer features ``G_ik = a_k x_i^T`` with heads
  ``a`` of shape ``(T, m, K)`` and inputs ``x`` of shape ``(T, n, N)``, all entries iid
  ``N(0, 1)``; equation ``(i, k)`` has index ``i K + k``. ``G`` is never materialised (except by
  ``dense()``, which exists for tests).

Targets ``y`` are iid ``N(0, 1)`` of shape ``(T, M)``.

Sampling order (this defines an instance from its seed): every draw is made in float64 on
``sample_device`` and then cast to the working dtype, so a float32 instance is exactly the
float64 instance of the same seed rounded to float32. Gaussian features draw ``G`` as
``(m, M, n)`` then ``y``; structured features draw ``a`` as ``(m, K)``, then ``x`` as
``(n, N)``, then ``y``. Random streams differ between CPU and CUDA generators, so the same seed
gives different (equally distributed) instances on the two device types; pass
``sample_device="cpu"`` to get CPU-identical instances on a GPU.

>>> op, y = sample_instances([1, 2, 3], m=4, n=5, M=6)
>>> op.shape, tuple(y.shape)
((3, 6, 4, 5), (3, 6))
>>> alone, y_alone = sample_instances([2], m=4, n=5, M=6)
>>> bool((alone.dense()[0] == op.dense()[1]).all() and (y_alone[0] == y[1]).all())
True
"""

from __future__ import annotations

import abc

import numbers
from typing import Sequence

import torch

from proofs.validation import InvalidArgument, require_positive_int

__all__ = [
    "FeatureOperator",
    "GaussianFeatures",
    "StructuredFeatures",
    "sample_instances",
    "sample_gaussian",
    "sample_structured",
    "resolve_dtype",
    "resolve_device",
]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_dtype(dtype) -> torch.dtype:
    """Read ``dtype`` (a ``torch.dtype`` or the strings ``"float32"``, ``"float64"``).

    >>> resolve_dtype("float32")
    torch.float32
    >>> resolve_dtype("int8")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: dtype must be float32 or float64, got 'int8'
    """
    if isinstance(dtype, torch.dtype) and dtype in (torch.float32, torch.float64):
        return dtype
    if isinstance(dtype, str) and dtype.removeprefix("torch.") in _DTYPES:
        return _DTYPES[dtype.removeprefix("torch.")]
    raise InvalidArgument(f"dtype must be float32 or float64, got {dtype!r}")


def resolve_device(device) -> torch.device:
    """Read ``device`` and check that it exists on this machine.

    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: device must be a torch device such as 'cpu' or 'cuda', got 'tpu'
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidArgument(
            f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidArgument(f"device is {device!r} but no CUDA GPU is available")
    if dev.type not in ("cpu", "cuda"):
        raise InvalidArgument(f"device must be 'cpu' or 'cuda', got {device!r}")
    return dev


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or len(seeds) == 0:
        raise InvalidArgument(f"seeds must be a non-empty sequence of integers, got {seeds!r}")
    out = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or not 0 <= s < 2**63:
            raise InvalidArgument(f"seeds must hold integers in [0, 2**63), got {s!r}")
        out.append(int(s))
    return out


def _generator(seed: int, device: torch.device) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


def _as_index(index, T: int, device) -> torch.Tensor:
    """A boolean mask or an integer index, as a long index tensor on ``device``."""
    idx = torch.as_tensor(index, device=device)
    if idx.dtype == torch.bool:
        if idx.shape != (T,):
            raise InvalidArgument(f"index mask must have shape ({T},), got {tuple(idx.shape)}")
        return idx.nonzero().flatten()
    return idx.to(torch.long).flatten()


class FeatureOperator(abc.ABC):
    """Interface of a batch of ``T`` linear maps ``calA_t : R^{m x n} -> R^M``.

    Subclasses implement ``apply``, ``adjoint``, ``right``, ``left``, ``subset``, ``to`` and
    ``dense``. ``shape`` is ``(T, M, m, n)``.

    >>> op, _ = sample_instances([0], m=2, n=3, M=4)
    >>> isinstance(op, FeatureOperator), op.T, op.M, op.m, op.n
    (True, 1, 4, 2, 3)
    """

    T: int
    M: int
    m: int
    n: int

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.T, self.M, self.m, self.n)

    @property
    @abc.abstractmethod
    def dtype(self) -> torch.dtype:
        """The working dtype of the features."""

    @property
    @abc.abstractmethod
    def device(self) -> torch.device:
        """The device the features live on."""

    @abc.abstractmethod
    def bytes_per_pass(self) -> int:
        """Bytes of feature data read by one pass (``right``, ``left``, ``apply``)."""

    def right(self, A: torch.Tensor) -> torch.Tensor:
        """``(T, r, n) -> (T, M, m, r)``: ``G_i A^T`` (a view of :meth:`right_native`)."""
        return self.right_native(A).permute(0, 3, 2, 1)

    def left(self, B: torch.Tensor) -> torch.Tensor:
        """``(T, m, r) -> (T, M, r, n)``: ``B^T G_i`` (a view of :meth:`left_native`)."""
        return self.left_native(B).transpose(1, 2)

    def compact_(self, active: torch.Tensor) -> tuple["FeatureOperator", torch.Tensor]:
        """Keep the trials where the boolean mask ``active`` holds; may overwrite this operator.

        Returns ``(op, keep)``: the operator of the active trials and ``keep``, the row of
        ``self`` that each of its rows came from (every active row once, in some order). Only
        for an operator that nothing else uses: subclasses may move data in place. The default
        copies (:meth:`subset`).

        >>> op, _ = sample_instances([0, 1, 2], m=2, n=2, M=3)
        >>> small, keep = op.compact_(torch.tensor([True, False, True]))
        >>> small.T, sorted(keep.tolist())
        (2, [0, 2])
        """
        keep = _as_index(active, self.T, self.device)
        return self.subset(keep), keep

    def __len__(self) -> int:
        return self.T


class GaussianFeatures(FeatureOperator):
    """Dense features ``G`` held in the layout ``(T, m, M, n)``: ``G_i[a, b] = data[t, a, i, b]``.

    >>> g = torch.arange(2 * 3 * 2, dtype=torch.float64).reshape(1, 2, 3, 2)  # T=1, m=2, M=3, n=2
    >>> op = GaussianFeatures(g)
    >>> op.dense()[0, 1]   # G_1
    tensor([[2., 3.],
            [8., 9.]], dtype=torch.float64)
    >>> op.apply(torch.ones(1, 2, 2, dtype=torch.float64))
    tensor([[14., 22., 30.]], dtype=torch.float64)
    """

    def __init__(self, data: torch.Tensor):
        if data.dim() != 4:
            raise InvalidArgument(f"data must have shape (T, m, M, n), got {tuple(data.shape)}")
        self.data = data.contiguous()
        self.T, self.m, self.M, self.n = (int(s) for s in data.shape)

    @property
    def dtype(self) -> torch.dtype:
        return self.data.dtype

    @property
    def device(self) -> torch.device:
        return self.data.device

    def bytes_per_pass(self) -> int:
        return self.data.numel() * self.data.element_size()

    def apply(self, delta: torch.Tensor) -> torch.Tensor:
        """``(T, m, n) -> (T, M)``: ``<G_i, Delta>``."""
        out = torch.matmul(self.data, delta.unsqueeze(-1))  # (T, m, M, 1)
        return out.squeeze(-1).sum(dim=1)

    def adjoint(self, res: torch.Tensor) -> torch.Tensor:
        """``(T, M) -> (T, m, n)``: ``sum_i res_i G_i``."""
        T, m = self.T, self.m
        lhs = res.unsqueeze(1).unsqueeze(1).expand(T, m, 1, self.M)
        return torch.matmul(lhs, self.data).squeeze(2)

    def right_native(self, A: torch.Tensor) -> torch.Tensor:
        """``(T, r, n) -> (T, r, m, M)``, contiguous: ``out[t, j, :, i] = (G_i A^T)[:, j]``.

        One bmm with a transposed operand, ``(T, r, n) @ (T, n, m M)``; on CPU this is 2-3x
        faster than ``G @ A^T``, whose output has only ``r`` columns.
        """
        T, m, M, n = self.T, self.m, self.M, self.n
        out = torch.bmm(A, self.data.view(T, m * M, n).transpose(1, 2))
        return out.view(T, -1, m, M)

    def left_native(self, B: torch.Tensor) -> torch.Tensor:
        """``(T, m, r) -> (T, r, M, n)``, contiguous: ``out[t, :, i, :] = B^T G_i``."""
        T, m, M, n = self.T, self.m, self.M, self.n
        out = torch.bmm(B.transpose(1, 2), self.data.view(T, m, M * n))
        return out.view(T, -1, M, n)

    def compact_(self, active: torch.Tensor) -> tuple["GaussianFeatures", torch.Tensor]:
        """In place: active rows behind the new end ``k`` fill the finished rows before it.

        Moves ``min(#finished before k, #active from k on)`` instances instead of all ``k``; the
        result is a view of the first ``k`` rows of this operator's storage, which is
        overwritten.

        >>> data = torch.arange(4.0, dtype=torch.float64).reshape(4, 1, 1, 1)
        >>> small, keep = GaussianFeatures(data.clone()).compact_(torch.tensor([False, True, False, True]))
        >>> keep.tolist(), small.data.flatten().tolist()
        ([3, 1], [3.0, 1.0])
        """
        if active.dtype != torch.bool or tuple(active.shape) != (self.T,):
            raise InvalidArgument(f"active must be a boolean mask of shape ({self.T},), "
                                  f"got {active.dtype} {tuple(active.shape)}")
        k = int(active.sum())
        keep = torch.arange(k, device=self.device)
        holes = (~active[:k]).nonzero().flatten()
        if holes.numel():
            sources = active[k:].nonzero().flatten() + k
            self.data[holes] = self.data[sources]
            keep[holes] = sources
        return GaussianFeatures(self.data[:k]), keep

    def subset(self, index) -> "GaussianFeatures":
        """The trials selected by a boolean mask or an integer index (a copy)."""
        return GaussianFeatures(self.data[_as_index(index, self.T, self.device)])

    def to(self, dtype=None, device=None) -> "GaussianFeatures":
        """Cast (float32 -> float64 is exact) or move; returns ``self`` if nothing changes."""
        dtype = self.dtype if dtype is None else resolve_dtype(dtype)
        device = self.device if device is None else torch.device(device)
        if dtype == self.dtype and device == self.device:
            return self
        return GaussianFeatures(self.data.to(device=device, dtype=dtype))

    def dense(self) -> torch.Tensor:
        """The features as ``(T, M, m, n)``."""
        return self.data.transpose(1, 2).contiguous()


class StructuredFeatures(FeatureOperator):
    """Last-layer features ``G_ik = a_k x_i^T``; equation ``(i, k)`` has index ``i K + k``.

    >>> a = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)      # m=2, K=2
    >>> x = torch.tensor([[[1.0], [2.0], [3.0]]], dtype=torch.float64)          # n=3, N=1
    >>> op = StructuredFeatures(a, x)
    >>> op.M, op.K, op.N
    (2, 2, 1)
    >>> op.dense()[0, 1]   # G_{0,1} = a_1 x_0^T
    tensor([[0., 0., 0.],
            [1., 2., 3.]], dtype=torch.float64)
    """

    def __init__(self, heads: torch.Tensor, inputs: torch.Tensor):
        if heads.dim() != 3 or inputs.dim() != 3 or heads.shape[0] != inputs.shape[0]:
            raise InvalidArgument(
                f"heads and inputs must have shapes (T, m, K) and (T, n, N), got "
                f"{tuple(heads.shape)} and {tuple(inputs.shape)}"
            )
        self.a = heads.contiguous()
        self.x = inputs.contiguous()
        self.T, self.m, self.K = (int(s) for s in heads.shape)
        self.n, self.N = int(inputs.shape[1]), int(inputs.shape[2])
        self.M = self.K * self.N

    @property
    def dtype(self) -> torch.dtype:
        return self.a.dtype

    @property
    def device(self) -> torch.device:
        return self.a.device

    def bytes_per_pass(self) -> int:
        return (self.a.numel() + self.x.numel()) * self.a.element_size()

    def _to_eq(self, s: torch.Tensor) -> torch.Tensor:
        """``(T, K, N, ...) -> (T, M, ...)`` with index ``i K + k``."""
        return s.transpose(1, 2).reshape(self.T, self.M, *s.shape[3:])

    def apply(self, delta: torch.Tensor) -> torch.Tensor:
        """``(T, m, n) -> (T, M)``: ``a_k^T Delta x_i``."""
        s = self.a.transpose(1, 2) @ delta @ self.x  # (T, K, N)
        return self._to_eq(s)

    def adjoint(self, res: torch.Tensor) -> torch.Tensor:
        """``(T, M) -> (T, m, n)``: ``sum_ik res_ik a_k x_i^T``."""
        rmat = res.view(self.T, self.N, self.K).transpose(1, 2)  # (T, K, N)
        return self.a @ rmat @ self.x.transpose(1, 2)

    def right_native(self, A: torch.Tensor) -> torch.Tensor:
        """``(T, r, n) -> (T, r, m, M)``: ``a_k (A x_i)^T``, transposed as in
        :meth:`GaussianFeatures.right_native`."""
        ax = A @ self.x  # (T, r, N)
        out = torch.einsum("tak,tji->tjaik", self.a, ax)
        return out.reshape(self.T, -1, self.m, self.M)

    def left_native(self, B: torch.Tensor) -> torch.Tensor:
        """``(T, m, r) -> (T, r, M, n)``: ``(B^T a_k) x_i^T``."""
        ba = B.transpose(1, 2) @ self.a  # (T, r, K)
        out = torch.einsum("tjk,tbi->tjikb", ba, self.x)
        return out.reshape(self.T, -1, self.M, self.n)

    def subset(self, index) -> "StructuredFeatures":
        """The trials selected by a boolean mask or an integer index (a copy)."""
        idx = _as_index(index, self.T, self.device)
        return StructuredFeatures(self.a[idx], self.x[idx])

    def to(self, dtype=None, device=None) -> "StructuredFeatures":
        """Cast (float32 -> float64 is exact) or move; returns ``self`` if nothing changes."""
        dtype = self.dtype if dtype is None else resolve_dtype(dtype)
        device = self.device if device is None else torch.device(device)
        if dtype == self.dtype and device == self.device:
            return self
        return StructuredFeatures(
            self.a.to(device=device, dtype=dtype), self.x.to(device=device, dtype=dtype)
        )

    def dense(self) -> torch.Tensor:
        """The features as ``(T, M, m, n)`` (materialised; for tests and small sizes)."""
        g = torch.einsum("tmk,tni->tikmn", self.a, self.x)
        return g.reshape(self.T, self.M, self.m, self.n)


def _check_sizes(m, n, M):
    return (
        require_positive_int("m", m),
        require_positive_int("n", n),
        require_positive_int("M", M),
    )


def sample_gaussian(seeds, m: int, n: int, M: int, *, device="cpu", dtype=torch.float64,
                    sample_device=None) -> tuple[GaussianFeatures, torch.Tensor]:
    """A batch of Gaussian-iid instances, one per seed.

    >>> op, y = sample_gaussian([7, 8], m=3, n=2, M=5, dtype="float32")
    >>> op.dense().shape, y.dtype
    (torch.Size([2, 5, 3, 2]), torch.float32)
    """
    m, n, M = _check_sizes(m, n, M)
    seeds = _check_seeds(seeds)
    dev, dtype = resolve_device(device), resolve_dtype(dtype)
    sdev = dev if sample_device is None else resolve_device(sample_device)
    T = len(seeds)
    data = torch.empty((T, m, M, n), dtype=dtype, device=dev)
    y = torch.empty((T, M), dtype=dtype, device=dev)
    for t, seed in enumerate(seeds):
        g = _generator(seed, sdev)
        data[t].copy_(torch.randn((m, M, n), generator=g, dtype=torch.float64, device=sdev))
        y[t].copy_(torch.randn((M,), generator=g, dtype=torch.float64, device=sdev))
    return GaussianFeatures(data), y


def sample_structured(seeds, m: int, n: int, K: int, N: int, *, device="cpu",
                      dtype=torch.float64, sample_device=None) -> tuple[StructuredFeatures, torch.Tensor]:
    """A batch of structured (last-layer) instances, ``M = K N`` equations, one per seed.

    >>> op, y = sample_structured([7, 8], m=3, n=4, K=2, N=5)
    >>> op.shape, tuple(y.shape)
    ((2, 10, 3, 4), (2, 10))
    """
    m, n = require_positive_int("m", m), require_positive_int("n", n)
    K, N = require_positive_int("K", K), require_positive_int("N", N)
    seeds = _check_seeds(seeds)
    dev, dtype = resolve_device(device), resolve_dtype(dtype)
    sdev = dev if sample_device is None else resolve_device(sample_device)
    T = len(seeds)
    a = torch.empty((T, m, K), dtype=dtype, device=dev)
    x = torch.empty((T, n, N), dtype=dtype, device=dev)
    y = torch.empty((T, K * N), dtype=dtype, device=dev)
    for t, seed in enumerate(seeds):
        g = _generator(seed, sdev)
        a[t].copy_(torch.randn((m, K), generator=g, dtype=torch.float64, device=sdev))
        x[t].copy_(torch.randn((n, N), generator=g, dtype=torch.float64, device=sdev))
        y[t].copy_(torch.randn((K * N,), generator=g, dtype=torch.float64, device=sdev))
    return StructuredFeatures(a, x), y


def sample_instances(seeds, m: int, n: int, M: int, *, features: str = "gaussian", K=None,
                     device="cpu", dtype=torch.float64, sample_device=None):
    """A batch ``(op, y)`` of ``len(seeds)`` instances of the cell ``(m, n, ., M)``.

    Parameters
    ----------
    seeds : sequence of int
        One seed per trial (see :func:`numerics.engine.seeding.trial_seed`).
    m, n, M : int
        Update shape and number of equations.
    features : {"gaussian", "structured"}
        Feature model. ``"structured"`` needs ``K`` dividing ``M`` (then ``N = M / K``).
    K : int, optional
        Outputs per example, structured features only.
    device, dtype, sample_device
        Where the batch lives, its dtype (float32 or float64), and where it is drawn
        (default: ``device``).

    Returns
    -------
    (FeatureOperator, torch.Tensor)
        The operator and the targets ``y`` of shape ``(T, M)``.

    Examples
    --------
    >>> op, y = sample_instances([5], m=4, n=4, M=6, features="structured", K=2)
    >>> type(op).__name__, op.N
    ('StructuredFeatures', 3)
    >>> sample_instances([5], m=4, n=4, M=7, features="structured", K=2)
    Traceback (most recent call last):
    ...
    proofs.validation.InvalidArgument: K must divide M = 7, got 2
    """
    if features == "gaussian":
        return sample_gaussian(seeds, m, n, M, device=device, dtype=dtype,
                               sample_device=sample_device)
    if features == "structured":
        M = require_positive_int("M", M)
        if K is None:
            raise InvalidArgument("K must be given for structured features, got None")
        K = require_positive_int("K", K)
        if M % K:
            raise InvalidArgument(f"K must divide M = {M}, got {K}")
        return sample_structured(seeds, m, n, K, M // K, device=device, dtype=dtype,
                                 sample_device=sample_device)
    raise InvalidArgument(f"features must be 'gaussian' or 'structured', got {features!r}")
