"""Sparsity patterns (dj.jacobian_sparsity, dj.hessian_sparsity) against outside witnesses.

Two properties. Superset: a pattern never misses a dependency, i.e. it holds every nonzero of
the Jacobian / Hessian computed numerically (dj.jacobian / dj.hessian, themselves checked
against complex step and TensorFlow elsewhere; complex step directly where f is analytic).
Exactness: where the rule is exact (elementwise maps, structural moves, stencils), the pattern
equals the analytic one, built here independently (scipy.sparse.diags, index arithmetic).

Every NumPy function with a derivative rule (dualjac.dispatch.registry.HANDLED) and every rules-table
ufunc is iterated: a function added to HANDLED without a case here fails the coverage test.
"""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special  # noqa: F401  (registers the scipy.special rows)

import dualjac as dj
from dualjac import _pattern_rules, rules
from dualjac.dispatch import registry
from pattern_cases import CASES, IDX, W
from witness import complex_step_jacobian

RNG = np.random.default_rng(20261205)


def pattern(f, x):
    return dj.jacobian_sparsity(f, x).toarray()


def hpattern(f, x):
    return dj.hessian_sparsity(f, x).toarray()


def numeric_jacobian(f, x):
    y = np.asarray(f(x))
    return np.asarray(dj.jacobian(f, x)).reshape(y.size, x.size)


def assert_superset(P, J, what=""):
    missed = np.argwhere((J != 0) & ~P)
    assert missed.size == 0, f"{what}: the pattern misses dependencies at {missed[:5].tolist()}"


def band(n, offsets):
    return sp.diags([np.ones(n - abs(k)) for k in offsets], offsets, shape=(n, n)).toarray() != 0


# ---------------------------------------------------------------- every rules-table ufunc

def ufunc_of(row):
    return getattr(__import__(row.module, fromlist=[row.name]), row.name)


def inside(lo, hi, size):
    """Random points in (lo, hi), away from its ends and from the integers and half-integers
    (the kinks of floor, rint, abs ...)."""
    x = RNG.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), size)
    return np.where(np.abs(x * 2 - np.round(x * 2)) < 0.05, x + 0.11, x)


@pytest.mark.parametrize("row", rules.UNARY, ids=lambda r: r.name)
def test_unary_ufunc_is_diagonal_or_empty(row):
    u = ufunc_of(row)
    x = inside(*row.domain, 5)
    f = lambda z: u(z[::-1])                      # an anti-diagonal, to catch a lost permutation
    P = pattern(f, x)
    expected = np.eye(5, dtype=bool)[::-1] if row.df != "0" else np.zeros((5, 5), bool)
    J = numeric_jacobian(f, x)
    assert_superset(P, J, row.name)
    np.testing.assert_array_equal(P, expected)
    np.testing.assert_array_equal(J != 0, expected)   # the analytic structure, numerically


SELECTING = ("maximum", "minimum", "fmax", "fmin")


@pytest.mark.parametrize("row", rules.BINARY, ids=lambda r: r.name)
def test_binary_ufunc_broadcast_pattern(row):
    u = ufunc_of(row)
    x = np.concatenate([inside(*row.domain_x, 3), inside(*row.domain_y, 4)])
    f = lambda z: u(z[:3, None], z[None, 3:])     # out[i, j] = u(z[i], z[3 + j])
    P = pattern(f, x)
    i, j = np.divmod(np.arange(12), 4)
    expected = np.zeros((12, 7), bool)
    expected[np.arange(12), i] = row.dfx != "0"
    expected[np.arange(12), 3 + j] |= row.dfy != "0"
    J = numeric_jacobian(f, x)
    assert_superset(P, J, row.name)
    np.testing.assert_array_equal(P, expected)
    if row.name in SELECTING:       # the global pattern: either operand, one chosen per x
        np.testing.assert_array_equal(np.count_nonzero(J, axis=1), 1)
    else:
        np.testing.assert_array_equal(J != 0, expected)


