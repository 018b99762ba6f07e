"""Deferred jets and the dense path's composite rules (dualjac/dispatch: rules written with
NumPy calls only, such as np.average, np.ptp, np.nanmean, np.linalg.vector_norm,
np.heaviside): a deferred jet runs the rule on itself, so each NumPy call in it is recorded
(or falls back on its own), and the result keeps eager's bits, since eager runs the same
rule on ordinary jets. Functions of rows of 4 (x (b, 4)); the witness is eager's bits, and
complex step for the analytic ones.
"""

import subprocess
import sys

import numpy as np
import pytest

import dualjac as dj
from banding import deferred_from
from deferral import DTYPES, ROWS, TRANSFORMS, assert_matches_eager, cases, deferred, pending, rng_x

# Every test checks that it leaves the deferred threshold as it found it (conftest.py).
pytestmark = pytest.mark.usefixtures("threshold_is_restored")

WEIGHTS = np.array([1.0, 2.0, 0.5, 3.0])



# Recorded whole: (function, analytic as written for complex step: np.linalg.vecdot
# conjugates and np.real drops the imaginary part of complex rows).
RECORDED = {
    "average": (lambda x: pending(x, np.average(np.sin(x), axis=1)), True),
    "average_weights": (lambda x: pending(x, np.average(x * x, axis=-1, weights=WEIGHTS), True),
                        True),
    "average_keepdims": (lambda x: x * pending(x, np.average(x, 1, keepdims=True)), True),
    "ptp": (lambda x: pending(x, np.ptp(np.cos(x), axis=1)), False),
    "nansum": (lambda x: pending(x, np.nansum(np.exp(x), axis=1)), True),
    "nanmean": (lambda x: pending(x, np.nanmean(x * 2.0, axis=-1, keepdims=True)) * x, True),
    "vector_norm": (lambda x: pending(x, np.linalg.vector_norm(x, axis=-1)), False),
    "vector_norm_keepdims": (lambda x: x / pending(x, np.linalg.vector_norm(x, axis=1, keepdims=True)),
                             False),
    "linalg_vecdot": (lambda x: pending(x, np.linalg.vecdot(np.sin(x), x)), False),
    "sinc": (lambda x: pending(x, np.sinc(x)), True),
    "float_power": (lambda x: pending(x, np.float_power(x, 2.5), True), True),
    "heaviside": (lambda x: pending(x, np.heaviside(x - 0.7, 0.5) * x), False),
    "real": (lambda x: pending(x, np.real(np.exp(x))), False),
    "nan_to_num": (lambda x: pending(x, np.nan_to_num(np.log(x))), True),
    "round": (lambda x: pending(x, np.round(x * 3.0, 1) + x), False),
    # picks per row (a PICK node): np.sort, np.take_along_axis, and the composites on them
    "sort": (lambda x: pending(x, np.sort(np.sin(x) * x, axis=1)), False),
    "take_along_axis": (lambda x: pending(x, np.take_along_axis(
        np.exp(x), np.tile(np.array([[3, 0, 0, 2]]), (x.shape[0], 1)), axis=1)), True),
    "percentile": (lambda x: pending(x, np.percentile(x * x, 30, axis=1)), False),
    "quantile": (lambda x: pending(x, np.quantile(np.cos(x), [0.2, 0.8], axis=-1).T, True), False),
    "partition": (lambda x: pending(x, np.partition(x, 2, axis=1)), False),
    "nanmedian": (lambda x: pending(x, np.nanmedian(np.exp(x), axis=1)), False),
    "median": (lambda x: pending(x, np.median(np.sin(x) * x, axis=1)), False),
    "median_keepdims": (lambda x: x - pending(x, np.median(x, axis=-1, keepdims=True)), False),
    # rules written with NumPy calls and the jets' values (value_of), run on the deferred jet
    "cumprod": (lambda x: pending(x, np.cumprod(np.sin(x) + x, axis=1)), True),
    "cumprod_dtype": (lambda x: pending(x, np.cumprod(x, axis=-1, dtype=x.dtype)), True),
    "astype_own_dtype": (lambda x: pending(x, np.sin(x).astype(x.dtype)) * x, True),
    # (float64 coefficients and NumPy's float64 values promote float32 rows, as NumPy does)
    "polyval": (lambda x: pending(x, np.polyval([1.0, -2.0, 0.5, 3.0], x), True), True),
    "interp": (lambda x: pending(x, np.interp(x * 2.0, [0.0, 0.5, 1.5, 3.0], [1.0, 3.0, 2.0, 2.5]),
                                 True), False),
    "select": (lambda x: pending(x, np.select([x > 0.9, x < 0.4], [x * x, np.sin(x)], default=x)),
               False),
}

