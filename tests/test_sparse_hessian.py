"""dj.sparse_hessian and dj.SparseHessian against analytic Hessians and dj.hessian.

Sums of local terms (the separable sweep) in many spellings, functions that are not such a
sum (the dense fallback), value_gradient_hessian against f(x) and dj.gradient, every format,
float32, args, errors, and threads (the separable interception is per thread).
"""

import threading

import numpy as np
import pytest
import scipy.sparse as sp

import dualjac as dj

RNG = np.random.default_rng(11)
FORMATS = ("csr", "csc", "coo", "dense")


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    """The analytic tridiagonal Hessian of the Rosenbrock sum."""
    n = x.size
    H = np.zeros((n, n))
    d = np.zeros(n)
    d[:-1] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    d[1:] += 200
    off = -400 * x[:-1]
    H[np.arange(n), np.arange(n)] = d
    H[np.arange(n - 1), np.arange(1, n)] = off
    H[np.arange(1, n), np.arange(n - 1)] = off
    return H


def chain_energy(x):
    """sum (x_{i+1} - x_i)^2 + sum x_i^4: Hessian 2 * L + diag(12 x^2), L the path Laplacian."""
    return np.sum(np.diff(x) ** 2) + np.sum(x ** 4)


def chain_energy_hessian(x):
    n = x.size
    L = sp.diags([-np.ones(n - 1), np.r_[1, 2 * np.ones(n - 2), 1], -np.ones(n - 1)],
                 [-1, 0, 1]).toarray()
    return 2 * L + np.diag(12 * x ** 2)


def grid_energy(x):
    u = x.reshape(4, 5)
    p = np.pad(u, 1, mode="edge")
    return 0.5 * (np.sum((p[1:, 1:-1] - p[:-1, 1:-1]) ** 2)
                  + np.sum((p[1:-1, 1:] - p[1:-1, :-1]) ** 2)) + np.sum(np.cosh(u))


SEPARABLE = {
    "rosenbrock": rosenbrock,
    "mean": lambda x: np.mean(np.exp(x[1:] * x[:-1])),
    "x_at_x": lambda x: x @ x + np.sum(np.sin(x) * np.roll(x, 1)),
    "dot_residual": lambda x: (lambda r: np.dot(r, r))(x[1:] - x[:-1] ** 2),
    "scaled_sums": lambda x: 0.5 * np.sum(x ** 4) + np.sum(x[1:] * x[:-1]) - 3,
    "divided": lambda x: np.sum(np.log1p(x ** 2)) / 4 - np.mean(x[::2] * x[1::2]),
    "pad": lambda x: np.sum(np.pad(x, 1, mode="wrap")[:-2] * x ** 2),
    "roll": lambda x: np.sum((np.roll(x, 2) - x) ** 2 * np.cos(x)),
    "concatenate": lambda x: np.sum(np.concatenate([x[:1] ** 3, x[1:] * x[:-1]]) ** 2),
    "grid": grid_energy,
    "method_sum": lambda x: (x[1:] ** 2 * x[:-1]).sum() + x.reshape(4, 5).sum(axis=None),
    "inner_vdot": lambda x: np.inner(x, np.tanh(x)) - np.vdot(x[:10], x[10:]),
}
NOT_SEPARABLE = {
    "norm": lambda x: np.sqrt(np.sum(x ** 2)),
    "sum_squared": lambda x: np.sum(x) ** 2,
    "prod": lambda x: np.prod(x[:6]) + np.sum(x),
    "sum_times_array": lambda x: np.sum(x * np.sum(x[:3])),
    "log_of_sum": lambda x: np.log(np.sum(np.exp(x))),
}


def hessian_dense(H, n):
    return H.reshape(n, n) if isinstance(H, np.ndarray) else H.toarray()


@pytest.mark.parametrize("name", list(SEPARABLE) + list(NOT_SEPARABLE))
def test_equals_dense_hessian(name):
    f = {**SEPARABLE, **NOT_SEPARABLE}[name]
    x = RNG.uniform(-1, 1, 20)
    S = dj.SparseHessian(f, x)
    assert (S.plan is not None) == (name in SEPARABLE)      # which path ran
    want = np.asarray(dj.hessian(f, x))
    for point in range(2):
        got = S(x).toarray()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
        np.testing.assert_allclose(got, got.T, rtol=1e-15, atol=0)   # up to the last bit
        x = RNG.uniform(-1, 1, 20)
        want = np.asarray(dj.hessian(f, x))


