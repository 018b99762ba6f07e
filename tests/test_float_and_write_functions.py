"""Floating-point functions (dualjac/dispatch/floats.py: heaviside, copysign, float_power,
ldexp, frexp, modf, divmod, spacing, nextafter, i0) and writers / rearrangements
(dualjac/dispatch/writes.py: put, place, copyto, putmask, fill_diagonal, put_along_axis,
ediff1d, diagflat, unwrap). Witnesses: NumPy's values bit for bit, complex step where NumPy
takes complex input, central differences elsewhere (away from steps), SciPy's i1 for i0's
derivative, Hessians as central differences of the witness Jacobian."""
import numpy as np
import pytest
import scipy.special

import dualjac as dj
from dualjac.dispatch.floats import bessel_i1
from witness import witness_hessian, witness_jacobian

pytestmark = pytest.mark.jet_kinds("default", "banded", "deferred")

RNG = np.random.default_rng(3)
X = np.array([0.37, -1.21, 0.74, 2.13, -0.52, 1.58])     # off every step of the steps below
MASK = np.array([True, False, True, True, False, False])


def written(store):
    """f(z): a copy of z reversed, after store(copy, z) wrote into it."""
    def f(z):
        a = np.zeros_like(z) + z[::-1]
        store(a, z)
        return a
    return f


# name -> (f, witness method)
CALLS = {
    "heaviside": (lambda z: np.heaviside(z, 0.5) * z ** 2, "fd"),
    "heaviside_at_zero": (lambda z: np.heaviside(z * 0.0, z), "fd"),
    "copysign": (lambda z: np.copysign(z, z[::-1]), "fd"),
    "float_power": (lambda z: np.float_power(np.abs(z), z), "fd"),
    "ldexp": (lambda z: np.ldexp(z ** 2, np.array([1, 2, -1, -4, 1, 0])), "fd"),
    "frexp": (lambda z: np.frexp(z * 5.0)[0], "fd"),
    "modf": (lambda z: np.modf(z * 3.0)[0] + np.modf(z)[1], "fd"),
    "divmod": (lambda z: np.divmod(z, 0.3)[1] * np.divmod(z, 0.7)[0], "fd"),
    "divmod_builtin": (lambda z: divmod(z, 0.3)[1] * divmod(2.5, z)[1], "fd"),
    "spacing": (lambda z: np.spacing(z) + z, "fd"),
    "nextafter": (lambda z: np.nextafter(z, 2.0 * z) ** 2, "fd"),
    "i0": (lambda z: np.i0(z), "fd"),
    "put": (written(lambda a, z: np.put(a, [0, -2, 3], z[:2] * z[3])), "cs"),
    "put_wrap": (written(lambda a, z: np.put(a, [7, 1], z[:2] ** 2, mode="wrap")), "cs"),
    "place": (written(lambda a, z: np.place(a, MASK, z[:2] ** 2)), "cs"),
    "copyto_where": (written(lambda a, z: np.copyto(a, z ** 2, where=MASK)), "cs"),
    "copyto_scalar": (written(lambda a, z: np.copyto(a, z[1])), "cs"),
    "putmask": (written(lambda a, z: np.putmask(a, MASK, z[:4] ** 2)), "cs"),
    "fill_diagonal": (lambda z: (lambda m: (np.fill_diagonal(m, z[:2] ** 2), m)[1])(
        np.outer(z[:3], z[3:])), "cs"),
    "fill_diagonal_wrap": (lambda z: (lambda m: (np.fill_diagonal(m, z[0] ** 2, wrap=True), m)[1])(
        np.repeat(np.reshape(z * 1.0, (3, 2)), 3, axis=0)), "cs"),
    "put_along_axis": (lambda z: (lambda m: (np.put_along_axis(
        m, np.array([[1], [0]]), z[:2, None] ** 2, 1), m)[1])(np.reshape(z * 1.0, (2, 3))), "cs"),
    "ediff1d": (lambda z: np.ediff1d(z ** 2, to_begin=z[0], to_end=[1.0, 2.0]), "cs"),
    "diagflat": (lambda z: np.diagflat(np.reshape(z[:4], (2, 2)), -1), "cs"),
    "unwrap": (lambda z: np.unwrap(np.cumsum(z * 3.0)), "fd"),
}


