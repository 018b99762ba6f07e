"""dj.sparse_jacobian and dj.SparseJacobian against complex step and dj.jacobian.

Values: equal to dj.jacobian (checked against TensorFlow and complex step elsewhere) and to a
complex-step Jacobian to 1e-14 (float64) or float32 rounding. Structure: exactly the traced
pattern, explicit zeros kept, in every format. Preparation: a new shape, a branch that looked
at values, or a structure changed through a closure is traced again, never silently wrong.
"""

import threading

import numpy as np
import pytest
import scipy.sparse as sp

import dualjac as dj
from witness import complex_step_jacobian

RNG = np.random.default_rng(7)
FORMATS = ("csr", "csc", "coo", "dense")
SPARSE_TYPES = {"csr": sp.csr_array, "csc": sp.csc_array, "coo": sp.coo_array}


def stencil(x):
    return np.concatenate([x[:1] * 0, x[:-2] - 2 * x[1:-1] + x[2:] + x[1:-1] ** 3, x[-1:] * 0])


def grid(x):
    u = x.reshape(3, 4)
    p = np.pad(u, 1)
    return np.exp(u) * (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u)


def arrow(x):
    return np.concatenate([x[:1] * np.sum(x ** 2), np.sin(x[1:]) * x[0]])


def broyden(x):
    """The Broyden tridiagonal function (More, Garbow & Hillstrom 1981)."""
    p = np.pad(x, 1)
    return (3 - 2 * x) * x - p[:-2] - 2 * p[2:] + 1


FUNCTIONS = {"stencil": (stencil, (9,)), "grid": (grid, (3, 4)), "arrow": (arrow, (6,)),
             "broyden": (broyden, (8,)),
             "matrix_out": (lambda x: np.outer(x[:3], x[3:]) ** 2, (5,)),
             "scalar_out": (lambda x: np.sum(np.tanh(x)), (2, 3)),
             "reduce_rows": (lambda x: np.log1p(x ** 2).sum(axis=1), (4, 3))}


def as_dense(J, y_shape, x_shape):
    J = J.toarray() if sp.issparse(J) else J
    return J.reshape(y_shape + x_shape)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("format", FORMATS)
