"""Deferred jets, transposed (src_c/_deferred_transpose.pxi): x.T of rows (b, n) is a
dj.DeferredTranspose, so code that treats a batch's components as rows (`a, b, c = x.T`,
`(W @ x.T).T`, `np.stack([...]).T`) stays in the deferred program. Each spelling keeps
eager's bits (products to rounding, as x @ W), stays pending, and its per-row derivatives
match complex-step differentiation (benchmarks/cases.py); what mixes rows runs on the
computed jet, transposed, with eager's bits.
"""

import numpy as np
import pytest

import dualjac as dj
from banding import deferred_from
from deferral import (DTYPES, ROWS, TRANSFORMS, assert_matches_eager,
                      cases, deferred, eager, rng_x)

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")

W = np.random.default_rng(3).standard_normal((4, 3))
V = np.array([0.5, -1.0, 2.0])


def pending(x, y):
    """y, checked to be a pending deferred node when f's argument x is deferred."""
    if isinstance(x, dj.DeferredJet):
        assert isinstance(y, dj.DeferredJet) and "pending" in repr(y), repr(y)
    return y


def unpacked_force(x):
    a, b, c = x.T
    e = np.exp(-(a * a + b * b + c * c))
    return pending(x, np.stack([a * e, b * e, c * e], axis=-1))


def indexed_force(x):
    """unpacked_force with the columns taken by index (the spelling it must equal)."""
    a, b, c = x[:, 0], x[:, 1], x[:, 2]
    e = np.exp(-(a * a + b * b + c * c))
    return np.stack([a * e, b * e, c * e], axis=-1)


# Rows of 3 (x (b, 3)): eager's bits.
EXACT = {
    "unpack": unpacked_force,
    "stack_axis_0": lambda x: pending(x, np.stack([x[:, 0] * 2.0, np.sin(x[:, 1]), x[:, 2]]).T),
    "vstack": lambda x: pending(x, np.vstack([np.exp(x[:, 0]), x[:, 1] * x[:, 2], x[:, 0]]).T),
    "column_constant": lambda x: pending(x, (np.sin(x.T) * np.array([1, 2, 3], x.dtype)[:, None]).T),
    "row_constant": lambda x: pending(x, (x.T / np.linspace(1, 2, x.shape[0]).astype(x.dtype)).T),
    "operators": lambda x: pending(x, (-x.T + x.T * x.T - 2.0 / x.T + (x.T + 1.0) ** 1.5).T),
    "absolute": lambda x: pending(x, abs(x.T - 0.7).T),
    "two_shapes": lambda x: pending(x, (np.exp(x.T[:1]) * x.T[1:]).T),
    "full_constant": lambda x: pending(x, (x.T - np.cos(np.arange(x.size)).reshape(3, -1)
                                              .astype(x.dtype)).T),
    "size_one_constants": lambda x: pending(x, (np.array(2.0, x.dtype) * x.T
                                                + np.ones((1, 1), x.dtype)).T),
    "sum_axis_0": lambda x: pending(x, x * np.sum(x.T ** 2, axis=0)[:, None]),
    "sum_method_keepdims": lambda x: pending(x, (x.T * x.T.sum(0, keepdims=True)).T),
    "mean_max_min": lambda x: pending(x, np.stack([np.mean(x.T, 0), np.max(np.sin(x.T), axis=0),
                                                   x.T.min(axis=-2)], -1)),
    "cumsum_axis_0": lambda x: pending(x, np.cumsum(np.exp(x.T), axis=0).T),
    "sort_axis_0": lambda x: pending(x, np.sort(np.sin(x).T * 2.0, axis=0).T),
    "norm_axis_0": lambda x: pending(x, x / np.linalg.norm(x.T, axis=0)[:, None]),
    "index_and_slice": lambda x: pending(x, np.exp(x.T[0:2]).T * x.T[2][:, None]),
    "transpose_forms": lambda x: pending(x, np.transpose(np.sin(x)).transpose() + x.transpose().T),
    "swapaxes_moveaxis": lambda x: pending(x, np.swapaxes(np.moveaxis(np.exp(x), 0, -1)
                                                          * 2.0, 0, 1)),
    "matrix_transpose": lambda x: pending(x, np.matrix_transpose(x.swapaxes(1, 0) ** 2)),
    "iterate": lambda x: pending(x, sum(np.sin(row) for row in x.T)),
    "mask_of_transpose": lambda x: pending(x, np.where((x.T > 0.5).T, x, -x)),
}

