"""scipy.special ufuncs whose partials SciPy evaluates (rules.EVALUATED) against outside witnesses.

Every row of ``rules.EVALUATED`` is iterated (ids = row names), with everything read from
the row: its arguments, which of them are differentiable, their domains, its witnesses.
For each differentiable argument, on a dense grid over its domain (the other arguments
varying over theirs), float32 and float64, at every jet kind:

* values: the ufunc itself, in the dtype SciPy gives;
* f': complex step (the ufunc, or the row's holomorphic ``complex_witness``) where it
  applies (``analytic``); SciPy's own derivative functions where the row names them
  (``reference_derivative``: jvp, ivp, ...); central differences of the ufunc otherwise;
* f'': the row's ``reference_second_derivative``, or central differences of the f' witness;
* rows of several differentiable arguments: the full Hessian, and the cross derivative
  with the arguments at two different levels (nested transforms).

Then the conventions (rgamma at its zeros, xlog1py on x = 0, the scaled Bessel
functions at x < 0), the constant arguments (a dual one raises), and the spellings
without a rule of their own (softplus, zeta's polygamma identity).
"""

import importlib

import numpy as np
import pytest

import dualjac as dj
from dualjac import rules
from dualjac.dispatch import registry
from witness import evaluate_witness, witness_hessian

special = pytest.importorskip("scipy.special")

pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

DTYPES = (np.float32, np.float64)
ROWS = rules.EVALUATED
CASES = [pytest.param(row, arg, id=f"{row.name}-d{arg}")
         for row in ROWS for arg in row.differentiable]
SEVERAL = [row for row in ROWS if len(row.differentiable) > 1]

# Relative tolerances (of |want| + |f| + |lower derivative|: next to a zero of f' the
# cancellation in a difference of Bessel functions is absolute, on the scale of f),
# for f' and f'', by witness kind; float32 partials are SciPy's float32 loops.
TOLERANCE = {"exact": (1e-12, 1e-11), "cs": (1e-12, 1e-6), "fd": (1e-7, 1e-4)}
FLOAT32 = (2e-5, 2e-4)
KINK_GAP = 0.05


def ufunc(row):
    return getattr(importlib.import_module(row.module), row.name)


def grid(row, arg, n):
    """{argument: values}: n points of the argument's domain (away from kinks), the
    others spread over theirs in another order; integer arguments rounded."""
    points = {}
    for k, (name, (lo, hi)) in enumerate(zip(row.args, row.domains)):
        t = np.linspace(0, 1, n + 2)[1:-1]
        if name != arg:
            t = (t * (2 * k + 3)) % 1 * 0.9 + 0.05
        v = lo + (hi - lo) * t
        if name == arg:
            for kink in row.kinks:
                v = v[np.abs(v - kink) > KINK_GAP]
        points[name] = np.round(v).astype(np.int64) if name in row.integers else v
    size = min(v.size for v in points.values())
    return {name: v[:size] for name, v in points.items()}


def call(row, points, arg, z, function=None):
    """The row's ufunc (or a witness expression) with `arg` replaced by z."""
    args = dict(points, **{arg: z})
    if function is not None:
        return evaluate_witness(function, **args)
    return ufunc(row)(*[args[name] for name in row.args])


