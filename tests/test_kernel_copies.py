"""The compiled copies of every kernel, and the expression translator.

src_c/kernels/_kernels.c.tp compiles each kernel several times from one body: a scalar-loop
copy of the hyper-dual kernels for elements of few components (K <= 16: Hessians
of up to 4 variables, specialized for n = 1..4), a vectorized copy for the
baseline ISA, and, on x86-64, an AVX2 copy for elements of K > 16; the SoA kernels of
deferred programs (the "deferred" jet kind here) have baseline, AVX2 and AVX-512 copies,
and their Hessian kernels an unrolled copy for each n = 2, 3, 4 besides the one for any n.
All must give the same bits: a seed that the function does not use only adds
zero components, so the block of the used seeds must not change when unused
seeds (or the ISA, _core.select_isa) move the kernel from one copy to another.
The witness for the values themselves is the complex-step / finite-difference
Hessian of test_rules_table.
"""
import os
import runpy

import numpy as np
import pytest

import dualjac as dj
from dualjac import _core
from dualjac.rules import BINARY, C_MATH_FUNCTIONS, UNARY
from test_rules_table import (CONSTANT, binary_points, is_analytic, params, reference,
                              tol_dtype, assert_close, ufunc, unary_points, witness_hessian,
                              witness_jacobians)

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "deferred")

DTYPES = (np.float64, np.float32)
# n = 2, 3, 4 run the specialized scalar copies of the Hessian kernels
# (K = 6, 10, 15), n = 5, 8 the vectorized ones (K = 21, 45); in deferred programs,
# n = 2, 3, 4 the unrolled SoA copies, n = 5, 8 the copy for any n.
SEED_COUNTS = (2, 3, 4, 5, 8)


def every_isa():
    """Select, in turn, each ISA this CPU runs (0 baseline, 1 AVX2, 2 AVX-512);
    the best one is selected again afterwards."""
    best = _core.select_isa(2)
    try:
        for isa in range(best + 1):
            assert _core.select_isa(isa) == isa
            yield isa
    finally:
        _core.select_isa(2)


def assert_all_equal(results, what):
    """results: {label: array}; every array bitwise equal to the first."""
    (first_label, first), *rest = results.items()
    for label, got in rest:
        np.testing.assert_array_equal(got, first, err_msg=f"{what}: {label} vs {first_label}")
    return first


def padded(columns, n):
    """Rows of n variables whose first columns are `columns`; the rest are unused
    seeds (filled with 0.5, never read by the function)."""
    rows = np.full((columns[0].size, n), 0.5, columns[0].dtype)
    for k, column in enumerate(columns):
        rows[:, k] = column
    return rows


def unary_target(row):
    """u = x0 + x1 / 64 mixes two seeds (so H has off-diagonal terms), and stays
    in the row's domain (its points keep a gap of more than 1/64 from the ends)."""
    return lambda X: ufunc(row)(X[:, 0] + X[:, 1] * (1 / 64))


def binary_target(row, variant):
    if variant == "jj":
        return lambda X: ufunc(row)(X[:, 0], X[:, 1])
    if variant == "jc":
        return lambda X: ufunc(row)(X[:, 0], X.dtype.type(CONSTANT))
    return lambda X: ufunc(row)(X.dtype.type(CONSTANT), X[:, 1])


# The points repeated: 5 x 7 rows run every copy's vector loop (up to 8 rows at a
# time with AVX-512, 16 for float32) as well as its tail, and a point must give the same
# bits in either.
REPEATS = 5


def assert_same_block_for_every_seed_count(target, columns, dtype, order=2):
    """batch_hessian(target)[:, :2, :2] (order 2; batch_jacobian(target)[:, :2] for
    order 1) is bitwise the same for every n and ISA, and for a point wherever it
    falls among the rows; returns it (one row per point)."""
    transform = dj.batch_hessian if order == 2 else dj.batch_jacobian
    used = (slice(None),) + (slice(0, 2),) * order
    blocks = {}
    rows = columns[0].size
    for isa in every_isa():
        for n in SEED_COUNTS:
            result = transform(target, padded([np.tile(c, REPEATS) for c in columns], n))
            assert result.dtype == dtype and result.shape == (rows * REPEATS,) + (n,) * order
            assert not result[:, 2:].any() and not result[..., 2:].any()
            for r in range(REPEATS):
                blocks[f"n = {n}, ISA {isa}, rows {r * rows}.."] = \
                    result[r * rows:(r + 1) * rows][used]
    return assert_all_equal(blocks, "Hessian block" if order == 2 else "Jacobian block")


def per_row_witness(g, columns, analytic, order):
    """Each row's gradient (order 1) or 2x2 Hessian (order 2) of g(x0, x1), from
    test_rules_table's witnesses."""
    out = []
    for i in range(columns[0].size):
        point = np.array([c[i] for c in columns], np.float64)
        scalar = lambda v: g(v[0], v[1])
        out.append(witness_hessian(scalar, point, analytic) if order == 2
                   else witness_jacobians(scalar, [point], analytic)[0])
    return np.array(out)


