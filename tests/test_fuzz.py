"""Differential fuzzing: random NumPy compositions (tests/expression_trees.py),
differentiated by dualjac and by an outside witness.

* dj.jacobian (and value_and_jacobian, chunked sweeps, the tape, jvp, gradient)
  against complex-step differentiation of the same composition in complex128;
* dj.hessian of a scalar reduction (and of the composition itself, nested
  jacobians, hvp, value_gradient_hessian) against central differences
  (Richardson-extrapolated) of complex-step gradients;
* dj.batch_jacobian / dj.batch_hessian of row-wise compositions against
  per-row dj.jacobian / dj.hessian and the witness;
* float32 runs of every case: float32 results, close to the float64 witness.

Example counts: 200 per test by default (the file takes a few seconds).
DUALJAC_FUZZ=long runs 2,000 per test (about a minute); DUALJAC_FUZZ=<number>
runs that many:

    DUALJAC_FUZZ=long python -m pytest tests/test_fuzz.py

The settings object is applied to each test here (a named profile, never loaded
as the default), so other test files keep theirs. A failure prints the
composition as code, the input, and a @reproduce_failure blob.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import dualjac as dj
from dualjac import rules
from expression_trees import BINARY, UNARY, constant, function, shapes, trees
from witness import complex_step_jacobian

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

_choice = os.environ.get("DUALJAC_FUZZ", "").strip().lower()
_examples = 2000 if _choice == "long" else int(_choice) if _choice.isdigit() else 200
settings.register_profile(
    "dualjac-fuzz", max_examples=_examples, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much])
FUZZ = settings.get_profile("dualjac-fuzz")

# float64: dualjac against an exact witness, up to rounding in the composition.
RTOL64 = 1e-9
# float32: the composition itself is rounded to ~1e-7 per operation.
RTOL32 = 2e-3
# Hessians from finite differences of complex-step gradients (Richardson, h = 1e-3).
RTOL_FD = 1e-6


def assert_close(actual, expected, rtol, what):
    """Relative to the largest entry: the derivatives of one composition share a scale."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def float32_holds(tree, x32):
    """Can float32 hold the answer at x32? Not where the composition is ill-conditioned
    (sin of a product near 1e6, say): its float32 value already far from the float64 one."""
    value32 = plain_value(tree, x32, np.float32)
    value64 = plain_value(tree, x32.astype(np.float64), np.float64)
    with np.errstate(all="ignore"):
        conditioned = np.allclose(value32, value64, rtol=RTOL32 / 10, atol=RTOL32 / 10, equal_nan=True)
    note(f"float32 value {'close to' if conditioned else 'far from'} the float64 one")
    return conditioned


def witness_jacobian(tree, x, dtype=np.float64):
    """Complex-step Jacobian of the tree at x (float64 values of x)."""
    g = function(tree, x.ndim, dtype, witness=True)
    with np.errstate(all="ignore"):
        return complex_step_jacobian(g, np.asarray(x, np.float64))


def fd_hessian(tree, x, dtype=np.float64, h=1e-3):
    """d/dx of complex-step Jacobians by central differences: tree.shape + x.shape
    + x.shape. Returns (estimate, error estimate): Richardson extrapolation of the
    differences at h/2 and h/4 (O(h^4)), and its distance to the same at h and h/2
    (compositions like sin(57 x) have large higher derivatives: the error
    estimate, not a fixed tolerance, says how far the witness itself can be off)."""
    x = np.asarray(x, np.float64)
    flat = x.ravel()
    fine, coarse = [], []
    for j in range(flat.size):
        def central(step):
            e = np.zeros_like(flat)
            e[j] = step
            return (witness_jacobian(tree, (flat + e).reshape(x.shape), dtype)
                    - witness_jacobian(tree, (flat - e).reshape(x.shape), dtype)) / (2 * step)
        d1, d2, d4 = central(h), central(h / 2), central(h / 4)
        coarse.append((4 * d2 - d1) / 3)
        fine.append((4 * d4 - d2) / 3)
    shape = np.shape(witness_jacobian(tree, x, dtype)) + x.shape
    fine = np.stack(fine, -1).reshape(shape)
    return fine, np.abs(fine - np.stack(coarse, -1).reshape(shape))