@pytest.mark.parametrize("row", rules.BINARY, ids=lambda r: r.name)
def test_binary_ufunc_hessian_pattern(row):
    u = ufunc_of(row)
    x = np.concatenate([inside(*row.domain_x, 3), inside(*row.domain_y, 4)])
    f = lambda z: np.sum(u(z[:3, None], z[None, 3:]))
    P = hpattern(f, x)
    H = np.asarray(dj.hessian(f, x))
    assert_superset(P, H, row.name)
    cross = np.zeros((7, 7), bool)
    cross[:3, 3:] = cross[3:, :3] = row.d2fxy != "0"
    np.testing.assert_array_equal(P, cross | np.eye(7, dtype=bool))


@pytest.mark.parametrize("row", rules.UNARY, ids=lambda r: r.name)
def test_unary_ufunc_of_a_sum_hessian_pattern(row):
    """u(x_i + x_j): all pairs of {i, j} interact when u'' is not identically 0."""
    u = ufunc_of(row)
    lo, hi = row.domain
    x = inside(lo / 2, hi / 2, 4)
    f = lambda z: np.sum(u(z[:2] + z[2:]))
    P = hpattern(f, x)
    assert_superset(P, np.asarray(dj.hessian(f, x)), row.name)
    pairs = np.eye(4, dtype=bool)
    if row.d2f != "0":
        pairs |= np.eye(4, k=2, dtype=bool) | np.eye(4, k=-2, dtype=bool)
    np.testing.assert_array_equal(P, pairs)


def evaluated_call(row, differentiable):
    """(f, x): the evaluated row's ufunc as a function of the given arguments, stacked in x
    (3 points each; the other arguments are constants inside their domains)."""
    u = ufunc_of(row)
    points = {name: np.round(inside(lo, hi, 3)).astype(np.int64) if name in row.integers
              else inside(lo, hi, 3)
              for name, (lo, hi) in zip(row.args, row.domains)}
    x = np.concatenate([points[name] for name in differentiable])

    def f(z):
        args = dict(points, **{name: z[3 * k:3 * k + 3] for k, name in enumerate(differentiable)})
        return u(*[args[name] for name in row.args])
    return f, x


@pytest.mark.parametrize("row", rules.EVALUATED, ids=lambda r: r.name)
def test_evaluated_ufunc_patterns(row):
    """scipy.special rows evaluated with SciPy (rules.EVALUATED): the Jacobian in each
    differentiable argument is diagonal, and the Hessian in all of them pairs the arguments
    whose second partial the row lists."""
    for arg in row.differentiable:
        f, x = evaluated_call(row, (arg,))
        P = pattern(f, x)
        assert_superset(P, numeric_jacobian(f, x), row.name)
        np.testing.assert_array_equal(P, np.eye(3, dtype=bool))
    f, x = evaluated_call(row, row.differentiable)
    P = hpattern(lambda z: np.sum(f(z)), x)
    assert_superset(P, np.asarray(dj.hessian(lambda z: np.sum(f(z)), x)), row.name)
    pairs = {(i, j) for i, j, _ in row.second} | {(j, i) for i, j, _ in row.second}
    n = len(row.differentiable)
    expected = np.kron([[(a, b) in pairs for b in row.differentiable] for a in row.differentiable],
                       np.eye(3, dtype=bool)).astype(bool)
    assert expected.shape == (3 * n, 3 * n)
    np.testing.assert_array_equal(P, expected | np.eye(3 * n, dtype=bool))   # (a diagonal always)


# ---------------------------------------------------------------- every HANDLED function

def case_params():
    for func, cases in CASES.items():
        for k, (f, shape) in enumerate(cases):
            yield pytest.param(f, shape, id=f"{registry.func_name(func)}-{k}")


def test_every_handled_function_has_cases():
    """A NumPy function given a derivative rule later must get pattern cases here too."""
    missing = sorted(registry.func_name(f) for f in registry.HANDLED if f not in CASES)
    assert not missing, f"no pattern cases for {missing}"


@pytest.mark.parametrize("f, shape", list(case_params()))
def test_pattern_contains_every_dependency(f, shape):
    for point in range(2):
        x = RNG.uniform(-1.5, 1.5, shape)
        P = pattern(f, x)
        assert P.shape == (np.size(f(x)), x.size)
        assert_superset(P, numeric_jacobian(f, x))