# Rules whose NumPy calls include one that reads across rows or has no recording: they run
# on computed jets part of the way, with eager's bits all the same.
PARTLY = {
    "gradient": lambda x: np.gradient(x * x, axis=1),
    "nanvar": lambda x: np.nanvar(np.sin(x), axis=1),
    "nanmax": lambda x: np.nanmax(x * 2.0, axis=1),
    "trapezoid": lambda x: np.trapezoid(np.exp(x), axis=1),
    "modf": lambda x: np.modf(x * 3.0)[0],
    "unwrap": lambda x: np.unwrap(x * 4.0, axis=1),
    "piecewise": lambda x: np.piecewise(x, [x > 0.5], [lambda t: t * t, lambda t: -t]),
    "piecewise_otherwise": lambda x: np.piecewise(x * 2.0, [x < 0.4, x > 0.9],
                                                  [np.sin, 1.0, lambda t: t]),
}


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", RECORDED)
def test_composites_are_recorded_with_eagers_bits(name, dtype, transform):
    f, _ = RECORDED[name]
    assert_matches_eager(TRANSFORMS[transform], f, rng_x((ROWS, 4), dtype, lo=0.2, hi=1.2))


@pytest.mark.parametrize("name", [n for n, (_, analytic) in RECORDED.items() if analytic])
def test_composites_match_complex_step(name):
    f, _ = RECORDED[name]
    x = rng_x((2000, 4), lo=0.2, hi=1.2)
    witness = cases.complex_step_batch_jacobian(f, x)
    np.testing.assert_allclose(deferred(dj.batch_jacobian, f, x), witness, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", PARTLY)
def test_composites_partly_on_computed_jets_keep_eagers_bits(name, transform):
    assert_matches_eager(TRANSFORMS[transform], PARTLY[name], rng_x((ROWS, 4), lo=0.2, hi=1.2))


def test_composite_ufunc_found_when_a_module_registers_on_the_way(monkeypatch):
    """The call that registers a newly imported module's rules (scipy.special's) still
    finds a composite ufunc's rule (np.heaviside), so that deferred jets record it."""
    from dualjac.dispatch import registry
    monkeypatch.setattr(registry, "PENDING_MODULES", {"a module imported since"})
    monkeypatch.setattr(registry, "register_pending_modules", lambda: True)
    assert registry.composite_rule(np.heaviside) is registry.EXTRA_UFUNCS[np.heaviside]


def test_shape_queries_do_not_compute():
    """np.shape / np.ndim / np.size of a deferred jet (what composite rules ask first)
    answer from its shape: the node stays pending."""
    seen = []

    def f(x):
        y = np.sin(x)
        seen.append((np.shape(y), np.ndim(y), np.size(y), "pending" in repr(y)))
        return y

    dj.batch_jacobian(f, rng_x((ROWS, 4)))
    assert seen[0] == ((ROWS, 4), 2, ROWS * 4, True), seen


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_sorted_rows_take_each_rows_own_order(transform):
    """np.sort of rows with ties: each row's result lane k is its own stable argsort's
    element k, derivatives included (the witness: a one-hot Jacobian from np.argsort)."""
    x = rng_x((ROWS, 4), lo=0.2, hi=1.2)
    x[::7, 2] = x[::7, 0]                                    # ties, kept in order
    got = assert_matches_eager(TRANSFORMS[transform], lambda z: pending(z, np.sort(z, axis=1)) * 1.0
                               if transform == "batch_jacobian" else
                               pending(z, np.sort(z * z, axis=1))[:, 1], x)
    order = np.argsort(x, axis=1, kind="stable")
    if transform == "batch_jacobian":
        want = np.zeros((ROWS, 4, 4))
        np.put_along_axis(want, order[:, :, None], 1.0, axis=2)
    else:                                                    # d2 (x_k)^2 = 2 at k = order[1]
        want = np.zeros((ROWS, 4, 4))
        k = order[:, 1]
        want[np.arange(ROWS), k, k] = 2.0
    np.testing.assert_array_equal(got, want)


def test_picks_across_rows_fall_back():
    """np.sort along the rows' axis or of every element, and indices of another shape:
    the computed jets, eager's bits."""
    for f in [lambda x: np.sort(x, axis=0),
              lambda x: x * np.sort(x, axis=None)[:4].sum(),
              lambda x: np.take_along_axis(x, np.array([[0, 1]]), axis=1) * 1.0]:
        assert_matches_eager(dj.batch_jacobian, f, rng_x((ROWS, 4)))


def _all_recorded_functions():
    """Every recorded function of the deferred tests' tables: (name, row shape, f)."""
    import test_deferred_compositions as compositions
    import test_deferred_transpose as transposes
    import test_deferred_values_replaced as values_replaced
    found = [(f"composites.{n}", (4,), f) for n, (f, _) in RECORDED.items()]
    found += [(f"values_replaced.{n}", (4,), f) for n, f in values_replaced.FUNCTIONS.items()]
    found += [(f"compositions.{n}", row, f) for n, (row, f) in
              {**compositions.EXACT, **compositions.PRODUCTS}.items()]
    found += [(f"transposes.{n}", (3,), f) for n, f in
              {**transposes.EXACT, **transposes.PRODUCTS}.items()]
    return found


@pytest.mark.parametrize("name, row, f", _all_recorded_functions(),
                         ids=[n for n, _, _ in _all_recorded_functions()])
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_values_of_a_pending_node_are_its_computed_values(name, row, f, transform):
    """A pending node's values (read by comparisons, branches and sorts from a program
    without seeds) are bit for bit the values of its computed jet, for every recorded
    function of these tests, first- and second-order."""
    x = rng_x((ROWS,) + row, lo=0.2, hi=1.2)
    pairs = []

    def g(z):
        y = f(z)
        transposed = isinstance(y, dj.DeferredTranspose)
        if transposed:
            y = y.T
        if isinstance(y, dj.DeferredJet) and "pending" in repr(y):
            early = y.value
            assert "pending" in repr(y) and not early.flags.writeable
            pairs.append((early, y.compute().value, transposed))
        return y

    with deferred_from(1):
        TRANSFORMS[transform](g, x)
    assert pairs, "f's result was not pending"
    early, computed_values, transposed = pairs[0]
    np.testing.assert_array_equal(early, computed_values)
    # and the outside witness: f itself on the plain rows (NumPy's own arithmetic)
    with np.errstate(all="ignore"):
        plain = np.asarray(f(x))
    np.testing.assert_allclose(early, plain.T if transposed else plain, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", ["argmax_pick", "argsort_source", "argmin_transpose", "count"])
def test_value_queries_leave_nodes_pending(name, transform):
    """np.argmax / np.argsort / np.count_nonzero of a pending node or of the source read
    values only: the node stays pending (its derivatives are computed once, by the
    program), and the result has eager's bits."""
    states = []

    def f(x):
        y = np.sin(x) * x
        if name == "argmax_pick":
            i = np.argmax(y, axis=1)
            out = np.take_along_axis(y, i[:, None], axis=1)[:, 0]
        elif name == "argsort_source":
            out = np.take_along_axis(y, np.argsort(x, axis=1)[:, -2:], axis=1).sum(1)
        elif name == "argmin_transpose":
            out = y[:, 0] * (np.argmin(y.T, axis=0) + 1.0)
        else:
            out = y * np.count_nonzero(y > 0.5, axis=1)[:, None]
        states.append("pending" in repr(y))
        return out

    x = rng_x((ROWS, 4), lo=-1.0, hi=1.2)
    got = assert_matches_eager(TRANSFORMS[transform], f, x)
    assert states[0], states
    if name == "argmax_pick" and transform == "batch_jacobian":
        # d y_k / d x_k at each row's argmax k of y = x sin x, 0 elsewhere
        k = np.argmax(np.sin(x) * x, axis=1)
        want = np.zeros((ROWS, 4))
        want[np.arange(ROWS), k] = np.sin(x[np.arange(ROWS), k]) + x[np.arange(ROWS), k] \
            * np.cos(x[np.arange(ROWS), k])
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_median_of_rows_with_nan_keeps_numpys_nan(transform):
    """np.median of rows holding a NaN: NumPy's NaN for those rows (the rule's where on
    NumPy's median of the values, a constant: no derivative), eager's bits for all rows."""
    x = rng_x((ROWS, 5), lo=0.2, hi=1.2)
    x[::97, 3] = np.nan
    with np.errstate(invalid="ignore"):
        got = assert_matches_eager(TRANSFORMS[transform],
                                   lambda z: pending(z, np.median(np.exp(z), axis=1)), x)
    assert not got[::97].any() and got[1::97].reshape(len(got[1::97]), -1).any(axis=1).all()


SCIPY_FIRST_CALL = """
import numpy as np, dualjac as dj
import scipy.special as sc
seen = []
def f(x):
    y = sc.erf(x)
    seen.append("pending" if isinstance(y, dj.DeferredJet) and "pending" in repr(y) else "computed")
    return y * x
x = np.random.default_rng(0).uniform(-1, 1, (6000, 3))
got = dj.batch_jacobian(f, x)
dj.set_deferred_threshold(0)
eager = dj.batch_jacobian(f, x)
analytic = np.zeros_like(got)
i = np.arange(3)
analytic[:, i, i] = sc.erf(x) + 2 / np.sqrt(np.pi) * np.exp(-x * x) * x
print(seen[0], np.array_equal(got, eager), np.allclose(got, analytic, rtol=1e-13, atol=1e-15))
"""


def test_scipy_rows_are_recorded_from_their_first_call():
    """A scipy.special rules-table ufunc (erf) is registered on its first call on a jet; a
    deferred jet records that first call too (in a fresh process, where scipy.special is
    imported after dualjac)."""
    out = subprocess.run([sys.executable, "-c", SCIPY_FIRST_CALL], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["pending", "True", "True"]


# scipy.special's ufuncs whose partials SciPy evaluates (rules.Evaluated rows): the rule
# reads its jets through value_of / with_values and jet arithmetic, so a deferred jet runs it
# on itself: SciPy's values and partials on the values, the chain rule recorded.
EVALUATED = {
    "gamma": lambda x: pending(x, scipy_special().gamma(x + 1.0)) * x,
    "digamma": lambda x: pending(x, scipy_special().digamma(np.exp(x))),
    "jv_constant_order": lambda x: pending(x, scipy_special().jv(1.5, x * 2.0)),
    "erfinv": lambda x: pending(x, scipy_special().erfinv(x * 0.5)),
    "beta_two_jets": lambda x: pending(x, scipy_special().beta(x, x[:, ::-1] + 1.0)),
}


def scipy_special():
    return pytest.importorskip("scipy.special")


@pytest.mark.parametrize("transform", TRANSFORMS)
@pytest.mark.parametrize("name", EVALUATED)
def test_scipy_evaluated_rows_are_recorded_with_eagers_bits(name, transform):
    assert_matches_eager(TRANSFORMS[transform], EVALUATED[name], rng_x((ROWS, 4), lo=0.2, hi=1.2))


def test_scipy_evaluated_rows_against_their_derivatives():
    """d gamma(x + 1) x = gamma(x + 1) (psi(x + 1) x + 1); d erfinv(x / 2) = sqrt(pi) / 4
    exp(erfinv(x / 2)^2): per-row Jacobians against these, written out."""
    sc = scipy_special()
    x = rng_x((ROWS, 4), lo=0.2, hi=1.2)
    eye = np.eye(4)
    got = deferred(dj.batch_jacobian, EVALUATED["gamma"], x)
    want = (sc.gamma(x + 1.0) * (sc.digamma(x + 1.0) * x + 1.0))[:, :, None] * eye
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    got = deferred(dj.batch_jacobian, EVALUATED["erfinv"], x)
    want = (np.sqrt(np.pi) / 4 * np.exp(sc.erfinv(x * 0.5) ** 2))[:, :, None] * eye
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_scipy_evaluated_row_refuses_a_dual_order():
    """jv's order is a constant: a deferred jet with derivatives there raises, as eagerly."""
    sc = scipy_special()
    with pytest.raises(TypeError, match="differentiated with respect to"):
        deferred(dj.batch_jacobian, lambda x: sc.jv(x[:, 0], x[:, 1]), rng_x((ROWS, 2)))


def test_pieces_recorded_against_their_derivatives():
    """np.interp against central differences away from its knots; np.select and
    np.piecewise against each branch's derivative, written out."""
    x = rng_x((ROWS, 4), lo=0.2, hi=1.2)
    eye = np.eye(4)
    f = RECORDED["interp"][0]
    knots = np.array([0.0, 0.5, 1.5, 3.0])
    away = np.abs(2.0 * x[..., None] - knots).min(-1) > 1e-4
    step = 1e-7
    central = (np.interp(2.0 * (x + step), knots, [1.0, 3.0, 2.0, 2.5])
               - np.interp(2.0 * (x - step), knots, [1.0, 3.0, 2.0, 2.5])) / (2 * step)
    got = deferred(dj.batch_jacobian, f, x)
    np.testing.assert_allclose(np.diagonal(got, axis1=1, axis2=2)[away], central[away], rtol=1e-7)
    assert not (got * (1 - eye)).any()
    got = deferred(dj.batch_jacobian, RECORDED["select"][0], x)
    want = np.where(x > 0.9, 2.0 * x, np.where(x < 0.4, np.cos(x), 1.0))
    np.testing.assert_allclose(got, want[:, :, None] * eye, rtol=1e-15, atol=0)
    got = deferred(dj.batch_jacobian, PARTLY["piecewise"], x)
    np.testing.assert_allclose(got, np.where(x > 0.5, 2.0 * x, -1.0)[:, :, None] * eye,
                               rtol=1e-15, atol=0)
