"""Every row of the rules table (dualjac/rules.py) against outside witnesses.

The tests iterate ``rules.UNARY`` and ``rules.BINARY`` (ids = row names); no
function has a hand-written test. Expected values come from:

* values: the row's own ufunc ``<module>.<name>`` (``np.sin``,
  ``scipy.special.erf``);
* first derivatives of analytic rows: the complex-step derivative
  ``Im f(x + i h) / h`` (h = 1e-20) evaluated by NumPy or SciPy in complex128
  (every scipy.special row has one: its ufunc accepts complex, or the row's
  holomorphic stand-in ``complex_witness`` does);
* first derivatives of non-analytic rows (``analytic=False``): central finite
  differences away from the row's ``kinks`` / ties, and the row's independent
  pure-NumPy ``reference_derivative``;
* second derivatives: central finite differences of the witness Jacobian.

Witnesses are always evaluated in float64 (at the float32-rounded points for
float32 runs).

Everything a row needs to be tested is a field of the row (dualjac/rules.py:
"What a row carries for its tests"); this file keeps no per-name table.

SciPy is an optional test extra: without it the scipy.special rows are skipped
(see ``params``), everything else runs.
"""

import importlib

import numpy as np
import pytest

import dualjac as dj
from dualjac import rules
from witness import evaluate_witness

# Each test runs at every jet kind named here (conftest.py): the same witnesses must hold.
pytestmark = pytest.mark.jet_kinds("default", "banded")

UNARY = rules.UNARY
BINARY = rules.BINARY
DTYPES = (np.float32, np.float64)

CONSTANT = float(np.float32(1.7))   # exactly representable in float32 and float64
H_CS = 1e-20                        # complex step
H_FD = 1e-6                         # central differences of piecewise-linear rows
KINK_GAP = 1e-2                     # sample points stay this far from kinks / ties

FRACTIONS_X = np.array([0.06, 0.19, 0.33, 0.47, 0.61, 0.78, 0.93])
FRACTIONS_Y = np.array([0.88, 0.71, 0.54, 0.41, 0.26, 0.15, 0.03])


def row_id(row):
    return row.name


def module_imports(name):
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def params(rows):
    """Rows as test parameters (ids = row names). A row whose module does not
    import (scipy.special without SciPy) is skipped, never silently dropped."""
    return [pytest.param(row, id=row.name,
                         marks=() if module_imports(row.module) else
                         pytest.mark.skip(reason=f"{row.module} is not installed"))
            for row in rows]


def ufunc(row):
    """The row's ufunc: np.sin, scipy.special.erf."""
    return getattr(importlib.import_module(row.module), row.name)


def reference(row):
    """The ufunc, or the row's holomorphic stand-in when the ufunc rejects complex."""
    if not row.complex_witness:
        return ufunc(row)
    if row in UNARY:
        return lambda x: evaluate_witness(row.complex_witness, x=x)
    return lambda x, y: evaluate_witness(row.complex_witness, x=x, y=y)


def reference_derivative(row, *args):
    """The row's independent derivative at args: f' (unary), (d/dx, d/dy) (binary)."""
    if row in UNARY:
        return evaluate_witness(row.reference_derivative, x=args[0])
    x, y = args
    return tuple(evaluate_witness(e, x=x, y=y) for e in row.reference_derivative)


def is_analytic(row):
    return row.analytic


def sample(lo, hi, fractions, avoid=(), dtype=np.float64):
    """Points inside (lo, hi), nudged to stay KINK_GAP away from every point
    of ``avoid`` (broadcast elementwise), rounded to dtype."""
    x = lo + (hi - lo) * np.asarray(fractions, dtype=np.float64)
    avoid = [np.broadcast_to(np.asarray(a, np.float64), x.shape) for a in avoid]
    for _ in range(50):
        near = np.zeros(x.shape, bool)
        for a in avoid:
            near |= np.abs(x - a) < KINK_GAP
        if not near.any():
            break
        x = np.where(near, x + 0.0173, x)
    else:  # pragma: no cover
        raise AssertionError("could not sample away from kinks")
    assert np.all((x > lo) & (x < hi)), (lo, hi, x)
    return x.astype(dtype)


def unary_points(row, dtype):
    lo, hi = row.domain
    return sample(lo, hi, FRACTIONS_X, list(row.kinks), dtype)


