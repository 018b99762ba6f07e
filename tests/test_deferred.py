"""Deferred jets (src_c/_deferred.pxi): dj.batch_jacobian / dj.batch_hessian on a
plain source of >= dj.set_deferred_threshold() elements hand f a dj.DeferredJet;
rules-table ufuncs and operators on it only record nodes, run later in chunks by
the SoA kernels; everything else computes and takes the ordinary dense path.

The contract tested here: a deferred result has the same bits as the eager one
(threshold 0), whatever f does. Expected values are therefore the eager path's
(computed in the same test, never pasted), plus outside witnesses where the
function is known: the analytic Hessian of benchmarks/cases.py's `potential`,
complex-step Jacobians (tests/witness.py, benchmarks/cases.py), plain NumPy values.

Every test that changes the threshold does so through banding.deferred_from (or
the `threshold` fixture below), which restores the old value; the autouse
`threshold_is_restored` fixture checks that no test leaks a threshold.
"""

import importlib
import importlib.util
import operator
import os
import pathlib
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import dualjac as dj
from dualjac import rules
from banding import deferred_from
from witness import complex_step_jacobian

TRANSFORMS = {"batch_jacobian": dj.batch_jacobian, "batch_hessian": dj.batch_hessian}
DTYPES = (np.float64, np.float32)

# Enough rows that a deferred program runs over several chunks and (numbers >
# 2**15, src_c/_core.pyx NOGIL_THRESHOLD) on the thread pool, small enough to be quick.
ROWS = 6000
MAX_PENDING = 64      # src_c/_deferred.pxi: a graph this large is computed at once


# ----------------------------------------------------------------- helpers

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


@pytest.fixture(autouse=True)
def threshold_is_restored():
    before = dj.set_deferred_threshold()
    yield
    assert dj.set_deferred_threshold() == before, "a test leaked its deferred threshold"


@pytest.fixture
def threshold():
    """threshold(n): set the deferred threshold for the rest of the test (restored after)."""
    old = dj.set_deferred_threshold()

    def set_to(n):
        return dj.set_deferred_threshold(n)

    yield set_to
    dj.set_deferred_threshold(old)


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


# ----------------------------------------------------------------- the rules table

UNARY_FORMS = {
    "column": lambda u: (lambda x: u(x[:, 0])),          # a seed view (x[:, j])
    "source": lambda u: (lambda x: u(x)),                # the whole source (seed varies)
}

OPERATORS = {"add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
             "divide": operator.truediv, "power": operator.pow}

BINARY_VARIANTS = ("jet_jet", "jet_scalar", "scalar_jet", "jet_array", "array_jet")


def unary_source(row, dtype):
    return points(row.domain, (ROWS, 2), dtype, seed=len(row.name))


def binary_source(row, dtype):
    x = np.empty((ROWS, 2), dtype)
    x[:, 0] = points(row.domain_x, ROWS, dtype, seed=1)
    x[:, 1] = points(row.domain_y, ROWS, dtype, seed=2)
    return x


def binary_function(op, row, variant, dtype):
    """op in one of the five operand variants; constants lie in the row's domain."""
    scalar_x = float(points(row.domain_x, 1, dtype, seed=3)[0])   # exact in dtype
    scalar_y = float(points(row.domain_y, 1, dtype, seed=4)[0])
    array_x = points(row.domain_x, ROWS, dtype, seed=5)
    array_y = points(row.domain_y, ROWS, dtype, seed=6)
    return {
        "jet_jet": lambda x: op(x[:, 0], x[:, 1]),
        "jet_scalar": lambda x: op(x[:, 0], scalar_y),
        "scalar_jet": lambda x: op(scalar_x, x[:, 1]),
        "jet_array": lambda x: op(x[:, 0], array_y),
        "array_jet": lambda x: op(array_x, x[:, 1]),
    }[variant]


def _unary_params():
    return [pytest.param(row, id=row.name) for row in rules.UNARY]


def _binary_params():
    return [pytest.param(row, id=row.name) for row in rules.BINARY]


def test_table_rows_all_resolve():
    """Every row's ufunc exists in its module (scipy.special rows included)."""
    for row in rules.UNARY + rules.BINARY:
        func = table_ufunc(row)
        assert isinstance(func, np.ufunc), row.name
        assert func.nin == (1 if isinstance(row, rules.Unary) else 2), row.name


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("form", UNARY_FORMS)
@pytest.mark.parametrize("row", _unary_params())
def test_unary_row_matches_eager(row, form, dtype, transform):
    f = UNARY_FORMS[form](table_ufunc(row))
    assert_matches_eager(TRANSFORMS[transform], f, unary_source(row, dtype))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("variant", BINARY_VARIANTS)
@pytest.mark.parametrize("row", _binary_params())
def test_binary_row_matches_eager(row, variant, dtype, transform):
    f = binary_function(table_ufunc(row), row, variant, dtype)
    assert_matches_eager(TRANSFORMS[transform], f, binary_source(row, dtype))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("variant", BINARY_VARIANTS)
@pytest.mark.parametrize("name", OPERATORS)
def test_operator_matches_eager(name, variant, dtype, transform):
    row = rules.by_name()[name]
    f = binary_function(OPERATORS[name], row, variant, dtype)
    assert_matches_eager(TRANSFORMS[transform], f, binary_source(row, dtype))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ["neg", "pos", "abs"])
def test_unary_operator_matches_eager(name, dtype, transform):
    op = {"neg": operator.neg, "pos": operator.pos, "abs": operator.abs}[name]
    assert_matches_eager(TRANSFORMS[transform], lambda x: op(x[:, 0]) * x[:, 1],
                         rng_x((ROWS, 2), dtype))


@pytest.mark.parametrize("row", _unary_params())
def test_unary_row_is_recorded_not_computed(row):
    """A table ufunc on a deferred jet gives a pending DeferredJet."""
    seen = []

    def f(x):
        y = table_ufunc(row)(x[:, 0])
        seen.append((type(y), repr(y)))
        return y

    deferred(dj.batch_hessian, f, unary_source(row, np.float64))
    assert seen[0][0] is dj.DeferredJet and "pending" in seen[0][1], seen


@pytest.mark.parametrize("variant", BINARY_VARIANTS)
@pytest.mark.parametrize("row", _binary_params())
def test_binary_row_is_recorded_not_computed(row, variant):
    seen = []
    g = binary_function(table_ufunc(row), row, variant, np.float64)

    def f(x):
        y = g(x)
        seen.append((type(y), repr(y)))
        return y

    deferred(dj.batch_jacobian, f, binary_source(row, np.float64))
    assert seen[0][0] is dj.DeferredJet and "pending" in seen[0][1], seen