@pytest.mark.parametrize("func", sorted(
    (f for f in registry.HANDLED if f not in _pattern_rules.RULES
     and f not in _pattern_rules.VALUE_FUNCTIONS and f not in registry.COMPOSITES),
    key=registry.func_name), ids=registry.func_name)
def test_functions_without_an_exact_rule_are_conservative(func):
    f, shape = CASES[func][0]
    x = RNG.uniform(-1.5, 1.5, shape)
    assert pattern(f, x).all()


def test_a_new_function_is_covered_by_the_conservative_rule(monkeypatch):
    """Without a derivative rule (np.linalg.tensorinv's taken out of the tables here) the
    tracer refuses a function by name; a rule that is not a composition and has no pattern
    rule is covered by the conservative rule."""
    f = lambda z: np.linalg.tensorinv(z[:4].reshape(2, 2) + z[4] + 3.0 * np.eye(2), ind=1)
    x = RNG.uniform(-1, 1, 5)
    monkeypatch.delitem(registry.HANDLED, np.linalg.tensorinv)
    monkeypatch.setattr(registry, "COMPOSITES", registry.COMPOSITES - {np.linalg.tensorinv})
    with pytest.raises(TypeError, match="tensorinv"):
        dj.jacobian_sparsity(f, x)
    monkeypatch.setitem(registry.HANDLED, np.linalg.tensorinv, lambda a, ind=2: None)
    P = pattern(f, x)
    assert P.shape == (4, 5) and P.all()
    assert_superset(P, complex_step_jacobian(f, x).reshape(4, 5))


# ---------------------------------------------------------------- exact structural rules

def test_sum_over_an_axis_is_exact():
    x = RNG.standard_normal((3, 4))
    expected = np.kron(np.eye(3), np.ones((1, 4))) != 0   # row i depends on x[i, :]
    np.testing.assert_array_equal(pattern(lambda z: np.sum(z, axis=1), x), expected)
    np.testing.assert_array_equal(pattern(lambda z: np.sum(z, axis=0), x),
                                  np.kron(np.ones((1, 3)), np.eye(4)) != 0)


@pytest.mark.parametrize("mode, index", [
    ("edge", [0, 0, 0, 1, 2, 2, 2]), ("reflect", [2, 1, 0, 1, 2, 1, 0]),
    ("symmetric", [1, 0, 0, 1, 2, 2, 1]), ("wrap", [1, 2, 0, 1, 2, 0, 1]),
    ("constant", [-1, -1, 0, 1, 2, -1, -1])])
def test_pad_modes_gather_the_padded_elements(mode, index):
    x = RNG.standard_normal(3)
    expected = np.zeros((7, 3), bool)
    for row, j in enumerate(index):
        if j >= 0:
            expected[row, j] = True
    np.testing.assert_array_equal(pattern(lambda z: np.pad(z, 2, mode=mode), x), expected)


def test_roll_take_and_concatenate_are_permutations():
    x = RNG.standard_normal(5)
    np.testing.assert_array_equal(pattern(lambda z: np.roll(z, 2), x),
                                  np.roll(np.eye(5, dtype=bool), 2, axis=0))
    np.testing.assert_array_equal(pattern(lambda z: np.take(z, IDX[IDX < 5]), x),
                                  np.eye(5, dtype=bool)[IDX[IDX < 5]])
    np.testing.assert_array_equal(pattern(lambda z: np.concatenate([z[3:], z[:3]]), x),
                                  np.roll(np.eye(5, dtype=bool), -3, axis=0))


def test_matmul_with_a_dense_constant_and_einsum_row_sums_are_exact():
    x = RNG.standard_normal(6)
    assert pattern(lambda z: W @ z, x).all()
    np.testing.assert_array_equal(pattern(lambda z: np.einsum("ij->i", z.reshape(2, 3)), x),
                                  np.kron(np.eye(2), np.ones((1, 3))) != 0)
    np.testing.assert_array_equal(pattern(lambda z: z.reshape(3, 2) @ np.ones((2, 1)), x),
                                  np.kron(np.eye(3), np.ones((1, 2))) != 0)