def binary_points(row, dtype):
    """x, y vectors in the row's domains, no ties between x[i] and y[i], nor
    with the constant (the constant-operand tests compare against it)."""
    tie = not row.analytic
    x = sample(*row.domain_x, FRACTIONS_X, [CONSTANT] if tie else [], dtype)
    y = sample(*row.domain_y, FRACTIONS_Y, [CONSTANT, x] if tie else [], dtype)
    return x, y


# ------------------------------------------------------------------ witnesses

def witness_jacobians(g, sources, analytic):
    """d g(*sources) / d source for every source, in float64: complex step for
    analytic g, central differences otherwise. Shapes g(...).shape + source.shape."""
    sources = [np.asarray(s, np.float64) for s in sources]
    out = []
    for k, s in enumerate(sources):
        cols = []
        for i in range(s.size):
            if analytic:
                args = [a.astype(np.complex128) for a in sources]
                args[k].flat[i] += 1j * H_CS
                cols.append(np.imag(g(*args)) / H_CS)
            else:
                plus = [a.copy() for a in sources]
                minus = [a.copy() for a in sources]
                plus[k].flat[i] += H_FD
                minus[k].flat[i] -= H_FD
                cols.append((np.asarray(g(*plus)) - np.asarray(g(*minus))) / (2 * H_FD))
        value_shape = np.shape(g(*sources))
        jac = np.stack(cols, axis=-1) if cols else np.zeros(value_shape + (0,))
        out.append(jac.reshape(value_shape + s.shape))
    return out


def witness_hessian(g, v, analytic):
    """Central differences of the witness Jacobian of g over one source v:
    shape g(v).shape + v.shape + v.shape (outer index last, like nested jacobian)."""
    v = np.asarray(v, np.float64)
    step = 1e-5 if analytic else 1e-3   # piecewise linear: any step short of a kink
    cols = []
    for j in range(v.size):
        plus, minus = v.copy(), v.copy()
        plus.flat[j] += step
        minus.flat[j] -= step
        jp = witness_jacobians(g, [plus], analytic)[0]
        jm = witness_jacobians(g, [minus], analytic)[0]
        cols.append((jp - jm) / (2 * step))
    return np.stack(cols, axis=-1).reshape(np.shape(g(v)) + v.shape + v.shape)


def assert_close(got, want, dtype, order, what="", fd=False):
    """Tolerances per dtype and derivative order, scaled to the largest entry;
    ``fd``: the witness is a finite difference (round-off ~1e-9 in first, ~1e-6
    in second derivatives of piecewise-linear rows)."""
    got = np.asarray(got)
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    rtol, atol = {
        (np.float64, 0): (1e-14, 1e-15),
        (np.float64, 1): (1e-10, 1e-12),
        (np.float64, 2): (1e-6, 1e-7),
        (np.float32, 0): (2e-6, 1e-7),
        (np.float32, 1): (2e-5, 2e-6),
        (np.float32, 2): (1e-3, 1e-4),
    }[(dtype, order)]
    if fd:
        rtol, atol = max(rtol, 1e-8), max(atol, {0: 0, 1: 1e-8, 2: 1e-5}[order])
    finite = want[np.isfinite(want)]
    scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=rtol, atol=atol * scale,
                               err_msg=what)


def tol_dtype(dtype):
    return np.float64 if dtype is np.float64 else np.float32


# ------------------------------------------------------------------ the table itself

def test_table_has_no_duplicate_names():
    # scipy.special's own expm1 (an evaluated row) shares the name of NumPy's row
    names = [(row.module, row.name) for row in UNARY + BINARY + rules.EVALUATED]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert set(rules.by_name()) == {name for _, name in names}


def test_row_modules():
    """Rows live in numpy, or in scipy.special (optional: registered when it imports)."""
    assert {row.module for row in UNARY + BINARY} == {"numpy", "scipy.special"}


@pytest.mark.parametrize("row", params(UNARY + BINARY))
def test_row_is_a_ufunc_of_the_right_arity(row):
    func = getattr(importlib.import_module(row.module), row.name, None)
    assert isinstance(func, np.ufunc), f"{row.module}.{row.name} is not a ufunc"
    assert func.nin == (1 if row in UNARY else 2)
    assert func.nout == 1


@pytest.mark.parametrize("row", params(UNARY + BINARY))
def test_row_is_registered_for_the_fast_path(row):
    """register_table_ufuncs found the row's ufunc in its module (scipy.special's
    once SciPy is imported: the dispatch layer registers them on its first miss)."""
    from dualjac.dispatch import registry
    func = ufunc(row)
    registry.register_pending_modules()
    assert registry.TABLE_UFUNCS.get(func) == row.name


