"""User-written derivative rules: dj.custom_jvp, dj.register_jvp, dj.custom_root.

Witnesses: analytic derivatives of the wrapped functions, finite differences of SciPy's
solvers, and JAX's custom_jvp semantics written out as expectations (the rule, not f, is
differentiated; the rule's primal output is the value; constants get zero tangents;
second order differentiates the rule; nondiff_argnums come first).
"""

import numpy as np
import pytest
import scipy.optimize
import scipy.special as special
from scipy.special._ufuncs import _kolmogp

import dualjac as dj
from dualjac.dispatch import registry

pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

RNG = np.random.default_rng(19)


def opaque(x):
    """A black box: converts its input, as compiled code would."""
    return np.asarray(x, dtype=np.float64)


@dj.custom_jvp
def sin_times(x, y):
    return np.sin(opaque(x)) * opaque(y)


@sin_times.defjvp
def _sin_times_jvp(primals, tangents):
    x, y = primals
    dx, dy = tangents
    return sin_times(x, y), np.cos(x) * y * dx + np.sin(x) * dy


def sin_times_reference(x, y):
    return np.sin(x) * y


def split(z):
    return z[..., :3], z[..., 3:]


# ---------------------------------------------------------------- first and second order

def test_jacobian_is_the_rules():
    z = RNG.uniform(-1, 1, 6)
    J = dj.jacobian(lambda z: sin_times(*split(z)), z)
    x, y = split(z)
    expected = np.hstack([np.diag(np.cos(x) * y), np.diag(np.sin(x))])
    np.testing.assert_allclose(J, expected, rtol=1e-15, atol=1e-15)


def test_hessian_differentiates_the_rule():
    z = RNG.uniform(-1, 1, 6)
    H = dj.hessian(lambda z: np.sum(sin_times(*split(z)) ** 2), z)
    x, y = split(z)
    # d2/dz2 of sum(sin(x)^2 y^2): analytic blocks
    Hxx = np.diag(2 * np.cos(2 * x) * y ** 2)
    Hxy = np.diag(2 * np.sin(2 * x) * y)
    Hyy = np.diag(2 * np.sin(x) ** 2)
    np.testing.assert_allclose(H, np.block([[Hxx, Hxy], [Hxy, Hyy]]), rtol=1e-14, atol=1e-14)


def test_nested_jacobians_and_hvp_and_value_gradient_hessian():
    z = RNG.uniform(-1, 1, 6)
    f = lambda z: np.sum(sin_times(*split(z)) ** 3)
    reference = lambda z: np.sum(sin_times_reference(*split(z)) ** 3)
    H = dj.hessian(reference, z)
    np.testing.assert_allclose(dj.jacobian(lambda z: dj.gradient(f, z), z), H, rtol=1e-13)
    v = RNG.normal(size=6)
    np.testing.assert_allclose(dj.hvp(f, z, v), H @ v, rtol=1e-13, atol=1e-15)
    value, g, H2 = dj.value_gradient_hessian(f, z)
    np.testing.assert_allclose(H2, H, rtol=1e-13)
    np.testing.assert_allclose(g, dj.gradient(reference, z), rtol=1e-14)


def test_jvp_with_a_direction():
    z = RNG.uniform(-1, 1, 6)
    v = RNG.normal(size=6)
    y, t = dj.jvp(lambda z: sin_times(*split(z)), z, v)
    J = dj.jacobian(lambda z: sin_times_reference(*split(z)), z)
    np.testing.assert_allclose(t, J @ v, rtol=1e-14, atol=1e-15)


def test_batch_transforms_run_the_rule_per_row():
    z = RNG.uniform(-1, 1, (1500, 6))
    f = lambda z: sin_times(*split(z))
    reference = lambda z: sin_times_reference(*split(z))
    np.testing.assert_allclose(dj.batch_jacobian(f, z), dj.batch_jacobian(reference, z),
                               rtol=1e-15, atol=1e-15)
    g = lambda z: np.sum(f(z) ** 2, axis=-1)
    h = lambda z: np.sum(reference(z) ** 2, axis=-1)
    np.testing.assert_allclose(dj.batch_hessian(g, z), dj.batch_hessian(h, z),
                               rtol=1e-13, atol=1e-14)