def test_cumsum_and_diff_are_triangular_and_banded():
    x = RNG.standard_normal(5)
    np.testing.assert_array_equal(pattern(np.cumsum, x), np.tril(np.ones((5, 5))) != 0)
    np.testing.assert_array_equal(pattern(np.diff, x), band(5, [0, 1])[:4])


def test_element_updates_are_copies_stored_back():
    """out[0] += y[1]: NumPy's element is a copy, updated, then stored back (the ODE
    boundary idiom); a recurrence written element by element is lower triangular; the
    Hessian of a sum of their squares pairs what each element mixes."""
    def boundary(y):
        out = y * 2.0
        out[0] += y[1]
        return out

    def recurrence(y):
        y = y.copy()
        for i in range(1, len(y)):
            y[i] += 0.5 * y[i - 1]
        return y

    x = RNG.uniform(0.5, 1.5, 5)
    want = np.eye(5, dtype=bool)
    want[0, 1] = True
    np.testing.assert_array_equal(pattern(boundary, x), want)
    np.testing.assert_allclose(dj.sparse_jacobian(boundary, x).toarray(),
                               2 * np.eye(5) + np.eye(5, k=1) * (np.arange(5) == 0)[:, None])
    np.testing.assert_array_equal(pattern(recurrence, x), np.tril(np.ones((5, 5))) != 0)
    hess = dj.hessian_sparsity(lambda z: np.sum(boundary(z) ** 2), x).toarray()
    np.testing.assert_array_equal(hess, want | want.T)


def test_elementwise_maps_are_diagonal():
    x = RNG.uniform(0.5, 1.5, (2, 3))
    f = lambda z: np.exp(np.sin(z) * z ** 2 + 1.0 / z) - np.sqrt(z)
    np.testing.assert_array_equal(pattern(f, x), np.eye(6, dtype=bool))
    assert_superset(pattern(f, x), complex_step_jacobian(f, x).reshape(6, 6))


def test_structural_dependence_zero_factors_and_steps():
    x = RNG.standard_normal(4)
    np.testing.assert_array_equal(pattern(lambda z: z * 0.0, x), np.eye(4, dtype=bool))
    assert not pattern(lambda z: np.floor(z) + np.sign(z) + z // 2, x).any()
    np.testing.assert_array_equal(pattern(lambda z: np.where(z > 0, z, z[::-1]), x),
                                  np.eye(4, dtype=bool) | np.eye(4, dtype=bool)[::-1])


# ---------------------------------------------------------------- stencils, many spellings

def laplacian_1d_spellings():
    def concat_times_zero(x):
        inner = x[:-2] - 2 * x[1:-1] + x[2:]
        return np.concatenate([x[:1] * 0, inner, x[:1] * 0])

    def concat_zeros_like(x):
        inner = x[:-2] - 2 * x[1:-1] + x[2:]
        return np.concatenate([np.zeros(1, like=x), inner, np.zeros(1, like=x)])

    def concat_plain_zeros(x):
        return np.concatenate([np.zeros(1), x[:-2] - 2 * x[1:-1] + x[2:], np.zeros(1)])

    def padded(x):
        p = np.pad(x, 1)
        return p[:-2] - 2 * p[1:-1] + p[2:]

    def rolled(x):
        return np.roll(x, 1) - 2 * x + np.roll(x, -1)

    def slice_assigned(x):
        y = np.zeros_like(x)
        y[1:-1] = x[:-2] - 2 * x[1:-1] + x[2:]
        return y

    def view_filled(x):
        y = np.zeros(x.shape, x.dtype, like=x)
        middle = y[1:-1]
        middle[...] = x[:-2] + x[2:]
        middle -= 2 * x[1:-1]
        return y

    def through_alias(x):
        y = -2 * x
        alias = y
        alias[1:] += x[:-1]
        alias[:-1] += x[1:]
        return y

    n = 7
    tridiagonal = band(n, [-1, 0, 1])
    interior = tridiagonal.copy()
    interior[[0, -1]] = False
    first_zero = interior.copy()
    first_zero[0, 0] = first_zero[-1, 0] = True       # x[:1] * 0 still depends on x[0]
    periodic = tridiagonal | band(n, [n - 1, -(n - 1)])
    return n, [("concat_times_zero", concat_times_zero, first_zero),
               ("concat_zeros_like", concat_zeros_like, interior),
               ("concat_plain_zeros", concat_plain_zeros, interior),
               ("pad", padded, tridiagonal), ("roll", rolled, periodic),
               ("slice_assigned", slice_assigned, interior),
               ("view_filled", view_filled, interior), ("alias", through_alias, tridiagonal)]


@pytest.mark.parametrize("name", [s[0] for s in laplacian_1d_spellings()[1]])
def test_1d_stencil_spellings_have_the_band(name):
    n, spellings = laplacian_1d_spellings()
    _, f, expected = next(s for s in spellings if s[0] == name)
    x = RNG.standard_normal(n)
    P = pattern(f, x)
    np.testing.assert_array_equal(P, expected)
    assert_superset(P, complex_step_jacobian(f, x))


def five_point(shape, periodic=False):
    """The 5-point stencil on a grid (C order), built from 1-D bands by Kronecker sums."""
    rows, cols = shape
    a = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(rows, rows)).tolil()
    b = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(cols, cols)).tolil()
    if periodic:
        a[0, -1] = a[-1, 0] = b[0, -1] = b[-1, 0] = 1
    return (sp.kron(a, sp.eye(cols)) + sp.kron(sp.eye(rows), b)).toarray() != 0


