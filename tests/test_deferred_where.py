"""Deferred jets: comparisons and np.where recorded in the program (src_c/_deferred_where.pxi).
A comparison of deferred jets is a pending boolean (a DeferredMask); np.where with it (or
with a plain condition) and a deferred branch is a node that takes each element, value and
every derivative part, from one branch, so results have eager's bits (threshold 0); np.clip
is np.maximum then np.minimum. Anything else that reads a mask computes it as eager code
does. Witnesses: eager's bits, and the analytic per-row derivatives of piecewise functions.
"""

import numpy as np
import pytest

import dualjac as dj
from banding import deferred_from
from deferral import DTYPES, ROWS, TRANSFORMS, assert_matches_eager, deferred, pending, rng_x

pytestmark = pytest.mark.usefixtures("threshold_is_restored")


def mask(x, m):
    """m, checked to be a pending DeferredMask when x is deferred (else a bool array)."""
    if isinstance(x, dj.DeferredJet):
        assert type(m).__name__ == "DeferredMask" and "pending" in repr(m), repr(m)
    else:
        assert isinstance(m, np.ndarray) and m.dtype == bool
    return m


def reused_mask(x):
    m = mask(x, x > 0)
    return pending(x, np.where(m, x, 0) + np.where(m, 0, np.sin(x)))


def many_steps(x):
    """More nodes than a graph may hold pending (64): some are computed on the way."""
    y = np.sin(x)
    for _ in range(30):
        y = np.where(y > 0.1, y * 0.9, y + 0.05)
    return y