SPECIAL = (-np.inf, -1e30, -3.0, -1.0, -0.5, -1e-30, -0.0, 0.0, 1e-30, 0.5, 1.0, 3.0,
           1e30, np.inf, np.nan)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("row", _unary_params())
def test_unary_row_at_special_points(row, dtype, transform):
    """Zeros, infinities, NaN, huge and tiny arguments: the same bits (NaN in
    the same places, zeros with the same signs) as eager."""
    values = np.tile(np.array(SPECIAL, dtype), 40)
    x = np.stack([values, values[::-1]], axis=1)
    with np.errstate(all="ignore"):
        assert_matches_eager(TRANSFORMS[transform], lambda x: table_ufunc(row)(x[:, 0]), x)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("row", _binary_params())
def test_binary_row_at_special_points(row, dtype, transform):
    a, b = np.meshgrid(np.array(SPECIAL, dtype), np.array(SPECIAL, dtype))
    x = np.tile(np.stack([a.ravel(), b.ravel()], axis=1), (3, 1))
    with np.errstate(all="ignore"):
        assert_matches_eager(TRANSFORMS[transform],
                             lambda x: table_ufunc(row)(x[:, 0], x[:, 1]), x)


# sin(v) and cos(v) of one v run as one pair kernel (one value pass, generated from
# the rows whose blocks compute each other's value): each result keeps its own
# row's bits, whichever comes first, whatever else reads v or the results.
PAIRED = {
    "sin_then_cos": lambda x: np.sin(x[:, 0]) * np.cos(x[:, 0]),
    "cos_then_sin": lambda x: np.cos(x[:, 0]) + np.sin(x[:, 0]),
    "apart": lambda x: np.sin(x[:, 0]) * x[:, 1] + np.exp(x[:, 1]) * np.cos(x[:, 0]),
    "whole_source": lambda x: np.sin(x) - np.cos(x) * x,
    "both_results": lambda x: np.stack([np.cos(x[:, 1]), np.sin(x[:, 1]), x[:, 0]], axis=-1),
    "three_of_one": lambda x: np.sin(x[:, 0]) * np.cos(x[:, 0]) + np.sin(x[:, 0]) * 2.0,
    "other_operands": lambda x: np.sin(x[:, 0]) * np.cos(x[:, 1]),
    "of_a_node": lambda x: (lambda v: np.cos(v) / (2.0 + np.sin(v)))(x[:, 0] * x[:, 1]),
    "spherical": lambda x: cases.sph(x, np),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("key", PAIRED)
def test_sin_and_cos_of_one_operand(key, dtype, transform):
    x = rng_x((ROWS, 3), dtype, lo=-4.0, hi=4.0)
    assert_matches_eager(TRANSFORMS[transform], PAIRED[key], x)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_sin_and_cos_of_one_operand_at_special_points(dtype, transform):
    """Huge arguments (libm's reduction), infinities and NaN in the shared value pass."""
    values = np.tile(np.array(SPECIAL, dtype), 40)
    x = np.stack([values, values[::-1]], axis=1)
    with np.errstate(all="ignore"):
        assert_matches_eager(TRANSFORMS[transform], PAIRED["sin_then_cos"], x)
        assert_matches_eager(TRANSFORMS[transform], PAIRED["cos_then_sin"], x)


def test_sin_and_cos_of_one_operand_against_complex_step():
    """The spherical map's batch Jacobian (the benchmark case) against complex step."""
    x = rng_x((2000, 3), lo=0.2, hi=2.0)
    with deferred_from(1):
        got = dj.batch_jacobian(lambda v: cases.sph(v, np), x)
    want = cases.complex_step_batch_jacobian(lambda v: cases.sph(v, np), x)
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("exponent", [0, 1, 2, 3, -1, -2, 0.5, -0.5, 1.5, 2.0, 3.0, True])
def test_power_with_python_exponents(exponent, dtype, transform):
    """x ** c is rewritten to a unary row for some c (square, sqrt, reciprocal):
    still the eager bits, for both operand orders."""
    x = rng_x((ROWS, 2), dtype, lo=0.2, hi=2.0)
    assert_matches_eager(TRANSFORMS[transform], lambda x: x[:, 0] ** exponent, x)
    assert_matches_eager(TRANSFORMS[transform], lambda x: x ** exponent, x)
    base = abs(exponent) + 0.5                       # scalar ** jet
    assert_matches_eager(TRANSFORMS[transform], lambda x: base ** x[:, 1], x)


# ----------------------------------------------------------------- the potential benchmark

def potential(x):
    return cases.potential(x, np)


@pytest.fixture(scope="module")
def potential_rows():
    return np.random.default_rng(104).uniform(-1.0, 1.0, (10_000, 3))


def test_potential_hessian_matches_eager_and_the_analytic_hessian(potential_rows):
    x = potential_rows
    # 30 000 elements: deferred at the library's default threshold.
    H = deferred(dj.batch_hessian, potential, x, threshold=4096)
    assert_identical(H, eager(dj.batch_hessian, potential, x))
    # 1e-12 relative; entries that cross zero (H_22 at |c| = 1) get a 1e-14 floor.
    np.testing.assert_allclose(H, cases.potential_hessian(x), rtol=1e-12, atol=1e-14)


def test_potential_jacobian_matches_eager_and_complex_step(potential_rows):
    x = potential_rows
    J = deferred(dj.batch_jacobian, potential, x, threshold=4096)
    assert_identical(J, eager(dj.batch_jacobian, potential, x))
    np.testing.assert_allclose(J, cases.complex_step_batch_jacobian(potential, x),
                               rtol=1e-13, atol=1e-15)


def two_outputs(x):
    """potential and a second elementwise function of the columns, stacked: (b, 2)."""
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    return np.stack([potential(x), np.tanh(a) * c / (1.0 + b * b)], axis=1)


def test_stacked_two_outputs_jacobian_vs_complex_step(potential_rows):
    x = potential_rows
    J = deferred(dj.batch_jacobian, two_outputs, x, threshold=4096)
    assert J.shape == (10_000, 2, 3)
    assert_identical(J, eager(dj.batch_jacobian, two_outputs, x))
    np.testing.assert_allclose(J, cases.complex_step_batch_jacobian(two_outputs, x),
                               rtol=1e-13, atol=1e-15)
    # and our own witness, one row at a time
    for i in (0, 4321, 9999):
        np.testing.assert_allclose(J[i], complex_step_jacobian(two_outputs, x[i:i + 1])[0, :, 0],
                                   rtol=1e-13, atol=1e-15)


def test_stacked_two_outputs_hessian_matches_eager(potential_rows):
    H = deferred(dj.batch_hessian, two_outputs, potential_rows, threshold=4096)
    assert H.shape == (10_000, 2, 3, 3)
    assert_identical(H, eager(dj.batch_hessian, two_outputs, potential_rows))
    np.testing.assert_allclose(H[:, 0], cases.potential_hessian(potential_rows),
                               rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------- what f receives

@pytest.mark.parametrize("transform", TRANSFORMS)
def test_threshold_decides_what_f_receives(transform, threshold):
    dense_type = dj.DualArray if transform == "batch_jacobian" else dj.HyperDualArray
    threshold(4096)
    for rows, expected in ((1024, dj.DeferredJet), (1023, dense_type)):   # 4 per row
        probe = Probe(lambda x: np.sin(x) * 2.0)
        TRANSFORMS[transform](probe, rng_x((rows, 4)))
        assert probe.arg_types == [expected], (rows, probe.arg_types)
    threshold(0)
    probe = Probe(lambda x: np.sin(x))
    TRANSFORMS[transform](probe, rng_x((20_000, 4)))
    assert probe.arg_types == [dense_type]


def test_default_threshold():
    assert dj.set_deferred_threshold() == 1024   # the measured break-even (README)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_default_threshold_defers_large_sources(transform):
    probe = Probe(lambda x: np.exp(x[:, 0]) * x[:, 1])
    TRANSFORMS[transform](probe, rng_x((2048, 2)))
    assert probe.arg_types == [dj.DeferredJet]


SOURCE_VIEWS = {
    # seeds written straight into the program's scratch: one seed per view ...
    "column": lambda x: x[:, 1],
    "element": lambda x: x[7, 2] * x[:, 0],
    # ... or every seed, row after row (element e has seed e % row size)
    "whole": lambda x: x,
    "rows": lambda x: x[5:],
    "rows_reshaped": lambda x: x[5:, :],
    # seeds not evenly laid out: the source is seeded once and gathered
    "every_other_row": lambda x: x[::2],
    "reversed_columns": lambda x: x[:, ::-1],
    "two_columns": lambda x: x[:, :2],
}


def per_row(y, x):
    """y (elementwise code on a view of x) as one number per row of x."""
    y = y.reshape(len(y), -1)
    y = y[:, 0] * y[:, -1]
    if len(y) < len(x):                    # a view of fewer rows: pad with column 0
        y = np.concatenate([x[:len(x) - len(y), 0] * 1.0, y])
    return y


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("view", SOURCE_VIEWS)
def test_elementwise_code_on_views_of_the_source(view, transform):
    """Every way a view of the source can reach the program's scratch gives the
    eager bits."""
    def f(x):
        v = SOURCE_VIEWS[view](x)
        return per_row(np.sin(v) * v + np.exp(v) * 0.5, x)
    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_elementwise_code_on_a_source_of_matrix_rows(transform):
    """Rows of shape (2, 2): the seed of element e is e % 4 on the whole source."""
    f = lambda x: per_row(np.sin(x) * x + np.exp(x).sum(axis=(1, 2))[:, None, None], x)   # noqa: E731
    assert_matches_eager(TRANSFORMS[transform], lambda x: per_row(np.sin(x) * x, x),
                         rng_x((ROWS, 2, 2)))
    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 2, 2)))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_seed_views_are_deferred(transform):
    seen = {}

    def f(x):
        if not seen:                       # the deferred call (the eager one comes second)
            seen["x"] = (type(x), x.shape, x.ndim, x.size, x.dtype, len(x))
            seen["col"] = type(x[:, 0])
            seen["ellipsis"] = type(x[..., 1])
            seen["block"] = type(x[:, :2])
        return x[:, 0] * x[..., 1] + x[:, :2][:, 1]

    x = rng_x((ROWS, 3), np.float32)
    assert_matches_eager(TRANSFORMS[transform], f, x)
    assert seen["x"] == (dj.DeferredJet, (ROWS, 3), 2, ROWS * 3, np.float32, ROWS)
    assert seen["col"] is dj.DeferredJet
    assert seen["ellipsis"] is dj.DeferredJet
    assert seen["block"] is dj.DeferredJet


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_target_is_the_source(transform, dtype):
    x = rng_x((ROWS, 3), dtype)
    got = assert_matches_eager(TRANSFORMS[transform], lambda x: x, x)
    if transform == "batch_jacobian":
        np.testing.assert_array_equal(got, np.broadcast_to(np.eye(3, dtype=dtype), (ROWS, 3, 3)))
    else:
        assert got.shape == (ROWS, 3, 3, 3) and not got.any()


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_target_is_a_column(transform, dtype):
    x = rng_x((ROWS, 3), dtype)
    got = assert_matches_eager(TRANSFORMS[transform], lambda x: x[:, 1], x)
    if transform == "batch_jacobian":
        np.testing.assert_array_equal(got, np.broadcast_to(np.eye(3, dtype=dtype)[1], (ROWS, 3)))
    else:
        assert got.shape == (ROWS, 3, 3) and not got.any()


