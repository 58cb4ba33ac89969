"""Run tiny optimisations with single-threaded BLAS.

scipy's L-BFGS-B and least_squares call BLAS on vectors of a few elements; with a multi-threaded
OpenBLAS on a busy machine each call pays a thread hand-off, which measured 15× slower here.
threadpoolctl (a scikit-learn dependency) is used when installed; otherwise nothing changes.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def _limited() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional speed-up only
        yield
        return
    with threadpool_limits(limits=1):
        yield


def single_thread_blas(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator: BLAS/OpenMP pools limited to one thread while `func` runs (when threadpoolctl exists)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _limited():
            return func(*args, **kwargs)

    return wrapper