def test_banded_sized_sources():
    z = RNG.uniform(-1, 1, 200)
    f = lambda z: sin_times(z[1:], z[:-1])
    J = dj.jacobian(f, z)
    expected = np.zeros((199, 200))
    expected[np.arange(199), np.arange(1, 200)] = np.cos(z[1:]) * z[:-1]
    expected[np.arange(199), np.arange(199)] = np.sin(z[1:])
    np.testing.assert_allclose(J, expected, rtol=1e-15, atol=1e-15)
    H = dj.hessian(lambda z: np.sum(f(z)), z[:40])
    expected = np.zeros((40, 40))
    i = np.arange(1, 40)
    expected[i, i] = -np.sin(z[1:40]) * z[:39]
    expected[i, i - 1] = expected[i - 1, i] = np.cos(z[1:40])
    np.testing.assert_allclose(H, expected, rtol=1e-14, atol=1e-15)


def test_gradient_tape():
    x = np.array([0.3, -0.8, 1.2])
    y = np.array([2.0, 0.5, -1.0])
    with dj.GradientTape(persistent=True) as tape:
        x = tape.watch(x)
        y = tape.watch(y)
        out = np.sum(sin_times(x, y))
    gx, gy = tape.gradient(out, [x, y])
    np.testing.assert_allclose(gx, np.cos(x.value) * y.value, rtol=1e-15)
    np.testing.assert_allclose(gy, np.sin(x.value), rtol=1e-15)


# ---------------------------------------------------------------- JAX's semantics

def test_the_rule_wins_over_f():
    """The rule is what is differentiated, even when it disagrees with f (JAX's
    gradient-clipping idiom): here f is the identity and the rule says 2."""
    @dj.custom_jvp
    def f(x):
        return x

    @f.defjvp
    def _(primals, tangents):
        return f(primals[0]), 2.0 * tangents[0]
    x = np.array([1.0, -3.0])
    np.testing.assert_array_equal(dj.jacobian(f, x), 2.0 * np.eye(2))


def test_without_dual_arguments_f_runs_and_the_rule_does_not():
    calls = []

    @dj.custom_jvp
    def f(x):
        return np.exp(x)

    @f.defjvp
    def _(primals, tangents):
        calls.append(1)
        return f(primals[0]), f(primals[0]) * tangents[0]
    np.testing.assert_array_equal(f(np.array([0.0, 1.0])), np.exp([0.0, 1.0]))
    assert calls == []
    dj.jacobian(f, np.array([0.0, 1.0]))
    assert calls == [1]       # one call for every seed direction at once


def test_constant_arguments_get_zero_tangents_and_keywords_bind():
    seen = []

    @dj.custom_jvp
    def scaled(x, scale=2.0):
        return scale * x

    @scaled.defjvp
    def _(primals, tangents):
        seen.append(tangents[1])
        return scaled(*primals), primals[1] * tangents[0] + tangents[1] * primals[0]
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(dj.jacobian(lambda x: scaled(x, scale=3.0), x), 3.0 * np.eye(2))
    assert np.all(seen[-1] == 0.0) and np.shape(seen[-1]) == ()
    # a default the call leaves out reaches the rule too (as in JAX)
    np.testing.assert_array_equal(dj.jacobian(scaled, x), 2.0 * np.eye(2))