def multi_index_function(x):
    return np.sin(x[:, 0, 1]) * x[:, 1, 0] + np.exp(x[:, 1, 1]) / (2.0 + x[:, 0, 0])


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_row_shape_2x2(transform):
    x = rng_x((5000, 2, 2))
    got = assert_matches_eager(TRANSFORMS[transform], multi_index_function, x)
    if transform == "batch_jacobian":
        assert got.shape == (5000, 2, 2)
        np.testing.assert_allclose(got, cases.complex_step_batch_jacobian(multi_index_function, x),
                                   rtol=1e-13, atol=1e-15)
    else:
        assert got.shape == (5000, 2, 2, 2, 2)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("key", ["slice_2", "fancy", "step", "reversed_rows", "row_block"])
def test_views_whose_seed_varies(transform, key):
    """Views of the source other than x[:, j] (the seed varies per element, or the
    values are not evenly spaced) fall back to a seeded dense input: still eager's bits."""
    f = {
        "slice_2": lambda x: np.sin(x[:, :2]) * x[:, 1:3],
        "fancy": lambda x: np.cos(x[:, [0, 2]]) + x[:, [1, 1]],
        "step": lambda x: np.exp(x[:, ::2]) * 0.5,
        "reversed_rows": lambda x: x[::-1, 0] * x[:, 1],     # rows mixed: still eager's answer
        "row_block": lambda x: np.tanh(x[:, 1:]) * x[:, :1],
    }[key]
    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform, n, deferred_type", [
    ("batch_jacobian", 127, True), ("batch_jacobian", 128, False),
    ("batch_hessian", 14, True), ("batch_hessian", 15, False)])