@pytest.mark.parametrize("name", CALLS)
def test_value_jacobian_and_hessian(name):
    f, method = CALLS[name]
    value, J = dj.value_and_jacobian(f, X)
    expected = f(X)
    np.testing.assert_array_equal(value, expected)
    np.testing.assert_allclose(J, witness_jacobian(f, X, method), rtol=1e-7, atol=1e-7)
    g = lambda z: np.sum(np.sin(f(z)))
    H = dj.hessian(g, X)
    np.testing.assert_allclose(H, witness_hessian(g, X, method), rtol=1e-4, atol=1e-5)


def test_values_and_dtypes_are_numpys_at_special_points(request):
    # banded kernels skip exact-zero terms, so there only the sign of a zero may differ
    # (docs/structure.md)
    banded = request.node.callspec.params.get("seeding") == "banded"
    x = np.array([np.inf, -np.inf, -2.0, 1.5, -0.0, 0.0, -2.5, np.nan])
    for f in (lambda z: np.modf(z)[0], lambda z: np.modf(z)[1], lambda z: np.copysign(z, -1.0),
              lambda z: np.heaviside(z, 0.5), lambda z: np.spacing(z), lambda z: np.frexp(z)[0],
              lambda z: np.nextafter(z, 0.0)):
        with np.errstate(all="ignore"):
            value = dj.value_and_jacobian(f, x)[0]
            np.testing.assert_array_equal(value, f(x))
            assert banded or np.array_equal(np.signbit(value), np.signbit(f(x)))
        assert dj.value_and_jacobian(f, x[2:4].astype(np.float32))[0].dtype == f(
            x[2:4].astype(np.float32)).dtype


def test_steps_are_connected_with_zero_derivative():
    J = dj.jacobian(lambda z: np.spacing(z) + np.heaviside(z, 0.5), X)
    np.testing.assert_array_equal(J, np.zeros((6, 6)))
    _, exponent = np.frexp(X)
    seen = []
    dj.jacobian(lambda z: seen.append(np.frexp(z)[1]) or z, X)
    np.testing.assert_array_equal(seen[0], exponent)        # plain integers, NumPy's


def test_i1_matches_scipy_and_i0_derivatives_are_analytic():
    t = np.concatenate([np.linspace(-60, 60, 601), [1e-300, 5e-3, 24.999, 25.001]])
    np.testing.assert_allclose(bessel_i1(t), scipy.special.i1(t), rtol=5e-15)
    x = np.array([0.0, 0.3, -1.2, 7.0, 31.0])
    J = dj.jacobian(np.i0, x)
    np.testing.assert_allclose(J, np.diag(scipy.special.i1(x)), rtol=5e-15)
    H = dj.hessian(lambda z: np.sum(np.i0(z)), x)
    second = np.where(x == 0, 0.5, scipy.special.i0(x) - scipy.special.i1(x) / np.where(x == 0, 1, x))
    np.testing.assert_allclose(H, np.diag(second), rtol=1e-13)


def test_batch_jacobian_of_rowwise_floats():
    x = RNG.uniform(0.2, 1.8, (6, 3))
    f = lambda z: np.i0(z) * np.copysign(z, z - 1.0) + np.float_power(z, 1.5)
    J = dj.batch_jacobian(f, x)
    for row in range(6):
        np.testing.assert_allclose(J[row], witness_jacobian(f, x[row], "fd"), rtol=1e-7)


@pytest.mark.parametrize("call, error, message", [
    (lambda z: np.ldexp(z, z), TypeError, "integer exponents"),
    (lambda z: np.put(np.zeros_like(z), [9], z[:1]), IndexError, "out of bounds"),
    (lambda z: np.place(np.zeros_like(z), MASK, z[:0]), ValueError, "empty"),
    (lambda z: np.fill_diagonal(z, 1.0), ValueError, "at least 2-d"),
    (lambda z: np.put(np.zeros(6), [0], z[:1]), TypeError, "dualjac"),   # dual into plain
])
def test_errors_are_numpys_or_name_the_fix(call, error, message):
    with pytest.raises(error, match=message):
        dj.jacobian(call, X)
