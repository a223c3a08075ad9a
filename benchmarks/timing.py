"""Small timing helpers shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def rate(fn: Callable[[], object], n: int, warmup: int = 0) -> tuple[float, np.ndarray]:
    """Call ``fn`` ``warmup`` then ``n`` times; returns (calls per second, per-call seconds (n,))."""
    for _ in range(warmup):
        fn()
    times = np.empty(n)
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        fn()
        times[i] = time.perf_counter() - t0
    return n / (time.perf_counter() - start), times


def ms(seconds: np.ndarray, q: float) -> float:
    return float(np.percentile(seconds, q) * 1e3)