def grid_spellings():
    def padded(u):
        p = np.pad(u, 1)
        return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u

    def rolled(u):
        return sum(np.roll(u, s, axis=a) for s in (1, -1) for a in (0, 1)) - 4 * u

    def slice_assigned(u):
        out = -4 * u
        out[1:] += u[:-1]
        out[:-1] += u[1:]
        out[:, 1:] += u[:, :-1]
        out[:, :-1] += u[:, 1:]
        return out

    def concatenated(u):
        zr, zc = np.zeros((1, u.shape[1])), np.zeros((u.shape[0], 1))
        return (np.concatenate([zr, u[:-1]]) + np.concatenate([u[1:], zr])
                + np.concatenate([zc, u[:, :-1]], axis=1)
                + np.concatenate([u[:, 1:], zc], axis=1) - 4 * u)

    def flat_reshaped(x):
        u = x.reshape(4, 5)
        out = np.zeros_like(u)
        view = out.reshape(-1)                 # a view: writes through it reach out
        view[...] = -4 * x
        out[1:] += u[:-1]
        out[:-1] += u[1:]
        out[:, 1:] += u[:, :-1]
        out[:, :-1] += u[:, 1:]
        return out.ravel()

    return [("pad", padded, False), ("roll", rolled, True), ("slice_assigned", slice_assigned,
            False), ("concatenate", concatenated, False), ("flat_reshaped", flat_reshaped, False)]


@pytest.mark.parametrize("name", [s[0] for s in grid_spellings()])
def test_2d_five_point_stencil_spellings(name):
    _, f, periodic = next(s for s in grid_spellings() if s[0] == name)
    x = RNG.standard_normal((4, 5))
    if name == "flat_reshaped":
        x = x.ravel()
    P = pattern(f, x)
    np.testing.assert_array_equal(P, five_point((4, 5), periodic))
    assert_superset(P, complex_step_jacobian(f, x).reshape(20, 20))


# ---------------------------------------------------------------- Hessian patterns

def test_hessian_of_products_has_only_the_cross_pairs():
    x = RNG.standard_normal(6)
    P = hpattern(lambda z: np.sum(z[:3] * z[3:]), x)
    expected = np.eye(6, dtype=bool) | np.eye(6, k=3, dtype=bool) | np.eye(6, k=-3, dtype=bool)
    np.testing.assert_array_equal(P, expected)