def test_nondiff_argnums_come_first():
    @dj.custom_jvp
    def apply(g, x):
        return g(opaque(x))

    apply.nondiff_argnums = (0,)

    @apply.defjvp
    def _(g, primals, tangents):
        (x,), (dx,) = primals, tangents
        h = 1e-6                                  # a derivative the rule chooses
        return apply(g, x), (g(x + h) - g(x - h)) / (2 * h) * dx
    x = np.array([0.5, 1.5])
    J = dj.jacobian(lambda x: apply(np.tanh, x), x)
    np.testing.assert_allclose(J, np.diag(1 / np.cosh(x) ** 2), rtol=1e-9)


def test_defjvps_one_rule_per_argument():
    @dj.custom_jvp
    def f(x, y):
        return opaque(x) * np.exp(opaque(y))

    f.defjvps(lambda dx, ans, x, y: np.exp(y) * dx,
              lambda dy, ans, x, y: ans * dy)
    z = np.array([0.4, -0.2])
    J = dj.jacobian(lambda z: f(z[0], z[1]), z)
    np.testing.assert_allclose(J, [np.exp(z[1]), z[0] * np.exp(z[1])], rtol=1e-15)
    H = dj.hessian(lambda z: f(z[0], z[1]), z)
    np.testing.assert_allclose(H, [[0, np.exp(z[1])], [np.exp(z[1]), z[0] * np.exp(z[1])]],
                               rtol=1e-15)


def test_structured_arguments_and_outputs():
    @dj.custom_jvp
    def polar(p):
        r, t = opaque(p["r"]), opaque(p["theta"])
        return (r * np.cos(t), r * np.sin(t))

    @polar.defjvp
    def _(primals, tangents):
        (p,), (dp,) = primals, tangents
        r, t = p["r"], p["theta"]
        out = polar(p)
        return out, (np.cos(t) * dp["r"] - r * np.sin(t) * dp["theta"],
                     np.sin(t) * dp["r"] + r * np.cos(t) * dp["theta"])
    z = np.array([2.0, 0.3])
    J = dj.jacobian(lambda z: np.stack(polar({"r": z[0], "theta": z[1]})), z)
    np.testing.assert_allclose(J, [[np.cos(0.3), -2 * np.sin(0.3)],
                                   [np.sin(0.3), 2 * np.cos(0.3)]], rtol=1e-15)


@pytest.mark.parametrize("rule,error,words", [
    (lambda p, t: (p[0], None), TypeError, "None as a tangent"),
    (lambda p, t: (p[0], t[0][:1]), ValueError, "shape"),
    (lambda p, t: ((p[0], p[0]), t[0]), TypeError, "same structure"),
    (lambda p, t: (p[0], np.ones(np.shape(p[0]))), ValueError, "linear in them"),
    (lambda p, t: (p[0], np.cos(p[0]) * t[0] + 1.0), ValueError, "constant term"),
], ids=["none", "shape", "structure", "constant", "affine"])
def test_bad_rules_raise(rule, error, words):
    @dj.custom_jvp
    def f(x):
        return x

    f.defjvp(rule)
    with pytest.raises(error, match=words):
        dj.jacobian(f, np.array([1.0, 2.0]))


def test_no_rule_and_dual_nondiff_argument_raise():
    f = dj.custom_jvp(lambda x: x)
    with pytest.raises(TypeError, match="defjvp"):
        dj.jacobian(f, np.array([1.0]))
    g = dj.custom_jvp(lambda x, n: x * n, nondiff_argnums=(1,))
    g.defjvp(lambda n, p, t: (p[0] * n, t[0] * n))
    with pytest.raises(TypeError, match="nondiff_argnums"):
        dj.jacobian(lambda x: g(x, x), np.array([1.0]))


# ---------------------------------------------------------------- sparsity

def test_patterns_come_from_the_rule():
    x = RNG.uniform(0.5, 1.5, 6)
    f = lambda z: sin_times(z, z[::-1])
    P = dj.jacobian_sparsity(f, x).toarray()
    np.testing.assert_array_equal(P, np.eye(6, dtype=bool) | np.eye(6, dtype=bool)[::-1])
    Hp = dj.hessian_sparsity(lambda z: np.sum(f(z)), x).toarray()
    H = dj.hessian(lambda z: np.sum(sin_times_reference(z, z[::-1])), x)
    assert not ((H != 0) & ~Hp).any()


