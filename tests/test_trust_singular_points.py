"""Derivatives at singular points, the dtype of derivatives, arrays with too many
dimensions for a jet, and what parallel_iterations keeps bit-identical.

Each claim is checked against an outside witness: an analytic formula or
complex-step derivatives (witness.py). Sizes straddle the banded thresholds
(64 elements for dj.jacobian, 12 for dj.hessian) and batches run both dense
and deferred (deferred_from).
"""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dualjac as dj
from banding import deferred_from
from witness import complex_step_jacobian

DTYPES = (np.float32, np.float64)
JACOBIAN_SIZES = (2, 70)        # dense and banded dj.jacobian
HESSIAN_SIZES = (2, 13)         # dense and banded dj.hessian
BATCH_ROWS = (4, 3000)          # dense and (with deferred_from) deferred batches


def zeros_and_ones(n, dtype):
    """n points, every other one exactly 0 (the singular points)."""
    x = np.ones(n, dtype)
    x[::2] = 0
    return x


def power_derivatives(x, k):
    """d/dx x**k and d2/dx2 x**k, analytically; x**0 is the constant 1 and x**1
    is linear, so their derivatives are 0 also at x = 0."""
    x = x.astype(np.float64)
    first = np.zeros_like(x) if k == 0 else k * x ** (k - 1)
    second = np.zeros_like(x) if k in (0, 1) else k * (k - 1) * x ** (k - 2)
    return first, second


# ---------------------------------------------------------------- integer powers at 0