def test_hessian_of_exp_of_pair_sums_has_all_pairs():
    x = RNG.standard_normal(5) * 0.3
    f = lambda z: np.sum(np.exp(z[:, None] + z[None, :]))
    P = hpattern(f, x)
    assert P.all()
    H = np.asarray(dj.hessian(f, x))
    np.testing.assert_array_equal(H != 0, P)


@pytest.mark.parametrize("f", [lambda z: np.sum(3 * z - z[::-1]), lambda z: z @ W[0, :5],
                               lambda z: np.mean(np.cumsum(z)) + np.sum(np.floor(z) * z)],
                         ids=["sum", "matvec", "cumsum"])
def test_hessian_of_linear_functions_is_the_diagonal(f):
    x = RNG.standard_normal(5)
    np.testing.assert_array_equal(hpattern(f, x), np.eye(5, dtype=bool))
    assert not np.any(np.asarray(dj.hessian(f, x)))


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_rosenbrock_hessian_is_tridiagonal():
    x = RNG.standard_normal(8)
    P = hpattern(rosenbrock, x)
    np.testing.assert_array_equal(P, band(8, [-1, 0, 1]))
    np.testing.assert_array_equal(np.asarray(dj.hessian(rosenbrock, x)) != 0, P)


def grid_energy(x):
    u = x.reshape(4, 5)
    return (np.sum((u[1:] - u[:-1]) ** 2) + np.sum((u[:, 1:] - u[:, :-1]) ** 2)
            + np.sum(u ** 4))


def test_2d_energy_hessian_is_the_five_point_pattern():
    x = RNG.standard_normal(20)
    P = hpattern(grid_energy, x)
    np.testing.assert_array_equal(P, five_point((4, 5)))
    assert_superset(P, np.asarray(dj.hessian(grid_energy, x)))


HESSIAN_FUNCTIONS = {
    "rosenbrock": rosenbrock, "grid_energy": grid_energy,
    "norm": lambda z: np.linalg.norm(z[:3]) + np.sum(z[3:] ** 3),
    "max": lambda z: np.max(z[:4] * z[4:8]),
    "sort": lambda z: np.sum(np.sort(z)[:3] ** 2),
    "matmul": lambda z: np.ones(2) @ (z[:10].reshape(2, 5) @ z[10:15]),
    "where": lambda z: np.sum(np.where(z > 0, z ** 2, z[::-1] * z)),
    "prod": lambda z: np.prod(z[:4]) + np.sum(np.tanh(z[4:] * z[:-4])),
    "einsum": lambda z: np.einsum("i,i->", z[:5] ** 2, z[5:10]),
    "pad_roll": lambda z: np.sum(np.pad(z, 1, mode="wrap")[2:] * np.roll(z, 3) ** 2),
}


@pytest.mark.parametrize("name", HESSIAN_FUNCTIONS)
def test_hessian_pattern_contains_every_nonzero(name):
    f = HESSIAN_FUNCTIONS[name]
    for point in range(2):
        x = RNG.uniform(-1.5, 1.5, 20)
        P = hpattern(f, x)
        assert_superset(P, np.asarray(dj.hessian(f, x)), name)
        np.testing.assert_array_equal(P, P.T)
        assert P.diagonal().all()


# ---------------------------------------------------------------- value-dependent traces

@pytest.mark.parametrize("f, why", [
    (lambda z: z[::-1] if z[0] > 0 else z * 2, "greater"),
    (lambda z: z * 2 if bool(np.sum(z) > 0) else z, "greater"),
    (lambda z: z[np.argmax(z)] * z, "argmax"),
    (lambda z: z if np.any(z > 5) else -z, "greater"),
    (lambda z: z[np.nonzero(z)] * 2, "nonzero")])
def test_looking_at_values_is_recorded(f, why):
    x = RNG.standard_normal(4)
    S = dj.SparseJacobian(f, x)
    assert S.value_dependent and any(why in reason for reason in S.value_dependent)


def test_no_look_at_values_no_flag():
    S = dj.SparseJacobian(lambda z: np.where(z[:2] > 0, z[:2], z[2:]), np.ones(4))
    assert S.value_dependent      # np.greater looked at the values: the flag is honest
    assert not dj.SparseJacobian(lambda z: np.roll(z, 1) * z, np.ones(4)).value_dependent