def test_elements_of_more_than_128_numbers_stay_eager(transform, n, deferred_type):
    """Rows whose elements carry more than 128 numbers (1 + n for a Jacobian,
    1 + n + n(n+1)/2 for a Hessian) run on ordinary jets: same result either way."""
    probe = Probe(lambda x: np.sin(x) * x)
    with deferred_from(1):
        got = TRANSFORMS[transform](probe, rng_x((40, n)))
    assert (probe.arg_types[0] is dj.DeferredJet) == deferred_type
    assert_identical(got, eager(TRANSFORMS[transform], lambda x: np.sin(x) * x, rng_x((40, n))))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("n", [9, 12, 40])
def test_wide_rows(transform, n):
    """Hessians with n > 8 (read out entry by entry) and wide Jacobian rows."""
    if transform == "batch_hessian" and n == 40:
        n = 14          # the widest deferred Hessian: 1 + 14 + 105 = 120 numbers <= 128
    x = rng_x((600, n))

    def f(x):
        total = np.sin(x[:, 0])
        for k in range(1, n):
            total = total * 0.5 + np.cos(x[:, k]) * x[:, k - 1]
        return total

    assert_matches_eager(TRANSFORMS[transform], f, x)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("layout", ["fortran", "strided"])
def test_source_layouts(transform, layout):
    base = rng_x((ROWS, 6))
    x = np.asfortranarray(base[:, :3]) if layout == "fortran" else base[:, ::2]
    probe = Probe(potential)
    with deferred_from(1):
        got = TRANSFORMS[transform](probe, x)
    assert probe.arg_types == [dj.DeferredJet]
    assert_identical(got, eager(TRANSFORMS[transform], potential, np.ascontiguousarray(x)))


@pytest.mark.parametrize("rows", [1, 2, 7])
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_tiny_sources(transform, rows):
    assert_matches_eager(TRANSFORMS[transform], potential, rng_x((rows, 3)))


def test_parallel_iterations_chunks_are_not_deferred_but_agree():
    probe = Probe(potential)
    x = rng_x((ROWS, 3))
    with deferred_from(1):
        got = dj.batch_jacobian(probe, x, parallel_iterations=2)
    assert dj.DeferredJet not in probe.arg_types
    assert_identical(got, eager(dj.batch_jacobian, potential, x))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_row_blocks_and_workers(transform):
    x = rng_x((ROWS, 3))
    want = eager(TRANSFORMS[transform], potential, x)
    with deferred_from(1):
        assert_identical(TRANSFORMS[transform](potential, x, rows_per_chunk=1000), want)
        assert_identical(TRANSFORMS[transform](potential, x, rows_per_chunk=1000, workers=2), want)


def test_check_independence_under_deferral():
    x = rng_x((ROWS, 3))
    # the check evaluates f once more (a Jacobian over the first rows)
    assert_matches_eager(dj.batch_jacobian, potential, x, calls=2, check_independence=True)
    with deferred_from(1), pytest.raises(ValueError):
        dj.batch_jacobian(lambda x: x[::-1] * 2.0, x, check_independence=True)


@pytest.mark.filterwarnings("ignore:The dtype of the watched source:UserWarning")
def test_integer_source():
    """Not differentiable for batch_jacobian (f gets the plain array: zeros), and
    refused by batch_hessian: the same on both paths."""
    x = np.arange(3 * ROWS).reshape(ROWS, 3) % 7
    f = lambda x: x * 2.0 + 1.0   # noqa: E731
    with deferred_from(1), pytest.warns(UserWarning, match="must be floating"):
        got = dj.batch_jacobian(f, x)
    with pytest.warns(UserWarning, match="must be floating"):
        want = eager(dj.batch_jacobian, f, x)
    assert_identical(got, want)
    for threshold in (0, 1):
        with deferred_from(threshold), pytest.raises(TypeError, match="float32 or float64"):
            dj.batch_hessian(f, x)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_result_is_a_fresh_writeable_array(transform):
    x = rng_x((ROWS, 3))
    got = deferred(TRANSFORMS[transform], potential, x)
    want = eager(TRANSFORMS[transform], potential, x)
    assert got.flags.writeable == want.flags.writeable
    assert type(got) is np.ndarray


# ----------------------------------------------------------------- fallbacks that compute

# Anything but a recordable elementwise op (reductions, matmul, comparisons, .value,
# indexing a computed node, constants of another dtype or that broadcast, dense
# jets) computes its deferred operands and continues on the dense path.

W34 = np.random.default_rng(11).standard_normal((3, 4))

FALLBACKS = {
    "sum_axis": lambda x: np.sum(np.sin(x) * 2.0, axis=1),
    "sum_method": lambda x: (np.sin(x) * x).sum(axis=1),
    "add_reduce": lambda x: np.add.reduce(np.exp(x), axis=1),
    "cumsum": lambda x: np.cumsum(np.cos(x), axis=1),
    "stack": lambda x: np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2]], axis=1),
    "concatenate": lambda x: np.concatenate([np.sin(x[:, :1]), x[:, 1:] * 2.0], axis=1),
    "matmul": lambda x: np.tanh(x) @ W34,
    "matmul_function": lambda x: np.matmul(np.sin(x), W34),
    "where": lambda x: np.where(x[:, 0] > 0, np.sin(x[:, 1]), x[:, 2] ** 2),
    "comparison_mask": lambda x: np.sin(x[:, 0]) * (x[:, 1] < x[:, 2]),
    "value": lambda x: (lambda y: y * y.value)(np.sin(x[:, 0])),
    "index_computed_node": lambda x: (lambda y: y[:, 0] * y[:, 2])(np.sin(x) + 1.0),
    "transpose_unpack": lambda x: (lambda a, b, c: a * np.sin(b) + c)(*x.T),
    "reshape": lambda x: np.sin(x).reshape(x.shape[0], 3) * 2.0,
    "clip": lambda x: np.clip(np.sin(x) * 3.0, -1.0, 1.0),
    "rows_by_1_constant": lambda x: np.sin(x) * np.linspace(1.0, 2.0, x.shape[0])[:, None],
    "row_constant": lambda x: np.sin(x) * np.array([1.0, 2.0, 3.0]),
    "size1_constant_2d": lambda x: np.sin(x) * np.ones((1, 1)) + x,
    "dense_and_deferred": lambda x: np.sin(x[:, 0]) * np.sum(x, axis=1),
    "dense_then_deferred": lambda x: np.sum(x * x, axis=1) + np.exp(x[:, 2]),
    "column_with_block": lambda x: x[:, :1] * np.sin(x),
    "integer_constant_array": lambda x: np.sin(x[:, 0]) * (np.arange(x.shape[0]) % 3),
    "floordiv": lambda x: (x[:, 0] * 3.0) // 1.0 + x[:, 1],
    "mod": lambda x: np.sin(x[:, 0]) % 0.5,
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FALLBACKS)
def test_fallback_matches_eager(name, dtype, transform):
    assert_matches_eager(TRANSFORMS[transform], FALLBACKS[name], rng_x((ROWS, 3), dtype))