@pytest.mark.parametrize("f, analytic", [(rosenbrock, rosenbrock_hessian),
                                         (chain_energy, chain_energy_hessian)],
                         ids=["rosenbrock", "chain_energy"])
@pytest.mark.parametrize("format", FORMATS)
def test_equals_analytic_hessian_in_every_format(f, analytic, format):
    x = RNG.uniform(-1.5, 1.5, 30)
    H = dj.sparse_hessian(f, x, format=format)
    if format == "dense":
        assert isinstance(H, np.ndarray) and H.shape == (30, 30)
    else:
        assert H.format == format and H.shape == (30, 30)
        assert H.nnz == 30 + 2 * 29                        # the tridiagonal pattern, stored
    np.testing.assert_allclose(hessian_dense(H, 30), analytic(x), rtol=1e-13, atol=1e-12)


def test_dense_format_has_the_source_shape_twice():
    x = RNG.uniform(-1, 1, (4, 5))
    f = lambda u: grid_energy(u.ravel())
    H = dj.sparse_hessian(f, x, format="dense")
    assert H.shape == (4, 5, 4, 5)
    np.testing.assert_allclose(H, dj.hessian(f, x), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", ["rosenbrock", "grid", "mean", "norm", "prod"])
def test_value_gradient_hessian(name):
    f = {**SEPARABLE, **NOT_SEPARABLE}[name]
    x = RNG.uniform(-1, 1, 20)
    value, gradient, H = dj.SparseHessian(f, x).value_gradient_hessian(x)
    np.testing.assert_allclose(value, f(x), rtol=1e-14)
    assert gradient.shape == x.shape
    np.testing.assert_allclose(gradient, dj.gradient(f, x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(H.toarray(), dj.hessian(f, x), rtol=1e-12, atol=1e-12)


def test_rosenbrock_gradient_is_the_analytic_one():
    x = RNG.uniform(-1, 1, 12)
    _, g, _ = dj.SparseHessian(rosenbrock, x).value_gradient_hessian(x)
    want = np.zeros(12)
    want[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    want[1:] += 200 * (x[1:] - x[:-1] ** 2)
    np.testing.assert_allclose(g, want, rtol=1e-13, atol=1e-12)


def test_separable_sweep_uses_few_colors():
    """A tridiagonal sum: its terms need 2 or 3 colors whatever n, not n seeds."""
    x = RNG.uniform(-1, 1, 200)
    S = dj.SparseHessian(rosenbrock, x)
    assert S.plan is not None and S.ncolors <= 3
    np.testing.assert_allclose(S(x).toarray(), rosenbrock_hessian(x), rtol=1e-13, atol=1e-11)


@pytest.mark.parametrize("name", ["rosenbrock", "grid", "norm"])
@pytest.mark.parametrize("format", FORMATS)
def test_float32(name, format):
    f = {**SEPARABLE, **NOT_SEPARABLE}[name]
    x = RNG.uniform(-1, 1, 20).astype(np.float32)
    value, gradient, H = dj.SparseHessian(f, x, format=format).value_gradient_hessian(x)
    assert H.dtype == np.float32 and gradient.dtype == np.float32
    want = np.asarray(dj.hessian(f, x.astype(np.float64)))
    np.testing.assert_allclose(hessian_dense(H, 20), want, rtol=2e-5,
                               atol=2e-5 * np.abs(want).max())
    np.testing.assert_allclose(gradient, dj.gradient(f, x.astype(np.float64)), rtol=2e-5,
                               atol=2e-4)


def test_structure_is_the_pattern_with_explicit_zeros():
    f = lambda z: np.sum(z[1:] * z[:-1] ** 3)
    x = RNG.uniform(0.5, 1.5, 8)
    x_zeros = x.copy()
    x_zeros[2:5] = 0.0
    S = dj.SparseHessian(f, x)
    a, b = S(x), S(x_zeros)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indptr, dj.hessian_sparsity(f, x).indptr)
    assert np.any(b.data == 0)
    np.testing.assert_allclose(b.toarray(), dj.hessian(f, x_zeros), rtol=1e-14, atol=0)


def test_f_with_args():
    f = lambda z, w, k: np.sum(w * np.roll(z, k) * z ** 2)
    x, w = RNG.standard_normal(9), RNG.standard_normal(9)
    S = dj.SparseHessian(f, x, args=(w, 1))
    for args in ((w, 1), (w, 3), (-w, 3)):
        np.testing.assert_allclose(S(x, *args).toarray(), dj.hessian(lambda z: f(z, *args), x),
                                   rtol=1e-13, atol=1e-13)


def test_a_new_shape_is_prepared_again():
    S = dj.SparseHessian(rosenbrock, RNG.standard_normal(6))
    for n in (6, 11, 3):
        x = RNG.standard_normal(n)
        np.testing.assert_allclose(S(x).toarray(), rosenbrock_hessian(x), rtol=1e-13,
                                   atol=1e-12)


def test_branch_on_values_flips_between_calls():
    f = lambda z: np.sum(z ** 3) if z[0] > 0 else np.sum(z[1:] * z[:-1])
    x = RNG.uniform(0.5, 1.5, 6)
    S = dj.SparseHessian(f, x)
    for sign in (1, -1, 1):
        x[0] = sign * abs(x[0])
        np.testing.assert_allclose(S(x).toarray(), dj.hessian(f, x), rtol=1e-14, atol=0)


@pytest.mark.parametrize("f", [lambda z: np.float64(3.0), lambda z: np.sum(np.ones(3)),
                               lambda z: np.sum(3 * z) - 1, lambda z: z[2] ** 3],
                         ids=["constant", "constant_sum", "linear", "one_element"])
def test_degenerate_objectives(f):
    x = RNG.uniform(0.5, 1.5, 5)
    np.testing.assert_allclose(dj.sparse_hessian(f, x).toarray(), dj.hessian(f, x), atol=0)


@pytest.mark.parametrize("format", FORMATS)
def test_empty_source(format):
    H = dj.sparse_hessian(lambda z: np.sum(z ** 3) + 1.0, np.zeros(0), format=format)
    assert H.shape == (0, 0)


@pytest.mark.parametrize("other", [lambda z: np.sum(z[::-1] ** 2 * z),   # same colors
                                   lambda z: np.sum(z ** 3) * 1.0 + np.sum(z * z[0]),
                                   lambda z: np.sqrt(np.sum(z ** 2))],   # not separable
                         ids=["permuted", "new_pairs", "dense_fallback"])
def test_structure_changed_through_a_closure_is_detected(other):
    state = {"first": True}
    f = lambda z: np.sum(z ** 3) if state["first"] else other(z)
    x = RNG.uniform(0.5, 1.5, 6)
    S = dj.SparseHessian(f, x)
    np.testing.assert_allclose(S(x).toarray(), np.diag(6 * x), rtol=1e-15)
    state["first"] = False
    value, gradient, H = S.value_gradient_hessian(x)
    np.testing.assert_allclose(H.toarray(), dj.hessian(other, x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(gradient, dj.gradient(other, x), rtol=1e-13, atol=1e-13)
    state["first"] = True
    np.testing.assert_allclose(S(x).toarray(), np.diag(6 * x), rtol=1e-15)


def test_a_dense_fallback_sees_a_structure_changed_through_a_closure():
    """f not a sum of local terms (its Hessian is dj.hessian's, read at the pattern): after f
    changes through a closure, an entry outside the pattern makes it trace f again."""
    state = {"lag": 1}
    f = lambda z: (np.sum(z[state["lag"]:] * z[:-state["lag"]] ** 2)   # noqa: E731
                   + np.sum(z[:3]) ** 2)
    x = RNG.uniform(0.5, 1.5, 40)
    S = dj.SparseHessian(f, x)
    assert S.plan is None
    np.testing.assert_allclose(S(x).toarray(), dj.hessian(f, x), rtol=1e-13)
    state["lag"] = 4
    np.testing.assert_allclose(S(x).toarray(), dj.hessian(f, x), rtol=1e-13)
    np.testing.assert_allclose(S(x + 0.1).toarray(), dj.hessian(f, x + 0.1), rtol=1e-13)


def test_objective_hessian_of_a_sum_is_colored_and_follows_a_closure():
    """dj.Objective's scalar check does not hide a sum of local terms from the colored sweep,
    and its Hessian follows f through a closure."""
    state = {"lag": 1}
    g = lambda z: np.sum(z[state["lag"]:] * z[:-state["lag"]] ** 2)   # noqa: E731
    x = RNG.uniform(0.5, 1.5, 40)
    objective = dj.Objective(g, x)
    dense = lambda H: H.toarray() if hasattr(H, "toarray") else H   # noqa: E731
    np.testing.assert_allclose(dense(objective.hess(x)), dj.hessian(g, x), rtol=1e-13)
    assert objective._sparse_hessian.plan is not None
    state["lag"] = 4
    np.testing.assert_allclose(dense(objective.hess(x + 0.1)), dj.hessian(g, x + 0.1),
                               rtol=1e-13)
    np.testing.assert_allclose(objective.hessp(x, np.ones(40)), dj.hessian(g, x) @ np.ones(40),
                               rtol=1e-13)


# ---------------------------------------------------------------- errors

def test_f_returning_a_tuple_is_refused():
    for call in (dj.sparse_hessian, dj.hessian_sparsity):
        with pytest.raises(TypeError, match="f must return one array"):
            call(lambda z: (np.sum(z ** 2), z), np.ones(3))

def test_vector_f_is_refused_with_the_fix():
    for call in (dj.sparse_hessian, dj.SparseHessian, dj.hessian_sparsity):
        with pytest.raises(ValueError, match=r"f must return a scalar, got shape \(4,\)"):
            call(lambda z: z ** 2, np.ones(4))


def test_bad_format_and_sources():
    with pytest.raises(ValueError, match="format must be one of"):
        dj.sparse_hessian(rosenbrock, np.ones(4), format="lil")
    with pytest.raises(TypeError, match="one float array"):
        dj.SparseHessian(rosenbrock, {"x": np.ones(4)})
    with pytest.raises(TypeError, match="f must be a function of x"):
        dj.SparseHessian("rosenbrock", np.ones(4))


# ---------------------------------------------------------------- threads

def test_threads_with_their_own_prepared_hessians_agree_with_serial():
    """The separable interception is thread-local: one thread's sweep must neither take nor
    lose another's full sums (a non-separable f runs beside separable ones)."""
    cases = [(rosenbrock, RNG.standard_normal(40)), (grid_energy, RNG.standard_normal(20)),
             (NOT_SEPARABLE["norm"], RNG.standard_normal(15)),
             (SEPARABLE["x_at_x"], RNG.standard_normal(30))]
    serial = [dj.SparseHessian(f, x).value_gradient_hessian(x) for f, x in cases]
    results, errors = {}, []
    barrier = threading.Barrier(len(cases) + 1)

    def work(k):
        try:
            f, x = cases[k]
            S = dj.SparseHessian(f, x)
            barrier.wait()
            results[k] = [S.value_gradient_hessian(x) for _ in range(15)]
        except Exception as e:   # reported below, with the thread's case
            errors.append((k, e))

    def jacobians():          # a sparse Jacobian sweep and plain sums at the same time
        S = dj.SparseJacobian(lambda z: np.sum(z) * z, np.ones(5))
        barrier.wait()
        for _ in range(15):
            np.testing.assert_array_equal(S(np.ones(5)).toarray(), np.ones((5, 5)) + 5 * np.eye(5))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(cases))]
    threads.append(threading.Thread(target=jacobians))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k, (value, gradient, H) in enumerate(serial):
        for v, g, h in results[k]:
            assert v == value
            np.testing.assert_array_equal(g, gradient)
            np.testing.assert_array_equal(h.toarray(), H.toarray())


def test_one_evaluation_per_call_when_nothing_changed():
    """The structure check is a probe seed, not a trace: f runs once per call."""
    calls = [0]

    def f(z):
        calls[0] += 1
        return rosenbrock(z) + np.sum(np.exp(z) * np.exp(-z))

    S = dj.SparseHessian(f, RNG.standard_normal(50))
    for _ in range(3):
        x = RNG.standard_normal(50)
        calls[0] = 0
        H = S(x).toarray()
        assert calls[0] == 1
        np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-12, atol=1e-11)


def branch_on_the_sum(z):
    """A branch on a full sum's value: the sum must not be kept apart (PartialSum) there."""
    s = np.sum(z ** 2)
    if s == 0.0:
        return 3.0 * np.sum(z ** 3)
    return s.reshape(()) * 1.0


@pytest.mark.parametrize("x", [np.zeros(300), np.linspace(0.1, 1.0, 300)])
def test_a_branch_on_a_full_sum_follows_its_value(x):
    """Analytic: at 0 the branch gives 3 sum(z^3) (Hessian 18 diag(z) = 0, gradient 0);
    elsewhere sum(z^2) (Hessian 2 I, gradient 2 z)."""
    at_zero = not x.any()
    H_expected = np.zeros((300, 300)) if at_zero else 2 * np.eye(300)
    g_expected = np.zeros(300) if at_zero else 2 * x
    np.testing.assert_allclose(dj.SparseHessian(branch_on_the_sum, x)(x).toarray(), H_expected)
    np.testing.assert_allclose(dj.sparse_hessian(branch_on_the_sum, x).toarray(), H_expected)
    np.testing.assert_allclose(dj.hessian(branch_on_the_sum, x), H_expected)
    np.testing.assert_allclose(dj.gradient(branch_on_the_sum, x), g_expected)