@pytest.mark.parametrize("row", UNARY + BINARY, ids=row_id)
def test_row_domain_is_an_interval(row):
    domains = [row.domain] if row in UNARY else [row.domain_x, row.domain_y]
    for lo, hi in domains:
        assert lo < hi


def test_rows_carry_the_witnesses_their_tests_need():
    """The fields a row's tests read (rules.py: "What a row carries for its tests")."""
    for row in UNARY:
        if not row.analytic:      # central differences stay away from the kinks
            assert row.kinks and row.reference_derivative, row.name
        else:
            assert not row.kinks, row.name
        if row.block:             # test_vectorized_values.py
            assert row.reference_derivative, row.name
        if row.module == "scipy.special":   # test_scipy_special.py's dense grids
            assert row.reference_derivative and row.reference_second_derivative, row.name
        assert all(lo <= k <= hi for lo, hi in [row.domain] for k in row.kinks), row.name
        assert isinstance(row.reference_derivative, str), row.name
    for row in BINARY:
        if not row.analytic:
            assert len(row.reference_derivative) == 2, row.name
        assert isinstance(row.reference_derivative, tuple), row.name
    for row in UNARY + BINARY:
        assert not (row.complex_witness and not row.analytic), row.name


@pytest.mark.parametrize("row", params([r for r in UNARY + BINARY if is_analytic(r)]))
def test_complex_reference_matches_ufunc(row):
    """The complex-step witness is the row's ufunc (or an expression equal to it)."""
    if row in UNARY:
        x = unary_points(row, np.float64)
        want, got = ufunc(row)(x), reference(row)(x.astype(np.complex128))
    else:
        x, y = binary_points(row, np.float64)
        want = ufunc(row)(x, y)
        got = reference(row)(x.astype(np.complex128), y.astype(np.complex128))
    np.testing.assert_allclose(np.real(got), want, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(np.imag(got), 0)


@pytest.mark.parametrize("row", params([r for r in UNARY + BINARY if not is_analytic(r)]))
def test_reference_derivative_matches_finite_differences(row):
    """The independent reference derivatives agree with central differences."""
    if row in UNARY:
        x = unary_points(row, np.float64)
        (jac,) = witness_jacobians(ufunc(row), [x], analytic=False)
        np.testing.assert_allclose(np.diagonal(jac), reference_derivative(row, x), atol=1e-8)
    else:
        x, y = binary_points(row, np.float64)
        jx, jy = witness_jacobians(ufunc(row), [x, y], analytic=False)
        dx, dy = reference_derivative(row, x, y)
        np.testing.assert_allclose(np.diagonal(jx), dx, atol=1e-8)
        np.testing.assert_allclose(np.diagonal(jy), dy, atol=1e-8)


def test_kernels_were_generated_for_every_row():
    from dualjac import _core
    assert tuple(_core.GENERATED_UNARY) == tuple(r.name for r in UNARY)
    assert tuple(_core.GENERATED_BINARY) == tuple(r.name for r in BINARY)


# ------------------------------------------------------------------ unary rows

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("row", params(UNARY))
class TestUnary:

    def test_value(self, row, dtype):
        x = unary_points(row, dtype)
        value, _ = dj.value_and_jacobian(ufunc(row), x)
        want = ufunc(row)(x)
        assert value.dtype == want.dtype == dtype
        assert_close(value, want, dtype, 0)
        # the DualArray's own value, seen from inside the transform
        seen = []
        dj.jacobian(lambda z: seen.append(np.array(ufunc(row)(z).value)) or z, x)
        assert seen[0].dtype == dtype
        assert_close(seen[0], want, dtype, 0)

    def test_first_derivative(self, row, dtype):
        x = unary_points(row, dtype)
        jac = dj.jacobian(ufunc(row), x)
        assert jac.dtype == dtype and jac.shape == (x.size, x.size)
        (want,) = witness_jacobians(reference(row), [x], is_analytic(row))
        assert_close(jac, want, tol_dtype(dtype), 1, fd=not is_analytic(row))

    def test_first_derivative_matrix_source(self, row, dtype):
        """A 2-D source (the kernels see the flattened buffer)."""
        x = unary_points(row, dtype)[:6].reshape(2, 3)
        jac = dj.jacobian(lambda z: ufunc(row)(z), x)
        assert jac.shape == (2, 3, 2, 3)
        (want,) = witness_jacobians(reference(row), [x], is_analytic(row))
        assert_close(jac, want, tol_dtype(dtype), 1, fd=not is_analytic(row))

    def test_second_derivative(self, row, dtype):
        x = unary_points(row, dtype)
        hess = dj.jacobian(lambda z: dj.jacobian(ufunc(row), z), x)
        assert hess.dtype == dtype and hess.shape == (x.size,) * 3
        want = witness_hessian(reference(row), x, is_analytic(row))
        assert_close(hess, want, tol_dtype(dtype), 2, fd=not is_analytic(row))
        # the diagonal is the second derivative
        diag = hess[np.arange(x.size), np.arange(x.size), np.arange(x.size)]
        assert_close(diag, want[np.arange(x.size), np.arange(x.size), np.arange(x.size)],
                     tol_dtype(dtype), 2, fd=not is_analytic(row))


@pytest.mark.parametrize("row", params([r for r in UNARY if not is_analytic(r)]))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_non_analytic_unary_against_reference_derivative(row, dtype):
    x = unary_points(row, dtype)
    jac = dj.jacobian(ufunc(row), x)
    want = reference_derivative(row, x.astype(np.float64))
    np.testing.assert_array_equal(jac, np.diag(want))
    hess = dj.jacobian(lambda z: dj.jacobian(ufunc(row), z), x)
    np.testing.assert_array_equal(hess, 0)


# ------------------------------------------------------------------ binary rows

def scenarios(row, dtype):
    """(name, sources, g(fn, *sources)) for every kernel variant and broadcast path.

    g is written once and evaluated with the ufunc on dual arrays (dualjac)
    and with the complex-capable reference on plain arrays (the witness)."""
    x, y = binary_points(row, dtype)
    c = CONSTANT
    x0, y0 = x[3], y[3]        # 0-d sources (stride-0 operands)
    tie = not row.analytic
    if tie:  # the 0-d operand meets every element of the other vector
        y = sample(*row.domain_y, FRACTIONS_Y, [CONSTANT, x, x0], dtype)
        y0 = y[3]
        x = sample(*row.domain_x, FRACTIONS_X, [CONSTANT, y, y0], dtype)
        x0 = x[3]
    x3 = x[:3].reshape(3, 1)
    y4 = y[3:].reshape(1, 4)
    if tie:  # every pair of operands any scenario puts side by side is tie-free
        for a, b in [(x, y), (x0, y), (x, y0), (x3, y4), (x, c), (c, y)]:
            assert np.min(np.abs(np.subtract(a, b, dtype=np.float64))) > KINK_GAP / 2
    x0, y0 = np.asarray(x0), np.asarray(y0)
    return [
        ("jet_jet", [x, y], lambda fn, a, b: fn(a, b)),
        ("jet_const_array", [x], lambda fn, a: fn(a, y)),
        ("const_array_jet", [y], lambda fn, b: fn(x, b)),
        ("jet_python_float", [x], lambda fn, a: fn(a, c)),
        ("python_float_jet", [y], lambda fn, b: fn(c, b)),
        ("jet_0d_const", [x], lambda fn, a: fn(a, np.asarray(c, dtype))),
        ("0d_const_jet", [y], lambda fn, b: fn(np.asarray(c, dtype), b)),
        ("0d_jet_jet", [x0, y], lambda fn, a, b: fn(a, b)),
        ("jet_0d_jet", [x, y0], lambda fn, a, b: fn(a, b)),
        ("0d_jet_const_vector", [x0], lambda fn, a: fn(a, y)),
        ("const_vector_0d_jet", [y0], lambda fn, b: fn(x, b)),
        ("broadcast_jet_jet", [x3, y4], lambda fn, a, b: fn(a, b)),
        ("broadcast_jet_const", [x3], lambda fn, a: fn(a, y4)),
        ("broadcast_const_jet", [y4], lambda fn, b: fn(x3, b)),
        ("broadcast_row_jet_jet", [x, y4[0, :1]], lambda fn, a, b: fn(a[None, :], b[:, None])),
    ]


SCENARIO_NAMES = [s[0] for s in scenarios(BINARY[0], np.float64)]


def operator_of(row):
    """The row's Python operator (``"x + y"``) as a function of two operands."""
    return lambda a, b: evaluate_witness(row.operator, x=a, y=b)


def run_scenario(row, dtype, name, fn_dual, fn_ref):
    sources, g = {s[0]: s[1:] for s in scenarios(row, dtype)}[name]
    got = dj.jacobian(lambda srcs: g(fn_dual, *srcs), list(sources))
    want = witness_jacobians(lambda *a: g(fn_ref, *a), sources, is_analytic(row))
    # NumPy 2's result dtype (a Python float is weak: float32 stays float32), which
    # dualjac keeps for every table ufunc. scipy.special's ufuncs resolve types the
    # legacy way and give float64 for a float32 array with a Python float.
    result_dtype = g(np.add, *sources).dtype
    for k, (jk, wk) in enumerate(zip(got, want)):
        assert jk is not None, f"source {k} reported unconnected"
        assert jk.dtype == result_dtype
        assert_close(jk, wk, tol_dtype(dtype), 1, f"d/d source {k}", fd=not is_analytic(row))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("row", params(BINARY))
class TestBinary:

    def test_value(self, row, dtype):
        x, y = binary_points(row, dtype)
        value, _ = dj.value_and_jacobian(lambda a: ufunc(row)(a, y), x)
        want = ufunc(row)(x, y)
        assert value.dtype == want.dtype == dtype
        assert_close(value, want, dtype, 0)
        value, _ = dj.value_and_jacobian(lambda s: ufunc(row)(s[0], s[1]), [x, y])
        assert_close(value, want, dtype, 0)
        value, _ = dj.value_and_jacobian(lambda b: ufunc(row)(CONSTANT, b), y)
        assert_close(value, ufunc(row)(dtype(CONSTANT), y), dtype, 0)

    @pytest.mark.parametrize("scenario", SCENARIO_NAMES)
    def test_first_derivative(self, row, dtype, scenario):
        run_scenario(row, dtype, scenario, ufunc(row), reference(row))

    def test_partials_are_diagonal(self, row, dtype):
        """jacobian over a list [x, y]: two diagonal blocks, d/dx and d/dy."""
        x, y = binary_points(row, dtype)
        jx, jy = dj.jacobian(lambda s: ufunc(row)(s[0], s[1]), [x, y])
        wx, wy = witness_jacobians(reference(row), [x, y], is_analytic(row))
        assert_close(jx, wx, tol_dtype(dtype), 1, fd=not is_analytic(row))
        assert_close(jy, wy, tol_dtype(dtype), 1, fd=not is_analytic(row))
        assert np.count_nonzero(jx - np.diag(np.diagonal(jx))) == 0
        assert np.count_nonzero(jy - np.diag(np.diagonal(jy))) == 0

    @pytest.mark.parametrize("scenario", ["jet_jet", "jet_python_float", "python_float_jet",
                                          "jet_const_array", "const_array_jet",
                                          "0d_jet_jet", "broadcast_jet_jet"])
    def test_second_derivative(self, row, dtype, scenario):
        """Nested jacobian over all sources stacked into one flat vector."""
        sources, g = {s[0]: s[1:] for s in scenarios(row, dtype)}[scenario]
        sizes = [np.size(s) for s in sources]
        shapes = [np.shape(s) for s in sources]
        v = np.concatenate([np.ravel(s) for s in sources])

        def split(fn):
            def flat(w):
                parts, start = [], 0
                for size, shape in zip(sizes, shapes):
                    parts.append(w[start:start + size].reshape(shape))
                    start += size
                return g(fn, *parts)
            return flat

        hess = dj.jacobian(lambda z: dj.jacobian(split(ufunc(row)), z), v)
        want = witness_hessian(split(reference(row)), v, is_analytic(row))
        assert hess.dtype == dtype
        assert_close(hess, want, tol_dtype(dtype), 2, fd=not is_analytic(row))

    def test_hessian_block_of_stacked_pair(self, row, dtype):
        """The 2x2 block (xx, xy; yx, yy) from a stacked 2-vector source."""
        x, y = binary_points(row, dtype)
        for i in (0, 4):
            xy = np.array([x[i], y[i]], dtype)
            hess = dj.jacobian(lambda z: dj.jacobian(lambda v: ufunc(row)(v[0], v[1]), z), xy)
            assert hess.shape == (2, 2)
            want = witness_hessian(lambda v: reference(row)(v[0], v[1]), xy, is_analytic(row))
            assert_close(hess, want, tol_dtype(dtype), 2, fd=not is_analytic(row))
            np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=0)

    def test_hessian_blocks_from_list_source(self, row, dtype):
        """Nested jacobian over a list source [x, y]: row k of the block comes from
        the inner jacobian's k-th partial; all four blocks are diagonal."""
        x, y = binary_points(row, dtype)
        f = lambda s: ufunc(row)(s[0], s[1])
        want = witness_hessian(lambda v: reference(row)(v[0], v[1]), np.stack([x, y]),
                               is_analytic(row))      # (7, 2, 7, 2, 7)
        for k in (0, 1):
            blocks = dj.jacobian(lambda s: dj.jacobian(f, s)[k], [x, y])
            for m in (0, 1):
                assert_close(blocks[m], want[:, k, :, m, :], tol_dtype(dtype), 2,
                             f"block {k}{m}", fd=not is_analytic(row))