def assert_close_fd(actual, witness, rtol, what):
    expected, error = witness
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    bound = rtol * scale + rtol * np.abs(expected) + 4 * error
    bad = np.abs(actual - expected) > bound
    assert not bad.any(), (f"{what}: {bad.sum()} of {bad.size} entries off; worst "
                           f"{np.max(np.abs(actual - expected) - bound):.3g} beyond the bound\n"
                           f"actual {actual[bad][:5]}\nexpected {expected[bad][:5]} "
                           f"(error estimate {error[bad][:5]})")


def plain_value(tree, x, dtype):
    """NumPy's own evaluation of the composition (values and dtype)."""
    return np.asarray(function(tree, x.ndim, dtype)(x.astype(dtype)))


def or_zeros(J, shape, dtype):
    return np.zeros(shape, dtype) if J is None else J


@st.composite
def cases(draw, max_size=12, depth=5, smooth=False):
    shape = draw(shapes(max_size=max_size))
    tree = draw(trees(shape, depth=depth, smooth=smooth))
    x = constant(draw, shape)
    note(f"f(x) = {tree!r}\nx = {x!r}")
    return tree, x


@st.composite
def batch_cases(draw, max_row_size=6, depth=4, smooth=False):
    row = draw(shapes(max_ndim=2, max_size=max_row_size, min_ndim=1))  # TF: rank >= 2
    tree = draw(trees(row, depth=depth, batch_safe=True, smooth=smooth))
    b = draw(st.integers(1, 4))
    x = constant(draw, (b,) + row)
    note(f"f(x) = {tree!r}\nx = {x!r}")
    return tree, x


# ---------------------------------------------------------------- the table is covered

def test_every_rules_table_row_is_fuzzed():
    """Every NumPy row appears in the generated compositions. (scipy.special rows
    have their own witnesses in test_rules_table.py and test_scipy_special.py: SciPy
    is optional and most of its ufuncs reject the complex input complex step needs.)"""
    texts = " ".join(op.text for op in UNARY + BINARY)
    operators = {"negative": "-{", "positive": "+{", "add": "+ {1}", "subtract": "- {1}",
                 "multiply": "* {1}", "divide": "/ (", "power": "** ", "absolute": "abs("}
    missing = [row.name for row in rules.UNARY + rules.BINARY if row.module == "numpy"
               and f"np.{row.name}(" not in texts and operators.get(row.name, "@@") not in texts]
    assert not missing


# ---------------------------------------------------------------- first order