# ---------------------------------------------------------------- rules for existing functions

@pytest.fixture
def restore_registry():
    saved = (dict(registry.HANDLED), dict(registry.EXTRA_UFUNCS), set(registry.COMPOSITES),
             set(registry.COMPOSITE_UFUNCS))
    yield
    tables = (registry.HANDLED, registry.EXTRA_UFUNCS, registry.COMPOSITES, registry.COMPOSITE_UFUNCS)
    for table, old in zip(tables, saved):
        table.clear()
        table.update(old)


def _kolmogorov_jvp(primals, tangents):
    (y,), (dy,) = primals, tangents
    # K(y) = 2 sum_k (-1)^(k-1) e^(-2 k^2 y^2), so K'(y) = -8 y sum_k (-1)^(k-1) k^2 e^(-2 k^2 y^2)
    # (NumPy calls: the rule differentiates again for second order)
    k = np.arange(1.0, 41.0)
    terms = (-1.0) ** (k - 1) * k ** 2 * np.exp(-2 * k ** 2 * y[..., None] ** 2)
    return special.kolmogorov(y), -8 * y * np.sum(terms, axis=-1) * dy


def test_register_a_ufunc_rule(restore_registry):
    x = np.array([0.5, 1.0, 2.0])
    with pytest.raises(TypeError, match="scipy.special.kolmogorov"):
        dj.jacobian(special.kolmogorov, x)
    dj.register_jvp(special.kolmogorov, _kolmogorov_jvp)
    J = dj.jacobian(special.kolmogorov, x)
    # SciPy's own derivative of the Kolmogorov distribution (independent of the rule's series)
    np.testing.assert_allclose(np.diag(J), _kolmogp(x), rtol=1e-11)
    H = dj.hessian(lambda x: np.sum(special.kolmogorov(x)), x)
    h = 1e-4
    second = (special.kolmogorov(x + h) - 2 * special.kolmogorov(x) + special.kolmogorov(x - h)) / h ** 2
    np.testing.assert_allclose(np.diag(H), second, rtol=1e-6)
    np.testing.assert_array_equal(dj.jacobian_sparsity(special.kolmogorov, x).toarray(),
                                  np.eye(3, dtype=bool))


def test_a_float64_tangent_keeps_a_float32_output(restore_registry):
    """The rule's float64 constants make a float64 tangent for float32 input: the value
    keeps NumPy's float32, in every transform, and so do the derivatives."""
    dj.register_jvp(special.kolmogorov, _kolmogorov_jvp)
    x = np.array([0.5, 1.0, 2.0], np.float32)
    value, J = dj.value_and_jacobian(special.kolmogorov, x)
    assert value.dtype == J.dtype == np.float32
    np.testing.assert_array_equal(value, special.kolmogorov(x))
    np.testing.assert_allclose(np.diag(J), _kolmogp(x.astype(np.float64)), rtol=1e-5)
    value, tangent = dj.jvp(special.kolmogorov, x, np.ones(3, np.float32))
    assert value.dtype == tangent.dtype == np.float32


def test_register_a_numpy_function_rule(restore_registry):
    x = np.array([0.2, 1.0, 2.5])
    dj.register_jvp(np.i0, lambda p, t: (np.i0(p[0]), special.i1(p[0]) * t[0]), replace=True)
    np.testing.assert_allclose(np.diag(dj.jacobian(np.i0, x)), special.i1(x), rtol=1e-14)


