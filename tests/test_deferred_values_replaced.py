"""Deferred jets and the rules that keep NumPy's own values under the derivatives of a
continuous piece (dualjac/dispatch: np.floor_divide, np.remainder, np.fmod, np.copysign,
np.ldexp, np.frexp, np.spacing, np.nextafter, np.divmod). A deferred jet runs the rule on
itself: its arithmetic is recorded, the values it needs come from a program without
derivatives, and the values are put under the derivatives by a recorded node (SET_VALUE).
The witnesses: eager's bits (the same rule on ordinary jets), and the derivatives of each
piece written out by hand, at points away from the pieces' ends.
"""

import numpy as np
import pytest

import dualjac as dj
from deferral import DTYPES, ROWS, TRANSFORMS, assert_matches_eager, deferred, rng_x

pytestmark = pytest.mark.usefixtures("threshold_is_restored")


def pending(x, y):
    """y, checked to be a pending deferred node when f's argument x is deferred."""
    if isinstance(x, dj.DeferredJet):
        assert isinstance(y, dj.DeferredJet) and "pending" in repr(y), repr(y)
    return y


FUNCTIONS = {
    "remainder": lambda x: pending(x, np.remainder(x * 3.0, 1.0)),
    "mod_by_a_row": lambda x: pending(x, np.mod(2.5, x)),
    "mod_operator": lambda x: pending(x, (x * 3.0) % 0.7),
    "floor_divide": lambda x: pending(x, np.floor_divide(x, 0.3)) * x,
    "fmod": lambda x: pending(x, np.fmod(x * 5.0 - 2.0, x[:, :1])),
    "copysign": lambda x: pending(x, np.copysign(x, x[:, ::-1] - 0.7)),
    "ldexp": lambda x: pending(x, np.ldexp(np.sin(x), 3)),
    "frexp": lambda x: pending(x, np.frexp(x * 7.0)[0]),
    "spacing": lambda x: pending(x, np.spacing(x)) + x,
    "nextafter": lambda x: pending(x, np.nextafter(x, 2.0)),
    "divmod": lambda x: pending(x, np.divmod(x * 3.0, 0.4)[1]),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_recorded_with_eagers_bits(name, dtype, transform):
    assert_matches_eager(TRANSFORMS[transform], FUNCTIONS[name],
                         rng_x((ROWS, 4), dtype, lo=0.2, hi=1.2))


def test_derivatives_of_the_pieces():
    """Per-row Jacobians against the derivative of each piece, by hand."""
    x = rng_x((ROWS, 4), lo=0.2, hi=1.2)
    eye = np.broadcast_to(np.eye(4), (ROWS, 4, 4))
    got = lambda f: deferred(dj.batch_jacobian, f, x)
    np.testing.assert_array_equal(got(FUNCTIONS["remainder"]), 3.0 * eye)
    # d mod(2.5, x) / dx = -floor(2.5 / x)
    np.testing.assert_array_equal(got(FUNCTIONS["mod_by_a_row"]),
                                  -np.floor_divide(2.5, x)[:, :, None] * eye)
    # floor_divide(x, 0.3) * x: the quotient's derivative is 0
    np.testing.assert_array_equal(got(FUNCTIONS["floor_divide"]),
                                  np.floor_divide(x, 0.3)[:, :, None] * eye)
    # fmod(5x - 2, x0) = (5x - 2) - q x0, q the truncated quotient: 5 in x, -q in x0
    q = np.rint((x * 5.0 - 2.0 - np.fmod(x * 5.0 - 2.0, x[:, :1])) / x[:, :1])   # exact quotient
    want = 5.0 * eye.copy()
    want[:, :, 0] -= q
    np.testing.assert_allclose(got(FUNCTIONS["fmod"]), want, rtol=0, atol=1e-12)
    # copysign(x, y): +-1 in x (the sign flipped where x and y differ), 0 in y
    sign = np.where(np.signbit(x) == np.signbit(x[:, ::-1] - 0.7), 1.0, -1.0)
    np.testing.assert_array_equal(got(FUNCTIONS["copysign"]), sign[:, :, None] * eye)
    np.testing.assert_allclose(got(FUNCTIONS["ldexp"]), 8.0 * np.cos(x)[:, :, None] * eye,
                               rtol=1e-15)                     # (dualjac's own cos)
    # frexp's mantissa m = 7x / 2**e: 7 / 2**e
    exponent = np.frexp(x * 7.0)[1]
    np.testing.assert_array_equal(got(FUNCTIONS["frexp"]), (7.0 / 2.0 ** exponent)[:, :, None] * eye)
    np.testing.assert_array_equal(got(FUNCTIONS["spacing"]), eye)
    np.testing.assert_array_equal(got(FUNCTIONS["nextafter"]), eye)


def test_values_are_numpys():
    """The results' values are NumPy's own (1.0 // 0.1 is 9.0, which a rounded x / y is not)."""
    x = np.full((ROWS, 2), 1.0)
    x[::3] = rng_x((len(x[::3]), 2), lo=-3.0, hi=3.0)

    def f(z):
        q = np.floor_divide(z, 0.1)
        np.testing.assert_array_equal(q.value, np.floor_divide(x, 0.1))
        for function in (np.remainder, np.fmod):
            np.testing.assert_array_equal(function(z, 0.1).value, function(x, 0.1))
        return pending(z, q) + z
    np.testing.assert_array_equal(deferred(dj.batch_jacobian, f, x),
                                  np.broadcast_to(np.eye(2), (ROWS, 2, 2)))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_transposed_rows(transform):
    """A transpose runs the rules too (its rows record them)."""
    def f(x):
        a, b, c = x.T
        return np.stack([np.remainder(a * 3.0, 0.5), np.copysign(b, c - 0.7), np.fmod(c, 0.3)]).T
    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 3), lo=0.2, hi=1.2))


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_constants_that_widen_the_rows(transform):
    """A constant that widens a jet's rows (a column with a (b, 3) array or a row vector,
    as the rules' quotients do) is recorded: each lane of the jet read as many times."""
    w = rng_x((ROWS, 3), seed=1, lo=0.5, hi=2.0)
    for f in [lambda x: pending(x, np.remainder(x[:, :1], np.ones((1, 3)) * 0.3)),
              lambda x: pending(x, x[:, 1:2] * w) + x[:, :3],
              lambda x: pending(x, np.sin(x[:, :1]) - [1.0, 2.0, 3.0]),
              lambda x: pending(x, w / x[:, 2:3])]:
        assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 4), lo=0.2, hi=1.2))


def test_widened_rows_derivatives():
    """d (x1 * w) / dx: w in column 1, by hand."""
    w = rng_x((ROWS, 3), seed=1, lo=0.5, hi=2.0)
    got = deferred(dj.batch_jacobian, lambda x: pending(x, x[:, 1:2] * w), rng_x((ROWS, 4)))
    want = np.zeros((ROWS, 3, 4))
    want[:, :, 1] = w
    np.testing.assert_array_equal(got, want)


def test_unconnected_operand_stays_connected():
    """copysign's second operand carries a zero derivative, not none: with respect to a
    leaf used only there, the deferred result is zeros, as eagerly."""
    got = assert_matches_eager(dj.batch_jacobian,
                               lambda x: np.copysign(x[:, 0] * 1.0, x[:, 1]),
                               rng_x((ROWS, 2), lo=-1.0, hi=1.0))
    assert got.shape == (ROWS, 2) and not got[:, 1].any()
