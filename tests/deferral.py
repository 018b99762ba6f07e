"""Helpers of the deferred-jet tests (tests/test_deferred*.py; src_c/_deferred.pxi).

dj.batch_jacobian / dj.batch_hessian on a plain source of >= dj.set_deferred_threshold()
elements hand f a dj.DeferredJet; rules-table ufuncs and operators on it only record
nodes, run later in chunks by the SoA kernels; everything else computes and takes the
ordinary dense path. The contract the tests check: a deferred result has the same bits
as the eager one (threshold 0), whatever f does. Expected values are therefore the
eager path's (computed in the same test, never pasted), plus outside witnesses where
the function is known: the analytic Hessian of benchmarks/cases.py's `potential`,
complex-step Jacobians (tests/witness.py, benchmarks/cases.py), plain NumPy values.

Every test that changes the threshold does so through banding.deferred_from (or the
`threshold` fixture of conftest.py), which restores the old value; the
`threshold_is_restored` fixture (conftest.py), which every deferred test module uses,
checks that no test leaks a threshold.
"""

import importlib
import importlib.util
import pathlib
import sys

import numpy as np

import dualjac as dj
from banding import deferred_from

TRANSFORMS = {"batch_jacobian": dj.batch_jacobian, "batch_hessian": dj.batch_hessian}
DTYPES = (np.float64, np.float32)

# Enough rows that a deferred program runs over several chunks and (numbers >
# 2**15, src_c/_core.pyx NOGIL_THRESHOLD) on the thread pool, small enough to be quick.
ROWS = 6000
MAX_PENDING = 128     # src_c/_deferred.pxi: a graph this large is computed at once


def _load_benchmark_cases():
    """benchmarks/cases.py (NumPy only) by path: its `potential` and analytic
    `potential_hessian` are the witnesses the benchmarks use too."""
    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "cases.py"
    name = "dualjac_benchmark_cases"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module         # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


cases = _load_benchmark_cases()


def potential(x):
    """benchmarks/cases.py's potential, on NumPy."""
    return cases.potential(x, np)


class Probe:
    """f, counting its calls and recording the type of its argument per call."""

    def __init__(self, f):
        self.f = f
        self.calls = 0
        self.arg_types = []

    def __call__(self, x):
        self.calls += 1
        self.arg_types.append(type(x))
        return self.f(x)


def eager(transform, f, x, **kwargs):
    """The eager result: f on ordinary dense jets (threshold 0). x is copied, so
    an f that mutates its caller's array sees a fresh one every time."""
    with deferred_from(0):
        return transform(f, np.array(x, copy=True), **kwargs)


def deferred_run(transform, f, x, threshold=1, **kwargs):
    """(transform(f, x) with deferral from `threshold` elements, the Probe of f)."""
    probe = Probe(f)
    with deferred_from(threshold):
        result = transform(probe, np.array(x, copy=True), **kwargs)
    return result, probe


def check_calls(probe, calls):
    """f was handed a DeferredJet first, and ran `calls` times (None: any number;
    2: f wrote into a deferred jet, so the transform ran it again on dense jets)."""
    assert probe.arg_types[0] is dj.DeferredJet, probe.arg_types
    if calls is not None:
        assert probe.calls == calls, f"f ran {probe.calls} times, expected {calls}"


def deferred(transform, f, x, threshold=1, calls=1, **kwargs):
    """transform(f, x) with f handed a DeferredJet (checked) and run `calls` times."""
    result, probe = deferred_run(transform, f, x, threshold, **kwargs)
    check_calls(probe, calls)
    return result


def assert_identical(got, want):
    """Same dtype, shape and bits (NaN == NaN, and the sign of every zero too)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)
    zeros = (got == 0) & (want == 0)
    np.testing.assert_array_equal(np.signbit(got[zeros]), np.signbit(want[zeros]),
                                  err_msg="signs of zeros differ")


def assert_matches_eager(transform, f, x, calls=1, threshold=1, **kwargs):
    """The deferred result has eager's bits (checked first), f got a DeferredJet
    and ran `calls` times."""
    got, probe = deferred_run(transform, f, x, threshold, **kwargs)
    assert_identical(got, eager(transform, f, x, **kwargs))
    check_calls(probe, calls)
    return got


def assert_write_reruns(transform, f, x):
    """f writes into a deferred jet: eager's result (checked first), and f ran twice."""
    assert_matches_eager(transform, f, x, calls=2)


def pending(x, y, float64_only=False):
    """y, checked to be a pending deferred node (the operation was recorded) when f's
    argument x is deferred (only for float64 rows when the function promotes float32
    ones to float64, as NumPy does)."""
    if isinstance(x, dj.DeferredJet) and not (float64_only and x.dtype != np.float64):
        assert isinstance(y, dj.DeferredJet) and "pending" in repr(y), repr(y)
    return y


def dense(j):
    """The dense jet a DeferredJet stands for; an ordinary jet as it is (so that
    one f runs on both paths)."""
    return j.compute() if isinstance(j, dj.DeferredJet) else j


def points(domain, shape, dtype, seed):
    """Points strictly inside the open interval `domain`, rounded to dtype."""
    lo, hi = domain
    u = np.random.default_rng(seed).uniform(0.02, 0.98, shape)
    return (lo + (hi - lo) * u).astype(dtype)


def table_ufunc(row):
    """The row's ufunc: np.sin, scipy.special.erf (scipy is a test dependency)."""
    return getattr(importlib.import_module(row.module), row.name)


def rng_x(shape, dtype=np.float64, seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)