@FUZZ
@given(case=cases())
def test_jacobian_matches_complex_step(case):
    tree, x = case
    f = function(tree, x.ndim)
    expected = witness_jacobian(tree, x)
    value = plain_value(tree, x, np.float64)
    J = dj.jacobian(f, x)
    # TF's None exactly when no operation path leads from x to f(x) (stop_gradient
    # cuts paths; x * 0, floor(x), where(...) do not)
    assert (J is None) == (not tree.connected), "connectivity"
    if J is None:
        assert not np.any(expected)
        J = np.zeros(value.shape + x.shape)
    assert J.dtype == np.float64
    assert_close(J, expected, RTOL64, "jacobian vs complex step")

    # the general sweep gives the same value and Jacobian as the lean path
    y, J2 = dj.value_and_jacobian(f, x, unconnected_gradients="zero")
    np.testing.assert_array_equal(J2, J)
    y = y.value if isinstance(y, dj.DualArray) else np.asarray(y)
    assert y.dtype == value.dtype
    # a kernel's function may differ from NumPy's by an ulp (docs/semantics.md), which f
    # magnifies as it does a change of x: by up to |J| |x| (sin of a product of twelve
    # arctan2's near 7000 turns an ulp into 1e-11)
    sensitivity = float(np.max(np.abs(J), initial=0.0)) * float(np.max(np.abs(x), initial=0.0))
    assert_close(y, value, 1e-12 * max(1.0, sensitivity), "value")

    # seed chunks change nothing but rounding (README says bit-identical: not with
    # einsum, see test_chunking_is_bit_identical_through_einsum)
    k = 1 + x.size // 3
    assert_close(or_zeros(dj.jacobian(f, x, parallel_iterations=k), J.shape, J.dtype), J,
                 1e-13, "parallel_iterations")

    v = np.linspace(-1, 1, x.size).reshape(x.shape)

    # the tape records the same derivatives
    with dj.GradientTape() as tape:
        xs = tape.watch(x)
        ys = f(xs)
    np.testing.assert_array_equal(
        tape.jacobian(ys, xs, unconnected_gradients="zero"), J)

    # sources in any layout or byte order; a structure of sources
    layouts = [x.astype(x.dtype.newbyteorder(">"))]
    if x.ndim:      # (np.asfortranarray makes a 0-d array 1-d)
        layouts += [np.asfortranarray(x), np.repeat(x, 2, axis=-1)[..., ::2]]
    for layout in layouts:
        np.testing.assert_array_equal(dj.jacobian(f, layout, unconnected_gradients="zero"), J)
    Js = dj.jacobian(lambda s: f(s["x"]), {"x": x, "unused": [v]}, unconnected_gradients="zero")
    assert_close(Js["x"], J, 1e-13, "structure")   # more seeds: matmul may round differently
    assert not Js["unused"][0].any() and Js["unused"][0].shape == value.shape + x.shape

    # jvp and gradient are contractions of the same Jacobian
    contract = tuple(range(value.ndim, value.ndim + x.ndim))
    _, Jv = dj.jvp(f, x, v)
    Jv = Jv.value if isinstance(Jv, dj.DualArray) else Jv
    assert_close(Jv, np.tensordot(J, v, (contract, tuple(range(x.ndim)))), 1e-12, "jvp")
    grad = or_zeros(dj.gradient(f, x), x.shape, x.dtype)
    assert_close(grad, np.sum(J, axis=tuple(range(value.ndim))), 1e-12, "gradient")

    # hyper-duals, kinks included: the two second-order roads (one hyper-dual sweep;
    # a jacobian nested in a jacobian, lifting duals) agree, and the nested one's
    # value is the Jacobian again
    if x.size <= 6:
        outer_value, nested = dj.value_and_jacobian(
            lambda z: dj.jacobian(f, z, unconnected_gradients="zero"), x,
            unconnected_gradients="zero")
        outer_value = outer_value.value if isinstance(outer_value, dj.DualArray) else outer_value
        assert_close(outer_value, J, 1e-12, "jacobian computed on hyper-duals")
        assert_close(dj.hessian(f, x), nested, 1e-12, "hessian vs nested jacobians")

    # float32: float32 all the way, close to the float64 witness of the same function
    x32 = x.astype(np.float32)
    f32 = function(tree, x.ndim, np.float32)
    value32 = plain_value(tree, x32, np.float32)
    assert value32.dtype == np.float32, "the composition itself promotes (a test bug)"
    y32, J32 = dj.value_and_jacobian(f32, x32, unconnected_gradients="zero")
    assert J32.dtype == np.float32 and y32.dtype == np.float32
    if float32_holds(tree, x32):
        assert_close(J32, witness_jacobian(tree, x32, np.float32), RTOL32, "float32 jacobian")

    # mixed: float32 x, float64 constants: NumPy's promotion decides the value's
    # dtype; the Jacobian has the source's (TF's rule: a cast's gradient is cast
    # back), unconnected zeros the target's (TF's unconnected_gradients="zero")
    fmix = function(tree, x.ndim, np.float32, constants=np.float64)
    dtype = np.asarray(fmix(x32)).dtype
    ymix, Jmix = dj.value_and_jacobian(fmix, x32, unconnected_gradients="zero")
    want = np.float32 if tree.connected else dtype
    assert ymix.dtype == dtype and Jmix.dtype == want, (ymix.dtype, Jmix.dtype, want)