def witnesses(row, arg, points):
    """(f', f'', kind) in float64 at the points (see the module docstring)."""
    x = points[arg]
    k = row.differentiable.index(arg)
    reference = row.reference_derivative[k] if row.reference_derivative else ""
    second = row.reference_second_derivative[k] if row.reference_second_derivative else ""
    if row.analytic:
        def first(z):
            return np.imag(call(row, points, arg, z + 1e-20j, row.complex_witness or None)) / 1e-20
        kind = "cs"
    elif reference:
        def first(z):
            return call(row, points, arg, z, reference)
        kind = "exact"
    else:
        def first(z):
            h = 1e-6 * np.maximum(1, np.abs(z))
            return (call(row, points, arg, z + h) - call(row, points, arg, z - h)) / (2 * h)
        kind = "fd"
    d1 = first(x)
    if second:
        d2 = evaluate_witness(second, **dict(points, **{arg: x}), df=d1)
        return d1, d2, ("exact", "exact") if kind == "exact" else (kind, "exact")
    if kind == "cs":
        h = 1e-5 * np.maximum(1, np.abs(x))
        return d1, (first(x + h) - first(x - h)) / (2 * h), ("cs", "cs")
    # the second difference of f, with a step relative to x (singular ends at 0)
    h = 3e-4 * np.maximum(np.abs(x), 1e-2)
    d2 = (call(row, points, arg, x + h) - 2 * call(row, points, arg, x)
          + call(row, points, arg, x - h)) / (h * h)
    return d1, d2, ("fd", "fd")


def assert_close(got, want, scale, rtol, what):
    """|got - want| <= rtol (|want| + scale + 1e-2 median |want|): the median term is
    the absolute accuracy a partial computed as a difference (1 - x / y) can have."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    floor = 1e-2 * np.median(np.abs(want))
    err = np.abs(got - want) / (np.abs(want) + scale + floor + 1e-300)
    worst = int(np.argmax(err))
    assert err[worst] <= rtol, f"{what}: error {err[worst]:.2e} at entry {worst} " \
                               f"(got {got[worst]!r}, want {want[worst]!r})"


def points_of(row, arg, dtype, n):
    """The grid rounded to dtype (the witnesses see the rounded points)."""
    return {name: v.astype(dtype).astype(np.float64) if name not in row.integers else v
            for name, v in grid(row, arg, n).items()}


def as_dtype(points, row, dtype):
    return {name: v if name in row.integers else v.astype(dtype) for name, v in points.items()}


# ------------------------------------------------------------------ the table

ONCE = pytest.mark.jet_kinds("default")     # tests that run no transform


@ONCE
def test_rows_are_well_formed():
    """Arguments, partials, domains and witnesses fit together; names are unique."""
    names = [(row.module, row.name) for row in rules.UNARY + rules.BINARY + ROWS]
    assert len(names) == len(set(names))
    for row in ROWS:
        assert len(row.domains) == len(row.args) and all(lo < hi for lo, hi in row.domains)
        assert row.differentiable and set(row.differentiable) <= set(row.args), row.name
        assert set(row.integers) <= set(row.constants), row.name
        for i, j, _ in row.second:
            assert row.args.index(i) <= row.args.index(j) and {i, j} <= set(row.differentiable)
        for fields in (row.reference_derivative, row.reference_second_derivative):
            assert len(fields) in (0, len(row.differentiable)), row.name
        assert not (row.complex_witness and not row.analytic), row.name
        assert not (row.kinks and row.analytic), row.name


@ONCE
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_row_is_registered(row):
    """Registered once scipy.special is imported (lazily: dualjac does not import it)."""
    registry.register_pending_modules()
    u = ufunc(row)
    assert registry.EVALUATED_UFUNCS[u] is row and u in registry.EXTRA_UFUNCS
    assert u.nin == len(row.args)
    for alias in row.aliases:
        assert getattr(importlib.import_module(row.module), alias) is u


@ONCE
@pytest.mark.parametrize("row", [r for r in ROWS if r.complex_witness], ids=lambda r: r.name)
def test_complex_witness_is_the_ufunc(row):
    for arg in row.differentiable:
        points = grid(row, arg, 31)
        got = evaluate_witness(row.complex_witness, **{k: v.astype(np.complex128)
                                                       for k, v in points.items()})
        np.testing.assert_allclose(np.real(got), call(row, points, arg, points[arg]),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(np.imag(got), 0)


# ------------------------------------------------------------------ derivatives

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("row,arg", CASES)
def test_dense_grid(row, arg, dtype):
    """Value, f' (dj.jvp) and f'' (dj.batch_hessian) on 201 points against the witnesses."""
    points = points_of(row, arg, dtype, 201)
    typed = as_dtype(points, row, dtype)
    x = typed[arg]

    def g(z):
        return call(row, typed, arg, z)

    value, d1 = dj.jvp(g, x, np.ones_like(x))
    d2 = dj.batch_hessian(lambda z: g(z[:, 0]), x[:, None])[:, 0, 0]
    want_value = g(x)
    assert value.dtype == d1.dtype == want_value.dtype
    assert d2.dtype in (want_value.dtype, x.dtype)      # batch_hessian: the source's dtype
    np.testing.assert_array_equal(value, want_value)
    w1, w2, (kind1, kind2) = witnesses(row, arg, points)
    f = np.abs(call(row, points, arg, points[arg]))
    r1, r2 = (TOLERANCE[kind1][0], TOLERANCE[kind2][1]) if x.dtype == np.float64 else FLOAT32
    assert_close(d1, w1, f, r1, f"d{row.name}/d{arg} ({kind1})")
    assert_close(d2, w2, f + np.abs(w1), r2, f"d2{row.name}/d{arg}2 ({kind2})")