CONSTANTS = {
    "python_int": lambda n, dtype: 3,
    "python_bool": lambda n, dtype: True,
    "np_float64_scalar": lambda n, dtype: np.float64(1.25),
    "np_float32_scalar": lambda n, dtype: np.float32(1.25),
    "zero_d_array": lambda n, dtype: np.array(1.25, dtype),
    "size1_array": lambda n, dtype: np.array([1.25], dtype),
    "same_shape": lambda n, dtype: np.linspace(0.5, 1.5, n).astype(dtype),
    "same_shape_float64": lambda n, dtype: np.linspace(0.5, 1.5, n),   # promotes float32
    "same_shape_strided": lambda n, dtype: np.linspace(0.5, 1.5, 2 * n).astype(dtype)[::2],
    "same_shape_reversed": lambda n, dtype: np.linspace(0.5, 1.5, n).astype(dtype)[::-1],
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", CONSTANTS)
def test_constant_kinds(name, dtype, transform):
    """Constants that are recorded (Python scalars, same-dtype arrays of the
    shape or of size 1) and those that are not (another dtype): eager's bits,
    including eager's result dtype (NEP 50 promotion)."""
    c = CONSTANTS[name](ROWS, dtype)
    x = rng_x((ROWS, 2), dtype, lo=0.3, hi=2.0)
    for f in (lambda x: x[:, 0] * c + np.sin(x[:, 1]),
              lambda x: c / x[:, 0] - x[:, 1] ** c,
              lambda x: np.maximum(c, x[:, 0]) * np.arctan2(x[:, 1], c)):
        assert_matches_eager(TRANSFORMS[transform], f, x)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("c", [0.1, 1 / 3, 1e-50, 1e39, 2**60 + 1, -0.0, np.nan, np.inf],
                         ids=["0.1", "third", "underflow32", "overflow32", "big_int", "minus_zero",
                              "nan", "inf"])
def test_python_scalars_not_exact_in_dtype(c, dtype, transform):
    """Python scalars are weak (NEP 50): rounded to the jet's dtype exactly as eagerly."""
    def f(x):
        return x[:, 0] * c + c / x[:, 1] + np.maximum(x[:, 2], c) - (c - x[:, 0])

    with np.errstate(all="ignore"):
        assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3), dtype, lo=0.5, hi=1.5))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_errors_while_recording_match_eager(transform):
    """A Python int too large for a float, and a structured target, raise as eagerly."""
    for f, error in ((lambda x: x[:, 0] * 10**400, OverflowError),
                     (lambda x: x[:, 0] ** 10**400, OverflowError),
                     (lambda x: [np.sin(x[:, 0]), x[:, 1]], TypeError)):
        for threshold in (0, 1):
            with deferred_from(threshold), pytest.raises(error):
                TRANSFORMS[transform](f, rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", ["plain_target", "new_axis_view", "empty_rows"])
def test_odd_targets_and_sources(name, transform):
    f, x = {
        "plain_target": (lambda x: np.ones(x.shape[0]), rng_x((ROWS, 3))),
        "new_axis_view": (lambda x: x[:, None, 0] * x, rng_x((ROWS, 3))),
        "empty_rows": (lambda x: np.sin(x), rng_x((0, 3))),
    }[name]
    with deferred_from(1):
        got = TRANSFORMS[transform](f, x.copy())
    assert_identical(got, eager(TRANSFORMS[transform], f, x))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_jet_of_another_transform(transform):
    """A jet kept from an earlier transform used in f (deferred: another sweep, so
    never recorded together with this one's): as eager, refused (its transform has
    returned: TypeError, tests/test_trust_tags.py)."""
    x = rng_x((ROWS, 3))

    def run(threshold):
        kept = []
        with deferred_from(threshold):
            TRANSFORMS[transform](lambda z: kept.append(np.sin(z[:, 0]) * 2.0) or z[:, 0], x)
            try:
                return TRANSFORMS[transform](lambda z: kept[0] * z[:, 1] + np.exp(z[:, 2]), x)
            except TypeError as error:
                return type(error)

    assert run(1) is TypeError and run(0) is TypeError


def test_fortran_constant_same_shape():
    x = rng_x((ROWS, 3))
    c = np.asfortranarray(rng_x((ROWS, 3), seed=5))
    assert_matches_eager(dj.batch_hessian, lambda x: np.sin(x) * c + c, x)


# ----------------------------------------------------------------- np.stack

# np.stack of deferred parts of one sweep may itself be deferred (one program whose
# results are the parts); whatever it does, eager's bits.
STACKS = {
    "pending_parts_last_axis": lambda x: np.stack([np.sin(x[:, 0]), x[:, 1] * 2.0,
                                                   np.exp(x[:, 2])], axis=-1),
    "axis_1_positional": lambda x: np.stack((np.sin(x[:, 0]), x[:, 1] ** 2), 1),
    "axis_0_then_T": lambda x: np.stack([np.sin(x[:, 0]), np.cos(x[:, 1])]).T,
    "seed_views_only": lambda x: np.stack([x[:, 0], x[:, 2]], axis=1),
    "same_part_twice": lambda x: (lambda y: np.stack([y, y, x[:, 1]], -1))(np.sin(x[:, 0])),
    "single_part": lambda x: np.stack([np.sin(x[:, 0])], axis=1),
    "two_d_parts_middle_axis": lambda x: np.stack([np.sin(x[:, :2]), np.cos(x[:, 1:])], axis=1),
    "then_elementwise": lambda x: np.stack([np.sin(x[:, 0]), x[:, 1] * 2.0], 1) * 3.0 + 1.0,
    "then_indexed": lambda x: np.stack([np.sin(x[:, 0]), x[:, 1] * 2.0], 1)[:, 1],
    "then_reduced": lambda x: np.sum(np.stack([np.sin(x[:, 0]), x[:, 1]], 1), axis=1),
    "computed_part": lambda x: (lambda y: (y.value, np.stack([y, np.exp(x[:, 1])], 1))[1])(
        np.sin(x[:, 0])),
    "with_dense_part": lambda x: np.stack([np.sin(x[:, 0]), np.sum(x, axis=1)], 1),
    "with_plain_part": lambda x: np.stack([np.sin(x[:, 0]), np.ones(x.shape[0])], 1),
    "numpy_int_axis": lambda x: np.stack([np.sin(x[:, 0]), x[:, 1]], axis=np.int64(1)),
    "long_parts": lambda x: np.stack([sum(np.sin(x[:, k % 3] * (j + k)) for k in range(40))
                                      for j in range(3)], axis=1),
    "sph": lambda x: cases.sph(x, np),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", STACKS)
def test_stack_matches_eager(name, dtype, transform):
    assert_matches_eager(TRANSFORMS[transform], STACKS[name],
                         rng_x((ROWS, 3), dtype, lo=0.5, hi=1.5))


def test_sph_jacobian_vs_complex_step():
    """benchmarks/cases.py's sph (np.stack of three pending parts) against complex step."""
    x = rng_x((10_000, 3), lo=0.5, hi=1.5)
    J = deferred(dj.batch_jacobian, lambda x: cases.sph(x, np), x, threshold=4096)
    np.testing.assert_allclose(J, cases.complex_step_batch_jacobian(lambda z: cases.sph(z, np), x),
                               rtol=1e-13, atol=1e-15)


NESTED_STACK_SCRIPT = """
import sys
import numpy as np
import dualjac as dj

def f(x):
    inner_a = np.stack([np.sin(x[:, 0]), x[:, 1] * 2.0], 1)
    inner_b = np.stack([np.cos(x[:, 2]), x[:, 0] * x[:, 1]], 1)
    return np.stack([inner_a, inner_b], 1)

x = np.random.default_rng(0).uniform(0.5, 1.5, (3000, 3))
for transform in (dj.batch_jacobian, dj.batch_hessian):
    dj.set_deferred_threshold(1)
    got = transform(f, x)
    dj.set_deferred_threshold(0)
    want = transform(f, x)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype and got.shape == want.shape
print("OK")
"""


def test_stack_of_pending_stacks_in_a_subprocess():
    """np.stack whose parts are pending np.stack nodes (run in a subprocess: a
    crash must fail this test, not end the test run)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(NESTED_STACK_SCRIPT)],
                         capture_output=True, text=True, env=env, cwd=root, timeout=300)
    assert run.returncode == 0 and run.stdout.strip().endswith("OK"), (
        f"exit code {run.returncode}\nstdout: {run.stdout[-2000:]}\nstderr: {run.stderr[-2000:]}")


# ----------------------------------------------------------------- long chains and sharing

@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_long_chain(transform, dtype):
    """200 steps of three ops each: far past the 64-pending-node limit, so the
    graph is computed part way and the computed part read as an input."""
    def f(x):
        y = x[:, 0]
        for _ in range(200):
            y = np.sin(y) * 0.9 + x[:, 1] * 0.01
        return y * x[:, 2]

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3), dtype))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("length", [MAX_PENDING - 1, MAX_PENDING, MAX_PENDING + 1])
def test_chain_around_the_pending_limit(transform, length):
    def f(x):
        y = x[:, 0]
        for k in range(length):
            y = np.tanh(y) if k % 2 else y * x[:, 1]
        return y

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 2)))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_diamond(transform, dtype):
    def f(x):
        s = np.sin(x[:, 0] * x[:, 1])
        return s * s + s

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 2), dtype))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_repeated_diamonds(transform):
    """y = tanh(y*y + y) forty times: each step shares its operand twice (the
    pending count doubles); and the same operand on both sides everywhere."""
    def f(x):
        y = x[:, 0]
        for _ in range(40):
            y = np.tanh(y * y + y)
        return y + y * x[:, 1] - (x[:, 1] - x[:, 1])

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 2)))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_wide_sum_of_many_terms(transform):
    """Python's sum (0 + jet, then jet + jet) of 100 terms over the three columns."""
    def f(x):
        return sum(np.sin(x[:, k % 3] * (k + 1) * 0.01) for k in range(100))

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_shared_node_used_by_two_targets_and_computed_in_between(transform):
    """A node read by a later node after it was computed (its .value read)."""
    def f(x):
        s = np.exp(x[:, 0]) * x[:, 1]
        t = np.sin(s)
        _ = s.value
        return t + s * x[:, 2]

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)))