# ---------------------------------------------------------------- second order

@FUZZ
@given(case=cases(max_size=6, depth=3, smooth=True), data=st.data())
def test_hessian_matches_differences_of_complex_step_gradients(case, data):
    tree, x = case
    f = function(tree, x.ndim)
    weights = constant(data.draw, tree.shape)

    def scalar(z):
        return np.sum(function(tree, x.ndim, z.dtype)(z) * weights.astype(z.dtype))

    class Scalar:    # the scalar reduction as a tree, for the witness
        shape = ()

        def __call__(self, ctx, z):
            return np.sum(tree(ctx, z) * ctx.c(weights))

    H = dj.hessian(scalar, x)
    assert H.shape == x.shape * 2 and H.dtype == np.float64
    H_expected = fd_hessian(Scalar(), x)
    assert_close_fd(H, H_expected, RTOL_FD, "hessian of a scalar reduction")
    np.testing.assert_allclose(H, np.swapaxes(H.reshape(x.size, x.size), 0, 1).reshape(H.shape),
                               rtol=1e-12, atol=1e-12 * max(1, np.max(abs(H), initial=0)))

    # value_gradient_hessian, hvp: the same sweep, other read-outs
    value, grad, H2 = dj.value_gradient_hessian(scalar, x)
    np.testing.assert_array_equal(H2, H)
    assert_close(grad, witness_jacobian(Scalar(), x), RTOL64, "gradient of the scalar")
    v = np.linspace(-1, 1, x.size).reshape(x.shape)
    assert_close(dj.hvp(scalar, x, v),
                 np.tensordot(H, v, (tuple(range(x.ndim, 2 * x.ndim)), tuple(range(x.ndim)))),
                 1e-12, "hvp")

    # the whole composition's Hessian, and nested jacobians (hyper-duals by another road)
    Hf = dj.hessian(f, x)
    assert Hf.shape == tree.shape + x.shape * 2
    assert_close_fd(Hf, fd_hessian(tree, x), RTOL_FD, "hessian of the composition")
    nested = dj.jacobian(lambda z: dj.jacobian(f, z, unconnected_gradients="zero"), x,
                         unconnected_gradients="zero")
    assert_close(nested, Hf, 1e-12, "nested jacobians vs hessian")

    # float32
    x32 = x.astype(np.float32)
    H32 = dj.hessian(scalar, x32)
    assert H32.dtype == np.float32
    assert_close_fd(H32, fd_hessian(Scalar(), x32, np.float32), RTOL32, "float32 hessian")


# ---------------------------------------------------------------- batches

@FUZZ
@given(case=batch_cases())
def test_batch_jacobian_matches_per_row_jacobians(case):
    tree, xb = case
    row_ndim = xb.ndim - 1
    f = function(tree, row_ndim)
    B = dj.batch_jacobian(f, xb)
    b = xb.shape[0]
    assert B.shape == (b,) + tree.shape + xb.shape[1:] and B.dtype == np.float64
    for i in range(b):
        Ji = or_zeros(dj.jacobian(f, xb[i]), tree.shape + xb.shape[1:], np.float64)
        assert_close(B[i], Ji, 1e-12, f"row {i} vs its own jacobian")
        assert_close(B[i], witness_jacobian(tree, xb[i]), RTOL64, f"row {i} vs complex step")
    assert_close(dj.batch_jacobian(f, xb, parallel_iterations=1), B, 1e-13, "parallel_iterations")
    if b > 1:
        assert_close(dj.batch_jacobian(f, xb, rows_per_chunk=1), B, 1e-12, "rows_per_chunk")
    for batch in (True, False):      # per-row seeds, or the diagonal blocks of all seeds
        with dj.GradientTape() as tape:
            xs = tape.watch(xb, batch=batch)
            ys = f(xs)
        assert_close(tape.batch_jacobian(ys, xs), B, 1e-13, f"tape, batch={batch}")

    x32 = xb.astype(np.float32)
    B32 = dj.batch_jacobian(function(tree, row_ndim, np.float32), x32)
    assert B32.dtype == np.float32
    for i in range(b):
        if float32_holds(tree, x32[i]):
            assert_close(B32[i], witness_jacobian(tree, x32[i], np.float32), RTOL32,
                         f"float32 row {i}")