# Products with a constant: eager hands them to BLAS / einsum's loops (rounding may differ).
PRODUCTS = {
    "matrix_times_transpose": lambda x: pending(x, (W @ x.T).T),
    "matrix_times_expression": lambda x: pending(x, np.tanh(W @ np.sin(x).T + 1.0).T),
    "vector_times_transpose": lambda x: pending(x, np.exp(V @ x.T)),
    "matmul_function": lambda x: pending(x, np.matmul(W, (x * x).T).T),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", EXACT)
def test_transposed_spellings_match_eager(name, dtype, transform):
    assert_matches_eager(TRANSFORMS[transform], EXACT[name], rng_x((ROWS, 3), dtype, lo=0.2, hi=1.2))


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", PRODUCTS)
def test_products_with_a_transpose_match_eager_to_rounding(name, transform):
    f = PRODUCTS[name]
    x = rng_x((ROWS, 3), lo=0.2, hi=1.2)
    got = deferred(TRANSFORMS[transform], f, x)
    np.testing.assert_allclose(got, eager(TRANSFORMS[transform], f, x), rtol=1e-12, atol=1e-12)


# Functions complex step cannot differentiate as written, spelled analytically (the same
# function of real rows).
ANALYTIC = {
    "absolute": lambda x: (x - 0.7) * np.sign(x.real - 0.7),
    "mean_max_min": lambda x: np.stack([np.mean(x, 1), _pick(np.sin(x), np.argmax),
                                        _pick(x, np.argmin)], -1),
    "norm_axis_0": lambda x: x / np.sqrt(np.sum(x * x, axis=1))[:, None],
    "mask_of_transpose": lambda x: np.where(x.real > 0.5, x, -x),
}


def _pick(z, arg):
    """Each row's element at arg (np.argmax / np.argmin) of its real part."""
    return np.take_along_axis(z, arg(z.real, axis=1)[:, None], 1)[:, 0]


@pytest.mark.parametrize("name", [*EXACT, *PRODUCTS])
def test_jacobians_match_complex_step(name):
    f = {**EXACT, **PRODUCTS}[name]
    x = rng_x((2000, 3), lo=0.2, hi=1.2)
    witness = cases.complex_step_batch_jacobian(ANALYTIC.get(name, f), x)
    np.testing.assert_allclose(deferred(dj.batch_jacobian, f, x), witness, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_unpacking_the_transpose_is_indexing_columns(transform):
    """a, b, c = x.T and a, b, c = x[:, 0], ... : the same program, the same bits."""
    x = rng_x((ROWS, 3), lo=-1.0, hi=1.0)
    with deferred_from(1):
        got = TRANSFORMS[transform](unpacked_force if transform == "batch_jacobian" else
                                    lambda x: unpacked_force(x).sum(-1), x)
        want = TRANSFORMS[transform](indexed_force if transform == "batch_jacobian" else
                                     lambda x: indexed_force(x).sum(-1), x)
    np.testing.assert_array_equal(got, want)


def test_what_mixes_rows_runs_on_the_computed_jet():
    """Forms that read across rows (a transpose's second axis, x.T @ x, a reduction over
    axis 1, a transpose of rows of two axes): eager's bits, on the computed jets."""
    kinds = []

    def kind(y):
        kinds.append(type(y))
        return y

    for f in [lambda x: x * kind(x.T[:, 0]).sum(),
              lambda x: x @ kind(x.T @ x) * 1e-3,
              lambda x: x * kind(np.sum(x.T, axis=1)),
              lambda x: x * kind(x.T[[0, 2]]).sum(),
              lambda x: kind(np.transpose(x.reshape(-1, 3, 1), (2, 0, 1)))[0] * x]:
        assert_matches_eager(dj.batch_jacobian, f, rng_x((ROWS, 3)))
    assert dj.DeferredJet not in kinds and dj.DeferredTranspose not in kinds, kinds


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("of", ["new_array", "source"])
@pytest.mark.parametrize("write", ["item", "in_place"])
def test_writes_into_a_transpose(write, of, transform):
    """A write into the transpose of a new array of f's own is that array's write, recorded
    (tests/test_deferred_in_place.py); one into the source's transpose runs f again."""
    def f(x):
        t = np.sin(x).T if of == "new_array" else x.T
        if write == "item":
            t[0] = 1.0
        else:
            t += 1.0
        return t.T * x

    calls = 1 if of == "new_array" else 2
    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3)), calls=calls)