WHERE_PROGRAMS = {
    "relu": lambda x: pending(x, np.where(mask(x, x > 0), x, 0.0)),
    "two_branches": lambda x: pending(x, np.where(mask(x, np.sin(x) < 0.3), np.exp(x), x * x)),
    "reflected": lambda x: pending(x, np.where(mask(x, 0.2 >= x), x, np.cos(x))),
    "ufunc_greater_equal": lambda x: pending(x, np.where(mask(x, np.greater_equal(x, 0.1)),
                                                         np.sin(x), 1.0)),
    "ufunc_constant_first": lambda x: pending(x, np.where(mask(x, np.less(0.1, x)), x, -x)),
    "two_jets_broadcast": lambda x: pending(x, np.where(mask(x, x[:, :1] > x[:, 1:2]), x, -x)),
    "equal_row_constant": lambda x: pending(x, np.where(
        mask(x, x != np.array([0.5, -0.5, 0.0], x.dtype)), x ** 2, x)),
    "equal_to_a_lane": lambda x: pending(x, np.where(mask(x, np.abs(x) == x[:, 1:2]),
                                                     1.0, x)),
    "plain_condition": lambda x: pending(x, np.where(np.array([True, False, True]), x, np.sin(x))),
    "constant_branch": lambda x: pending(x, np.where(mask(x, x <= 0), np.full(3, 2.0, x.dtype),
                                                     x * x)),
    "reused_mask": reused_mask,
    "then_reduce": lambda x: pending(x, np.sum(np.where(mask(x, x > 0), x * x, -x), axis=1)),
    "clip": lambda x: pending(x, np.clip(x, -0.5, 0.5)) * x,
    "clip_lower_only": lambda x: pending(x, np.clip(np.sin(x), a_min=-0.3, a_max=None)),
    "clip_keywords": lambda x: pending(x, np.clip(x * 2.0, min=-1.0, max=np.float64(0.2).astype(x.dtype))),
    "many_steps": many_steps,
    "and": lambda x: pending(x, np.where(mask(x, mask(x, x > -0.3) & mask(x, x < 0.4)), x, 0.0)),
    "or_xor_broadcast": lambda x: pending(x, np.where(
        mask(x, (x[:, :1] > 0.2) | (x < 0) ^ (x[:, 1:2] > x[:, 2:])), np.sin(x), x)),
    "invert": lambda x: pending(x, np.where(mask(x, ~(x > 0)), x * x, x)),
    "logical_ufuncs": lambda x: pending(x, np.where(mask(x, np.logical_and(
        np.logical_not(x > 0.5), np.logical_or(x > -0.5, np.array([True, False, False])))), x, -x)),
    "and_plain_reflected": lambda x: pending(x, np.where(
        mask(x, np.array([True, True, False]) & (x > 0) | False), x, 0.0)),
    "condition_is_a_jet": lambda x: pending(x, np.where(np.floor(x * 2.0), 1.0, np.sin(x))),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", WHERE_PROGRAMS)
def test_where_program_matches_eager(name, dtype, transform):
    x = rng_x((ROWS, 3), dtype)
    x[::13, 1] = 0.0                  # ties with the thresholds
    x[::17, 0] = x[::17, 1]
    x[::29, 2] = np.nan
    assert_matches_eager(TRANSFORMS[transform], WHERE_PROGRAMS[name], x)


def test_piecewise_derivatives_analytic():
    """f = x^2 where x > 0 else -x: the Jacobian diag(2x or -1), the Hessian diag(2 or 0)."""
    x = rng_x((ROWS, 3))
    f = lambda z: np.where(z > 0, z * z, -z)
    J = dj.batch_jacobian(f, x)
    np.testing.assert_array_equal(J, np.eye(3) * np.where(x > 0, 2 * x, -1.0)[:, None, :])
    H = dj.batch_hessian(lambda z: np.sum(f(z), axis=1), x)
    np.testing.assert_array_equal(H, np.eye(3) * np.where(x > 0, 2.0, 0.0)[:, None, :])


def test_clip_derivative_analytic():
    """Inside [lo, hi] (bounds included) the derivative is 1, outside 0."""
    x = rng_x((ROWS, 3))
    x[::7, 0] = 0.5
    J = dj.batch_jacobian(lambda z: np.clip(z, -0.5, 0.5), x)
    inside = (x >= -0.5) & (x <= 0.5)
    np.testing.assert_array_equal(J, np.eye(3) * inside[:, None, :])
    H = dj.batch_hessian(lambda z: np.sum(np.clip(z, -0.5, 0.5) ** 2, axis=1), x)
    np.testing.assert_array_equal(H, np.eye(3) * np.where(inside, 2.0, 0.0)[:, None, :])


FALLS_BACK = {
    "any_branch": lambda x: np.sin(x) if np.any(x > 2.0) else np.cos(x),
    "mask_and_a_number": lambda x: x * ((x > 0) & 1),
    "mask_and_read_mask": lambda x: (lambda m: np.where(m & (x < 0.5), x, 0.0) * m.mean())(x > 0),
    "mask_astype": lambda x: x * (x > 0).astype(x.dtype),
    "mask_sum": lambda x: x * np.sum(x > 0, axis=1, keepdims=True),
    "mask_read_first": lambda x: (lambda m: np.where(m, x, 0.0) * m.mean())(x > 0),
    "index_by_mask_column": lambda x: np.sin(x)[:, (x[0] > 0)] * 1.0 + x[:, :1],
    "promoting_branch": lambda x: np.where(x > 0, x, np.zeros(3)),
    "float64_threshold": lambda x: np.where(x > np.float64(0.25), x, 0.0),
    "plain_branches": lambda x: x * np.where(x > 0, 1.0, 2.0),
}


# where= / initial= of reductions: the operand masked by np.where (fill 0 for a sum, which
# a sum from 0 never gains from; -inf / inf for max / min; 1 for a product), initial=
# joined after, as the dense rules do (dualjac/dispatch/reductions.py).
ROW_MASK = np.array([True, False, True])
MASKED_REDUCTIONS = {
    "sum_constant_mask": lambda x: pending(x, np.sum(np.sin(x), axis=-1, where=ROW_MASK)),
    "sum_deferred_mask": lambda x: pending(x, np.sum(np.exp(x), axis=1, where=mask(x, x > 0))),
    "sum_mask_with_rows": lambda x: pending(x, np.sum(x * x, axis=1, where=np.arange(
        x.shape[0])[:, None] % 3 != np.arange(3))),
    "sum_initial": lambda x: pending(x, np.sum(x, axis=-1, initial=1.5)),
    "sum_where_initial_keepdims": lambda x: x * pending(x, np.sum(
        x, axis=-1, where=ROW_MASK, initial=1.0, keepdims=True)),
    "sum_nothing_kept": lambda x: pending(x, np.sum(x, axis=-1, where=False)),
    "add_reduce_where": lambda x: pending(x, np.add.reduce(x, axis=1, where=ROW_MASK)),
    "method_sum_where": lambda x: pending(x, x.sum(axis=-1, where=mask(x, x < 0.5))),
    "max_initial": lambda x: pending(x, np.max(x, axis=-1, initial=0.0)),
    "max_where_initial": lambda x: pending(x, np.max(x, axis=-1, where=mask(x, x < 0.5),
                                                     initial=-1.0)),
    "method_min_where": lambda x: pending(x, np.sin(x).min(axis=1, where=ROW_MASK, initial=2.0)),
    "prod_where": lambda x: pending(x, np.prod(x + 1.0, axis=-1, where=ROW_MASK)),
    "method_prod_where": lambda x: pending(x, (x + 1.0).prod(axis=-1, where=mask(x, x > -0.5))),
    "mean_where": lambda x: pending(x, np.mean(x * x, axis=-1, where=(x > 0) | ROW_MASK)),
    "mean_where_keepdims": lambda x: x * pending(x, np.mean(np.exp(x), axis=1, keepdims=True,
                                                            where=ROW_MASK)),
    "method_mean_where_none_kept": lambda x: pending(x, np.sin(x).mean(axis=-1, where=mask(
        x, x > 5.0))),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", MASKED_REDUCTIONS)
def test_masked_reductions_match_eager(name, dtype, transform):
    x = rng_x((ROWS, 3), dtype)
    x[::13, 1] = -0.0                 # signed zeros (a sum from 0 gives +0) and ties
    x[::17, 0] = x[::17, 1]
    x[::29, 2] = np.nan               # masked out in some rows: never reaches the result
    assert_matches_eager(TRANSFORMS[transform], MASKED_REDUCTIONS[name], x)


def test_masked_reductions_analytic():
    """d/dx sum(e^x where x > 0) = e^x where x > 0, else 0; max(x, initial=0) has the
    derivative of the largest element where it beats 0, else none."""
    x = rng_x((ROWS, 3))
    J = deferred(dj.batch_jacobian, MASKED_REDUCTIONS["sum_deferred_mask"], x)
    np.testing.assert_allclose(J, np.where(x > 0, np.exp(x), 0.0), rtol=1e-15)
    J = deferred(dj.batch_jacobian, MASKED_REDUCTIONS["max_initial"], x)
    top = np.argmax(x, axis=1)
    want = np.zeros_like(x)
    want[np.arange(len(x)), top] = x.max(axis=1) > 0
    np.testing.assert_array_equal(J, want)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_mean_where_analytic(dtype):
    """np.mean(x ** 2, axis=1, where=m) is the sum over the kept elements over their count:
    d/dx_j is 2 x_j / count where m_j, else 0; a row with nothing kept is NaN, as NumPy's
    mean of it is. (Its value against NumPy's: tests/test_numpy_functions.py.)"""
    x = rng_x((ROWS, 3), dtype)
    keep = (x > 0) | ROW_MASK
    keep[5] = False
    J = deferred(dj.batch_jacobian, lambda x: pending(x, np.mean(x ** 2, axis=1, where=keep)), x)
    value, _ = dj.value_and_jacobian(lambda x: np.mean(x ** 2, axis=1, where=keep[:4]), x[:4])
    np.testing.assert_array_equal(value, np.mean(x[:4] ** 2, axis=1, where=keep[:4]))
    count = keep.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        want = np.where(keep, 2 * x.astype(np.float64) / count, 0.0)
    np.testing.assert_allclose(J, np.nan_to_num(want), rtol=4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FALLS_BACK)
def test_other_uses_of_a_mask_compute_it(name, dtype):
    assert_matches_eager(dj.batch_jacobian, FALLS_BACK[name], rng_x((ROWS, 3), dtype))


# A mask in arithmetic with a deferred jet: its boolean array (computed, as eagerly) is a
# constant of the recorded node.
MASK_ARITHMETIC = {
    "jet_times_mask": lambda x: np.log(x + 2.0) * (x > 0),
    "mask_times_jet": lambda x: (x[:, 0] > 0) * np.sin(x[:, 1]),
    "mask_in_a_sum": lambda x: x - (x > 0.3) + (x < 0) * np.sin(x),
    "ufunc_with_mask": lambda x: np.multiply(np.exp(x), x < 0.5),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", MASK_ARITHMETIC)
def test_masks_in_arithmetic_are_recorded_constants(name, dtype, transform):
    kinds = []

    def f(x):
        y = MASK_ARITHMETIC[name](x)
        kinds.append(type(y))
        return y

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3), dtype))
    assert kinds[0] is dj.DeferredJet, kinds        # (kinds[0]: the deferred run)