@FUZZ
@given(case=batch_cases(max_row_size=4, depth=3, smooth=True))
def test_batch_hessian_matches_per_row_hessians(case):
    tree, xb = case
    row_ndim = xb.ndim - 1
    f = function(tree, row_ndim)
    H = dj.batch_hessian(f, xb)
    b, row = xb.shape[0], xb.shape[1:]
    assert H.shape == (b,) + tree.shape + row + row and H.dtype == np.float64
    for i in range(b):
        assert_close(H[i], dj.hessian(f, xb[i]), 1e-12, f"row {i} vs its own hessian")
    assert_close_fd(H[0], fd_hessian(tree, xb[0]), RTOL_FD, "row 0 vs differences")

    x32 = xb.astype(np.float32)
    H32 = dj.batch_hessian(function(tree, row_ndim, np.float32), x32)
    assert H32.dtype == np.float32
    assert_close_fd(H32[-1], fd_hessian(tree, x32[-1], np.float32), RTOL32, "float32 last row")


# ---------------------------------------------------------------- bugs the fuzzer found
# Each was found by the fuzzer, fixed, and is pinned here by a deterministic test.

STACK = np.arange(12.0).reshape(2, 3, 2) / 10
VECTOR = np.array([1.0, -2.0])


def test_dot_of_a_stack_and_a_vector_dual_stack():
    J = dj.jacobian(lambda a: np.dot(a, VECTOR), STACK)
    assert_close(J, complex_step_jacobian(lambda a: np.dot(a, VECTOR), STACK), RTOL64, "dot")


def test_dot_of_a_stack_and_a_vector_dual_vector():
    J = dj.jacobian(lambda v: np.dot(STACK, v), VECTOR)
    assert_close(J, complex_step_jacobian(lambda v: np.dot(STACK, v), VECTOR), RTOL64, "dot")


def test_dot_of_a_stack_and_a_vector_reference():
    """What NumPy computes, and the same derivative spelled with matmul (which works)."""
    assert np.dot(STACK, VECTOR).shape == (2, 3)
    J = dj.jacobian(lambda a: a @ VECTOR, STACK)
    assert_close(J, complex_step_jacobian(lambda a: np.dot(a, VECTOR), STACK), RTOL64, "matmul")


def test_chunking_is_bit_identical_through_einsum():
    rng = np.random.default_rng(0)
    mismatches = 0
    for _ in range(20):
        x, C = rng.uniform(-1.5, 1.5, 4), rng.uniform(-1.5, 1.5, (3, 3))

        def f(z):
            return np.einsum("a,bc->", z, C * z[:3, None])
        mismatches += not np.array_equal(dj.jacobian(f, x, parallel_iterations=1),
                                         dj.jacobian(f, x))
    assert mismatches == 0, f"{mismatches} of 20 Jacobians changed with the chunk size"


def test_floor_divide_remainder_fmod_values_match_numpy():
    x = np.array([1.0, 0.3, 2.9, 0.7])
    for name, op in [("floor_divide", np.floor_divide), ("remainder", np.remainder),
                     ("fmod", np.fmod)]:
        value, _ = dj.value_and_jacobian(lambda z, op=op: op(z, 0.1), x)
        np.testing.assert_array_equal(value, op(x, 0.1), err_msg=name)