def test_register_refuses_what_it_cannot_reach(restore_registry):
    with pytest.raises(ValueError, match="rules-table"):
        dj.register_jvp(np.sin, lambda p, t: (np.sin(p[0]), t[0]))
    with pytest.raises(TypeError, match="custom_jvp"):
        dj.register_jvp(scipy.optimize.rosen, lambda p, t: (0.0, 0.0))
    dj.register_jvp(special.kolmogorov, _kolmogorov_jvp)
    with pytest.raises(ValueError, match="replace=True"):
        dj.register_jvp(special.kolmogorov, _kolmogorov_jvp)


# ---------------------------------------------------------------- implicit functions

def cubic(x, a):
    return x ** 3 + a * x - 1.0


@dj.custom_root(cubic)
def cubic_root(x0, a):
    return scipy.optimize.brentq(lambda x: cubic(x, a), 0.0, 2.0, xtol=1e-15)


def test_root_find_first_and_second_derivatives():
    a = 0.7
    x = cubic_root(1.0, a)
    # implicit differentiation by hand: x' = -x / (3x^2 + a), x'' from differentiating that
    d = 3 * x * x + a
    x1 = -x / d
    x2 = -(x1 * d - x * (6 * x * x1 + 1)) / d ** 2
    np.testing.assert_allclose(dj.jacobian(lambda a: cubic_root(1.0, a), np.float64(a)), x1,
                               rtol=1e-13)
    np.testing.assert_allclose(dj.hessian(lambda a: cubic_root(1.0, a), np.float64(a)), x2,
                               rtol=1e-12)


def equations(x, p):
    return np.stack([x[0] ** 2 + x[1] - p[0], x[0] - x[1] ** 3 - p[1]])


@dj.custom_root(equations)
def system_solution(x0, p):
    return scipy.optimize.fsolve(lambda x: equations(x, p), x0, xtol=1e-13)


def test_system_solution_against_finite_differences():
    p = np.array([2.0, 0.5])
    x0 = np.ones(2)
    J = dj.jacobian(lambda p: system_solution(x0, p), p)
    h = 1e-6
    fd = np.stack([(system_solution(x0, p + e) - system_solution(x0, p - e)) / (2 * h)
                   for e in np.eye(2) * h], -1)
    np.testing.assert_allclose(J, fd, rtol=1e-7, atol=1e-9)
    # second order: the exact Jacobian's own central differences
    H = dj.hessian(lambda p: system_solution(x0, p)[0], p)
    h = 1e-5
    grad = lambda p: dj.jacobian(lambda q: system_solution(x0, q)[0], p)
    fd2 = np.stack([(grad(p + e) - grad(p - e)) / (2 * h) for e in np.eye(2) * h], -1)
    np.testing.assert_allclose(H, fd2, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, H.T, rtol=1e-12)


# ---------------------------------------------------------------- the guide's examples

def test_the_guides_examples_run_and_are_right(restore_registry):
    """docs/custom_rules.md's code, run as written; witnesses by integration by parts:
    m0(a) = sqrt(pi / a) erf(sqrt(a)) / 2, m_{k+2} = ((k + 1) m_k - exp(-a)) / (2a)."""
    import pathlib
    import re
    text = (pathlib.Path(__file__).parent.parent / "docs" / "custom_rules.md").read_text()
    scope = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        exec(compile(block, "docs/custom_rules.md", "exec"), scope)
    a = 1.5
    m0 = np.sqrt(np.pi / a) * special.erf(np.sqrt(a)) / 2
    m2 = (m0 - np.exp(-a)) / (2 * a)
    m4 = (3 * m2 - np.exp(-a)) / (2 * a)
    moment = scope["moment"]
    np.testing.assert_allclose(dj.gradient(lambda a: moment(a, 0), a), -m2, rtol=1e-12)
    np.testing.assert_allclose(dj.hessian(lambda a: moment(a, 0), a), m4, rtol=1e-12)
    p = np.array([2.0, 0.5])
    x = scope["solution"](np.ones(2), p)
    np.testing.assert_allclose(scope["equations"](x, p), 0.0, atol=1e-12)