def test_a_mask_in_arithmetic_against_its_analytic_derivative():
    """d/dx [log(x + 2) * (x > 0)] = 1 / (x + 2) where x > 0, else 0."""
    x = rng_x((ROWS, 3))
    with deferred_from(1):
        got = dj.batch_jacobian(lambda z: np.log(z + 2.0) * (z > 0), x)
    want = np.where(x > 0, 1.0 / (x + 2.0), 0.0)
    np.testing.assert_allclose(np.diagonal(got, axis1=1, axis2=2), want, rtol=1e-14)
    np.testing.assert_array_equal(got * (1 - np.eye(3)), 0.0)


def test_a_mask_behaves_as_its_boolean_array():
    seen = {}

    def f(x):
        m = x > 0.25
        seen["mask"] = m
        seen["array"] = np.asarray(m)
        seen["shape"], seen["len"] = m.shape, len(m)
        return np.where(m, x, 0.0)

    x = rng_x((ROWS, 3))
    dj.batch_jacobian(f, x)
    np.testing.assert_array_equal(seen["array"], x > 0.25)
    assert seen["shape"] == x.shape and seen["len"] == ROWS
    assert seen["mask"].dtype == bool and seen["mask"].sum() == np.sum(x > 0.25)


def test_a_mask_is_the_public_deferred_mask():
    """A comparison f records is a dj.DeferredMask until read; its compute() is NumPy's."""
    seen = {}

    def f(x):
        m = x > 0.25
        seen["pending"] = isinstance(m, dj.DeferredMask) and "pending" in repr(m)
        seen["mask"] = m
        return np.where(m, x, 0.0)

    x = rng_x((ROWS, 3))
    dj.batch_jacobian(f, x)
    assert seen["pending"]
    np.testing.assert_array_equal(seen["mask"].compute(), x > 0.25)


