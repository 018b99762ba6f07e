"""SciPy drop-ins (dj.ode_jacobian, dj.least_squares_jacobian, dj.Objective): real solves,
each checked against a reference solve (SciPy's own finite differences at tight
tolerances) or an analytic answer, and the derivatives against complex step."""

import pathlib
import re

import numpy as np
import pytest
from scipy import optimize, sparse
from scipy.integrate import solve_ivp

import dualjac as dj
from witness import complex_step_jacobian

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "scipy.md"


# ---------------------------------------------------------------- problems

def robertson(t, y, k1, k2, k3):
    """Robertson's stiff chemical kinetics (three species)."""
    a, b, c = y[0], y[1], y[2]
    return np.stack([-k1 * a + k3 * b * c,
                     k1 * a - k2 * b ** 2 - k3 * b * c,
                     k2 * b ** 2])


ROBERTSON_ARGS = (0.04, 3e7, 1e4)


def brusselator(t, y, a, b, alpha):
    """1-D Brusselator by the method of lines (Hairer & Wanner II, IV.1): y = [u, v],
    N interior points, Dirichlet values u = 1, v = 3 at both ends."""
    n = y.size // 2
    u, v = y[:n], y[n:]
    c = alpha * (n + 1) ** 2
    u_ends = np.pad(u, 1, mode="constant", constant_values=1.0)
    v_ends = np.pad(v, 1, mode="constant", constant_values=3.0)
    du = a + u * u * v - (b + 1) * u + c * (u_ends[:-2] - 2 * u + u_ends[2:])
    dv = b * u - u * u * v + c * (v_ends[:-2] - 2 * v + v_ends[2:])
    return np.concatenate([du, dv])


def brusselator_pattern(n):
    """The pattern by construction: tridiagonal blocks, diagonal couplings."""
    tri = sparse.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1])
    eye = sparse.eye_array(n)
    return sparse.block_array([[tri, eye], [eye, tri]]).astype(bool).tocsr()


def fisher_2d(t, y, k, diffusion):
    """Fisher-KPP on a k x k grid, zero-flux edges (np.pad "edge")."""
    u = y.reshape(k, k)
    p = np.pad(u, 1, mode="edge")
    laplacian = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u
    return (diffusion * (k + 1) ** 2 * laplacian + u * (1 - u)).reshape(-1)


def five_point_pattern(k):
    line = sparse.diags_array([np.ones(k - 1), np.ones(k), np.ones(k - 1)], offsets=[-1, 0, 1])
    eye = sparse.eye_array(k)
    return (sparse.kron(line, eye) + sparse.kron(eye, line)).astype(bool).tocsr()


def broyden_tridiagonal(x, shift, *, scale=1.0):
    """Broyden's tridiagonal system (More, Garbow & Hillstrom 1981) as residuals; zero at
    its solution."""
    ends = np.pad(x, 1)
    return scale * ((3 - 2 * x) * x - ends[:-2] - 2 * ends[2:] + shift)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def complex_step_ode_jacobian(fun, t, y, args):
    return complex_step_jacobian(lambda z: fun(t, z, *args), y)


def reference_solve(fun, t_span, y0, args, method="Radau", **options):
    """SciPy with its own finite-difference Jacobian, at tight tolerances."""
    return solve_ivp(fun, t_span, y0, method=method, args=args, rtol=1e-10, atol=1e-13,
                     **options)


def dense(J):
    return J.toarray() if sparse.issparse(J) else J


# ---------------------------------------------------------------- solve_ivp

ROBERTSON_Y0 = np.array([1.0, 0.0, 0.0])
ROBERTSON_SPAN = (0.0, 100.0)


@pytest.fixture(scope="module")
def robertson_reference():
    return reference_solve(robertson, ROBERTSON_SPAN, ROBERTSON_Y0, ROBERTSON_ARGS).y[:, -1]