def test_float64_equals_complex_step_and_dense_jacobian(name, format):
    f, shape = FUNCTIONS[name]
    x = RNG.uniform(-1, 1, shape)
    J = dj.sparse_jacobian(f, x, format=format)
    y_shape = np.shape(f(x))
    if format == "dense":
        assert isinstance(J, np.ndarray) and J.shape == y_shape + x.shape
    else:
        assert isinstance(J, SPARSE_TYPES[format])
        assert J.shape == (int(np.prod(y_shape)), x.size) and J.dtype == np.float64
    got = as_dense(J, y_shape, x.shape)
    np.testing.assert_allclose(got, complex_step_jacobian(f, x), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(got, dj.jacobian(f, x), rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("format", FORMATS)
def test_float32_results_are_float32_and_right(name, format):
    f, shape = FUNCTIONS[name]
    x = RNG.uniform(-1, 1, shape).astype(np.float32)
    J = dj.sparse_jacobian(f, x, format=format)
    assert J.dtype == np.float32
    got = as_dense(J, np.shape(f(x)), x.shape)
    np.testing.assert_allclose(got, dj.jacobian(f, x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got, complex_step_jacobian(f, x.astype(np.float64)),
                               rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("format", FORMATS)
def test_structure_is_the_pattern_with_explicit_zeros(format):
    """Two points, one where some derivatives vanish: the same stored entries."""
    f = lambda z: z[1:] * z[:-1] + z[1:] ** 2
    x_generic = RNG.uniform(0.5, 1.5, 7)
    x_zeros = x_generic.copy()
    x_zeros[[0, 3]] = 0.0                  # d/dx_1 of x_1 * x_0 vanishes, and more
    S = dj.SparseJacobian(f, x_generic, format=format)
    a, b = S(x_generic), S(x_zeros)
    np.testing.assert_allclose(as_dense(b, (6,), (7,)), complex_step_jacobian(f, x_zeros),
                               rtol=1e-14, atol=0)
    pattern = dj.jacobian_sparsity(f, x_generic)
    if format == "dense":
        return
    for J in (a, b):
        coo = sp.coo_array(J)
        stored = np.zeros(pattern.shape, bool)
        stored[coo.row, coo.col] = True
        np.testing.assert_array_equal(stored, pattern.toarray())
        assert J.nnz == pattern.nnz
    assert np.count_nonzero(b.data == 0) > 0
    if format in ("csr", "csc"):
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.indptr, b.indptr)
    else:
        np.testing.assert_array_equal(a.coords, b.coords)


def test_prepared_object_reports_pattern_and_coloring():
    S = dj.SparseJacobian(stencil, RNG.standard_normal(9))
    np.testing.assert_array_equal(S.sparsity.toarray(),
                                  dj.jacobian_sparsity(stencil, np.ones(9)).toarray())
    assert S.ncolors == 3 and S.colors.shape == (9,)
    dense = S.sparsity.toarray()
    for c in range(S.ncolors):           # columns of one color share no row
        assert np.all(dense[:, S.colors == c].sum(axis=1) <= 1)


def test_value_and_jacobian():
    x = RNG.uniform(-1, 1, (3, 4))
    value, J = dj.SparseJacobian(grid, x).value_and_jacobian(x)
    np.testing.assert_allclose(value, grid(x), rtol=1e-15)
    np.testing.assert_allclose(J.toarray(), complex_step_jacobian(grid, x).reshape(12, 12),
                               rtol=1e-14, atol=1e-14)


def test_f_with_args():
    f = lambda z, w, k: w * np.roll(z, k) ** 2
    x, w = RNG.standard_normal(5), RNG.standard_normal(5)
    S = dj.SparseJacobian(f, x, args=(w, 1))
    np.testing.assert_allclose(S(x, w, 1).toarray(),
                               complex_step_jacobian(lambda z: f(z, w, 1), x), rtol=1e-14)
    # other args (another shift) move the pattern: traced again, still right
    np.testing.assert_allclose(S(x, w, 2).toarray(),
                               complex_step_jacobian(lambda z: f(z, w, 2), x), rtol=1e-14)
    np.testing.assert_allclose(S(x, 2 * w, 2).toarray(),
                               complex_step_jacobian(lambda z: f(z, 2 * w, 2), x), rtol=1e-14)


@pytest.mark.parametrize("format", FORMATS)
def test_constant_output_has_no_entries(format):
    f = lambda z: np.ones((2, 3)) + np.floor(z[:1])
    x = RNG.standard_normal(4)
    J = dj.sparse_jacobian(f, x, format=format)
    dense = as_dense(J, (2, 3), (4,))
    np.testing.assert_array_equal(dense, np.zeros((2, 3, 4)))
    if format != "dense":
        assert J.nnz == 0 and J.shape == (6, 4)


@pytest.mark.parametrize("format", FORMATS)
def test_empty_source(format):
    f = lambda z: np.concatenate([z * 2, np.ones(2)])
    J = dj.sparse_jacobian(f, np.zeros(0), format=format)
    assert J.shape == ((2, 0) if format == "dense" else (2, 0))
    J = dj.sparse_jacobian(lambda z: z * 2, np.zeros((0, 3)), format=format)
    assert J.shape == ((0, 3, 0, 3) if format == "dense" else (0, 0))


def test_zero_dimensional_source_and_output():
    x = np.array(0.7)
    J = dj.sparse_jacobian(lambda z: np.sin(z) * z, x, format="dense")
    assert J.shape == ()
    np.testing.assert_allclose(J, np.cos(0.7) * 0.7 + np.sin(0.7), rtol=1e-15)
    assert dj.sparse_jacobian(lambda z: np.sin(z) * z, x).shape == (1, 1)


def test_a_new_shape_is_prepared_again():
    S = dj.SparseJacobian(stencil, RNG.standard_normal(6), format="dense")
    for n in (6, 9, 4, 6):
        x = RNG.standard_normal(n)
        np.testing.assert_allclose(S(x), complex_step_jacobian(stencil, x), rtol=1e-14,
                                   atol=1e-14)
        assert S.sparsity.shape == (n, n)
    x32 = RNG.standard_normal(5).astype(np.float32)
    assert S(x32).dtype == np.float32 and S(x32).shape == (5, 5)


def test_branch_on_values_flips_between_calls():
    f = lambda z: z[::-1] if z[0] > 0 else z * 2
    x = RNG.uniform(0.5, 1.5, 6)
    S = dj.SparseJacobian(f, x)
    for sign in (1, -1, -1, 1):
        x[0] = sign * abs(x[0])
        np.testing.assert_array_equal(S(x).toarray(), complex_step_jacobian(f, x))


@pytest.mark.parametrize("other", [
    lambda z: z[::-1] * 3,                       # a permutation: same colors, other columns
    lambda z: z * z[0],                          # a new dependence on x[0]
    lambda z: np.roll(z, 1) - z])
def test_structure_changed_through_a_closure_is_detected(other):
    state = {"first": True}
    f = lambda z: z * 2 if state["first"] else other(z)
    x = RNG.uniform(0.5, 1.5, 6)
    S = dj.SparseJacobian(f, x)
    np.testing.assert_array_equal(S(x).toarray(), 2 * np.eye(6))
    state["first"] = False
    np.testing.assert_allclose(S(x).toarray(), complex_step_jacobian(other, x), rtol=1e-14)
    state["first"] = True
    np.testing.assert_array_equal(S(x).toarray(), 2 * np.eye(6))


def test_sparsity_is_usable_by_scipy_least_squares():
    """The pattern as SciPy's jac_sparsity, the Jacobian as its jac: the same solution."""
    from scipy.optimize import least_squares
    x0 = -np.ones(20)
    S = dj.SparseJacobian(broyden, x0)
    ours = least_squares(broyden, x0, jac=S, jac_sparsity=None, method="trf", xtol=1e-14,
                         ftol=1e-14, gtol=1e-14)
    theirs = least_squares(broyden, x0, jac_sparsity=dj.jacobian_sparsity(broyden, x0),
                           method="trf", xtol=1e-14, ftol=1e-14, gtol=1e-14)
    assert ours.cost < 1e-20 and theirs.cost < 1e-16
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-7)
    np.testing.assert_allclose(S(ours.x).toarray(), complex_step_jacobian(broyden, ours.x),
                               rtol=1e-14, atol=1e-14)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("x, match", [
    ({"a": np.ones(3)}, "one float array"), ([1.0, 2.0], "one float array"),
    ((np.ones(2), np.ones(2)), "one float array"), (np.arange(3), "float32 or float64"),
    (np.ones(3, np.complex128), "float32 or float64"), (np.ones(3, np.float16), "float32")])
def test_bad_sources_are_refused_by_name(x, match):
    with pytest.warns(UserWarning) if np.asarray(x).dtype.kind == "i" else _nothing():
        with pytest.raises(TypeError, match=match):
            dj.sparse_jacobian(lambda z: z, x)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("call", [lambda: dj.sparse_jacobian(np.sin, np.ones(3), format="CSR"),
                                  lambda: dj.SparseJacobian(np.sin, np.ones(3), format="bsr")])
def test_bad_format_names_the_choices(call):
    with pytest.raises(ValueError, match="format must be one of .*'csr', 'csc', 'coo', 'dense'"):
        call()


def test_f_returning_a_tuple_is_refused():
    with pytest.raises(TypeError, match="f must return one array.*stack"):
        dj.sparse_jacobian(lambda z: (z, z ** 2), np.ones(3))


def test_f_not_callable():
    with pytest.raises(TypeError, match="f must be a function of x"):
        dj.SparseJacobian(np.ones(3), np.ones(3))


def test_f_converting_to_a_plain_array_is_refused():
    with pytest.raises(TypeError, match="drop its dependence on x"):
        dj.sparse_jacobian(lambda z: np.asarray(z) * 2, np.ones(3))


# ---------------------------------------------------------------- threads

def test_threads_with_their_own_prepared_jacobians_agree_with_serial():
    cases = [(stencil, RNG.standard_normal(30)), (grid, RNG.standard_normal((3, 4))),
             (broyden, RNG.standard_normal(25)), (arrow, RNG.standard_normal(12))]
    serial = [dj.SparseJacobian(f, x)(x).toarray() for f, x in cases]
    results, errors = {}, []
    barrier = threading.Barrier(len(cases))

    def work(k):
        try:
            f, x = cases[k]
            S = dj.SparseJacobian(f, x)
            barrier.wait()
            results[k] = [S(x).toarray() for _ in range(20)]
        except Exception as e:   # reported below, with the thread's case
            errors.append((k, e))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k, want in enumerate(serial):
        for got in results[k]:
            np.testing.assert_array_equal(got, want)


def test_one_evaluation_per_call_when_nothing_changed():
    """The structure check costs one extra seed, not a trace: f runs once per call, also
    when f's derivatives cancel to rounding noise (exp(x) * exp(-x) - 1)."""
    calls = [0]

    def f(z):
        calls[0] += 1
        return np.exp(z) * np.exp(-z[::-1])[::-1] - 1 + broyden(z)

    x = RNG.standard_normal(40)
    S = dj.SparseJacobian(f, x)
    for _ in range(3):
        x = RNG.standard_normal(40)
        calls[0] = 0
        J = S(x).toarray()
        assert calls[0] == 1
        np.testing.assert_allclose(J, complex_step_jacobian(f, x), rtol=1e-13, atol=1e-14)


def test_the_examples_in_docs_sparsity_run():
    """docs/sparsity.md's examples check their own results: run them as they are."""
    import pathlib
    import re
    docs = pathlib.Path(__file__).resolve().parent.parent / "docs" / "sparsity.md"
    blocks = re.findall(r"```python\n(.*?)```", docs.read_text(), flags=re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, str(docs), "exec"), {})


def test_stop_gradient_inside_the_sparse_transforms():
    """dj.stop_gradient takes the sparsity tracer's values too: z[1:]^2 * const(z[:-1])
    depends on z[1:] only."""
    x = np.linspace(0.1, 1.0, 10)
    f = lambda z: z[1:] ** 2 * dj.stop_gradient(z[:-1])   # noqa: E731
    want = np.diag(2 * x[1:] * x[:-1], k=1)[:-1]
    np.testing.assert_array_equal(dj.jacobian_sparsity(f, x).toarray(), want != 0)
    np.testing.assert_allclose(dj.sparse_jacobian(f, x).toarray(), want, rtol=1e-15)
    g = lambda z: np.sum(f(z))   # noqa: E731
    np.testing.assert_allclose(dj.sparse_hessian(g, x).toarray(),
                               np.diag(np.r_[0.0, 2 * x[:-1]]), rtol=1e-15)