@pytest.mark.parametrize("scenario", ["jet_jet", "jet_python_float", "python_float_jet",
                                      "jet_const_array", "const_array_jet", "0d_jet_jet",
                                      "broadcast_jet_jet"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("row", params([r for r in BINARY if r.operator]))
def test_operator_matches_ufunc(row, dtype, scenario):
    """The Python operators (+, -, *, /, **, and their reflected forms) run the
    same rows: checked against the same witness."""
    run_scenario(row, dtype, scenario, operator_of(row), reference(row))


@pytest.mark.parametrize("row", params([r for r in BINARY if not is_analytic(r)]))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_non_analytic_binary_against_reference_derivative(row, dtype):
    x, y = binary_points(row, dtype)
    jx, jy = dj.jacobian(lambda s: ufunc(row)(s[0], s[1]), [x, y])
    dx, dy = reference_derivative(row, x.astype(np.float64), y.astype(np.float64))
    np.testing.assert_array_equal(jx, np.diag(dx))
    np.testing.assert_array_equal(jy, np.diag(dy))
    hess = dj.jacobian(lambda z: dj.jacobian(lambda v: ufunc(row)(v[0], v[1]), z),
                       np.stack([x, y]))
    np.testing.assert_array_equal(hess, 0)


# ------------------------------------------------------------------ documented edge rules

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
class TestEdgeRules:

    def test_square_power_at_zero(self, dtype):
        """x**2 at 0: derivative 2*0 = 0 (the constant exponent never meets log(0)),
        second derivative 2."""
        x = np.zeros(1, dtype)
        for f in (lambda z: z ** 2, lambda z: z ** 2.0, lambda z: np.power(z, 2.0),
                  lambda z: np.power(z, np.asarray(2.0, dtype))):
            jac = dj.jacobian(f, x)
            assert jac.dtype == dtype
            np.testing.assert_array_equal(jac, [[0.0]])
            hess = dj.jacobian(lambda z: dj.jacobian(f, z), x)
            np.testing.assert_array_equal(hess, [[[2.0]]])

    def test_sqrt_power_at_zero(self, dtype):
        """x**0.5 at 0: derivative +inf (as 0.5 * 0**-0.5)."""
        x = np.zeros(1, dtype)
        for f in (lambda z: z ** 0.5, lambda z: np.power(z, 0.5)):
            jac = dj.jacobian(f, x)
            assert np.isposinf(jac[0, 0]), jac

    def test_power_exponent_partial_at_nonpositive_base(self, dtype):
        """d/dy x**y is defined as 0 where x <= 0 (TF / JAX); x**y's own value is NumPy's."""
        y = np.array([2.0, 3.0], dtype)
        for base in (0.0, -2.0):
            value, jac = dj.value_and_jacobian(lambda b: np.power(base, b), y)
            np.testing.assert_array_equal(value, np.power(dtype(base), y))
            np.testing.assert_array_equal(jac, np.zeros((2, 2)))
        # jet base and jet exponent, base 0: d/dx = y * 0**(y-1) = 0 for y = 2, d/dy = 0
        jx, jy = dj.jacobian(lambda s: s[0] ** s[1], [np.zeros(1, dtype), np.full(1, 2.0, dtype)])
        np.testing.assert_array_equal(jx, [[0.0]])
        np.testing.assert_array_equal(jy, [[0.0]])

    @pytest.mark.parametrize("name", ["absolute", "fabs"])
    def test_abs_at_zero(self, dtype, name):
        x = np.zeros(1, dtype)
        jac = dj.jacobian(getattr(np, name), x)
        np.testing.assert_array_equal(jac, [[0.0]])
        np.testing.assert_array_equal(dj.jacobian(abs, x), [[0.0]])
        hess = dj.jacobian(lambda z: dj.jacobian(getattr(np, name), z), x)
        np.testing.assert_array_equal(hess, [[[0.0]]])

    def test_sign_at_zero(self, dtype):
        value, jac = dj.value_and_jacobian(np.sign, np.zeros(1, dtype))
        np.testing.assert_array_equal(value, [0.0])
        np.testing.assert_array_equal(jac, [[0.0]])

    @pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
    def test_ties_go_to_first_argument(self, dtype, name):
        t = np.array([0.5, -1.0, 0.0], dtype)
        jx, jy = dj.jacobian(lambda s: getattr(np, name)(s[0], s[1]), [t, t.copy()])
        np.testing.assert_array_equal(jx, np.eye(3))
        np.testing.assert_array_equal(jy, np.zeros((3, 3)))
        # constant second argument: the jet is first, so it gets the derivative
        np.testing.assert_array_equal(
            dj.jacobian(lambda a: getattr(np, name)(a, np.array(t)), t), np.eye(3))
        # constant first argument: the tie goes to the constant
        np.testing.assert_array_equal(
            dj.jacobian(lambda b: getattr(np, name)(np.array(t), b), t), np.zeros((3, 3)))

    @pytest.mark.parametrize("name", ["maximum", "minimum"])
    def test_nan_propagates_with_its_derivative(self, dtype, name):
        """maximum / minimum propagate a NaN first argument (NumPy) and its derivative."""
        x = np.array([np.nan, 1.0], dtype)
        y = np.array([0.0, 0.5], dtype)
        value, (jx, jy) = dj.value_and_jacobian(lambda s: getattr(np, name)(s[0], s[1]), [x, y])
        np.testing.assert_array_equal(value, getattr(np, name)(x, y))
        assert jx[0, 0] == 1 and jy[0, 0] == 0

    @pytest.mark.parametrize("name", ["fmax", "fmin"])
    def test_fmax_ignores_nan_and_its_derivative(self, dtype, name):
        """fmax / fmin ignore a NaN argument: value and derivative come from the other."""
        x = np.array([0.3, np.nan], dtype)
        y = np.array([np.nan, 0.7], dtype)
        value, (jx, jy) = dj.value_and_jacobian(lambda s: getattr(np, name)(s[0], s[1]), [x, y])
        np.testing.assert_array_equal(value, getattr(np, name)(x, y))
        np.testing.assert_array_equal(jx, np.diag([1.0, 0.0]))
        np.testing.assert_array_equal(jy, np.diag([0.0, 1.0]))

    def test_sqrt_at_zero(self, dtype):
        """sqrt at 0: derivative +inf (0.5 / sqrt(0))."""
        value, jac = dj.value_and_jacobian(np.sqrt, np.zeros((), dtype))
        assert value == 0 and np.isposinf(jac)
        jac = dj.jacobian(np.sqrt, np.zeros(1, dtype))
        assert np.isposinf(jac[0, 0])

    def test_constant_partial_never_computed(self, dtype):
        """x**c with a constant c: no 0*inf NaN from the (dropped) log(x) partial,
        even for a negative base."""
        x = np.array([-2.0, 0.0, 3.0], dtype)
        jac = dj.jacobian(lambda z: z ** 3, x)
        np.testing.assert_array_equal(jac, np.diag(3 * x.astype(np.float64) ** 2))
        hess = dj.jacobian(lambda z: dj.jacobian(lambda w: w ** 3, z), x)
        want = np.zeros((3, 3, 3))
        want[np.arange(3), np.arange(3), np.arange(3)] = 6 * x
        np.testing.assert_array_equal(hess, want)


# ------------------------------------------------------------------ more paths through the kernels

SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, np.inf, -np.inf, np.nan])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("row", params(UNARY + BINARY))
def test_value_at_special_points(row, dtype):
    """Values at 0, +-1, +-inf, NaN (outside the sampled domain too) are NumPy's."""
    x = SPECIAL.astype(dtype)
    with np.errstate(all="ignore"):
        if row in UNARY:
            value, _ = dj.value_and_jacobian(ufunc(row), x)
            want = ufunc(row)(x)
        else:
            X, Y = np.meshgrid(x, x, indexing="ij")
            value, _ = dj.value_and_jacobian(lambda a: ufunc(row)(a, Y), X)
            want = ufunc(row)(X, Y)
    assert value.dtype == want.dtype
    rtol = 1e-14 if dtype is np.float64 else 2e-6
    np.testing.assert_allclose(value, want, rtol=rtol, atol=0, equal_nan=True,
                               err_msg=f"{row.module}.{row.name} at special points")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("row", params(UNARY + BINARY))