# Hessian kernels (order 2) and dual kernels (order 1): deferred, the unrolled copies for
# n = 2, 3, 4 and the copy for any n at 5, 8.
ORDERS = pytest.mark.parametrize("order", (1, 2), ids=("dual", "hessian"))


@ORDERS
@pytest.mark.parametrize("row", params(UNARY))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_unary_kernels_agree(row, dtype, order):
    x = unary_points(row, dtype)
    columns = [x, np.linspace(-1, 1, x.size).astype(dtype)]
    block = assert_same_block_for_every_seed_count(unary_target(row), columns, dtype, order)
    if order == 2 and row.name in ("floor", "ceil", "rint", "trunc", "sign"):
        return           # steps: u may cross one; the zero Hessian is checked above
    want = per_row_witness(lambda a, b: reference(row)(a + b * (1 / 64)), columns,
                           is_analytic(row), order)
    assert_close(block, want, tol_dtype(dtype), order, fd=not is_analytic(row))


@ORDERS
@pytest.mark.parametrize("row", params(BINARY))
@pytest.mark.parametrize("variant", ("jj", "jc", "cj"))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_binary_kernels_agree(row, variant, dtype, order):
    x, y = binary_points(row, dtype)
    block = assert_same_block_for_every_seed_count(binary_target(row, variant), [x, y], dtype,
                                                   order)
    c = CONSTANT
    g = {"jj": lambda a, b: reference(row)(a, b), "jc": lambda a, b: reference(row)(a, c + 0 * b),
         "cj": lambda a, b: reference(row)(c + 0 * a, b)}[variant]
    want = per_row_witness(g, [x, y], is_analytic(row), order)
    assert_close(block, want, tol_dtype(dtype), order, fd=not is_analytic(row))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_dual_kernels_agree(dtype):
    """Dual kernels have no scalar copy (it did not pay), but the same property
    holds: unused seeds and the ISA do not change the used block, K = 3 .. 41
    (K > 16 runs the AVX2 copies where the CPU has them)."""
    x = np.tile(np.linspace(0.3, 2.0, 7).astype(dtype), REPEATS)
    f = lambda X: np.sin(X[:, 0] * X[:, 1]) / np.exp(X[:, 1]) + X[:, 0] ** 3
    jacobians = {(n, isa): dj.batch_jacobian(f, padded([x, x[::-1]], n))[:, :2]
                 for isa in every_isa() for n in (2, 4, 8, 20, 40)}
    assert_all_equal({f"n = {n}, ISA {isa}, rows {r * 7}..": jac[r * 7:(r + 1) * 7]
                      for (n, isa), jac in jacobians.items() for r in range(REPEATS)},
                     "Jacobian block")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_general_hyper_dual_kernels_agree(dtype):
    """Nested jacobians use the general layout, K = (1 + n)^2 for a source of n:
    n = 2, 3 run the scalar copies, n = 4, 6 the vectorized ones."""
    g = lambda z: np.sin(z[0] * z[1]) / np.exp(z[1]) + z[0] ** 3
    blocks = {}
    for isa in every_isa():
        for n in (2, 3, 4, 6):
            z = np.full(n, 0.5, dtype)
            z[:2] = (0.7, 1.3)
            hess = dj.jacobian(lambda w: dj.jacobian(g, w), z)
            assert hess.dtype == dtype and not hess[2:].any() and not hess[:, 2:].any()
            blocks[f"n = {n}, ISA {isa}"] = hess[:2, :2]
    block = assert_all_equal(blocks, "Hessian block")
    want = witness_hessian(lambda v: np.sin(v[0] * v[1]) / np.exp(v[1]) + v[0] ** 3,
                           np.array([0.7, 1.3]), True)
    assert_close(block, want, tol_dtype(dtype), 2)


# ------------------------------------------------------------------ the translator

GENERATE = runpy.run_path(os.path.join(os.path.dirname(__file__), os.pardir, "src_c", "kernels",
                                       "generate.py"))
c_expression = GENERATE["c_expression"]


@pytest.mark.parametrize("python, c", [
    ("x*y", "(x * y)"),
    ("(1 if x > 0 else (-1 if x < 0 else 0))", "((x > 0) ? 1 : ((x < 0) ? (-1) : 0))"),
    ("(0 if (x == 0 and y == y) else x*log(y))", "(((x == 0) && (y == y)) ? 0 : (x * log(y)))"),
    ("0.3 < x <= 0.65", "(0.3 < x && x <= 0.65)"),
    ("not x != x or -x", "((!(x != x)) || (-x))"),
    ("1/(1 + exp(x))", "(1 / (1 + exp(x)))"),
])
def test_translation(python, c):
    assert c_expression(python) == c


def test_float32_kernels_call_float_functions():
    assert c_expression("sin(x) + pow(x, y) + dj_lgamma(x)", C_MATH_FUNCTIONS) == \
        "((sinf(x) + powf(x, y)) + dj_lgamma(x))"


@pytest.mark.parametrize("bad", ["1/2 + x", "x ** 2", "x[0]", "lambda: x", "x in y", "f(x=1)"])
def test_translation_refuses_what_c_would_read_differently(bad):
    with pytest.raises(ValueError):
        c_expression(bad)