@pytest.mark.parametrize("method", ["BDF", "Radau", "LSODA"])
def test_robertson_stiff_kinetics(method, robertson_reference):
    jac = dj.ode_jacobian(robertson, 0.0, ROBERTSON_Y0, ROBERTSON_ARGS)
    assert not jac.sparse and jac.ncolors == 3        # 3 unknowns: dense
    sol = solve_ivp(robertson, ROBERTSON_SPAN, ROBERTSON_Y0, method=method, jac=jac,
                    args=ROBERTSON_ARGS, rtol=1e-8, atol=1e-12)
    assert sol.success and sol.njev > 0
    np.testing.assert_allclose(sol.y[:, -1], robertson_reference, rtol=1e-5, atol=1e-11)


def test_robertson_jacobian_is_complex_step():
    jac = dj.ode_jacobian(robertson, 0.0, ROBERTSON_Y0, ROBERTSON_ARGS)
    for y in ([1.0, 0.0, 0.0], [0.7, 3e-5, 0.3], [0.1, 1e-6, 0.9]):
        y = np.array(y)
        expected = complex_step_ode_jacobian(robertson, 1.0, y, ROBERTSON_ARGS)
        np.testing.assert_allclose(jac(1.0, y, *ROBERTSON_ARGS), expected, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(jac.sparsity.toarray(), [[1, 1, 1], [1, 1, 1], [0, 1, 0]])


def brusselator_problem(n):
    x = np.arange(1, n + 1) / (n + 1)
    y0 = np.concatenate([1 + np.sin(2 * np.pi * x), np.full(n, 3.0)])
    return y0, (1.0, 3.0, 0.02)


@pytest.mark.parametrize("method", ["BDF", "Radau"])
def test_brusselator_method_of_lines_sparse(method):
    n = 100
    y0, args = brusselator_problem(n)
    jac = dj.ode_jacobian(brusselator, 0.0, y0, args)
    assert jac.sparse                                   # 200 unknowns, density 0.02
    np.testing.assert_array_equal(jac.sparsity.toarray(), brusselator_pattern(n).toarray())
    J = jac(0.0, y0, *args)
    assert isinstance(J, sparse.csc_array) and J.shape == (2 * n, 2 * n)
    np.testing.assert_allclose(J.toarray(), complex_step_ode_jacobian(brusselator, 0.0, y0, args),
                               rtol=1e-13, atol=1e-9)
    span = (0.0, 2.0)
    sol = solve_ivp(brusselator, span, y0, method=method, jac=jac, args=args,
                    rtol=1e-8, atol=1e-10)
    reference = reference_solve(brusselator, span, y0, args, method="BDF",
                                jac_sparsity=brusselator_pattern(n))
    assert sol.success and sol.njev > 0
    np.testing.assert_allclose(sol.y[:, -1], reference.y[:, -1], rtol=1e-5)


def test_reaction_diffusion_2d_on_a_grid():
    k = 20
    grid = np.linspace(0, 1, k)
    y0 = np.exp(-20 * ((grid[:, None] - 0.3) ** 2 + (grid[None, :] - 0.5) ** 2)).reshape(-1)
    args = (k, 0.01)
    jac = dj.ode_jacobian(fisher_2d, 0.0, y0, args)
    assert jac.sparse and jac.ncolors < 10               # a 5-point stencil: a few colors
    np.testing.assert_array_equal(jac.sparsity.toarray(), five_point_pattern(k).toarray())
    span = (0.0, 1.0)
    sol = solve_ivp(fisher_2d, span, y0, method="BDF", jac=jac, args=args, rtol=1e-8, atol=1e-10)
    reference = reference_solve(fisher_2d, span, y0, args, method="BDF",
                                jac_sparsity=five_point_pattern(k))
    assert sol.success and sol.njev > 0
    np.testing.assert_allclose(sol.y[:, -1], reference.y[:, -1], rtol=1e-5, atol=1e-9)


def test_ode_jacobian_sparse_choice_is_the_users():
    y0, args = brusselator_problem(10)                   # 20 unknowns: "auto" is dense
    auto = dj.ode_jacobian(brusselator, 0.0, y0, args)
    forced = dj.ode_jacobian(brusselator, 0.0, y0, args, sparse=True)
    assert not auto.sparse and isinstance(auto(0.0, y0, *args), np.ndarray)
    assert isinstance(forced(0.0, y0, *args), sparse.csc_array)
    np.testing.assert_allclose(forced(0.5, y0, *args).toarray(), auto(0.5, y0, *args), rtol=1e-15)
    big, big_args = brusselator_problem(100)
    assert isinstance(dj.ode_jacobian(brusselator, 0.0, big, big_args, sparse=False)(0.0, big, *big_args),
                      np.ndarray)


# ---------------------------------------------------------------- least_squares

def test_least_squares_sparse_broyden_tridiagonal():
    n = 200
    x0 = -np.ones(n)
    args, kwargs = (1.0,), {"scale": 2.0}
    jac = dj.least_squares_jacobian(broyden_tridiagonal, x0, args, kwargs)
    assert jac.sparse and isinstance(jac(x0, *args, **kwargs), sparse.csr_array)
    pattern = sparse.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1])
    np.testing.assert_array_equal(jac.sparsity.toarray(), pattern.toarray().astype(bool))
    ours = optimize.least_squares(broyden_tridiagonal, x0, jac=jac, args=args, kwargs=kwargs,
                                  method="trf", tr_solver="lsmr", xtol=1e-14, ftol=1e-14, gtol=1e-14)
    theirs = optimize.least_squares(broyden_tridiagonal, x0, jac="2-point", jac_sparsity=pattern,
                                    args=args, kwargs=kwargs, method="trf", tr_solver="lsmr",
                                    xtol=1e-14, ftol=1e-14, gtol=1e-14)
    assert ours.success and ours.njev > 0
    assert np.max(np.abs(ours.fun)) < 1e-10             # the known optimum: a root
    np.testing.assert_allclose(ours.x, theirs.x, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(
        jac(ours.x, *args, **kwargs).toarray(),
        complex_step_jacobian(lambda z: broyden_tridiagonal(z, *args, **kwargs), ours.x), rtol=1e-14)


def test_least_squares_dense_small_fit():
    """An exponential fit with a known answer (noise-free data), dense Jacobian."""
    t = np.linspace(0, 2, 30)
    data = 3.0 * np.exp(-1.5 * t) + 0.5

    def residuals(p, t, data):
        return p[0] * np.exp(-p[1] * t) + p[2] - data

    x0 = np.array([1.0, 1.0, 0.0])
    jac = dj.least_squares_jacobian(residuals, x0, args=(t, data))
    assert not jac.sparse
    fit = optimize.least_squares(residuals, x0, jac=jac, args=(t, data), xtol=1e-15, ftol=1e-15)
    np.testing.assert_allclose(fit.x, [3.0, 1.5, 0.5], rtol=1e-10)
    np.testing.assert_allclose(jac(fit.x, t, data),
                               complex_step_jacobian(lambda p: residuals(p, t, data), fit.x),
                               rtol=1e-14)


# ---------------------------------------------------------------- minimize

class CountingRosenbrock:
    """Rosenbrock that counts its evaluations (a sweep, a plain call or a tracer run)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return rosenbrock(x)


class Requests:
    """The points at which a solver asked each kind of question."""

    def __init__(self, objective, kinds):
        self.points = {kind: set() for kind in kinds}
        self.methods = {kind: self._recording(kind, getattr(objective, kind)) for kind in kinds}

    def _recording(self, kind, method):
        def asked(x, *rest):
            self.points[kind].add(np.asarray(x, dtype=float).tobytes())
            return method(x, *rest)
        return asked

    def distinct(self, *kinds):
        return len(set().union(*(self.points[kind] for kind in kinds)))


@pytest.mark.parametrize("method, n, hessian", [
    ("trust-constr", 100, "hess"),
    ("trust-exact", 20, "hess"),
    ("Newton-CG", 50, "hessp"),
    ("BFGS", 10, None),
])
def test_minimize_rosenbrock_one_sweep_per_point(method, n, hessian):
    fun = CountingRosenbrock()
    objective = dj.Objective(fun, np.zeros(n))
    kinds = ("fun", "jac") + ((hessian,) if hessian else ())
    requests = Requests(objective, kinds)
    tight = {"trust-constr": {"gtol": 1e-10, "xtol": 1e-12}, "Newton-CG": {"xtol": 1e-10}}
    result = optimize.minimize(requests.methods["fun"], np.full(n, 0.5), method=method,
                               options=tight.get(method, {}),
                               **{kind: requests.methods[kind] for kind in kinds[1:]})
    np.testing.assert_allclose(result.x, np.ones(n), atol=1e-5)
    points = requests.distinct(*kinds)
    if hessian == "hess":     # first-order at the first point, until a Hessian is asked for
        expected = points + 1
    elif hessian == "hessp":  # a sparse Hessian: built once where products are asked for
        expected = points + requests.distinct("hessp")
    else:
        expected = points
    assert objective.sweeps == expected < objective.evaluations
    assert 0 <= fun.calls - objective.sweeps <= 2          # the Hessian pattern's tracer runs
    if method == "trust-constr":
        assert objective.hessian_format == "sparse"


def test_objective_derivatives_are_scipys():
    n = 30
    x = np.linspace(-1.0, 1.5, n)
    objective = dj.Objective(rosenbrock, x)
    assert objective.fun(x) == pytest.approx(optimize.rosen(x), rel=1e-15)
    np.testing.assert_allclose(objective.jac(x), optimize.rosen_der(x), rtol=1e-13)
    np.testing.assert_allclose(dense(objective.hess(x)), optimize.rosen_hess(x), rtol=1e-13)
    p = np.cos(np.arange(n))
    np.testing.assert_allclose(objective.hessp(x, p), optimize.rosen_hess_prod(x, p), rtol=1e-13)


def test_objective_never_returns_another_points_results():
    n = 12
    objective = dj.Objective(rosenbrock, np.zeros(n))
    x = np.linspace(0, 1, n)
    objective.fun(x)
    x[3] += 0.25                                        # the same array, changed in place
    np.testing.assert_allclose(objective.jac(x), optimize.rosen_der(x), rtol=1e-13)
    other = x[::-1].copy()
    np.testing.assert_allclose(dense(objective.hess(other)), optimize.rosen_hess(other), rtol=1e-13)
    assert objective.fun(x) == pytest.approx(optimize.rosen(x), rel=1e-15)
    p = np.ones(n)
    np.testing.assert_allclose(objective.hessp(other, p), optimize.rosen_hess_prod(other, p),
                               rtol=1e-13)


def test_objective_hessp_hessian_once_when_sparse_hvp_when_dense():
    n = 40
    x = np.linspace(-0.5, 1.2, n)
    directions = np.eye(n)[:3]
    banded = dj.Objective(rosenbrock, x)
    banded.jac(x)
    products = [banded.hessp(x, p) for p in directions]
    assert banded.sweeps == 2          # the gradient's, then the Hessian's for all products
    np.testing.assert_allclose(np.stack(products), optimize.rosen_hess(x)[:3], rtol=1e-13)

    def coupled(z):                    # a dense Hessian: 2 (1 1^T) sum(z^2) + ... analytic
        return np.sum(z) ** 2 * np.sum(z ** 2)
    full = dj.Objective(coupled, x)
    full.jac(x)
    s, q = np.sum(x), np.sum(x ** 2)
    hessian = 2 * q * np.ones((n, n)) + 4 * s * (x[:, None] + x[None, :]) + 2 * s ** 2 * np.eye(n)
    for p in directions:
        np.testing.assert_allclose(full.hessp(x, p), hessian @ p, rtol=1e-13)
    assert full.sweeps == 1 + 3        # the gradient's, then one dj.hvp per product


def test_objective_args_and_auto_hessian():
    n = 150
    target = np.linspace(0, 1, n)

    def chain(x, target, weight):
        return np.sum((x - target) ** 2) + weight * np.sum((x[1:] - x[:-1]) ** 2)

    objective = dj.Objective(chain, np.zeros(n), args=(target, 3.0))
    H = objective.hess(np.zeros(n), target, 3.0)
    assert objective.hessian_format == "sparse" and isinstance(H, sparse.csr_array)
    laplacian = sparse.diags_array([-np.ones(n - 1), np.r_[1, 2 * np.ones(n - 2), 1],
                                    -np.ones(n - 1)], offsets=[-1, 0, 1])
    np.testing.assert_allclose(H.toarray(), 2 * np.eye(n) + 6 * laplacian.toarray(), atol=1e-13)
    result = optimize.minimize(objective.fun, np.zeros(n), args=(target, 3.0), jac=objective.jac,
                               hess=objective.hess, method="trust-constr")
    expected = np.linalg.solve(2 * np.eye(n) + 6 * laplacian.toarray(), 2 * target)
    np.testing.assert_allclose(result.x, expected, atol=1e-6)


# ---------------------------------------------------------------- errors

def test_errors_name_the_problem_and_the_fix():
    y0, args = brusselator_problem(5)
    with pytest.raises(TypeError, match=r"integer dtype.*dtype=float"):
        dj.ode_jacobian(robertson, 0.0, np.array([1, 0, 0]), ROBERTSON_ARGS)
    with pytest.raises(TypeError, match=r"args must be a tuple.*\(0\.04,\)"):
        dj.ode_jacobian(robertson, 0.0, ROBERTSON_Y0, 0.04)
    with pytest.raises(ValueError, match="sparse must be True, False or 'auto'"):
        dj.ode_jacobian(brusselator, 0.0, y0, args, sparse="yes")
    with pytest.raises(ValueError, match="right-hand side has y's size"):
        dj.ode_jacobian(lambda t, y: y[:2] * t, 0.0, np.ones(3))
    with pytest.raises(TypeError, match="fun must be callable"):
        dj.least_squares_jacobian("residuals", np.ones(3))
    with pytest.raises(ValueError, match=r"must be 1-D.*ravel\(\)"):
        dj.least_squares_jacobian(np.sin, np.ones((2, 2)))
    with pytest.raises(ValueError, match="hessian must be 'auto', 'sparse' or 'dense'"):
        dj.Objective(rosenbrock, np.ones(3), hessian=True)
    with pytest.raises(ValueError, match="fun must return a scalar.*least_squares_jacobian"):
        dj.Objective(lambda x: x ** 2, np.ones(3)).jac(np.ones(3))
    with pytest.raises(ValueError, match="x has 4 elements, x0 had 3"):
        dj.Objective(rosenbrock, np.ones(3)).fun(np.ones(4))


def test_output_shape_that_changes_is_refused():
    def shrinking(x, m):
        return x[:m] ** 2

    for sparse_choice in (False, True):
        jac = dj.least_squares_jacobian(shrinking, np.ones(6), args=(6,), sparse=sparse_choice)
        np.testing.assert_allclose(dense(jac(np.ones(6), 6)), 2 * np.eye(6))
        with pytest.raises(ValueError, match=r"returned 4 elements where it returned 6.*new dualjac"):
            jac(np.ones(6), 4)


# ---------------------------------------------------------------- the user page

def doc_examples():
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)


def test_docs_examples_run():
    examples = doc_examples()
    assert len(examples) >= 3
    for code in examples:
        exec(compile(code, str(DOCS), "exec"), {})