@pytest.mark.parametrize("dtype", DTYPES)
def test_polynomial_jacobian_at_zero(dtype):
    J = dj.jacobian(lambda z: 1 + 2 * z ** 1 + 3 * z ** 2, np.array([0, 1], dtype))
    np.testing.assert_array_equal(J, [[2, 0], [0, 8]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_polynomial_hessian_at_zero(dtype):
    H = dj.hessian(lambda z: np.sum(1 + 2 * z ** 1 + 3 * z ** 2), np.array([0, 1], dtype))
    np.testing.assert_array_equal(H, [[6, 0], [0, 6]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", JACOBIAN_SIZES)
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_integer_power_jacobian_at_zero(k, n, dtype):
    x = zeros_and_ones(n, dtype)
    J = dj.jacobian(lambda z: z ** k, x)
    first, _ = power_derivatives(x, k)
    np.testing.assert_array_equal(J, np.diag(first))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", HESSIAN_SIZES)
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_integer_power_hessian_at_zero(k, n, dtype):
    x = zeros_and_ones(n, dtype)
    H = dj.hessian(lambda z: np.sum(z ** k), x)
    _, second = power_derivatives(x, k)
    np.testing.assert_array_equal(H, np.diag(second))


@pytest.mark.parametrize("k", [0, 1, 2, 3])
@pytest.mark.parametrize("rows", BATCH_ROWS)
def test_integer_power_batches_at_zero(k, rows):
    x = np.tile(np.array([0.0, 1.0, 2.0]), (rows, 1))
    first, second = power_derivatives(x, k)
    with deferred_from(1 if rows > 100 else 0):
        J = dj.batch_jacobian(lambda z: z ** k, x)
        H = dj.batch_hessian(lambda z: np.sum(z ** k, axis=1), x)
    np.testing.assert_array_equal(J, first[:, :, None] * np.eye(3))
    np.testing.assert_array_equal(H, second[:, :, None] * np.eye(3))


@pytest.mark.parametrize("k", [-1, 0, 1, 2, 3])
def test_power_rule_unchanged_away_from_zero(k):
    x = np.array([0.5, 1.5, -2.0])
    J = dj.jacobian(lambda z: z ** k, x)
    np.testing.assert_allclose(J, complex_step_jacobian(lambda z: z ** k, x), rtol=1e-14)


def test_power_with_jet_exponent_at_zero_base():
    # x ** y with both connected, y = 0 and y = 1 at x = 0: d/dx is 0 and 1.
    J = dj.jacobian(lambda s: s[0] ** s[1], {0: np.zeros(2), 1: np.array([0.0, 1.0])})
    np.testing.assert_array_equal(J[0], np.diag([0.0, 1.0]))


# ---------------------------------------------------------------- structural zeros

@pytest.mark.parametrize("dtype", DTYPES)
def test_singular_element_does_not_poison_the_hessian(dtype):
    H = dj.hessian(lambda z: np.sum(np.sqrt(z)), np.array([0, 1], dtype))
    np.testing.assert_array_equal(H, [[-np.inf, 0], [0, -0.25]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", HESSIAN_SIZES)
def test_sqrt_hessian_at_zeros(n, dtype):
    x = zeros_and_ones(n, dtype) * np.linspace(1, 2, n).astype(dtype)
    H = dj.hessian(lambda z: np.sum(np.sqrt(z)), x)
    safe = np.where(x == 0, 1, x).astype(np.float64)
    expected = np.diag(np.where(x == 0, -np.inf, -0.25 * safe ** -1.5))
    np.testing.assert_allclose(H, expected, rtol=1e-6 if dtype == np.float32 else 1e-15)
    assert not np.isnan(H).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", JACOBIAN_SIZES)
def test_sqrt_jacobian_at_zeros(n, dtype):
    x = zeros_and_ones(n, dtype)
    J = dj.jacobian(lambda z: 2 * np.sqrt(z), x)
    np.testing.assert_array_equal(J, np.diag(np.where(x == 0, np.inf, 1.0)))


@pytest.mark.parametrize("rows", BATCH_ROWS)
def test_sqrt_batches_at_zero(rows):
    x = np.tile(np.array([0.0, 1.0]), (rows, 1))
    with deferred_from(1 if rows > 100 else 0):
        J = dj.batch_jacobian(lambda z: np.sqrt(z), x)
        H = dj.batch_hessian(lambda z: np.sum(np.sqrt(z), axis=1), x)
    np.testing.assert_array_equal(J, np.broadcast_to([[np.inf, 0], [0, 0.5]], (rows, 2, 2)))
    np.testing.assert_array_equal(H, np.broadcast_to([[-np.inf, 0], [0, -0.25]], (rows, 2, 2)))


def test_binary_rule_with_infinite_partial():
    # x / y at y = 0: the partials are inf; seeds y does not depend on stay 0.
    J = dj.jacobian(lambda z: z[0] / z[1] + z[2], np.array([1.0, 0.0, 3.0]))
    np.testing.assert_array_equal(J, [np.inf, -np.inf, 1.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_std_over_a_length_one_axis(dtype):
    x = np.array([[1], [2]], dtype)
    J = dj.jacobian(lambda z: np.std(z, axis=1), x)
    np.testing.assert_array_equal(J, np.zeros((2, 2, 1)))


@pytest.mark.parametrize("rows", BATCH_ROWS)
def test_std_over_a_length_one_axis_in_batches(rows):
    x = np.arange(1.0, rows + 1)[:, None]
    with deferred_from(1 if rows > 100 else 0):
        J = dj.batch_jacobian(lambda z: np.std(z, axis=1), x)
    np.testing.assert_array_equal(J, np.zeros((rows, 1)))


def test_std_elsewhere_still_matches_complex_step():
    x = np.array([[1.0, 2.0, 4.0], [0.5, 0.25, 3.0]])
    J = dj.jacobian(lambda z: np.std(z, axis=1), x)
    witness = complex_step_jacobian(
        lambda z: np.sqrt(np.mean((z - z.mean(axis=1, keepdims=True)) ** 2, axis=1)), x)
    np.testing.assert_allclose(J, witness, rtol=1e-13)


# ---------------------------------------------------------------- dtype (TF's rule)

def cast_up(z):
    return z.astype(np.float64) ** 2


def cast_down(z):
    return z.astype(np.float32) ** 2


@pytest.mark.parametrize("f, source_dtype", [(cast_up, np.float32), (cast_down, np.float64)])
@pytest.mark.parametrize("n", JACOBIAN_SIZES)
def test_jacobian_in_source_dtype(f, source_dtype, n):
    x = np.linspace(1, 2, n).astype(source_dtype)
    expected = np.diag(2 * x.astype(np.float64))
    for J in (dj.jacobian(f, x), dj.jacobian(f, x, parallel_iterations=3),
              dj.value_and_jacobian(f, x)[1]):
        assert J.dtype == source_dtype
        np.testing.assert_allclose(J, expected, rtol=1e-6)
    g = dj.gradient(f, x)
    assert g.dtype == source_dtype
    np.testing.assert_allclose(g, 2 * x.astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("f, source_dtype", [(cast_up, np.float32), (cast_down, np.float64)])
@pytest.mark.parametrize("n", HESSIAN_SIZES)
def test_hessian_in_source_dtype(f, source_dtype, n):
    x = np.linspace(1, 2, n).astype(source_dtype)
    H = dj.hessian(lambda z: np.sum(f(z)), x)
    assert H.dtype == source_dtype
    np.testing.assert_array_equal(H, 2 * np.eye(n))


@pytest.mark.parametrize("f, source_dtype", [(cast_up, np.float32), (cast_down, np.float64)])
@pytest.mark.parametrize("rows", BATCH_ROWS)
def test_batch_transforms_in_source_dtype(f, source_dtype, rows):
    x = np.tile(np.array([1.0, 2.0, 3.0], source_dtype), (rows, 1))
    with deferred_from(1 if rows > 100 else 0):
        J = dj.batch_jacobian(f, x)
        H = dj.batch_hessian(lambda z: np.sum(f(z), axis=1), x)
    assert J.dtype == H.dtype == source_dtype
    np.testing.assert_array_equal(J, 2 * x[:, :, None] * np.eye(3))
    np.testing.assert_array_equal(H, np.broadcast_to(2 * np.eye(3), (rows, 3, 3)))


def test_unconnected_zeros():
    # TF's unconnected_gradients="zero" gives the target's dtype (docs/semantics.md);
    # a Hessian, connected or not, has the source's (jax.hessian's rule).
    x = np.ones(3, np.float32)
    J = dj.jacobian(lambda z: np.ones(2), x, unconnected_gradients="zero")
    assert J.dtype == np.float64 and not J.any()
    H = dj.hessian(lambda z: np.float64(1.0), x)
    assert H.dtype == np.float32 and not H.any()


def test_tape_in_source_dtype():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    with dj.GradientTape(persistent=True) as tape:
        z = tape.watch(x)
        y = cast_up(z)
    for d in (tape.jacobian(y, z), tape.gradient(y, z), tape.batch_jacobian(y, z)):
        assert d.dtype == np.float32
    np.testing.assert_array_equal(tape.gradient(y, z), 2 * x)


def test_jvp_tangent_in_output_dtype():
    # A tangent lives in the output space (TF's ForwardAccumulator, jax.jvp).
    value, tangent = dj.jvp(cast_up, np.ones(2, np.float32), np.ones(2, np.float32))
    assert value.dtype == tangent.dtype == np.float64
    np.testing.assert_array_equal(tangent, [2, 2])


# ---------------------------------------------------------------- too many dimensions

def run_isolated(code):
    """Run code in a fresh interpreter, so a crash fails the test instead of pytest."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120)


def test_63_and_64_dimensional_sources():
    done = run_isolated("""
        import importlib, numpy as np, dualjac as dj
        x63, x64 = np.ones((1,) * 63), np.ones((1,) * 64)
        J = dj.jacobian(lambda z: np.sum(2 * z), x63)
        assert J.shape == (1,) * 63 and J.ravel()[0] == 2, J.shape
        for transform in (dj.jacobian, dj.hessian, dj.gradient):
            try:
                transform(lambda z: np.sum(z), x64)
            except ValueError as e:
                assert "64" in str(e) and "reshape" in str(e), e
            else:
                raise AssertionError("no error for a 64-d source")
        try:
            dj.jacobian(lambda z: z * 2, x63)     # a 126-d Jacobian
        except ValueError as e:
            assert "64" in str(e), e
        else:
            raise AssertionError("no error for a 126-d Jacobian")
        importlib.reload(dj)
        import dualjac._core
        print(dj.jacobian(lambda z: z * z, np.array([3.0]))[0, 0])
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "6.0"


# ---------------------------------------------------------------- chunk sizes

def smooth_part(z):
    return np.sin(z) * np.exp(z / 4) + np.cumsum(z ** 3)


def elementwise_and_reductions(z):
    y = smooth_part(z)
    return np.concatenate([y, np.stack([np.sum(y), np.max(y)]), np.sqrt(np.abs(y))[::2]])


@pytest.mark.parametrize("n", [5, 70])
def test_dualjac_kernels_bit_identical_for_every_chunk_size(n):
    x = np.linspace(0.1, 2, n)
    results = [dj.value_and_jacobian(elementwise_and_reductions, x, parallel_iterations=k)
               for k in (1, 3, n)]
    for value, J in results[1:]:
        np.testing.assert_array_equal(value, results[0][0])
        np.testing.assert_array_equal(J, results[0][1])
    witness = complex_step_jacobian(smooth_part, x)
    np.testing.assert_allclose(results[0][1][:n], witness, rtol=1e-13)
    np.testing.assert_allclose(results[0][1][n], witness.sum(axis=0), rtol=1e-13)


@pytest.mark.parametrize("shape", [(5,), (5, 4)])
def test_blas_products_agree_to_rounding_for_every_chunk_size(shape):
    rng = np.random.default_rng(0)
    W, x = rng.standard_normal((7, 5)), rng.standard_normal(shape)
    witness = complex_step_jacobian(lambda z: W @ z, x)
    for f in (lambda z: W @ z, lambda z: np.dot(W, z)):
        for k in (1, 3, x.size):
            value, J = dj.value_and_jacobian(f, x, parallel_iterations=k)
            np.testing.assert_allclose(value, W @ x, rtol=1e-14, atol=1e-14)
            np.testing.assert_allclose(J, witness, rtol=1e-14, atol=1e-14)