def test_a_transpose_kept_after_its_transform():
    """Outside its transform a DeferredTranspose computes (values, .T), refuses writes
    with a TypeError naming the fix, and refuses np.asarray as every jet does."""
    kept = []
    x = rng_x((ROWS, 3))
    with deferred_from(1):
        dj.batch_jacobian(lambda x: kept.append(np.sin(x).T) or x * 2.0, x)
    t = kept[0]
    assert isinstance(t, dj.DeferredTranspose) and t.shape == (3, ROWS)
    np.testing.assert_array_equal(t.value, t.T.compute().value.T)
    np.testing.assert_allclose(t.value, np.sin(x).T, rtol=1e-15)
    np.testing.assert_allclose(t.compute().tangent[0, :, 0], np.cos(x[:, 0]), rtol=1e-15)
    with pytest.raises(TypeError, match="compute"):
        t[0] = 1.0
    with pytest.raises(TypeError, match="np.asarray"):
        np.asarray(t)
    assert "DeferredTranspose(shape=(3, 6000)" in repr(t)


@dj.custom_jvp
def _softplus(z):
    return np.log1p(np.exp(z))


@_softplus.defjvp
def _softplus_jvp(primals, tangents):
    (z,), (t,) = primals, tangents
    return _softplus(z), t / (1.0 + np.exp(-z))


@pytest.mark.parametrize("name", ["custom_jvp", "scipy_ufunc", "pickle", "divmod", "array_api"])
def test_a_transpose_through_the_rest_of_dualjac(name):
    """A DeferredTranspose where other parts of dualjac meet it (a custom rule, a SciPy
    ufunc, pickling, Python's divmod, the array API namespace): eager's bits."""
    import pickle
    import scipy.special
    f = {
        "custom_jvp": lambda x: _softplus(x.T).T,
        "scipy_ufunc": lambda x: scipy.special.expit(x.T * 2.0).T,
        "pickle": lambda x: pickle.loads(pickle.dumps(np.sin(x).T)).T,
        "divmod": lambda x: divmod(x.T * 3.0, 0.7)[1].T,
        "array_api": lambda x: x * (lambda t: t.__array_namespace__().sum(t * t, axis=0))(x.T)[:, None],
    }[name]
    assert_matches_eager(dj.batch_jacobian, f, rng_x((ROWS, 3), lo=0.2, hi=1.2))


@pytest.mark.parametrize("store", ["slice_assign", "np_array", "float"])
def test_a_transpose_never_drops_derivatives_silently(store):
    """Storing a DeferredTranspose into a plain array, np.array of its rows, float() of an
    element: the conversion guard's TypeError, as for every jet kind."""
    def f(x):
        t = np.sin(x).T
        if store == "slice_assign":
            np.zeros(t.shape)[:] = t
        elif store == "np_array":
            np.array([t[0], t[1]])
        else:
            float(t[0, 0])
        return x

    with deferred_from(1), pytest.raises(TypeError, match="drop the derivatives"):
        dj.batch_jacobian(f, rng_x((ROWS, 3)))
