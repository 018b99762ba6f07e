"""Deferred jets, row by row of the rules table: every unary and binary row and operator
(jet with jet, with a Python scalar, with a plain array, both orders; float32 and float64;
batch_jacobian and batch_hessian; ordinary and special values) deferred and eagerly give
the same bits; the two rows of a pair kernel (sin and cos) of one operand run as one
(tests/deferral.py). Which rows have an operator, and which form a pair, the table says.
"""

import operator
import os
import runpy

import numpy as np
import pytest

import dualjac as dj
from dualjac import rules
from banding import deferred_from
from deferral import (DTYPES, ROWS, TRANSFORMS, assert_matches_eager, cases, deferred, points,
                      rng_x, table_ufunc)
from witness import evaluate_witness

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")


UNARY_FORMS = {
    "column": lambda u: (lambda x: u(x[:, 0])),          # a seed view (x[:, j])
    "source": lambda u: (lambda x: u(x)),                # the whole source (seed varies)
}

OPERATOR_ROWS = [row.name for row in rules.BINARY if row.operator]


def operator_of(row):
    """The row's Python operator (``"x + y"``) as a function of two operands."""
    return lambda a, b: evaluate_witness(row.operator, x=a, y=b)


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
@pytest.mark.parametrize("name", OPERATOR_ROWS)
def test_operator_matches_eager(name, variant, dtype, transform):
    row = rules.by_name()[name]
    f = binary_function(operator_of(row), row, variant, dtype)
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


# Rows whose blocks compute each other's value (sin and cos: src_c/kernels/generate.py's
# block_pairs) run on one operand v as one pair kernel, one value pass for two
# results: each result keeps its own row's bits, whichever comes first, whatever
# else reads v or the results. A form takes the pair's two ufuncs (a, b) =
# (first, second); its points lie in (-4, 4), wider than one period of sin and cos.
PAIRS = runpy.run_path(os.path.join(os.path.dirname(__file__), os.pardir, "src_c",
                                    "kernels", "generate.py"))["block_pairs"](rules.UNARY)
PAIR_FORMS = {
    "first_then_second": lambda a, b: lambda x: a(x[:, 0]) * b(x[:, 0]),
    "second_then_first": lambda a, b: lambda x: b(x[:, 0]) + a(x[:, 0]),
    "apart": lambda a, b: lambda x: a(x[:, 0]) * x[:, 1] + np.exp(x[:, 1]) * b(x[:, 0]),
    "whole_source": lambda a, b: lambda x: a(x) - b(x) * x,
    "both_results": lambda a, b: lambda x: np.stack([b(x[:, 1]), a(x[:, 1]), x[:, 0]], axis=-1),
    "three_of_one": lambda a, b: lambda x: a(x[:, 0]) * b(x[:, 0]) + a(x[:, 0]) * 2.0,
    "other_operands": lambda a, b: lambda x: a(x[:, 0]) * b(x[:, 1]),
    "of_a_node": lambda a, b: lambda x: (lambda v: b(v) / (2.0 + a(v)))(x[:, 0] * x[:, 1]),
    # benchmarks/cases.py's spherical map with (a, b) = (sin, cos)
    "spherical": lambda a, b: lambda x: (lambda s: np.stack(
        [s * b(x[:, 2]), s * a(x[:, 2]), x[:, 0] * b(x[:, 1])], axis=-1))(x[:, 0] * a(x[:, 1])),
}


def pair_form(form, pair):
    first, second = pair
    return PAIR_FORMS[form](table_ufunc(first), table_ufunc(second))


def pair_id(pair):
    return "_".join(row.name for row in pair)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("form", PAIR_FORMS)
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_pair_of_one_operand(pair, form, dtype, transform):
    x = rng_x((ROWS, 3), dtype, lo=-4.0, hi=4.0)
    assert_matches_eager(TRANSFORMS[transform], pair_form(form, pair), x)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("pair", PAIRS, ids=pair_id)
def test_pair_of_one_operand_at_special_points(pair, dtype, transform):
    """Huge arguments (libm's reduction), infinities and NaN in the shared value pass."""
    values = np.tile(np.array(SPECIAL, dtype), 40)
    x = np.stack([values, values[::-1]], axis=1)
    with np.errstate(all="ignore"):
        assert_matches_eager(TRANSFORMS[transform], pair_form("first_then_second", pair), x)
        assert_matches_eager(TRANSFORMS[transform], pair_form("second_then_first", pair), x)


# A product of a node with itself (a * a) runs a one-operand copy of the product's
# kernel (each component loaded once): the product's bits, at ordinary and special points.
SELF_PRODUCTS = {
    "column": lambda x: (lambda a: a * a)(x[:, 0]),
    "whole_source": lambda x: x * x,
    "computed_node": lambda x: (lambda s: s * s)(np.sin(x) - x),
    "sum_of_squares": lambda x: (lambda a, b: np.exp(-(a * a + b * b)))(x[:, 0], x[:, 1]),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", SELF_PRODUCTS)
def test_product_of_a_node_with_itself(name, dtype, transform):
    values = np.tile(np.array(SPECIAL, dtype), 40)
    special = np.stack([values, values[::-1]], axis=1)
    with np.errstate(all="ignore"):
        for x in (rng_x((ROWS, 2), dtype), special):
            assert_matches_eager(TRANSFORMS[transform], SELF_PRODUCTS[name], x)


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
