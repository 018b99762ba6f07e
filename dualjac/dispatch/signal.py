"""Discrete convolution and correlation of jets: np.convolve, np.correlate.

Both operands may be jets. The result is a sum over the shorter operand of its elements
times the windows of the longer one they meet, so each output element depends on exactly
the elements NumPy's sum reads: the sparsity tracer runs the rule and gets the exact
pattern, and the work is O(len(short) * len(output)). Arguments are checked by NumPy's own
function on plain arrays of the same shapes, so the errors are NumPy's.
"""

import numpy as np

from .registry import implements_composite

_MODES = {0: "valid", 1: "same", 2: "full"}


def _check(numpy_function, a, v, mode):
    numpy_function(np.zeros(np.shape(a)), np.zeros(np.shape(v)), mode)
    return _MODES.get(mode, mode) if not isinstance(mode, str) else mode


def _full_window(a, v, start, length):
    """Elements start .. start + length of the full convolution of 1-d a and v."""
    long, short = (a, v) if np.shape(a)[0] >= np.shape(v)[0] else (v, a)
    n = np.shape(long)[0]
    dtype = np.result_type(a.dtype, v.dtype)
    total = 0.0
    for j in range(np.shape(short)[0]):    # full[k] = sum_j short[j] * long[k - j]
        # the outputs this term reaches (0 <= k - j < n), within the window
        lo, hi = max(start, j), min(start + length, j + n)
        if lo >= hi:
            continue
        term = short[j] * long[lo - j:hi - j]
        total = total + np.concatenate([np.zeros(lo - start, dtype), term,
                                        np.zeros(start + length - hi, dtype)])
    if np.ndim(total) == 0:       # no term reaches the window (it is empty)
        return np.zeros(length, dtype) * short[:1]
    return total


def _window(n, m, mode, correlation):
    """(start, length) of mode's output within the full convolution."""
    full, smallest = n + m - 1, min(n, m)
    if mode == "full":
        return 0, full
    if mode == "valid":
        return smallest - 1, full - 2 * (smallest - 1)
    start = (smallest - 1) // 2
    if correlation and n < m:       # NumPy correlates the swapped pair and reverses it
        start = full - max(n, m) - start
    return start, max(n, m)


def _as_float(x):
    if isinstance(x, np.ndarray) or not hasattr(x, "value"):
        x = np.asarray(x)
        return x if x.dtype.kind == "f" else x.astype(np.float64)
    return x


@implements_composite(np.convolve)
def convolve(a, v, mode="full"):
    mode = _check(np.convolve, a, v, mode)
    a, v = (np.atleast_1d(_as_float(x)) for x in (a, v))
    start, length = _window(a.shape[0], v.shape[0], mode, correlation=False)
    return _full_window(a, v, start, length)


@implements_composite(np.correlate)
def correlate(a, v, mode="valid"):
    """sum_n a[n + k] v[n] (real operands: conj(v) is v), as a convolution with v reversed."""
    mode = _check(np.correlate, a, v, mode)
    a, v = (np.atleast_1d(_as_float(x)) for x in (a, v))
    start, length = _window(a.shape[0], v.shape[0], mode, correlation=True)
    return _full_window(a, v[::-1], start, length)
