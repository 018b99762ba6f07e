"""Deferred jets: what f receives. The threshold and its setting, views of the source
(seeded straight into the scratch or gathered), row shapes, wide rows, layouts, tiny
sources, chunking arguments and integer sources (tests/deferral.py).
"""

import numpy as np
import pytest

import dualjac as dj
from banding import deferred_from
from deferral import (DTYPES, ROWS, TRANSFORMS, Probe, assert_identical, assert_matches_eager,
                      cases, deferred, eager, potential, rng_x)

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")


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
