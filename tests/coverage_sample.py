"""A sample call of the coverage tables (tests/coverage_calls.py) and its input point."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


@dataclass(frozen=True)
class Sample:
    """call(x) on a 1-D x of size elements, drawn uniformly from [low, high] and added
    to base (when given) at a point fixed by the function's name."""
    call: Callable
    size: int = 3
    low: float = 0.2
    high: float = 0.8
    base: Optional[tuple] = None

    def point(self, name):
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        x = rng.uniform(self.low, self.high, self.size)
        if self.base is not None:
            x = x + np.asarray(self.base, dtype=np.float64)
        return x


def S(call, size=3, low=0.2, high=0.8, base=None):
    return Sample(call, size, low, high, None if base is None else tuple(np.ravel(base)))


# Matrices built from x: a well-conditioned general one, a symmetric positive definite
# one, and a triangular one (size 9, x drawn in [-0.3, 0.3] around 2 I).
def matrix(x, n=3):
    return np.reshape(x, (n, n))


def symmetric(x, n=3):
    m = np.reshape(x, (n, n))
    return (m + m.T) / 2


def upper(x, n=3):
    return np.triu(np.reshape(x, (n, n)))


def M(call, n=3, scale=0.3):
    """A sample on an n x n matrix around 2 I with distinct diagonal entries (distinct,
    real eigenvalues: decompositions are smooth there)."""
    return S(call, n * n, -scale, scale, np.diag(np.arange(2.0, 2.0 + n)))


def unique_sign(columns):
    """Eigenvectors / singular vectors with the sign fixed (largest entry of each column
    positive), so that they are functions of the matrix."""
    pivot = np.take_along_axis(columns, np.argmax(np.abs(columns), axis=0)[None, :], axis=0)
    return columns * np.sign(pivot)
