"""Deferred jets: everything that is not a recordable elementwise operation (reductions,
matmul, comparisons, .value, constants that would promote the jet or change its shape, a
jet of another transform, a transform nested in f) computes its operands and continues on
the dense path with eager's bits; errors raise as eagerly (tests/deferral.py). Constants
of other kinds that leave the jet's dtype as it is (integers, bools, lists, a narrower
float) are recorded, cast as the dense path casts them.
"""

import numpy as np
import pytest

import dualjac as dj
from banding import deferred_from
from deferral import (DTYPES, ROWS, TRANSFORMS, assert_identical, assert_matches_eager,
                      assert_write_reruns, eager, rng_x)
from test_deferred_writes import write_source_item

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")


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
    "reshape": lambda x: np.sin(x).reshape(x.shape[0], 3) * 2.0,
    "clip": lambda x: np.clip(np.sin(x) * 3.0, -1.0, 1.0),
    "rows_by_1_constant": lambda x: np.sin(x) * np.linspace(1.0, 2.0, x.shape[0])[:, None],
    "row_constant": lambda x: np.sin(x) * np.array([1.0, 2.0, 3.0]),
    "size1_constant_2d": lambda x: np.sin(x) * np.ones((1, 1)) + x,
    "dense_and_deferred": lambda x: np.sin(x[:, 0]) * np.sum(x, axis=1),
    "dense_then_deferred": lambda x: np.sum(x * x, axis=1) + np.exp(x[:, 2]),
    "column_with_block": lambda x: x[:, :1] * np.sin(x),
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


# Constants of another kind than the jet's dtype: (constant, recorded for float64,
# recorded for float32). NumPy promotes a float32 jet with an integer array or a list of
# numbers to float64 (NEP 50), so those run on the dense path; 8- and 16-bit integers
# leave it float32.
OTHER_KINDS = {
    "int_array": (lambda n: np.arange(n) % 7 - 3, True, False),
    "uint8_array": (lambda n: (np.arange(n) % 250).astype(np.uint8), True, True),
    "int16_array": (lambda n: (np.arange(n) % 999 - 500).astype(np.int16), True, True),
    "bool_array": (lambda n: np.arange(n) % 3 == 0, True, True),
    "float32_array": (lambda n: np.linspace(0.5, 1.5, n).astype(np.float32), True, True),
    "float16_array": (lambda n: np.linspace(0.5, 1.5, n).astype(np.float16), True, True),
    "list_of_ints": (lambda n: [k % 5 - 2 for k in range(n)], True, False),
    "tuple_of_floats": (lambda n: tuple(0.25 * (k % 9) for k in range(n)), True, False),
    "int_scalar": (lambda n: np.int64(3), True, False),
    "huge_int_array": (lambda n: np.arange(n, dtype=np.int64) + 2**60 + 1, True, False),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", OTHER_KINDS)
def test_constants_of_other_kinds(name, dtype, transform):
    """Recorded when they leave the jet's dtype as it is, else the dense path: eager's
    bits either way (values cast as the dense path casts them, 2**60 + 1 rounded)."""
    make, recorded64, recorded32 = OTHER_KINDS[name]
    c = make(ROWS)
    x = rng_x((ROWS, 2), dtype, lo=0.3, hi=2.0)
    recorded = recorded64 if dtype == np.float64 else recorded32
    kinds = []

    def f(x):
        y = x[:, 0] * c + np.sin(x[:, 1]) - np.maximum(c, x[:, 1])
        kinds.append(type(y))
        return np.where(x[:, 0] > c, y, np.subtract(y, c))

    assert_matches_eager(TRANSFORMS[transform], f, x)
    assert (kinds[0] is dj.DeferredJet) == recorded, kinds    # (kinds[0]: the deferred run)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_row_constants_as_lists(transform):
    """x * [1, 2, 3] and np.arange(3) + x with rows of 3: recorded, eager's bits, and the
    analytic derivatives (each output depends on its own input only)."""
    x = rng_x((ROWS, 3), lo=0.3, hi=2.0)
    kinds = []

    def f(x):
        y = np.exp(x * [1, -2, 3]) + np.arange(3) / (x + (1, 2, 3))
        kinds.append(type(y))
        return y

    got = assert_matches_eager(TRANSFORMS[transform], f, x)
    assert kinds[0] is dj.DeferredJet, kinds     # (kinds[0]: the deferred run)
    c, a, b = np.array([1.0, -2.0, 3.0]), np.arange(3.0), np.array([1.0, 2.0, 3.0])
    if transform == "batch_jacobian":            # d y_i / d x_i
        want = c * np.exp(c * x) - a / (x + b) ** 2
        np.testing.assert_allclose(np.diagonal(got, axis1=1, axis2=2), want, rtol=1e-13)
        np.testing.assert_array_equal(got * (1 - np.eye(3)), 0.0)
    else:                                        # d2 y_i / d x_i^2, the only nonzero
        want = c * c * np.exp(c * x) + 2 * a / (x + b) ** 3
        np.testing.assert_allclose(np.einsum("biii->bi", got), want, rtol=1e-13)
        assert np.count_nonzero(got) <= np.count_nonzero(want)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("bad", ["ragged", "strings", "jet_inside"])
def test_sequences_that_are_not_numbers_fall_back(bad, transform):
    """A list NumPy would not make a number array of is left to the dense path, which
    raises as eagerly (or, for a jet inside a list, says why)."""
    def f(x):
        c = {"ragged": [[1.0, 2.0], [3.0]], "strings": ["a", "b", "c"],
             "jet_inside": [x[:, 0], x[:, 1], x[:, 2]]}[bad]
        return x * c

    errors = []
    for threshold in (0, 1):
        with deferred_from(threshold), pytest.raises((TypeError, ValueError)) as info:
            TRANSFORMS[transform](f, rng_x((ROWS, 3)))
        errors.append(type(info.value))
    assert errors[0] is errors[1]


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