# ----------------------------------------------------------------- writes

def write_source_item(x):
    x[0, 0] = 1.0
    return np.sin(x[:, 0]) * x[:, 1]


def write_source_after_pending(x):
    y = np.sin(x[:, 0]) * x[:, 1]       # pending: reads column 0 later
    x[:, 0] = 2.0
    return y + x[:, 0]


def inplace_on_pending(x):
    y = np.sin(x[:, 0])
    y += 1.0
    return y * x[:, 1]


def out_into_computed(x):
    y = np.sin(x[:, 0])
    _ = y.value                          # y computed
    z = y * 2.0                          # pending: reads y's buffer later
    np.add(x[:, 1], 1.0, out=y)
    return z + y


def out_into_pending(x):
    y = np.sin(x[:, 0])
    z = y * x[:, 1]
    np.multiply(x[:, 1], 3.0, out=y)
    return z + y


def out_tuple_into_pending(x):
    y = np.exp(x[:, 0])
    z = np.cos(y)
    np.sin(x[:, 1], out=(y,))
    return z * y


def write_into_computed_column(x):
    z = x[:, 0] * 2.0                    # pending
    c = dense(x[:, 0])                   # the computed column (a view of the source)
    c[:] = 5.0
    return z * x[:, 0]


def inplace_into_computed_column(x):
    z = np.sin(x[:, 0])
    c = dense(x[:, 0])
    c += 1.0
    return z + x[:, 0] * x[:, 1]


def write_through_reshape(x):
    x.reshape(-1)[0] = 3.0
    return np.sin(x[:, 0]) + x[:, 2]


def write_into_block_view(x):
    v = x[:, :2]
    v[:, 0] = 3.0
    return np.sin(x[:, 0]) * x[:, 1]


def write_swallowed_by_except_exception(x):
    try:
        x[0, 0] = 1.0
    except Exception:                     # NeedsDense is a BaseException
        pass
    return np.sin(x[:, 0]) * x[:, 1]


WRITES = {f.__name__: f for f in (write_source_item, write_source_after_pending,
                                  inplace_on_pending, out_into_computed,
                                  out_into_pending, out_tuple_into_pending,
                                  write_into_computed_column, inplace_into_computed_column,
                                  write_through_reshape,
                                  write_into_block_view, write_swallowed_by_except_exception)}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", WRITES)