@pytest.mark.parametrize("row,arg", CASES)
def test_jacobian_nested_jacobian_and_hessian(row, arg):
    """dj.jacobian (diagonal), the Jacobian of the Jacobian and dj.hessian of a weighted sum."""
    points = points_of(row, arg, np.float64, 5)
    x = points[arg]
    w = np.array([0.5, -1.0, 2.0, 1.5, -0.25])[:x.size]
    w1, w2, (kind1, kind2) = witnesses(row, arg, points)
    f = np.abs(call(row, points, arg, x))
    r1, r2 = TOLERANCE[kind1][0], TOLERANCE[kind2][1]

    def g(z):
        return call(row, points, arg, z)

    i = np.arange(x.size)
    jac = dj.jacobian(g, x)
    assert np.count_nonzero(jac - np.diag(np.diagonal(jac))) == 0
    assert_close(np.diagonal(jac), w1, f, r1, "jacobian")
    nested = dj.jacobian(lambda z: dj.jacobian(g, z), x)
    assert np.count_nonzero(nested) <= x.size
    assert_close(nested[i, i, i], w2, f + np.abs(w1), r2, "nested jacobian")
    hess = dj.hessian(lambda z: np.sum(w * g(z)), x)
    assert np.count_nonzero(hess - np.diag(np.diagonal(hess))) == 0
    assert_close(np.diagonal(hess), w * w2, np.abs(w) * (f + np.abs(w1)), r2, "hessian")


def joint_points(row):
    """One point per argument, inside its domain."""
    return {name: (lo + 0.37 * (hi - lo)) for name, (lo, hi) in zip(row.args, row.domains)}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("row", SEVERAL, ids=lambda r: r.name)
def test_hessian_in_several_arguments(row, dtype):
    """Gradient and Hessian in all differentiable arguments at once, against complex
    step (or central differences) and central differences of it."""
    point = joint_points(row)
    names = row.differentiable

    def g(v):
        args = dict(point, **dict(zip(names, v)))
        if not np.iscomplexobj(v) or not row.complex_witness:
            return ufunc(row)(*[args[name] for name in row.args])
        return evaluate_witness(row.complex_witness, **args)

    v = np.array([point[name] for name in names], dtype)
    grad = dj.gradient(g, v)
    hess = dj.hessian(g, v)
    assert grad.dtype == hess.dtype == dtype
    method = "cs" if row.analytic else "fd"
    v64 = v.astype(np.float64)
    want_hess = witness_hessian(g, v64, method)
    rtol = 1e-6 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(hess, want_hess, rtol=rtol, atol=rtol * np.abs(want_hess).max())
    np.testing.assert_allclose(hess, hess.T, rtol=0, atol=0)