def test_large_array_jvp(row, dtype):
    """Arrays large enough that the kernels release the GIL: a jvp along a
    direction v equals the directional complex-step (or central) difference."""
    n = 20000
    rng = np.random.default_rng(7)
    if row in UNARY:
        lo, hi = row.domain
        x = rng.uniform(lo, hi, n)
        if not row.analytic:
            pts = np.array(row.kinks)
            x = x[np.min(np.abs(x[:, None] - pts[None, :]), axis=1) > KINK_GAP]
        args = [x.astype(dtype)]
    else:
        x = rng.uniform(*row.domain_x, n)
        y = rng.uniform(*row.domain_y, n)
        if not row.analytic:
            keep = np.abs(x - y) > KINK_GAP
            x, y = x[keep], y[keep]
        args = [x.astype(dtype), y.astype(dtype)]
    v = [rng.standard_normal(a.shape).astype(dtype) for a in args]
    value, tangent = dj.jvp(lambda s: ufunc(row)(*s), args, v)
    want_value = ufunc(row)(*args)
    assert value.dtype == tangent.dtype == want_value.dtype
    assert_close(value, want_value, dtype, 0)
    a64 = [a.astype(np.float64) for a in args]
    v64 = [d.astype(np.float64) for d in v]
    if is_analytic(row):
        want = np.imag(reference(row)(*[a + 1j * H_CS * d for a, d in zip(a64, v64)])) / H_CS
    else:
        want = (ufunc(row)(*[a + H_FD * d for a, d in zip(a64, v64)])
                - ufunc(row)(*[a - H_FD * d for a, d in zip(a64, v64)])) / (2 * H_FD)
    # elementwise: compare per element, scaled by that element's size
    rtol = 1e-10 if dtype is np.float64 else 5e-5
    if not is_analytic(row):
        rtol = max(rtol, 1e-7)
    err = np.abs(tangent.astype(np.float64) - want)
    scale = np.maximum(1.0, np.abs(want))
    assert np.all(err <= rtol * scale), float(np.max(err / scale))