def test_a_jet_as_condition_is_its_values_as_booleans():
    """np.where(c, x, y) with a jet c takes x where c's value is nonzero (NaN included),
    as NumPy's where on the values: the Jacobian of where(floor(2x), x*x, -x)."""
    x = rng_x((ROWS, 3))
    x[::13, 1] = np.nan
    J = dj.batch_jacobian(lambda z: pending(z, np.where(np.floor(z * 2.0), z * z, -z)), x)
    chosen = np.floor(x * 2.0).astype(bool)
    want = np.zeros_like(J)
    want[:, [0, 1, 2], [0, 1, 2]] = np.where(chosen, 2 * x, -1.0)   # (a NaN stays on the diagonal)
    np.testing.assert_array_equal(J, want)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_branches_on_the_source_read_its_values_without_seeding_it(transform):
    """`if np.any(x > c):` and a mask of a source view in arithmetic read the source's
    values as they are: the source stays an input not seeded (pending), the values are
    read-only, and the results have eager's bits."""
    states = []

    def f(x):
        if np.any(x > 5.0) or not np.all(x[:, 0] < 5.0):
            raise AssertionError("the rows are within (-1, 1)")
        if isinstance(x, dj.DeferredJet):
            states.append("pending" in repr(x))
            values = x._values("test")
            states.append(values.flags.writeable)
        return np.sin(x) * (x[:, :1] < 0.5) + x[:, 1:2] * (x > 0)

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)))
    assert states == [True, False], states


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_the_value_of_the_source_does_not_seed_it(transform):
    """x.value and x[:, 0].value inside f: read-only views of the source's values, the
    source stays an input not seeded, eager's bits."""
    states = []

    def f(x):
        scale = float(np.max(np.abs(x.value))) + float(x[:, 0].value.sum())
        if isinstance(x, dj.DeferredJet):
            states.append(("pending" in repr(x), x.value.flags.writeable))
        return np.exp(x) * scale

    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)))
    assert states == [(True, False)], states
