"""Accept a weight matrix as a torch tensor or a numpy array, without copying it."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray


def as_matrix(W: Any, name: str = "W", device: torch.device | str | None = None) -> torch.Tensor:
    """`W` as a 2-D floating tensor on `device` (default: where it is); numpy is shared, not copied."""
    if isinstance(W, np.ndarray):
        W = torch.from_numpy(W)
    if not isinstance(W, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(W).__name__}")
    if W.ndim != 2:
        raise ValueError(f"{name} must be a matrix [n, m], got shape {tuple(W.shape)}")
    if not W.is_floating_point():
        raise ValueError(f"{name} must be floating point, got dtype {W.dtype}")
    if device is not None:
        W = W.to(device)
    return W


def as_vector(b: Any, n: int, name: str = "b", device: torch.device | str | None = None) -> torch.Tensor:
    """`b` as a 1-D torch tensor of length `n`."""
    if isinstance(b, np.ndarray):
        b = torch.from_numpy(b)
    if not isinstance(b, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor or numpy.ndarray, got {type(b).__name__}")
    if b.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {tuple(b.shape)}")
    if device is not None:
        b = b.to(device)
    return b


def compute_dtype(dtype: torch.dtype, device: torch.device) -> torch.dtype:
    """Dtype for the GEMMs: the stored dtype on GPU (as the paper's LLM code), float32 for halves on CPU."""
    if dtype in (torch.float16, torch.bfloat16) and device.type == "cpu":
        return torch.float32
    return dtype


def select_rows(rows: Any, n: int) -> torch.Tensor:
    """Row indices (int64, CPU) from None (all), a boolean mask [n] or an index array."""
    if rows is None:
        return torch.arange(n)
    if isinstance(rows, np.ndarray):
        rows = torch.from_numpy(rows)
    rows = torch.as_tensor(rows).cpu()
    if rows.dtype == torch.bool:
        if rows.shape != (n,):
            raise ValueError(f"rows mask must have shape ({n},), got {tuple(rows.shape)}")
        return torch.nonzero(rows).flatten()
    if rows.ndim != 1 or rows.is_floating_point():
        raise ValueError(
            f"rows must be a boolean mask or a 1-D integer index, got {rows.dtype} {tuple(rows.shape)}"
        )
    if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= n):
        raise ValueError(
            f"rows indices must lie in [0, {n}), got range [{int(rows.min())}, {int(rows.max())}]"
        )
    return rows.long()