def test_writes_run_f_again_on_dense_jets(name, transform):
    """A write into a deferred jet (or memory a pending node reads) inside f: the
    transform evaluates f a second time on ordinary jets, giving eager's answer."""
    assert_write_reruns(TRANSFORMS[transform], WRITES[name], rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_write_into_transpose(transform):
    """x.T is a new jet (not a view of x) on both paths: writing into it changes
    nothing else, so eager's answer (f may or may not run again)."""
    def f(x):
        t = x.T
        t[0] = 1.0
        return np.sin(x[:, 0]) * t[1] + t[0]

    assert_identical(deferred(TRANSFORMS[transform], f, rng_x((ROWS, 3)), calls=None),
                     eager(TRANSFORMS[transform], f, rng_x((ROWS, 3))))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_write_into_value_view(transform):
    """.value is read-only on both paths: the same ValueError."""
    def f(x):
        y = np.sin(x[:, 0])
        y.value[:] = 0.0
        return y

    x = rng_x((ROWS, 3))
    with deferred_from(0), pytest.raises(ValueError) as eager_error:
        TRANSFORMS[transform](f, x)
    with deferred_from(1), pytest.raises(ValueError) as deferred_error:
        TRANSFORMS[transform](f, x)
    assert str(deferred_error.value) == str(eager_error.value)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_no_write_runs_f_once(transform):
    deferred(TRANSFORMS[transform], potential, rng_x((ROWS, 3)), calls=1)


def test_kept_deferred_jet_refuses_writes():
    kept = []

    def f(x):
        y = np.sin(x[:, 0]) * x[:, 1]
        kept.extend([y, x, x[:, 2]])
        return y

    x = rng_x((ROWS, 3))
    with deferred_from(1):
        dj.batch_jacobian(f, x)
    y, source, column = kept
    for jet in kept:
        assert type(jet) is dj.DeferredJet
        with pytest.raises(TypeError, match=r"compute\(\)"):
            jet[0] = 1.0
        with pytest.raises(TypeError, match=r"compute\(\)"):
            jet += 1.0
    # Still readable, with the values f computed: eager's bits (dualjac's own sin
    # may differ from NumPy's in the last place: NumPy is a 1-ulp witness).
    eager_values = []
    with deferred_from(0):
        dj.batch_jacobian(lambda z: eager_values.append((np.sin(z[:, 0]) * z[:, 1]).value)
                          or z, x)
    assert_identical(y.value, eager_values[0])
    np.testing.assert_allclose(y.value, np.sin(x[:, 0]) * x[:, 1], rtol=1e-15, atol=1e-300)
    assert_identical(source.value, x)
    assert_identical(column.value, x[:, 2])
    # out= into it is refused too, and leaves it unchanged.
    with pytest.raises((TypeError, ValueError)):
        np.add(column, 1.0, out=y)
    assert_identical(y.value, eager_values[0])
    # A copy of the computed jet is an ordinary writeable jet.
    copy = y.compute().copy()
    copy[0] = 0.0
    assert copy.value[0] == 0.0 and y.value[0] != 0.0


def test_computed_jet_is_read_only():
    kept = []

    def f(x):
        y = np.cos(x[:, 0])
        kept.append(y.compute())
        return y

    with deferred_from(1):
        dj.batch_jacobian(f, rng_x((ROWS, 3)))
    with pytest.raises(ValueError, match="read-only"):
        kept[0][0] = 1.0


def test_mutated_closed_over_constant_keeps_eager_semantics():
    def make_f(kind):
        def f(x):
            rows = x.shape[0]
            w = {"same_shape": np.ones(rows), "size1": np.ones(1), "zero_d": np.array(1.0),
                 "block": np.ones((rows, 3))}[kind]
            y = (x[:, 0] if kind != "block" else x) * w + np.sin(x[:, 1] if kind != "block" else x)
            w[...] = 5.0
            return y * 2.0
        return f

    for kind in ("same_shape", "size1", "zero_d", "block"):
        for transform in TRANSFORMS.values():
            assert_matches_eager(transform, make_f(kind), rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("use", ["columns", "whole_source", "whole_source_after_pending",
                                 "then_write_into_jet"])
def test_f_mutating_the_callers_array(transform, use):
    """f writes into the caller's x (the array passed to the transform): the
    derivative is still taken at x as it was when the transform was called,
    as on the eager path (which seeds before f runs)."""
    def make(caller):
        def f(xj):
            if use == "whole_source_after_pending":
                y = np.sin(xj) * 2.0
                caller[:] = 7.0
                return y
            caller[:] = 7.0
            if use == "columns":
                return np.sin(xj[:, 0]) * xj[:, 1]
            if use == "whole_source":
                return np.sin(xj)
            xj[0, 0] = 1.0                       # then_write_into_jet: f runs again
            return np.sin(xj[:, 0]) * xj[:, 1]
        return f

    original = rng_x((ROWS, 3))
    caller = original.copy()
    probe = Probe(make(caller))
    with deferred_from(1):
        got = TRANSFORMS[transform](probe, caller)
    assert probe.arg_types[0] is dj.DeferredJet
    eager_caller = original.copy()
    with deferred_from(0):
        want = TRANSFORMS[transform](make(eager_caller), eager_caller)
    assert_identical(got, want)


INPLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
           "/=": operator.itruediv, "**=": operator.ipow}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("op", INPLACE)
def test_inplace_operator_on_a_seed_view(op, transform):
    """c = x[:, 1]; c op= 2: eagerly this updates the source (c is a view of it),
    so later reads of x[:, 1] see it. Deferred, it is a write: f runs again."""
    def f(x):
        c = x[:, 1]
        INPLACE[op](c, 2.0)
        return np.sin(x[:, 0]) * x[:, 1]

    x = rng_x((ROWS, 3), lo=0.5, hi=1.5)
    assert_write_reruns(TRANSFORMS[transform], f, x)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("op", INPLACE)
def test_inplace_operator_on_an_aliased_pending_jet(op, transform):
    """y op= 2 updates y in place: another name for the same jet sees it."""
    def f(x):
        y = np.exp(x[:, 0])
        alias = y
        INPLACE[op](y, 2.0)
        return alias * x[:, 1]

    x = rng_x((ROWS, 3), lo=0.5, hi=1.5)
    assert_write_reruns(TRANSFORMS[transform], f, x)


SCALAR_ELEMENTS = {
    "product": lambda x: x[:, 0] * x[0, 1],
    "row_then_element": lambda x: x[:, 2] + x[3][1],
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", SCALAR_ELEMENTS)
def test_scalar_element_of_the_source(name, transform):
    """x[i, j] (one element: a 0-d jet) behaves as eagerly."""
    assert_matches_eager(TRANSFORMS[transform], SCALAR_ELEMENTS[name], rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_float_of_an_element_raises_as_eagerly(transform):
    """float(x[i, j]) would drop a derivative: the same TypeError on both paths."""
    f = lambda x: np.sin(x[:, 0]) * float(x[0, 1])   # noqa: E731
    x = rng_x((ROWS, 3))
    messages = []
    for threshold in (0, 1):
        with deferred_from(threshold), pytest.raises(TypeError, match="float()") as caught:
            TRANSFORMS[transform](f, x)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


# ----------------------------------------------------------------- threads

@pytest.mark.parametrize("transform", TRANSFORMS)
def test_pool_threads_give_identical_results(transform):
    x = rng_x((50_000, 3))
    old = dj.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            dj.set_num_threads(n)
            assert dj._core.get_num_threads() == n
            results.append(deferred(TRANSFORMS[transform], potential, x))
    finally:
        dj.set_num_threads(old)
    assert dj.get_num_threads() == old
    assert_identical(results[0], results[1])
    assert_identical(results[0], eager(TRANSFORMS[transform], potential, x))


def test_concurrent_python_threads():
    """Deferred transforms in several Python threads at once: each equals its serial result."""
    from concurrent.futures import ThreadPoolExecutor

    inputs = [rng_x((20_000, 3), seed=s) for s in range(4)]
    with deferred_from(1):
        serial = [dj.batch_hessian(potential, x) for x in inputs]
        barrier = threading.Barrier(4)

        def work(i):
            barrier.wait()
            return [dj.batch_hessian(potential, inputs[i]) for _ in range(5)]

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-5)
        try:
            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(work, range(4)))
        finally:
            sys.setswitchinterval(interval)
    for i in range(4):
        for r in results[i]:
            assert_identical(r, serial[i])


def test_write_in_one_thread_while_another_transform_finishes():
    """Thread A's deferred transform starts, then B's; A's finishes while B's f is
    still running; then B's f writes into its deferred jet. B's transform must
    still fall back to dense jets (the write belongs to a transform that is running)."""
    a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()
    x = rng_x((ROWS, 3))
    outcome = {}

    def f_a(xj):
        a_inside.set()
        assert b_inside.wait(10)
        return np.sin(xj[:, 0])

    def f_b(xj):
        b_inside.set()
        if not a_done.is_set():
            assert a_done.wait(10)
        xj[0, 0] = 1.0                 # a write: dense fallback
        return np.sin(xj[:, 0]) * xj[:, 1]

    def thread_a():
        try:
            outcome["a"] = dj.batch_jacobian(f_a, x)
        except BaseException as e:     # noqa: BLE001 - reported below
            outcome["a"] = e
        finally:
            a_done.set()

    def thread_b():
        assert a_inside.wait(10)
        try:
            outcome["b"] = dj.batch_jacobian(f_b, x)
        except BaseException as e:     # noqa: BLE001
            outcome["b"] = e
            b_inside.set()

    with deferred_from(1):
        threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert isinstance(outcome.get("a"), np.ndarray), outcome.get("a")
    assert isinstance(outcome.get("b"), np.ndarray), repr(outcome.get("b"))
    assert_identical(outcome["b"], eager(dj.batch_jacobian, f_b_eager, x))


def f_b_eager(xj):
    xj[0, 0] = 1.0
    return np.sin(xj[:, 0]) * xj[:, 1]


# ----------------------------------------------------------------- the threshold setting

def test_set_deferred_threshold_returns_and_sets(threshold):
    old = dj.set_deferred_threshold()
    assert isinstance(old, int)
    assert threshold(123) == 123
    assert dj.set_deferred_threshold() == 123
    assert dj.set_deferred_threshold(None) == 123
    assert threshold(0) == 0


@pytest.mark.parametrize("bad", [-1, -4096, 1.5, 4096.0, "10", [5], complex(1, 0)])
def test_set_deferred_threshold_validation(bad):
    before = dj.set_deferred_threshold()
    with pytest.raises(ValueError):
        dj.set_deferred_threshold(bad)
    assert dj.set_deferred_threshold() == before


def test_deferred_from_restores_after_an_error():
    before = dj.set_deferred_threshold()
    with pytest.raises(RuntimeError):
        with deferred_from(7):
            assert dj.set_deferred_threshold() == 7
            raise RuntimeError
    assert dj.set_deferred_threshold() == before


# ----------------------------------------------------------------- errors and nesting

@pytest.mark.parametrize("transform", TRANSFORMS)
def test_exception_in_f_propagates_and_leaves_no_state(transform):
    def boom(x):
        np.sin(x[:, 0])
        raise RuntimeError("boom")

    def bad_value(x):
        raise ValueError("not about memory")

    with deferred_from(1):
        with pytest.raises(RuntimeError, match="boom"):
            TRANSFORMS[transform](boom, rng_x((ROWS, 3)))
        with pytest.raises(ValueError, match="not about memory"):
            TRANSFORMS[transform](bad_value, rng_x((ROWS, 3)))
    # later transforms (writes included) are unaffected
    assert_write_reruns(TRANSFORMS[transform], write_source_item, rng_x((ROWS, 3)))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_guard_errors_match_eager(transform):
    """Dropping derivatives (np.asarray) and targets of the wrong shape raise as eagerly."""
    for f, error in ((lambda x: np.asarray(x[:, 0]), TypeError),
                     (lambda x: np.sum(x), ValueError),            # a scalar target
                     (lambda x: x[:10, 0], ValueError)):
        with deferred_from(0), pytest.raises(error):
            TRANSFORMS[transform](f, rng_x((ROWS, 3)))
        with deferred_from(1), pytest.raises(error):
            TRANSFORMS[transform](f, rng_x((ROWS, 3)))


NESTED = {
    "jacobian_of_column": lambda x: dj.jacobian(lambda w: np.sin(w) * w, x[:, 0]),
    "jacobian_of_pending": lambda x: dj.jacobian(lambda w: np.exp(w), x[:, 0] * 2.0),
    "jacobian_of_list": lambda x: dj.jacobian(lambda s: s[0] * s[1], [x[:, 0], x[:, 1]])[0],
    "gradient_of_column": lambda x: dj.gradient(lambda w: np.sum(np.sin(w)), x[:, 1]) * x[:, 0],
    "value_and_jacobian": lambda x: dj.value_and_jacobian(np.tanh, x[:, 2])[1],
    "jacobian_of_source": lambda x: dj.jacobian(np.sin, x)[:, :, 0, 0],
    "batch_jacobian_of_source": lambda x: dj.batch_jacobian(lambda w: np.sin(w) * w[:, :1], x),
    "jvp_of_column": lambda x: dj.jvp(np.sin, x[:, 0], np.ones(x.shape[0]))[1],
    "stop_gradient": lambda x: dj.stop_gradient(x[:, 0]) * x[:, 1],
}


@pytest.mark.parametrize("name", NESTED)
def test_nested_transform_on_a_deferred_jet(name):
    """A transform called inside f on a DeferredJet sees the dense jet it stands
    for: the same answer as eager. (60 rows: inner Jacobians are rows x rows.)"""
    assert_matches_eager(dj.batch_jacobian, NESTED[name], rng_x((60, 3), lo=0.1, hi=1.0))