def test_prepared_jacobian_follows_a_branch_that_flips():
    f = lambda z: z[::-1] if z[0] > 0 else z * 2
    x = RNG.uniform(0.5, 1.5, 5)
    S = dj.SparseJacobian(f, x)
    for sign in (1, -1, 1):
        x[0] = sign * abs(x[0])
        J = S(x).toarray()
        np.testing.assert_array_equal(J, complex_step_jacobian(f, x))
        np.testing.assert_array_equal(S.sparsity.toarray(), J != 0)


# ---------------------------------------------------------------- large and dense patterns

def counting(f):
    def counted(z):
        counted.runs += 1
        return f(z)
    counted.runs = 0
    return counted


def test_a_large_stencil_traces_in_one_run_with_the_exact_band():
    n = 50_000
    f = counting(lambda z: (lambda u: u[:-2] - 2 * u[1:-1] + u[2:])(np.pad(z, 1)) * z ** 2)
    P = dj.jacobian_sparsity(f, np.linspace(0.1, 1.0, n))
    assert f.runs == 1
    expected = sp.diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1], format="csr")
    assert P.nnz == expected.nnz == 3 * n - 2
    assert (P != (expected != 0)).nnz == 0


def test_fancy_indexing_residuals_depend_on_their_index_sets():
    """Bundle-adjustment-like residuals: each row depends on the parameters it indexes
    (repeats included once), with products and sums along the fan-in."""
    idx = RNG.integers(0, 300, (700, 5))
    idx[:, 1] = idx[:, 0]                      # a repeated parameter within a residual
    w = RNG.standard_normal((700, 5))
    f = lambda z: np.sum(np.sin(z[idx]) * w, axis=1) * z[idx[:, 2]]
    x = RNG.uniform(0.2, 1.0, 300)
    P = pattern(f, x)
    expected = np.zeros((700, 300), bool)
    expected[np.arange(700)[:, None], idx] = True
    np.testing.assert_array_equal(P, expected)
    np.testing.assert_array_equal(numeric_jacobian(f, x) != 0, expected)


def test_a_cumulative_sum_of_a_gathered_array_is_a_staircase():
    """Running unions of rows with several sources: element k depends on the first k + 1
    rows' sources."""
    perm = RNG.permutation(12)
    f = lambda z: np.cumsum(z[perm].reshape(6, 2).sum(axis=1) * z[:6] ** 2)
    x = RNG.uniform(0.5, 1.5, 12)
    J = complex_step_jacobian(f, x).reshape(6, 12)
    np.testing.assert_array_equal(pattern(f, x), J != 0)


def test_dense_patterns_raise_a_clear_error():
    x = np.linspace(0.1, 1.0, 5_000)
    assert issubclass(dj.PatternTooDense, ValueError)
    with pytest.raises(dj.PatternTooDense, match=r"\(nearly\) dense.*dj.jacobian / dj.hessian"):
        dj.jacobian_sparsity(lambda z: z * np.sum(z), x)
    with pytest.raises(dj.PatternTooDense, match=r"\(nearly\) dense.*Hessian entries"):
        dj.hessian_sparsity(lambda z: np.exp(np.sum(z)), x)


def test_dense_transforms_fall_back_past_a_dense_pattern(monkeypatch):
    """The dense transforms try a traced pattern first; a (nearly) dense one sends them the
    ordinary way, with the same answer."""
    from dualjac import _rowstore
    monkeypatch.setattr(_rowstore, "MAX_ENTRIES", 1_000)
    n = 300                                      # past the banded jets' densify limit
    f = lambda z: z * np.sum(z) + z[::-1]        # J = sum(z) I + 1 z' + the anti-diagonal
    x = np.linspace(0.1, 1.0, n)
    with pytest.raises(dj.PatternTooDense):
        dj.jacobian_sparsity(f, x)
    expected = x.sum() * np.eye(n) + x[:, None] + np.eye(n)[::-1]
    np.testing.assert_allclose(dj.jacobian(f, x), expected, rtol=1e-13)