@pytest.mark.parametrize("row", SEVERAL, ids=lambda r: r.name)
def test_cross_derivative_across_levels(row):
    """d/da d/db f with a and b at two levels (a nested transform): the cross term of
    two first-order parts, which the single-level chain rule never needs."""
    point = joint_points(row)
    a, b = row.differentiable[:2]

    def g(u, w):
        args = dict(point, **{a: u, b: w})
        return ufunc(row)(*[args[name] for name in row.args])

    u0, w0 = np.array([point[a]]), np.array([point[b]])
    got = dj.jacobian(lambda u: dj.jacobian(lambda w: g(u, w), w0), u0)[0, 0, 0]
    want = dj.hessian(lambda v: g(v[0], v[1])[()], np.array([point[a], point[b]]))[0, 1]
    h = 1e-4

    def d_db(u):
        return (g(u, w0 + 1e-6) - g(u, w0 - 1e-6))[0] / 2e-6
    central = (d_db(u0 + h) - d_db(u0 - h)) / (2 * h)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    np.testing.assert_allclose(got, central, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ conventions

def test_rgamma_at_its_zeros():
    """1/Gamma at x = 0, -1, -2, -3: f' = (-1)^n n!, f'' = -2 (-1)^n n! psi(n + 1)
    (the reflection formula), where -f psi(x) would be 0 * inf; complex step agrees."""
    n = np.arange(4.0)
    x = -n
    sign = (-1.0) ** n
    factorial = special.gamma(n + 1)
    value, d1 = dj.jvp(special.rgamma, x, np.ones_like(x))
    d2 = dj.batch_hessian(lambda z: special.rgamma(z[:, 0]), x[:, None])[:, 0, 0]
    np.testing.assert_array_equal(value, 0)
    np.testing.assert_allclose(d1, sign * factorial, rtol=1e-14)
    row = rules.by_name()["rgamma"]
    complex_step = np.imag(evaluate_witness(row.complex_witness, x=x + 1e-20j)) / 1e-20
    np.testing.assert_allclose(complex_step, d1, rtol=1e-13)
    np.testing.assert_allclose(d2, -2 * sign * factorial * special.psi(n + 1), rtol=1e-13)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_xlog1py_on_x_zero(dtype):
    """xlog1py(0, y) = 0 for every y (SciPy): d/dy = 0 there, d/dx = log1p(y); at
    (0, -1), where the value jumps to -inf along y = -1, every partial is 0."""
    f = lambda v: special.xlog1py(v[0], v[1])   # noqa: E731
    for y, dx in [(0.5, np.log1p(0.5)), (-1.0, 0.0)]:
        grad = dj.gradient(f, np.array([0.0, y], dtype))
        np.testing.assert_allclose(grad, [dx, 0.0], rtol=1e-6)
        hess = dj.hessian(f, np.array([0.0, y], dtype))
        cross = 0.0 if y == -1 else 1 / (1 + y)
        np.testing.assert_allclose(hess, [[0.0, cross], [cross, 0.0]], rtol=1e-7, atol=0)


def test_scaled_bessel_for_negative_x():
    """i0e and i1e carry e^(-|x|): for x < 0 the derivative has the opposite sign of the
    scaling's; at x = 0, where i0e has a kink, the smooth part's derivative (0) is used."""
    x = np.array([-3.0, -0.5, 0.5, 3.0])
    for name, parity in [("i0e", 1), ("i1e", -1)]:
        f = getattr(special, name)
        d1 = np.diagonal(dj.jacobian(f, x))
        np.testing.assert_allclose(d1[:2], -parity * d1[:1:-1], rtol=1e-14)   # f(-x) = parity f(x)
    assert dj.jacobian(special.i0e, np.zeros(1))[0, 0] == 0
    np.testing.assert_allclose(dj.jacobian(special.i1e, np.zeros(1))[0, 0], 0.5, rtol=1e-15)


# ------------------------------------------------------------------ arguments

def test_dual_constant_argument_raises():
    """The order of a Bessel function is a constant: a dual one with derivatives raises,
    naming the function, the argument and the fix; one without derivatives is a constant."""
    x = np.array([0.7, 1.9])
    with pytest.raises(TypeError, match=r"scipy.special.jv .* 'v' .* v.value"):
        dj.jacobian(lambda z: special.jv(z, z), x)
    with pytest.raises(TypeError, match=r"scipy.special.betainc .* 'a'"):
        dj.jacobian(lambda z: special.betainc(z, 2.0, 0.5), x)
    got = dj.jacobian(lambda z: special.jv(z * 0 + 1.5, z), x)
    np.testing.assert_allclose(np.diagonal(got), special.jvp(1.5, x), rtol=1e-14)


def test_broadcasting_constants_and_out():
    """A jet broadcast against a constant array, and out= a dual array."""
    x = np.array([0.7, 1.9, 3.1])
    v = np.array([[0.5], [1.5]])
    jac = dj.jacobian(lambda z: special.jv(v, z), x)
    assert jac.shape == (2, 3, 3)
    np.testing.assert_allclose(jac[:, np.arange(3), np.arange(3)], special.jvp(v, x), rtol=1e-14)
    out = dj.jacobian(lambda z: special.kv(1.5, z, out=np.zeros_like(z)), x)
    np.testing.assert_allclose(np.diagonal(out), special.kvp(1.5, x), rtol=1e-14)


def test_result_dtype_is_scipys():
    """yn has an integer-order loop only in float64: a float32 x gives float64, as SciPy."""
    x = np.array([0.7, 1.9], np.float32)
    value, d1 = dj.jvp(lambda z: special.yn(1, z), x, np.ones_like(x))
    assert value.dtype == special.yn(1, x).dtype == d1.dtype


def test_riemann_zeta_has_no_rule():
    """zeta(x) (Riemann's): SciPy has no derivative of it, so dualjac refuses."""
    with pytest.raises(TypeError, match="no derivative rule"):
        dj.jacobian(special.zeta, np.array([2.5]))


# ------------------------------------------------------------------ spellings

def test_softplus():
    """softplus is np.logaddexp(0, x) in SciPy: f' = expit(x), f'' = expit(x) expit(-x)."""
    x = np.linspace(-6, 6, 13)
    value, d1 = dj.jvp(special.softplus, x, np.ones_like(x))
    d2 = dj.batch_hessian(lambda z: special.softplus(z[:, 0]), x[:, None])[:, 0, 0]
    np.testing.assert_allclose(d1, special.expit(x), rtol=1e-14)
    np.testing.assert_allclose(d2, special.expit(x) * special.expit(-x), rtol=1e-13)


def test_polygamma_and_multigammaln_through_their_formulas():
    """scipy.special.polygamma and multigammaln convert x with np.asarray (no derivative
    reaches them); their formulas in supported ufuncs differentiate:
    polygamma(n, x) = (-1)^(n+1) n! zeta(n + 1, x), whose derivative is polygamma(n + 1, x),
    and multigammaln(a, d) = d (d - 1) / 4 log(pi) + sum_j gammaln(a - j / 2)."""
    x = np.array([0.6, 1.7, 4.2])
    n = 2

    def polygamma(z):
        return (-1.0) ** (n + 1) * special.gamma(n + 1.0) * special.zeta(n + 1.0, z)

    value, d1 = dj.jvp(polygamma, x, np.ones_like(x))
    np.testing.assert_allclose(value, special.polygamma(n, x), rtol=1e-13)
    np.testing.assert_allclose(d1, special.polygamma(n + 1, x), rtol=1e-12)
    a, d = np.array([2.3, 5.0]), 3

    def multigammaln(z):
        return d * (d - 1) / 4 * np.log(np.pi) + sum(special.gammaln(z - j / 2) for j in range(d))

    value, d1 = dj.jvp(multigammaln, a, np.ones_like(a))
    np.testing.assert_allclose(value, special.multigammaln(a, d), rtol=1e-14)
    np.testing.assert_allclose(d1, sum(special.digamma(a - j / 2) for j in range(d)), rtol=1e-14)