@pytest.mark.parametrize("order", ["x_inner", "y_inner"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("row", params(BINARY))
def test_mixed_level_cross_derivative(row, dtype, order):
    """Nested transforms over different sources: the inner function closes over a
    dual array of the outer transform, so the kernels combine a dual of one level
    with a dual of another (lifted to hyper-dual). d2f/dxdy on the diagonal."""
    x, y = binary_points(row, dtype)
    f = ufunc(row)
    if order == "x_inner":   # outer over y, inner over x: H[i, j, k] = d2 f_i / dx_j dy_k
        cross = dj.jacobian(lambda b: dj.jacobian(lambda a: f(a, b), x), y)
    else:                    # outer over x, inner over y: H[i, j, k] = d2 f_i / dy_j dx_k
        cross = dj.jacobian(lambda a: dj.jacobian(lambda b: f(a, b), y), x)
    want = witness_hessian(lambda v: reference(row)(v[0], v[1]), np.stack([x, y]),
                           is_analytic(row))      # (7, 2, 7, 2, 7)
    block = want[:, 0, :, 1, :] if order == "x_inner" else want[:, 1, :, 0, :]
    assert cross.dtype == dtype
    assert_close(cross, block, tol_dtype(dtype), 2, fd=not is_analytic(row))


@pytest.mark.parametrize("row", [r for r in UNARY if r.aliases], ids=lambda r: r.name)
def test_aliases_run_their_rows_kernels(row):
    """np.radians is np.deg2rad's function under another name (another ufunc object)."""
    x = np.linspace(-2.0, 2.0, 7)
    own = getattr(np, row.name)
    for alias in row.aliases:
        other = getattr(np, alias)
        assert other is not own
        np.testing.assert_array_equal(dj.jacobian(other, x), dj.jacobian(own, x))
        np.testing.assert_array_equal(other(x), own(x))
        value, tangent = dj.jvp(other, x, np.ones_like(x))
        np.testing.assert_array_equal(value, other(x))
        np.testing.assert_allclose(tangent, other(1.0), rtol=1e-15)   # linear: f' = f(1)
